import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEALTHY_READYZ, run, summary, testPod, testSnapshot } from '../test-fixtures.ts';
import { etcdRule } from './etcd.ts';

const member = (node: string, o: { ready?: boolean; phase?: string } = {}) =>
  testPod(`etcd-${node}`, {
    namespace: 'kube-system',
    node,
    owner: `Node/${node}`,
    mirror: true,
    labels: { component: 'etcd', tier: 'control-plane' },
    images: ['registry.k8s.io/etcd:3.5.15-0'],
    ...o,
  });

describe('etcd', () => {
  it('passes three healthy members', () => {
    assert.deepEqual(run(etcdRule, testSnapshot({ pods: ['cp-0', 'cp-1', 'cp-2'].map((n) => member(n)) })), []);
  });

  it('blocks when readyz says etcd fails', () => {
    const body = HEALTHY_READYZ.replace('[+]etcd ok', '[-]etcd failed: reason withheld');
    const findings = run(etcdRule, testSnapshot({ readyz: { ok: true, status: 500, body } }));
    assert.deepEqual(summary(findings), ['blocker etcd']);
  });

  it('blocks an unhealthy member and warns on an even member count', () => {
    const findings = run(etcdRule, testSnapshot({ pods: [member('cp-0'), member('cp-1', { ready: false })] }));
    assert.deepEqual(summary(findings), [
      'blocker etcd Pod/kube-system/etcd-cp-1',
      'warning etcd Pod/kube-system/etcd-cp-0,Pod/kube-system/etcd-cp-1',
    ]);
  });

  it('notes a single member', () => {
    assert.deepEqual(summary(run(etcdRule, testSnapshot({ pods: [member('cp-0')] }))), [
      'info etcd Pod/kube-system/etcd-cp-0',
    ]);
  });
});
