import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testDeployment, testNode, testPdb, testPod, testSnapshot } from '../test-fixtures.ts';
import { pdbHealthRule } from './pdb-health.ts';
import { pendingPodsRule, pendingWorkloadKeys } from './pending-pods.ts';
import { versionsAtTargetRule } from './versions-at-target.ts';

describe('versions-at-target (postcheck)', () => {
  it('passes a cluster at the target, blocks what lags, by pool', () => {
    const at = testSnapshot({ gitVersion: 'v1.31.4', nodes: [testNode('workers-0', { kubelet: 'v1.31.4' })] });
    assert.deepEqual(run(versionsAtTargetRule, at, { phase: 'postcheck' }), []);
    const lagging = testSnapshot({
      gitVersion: 'v1.30.4',
      nodes: [testNode('workers-0', { kubelet: 'v1.31.4' }), testNode('workers-1'), testNode('workers-2')],
      pods: [
        testPod('kube-apiserver-cp-0', {
          namespace: 'kube-system',
          node: 'cp-0',
          mirror: true,
          labels: { component: 'kube-apiserver' },
          images: ['registry.k8s.io/kube-apiserver:v1.30.4'],
        }),
      ],
    });
    const findings = run(versionsAtTargetRule, lagging, { phase: 'postcheck' });
    assert.deepEqual(summary(findings), [
      'blocker versions-at-target',
      'blocker versions-at-target Pod/kube-system/kube-apiserver-cp-0',
      'blocker versions-at-target Node/workers-1,Node/workers-2',
    ]);
    assert.match(findings[2]?.message ?? '', /2 nodes of pool workers run kubelet v1\.30\.4, not the target 1\.31\.4/);
  });

  it('names a node the run quarantined as a warning, and still blocks the others that lag', () => {
    const snapshot = testSnapshot({
      gitVersion: 'v1.31.4',
      nodes: [testNode('workers-0', { kubelet: 'v1.31.4' }), testNode('workers-1'), testNode('workers-2')],
    });
    const findings = run(versionsAtTargetRule, snapshot, { phase: 'postcheck', quarantined: ['workers-1'] });
    assert.deepEqual(summary(findings), ['warning versions-at-target Node/workers-1', 'blocker versions-at-target Node/workers-2']);
    assert.match(findings[0]?.message ?? '', /^node workers-1 of pool workers was quarantined by the run .* still runs kubelet v1\.30\.4/);
  });

  it("a canary's postcheck does not hold the nodes the run has yet to move, and still blocks one it moved that lags", () => {
    const snapshot = testSnapshot({
      gitVersion: 'v1.31.4',
      nodes: [testNode('workers-0', { kubelet: 'v1.31.4' }), testNode('workers-1'), testNode('workers-2')],
    });
    const findings = run(versionsAtTargetRule, snapshot, { phase: 'postcheck', pending: ['workers-2'] });
    assert.deepEqual(summary(findings), ['blocker versions-at-target Node/workers-1']);
    assert.deepEqual(run(versionsAtTargetRule, snapshot, { phase: 'postcheck', pending: ['workers-1', 'workers-2'] }), []);
  });
});

describe('pending-pods (postcheck)', () => {
  it('blocks workloads newly Pending, warns on those already Pending before', () => {
    const web = testDeployment('web', { nodes: ['workers-0'] });
    const pods = [
      ...web.pods,
      testPod('web-5d4f8-9', { owner: 'ReplicaSet/web-5d4f8', phase: 'Pending' }),
      testPod('batch-x', { owner: 'Job/batch', phase: 'Pending' }),
    ];
    const snapshot = testSnapshot({ workloads: web.workloads, pods });
    assert.deepEqual(pendingWorkloadKeys(snapshot), ['Deployment/default/web', 'Job/default/batch']);
    const findings = run(pendingPodsRule, snapshot, {
      phase: 'postcheck',
      baseline: { pendingWorkloads: ['Job/default/batch'] },
    });
    assert.deepEqual(summary(findings), [
      'blocker pending-pods Deployment/default/web',
      'warning pending-pods Job/default/batch',
    ]);
  });
});

describe('pdb-health (postcheck)', () => {
  it('blocks budgets below their desired healthy count', () => {
    const pdbs = [
      testPdb('ok'),
      testPdb('short', { status: { currentHealthy: 1, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 0 } }),
    ];
    assert.deepEqual(summary(run(pdbHealthRule, testSnapshot({ pdbs }), { phase: 'postcheck' })), [
      'blocker pdb-health PodDisruptionBudget/default/short',
    ]);
  });
});
