/**
 * An upgrade that breaks a workload: kube-sim's container faults make shop/cart crash-loop on nodes whose kubelet
 * runs 1.36, and legacy/app crash-loop everywhere since before the upgrade. The precheck warns about legacy/app, the
 * run goes on, and the first worker batch pauses it naming cart's pod on the new node, container and reason, never
 * legacy/app.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRun } from '../../src/engine/apply-event.ts';
import { FAST_TIMINGS, kupProcess, startRolloutFixture } from '../helpers/rollout.ts';
import { api } from '../helpers/sim.ts';

const SCENARIO = `
name: breaking
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
workloads:
  - { kind: DaemonSet, name: cart, namespace: shop, image: 'shop/cart:2.4' }
  - { kind: Deployment, name: app, namespace: legacy, replicas: 1, image: 'legacy/app:0.9' }
faults:
  containerFaults:
    - { image: 'shop/cart:*', failure: crash-loop, minKubeletVersion: '1.36', exitAfterMs: 0 }
    - { image: 'legacy/app:*', failure: crash-loop, exitAfterMs: 0 }
${FAST_TIMINGS}
`;

describe('an upgrade that breaks a workload', { timeout: 180_000 }, () => {
  it('pauses at the first worker batch naming the pod, container and reason; a workload failing before is not blamed', async () => {
    const fx = await startRolloutFixture('breaking', SCENARIO);
    try {
      const upgraded = await kupProcess(fx.dataDir, ['upgrade', 'breaking', '--to', '1.36.1', '--yes', '--wait']);
      const out = `${upgraded.stdout}\n${upgraded.stderr}`;
      assert.equal(upgraded.code, 3, out);
      const runId = /^run (run-\S+) created/m.exec(upgraded.stdout)?.[1] ?? '';
      const { state } = await loadRun(fx.store, runId);
      assert.equal(state.status.phase, 'paused', out);
      assert.deepEqual(state.failingBefore, ['Deployment/legacy/app'], 'recorded when the prechecks passed');
      const reason = state.status.phase === 'paused' ? state.status.message : '';
      assert.equal(state.status.phase === 'paused' ? state.status.cause?.code : undefined, 'KUP-ENGINE-008');
      assert.match(
        reason,
        /KUP-ENGINE-008: pods on the upgraded nodes are failing: container cart of pod shop\/cart-\S+: CrashLoopBackOff \(\d+ restarts?\) on workers-\S+; their workloads were not failing before the upgrade/,
      );
      assert.doesNotMatch(reason, /legacy/);
      assert.match(
        upgraded.stdout,
        /^run run-\S+ paused \(step-failed\): validate-batch failed: KUP-ENGINE-008: .*container cart of pod shop\/cart-/m,
      );
      // The failing pod runs on a node of the new version: the control plane went first and is done.
      const node = /on (workers-\S+?);/.exec(reason)?.[1] ?? '';
      const res = await api(fx.sim, 'GET', `/api/v1/nodes/${node}`);
      assert.equal(res.status, 200, `node ${node}`);
      assert.equal(
        (res.body as { status: { nodeInfo: { kubeletVersion: string } } }).status.nodeInfo.kubeletVersion,
        'v1.36.1',
      );
    } finally {
      await fx.close();
    }
  });
});
