import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UpgradePath } from '../../versions/index.ts';
import type { PlanInput } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { RunTransitionError } from './errors.ts';
import { RESTORE_KEY, rollbackAvailability } from './rollback.ts';
import { createRunState } from './state.ts';
import type { Intercept } from './test-driver.ts';
import { Driver, FakeCluster, fakeTopology, phaseOf, oneMinorPath } from './test-driver.ts';
import { transition } from './transition.ts';
import type { RunOptions, RunState } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);

const minor = oneMinorPath();

const onePatch: UpgradePath = {
  kind: 'upgrade',
  from: '1.30.4',
  to: '1.30.5',
  workerStrategy: 'follow',
  notes: [],
  steps: [
    { kind: 'control-plane', from: '1.30.4', to: '1.30.5' },
    { kind: 'pool', pool: 'w', from: '1.30.4', to: '1.30.5', reason: 'target' },
  ],
};

function setup(
  plan: Omit<PlanInput, 'cluster' | 'topology'>,
  options: { run?: RunOptions; intercept?: Intercept; w?: number } = {},
): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: options.w ?? 3 }, version: '1.30.4' });
  const state = createRunState(buildPlan({ cluster: 'c', topology, ...plan }), {
    runId: 'run',
    now: T0,
    ...options.run,
  });
  return new Driver(state, new FakeCluster(topology), options.intercept ? { intercept: options.intercept } : {});
}

const failReplaceOf = (node: string): Intercept => {
  let done = false;
  return (e) => {
    if (done || e.type !== 'replace-node' || e.node !== node) return undefined;
    done = true;
    return { type: 'step-failed', key: e.key, action: e.type, error: { message: 'quota exceeded' } };
  };
};

const refusal = (state: RunState) => {
  const a = rollbackAvailability(state);
  return a.ok ? 'ok' : a.refusal;
};

describe('rollback before the point of no return', () => {
  it('moves replaced nodes back to their old version and image (image-only plan, nodes mode)', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.31.4', image: 'gl-1443' });
    const plan = buildPlan({ cluster: 'g', topology, change: { kind: 'image', images: { w: 'gl-1592' } } });
    const d = new Driver(createRunState(plan, { runId: 'img', now: T0 }), new FakeCluster(topology), {
      intercept: failReplaceOf('w-2'),
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.equal(d.cluster.pool('w').filter((n) => n.image === 'gl-1592').length, 2);

    d.send({ type: 'rollback-requested' });
    assert.equal(phaseOf(d), 'rolling-back');
    assert.equal(d.state.rollback?.mode, 'nodes');
    // The last batch comes back first; w-2's replacement never happened, so it has nothing to undo.
    assert.deepEqual(
      d.state.rollback?.batches.map((b) => b.steps.map((s) => s.key)),
      [['rollback/pool/w/w-1'], ['rollback/pool/w/w-0'], ['rollback/postcheck']],
    );
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    const pool = d.cluster.pool('w');
    assert.equal(pool.length, 3);
    assert.ok(
      pool.every((n) => n.image === 'gl-1443' && n.version === '1.31.4'),
      JSON.stringify(pool),
    );
    assert.deepEqual(d.cluster.cordoned(), []);
    assert.ok(!d.cluster.acted.some((k) => k.includes('restore-snapshot')));
  });

  it('moves a one-patch control-plane hop back in place after the workers', () => {
    const d = setup({ change: { kind: 'version', path: onePatch }, pools: { w: { strategy: 'in-place' } } });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(d.state.pointOfNoReturnPassedAt, null);
    d.send({ type: 'rollback-requested' });
    const keys = d.state.rollback?.batches.flatMap((b) => b.steps.map((s) => s.key));
    assert.deepEqual(keys, [
      'rollback/pool/w/w-2',
      'rollback/pool/w/w-1',
      'rollback/pool/w/w-0',
      'rollback/cp/cp-1',
      'rollback/postcheck',
    ]);
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.30.4');
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.30.4'));
    const cpBack = d.cluster.acted.find((k) => k.startsWith('rollback/cp/cp-1/upgrade-cp-node'));
    assert.ok(cpBack);
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('undoes a cordon when the node never changed, and removes a surge node whose old node still exists', () => {
    // w-1's drain times out after its surge replacement exists: the run pauses with w-1 cordoned.
    const d = setup(
      { change: { kind: 'image', images: { w: 'img-new' } } },
      {
        intercept: (e) =>
          e.type === 'drain' && e.node === 'w-1'
            ? { type: 'drain-timed-out', key: e.key, pods: [{ pod: 'a/b' }] }
            : undefined,
      },
    );
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    const surge = d.state.units['pool/w/image-img-new/batch-2/w-1']?.newNode ?? '';
    assert.ok(d.cluster.nodes.has(surge));
    d.send({ type: 'rollback-requested' });
    const step = d.state.rollback?.batches[0]?.steps[0];
    assert.deepEqual(
      step?.actions.map((a) => `${a.type} ${a.node ?? '(new)'}`),
      ['uncordon w-1', `cordon ${surge}`, `drain ${surge}`, `delete-old-node ${surge}`],
    );
    // The drain of the surge node goes through in the fake cluster.
    const through = new Driver(d.state, d.cluster);
    through.queue.push(...d.queue);
    through.run();
    assert.equal(phaseOf(through), 'rolled-back');
    assert.ok(!through.cluster.nodes.has(surge));
    assert.equal(through.cluster.nodes.get('w-1')?.image, 'img-1.30.4');
    assert.deepEqual(through.cluster.cordoned(), []);
  });
});

describe('rollback after the point of no return', () => {
  it('moves the worker nodes back, then restores the snapshot (state and control plane)', () => {
    const d = setup({ change: { kind: 'version', path: minor } }, { intercept: failReplaceOf('w-2') });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.notEqual(d.state.pointOfNoReturnPassedAt, null);
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.31.4');

    d.send({ type: 'rollback-requested' });
    assert.equal(phaseOf(d), 'rolling-back');
    if (d.state.status.phase === 'rolling-back') assert.equal(d.state.status.mode, 'snapshot');
    const keys = d.state.rollback?.batches.flatMap((b) => b.steps.map((s) => s.key));
    assert.deepEqual(keys, ['rollback/pool/w/w-1', 'rollback/pool/w/w-0', RESTORE_KEY, 'rollback/postcheck']);
    // The failed forward step is superseded by the rollback.
    assert.equal(d.state.units['pool/w/1.31.4/batch-3/w-2']?.failure, null);
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.30.4');
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.30.4' && n.image === 'img-1.30.4'));
    assert.deepEqual(d.cluster.cordoned(), []);
    const restoreAt = d.cluster.acted.indexOf(`${RESTORE_KEY}/restore-snapshot`);
    const lastWorker = Math.max(...d.cluster.acted.map((k, i) => (k.startsWith('rollback/pool/') ? i : -1)));
    assert.ok(restoreAt > lastWorker, 'workers first, then the restore');
  });

  it('tells the restore which nodes were deleted since the snapshot', () => {
    const d = setup({ change: { kind: 'version', path: minor } }, { w: 1 });
    d.send({ type: 'started' });
    d.run();
    d.send({ type: 'rollback-requested' });
    d.run((s) => s.units[RESTORE_KEY]?.inFlight?.action === 'restore-snapshot');
    const restore = d.queue.find((e) => e.type === 'restore-snapshot');
    assert.equal(restore?.type, 'restore-snapshot');
    if (restore?.type !== 'restore-snapshot') return;
    assert.equal(restore.snapshot, 'snap-1');
    // w-0 was replaced forward; its replacement was replaced again by the rollback.
    assert.equal(restore.staleNodes[0], 'w-0');
    assert.equal(restore.staleNodes.length, 2);
  });

  it('refuses without a snapshot, naming the point of no return', () => {
    const d = setup({ change: { kind: 'version', path: minor }, snapshot: false }, { intercept: failReplaceOf('w-0') });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.throws(
      () => transition(d.state, { type: 'rollback-requested' }, d.now),
      (err: unknown) =>
        err instanceof RunTransitionError &&
        err.code === 'KUP-RUN-002' &&
        err.details.refusal === 'no-snapshot' &&
        /point of no return at cp\/1\.31\.4\/cp-1/.test(err.message) &&
        /snapshots were turned off/.test(err.message),
    );
  });
});

describe('rollback refusals', () => {
  it('refuses while running, while steps are in flight, with nothing changed, and twice', () => {
    const d = setup({ change: { kind: 'version', path: minor } });
    assert.equal(refusal(d.state), 'nothing-changed');
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-control-plane');
    assert.equal(refusal(d.state), 'not-stopped');
    d.send({ type: 'pause-requested' });
    assert.equal(refusal(d.state), 'in-flight');
    assert.throws(
      () => transition(d.state, { type: 'rollback-requested' }, d.now),
      (err: unknown) => err instanceof RunTransitionError && /still running \(cp\/1\.31\.4\/cp-1\)/.test(err.message),
    );
    d.run();
    assert.equal(refusal(d.state), 'ok');
    d.send({ type: 'rollback-requested' });
    assert.equal(refusal(d.state), 'already-rolled-back');
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.equal(refusal(d.state), 'already-rolled-back');
  });

  it('refuses when only the snapshot was taken', () => {
    const d = setup({ change: { kind: 'image', images: { w: 'x' } } });
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'snapshotting');
    d.send({ type: 'pause-requested' });
    d.run();
    assert.equal(refusal(d.state), 'nothing-changed');
  });

  it('a rollback can be paused and resumed, but not cancelled', () => {
    const d = setup({ change: { kind: 'version', path: minor } });
    d.send({ type: 'started' });
    d.run();
    d.send({ type: 'rollback-requested' });
    d.send({ type: 'pause-requested' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.throws(
      () => transition(d.state, { type: 'cancel-requested' }, d.now),
      (err: unknown) => err instanceof RunTransitionError && /rollback cannot be cancelled/.test(err.message),
    );
    d.send({ type: 'resume-requested' });
    assert.equal(phaseOf(d), 'rolling-back');
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.30.4');
  });
});
