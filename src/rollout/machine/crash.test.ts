/**
 * Crash safety: a run is killed after every persisted state of a small run, in three ways (the effects of the last
 * transition never performed; all performed but never reported; half performed), restarted from the persisted JSON
 * with `pendingEffects`, and driven to the end. Every time: the unfinished actions are re-issued with their original
 * idempotency keys, no finished action is re-issued, no action acts twice (no node replaced twice), the run ends as
 * it would have without the crash, no node is left cordoned and no event is lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlanInput } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { pendingEffects } from './effects.ts';
import { createRunState, isTerminal } from './state.ts';
import type { Intercept } from './test-driver.ts';
import { Driver, FakeCluster, fakeTopology, phaseOf, oneMinorPath } from './test-driver.ts';

const T0 = Date.UTC(2025, 0, 1);

const minor = oneMinorPath();

interface Scenario {
  readonly name: string;
  readonly plan: Omit<PlanInput, 'cluster' | 'topology'>;
  readonly intercept?: () => Intercept;
  /** Roll back once the upgrade succeeded. */
  readonly rollback?: boolean;
  readonly expect: { readonly phase: 'succeeded' | 'rolled-back'; readonly version: string; readonly cp: string };
}

const failFirstReplaceOfW1 = (): Intercept => {
  let failed = false;
  return (e) => {
    if (failed || e.type !== 'replace-node' || e.node !== 'w-1') return undefined;
    failed = true;
    return { type: 'step-failed', key: e.key, action: e.type, error: { message: 'boom' } };
  };
};

const scenarios: Scenario[] = [
  {
    name: 'rolling replacement with surge',
    plan: { change: { kind: 'version', path: minor } },
    expect: { phase: 'succeeded', version: '1.31.4', cp: '1.31.4' },
  },
  {
    name: 'replacement without surge, two-node batches',
    plan: {
      change: { kind: 'version', path: minor },
      pools: { w: { batchPolicy: 'fixed:2', maxSurge: 0, maxUnavailable: 2 } },
    },
    expect: { phase: 'succeeded', version: '1.31.4', cp: '1.31.4' },
  },
  {
    name: 'in place, with a soak between batches',
    plan: {
      change: { kind: 'version', path: minor },
      pools: { w: { strategy: 'in-place', batchPolicy: 'fixed:2' } },
      soakMs: 30_000,
    },
    expect: { phase: 'succeeded', version: '1.31.4', cp: '1.31.4' },
  },
  {
    name: 'an error, a pause and a resume',
    plan: { change: { kind: 'version', path: minor } },
    intercept: failFirstReplaceOfW1,
    expect: { phase: 'succeeded', version: '1.31.4', cp: '1.31.4' },
  },
  {
    name: 'an upgrade, then a rollback past the point of no return',
    plan: { change: { kind: 'version', path: minor } },
    rollback: true,
    expect: { phase: 'rolled-back', version: '1.30.4', cp: '1.30.4' },
  },
];

function make(s: Scenario): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.30.4' });
  const plan = buildPlan({ cluster: 'c', topology, ...s.plan });
  const intercept = s.intercept?.();
  return new Driver(
    createRunState(plan, { runId: 'crash', now: T0 }),
    new FakeCluster(topology),
    intercept ? { intercept } : {},
  );
}

/** Does the next thing an operator and an executor would do. False when the run is over. */
function next(d: Driver, s: Scenario): boolean {
  if (d.state.status.phase === 'pending') {
    d.send({ type: 'started' });
    return true;
  }
  if (d.step()) return true;
  if (d.state.status.phase === 'paused') {
    d.send({ type: 'resume-requested' });
    return true;
  }
  if (s.rollback && d.state.status.phase === 'succeeded') {
    d.send({ type: 'rollback-requested' });
    return true;
  }
  return false;
}

const stepId = (idempotencyKey: string): string => idempotencyKey.replace(/#\d+$/, '');

for (const s of scenarios) {
  describe(`crash safety: ${s.name}`, () => {
    const reference = make(s);
    while (next(reference, s));
    const total = reference.persisted.length;

    it('runs to the end without a crash', () => {
      assert.equal(phaseOf(reference), s.expect.phase);
      assert.ok(total > 20, `only ${total} states`);
    });

    it(`survives a crash after each of the ${total} persisted states`, () => {
      for (let k = 1; k < total; k++) {
        for (const mode of ['lost', 'unreported', 'half'] as const) {
          const where = `crash after state ${k}, effects ${mode}`;
          const d = make(s);
          while (d.persisted.length < k && next(d, s));
          const reported = new Set(
            d.fed.flatMap((e) =>
              e.type === 'step-succeeded'
                ? [`${e.key}|${e.action}`]
                : e.type === 'soak-elapsed'
                  ? [`${e.key}|soak`]
                  : [],
            ),
          );
          const queued = [...d.queue];
          const perform = mode === 'lost' ? 0 : mode === 'unreported' ? queued.length : Math.ceil(queued.length / 2);
          for (const effect of queued.slice(0, perform)) d.cluster.perform(effect);
          const eventsBefore = d.events.length;

          const pending = d.restart();
          const state = d.state;
          // Exactly the actions in flight, with their original idempotency keys.
          const inFlight = Object.values(state.units).filter((u) => u.inFlight !== null);
          if (!isTerminal(state)) {
            assert.deepEqual(
              pending.map((e) => e.key).sort(),
              inFlight.map((u) => u.key).sort(),
              `${where}: pending effects are not the steps in flight`,
            );
          }
          assert.deepEqual(
            pendingEffects(state),
            pending,
            `${where}: pendingEffects is not a pure function of the state`,
          );
          for (const e of pending) {
            assert.ok(!reported.has(`${e.key}|${e.type}`), `${where}: re-issued the finished ${e.key} ${e.type}`);
          }
          for (const lost of queued) {
            const unit = state.units[lost.key];
            if (unit?.inFlight?.action !== lost.type) continue;
            assert.ok(
              pending.some((e) => e.idempotencyKey === lost.idempotencyKey),
              `${where}: the unfinished ${lost.idempotencyKey} was not re-issued with its key`,
            );
          }

          while (next(d, s));
          assert.equal(phaseOf(d), s.expect.phase, where);
          // No action acted twice: at most one acting attempt per step and action (no node replaced twice).
          const acting = d.cluster.acted.map(stepId);
          assert.equal(new Set(acting).size, acting.length, `${where}: an action acted twice`);
          assert.deepEqual(
            acting.sort(),
            reference.cluster.acted.map(stepId).sort(),
            `${where}: the crash changed what was done`,
          );
          const pool = d.cluster.pool('w');
          assert.equal(pool.length, 3, where);
          assert.ok(
            pool.every((n) => n.version === s.expect.version),
            `${where}: ${JSON.stringify(pool)}`,
          );
          assert.equal(d.cluster.nodes.get('cp-1')?.version, s.expect.cp, where);
          assert.deepEqual(d.cluster.cordoned(), [], `${where}: nodes left cordoned`);
          // Events are written with the state: none lost, none doubled.
          assert.ok(d.events.length >= eventsBefore);
          assert.ok(
            d.events.every((e, i) => e.seq === i + 1),
            `${where}: event log has a gap or a duplicate`,
          );
        }
      }
    });
  });
}
