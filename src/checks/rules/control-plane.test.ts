import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodRecord } from '../snapshot-types.ts';
import { run, summary, testNode, testPod, testSnapshot } from '../test-fixtures.ts';
import { controlPlaneRule } from './control-plane.ts';

function staticPod(
  component: string,
  node: string,
  version: string,
  o: { phase?: string; ready?: boolean } = {},
): PodRecord {
  return testPod(`${component}-${node}`, {
    namespace: 'kube-system',
    node,
    owner: `Node/${node}`,
    mirror: true,
    labels: { component, tier: 'control-plane' },
    images: [component === 'etcd' ? 'registry.k8s.io/etcd:3.5.15-0' : `registry.k8s.io/${component}:v${version}`],
    ...o,
  });
}

const cp = (node: string, version = '1.30.4') =>
  ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map((c) => staticPod(c, node, version));

describe('control-plane', () => {
  it('passes three healthy control-plane nodes at one version', () => {
    const nodes = ['cp-0', 'cp-1', 'cp-2'].map((n) => testNode(n, { controlPlane: true }));
    assert.deepEqual(run(controlPlaneRule, testSnapshot({ nodes, pods: nodes.flatMap((n) => cp(n.name)) })), []);
  });

  it('says so when the control plane is not visible (managed)', () => {
    assert.deepEqual(summary(run(controlPlaneRule, testSnapshot())), ['info control-plane']);
  });

  it('blocks on a missing component and on one that is not Running', () => {
    const nodes = ['cp-0', 'cp-1'].map((n) => testNode(n, { controlPlane: true }));
    const pods = [
      ...cp('cp-0').filter((p) => p.labels['component'] !== 'kube-scheduler'),
      ...cp('cp-1').filter((p) => p.labels['component'] !== 'kube-apiserver'),
    ];
    pods.push(staticPod('kube-apiserver', 'cp-1', '1.30.4', { phase: 'Pending', ready: false }));
    const findings = run(controlPlaneRule, testSnapshot({ nodes, pods }));
    assert.deepEqual(summary(findings), [
      'blocker control-plane Node/cp-0',
      'blocker control-plane Pod/kube-system/kube-apiserver-cp-1',
    ]);
    assert.match(findings[0]?.message ?? '', /kube-scheduler is not running on control-plane node cp-0/);
  });

  it('blocks a controller-manager newer than the API server, warns on mixed versions', () => {
    const nodes = ['cp-0', 'cp-1'].map((n) => testNode(n, { controlPlane: true }));
    const pods = [
      ...cp('cp-0'),
      ...cp('cp-1').map((p) =>
        p.labels['component'] === 'kube-controller-manager'
          ? staticPod('kube-controller-manager', 'cp-1', '1.31.4')
          : p,
      ),
    ];
    const findings = run(controlPlaneRule, testSnapshot({ nodes, pods }));
    assert.deepEqual(summary(findings), [
      'blocker control-plane Pod/kube-system/kube-controller-manager-cp-1',
      'warning control-plane Pod/kube-system/kube-controller-manager-cp-0,Pod/kube-system/kube-controller-manager-cp-1',
    ]);
    assert.match(findings[0]?.message ?? '', /kube-controller-manager 1\.31\.4 is newer than kube-apiserver 1\.30\.4/);
  });
});
