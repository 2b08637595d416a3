/**
 * What the Cluster API suite shares: a management cluster (a real control plane with Cluster API's managers) started
 * inside a network namespace this test creates (`unshare --net`, loopback up), and ways to run kubectl and kup inside
 * that namespace (`nsenter --net`). Nothing of the stack is reachable from outside it.
 *
 * The first run builds the control plane and Cluster API's managers from the Go module proxy (minutes; the time is
 * printed); `KUP_SKIP_REAL=1` switches the suite off, reported as skipped.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_API_VERSION, ensureBuilt, ensureClusterApiBuilt } from '../../src/local/build.ts';
import type { ClusterApiBuild } from '../../src/local/build.ts';

/** Whether the suite is switched off (`KUP_SKIP_REAL=1`, as `npm run test:fast` sets it). */
export const SKIP_CAPI =
  process.env['KUP_SKIP_REAL'] === '1' ? 'KUP_SKIP_REAL=1: the Cluster API suite (real control plane) is off' : false;

/** The management cluster's version (a control plane the real suite builds too). */
export const MANAGEMENT_VERSION = '1.35.4';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const KUP_BIN = join(REPO, 'bin', 'kup.mjs');

/** What a command run inside the stack's namespace printed. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running stack. */
export interface CapiStack {
  /** Folder of the stack's data and logs, and of the test's files. */
  readonly dir: string;
  readonly kubeconfigPath: string;
  /** Cluster API's managers and the folders of their modules (templates, CRDs). */
  readonly build: ClusterApiBuild;
  /** Id of the process that holds the network namespace (`nsenter --net=/proc/PID/ns/net`). */
  readonly pid: number;
  /** Runs a program inside the stack's network namespace. */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** kubectl on the management cluster (or `--kubeconfig` given first in `args` to another). */
  kubectl(args: readonly string[], options?: RunOptions): Promise<string>;
  /** `bin/kup.mjs` with `KUP_DATA_DIR` in the stack's folder. */
  kup(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Options of {@link CapiStack.run}. */
export interface RunOptions {
  readonly input?: string;
  /** @default 120000 */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** Builds what is missing (printing the time) and starts the stack in a new network namespace. */
export async function startCapiStack(): Promise<CapiStack> {
  const log = (line: string) => process.stdout.write(`# capi: ${line}\n`);
  const started = Date.now();
  await ensureBuilt(MANAGEMENT_VERSION, { log });
  const build = await ensureClusterApiBuilt({ log });
  log(`control plane ${MANAGEMENT_VERSION} and Cluster API ${CLUSTER_API_VERSION} built in ${seconds(started)} s`);

  const dir = await mkdtemp(join(tmpdir(), 'kup-capi-'));
  const booted = Date.now();
  const child = spawn(
    'unshare',
    [
      '--net',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      '--import',
      'tsx',
      join(HERE, 'stack-main.ts'),
      join(dir, 'stack'),
      MANAGEMENT_VERSION,
      JSON.stringify(build),
    ],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  let kubeconfigPath: string;
  try {
    kubeconfigPath = await readyLine(child);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  log(`management cluster and Cluster API managers up in ${seconds(booted)} s`);
  const pid = child.pid ?? 0;
  const run = (command: string, args: readonly string[], options: RunOptions = {}) =>
    new Promise<RunResult>((resolve) => {
      const c = execFile(
        'nsenter',
        [`--net=/proc/${pid}/ns/net`, '--', command, ...args],
        {
          timeout: options.timeoutMs ?? 120_000,
          maxBuffer: 256 * 1024 * 1024,
          env: { ...process.env, ...options.env },
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      if (options.input !== undefined) c.stdin?.end(options.input);
    });
  const kubectlCache = join(dir, 'kubectl-cache');
  return {
    dir,
    kubeconfigPath,
    pid,
    build,
    run,
    async kubectl(args, options) {
      const withConfig = args[0] === '--kubeconfig' ? args : ['--kubeconfig', kubeconfigPath, ...args];
      const r = await run('kubectl', ['--cache-dir', kubectlCache, ...withConfig], options);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
      return r.stdout;
    },
    kup(args, options = {}) {
      return run(process.execPath, [KUP_BIN, ...args], {
        ...options,
        env: { KUP_DATA_DIR: join(dir, 'kup'), ...options.env },
      });
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function readyLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /^CAPI-STACK-READY (.*)$/m.exec(buffer);
      if (match !== null) {
        child.stdout?.off('data', onData);
        resolve((JSON.parse(match[1] ?? '{}') as { kubeconfigPath: string }).kubeconfigPath);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the Cluster API stack exited ${code} before it was ready`)));
  });
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(0);
}
