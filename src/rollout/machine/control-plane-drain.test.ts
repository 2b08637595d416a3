import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UpgradePath } from '../../versions/index.ts';
import type { ControlPlaneNodeStep, PlanTopology } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { planSteps, stepActions } from '../plan-steps.ts';
import { createRunState } from './state.ts';
import type { Intercept } from './test-driver.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath, phaseOf } from './test-driver.ts';
import type { RunOptions } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);

/** Three control-plane nodes; cp-1 runs two workload pods (CoreDNS, say), the others only static and DaemonSet pods. */
function topology(): PlanTopology {
  const t = fakeTopology({ cp: 3, pools: { w: 2 }, version: '1.30.4' });
  return { ...t, controlPlane: t.controlPlane.map((n) => ({ ...n, workloadPods: n.node === 'cp-1' ? 2 : 0 })) };
}

const onePatch: UpgradePath = {
  kind: 'upgrade',
  from: '1.30.4',
  to: '1.30.5',
  workerStrategy: 'minimal',
  notes: [],
  steps: [
    { kind: 'control-plane', from: '1.30.4', to: '1.30.5' },
    { kind: 'pool', pool: 'w', from: '1.30.4', to: '1.30.5', reason: 'target' },
  ],
};

function setup(options: { path?: UpgradePath; run?: RunOptions; intercept?: Intercept } = {}): Driver {
  const t = topology();
  const plan = buildPlan({
    cluster: 'c',
    topology: t,
    change: { kind: 'version', path: options.path ?? oneMinorPath() },
  });
  return new Driver(
    createRunState(plan, { runId: 'run', now: T0, ...options.run }),
    new FakeCluster(t),
    options.intercept ? { intercept: options.intercept } : {},
  );
}

const blocked = [
  { pod: 'kube-system/coredns-5d8', pdb: 'kube-system/coredns', reason: 'needs 2 healthy pods and has 2' },
];
const blockDrainOf = (node: string): Intercept => {
  let left = 1;
  return (effect) => {
    if (effect.type !== 'drain' || effect.node !== node || effect.force || left <= 0) return undefined;
    left -= 1;
    return { type: 'drain-timed-out', key: effect.key, pods: blocked };
  };
};

describe('control-plane drains', () => {
  it('plans a cordon and drain before, and an uncordon after, only for a node that runs workloads', () => {
    const d = setup();
    const cp = planSteps(d.plan).filter((s): s is ControlPlaneNodeStep => s.kind === 'control-plane-node');
    assert.deepEqual(
      cp.map((s) => [s.node, s.drain === true, stepActions(s)]),
      [
        ['cp-1', true, ['cordon', 'drain', 'upgrade-cp-node', 'check-api-health', 'uncordon']],
        ['cp-2', false, ['upgrade-cp-node', 'check-api-health']],
        ['cp-3', false, ['upgrade-cp-node', 'check-api-health']],
      ],
    );
    assert.ok((cp[0]?.estimateMs ?? 0) > (cp[1]?.estimateMs ?? 0), 'the drain counts in the estimate');
  });

  it('cordons and drains cp-1 before its components move, uncordons it once the API answers, then moves on', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    const cp1 = d.cluster.acted.filter((k) => k.includes('cp/1.31.4/cp-1'));
    assert.deepEqual(
      cp1.map((k) => k.split('/').at(-1)),
      ['cordon', 'drain', 'upgrade-cp-node', 'check-api-health', 'uncordon'],
    );
    const cp2Start = d.cluster.acted.findIndex((k) => k.includes('cp/1.31.4/cp-2'));
    const cp1End = d.cluster.acted.findIndex((k) => k === 'cp/1.31.4/cp-1/uncordon');
    assert.ok(cp1End >= 0 && cp2Start > cp1End, 'cp-2 starts once cp-1 is uncordoned');
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('a drain that times out pauses the run even under the quarantine policy; resume retries it', () => {
    const d = setup({ run: { drainTimeoutPolicy: 'quarantine' }, intercept: blockDrainOf('cp-1') });
    d.send({ type: 'started' });
    d.run();
    const s = d.state.status;
    assert.equal(s.phase, 'paused');
    if (s.phase !== 'paused') return;
    assert.equal(s.reason, 'drain-timed-out');
    assert.equal(s.cause?.node, 'cp-1');
    assert.equal(s.cause?.pdb, 'kube-system/coredns');
    assert.match(s.message, /drain of cp-1 timed out: kube-system\/coredns-5d8 blocked by PDB kube-system\/coredns/);
    assert.deepEqual(d.cluster.cordoned(), ['cp-1']);
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.30.4', 'its components did not move');
    assert.deepEqual(d.state.quarantined, []);

    d.send({ type: 'resume-requested' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(d.cluster.cordoned(), []);
    assert.ok(
      [...d.cluster.nodes.values()].filter((n) => n.role === 'control-plane').every((n) => n.version === '1.31.4'),
    );
  });

  it('a restart after the cordon re-issues the drain with its key, and nothing acts twice', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((_, driver) => driver.cluster.acted.includes('cp/1.31.4/cp-1/cordon'));
    const pending = d.restart();
    assert.deepEqual(
      pending.map((e) => [e.type, 'node' in e ? e.node : '']),
      [['drain', 'cp-1']],
    );
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(new Set(d.cluster.acted).size, d.cluster.acted.length, 'every action acted once');
  });

  it('cancel while paused on the drain names the control-plane node left cordoned', () => {
    const d = setup({ intercept: blockDrainOf('cp-1') });
    d.send({ type: 'started' });
    d.run();
    d.send({ type: 'cancel-requested' });
    d.run();
    const s = d.state.status;
    assert.equal(s.phase, 'cancelled');
    const left = s.phase === 'cancelled' ? (s.leftBehind ?? []) : [];
    assert.match(left[0] ?? '', /^node cp-1 \(cordoned\): drain failed: drain of cp-1 timed out/);
    assert.deepEqual(d.cluster.cordoned(), ['cp-1']);
  });

  it('rollback uncordons a control-plane node its drain left cordoned (nodes mode)', () => {
    const d = setup({ path: onePatch, intercept: blockDrainOf('cp-1') });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    d.send({ type: 'rollback-requested' });
    assert.deepEqual(
      d.state.rollback?.batches.map((b) => b.steps.map((s) => [s.key, s.actions.map((a) => a.type).join(',')])),
      [[['rollback/cp/cp-1', 'uncordon']], [['rollback/postcheck', 'postcheck']]],
    );
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.deepEqual(d.cluster.cordoned(), []);
  });
});
