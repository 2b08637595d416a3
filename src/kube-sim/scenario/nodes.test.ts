import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROL_PLANE_TAINT, podFitsNode, POOL_LABEL, scenarioNodes } from './nodes.ts';
import { parseScenario } from './parse.ts';
import { scenarioTotals } from './totals.ts';

const SCENARIO = parseScenario(`
kubernetesVersion: "1.30.4"
controlPlane: { nodes: 3 }
pools:
  - name: general
    nodes: 2
    labels: { node-class: general }
  - name: gpu
    nodes: 1
    kubeletVersion: "1.29.9"
    taints: [{ key: nvidia.com/gpu, value: "true", effect: NoSchedule }]
  - name: empty
    nodes: 0
workloads:
  - { kind: DaemonSet, name: everywhere, tolerations: [{ operator: Exists }] }
  - { kind: DaemonSet, name: workers-only }
  - { kind: DaemonSet, name: general-only, nodeSelector: { node-class: general } }
  - { kind: DaemonSet, name: gpu-only, nodeSelector: { kup.dev/pool: gpu }, tolerations: [{ key: nvidia.com/gpu, operator: Exists }] }
  - { kind: Deployment, name: web, replicas: 4 }
  - { kind: StatefulSet, name: db, replicas: 3 }
  - { kind: Pod, name: debug }
`);

describe('scenarioNodes', () => {
  it('names, labels and taints control-plane nodes first, then each pool in order', () => {
    const nodes = scenarioNodes(SCENARIO);
    assert.deepEqual(
      nodes.map((n) => n.name),
      ['control-plane-0', 'control-plane-1', 'control-plane-2', 'general-0', 'general-1', 'gpu-0'],
    );
    const cp = nodes[0]!;
    assert.equal(cp.role, 'control-plane');
    assert.equal(cp.labels['node-role.kubernetes.io/control-plane'], '');
    assert.deepEqual(cp.taints, [CONTROL_PLANE_TAINT]);
    const gpu = nodes[5]!;
    assert.equal(gpu.role, 'worker');
    assert.equal(gpu.kubeletVersion, '1.29.9');
    assert.equal(gpu.labels[POOL_LABEL], 'gpu');
    assert.equal(gpu.labels['kubernetes.io/hostname'], 'gpu-0');
    assert.equal(nodes[3]!.labels['node-class'], 'general');
  });
});

describe('podFitsNode', () => {
  it('ignores PreferNoSchedule taints and requires every label of the selector', () => {
    const node = { labels: { a: '1', b: '2' }, taints: [{ key: 'soft', effect: 'PreferNoSchedule' as const }] };
    assert.equal(podFitsNode({ nodeSelector: { a: '1' }, tolerations: [] }, node), true);
    assert.equal(podFitsNode({ nodeSelector: { a: '1', c: '3' }, tolerations: [] }, node), false);
    assert.equal(
      podFitsNode({ nodeSelector: {}, tolerations: [] }, { labels: {}, taints: [CONTROL_PLANE_TAINT] }),
      false,
    );
  });
});

describe('scenarioTotals', () => {
  it('counts DaemonSet pods per eligible node and the replicas of the rest', () => {
    assert.deepEqual(scenarioTotals(SCENARIO), {
      controlPlaneNodes: 3,
      workerNodes: 3,
      nodes: 6,
      // everywhere 6 + workers-only 2 (gpu is tainted) + general-only 2 + gpu-only 1
      pods: 11 + 4 + 3 + 1,
      podsByKind: { Deployment: 4, StatefulSet: 3, DaemonSet: 11, Pod: 1 },
    });
  });
});
