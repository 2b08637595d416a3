import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodRecord } from '../snapshot-types.ts';
import { run, summary, testPod, testSnapshot } from '../test-fixtures.ts';
import { failingPodsRule, failingWorkloadKeys } from './failing-pods.ts';

function crashing(name: string, owner: string, reason = 'CrashLoopBackOff'): PodRecord {
  return {
    ...testPod(name, { owner, node: 'workers-0', ready: false }),
    failures: [{ container: 'app', reason, restarts: 4 }],
  };
}

describe('failing-pods', () => {
  const pods = [
    crashing('cart-1', 'StatefulSet/cart'),
    crashing('web-1', 'DaemonSet/web', 'ImagePullBackOff'),
    testPod('api-1', { owner: 'StatefulSet/api', node: 'workers-1' }),
    { ...crashing('dns-1', 'DaemonSet/dns'), namespace: 'kube-system' },
  ];

  it('warns before the upgrade, naming the pod, container and reason, and a remedy', () => {
    const findings = run(failingPodsRule, testSnapshot({ pods }), { phase: 'precheck' });
    assert.deepEqual(summary(findings), [
      'warning failing-pods StatefulSet/default/cart,Pod/default/cart-1',
      'warning failing-pods DaemonSet/default/web,Pod/default/web-1',
    ]);
    assert.equal(
      findings[0]?.message,
      'StatefulSet default/cart is failing: container app of pod default/cart-1: CrashLoopBackOff (4 restarts)',
    );
    assert.match(findings[1]?.message ?? '', /container app of pod default\/web-1: ImagePullBackOff$/);
    assert.match(findings[0]?.remediation ?? '', /kubectl -n default describe pod cart-1/);
  });

  it('after the upgrade, blocks workloads that were not failing before and warns on those that were', () => {
    const baseline = { pendingWorkloads: [], failingWorkloads: ['StatefulSet/default/cart'] };
    const findings = run(failingPodsRule, testSnapshot({ pods }), { phase: 'postcheck', baseline });
    assert.deepEqual(summary(findings), [
      'warning failing-pods StatefulSet/default/cart,Pod/default/cart-1',
      'blocker failing-pods DaemonSet/default/web,Pod/default/web-1',
    ]);
    assert.match(findings[0]?.message ?? '', /it was failing before the upgrade$/);
  });

  it('records the failing workloads for the baseline, kube-system included', () => {
    assert.deepEqual(failingWorkloadKeys(testSnapshot({ pods })), [
      'DaemonSet/default/web',
      'DaemonSet/kube-system/dns',
      'StatefulSet/default/cart',
    ]);
  });
});
