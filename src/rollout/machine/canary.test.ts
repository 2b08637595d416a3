import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../plan.ts';
import { createRunState } from './state.ts';
import type { Intercept } from './test-driver.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath, phaseOf } from './test-driver.ts';
import type { ActionEffect } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);

/** A one-minor upgrade of pool w (5 nodes, fixed:2) with a canary. */
function setup(intercept?: Intercept): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: 5 }, version: '1.30.4' });
  const plan = buildPlan({
    cluster: 'canary',
    topology,
    change: { kind: 'version', path: oneMinorPath(['w']) },
    pools: { w: { batchPolicy: 'fixed:2', canary: true } },
  });
  return new Driver(
    createRunState(plan, { runId: 'run-canary', now: T0 }),
    new FakeCluster(topology),
    intercept ? { intercept } : {},
  );
}

type Postcheck = Extract<ActionEffect, { type: 'postcheck' }>;

/** Fails the canary's postcheck once, keeping what it was asked. */
function failCanaryPostcheck(seen: Postcheck[]): Intercept {
  return (effect) => {
    if (effect.type !== 'postcheck' || effect.key === 'postcheck') return undefined;
    seen.push(effect);
    if (seen.length > 1) return undefined;
    return {
      type: 'step-failed',
      key: effect.key,
      action: 'postcheck',
      error: { code: 'KUP-ENGINE-005', message: 'post-upgrade validation failed: failing-pods: shop/cart is failing' },
    };
  };
}

describe('canary', () => {
  it("validates the canary with the postcheck's rules, not holding the nodes still to move, before the rest", () => {
    const seen: Postcheck[] = [];
    const d = setup(failCanaryPostcheck(seen));
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    const s = d.state.status;
    assert.match(s.phase === 'paused' ? s.message : '', /post-upgrade validation failed: failing-pods/);
    const canaryGate = d.plan.phases.find((p) => p.kind === 'pool')?.batches[0]?.key;
    assert.equal(seen[0]?.key, canaryGate);
    assert.equal(seen[0]?.target, '1.31.4', 'the control plane is at the target by then');
    const pool = d.cluster.pool('w');
    const moved = pool.filter((n) => n.version === '1.31.4').map((n) => n.name);
    assert.equal(moved.length, 1, 'only the canary moved');
    assert.deepEqual(
      seen[0]?.pending,
      pool
        .filter((n) => n.version === '1.30.4')
        .map((n) => n.name)
        .sort(),
      'the four nodes still to move are not held to the target',
    );
    assert.equal(pool.length, 5);

    d.send({ type: 'resume-requested' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(seen.length, 2, "the canary's postcheck ran again on resume, and once only");
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.31.4'));
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('a passing canary lets the pool continue; the run ends with the usual postcheck over every node', () => {
    const effects: Postcheck[] = [];
    const d = setup((effect) => {
      if (effect.type === 'postcheck') effects.push(effect);
      return undefined;
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(effects.length, 2);
    assert.equal(effects[0]?.pending?.length, 4);
    assert.equal(effects[1]?.key, 'postcheck');
    assert.equal(effects[1]?.pending, undefined, 'the final postcheck holds every node to the target');
  });
});
