import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testPod, testSnapshot } from '../test-fixtures.ts';
import { systemPodsRule } from './system-pods.ts';

describe('system-pods', () => {
  it('blocks kube-system pods that are not Running and warns on Running but not Ready; ignores other namespaces', () => {
    const pods = [
      testPod('coredns-1', { namespace: 'kube-system', owner: 'ReplicaSet/coredns-7d', node: 'workers-0' }),
      testPod('coredns-2', { namespace: 'kube-system', owner: 'ReplicaSet/coredns-7d', phase: 'Pending' }),
      testPod('calico-node-x', {
        namespace: 'kube-system',
        owner: 'DaemonSet/calico-node',
        node: 'workers-1',
        ready: false,
        waitingReason: 'CrashLoopBackOff',
      }),
      testPod('web-1', { phase: 'Pending' }),
      testPod('kube-apiserver-cp-0', {
        namespace: 'kube-system',
        mirror: true,
        labels: { component: 'kube-apiserver' },
        phase: 'Pending',
      }),
    ];
    const findings = run(systemPodsRule, testSnapshot({ pods }));
    assert.deepEqual(summary(findings), [
      'blocker system-pods Pod/kube-system/coredns-2',
      'warning system-pods Pod/kube-system/calico-node-x',
    ]);
    assert.match(findings[1]?.message ?? '', /CrashLoopBackOff/);
  });
});
