/**
 * Control-plane nodes that run workloads are drained before their components move, as kubeadm's runbook does, with
 * the same PodDisruptionBudget gate as workers: end to end on kube-sim, three control-plane nodes running an operator
 * that tolerates the control-plane taint, under a budget that blocks at first. The run waits in the drain (the node
 * cordoned, its components not moved), pauses naming the budget when the drain times out, and once the budget is
 * relaxed, resume drains and upgrades every control-plane node, which ends uncordoned.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ControlPlaneNodeStep } from '../../src/rollout/plan-types.ts';
import { planSteps } from '../../src/rollout/plan-steps.ts';
import { api } from '../helpers/sim.ts';
import {
  FAST_TIMINGS,
  assertClusterAt,
  assertNoOutage,
  describeRun,
  kupProcess,
  nodeDetails,
  podsOf,
  startRolloutFixture,
  steerRun,
} from '../helpers/rollout.ts';

const FROM = '1.35.5';
const TO = '1.36.1';

describe('control-plane drains on kube-sim', { timeout: 180_000 }, () => {
  it('drains control-plane nodes that run workloads through the PDB gate; a blocking PDB holds the drain, then pauses the run', async () => {
    const fx = await startRolloutFixture(
      'cpdrain',
      `
name: cpdrain
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 3 }
pools:
  - { name: workers, nodes: 2 }
workloads:
  - kind: Deployment
    name: operator
    namespace: ops
    replicas: 3
    nodeSelector: { node-role.kubernetes.io/control-plane: '' }
    tolerations: [{ key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule }]
    pdb: { minAvailable: 3 }
${FAST_TIMINGS}
`,
    );
    try {
      const operators = (await podsOf(fx.sim, 'ops', 'app=operator')).filter((p) => !p.terminating);
      assert.equal(operators.length, 3);
      assert.ok(
        operators.some((p) => p.node === 'control-plane-0'),
        JSON.stringify(operators),
      );

      // kup plan says which control-plane nodes it drains.
      const planned = await kupProcess(fx.dataDir, ['plan', 'cpdrain', '--to', TO]);
      assert.match(
        planned.stdout,
        /^  control plane 1\.35\.5 -> 1\.36\.1: control-plane-0 \(drained\) -> /m,
        planned.stdout,
      );

      const run = await steerRun(
        fx,
        {
          to: TO,
          // The precheck names the budget as a blocker; the operator goes ahead knowingly.
          acknowledgements: [
            { rule: 'pdb-blockers', object: 'ops/operator', reason: 'testing control-plane drains' },
            { rule: 'drain-simulation', object: 'ops/operator', reason: 'testing control-plane drains' },
          ],
        },
        { settings: { drainTimeoutMs: 3_000 }, timeoutMs: 150_000 },
      );
      try {
        const cpSteps = planSteps((await run.state()).plan).filter(
          (s): s is ControlPlaneNodeStep => s.kind === 'control-plane-node',
        );
        assert.deepEqual(
          cpSteps.map((s) => [s.node, s.drain === true]),
          [
            ['control-plane-0', true],
            ['control-plane-1', true],
            ['control-plane-2', true],
          ],
        );

        // The gate holds the drain: control-plane-0 is cordoned, its operator pod still serves there, and its
        // components have not moved.
        const key = `cp/${TO}/control-plane-0`;
        await run.waitFor('the drain of control-plane-0', (s) => s.units[key]?.inFlight?.action === 'drain');
        assert.equal((await nodeDetails(fx.sim, 'control-plane-0')).unschedulable, true);
        const version = await api(fx.sim, 'GET', '/version');
        assert.equal((version.body as { gitVersion: string }).gitVersion, `v${FROM}`);
        const onNode = (await podsOf(fx.sim, 'ops', 'app=operator')).filter((p) => p.node === 'control-plane-0');
        assert.ok(onNode.length > 0 && onNode.every((p) => p.ready && !p.terminating), JSON.stringify(onNode));

        const paused = await run.waitFor('the drain to time out', (s) => s.status.phase === 'paused');
        assert.ok(paused.status.phase === 'paused', describeRun(paused, await run.events()));
        assert.equal(paused.status.reason, 'drain-timed-out');
        assert.equal(paused.status.cause?.node, 'control-plane-0');
        assert.equal(paused.status.cause?.pdb, 'ops/operator');
        assert.match(
          paused.status.message,
          /drain of control-plane-0 timed out: ops\/operator-\S+ blocked by PDB ops\/operator/,
        );

        // The owner relaxes the budget; resume retries the drain and the run finishes.
        const patched = await api(
          fx.sim,
          'PATCH',
          '/apis/policy/v1/namespaces/ops/poddisruptionbudgets/operator',
          { spec: { minAvailable: 2 } },
          { 'Content-Type': 'application/merge-patch+json' },
        );
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        await run.command('resume');
        const final = await run.done;
        const events = await run.events();
        assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
        for (const node of ['control-plane-0', 'control-plane-1', 'control-plane-2']) {
          // Each action's success is logged as `<action> <node>: done`.
          const actions = events
            .filter((e) => e.step === `cp/${TO}/${node}` && e.outcome === 'succeeded')
            .flatMap((e) => /^(\S+) \S+: done/.exec(e.message)?.[1] ?? []);
          assert.deepEqual(actions, ['cordon', 'drain', 'upgrade-cp-node', 'check-api-health', 'uncordon'], node);
        }
        await assertClusterAt(fx.sim, {
          version: TO,
          controlPlane: { version: TO, count: 3 },
          pools: { workers: { version: TO, count: 2 } },
        });
        await assertNoOutage(fx.sim, ['ops/operator']);
      } finally {
        await run.stop().catch(() => undefined);
      }
    } finally {
      await fx.close();
    }
  });
});
