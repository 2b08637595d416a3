/**
 * How a run's state reaches the store and comes back: the plan stored once beside the state (and again only when the
 * run is re-planned), reads that skip what did not change, and states written before plans were stored apart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { KupStore } from '../persistence/store.ts';
import { openSqliteStore } from '../persistence/store.ts';
import { pendingEffects } from '../rollout/machine/effects.ts';
import { createRunState } from '../rollout/machine/state.ts';
import { fakeTopology } from '../rollout/machine/test-driver.ts';
import type { RunState } from '../rollout/machine/types.ts';
import { buildPlan } from '../rollout/plan.ts';
import { applyEvent, loadRun, newRunColumns } from './apply-event.ts';
import { commandRun } from './runs.ts';

const T0 = Date.UTC(2026, 0, 15, 9);

let store: KupStore;

beforeEach(async () => {
  store = openSqliteStore({ dataDir: mkdtempSync(join(tmpdir(), 'kup-apply-')) });
  await store.clusters.add({ name: 'prod', kubeconfigPath: '/k/prod', provider: 'sim', providerSettings: {}, addedAt: 1 });
});

afterEach(async () => {
  await store.close();
});

/** An image-only run of one 40-node pool upgraded in place: exponential batches 1, 2, 4, 4, ... */
function newState(runId: string): RunState {
  const plan = buildPlan({
    cluster: 'prod',
    topology: fakeTopology({ cp: 1, pools: { w: 40 }, version: '1.31.4' }),
    change: { kind: 'image', images: { w: 'img-2' } },
    defaults: { strategy: 'in-place' },
    snapshot: false,
  });
  return createRunState(plan, { runId, now: T0 });
}

async function create(state: RunState, columns: { plan: unknown; state: unknown } = newRunColumns(state)): Promise<void> {
  await store.runs.create({ id: state.runId, cluster: 'prod', target: 'img-2', ...columns, phase: state.status.phase, createdAt: T0 });
}

/** Reports every action in flight as done until none is (the pool's first batch, here). */
async function finishInFlight(runId: string): Promise<RunState> {
  let { state } = await loadRun(store, runId);
  for (let due = pendingEffects(state); due.length > 0; due = pendingEffects(state)) {
    for (const effect of due) state = (await applyEvent(store, runId, { type: 'step-succeeded', key: effect.key, action: effect.type }, T0)).state;
  }
  return state;
}

describe('a run in the store', () => {
  it('is stored without its plan inside the state, and read back whole', async () => {
    const state = newState('run-1');
    await create(state);
    const row = await store.runs.get('run-1');
    assert.deepEqual(row?.plan, state.plan);
    assert.equal((row?.state as Record<string, unknown>)['plan'], undefined, 'the state does not repeat the plan');
    assert.equal((row?.state as Record<string, unknown>)['planRevision'], 0);
    assert.deepEqual((await loadRun(store, 'run-1')).state, state);

    const started = await applyEvent(store, 'run-1', { type: 'started' }, T0 + 1);
    const stored = await store.runs.get('run-1');
    assert.equal((stored?.state as Record<string, unknown>)['plan'], undefined);
    assert.deepEqual((await loadRun(store, 'run-1')).state, started.state);
  });

  it('reads nothing new while the run is at the version the caller knows, and keeps the plan object it has', async () => {
    await create(newState('run-2'));
    const known = await loadRun(store, 'run-2');
    assert.equal(await loadRun(store, 'run-2', known), known, 'same version: the same object back');
    // Another writer (an operator's command) moves the run: the new state comes back with the plan the caller had.
    await applyEvent(store, 'run-2', { type: 'started' }, T0 + 1);
    const moved = await loadRun(store, 'run-2', known);
    assert.equal(moved.version, known.version + 1);
    assert.equal(moved.state.status.phase, 'prechecking');
    assert.equal(moved.state.plan, known.state.plan);
  });

  it('stores the plan again when a resume re-plans the batches, and a reader that knew the old plan gets the new one', async () => {
    const state = newState('run-3');
    await create(state);
    await applyEvent(store, 'run-3', { type: 'started' }, T0);
    await applyEvent(store, 'run-3', { type: 'precheck-passed' }, T0);
    const before = await loadRun(store, 'run-3');
    assert.equal(before.state.status.phase, 'upgrading-pools');
    await applyEvent(store, 'run-3', { type: 'pause-requested', message: 'look first' }, T0);
    assert.equal((await finishInFlight('run-3')).status.phase, 'paused');
    const resumed = await applyEvent(store, 'run-3', { type: 'resume-requested' }, T0);
    assert.equal(resumed.state.plan.revision, 1, 'the first batch after a pause is one node: re-planned');

    const row = await store.runs.get('run-3');
    assert.deepEqual(row?.plan, resumed.state.plan, 'the plan column holds the new plan');
    assert.equal((row?.state as Record<string, unknown>)['planRevision'], 1);
    const reread = await loadRun(store, 'run-3', before);
    assert.deepEqual(reread.state.plan, resumed.state.plan);
    assert.deepEqual(reread.state, resumed.state);
  });

  it('reads a state written before plans were stored apart, and stores its plan apart at the next commit', async () => {
    const state = newState('run-4');
    // Such a state carries its own plan; the plan column then held something else.
    await create(state, { plan: {}, state });
    assert.deepEqual((await loadRun(store, 'run-4')).state, state);
    const started = await applyEvent(store, 'run-4', { type: 'started' }, T0);
    const row = await store.runs.get('run-4');
    assert.deepEqual(row?.plan, state.plan);
    assert.equal((row?.state as Record<string, unknown>)['plan'], undefined);
    assert.deepEqual((await loadRun(store, 'run-4')).state, started.state, 'its units too, though the started event changed one');
  });

  it('commits the entries of the units a step changed, and reads back the state whole', async () => {
    const state = newState('run-6');
    await create(state);
    await applyEvent(store, 'run-6', { type: 'started' }, T0);
    const upgrading = await applyEvent(store, 'run-6', { type: 'precheck-passed' }, T0);
    const started = Object.keys(upgrading.state.units).filter((k) => k !== 'precheck');
    assert.ok(started.length > 0, 'the first batch has started');
    // Each step reads the run back and commits the difference: a missed entry would show in the state read back.
    const done = await finishInFlight('run-6');
    assert.ok(Object.keys(done.units).length > started.length, 'the next batch has started');
    assert.deepEqual((await loadRun(store, 'run-6')).state, done);
  });

  it('refuses a state whose plan beside it is of another revision', async () => {
    const state = newState('run-5');
    await create(state, { plan: { ...state.plan, revision: 3 }, state: newRunColumns(state).state });
    await assert.rejects(loadRun(store, 'run-5'), /KUP-RUN-003: persisted run state was committed with plan revision 0, but the stored plan is revision 3/);
  });

  it('an operator command meets a run paused past its limit as ended, though no executor was there to end it', async () => {
    await create(newState('run-6'));
    await applyEvent(store, 'run-6', { type: 'started' }, T0);
    const paused = await commandRun(store, 'run-6', 'pause', T0 + 1);
    assert.equal(paused.status.phase, 'paused');
    const DAY = 86_400_000;
    await assert.rejects(
      commandRun(store, 'run-6', 'resume', T0 + 1 + 16 * DAY),
      /KUP-RUN-\d+: run run-6: resume is not allowed while the run is failed: paused for more than 15 days \(since 2026-01-15T09:00:00\.001Z\): the run ended/,
    );
    const { state } = await loadRun(store, 'run-6');
    assert.deepEqual(state.status.phase === 'failed' ? [state.status.phase, state.status.code] : [state.status.phase], ['failed', 'pause-expired']);
    // Within the limit, time passing changes nothing and the command goes through.
    await create(newState('run-7'));
    await applyEvent(store, 'run-7', { type: 'started' }, T0);
    await commandRun(store, 'run-7', 'pause', T0);
    assert.equal((await commandRun(store, 'run-7', 'resume', T0 + 14 * DAY)).status.phase, 'prechecking');
  });
});
