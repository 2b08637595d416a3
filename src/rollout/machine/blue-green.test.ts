import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stepActions } from '../plan-steps.ts';
import type { PoolPhase } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { createRunState } from './state.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath, phaseOf } from './test-driver.ts';
import type { ActionEffect } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);

/** A pool-only blue-green move of pool w (4 nodes): drain batches of 2, a batch soak and a final soak. */
function setup(options: { finalSoakMs?: number } = {}): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: 4 }, version: '1.30.4' });
  const plan = buildPlan({
    cluster: 'bg',
    topology,
    change: { kind: 'image', images: { w: 'img-new' } },
    pools: {
      w: { strategy: 'blue-green', drainBatchSize: 2, soakMs: 30_000, finalSoakMs: options.finalSoakMs ?? 3_600_000 },
    },
  });
  return new Driver(createRunState(plan, { runId: 'run-bg', now: T0 }), new FakeCluster(topology));
}

const poolPhase = (d: Driver): PoolPhase => {
  const phase = d.plan.phases.find((p) => p.kind === 'pool');
  assert.ok(phase?.kind === 'pool');
  return phase;
};

describe('blue-green pool moves', () => {
  it('plans green, cordon blue, drain batches with soaks, a final soak, delete blue', () => {
    const phase = poolPhase(setup());
    assert.equal(phase.strategy, 'blue-green');
    assert.deepEqual(
      phase.batches.map((b) => [b.key.split('/').pop(), b.steps.map((s) => ('node' in s ? s.node : s.key)), b.gate, b.soakMs]),
      [
        ['green', ['w-0', 'w-1', 'w-2', 'w-3'], ['validate-batch'], 0],
        ['cordon-blue', ['w-0', 'w-1', 'w-2', 'w-3'], [], 0],
        ['drain-1', ['w-0', 'w-1'], ['validate-batch', 'soak'], 30_000],
        ['drain-2', ['w-2', 'w-3'], ['validate-batch'], 0],
        ['final-soak', [], ['soak'], 3_600_000],
        ['delete-blue', ['w-0', 'w-1', 'w-2', 'w-3'], [], 0],
      ],
    );
    const [green, cordon, drain, , , del] = phase.batches;
    assert.deepEqual(stepActions(green?.steps[0] ?? assert.fail()), ['replace-node', 'wait-node-ready']);
    assert.deepEqual(stepActions(cordon?.steps[0] ?? assert.fail()), ['cordon']);
    assert.deepEqual(stepActions(drain?.steps[0] ?? assert.fail()), ['drain']);
    assert.deepEqual(stepActions(del?.steps[0] ?? assert.fail()), ['delete-old-node']);
    assert.ok(phase.estimateMs >= 3_600_000 + 30_000, 'the soaks are in the expected duration');
  });

  it('runs to the end: the green nodes replace blue, blue is cordoned before any drain and deleted last', () => {
    const d = setup();
    d.send({ type: 'started' });
    const order: string[] = [];
    d.run((_, driver) => {
      const next = driver.queue[0];
      if (next && next.type !== 'soak' && next.type !== 'precheck' && next.type !== 'take-snapshot')
        order.push(`${next.type} ${describeEffect(next)}`);
      return false;
    });
    assert.equal(phaseOf(d), 'succeeded');
    const pool = d.cluster.pool('w');
    assert.deepEqual(
      pool.map((n) => [n.name, n.image, n.cordoned]),
      [
        ['w-r1', 'img-new', false],
        ['w-r2', 'img-new', false],
        ['w-r3', 'img-new', false],
        ['w-r4', 'img-new', false],
      ],
    );
    assert.deepEqual(d.state.lineage, { 'w-0': 'w-r1', 'w-1': 'w-r2', 'w-2': 'w-r3', 'w-3': 'w-r4' });
    const firstCordon = order.findIndex((o) => o.startsWith('cordon'));
    const lastGreenReady = order.findLastIndex((o) => o.startsWith('wait-node-ready'));
    const firstDrain = order.findIndex((o) => o.startsWith('drain'));
    const lastCordon = order.findLastIndex((o) => o.startsWith('cordon'));
    const firstDelete = order.findIndex((o) => o.startsWith('delete-old-node'));
    assert.ok(lastGreenReady < firstCordon, 'every green node is Ready before blue is cordoned');
    assert.ok(lastCordon < firstDrain, 'the whole blue pool is cordoned before the first drain');
    assert.ok(order.findLastIndex((o) => o.startsWith('drain')) < firstDelete, 'blue is deleted after every drain');
    // The drain batches validate the green nodes the pods went to, not the cordoned blue ones.
    const validations = order.filter((o) => o.startsWith('validate-batch'));
    assert.deepEqual(validations, [
      'validate-batch w-r1,w-r2,w-r3,w-r4',
      'validate-batch w-r1,w-r2',
      'validate-batch w-r3,w-r4',
    ]);
  });

  for (const [where, key, action] of [
    ['the green batch', 'green', 'wait-node-ready'],
    ['a batch soak', 'drain-1', 'soak'],
    ['the final soak', 'final-soak', 'soak'],
  ] as const) {
    it(`rollback during ${where}: blue uncordoned first, green drained back and deleted; no node made, no snapshot`, () => {
      const d = setup();
      d.send({ type: 'started' });
      const unitKey = key === 'green' ? 'pool/w/image-img-new/green/w-0' : `pool/w/image-img-new/${key}`;
      d.run((s) => s.units[unitKey]?.inFlight?.action === action);
      d.send({ type: 'pause-requested' });
      // A node step finishes before the rollback; a soak does not need to: the rollback ends it.
      if (action !== 'soak') d.run();
      else d.queue.length = 0;
      assert.equal(d.state.status.phase, 'paused');
      d.send({ type: 'rollback-requested' });
      if (action === 'soak') assert.equal(d.state.units[unitKey]?.inFlight, null, 'the soak was ended');
      const rollback = d.state.rollback;
      assert.ok(rollback);
      assert.equal(rollback.mode, 'nodes');
      const types = rollback.batches.flatMap((b) => b.steps.flatMap((s) => s.actions.map((a) => a.type)));
      assert.ok(!types.includes('rollback-node') && !types.includes('restore-snapshot'), types.join(' '));
      if (key !== 'green') {
        assert.deepEqual(
          rollback.batches[0]?.steps.map((s) => s.actions.map((a) => `${a.type} ${a.node ?? ''}`)),
          [['uncordon w-0'], ['uncordon w-1'], ['uncordon w-2'], ['uncordon w-3']],
          'the first rollback batch uncordons every blue node',
        );
      }
      d.run();
      assert.equal(d.state.status.phase, 'rolled-back');
      assert.deepEqual(
        d.cluster.pool('w').map((n) => [n.name, n.image, n.cordoned]),
        [
          ['w-0', 'img-1.30.4', false],
          ['w-1', 'img-1.30.4', false],
          ['w-2', 'img-1.30.4', false],
          ['w-3', 'img-1.30.4', false],
        ],
      );
    });
  }

  it('rollback once blue is deleted: each slot goes back as a replaced node does (a new node at the old image)', () => {
    const d = setup({ finalSoakMs: 0 });
    d.send({ type: 'started' });
    d.run((s) => Object.values(s.units).some((u) => u.key.includes('/delete-blue/') && u.done === 1));
    d.send({ type: 'pause-requested' });
    d.run();
    d.send({ type: 'rollback-requested' });
    const types = new Set(
      d.state.rollback?.batches.flatMap((b) => b.steps.flatMap((s) => s.actions.map((a) => a.type))),
    );
    assert.ok(types.has('rollback-node'));
    d.run();
    assert.equal(d.state.status.phase, 'rolled-back');
    const pool = d.cluster.pool('w');
    assert.equal(pool.length, 4);
    assert.ok(
      pool.every((n) => n.image === 'img-1.30.4' && !n.cordoned),
      JSON.stringify(pool),
    );
  });

  it('cancel during the final soak ends the soak and the run at once, blue cordoned beside green; a rollback undoes it', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => s.units['pool/w/image-img-new/final-soak']?.inFlight?.action === 'soak');
    d.queue.length = 0;
    d.send({ type: 'cancel-requested' });
    assert.deepEqual(d.cluster.tainted(), ['w-0', 'w-1', 'w-2', 'w-3'], 'blue carries the replacement taint');
    d.run();
    assert.equal(d.state.status.phase, 'cancelled');
    assert.deepEqual(d.cluster.tainted(), [], 'the cancel took the taint off');
    assert.equal(d.cluster.pool('w').length, 8, 'blue and green both stand');
    d.send({ type: 'rollback-requested' });
    d.run();
    assert.equal(d.state.status.phase, 'rolled-back');
    assert.deepEqual(
      d.cluster.pool('w').map((n) => [n.name, n.cordoned]),
      [
        ['w-0', false],
        ['w-1', false],
        ['w-2', false],
        ['w-3', false],
      ],
    );
  });

  it('a restart re-issues the unfinished green steps with their keys, and the provider acts once', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => Object.values(s.units).filter((u) => u.key.includes('/green/') && u.done >= 1).length === 2);
    const pending = d.restart();
    assert.ok(pending.length > 0);
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(new Set(d.cluster.acted).size, d.cluster.acted.length, 'no idempotency key acted twice');
    assert.equal(d.cluster.pool('w').length, 4);
  });

  it('refuses surge, unavailability and a node soak for blue-green, and blue-green options for other strategies', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.30.4' });
    const plan = (pools: object) =>
      buildPlan({
        cluster: 'c',
        topology,
        change: { kind: 'version', path: oneMinorPath(['w']) },
        pools: { w: pools },
      });
    assert.throws(
      () => plan({ strategy: 'blue-green', maxSurge: 1 }),
      /KUP-PLAN-001: pool "w": maxSurge does not apply to blue-green/,
    );
    assert.throws(() => plan({ strategy: 'blue-green', nodeSoakMs: 1 }), /nodeSoakMs does not apply to blue-green/);
    assert.throws(() => plan({ strategy: 'blue-green', drainBatchSize: 0 }), /drainBatchSize 0 would never drain blue/);
    assert.throws(
      () => plan({ finalSoakMs: 1000 }),
      /KUP-PLAN-001: pool "w": finalSoakMs needs the blue-green strategy/,
    );
    const pct = plan({ strategy: 'blue-green', drainBatchSize: '50%' }).phases.find((p) => p.kind === 'pool');
    assert.ok(pct?.kind === 'pool');
    assert.equal(pct.drainBatchSize, 1);
  });
});

function describeEffect(effect: ActionEffect): string {
  if (effect.type === 'validate-batch') return effect.nodes.join(',');
  return 'node' in effect ? String(effect.node) : effect.key;
}
