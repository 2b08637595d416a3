import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActionType } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { ACTION_TYPES } from '../plan-types.ts';
import { progressOf } from './progress.ts';
import { createRunState } from './state.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath } from './test-driver.ts';

const T0 = Date.UTC(2025, 0, 1);

const minor = oneMinorPath(['w', 'v']);

// Every action takes exactly the driver's clock step: the plan's estimates match the run, so the pace is 1.
const oneSecondEach = Object.fromEntries(ACTION_TYPES.map((a) => [a, 1_000])) as Record<ActionType, number>;

function setup(): Driver {
  const topology = fakeTopology({ cp: 3, pools: { w: 9, v: 2 }, version: '1.30.4' });
  const plan = buildPlan({
    cluster: 'c',
    topology,
    change: { kind: 'version', path: minor },
    pools: { w: { batchPolicy: 'fixed:3' } },
    estimates: { ...oneSecondEach, soak: 0 },
  });
  return new Driver(createRunState(plan, { runId: 'p', now: T0 }), new FakeCluster(topology));
}

describe('progressOf', () => {
  it('shows control-plane node i of n while the control plane moves', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => s.units['cp/1.31.4/cp-2']?.inFlight !== null && s.units['cp/1.31.4/cp-2'] !== undefined);
    const p = progressOf(d.state, d.state.plan, d.now);
    assert.equal(p.phase, 'upgrading-control-plane');
    assert.deepEqual(p.controlPlane, { i: 2, n: 3, hop: 1, hops: 1, to: '1.31.4' });
    assert.deepEqual(
      p.inFlight.map((f) => [f.key, f.node]),
      [['cp/1.31.4/cp-2', 'cp-2']],
    );
    assert.deepEqual(
      p.pools.map((x) => [x.name, x.upgraded, x.total, x.currentBatch, x.batches]),
      [
        ['w', 0, 9, 0, 3],
        ['v', 0, 2, 0, 2],
      ],
    );
  });

  it('shows nodes upgraded / total and the current batch per pool', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => Object.keys(s.units).some((k) => k.startsWith('pool/w/1.31.4/batch-2/')));
    const p = progressOf(d.state, d.state.plan, d.now);
    assert.equal(p.phase, 'upgrading-pools');
    assert.deepEqual(p.controlPlane, { i: 3, n: 3, hop: 1, hops: 1, to: '1.31.4' });
    const w = p.pools.find((x) => x.name === 'w');
    assert.deepEqual([w?.upgraded, w?.total, w?.currentBatch, w?.batches, w?.to], [3, 9, 2, 3, '1.31.4']);
  });

  it('estimates the time left from the plan and the time spent', () => {
    const d = setup();
    const before = progressOf(d.state, d.state.plan, d.now);
    assert.equal(before.eta.remainingMs, d.state.plan.expectedDurationMs + d.state.plan.estimates.precheck);
    assert.equal(before.eta.finishesAt, null, 'a pending run does not move');
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-pools');
    const mid = progressOf(d.state, d.state.plan, d.now);
    assert.ok(mid.eta.remainingMs > 0 && mid.eta.remainingMs < before.eta.remainingMs);
    assert.equal(mid.eta.finishesAt, d.now + mid.eta.remainingMs);

    d.send({ type: 'pause-requested' });
    d.run();
    const paused = progressOf(d.state, d.state.plan, d.now + 3_600_000);
    assert.equal(paused.eta.finishesAt, null);
    // Time spent paused (with nothing running) changes neither the pace nor the time left.
    const now = progressOf(d.state, d.state.plan, d.now);
    assert.deepEqual([paused.eta.pace, paused.eta.remainingMs], [now.eta.pace, now.eta.remainingMs]);
    d.send({ type: 'resume-requested' });
    d.run();
    const end = progressOf(d.state, d.state.plan, d.now);
    assert.equal(end.phase, 'succeeded');
    assert.equal(end.eta.remainingMs, 0);
    assert.deepEqual(
      end.pools.map((x) => [x.name, x.upgraded, x.total]),
      [
        ['w', 9, 9],
        ['v', 2, 2],
      ],
    );
  });

  it('scales the time left by the pace of the run so far', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 4 }, version: '1.30.4' });
    // The plan expects 10 s per action; the driver takes 1 s: the run goes ten times faster (pace capped at 1/4).
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: { ...minor, steps: minor.steps.slice(0, 2) } },
      estimates: Object.fromEntries(ACTION_TYPES.map((a) => [a, 10_000])),
    });
    const d = new Driver(createRunState(plan, { runId: 'x', now: T0 }), new FakeCluster(topology));
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-pools');
    const p = progressOf(d.state, d.state.plan, d.now);
    assert.equal(p.eta.pace, 0.25);
  });

  it('counts rollback steps', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run();
    d.send({ type: 'rollback-requested' });
    const start = progressOf(d.state, d.state.plan, d.now);
    assert.deepEqual(start.rollback, { done: 0, total: 11 + 1 + 1 });
    d.run();
    assert.deepEqual(progressOf(d.state, d.state.plan, d.now).rollback, { done: 13, total: 13 });
  });
});
