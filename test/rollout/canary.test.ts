/**
 * Canary (`--canary`) end to end on kube-sim: a pool move's first node moves alone, and the post-upgrade validation
 * (the postcheck's rules over the whole cluster, the nodes still to move left out of the version rules) runs before
 * any other node of the pool moves. When it passes the pool goes on; when it fails the run pauses with the rest of
 * the pool untouched. Each test reads the cluster back: nodes, versions, cordons, taints, pods and the availability
 * monitor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent as StoredRunEvent } from '../../src/persistence/events-repo.ts';
import type { RunState } from '../../src/rollout/machine/types.ts';
import {
  FAST_TIMINGS,
  assertClusterAt,
  assertNoOutage,
  assertTruthfulLog,
  describeRun,
  kupProcess,
  listNodes,
  podsOf,
  runToEnd,
  setFaults,
  startRolloutFixture,
  steerRun,
} from '../helpers/rollout.ts';
import { api } from '../helpers/sim.ts';

const FROM = '1.35.5';
const TO = '1.36.1';

/** Pool `workers` of four under a web app of four replicas whose PDB allows one disruption. */
const HEALTHY = `
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 4 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 }, nodeSelector: { kup.dev/pool: workers } }
${FAST_TIMINGS}
`;

/**
 * The same, plus a gateway pinned to the control-plane node whose image crash-loops on a 1.36 kubelet: the control
 * plane's move breaks it, and no worker batch's own validation looks at that node's pods. Only the post-upgrade
 * validation sees it.
 */
const BREAKS_ELSEWHERE = `
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 4 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 }, nodeSelector: { kup.dev/pool: workers } }
  - { kind: Deployment, name: gateway, namespace: edge, replicas: 1, image: 'edge/gateway:3.1', nodeSelector: { node-role.kubernetes.io/control-plane: '' }, tolerations: [{ key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule }] }
faults:
  containerFaults:
    - { image: 'edge/gateway:*', failure: crash-loop, minKubeletVersion: '1.36', exitAfterMs: 0 }
${FAST_TIMINGS}
`;

const actionOf = (e: StoredRunEvent): unknown =>
  typeof e.data === 'object' && e.data !== null && 'action' in e.data ? e.data.action : undefined;

function canaryGate(state: RunState): string {
  const pool = state.plan.phases.find((p) => p.kind === 'pool');
  assert.ok(pool?.kind === 'pool' && pool.canary === true, 'the plan has a canary');
  return pool.batches[0]?.key ?? assert.fail('no first batch');
}

describe('canary', { timeout: 300_000 }, () => {
  it('moves one node, validates the cluster with the postcheck, then the rest of the pool in its batches', async () => {
    const fx = await startRolloutFixture('canary', HEALTHY);
    try {
      const planned = await kupProcess(fx.dataDir, [
        'plan',
        'canary',
        '--to',
        TO,
        '--batch-policy',
        'fixed:3',
        '--canary',
      ]);
      assert.equal(planned.code, 0, planned.stdout + planned.stderr);
      assert.match(
        planned.stdout,
        /^ {2}pool workers -> 1\.36\.1 \(replace, fixed:3, canary workers-0 first, then the post-upgrade validation\): \[workers-0\] \[workers-1 workers-2 workers-3\], expected /m,
      );

      const { state, events } = await runToEnd(fx, { to: TO, poolOptions: { batchPolicy: 'fixed:3', canary: true } });
      const batches = assertTruthfulLog(state, events).filter((b) => b.phase === 'pool');
      assert.deepEqual(
        batches.map((b) => b.steps.length),
        [1, 3],
      );
      const gate = canaryGate(state);
      const checked = events.filter((e) => e.step === gate && e.outcome === 'succeeded' && actionOf(e) === 'postcheck');
      assert.equal(
        checked.length,
        1,
        `the canary's post-upgrade validation passed once: ${describeRun(state, events)}`,
      );
      const secondStart = Math.min(...(batches[1]?.steps.map((s) => s.startedSeq) ?? []));
      assert.ok(
        (checked[0]?.seq ?? Infinity) < secondStart,
        'the rest of the pool started after the canary was validated',
      );
      const finalChecks = events.filter(
        (e) => e.step === 'postcheck' && e.outcome === 'succeeded' && actionOf(e) === 'postcheck',
      );
      assert.equal(finalChecks.length, 1, 'the run still ends with its own post-upgrade validation');

      await assertClusterAt(fx.sim, {
        version: TO,
        controlPlane: { version: TO, count: 1 },
        pools: { workers: { version: TO, count: 4 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);
    } finally {
      await fx.close();
    }
  });

  it('pauses at the canary when the post-upgrade validation fails, before any other node of the pool moves', async () => {
    const fx = await startRolloutFixture('canary-breaks', BREAKS_ELSEWHERE);
    const run = await steerRun(
      fx,
      {
        to: TO,
        poolOptions: { batchPolicy: 'fixed:3', canary: true },
        // The gateway cannot leave the control-plane node while it is drained: the operator goes ahead knowingly.
        acknowledgements: [
          { rule: 'drain-simulation', object: 'edge/gateway', reason: 'a singleton pinned to the control plane' },
        ],
      },
      // The postcheck lets a blocker settle for this long before it fails (the batch validation has as long: it
      // takes about a second here, more on a loaded machine).
      { settings: { validateTimeoutMs: 20_000 }, timeoutMs: 240_000 },
    );
    try {
      const paused = await run.waitFor(
        'the run paused',
        (s) => ['paused', 'failed', 'succeeded', 'cancelled'].includes(s.status.phase),
        150_000,
      );
      assert.equal(paused.status.phase, 'paused', describeRun(paused, await run.events()));
      const message = paused.status.phase === 'paused' ? paused.status.message : '';
      assert.match(
        message,
        /post-upgrade validation failed: .*failing-pods: .*edge\/gateway/,
        describeRun(paused, await run.events()),
      );
      const gate = canaryGate(paused);
      assert.equal(paused.units[gate]?.inFlight, null, 'nothing of the canary gate is in flight');
      const failed = (await run.events()).filter(
        (e) => e.step === gate && e.outcome === 'failed' && actionOf(e) === 'postcheck',
      );
      assert.equal(failed.length, 1, 'the canary gate failed on its postcheck');

      // Only the canary moved: the other three nodes run the old version, none cordoned (they keep the taint that
      // marks them as to be replaced, until the run goes on, is cancelled or rolled back).
      const workers = (await listNodes(fx.sim)).filter((n) => n.pool === 'workers');
      assert.equal(workers.length, 4);
      assert.deepEqual(workers.map((n) => n.kubeletVersion).sort(), [`v${FROM}`, `v${FROM}`, `v${FROM}`, `v${TO}`]);
      assert.ok(
        workers.every((n) => !n.unschedulable),
        'no worker left cordoned',
      );
      const second = paused.plan.phases.find((p) => p.kind === 'pool')?.batches[1];
      assert.ok(second, 'the pool has a second batch');
      assert.ok(
        second.steps.every((s) => paused.units[s.key] === undefined),
        'no step of the second batch started',
      );
      await assertNoOutage(fx.sim, ['shop/web']);

      // The operator mends the gateway (its fault gone, its pod restarted) and resumes: the canary's validation
      // passes this time and the rest of the pool moves.
      await setFaults(fx.sim, { containerFaults: [] });
      for (const pod of await podsOf(fx.sim, 'edge', 'app=gateway')) {
        const res = await api(fx.sim, 'DELETE', `/api/v1/namespaces/edge/pods/${pod.name}`);
        assert.equal(res.status, 200, `DELETE pod ${pod.name}`);
      }
      await run.command('resume');
      const final = await run.done;
      assert.equal(final.status.phase, 'succeeded', describeRun(final, await run.events()));
      const passed = (await run.events()).filter(
        (e) => e.step === gate && e.outcome === 'succeeded' && actionOf(e) === 'postcheck',
      );
      assert.equal(passed.length, 1, "the canary's validation passed after the resume");
      await assertClusterAt(fx.sim, {
        version: TO,
        controlPlane: { version: TO, count: 1 },
        pools: { workers: { version: TO, count: 4 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);
    } finally {
      await run.stop().catch(() => undefined);
      await fx.close();
    }
  });
});
