import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import type { HealthObservation, RolloutState } from '../fleet-rollouts/index.ts';
import type { KupStore } from '../persistence/store.ts';
import { openSqliteStore } from '../persistence/store.ts';
import { createRunState } from '../rollout/machine/state.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath } from '../rollout/machine/test-driver.ts';
import { buildPlan } from '../rollout/plan.ts';
import { applyEvents, loadRun, newRunColumns } from './apply-event.ts';
import { RolloutDriver } from './rollout-driver.ts';
import { applyRolloutEvent, createRollout, loadRollout } from './rollouts.ts';
import { commandRun } from './runs.ts';
import type { UpgradeRequest } from './runs.ts';

const MIN = 60_000;
const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.30.4' });

let store: KupStore;
let clock: ManualClock;
let driver: RolloutDriver;
let runs: Map<string, string>;
let requests: UpgradeRequest[];
/** What each cluster's health reads as: the test breaks and fixes clusters. */
let health: Map<string, HealthObservation>;
const healthy: HealthObservation = { crashLooping: [], pending: [], unhealthyPdbs: [], notReadyNodes: [] };

async function settle(): Promise<void> {
  await driver.idle();
}

async function advance(ms: number): Promise<void> {
  await clock.advance(ms);
  await settle();
}

/** Drives a cluster's run to success through the run machine, committed to the store as an executor would. */
async function succeed(cluster: string): Promise<void> {
  const runId = runs.get(cluster)!;
  const { state } = await loadRun(store, runId);
  const d = new Driver(state, new FakeCluster(topology));
  d.restart(); // queues what the state asked and was not reported: the precheck
  d.run();
  await applyEvents(store, runId, d.fed, clock.now());
  assert.equal((await loadRun(store, runId)).state.status.phase, 'succeeded');
}

async function rollout(id: string): Promise<RolloutState> {
  return (await loadRollout(store, id)).state;
}

beforeEach(async () => {
  store = openSqliteStore({ dataDir: mkdtempSync(join(tmpdir(), 'kup-rollout-driver-')) });
  clock = new ManualClock(Date.UTC(2026, 11, 7, 9));
  runs = new Map();
  requests = [];
  health = new Map();
  const fleet: [string, string][] = [
    ['dev-1', 'dev'],
    ['stg-1', 'staging'],
    ['prod-1', 'prod'],
  ];
  for (const [name, env] of fleet) {
    await store.clusters.add({ name, kubeconfigPath: `/k/${name}`, provider: 'sim', providerSettings: {}, addedAt: 1 });
    await store.lifecycle.put({
      cluster: name,
      labels: { env },
      schedule: { windows: [], exclusions: [] },
      policy: {},
      updatedAt: 1,
    });
  }
  driver = new RolloutDriver({
    store,
    clock,
    // A run as createRun stores it, started as the supervisor would.
    startRun: async (cluster, request) => {
      const id = `run-${cluster}-${requests.length + 1}`;
      const plan = buildPlan({ cluster, topology, change: { kind: 'version', path: oneMinorPath(['w']) } });
      const state = createRunState(plan, { runId: id, now: clock.now() });
      await store.runs.create({
        id,
        cluster,
        target: request.to ?? '',
        ...newRunColumns(state),
        request,
        phase: 'pending',
        createdAt: clock.now(),
      });
      await applyEvents(store, id, [{ type: 'started' }], clock.now());
      runs.set(cluster, id);
      requests.push(request);
      return id;
    },
    // The boundary to the clusters' health.
    observe: (cluster) => Promise.resolve(health.get(cluster) ?? healthy),
    watchEveryMs: 1000,
    gateEveryMs: MIN,
    onError: (_r, e) => assert.fail(String(e)),
  });
  clock.quiesceOn(() => driver.idle());
});

afterEach(async () => {
  await driver.stop();
  await store.close();
});

describe('the rollout driver', () => {
  it('carries a rollout across three stages: a gate fails at staging, is fixed, and the rollout completes', async () => {
    const created = await createRollout(
      store,
      {
        name: 'to-1-31',
        target: { to: '1.31.4' },
        stages: [
          { name: 'dev', clusters: { labels: { env: 'dev' } }, soakMinutes: 10 },
          { name: 'staging', clusters: { labels: { env: 'staging' } }, soakMinutes: 30 },
          { name: 'prod', clusters: { labels: { env: 'prod' } }, approval: true },
        ],
      },
      clock.now(),
    );
    const id = created.id;
    driver.start();
    await settle();
    assert.deepEqual([...runs.keys()], ['dev-1']);
    assert.equal(requests[0]?.rollout, `${id}/dev-1/1`, 'the run carries the rollout key');

    await succeed('dev-1');
    await advance(1000);
    assert.equal((await rollout(id)).stages[0]?.phase, 'soaking');
    await advance(10 * MIN);
    assert.equal((await rollout(id)).stages[0]?.phase, 'succeeded');
    assert.deepEqual([...runs.keys()], ['dev-1', 'stg-1']);

    // staging upgrades, then a workload starts crash-looping during its soak.
    await succeed('stg-1');
    await advance(1000);
    health.set('stg-1', { ...healthy, crashLooping: ['Deployment/shop/cart'] });
    await advance(MIN);
    const paused = (await rollout(id)).status;
    assert.equal(paused.phase === 'paused' && paused.reason, 'health-gate');
    assert.deepEqual(
      paused.phase === 'paused' ? [paused.cause?.cluster, paused.cause?.signal, paused.cause?.objects] : [],
      ['stg-1', 'crash-looping-pods', ['Deployment/shop/cart']],
    );
    await advance(60 * MIN);
    assert.equal((await rollout(id)).status.phase, 'paused', 'nothing moves while paused');
    assert.equal(runs.has('prod-1'), false);

    // Fixed, resumed: the soak runs again in full, then prod waits for its approval.
    health.set('stg-1', healthy);
    driver.performAll(id, (await applyRolloutEvent(store, id, { type: 'resume-requested' }, clock.now())).effects);
    await settle();
    await advance(29 * MIN);
    assert.equal((await rollout(id)).stages[1]?.phase, 'soaking');
    await advance(MIN);
    assert.equal((await rollout(id)).stages[2]?.phase, 'awaiting-approval');
    await advance(60 * MIN);
    assert.equal(runs.has('prod-1'), false, 'no prod run before the approval');
    driver.performAll(
      id,
      (await applyRolloutEvent(store, id, { type: 'approved', stage: 2, by: 'alice' }, clock.now())).effects,
    );
    await settle();
    assert.equal(runs.has('prod-1'), true);

    // A paused cluster run holds the rollout; when it goes on, so does the rollout.
    await commandRun(store, runs.get('prod-1')!, 'pause', clock.now(), { message: 'looking at the node' });
    await advance(1000);
    const held = (await rollout(id)).status;
    assert.equal(held.phase === 'paused' && held.reason, 'cluster-run-paused');
    assert.equal(held.phase === 'paused' && held.cause?.cluster, 'prod-1');
    await commandRun(store, runs.get('prod-1')!, 'resume', clock.now());
    await advance(1000);
    assert.equal((await rollout(id)).status.phase, 'running');
    await succeed('prod-1');
    await advance(1000);
    const done = await rollout(id);
    assert.equal(done.status.phase, 'succeeded');
    const log = await store.rollouts.events(id);
    assert.ok(log.some((e) => e.outcome === 'gate-failed' && e.cluster === 'stg-1'));
    assert.deepEqual(
      log.filter((e) => e.outcome === 'stage-succeeded').map((e) => e.stage),
      ['dev', 'staging', 'prod'],
    );
  });
});
