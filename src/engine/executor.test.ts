/**
 * The executor on virtual time: its lease renewals and polls go through the context's clock, so a test moves a
 * ManualClock past them instead of waiting for them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import { connect } from '../kube-api/connect.ts';
import type { KupStore } from '../persistence/store.ts';
import { openSqliteStore } from '../persistence/store.ts';
import { createRunState } from '../rollout/machine/state.ts';
import { fakeTopology } from '../rollout/machine/test-driver.ts';
import { buildPlan } from '../rollout/plan.ts';
import { defaultCatalog } from '../versions/index.ts';
import { applyEvents, newRunColumns } from './apply-event.ts';
import { ClusterSession } from './cluster-session.ts';
import type { EngineContext } from './context.ts';
import { executeRun } from './executor.ts';
import { actionSettings } from './runs.ts';
import type { Provider, RunPhaseForProvider } from './provider.ts';
import { OFFLINE_KUBECONFIG, uncalledProvider } from './test-fixtures.ts';

const T0 = Date.UTC(2026, 0, 15, 9);
const RUN = 'run-lease';

let store: KupStore;

beforeEach(async () => {
  store = openSqliteStore({ dataDir: mkdtempSync(join(tmpdir(), 'kup-executor-')) });
  await store.clusters.add({
    name: 'prod',
    kubeconfigPath: '/k/prod',
    provider: 'sim',
    providerSettings: {},
    addedAt: 1,
  });
  // A run paused with nothing in flight: the executor holds its lease and polls, and has nothing to perform.
  const plan = buildPlan({
    cluster: 'prod',
    topology: fakeTopology({ cp: 1, pools: { w: 4 }, version: '1.31.4' }),
    change: { kind: 'image', images: { w: 'img-2' } },
    defaults: { strategy: 'in-place' },
    snapshot: false,
  });
  const state = createRunState(plan, { runId: RUN, now: T0 });
  await store.runs.create({
    id: RUN,
    cluster: 'prod',
    target: 'img-2',
    ...newRunColumns(state),
    phase: state.status.phase,
    createdAt: T0,
  });
  const applied = await applyEvents(
    store,
    RUN,
    [{ type: 'started' }, { type: 'pause-requested' }, { type: 'precheck-passed', acknowledged: [] }],
    T0,
  );
  assert.equal(applied.state.status.phase, 'paused');
});

afterEach(async () => {
  await store.close();
});

function context(clock: ManualClock, provider?: Provider): EngineContext {
  const conn = connect({ kubeconfig: OFFLINE_KUBECONFIG });
  return {
    cluster: 'prod',
    conn,
    // A paused run never calls its provider.
    provider: provider ?? uncalledProvider('unused', { replace: true, inPlace: true, snapshot: false }),
    catalog: defaultCatalog(),
    clock,
    session: new ClusterSession({ cluster: 'prod', conn, clock }),
    settings: actionSettings({ image: 'img-2' }),
  };
}

async function leaseExpiry(): Promise<number | undefined> {
  return (await store.runs.get(RUN))?.lease?.expiresAt;
}

describe('the executor on a ManualClock', () => {
  it('renews its lease at a third of its TTL, and releases it when stopped', async () => {
    const clock = new ManualClock(T0);
    const stop = new AbortController();
    const running = executeRun({
      store,
      runId: RUN,
      owner: 'kup-a',
      ctx: context(clock),
      signal: stop.signal,
      leaseTtlMs: 15_000,
      pollMs: 250,
    });
    await clock.advance(0);
    assert.equal(await leaseExpiry(), T0 + 15_000, 'taken for a TTL');

    await clock.advance(4_999);
    assert.equal(await leaseExpiry(), T0 + 15_000, 'not renewed before a third of the TTL');
    await clock.advance(1);
    assert.equal(await leaseExpiry(), T0 + 5_000 + 15_000, 'renewed at a third of the TTL');
    await clock.advance(5_000);
    assert.equal(await leaseExpiry(), T0 + 10_000 + 15_000, 'and again a third later');

    stop.abort(new Error('the test stops the executor'));
    const final = await running;
    assert.equal(final.status.phase, 'paused');
    assert.equal(await leaseExpiry(), undefined, 'released');
    assert.equal(clock.pending, 0, 'no renewal or poll left behind');
  });

  it('reads an operator command from the store once a poll interval passes', async () => {
    const clock = new ManualClock(T0);
    const stop = new AbortController();
    const seen: string[] = [];
    const running = executeRun({
      store,
      runId: RUN,
      owner: 'kup-a',
      ctx: context(clock),
      signal: stop.signal,
      pollMs: 250,
      onState: (s) => seen.push(s.status.phase),
    });
    await clock.advance(0);
    // Another process cancels the run; the executor sees it on its next read, at the poll.
    await applyEvents(store, RUN, [{ type: 'cancel-requested' }], T0);
    const before = seen.length;
    await clock.advance(249);
    assert.equal(seen.length, before, 'no read before the poll interval');
    await clock.advance(1);
    const final = await running;
    assert.equal(final.status.phase, 'cancelled');
    stop.abort();
  });

  it('tells the provider where the run stands: paused when it first sees it, ended once cancelled', async () => {
    const clock = new ManualClock(T0);
    const told: RunPhaseForProvider[] = [];
    const provider: Provider = {
      ...uncalledProvider('capi-like', { replace: true, inPlace: false, snapshot: false }),
      syncRunPhase: (phase) => {
        told.push(phase);
        return Promise.resolve();
      },
    };
    const running = executeRun({ store, runId: RUN, owner: 'kup-a', ctx: context(clock, provider), signal: new AbortController().signal, pollMs: 250 });
    await clock.advance(0);
    assert.deepEqual(told, ['paused']);
    await clock.advance(250);
    assert.deepEqual(told, ['paused'], 'told once per phase');
    await applyEvents(store, RUN, [{ type: 'cancel-requested' }], T0);
    await clock.advance(250);
    assert.equal((await running).status.phase, 'cancelled');
    assert.deepEqual(told, ['paused', 'ended']);
  });

  it('tells the provider again when it fails (a transient error must not leave the end of the run untold)', async () => {
    const clock = new ManualClock(T0);
    const told: RunPhaseForProvider[] = [];
    let failures = 2;
    const provider: Provider = {
      ...uncalledProvider('capi-like', { replace: true, inPlace: false, snapshot: false }),
      syncRunPhase: (phase) => {
        if (phase === 'ended' && failures > 0) {
          failures -= 1;
          return Promise.reject(new Error('409 Conflict'));
        }
        told.push(phase);
        return Promise.resolve();
      },
    };
    await applyEvents(store, RUN, [{ type: 'cancel-requested' }], T0);
    const running = executeRun({ store, runId: RUN, owner: 'kup-a', ctx: context(clock, provider), signal: new AbortController().signal, pollMs: 250 });
    await clock.advance(0);
    assert.deepEqual(told, [], 'the first try failed');
    await clock.advance(1_000);
    assert.deepEqual(told, [], 'the second try (1 s later) failed');
    await clock.advance(2_000);
    assert.equal((await running).status.phase, 'cancelled');
    assert.deepEqual(told, ['ended'], 'told on the third try, 2 s after the second');
  });
});
