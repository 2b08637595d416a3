/**
 * Persisted states read back from JSON behave exactly as the states that were written (as XState's
 * rehydration.test.ts checks for actors): at every status phase, the next event gives the same state and effects
 * from the rehydrated state as from the original.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlanInput } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { RunTransitionError } from './errors.ts';
import { createRunState, reviveRunState, storedEntries, storedRunState } from './state.ts';
import type { Intercept } from './test-driver.ts';
import { Driver, FakeCluster, fakeTopology, phaseOf, oneMinorPath } from './test-driver.ts';
import { transition } from './transition.ts';
import type { RunEvent, RunPhase, RunState } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);

const minor = oneMinorPath();

const ALL_PHASES: readonly RunPhase[] = [
  'pending',
  'prechecking',
  'snapshotting',
  'upgrading-control-plane',
  'upgrading-pools',
  'validating',
  'succeeded',
  'paused',
  'cancelling',
  'cancelled',
  'failed',
  'rolling-back',
  'rolled-back',
];

const seen = new Set<RunPhase>();

/** A driver whose every event is also applied to the JSON round trip of the state, and compared. */
function checked(plan: Omit<PlanInput, 'cluster' | 'topology'>, intercept?: Intercept): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: 4 }, version: '1.30.4' });
  const state = createRunState(buildPlan({ cluster: 'c', topology, ...plan }), { runId: 'r', now: T0 });
  const d = new Driver(state, new FakeCluster(topology), intercept ? { intercept } : {});
  const send = d.send.bind(d);
  d.send = (event: RunEvent) => {
    const before: RunState = d.state;
    seen.add(before.status.phase);
    const revived = reviveRunState(JSON.parse(JSON.stringify(before)));
    assert.deepEqual(revived, before);
    let original: ReturnType<typeof transition> | Error;
    let again: ReturnType<typeof transition> | Error;
    try {
      original = transition(before, event, d.now);
    } catch (err) {
      original = err as Error;
    }
    try {
      again = transition(revived, event, d.now);
    } catch (err) {
      again = err as Error;
    }
    if (original instanceof Error || again instanceof Error) {
      assert.ok(original instanceof Error && again instanceof Error, `only one of the two threw after ${event.type}`);
      assert.equal(again.message, original.message);
    } else {
      assert.deepEqual(again.effects, original.effects, `effects differ after ${event.type}`);
      assert.deepEqual(again.state, original.state, `states differ after ${event.type}`);
    }
    const effects = send(event);
    seen.add(d.state.status.phase);
    return effects;
  };
  return d;
}

describe('rehydration', () => {
  it('a happy run, step by step', () => {
    const d = checked({
      change: { kind: 'version', path: minor },
      soakMs: 10_000,
      pools: { w: { batchPolicy: 'fixed:2' } },
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
  });

  it('pause, resume, cancel', () => {
    const d = checked({ change: { kind: 'version', path: minor } });
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-pools');
    d.send({ type: 'pause-requested' });
    d.run();
    d.send({ type: 'resume-requested' });
    d.run((s) => Object.keys(s.units).some((k) => k.includes('batch-3')));
    d.send({ type: 'cancel-requested' });
    d.run();
    assert.equal(phaseOf(d), 'cancelled');
  });

  it('a failed precheck and an expired pause', () => {
    const failed = checked({ change: { kind: 'version', path: minor } }, (e) =>
      e.type === 'precheck'
        ? { type: 'precheck-failed', blockers: [{ rule: 'etcd', message: 'etcd unhealthy' }] }
        : undefined,
    );
    failed.send({ type: 'started' });
    failed.run();
    assert.equal(phaseOf(failed), 'failed');

    const expired = checked({ change: { kind: 'version', path: minor } });
    expired.send({ type: 'started' });
    expired.send({ type: 'pause-requested' });
    expired.run();
    expired.now += 16 * 86_400_000;
    expired.send({ type: 'tick' });
    assert.equal(phaseOf(expired), 'failed');
  });

  it('an error, then a rollback', () => {
    const d = checked({ change: { kind: 'version', path: minor } }, (e) =>
      e.type === 'drain' && e.node === 'w-2'
        ? { type: 'drain-timed-out', key: e.key, pods: [{ pod: 'a/b', pdb: 'a/pdb' }] }
        : undefined,
    );
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    d.send({ type: 'rollback-requested' });
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
  });

  it('covered every status phase', () => {
    assert.deepEqual(
      ALL_PHASES.filter((p) => !seen.has(p)),
      [],
    );
  });

  it('refuses what is not a persisted run state', () => {
    const state = createRunState(
      buildPlan({
        cluster: 'c',
        topology: fakeTopology({ cp: 1, pools: { w: 1 }, version: '1.30.4' }),
        change: { kind: 'version', path: minor },
      }),
      {
        runId: 'r',
        now: T0,
      },
    );
    for (const [value, pattern] of [
      [null, /is not an object/],
      [{ ...state, schema: 2 }, /schema 2, expected 1/],
      [{ ...state, plan: undefined }, /has no plan/],
      [{ ...state, units: undefined }, /has no units/],
    ] as const) {
      assert.throws(
        () => reviveRunState(value),
        (err: unknown) => err instanceof RunTransitionError && err.code === 'KUP-RUN-003' && pattern.test(err.message),
      );
    }
  });
});

describe('the stored form of a state', () => {
  it('names the entries of the per-node maps that a transition set or removed, and only those', () => {
    const d = checked({ change: { kind: 'version', path: minor } });
    d.send({ type: 'started' });
    const cordoning = (s: RunState) => Object.values(s.units).some((u) => u.inFlight?.action === 'cordon');
    d.run(cordoning);
    const before = d.state;
    const key = Object.keys(before.units).find((k) => before.units[k]?.inFlight?.action === 'cordon');
    assert.ok(key !== undefined, 'a cordon is in flight');
    const after = transition(before, { type: 'step-succeeded', key, action: 'cordon' }, d.now).state;
    assert.deepEqual(
      storedEntries(before, after).map((e) => `${e.map}/${e.key}`),
      [`units/${key}`],
    );
    assert.equal(storedEntries(after, after).length, 0);
    assert.deepEqual(
      storedEntries(undefined, after).map((e) => e.key).sort(),
      [...Object.keys(after.units), ...Object.keys(after.lineage)].sort(),
    );
    const removed = { ...after, units: {} };
    assert.deepEqual(storedEntries(after, removed).map((e) => [e.key, 'value' in e]), Object.keys(after.units).map((k) => [k, false]));
    const head = storedRunState(after);
    assert.deepEqual([head.units, head.lineage, 'plan' in head], [{}, {}, false]);
  });
});
