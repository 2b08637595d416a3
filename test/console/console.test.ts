/**
 * The web console end to end, as issue 18's "done means" lists it, in Debian's chromium against `kup serve --demo`:
 * sign in; find the cluster with an available upgrade; open the dialog; meet a precheck blocker and acknowledge it;
 * upgrade another cluster and watch progress reach 100 %; pause and resume; cancel one; roll one back; versions
 * afterwards in the UI and through the API; a viewer sees no action buttons; text from a cluster stays text. The
 * clusters it upgrades are kube-sim clusters it starts and registers through the API, so it does not depend on what
 * the demo holds. Every page visited is written to .cache/console-screenshots/ and checked by axe.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { waitFor } from '../../src/clock/wait-for.ts';
import { FAST_TIMINGS } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { Service, WatchedPage } from './harness.ts';
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn, startService } from './harness.ts';

const FROM = '1.35.5';
const TO = '1.36.1';
/** Markup with no spaces, which a machine image name may hold: it must show as text, never run. */
const MARKUP = '<img/src=x/onerror=alert(1)>';

/** A small cluster; `bare` adds a pod no controller owns, which the precheck blocks on (drain-refusals). */
function scenario(name: string, options: { workers?: number; bare?: boolean; image?: string } = {}): string {
  return `
name: ${name}
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: ${options.workers ?? 2}${options.image ? `, machineImage: '${options.image}'` : ''} }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { minAvailable: 1 } }
${options.bare ? '  - { kind: Pod, name: debug, namespace: default }' : ''}
${FAST_TIMINGS}
`;
}

/** A step the test expects to be true soon; the page is re-read each time. */
function until<T>(condition: () => Promise<T>, message: string, timeoutMs = 30_000) {
  return waitFor(condition, { message, timeoutMs, intervalMs: 100 });
}

describe('web console', { timeout: 600_000 }, () => {
  let service: Service;
  let browser: Browser;
  const sims: SimCluster[] = [];
  const pages: WatchedPage[] = [];

  /** Starts a sim cluster and registers it with the service through the API. */
  async function register(name: string, options: Parameters<typeof scenario>[1] = {}): Promise<void> {
    const sim = await startFromYaml(scenario(name, options));
    sims.push(sim);
    const added = await service.api('POST', '/clusters', { name, provider: 'sim', kubeconfig: sim.kubeconfig });
    assert.equal(added.status, 201, JSON.stringify(added.body));
  }

  async function page(viewport?: { width: number; height: number }): Promise<WatchedPage> {
    const p = await openPage(browser, viewport);
    pages.push(p);
    return p;
  }

  /** Screenshot, and no accessibility violation on the page as it is. */
  async function look(p: Page, name: string): Promise<void> {
    await screenshot(p, name);
    assert.deepEqual(await accessibilityViolations(p), [], `axe on ${name}`);
  }

  /** The availability samples among a run's events, read through the API page by page. */
  async function availabilitySamples(
    runId: string,
  ): Promise<{ pdbs: { pdb: string; currentHealthy: number; desiredHealthy: number }[] }[]> {
    const found: { pdbs: { pdb: string; currentHealthy: number; desiredHealthy: number }[] }[] = [];
    for (let after = 0; ; ) {
      const res = await service.api('GET', `/runs/${encodeURIComponent(runId)}/events?after=${after}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const body = res.body as { items: { step: string; data?: unknown }[]; next: number };
      if (body.items.length === 0) return found;
      for (const e of body.items) if (e.step === 'availability') found.push(e.data as (typeof found)[number]);
      after = body.next;
    }
  }

  async function runPhase(p: Page): Promise<string> {
    return (await p.getByTestId('run-phase').textContent()) ?? '';
  }

  before(async () => {
    [service, browser] = await Promise.all([startService(), launchBrowser()]);
    await Promise.all([
      register('alpha', { bare: true }),
      register('beta', { workers: 4 }),
      register('gamma', { workers: 4 }),
      register('delta', { workers: 4, image: MARKUP }),
    ]);
  });

  after(async () => {
    // Everything started is stopped whatever failed, so the test process can exit; the problems are asserted last.
    const stopped = await Promise.allSettled([browser?.close(), service?.stop(), ...sims.map((s) => s.stop())]);
    for (const p of pages) assert.deepEqual(p.problems(), [], 'no script error, no alert on any page');
    for (const s of stopped) if (s.status === 'rejected') throw s.reason;
  });

  it('refuses a wrong token, then signs in and lists the fleet', async () => {
    assert.ok(
      service.output().includes(`kup serve: web console at ${service.url}/console/`),
      `kup serve prints the console's URL: ${service.output()}`,
    );
    const { page: p } = await page();
    await p.goto(`${service.url}/console/`);
    await look(p, 'sign-in');
    await p.getByLabel('API token').fill('kup_not-a-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await signIn(p, service, service.adminToken);
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) await p.getByRole('link', { name, exact: true }).waitFor();
    await p.getByText('admin', { exact: true }).first().waitFor();
    await look(p, 'fleet');
  });

  it('finds the cluster with an upgrade, meets a precheck blocker, acknowledges it, and upgrades it to 100 %', async () => {
    const { page: p } = await page();
    await signIn(p, service, service.adminToken);
    await p.getByLabel('Search').fill('alph');
    await p.getByLabel('Show').selectOption('upgradable');
    await p
      .getByRole('row')
      .filter({ hasText: 'alpha' })
      .getByLabel(/upgrade available/)
      .first()
      .waitFor();
    await p.getByRole('link', { name: 'alpha', exact: true }).click();
    await p.getByRole('heading', { name: 'alpha' }).waitFor();
    await look(p, 'cluster');

    await p.getByRole('button', { name: 'Change' }).click();
    const dialog = p.getByRole('dialog');
    await dialog.getByLabel(new RegExp(TO.replace(/\./g, '\\.'))).check();
    const blocker = dialog.locator('.finding-blocker').filter({ hasText: 'drain-refusals' });
    await blocker.waitFor({ timeout: 60_000 });
    const review = dialog.getByRole('button', { name: 'Review upgrade' });
    assert.equal(await review.isDisabled(), true, 'a blocker disables the upgrade');
    await blocker.getByRole('textbox').fill('too short');
    assert.equal(await review.isDisabled(), true, 'a reason of a few characters is not enough');
    await blocker.getByRole('textbox').fill('default/debug is a scratch pod we can lose');
    await look(p, 'upgrade-dialog');
    await review.click();
    await dialog.getByText(`to ${TO}`).first().waitFor();
    await look(p, 'upgrade-confirm');
    await dialog.getByRole('button', { name: 'Confirm upgrade' }).click();

    await p.getByRole('heading', { name: `alpha: ${FROM} → ${TO}` }).waitFor();
    await until(async () => (await runPhase(p)) === 'Succeeded', 'the run page to show the run succeeded', 180_000);
    assert.equal(await p.getByRole('progressbar', { name: 'Run progress' }).getAttribute('aria-valuenow'), '100');
    await p.locator('.event-log li').filter({ hasText: 'acknowledged' }).first().waitFor();

    // Ready replicas against each PDB's floor: the samples the service took of the cluster while it drove the run,
    // in the run's events (API) and on its chart, the same count in both.
    const runId = decodeURIComponent(new URL(p.url()).hash.replace(/^#\/runs\//, ''));
    const samples = await availabilitySamples(runId);
    assert.ok(samples.length > 0, 'the service sampled the PDBs during the run');
    for (const sample of samples) {
      const web = sample.pdbs.find((b) => b.pdb === 'shop/web');
      assert.ok(web, `shop/web in every sample: ${JSON.stringify(sample)}`);
      assert.equal(web.desiredHealthy, 1, 'the floor of minAvailable: 1');
      assert.ok(web.currentHealthy >= 0 && web.currentHealthy <= 2, JSON.stringify(web));
    }
    const chart = p.getByRole('img', { name: /PodDisruptionBudgets against their floors/ });
    // A sample taken as the run ended may still be on its way: compare with the API as it is each time.
    await until(
      async () =>
        (await chart.getAttribute('data-samples')) === String((await availabilitySamples(runId)).length),
      `the availability chart to draw the run's samples (${samples.length} or more)`,
    );
    assert.match((await chart.getAttribute('aria-label')) ?? '', /^Healthy pods of 1 PodDisruptionBudgets/);
    await look(p, 'run-succeeded');

    // The version afterwards, in the UI and through the API.
    await p.getByRole('link', { name: 'alpha', exact: true }).click();
    await p.locator('.facts .chip').filter({ hasText: TO }).waitFor();
    const cluster = await service.api('GET', '/clusters/alpha');
    assert.equal((cluster.body as { version: string }).version.replace(/^v/, ''), TO);
  });

  it('pauses and resumes a run from its page, the buttons following the engine', async () => {
    const { page: p } = await page();
    await signIn(p, service, service.adminToken);
    const created = await service.api('POST', '/runs', {
      cluster: 'beta',
      to: TO,
      poolOptions: { batchPolicy: 'fixed:1' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { id: string }).id;
    await p.goto(`${service.url}/console/#/runs/${id}`);
    const pause = p.getByRole('button', { name: 'Pause' });
    const resume = p.getByRole('button', { name: 'Resume' });
    await until(() => pause.isEnabled(), 'Pause to be offered while the run moves');
    assert.equal(await resume.isDisabled(), true, 'Resume is not offered while the run moves');
    await pause.click();
    await until(async () => (await runPhase(p)) === 'Paused', 'the run to be paused');
    await until(() => resume.isEnabled(), 'Resume to be offered once paused');
    assert.equal(await pause.isDisabled(), true, 'Pause is not offered to a paused run');
    await look(p, 'run-paused');
    await resume.click();
    await until(async () => (await runPhase(p)) === 'Succeeded', 'the resumed run to succeed', 180_000);
    await p.locator('.event-log li').filter({ hasText: 'resumed' }).first().waitFor();
    assert.equal(await pause.isDisabled(), true);
    assert.equal(await resume.isDisabled(), true);
  });

  it('cancels a run', async () => {
    const { page: p } = await page();
    await signIn(p, service, service.adminToken);
    const created = await service.api('POST', '/runs', {
      cluster: 'gamma',
      to: TO,
      poolOptions: { batchPolicy: 'fixed:1' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await p.goto(`${service.url}/console/#/runs/${(created.body as { id: string }).id}`);
    const cancel = p.getByRole('button', { name: 'Cancel', exact: true });
    await until(() => cancel.isEnabled(), 'Cancel to be offered');
    await cancel.click();
    await p.getByRole('button', { name: 'Yes, cancel' }).click();
    await until(async () => (await runPhase(p)) === 'Cancelled', 'the run to be cancelled', 120_000);
    await look(p, 'run-cancelled');
  });

  it('rolls a run back, and the version is the old one in the UI and the API', async () => {
    const { page: p } = await page({ width: 390, height: 844 });
    await signIn(p, service, service.adminToken);
    const created = await service.api('POST', '/runs', {
      cluster: 'delta',
      to: TO,
      poolOptions: { batchPolicy: 'fixed:1' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { id: string }).id;
    await p.goto(`${service.url}/console/#/runs/${id}`);
    const view = async () =>
      (await service.api('GET', `/console/runs/${id}`)).body as {
        progress: { pools: { upgraded: number }[] };
        allowed: Record<string, boolean>;
        status: unknown;
      };
    // Rollback needs a stopped run with nothing in flight: pause it once a worker has moved.
    await until(async () => ((await view()).progress.pools[0]?.upgraded ?? 0) >= 1, 'a worker to be upgraded', 120_000);
    await p.getByRole('button', { name: 'Pause' }).click();
    const rollback = p.getByRole('button', { name: 'Rollback' });
    await waitFor(() => rollback.isEnabled(), {
      message: async () =>
        `Rollback to be offered once the paused run has nothing in flight: ${JSON.stringify(await view())}`,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    await look(p, 'run-phone');
    await rollback.click();
    await p.getByRole('button', { name: 'Yes, rollback' }).click();
    await until(async () => (await runPhase(p)) === 'Rolled back', 'the rollback to finish', 240_000);
    const cluster = await service.api('GET', '/clusters/delta');
    assert.equal((cluster.body as { version: string }).version.replace(/^v/, ''), FROM);
    await p.goto(`${service.url}/console/#/clusters/delta`);
    await p.locator('.facts .chip').filter({ hasText: FROM }).waitFor();
    // The machine image the provider reports is markup: it shows as text, and no element came of it.
    await p.getByText(MARKUP).first().waitFor();
    assert.equal(await p.locator('img').count(), 0);
    await look(p, 'cluster-phone');
  });

  it('offers a viewer no action, and the API refuses one anyway', async () => {
    const made = await service.api('POST', '/tokens', { name: 'watcher', role: 'viewer' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const token = (made.body as { token: string }).token;
    const { page: p } = await page();
    await signIn(p, service, token);
    await p.getByText('viewer', { exact: true }).first().waitFor();
    await p.getByRole('link', { name: 'gamma', exact: true }).click();
    await p.getByRole('heading', { name: 'gamma' }).waitFor();
    assert.equal(await p.getByRole('button', { name: 'Change' }).count(), 0);
    await p.getByRole('tab', { name: 'Run history' }).click();
    await p.getByRole('row').nth(1).getByRole('link').click();
    await p.getByTestId('run-phase').waitFor();
    for (const name of ['Pause', 'Resume', 'Cancel', 'Rollback']) {
      assert.equal(await p.getByRole('button', { name, exact: true }).count(), 0, `${name} offered to a viewer`);
    }
    await look(p, 'run-viewer');
    const refused = await service.api('POST', '/runs', { cluster: 'gamma', to: TO }, token);
    assert.equal(refused.status, 403);
  });
});
