/**
 * The console's end-to-end harness: a real `kup serve --demo` on a loopback port with its own data directory, and
 * Debian's chromium driven by playwright-core (never a downloaded browser). Pages fail the test on any script error
 * or any `alert()`: markup from a cluster that ran as script would show up as one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type * as AxeCore from 'axe-core';
import { waitFor } from '../../src/clock/wait-for.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const KUP = join(ROOT, 'bin', 'kup.mjs');
const CHROMIUM = '/usr/bin/chromium';
/** Where the tests write a screenshot of every page they visit (ignored by git). */
export const SCREENSHOTS = join(ROOT, '.cache', 'console-screenshots');

/** A running `kup serve --demo`. */
export interface Service {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly adminToken: string;
  /** Calls the API with a token (the admin's by default); resolves to the status and the parsed body. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: unknown }>;
  /** Everything the service printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** Start the demo cluster too. @default true */
  readonly demo?: boolean;
}

/** Starts `kup serve --demo` and waits until it is ready and its admin token is written. */
export async function startService({ demo = true }: StartServiceOptions = {}): Promise<Service> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kup-console-'));
  const tokenFile = join(dataDir, 'admin-token');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      KUP,
      'serve',
      ...(demo ? ['--demo'] : []),
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      dataDir,
      '--admin-token-file',
      tokenFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUP_DATA_DIR: dataDir } },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // A service that does not stop on SIGTERM (one that failed half-way through starting) must not keep the test
      // process alive: after a bound it is killed, and the test that stopped it fails with what it printed.
      const killed = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 30_000).unref()),
      ]);
      if (killed) {
        child.kill('SIGKILL');
        await exited;
        rmSync(dataDir, { recursive: true, force: true });
        throw new Error(`kup serve did not stop within 30 s of SIGTERM: ${out}`);
      }
    }
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`kup serve exited ${child.exitCode}: ${out}`);
        return existsSync(tokenFile) && (await fetch(`${url}/readyz`)).ok;
      },
      { message: () => `kup serve --demo to be ready at ${url}: ${out}`, timeoutMs: 120_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const adminToken = readFileSync(tokenFile, 'utf8').trim();
  return {
    url,
    adminToken,
    output: () => out,
    stop,
    async api(method, path, body, token = adminToken) {
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    },
  };
}

/** Debian's chromium, headless; installed by scripts/ensure-system-deps.mjs. */
export async function launchBrowser(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run node scripts/ensure-system-deps.mjs`);
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/** A page that records script errors, console errors and dialogs; `problems()` lists them. */
export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  problems(): readonly string[];
}

/** A new browser context (laptop size unless told) and a watched page in it. */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number } = { width: 1280, height: 860 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog (${dialog.type()}): ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    // A refused request is logged by the browser as a failed resource: the tests assert refusals through what the
    // page shows, so those lines are not problems; any other console error is.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  return { page, context, problems: () => [...problems] };
}

/** Signs in on the console's page with a token and waits for the fleet. */
export async function signIn(page: Page, service: Service, token: string): Promise<void> {
  await page.goto(`${service.url}/console/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
}

/** Writes a full-page screenshot to .cache/console-screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Accessibility problems axe-core finds on the page as it is (WCAG 2 A and AA rules and axe's best practices), one
 * line each. axe is evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  return page.evaluate(async () => {
    const { axe } = globalThis as unknown as { axe: typeof AxeCore };
    const result = await axe.run({ runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] });
    return result.violations.map(
      (v) =>
        `${v.impact ?? ''} ${v.id}: ${v.help} (${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(' | ')})`,
    );
  });
}
