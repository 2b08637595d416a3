import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkloadRecord } from '../snapshot-types.ts';
import { run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { componentCompatibilityRule } from './component-compatibility.ts';

const ds = (name: string, image: string): WorkloadRecord => ({
  kind: 'DaemonSet',
  namespace: 'kube-system',
  name,
  templateLabels: {},
  images: [image],
});
const deploy = (name: string, namespace: string, image: string): WorkloadRecord => ({
  kind: 'Deployment',
  namespace,
  name,
  replicas: 2,
  templateLabels: {},
  images: [image],
});

describe('component-compatibility', () => {
  it('warns on add-ons outside their supported range for a minor on the path, and notes unknown ones', () => {
    const workloads = [
      ds('calico-node', 'docker.io/calico/node:v3.28.0'), // 1.28-1.30: not 1.31
      ds('kube-proxy', 'registry.k8s.io/kube-proxy:v1.30.4'),
      deploy('coredns', 'kube-system', 'registry.k8s.io/coredns/coredns:v1.11.3'),
      deploy('ingress-nginx-controller', 'ingress-nginx', 'registry.k8s.io/ingress-nginx/controller:v1.2.1'), // not in the table
      deploy('web', 'default', 'nginx:1.27'),
    ];
    const findings = run(componentCompatibilityRule, testSnapshot({ workloads, nodes: [testNode('workers-0')] }));
    assert.deepEqual(summary(findings), [
      'warning component-compatibility DaemonSet/kube-system/calico-node',
      'info component-compatibility Deployment/ingress-nginx/ingress-nginx-controller',
    ]);
    assert.match(findings[0]?.message ?? '', /calico v3\.28\.0 .* supports Kubernetes 1\.28-1\.30, not 1\.31/);
  });

  it('checks every minor the control plane enters', () => {
    const findings = run(
      componentCompatibilityRule,
      testSnapshot({
        gitVersion: 'v1.28.15',
        nodes: [testNode('workers-0', { kubelet: 'v1.28.15' })],
        workloads: [ds('cilium', 'quay.io/cilium/cilium:v1.15.6')],
      }),
      {
        target: '1.30.4',
        now: Date.parse('2025-01-15T00:00:00Z'),
      },
    );
    assert.deepEqual(summary(findings), ['warning component-compatibility DaemonSet/kube-system/cilium']);
    assert.match(findings[0]?.message ?? '', /not 1\.30/);
  });
});
