/**
 * Upgrades end to end on kube-sim: the rollout engine moves real (simulated) clusters and each test reads the cluster
 * back afterwards through the Kubernetes API and kube-sim's infrastructure API: `/version`, every node's kubelet
 * version and machine image, nothing cordoned, no Pending pod, every Deployment at its replicas and Ready, and the
 * availability monitor's record of zero intervals below a PDB's desiredHealthy and zero at zero replicas for the
 * workloads with two or more replicas and a PDB. Each test also reads the run's event log against its plan.
 *
 * The issue names 1.30 -> 1.31 and 1.29 -> 1.31; the shipped catalog classifies versions by today's date (November
 * 2026), when 1.35 and 1.36 are the supported minors, so the tests use 1.35 -> 1.36 and 1.34 (expired: the planner
 * still leaves an expired *source* minor without --allow-expired) -> 1.35 -> 1.36.
 *
 * One run goes through the real command line (`node bin/kup.mjs cluster add` / `upgrade --yes --wait` with
 * KUP_DATA_DIR); the others through the engine in this process (createRun + executeRun with a unique owner).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRun } from '../../src/engine/apply-event.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { RunState } from '../../src/rollout/machine/types.ts';
import type { PlanPhase } from '../../src/rollout/plan-types.ts';
import type { LoggedBatch } from '../helpers/rollout.ts';
import { runRequest } from '../../src/engine/runs.ts';
import { UpgradePathError } from '../../src/versions/index.ts';
import {
  FAST_TIMINGS,
  assertClusterAt,
  assertNoOutage,
  availabilityIntervals,
  assertTruthfulLog,
  describeRun,
  kupProcess,
  listNodes,
  machineImages,
  podsOf,
  runToEnd,
  setFaults,
  startRolloutFixture,
} from '../helpers/rollout.ts';
import { api, requestCount } from '../helpers/sim.ts';

/**
 * The machine image kube-sim gives a node of a version when no image is named (as the provider's default). Worker
 * replacements boot the new version's image; control-plane nodes are upgraded in place, component by component, and
 * keep the image they booted from.
 */
const image = (version: string) => `ubuntu-2204-kube-v${version}`;

/** Sizes of the batches of a plan's phases of one kind, per phase. */
function batchSizes(phases: readonly PlanPhase[], kind: PlanPhase['kind']): number[][] {
  return phases.filter((p) => p.kind === kind).map((p) => p.batches.map((b) => b.steps.length));
}

/** The control-plane batches of the log, per hop (by the step key's `cp/<version>/` prefix), in log order. */
function controlPlaneHops(batches: readonly LoggedBatch[]): Map<string, LoggedBatch[]> {
  const hops = new Map<string, LoggedBatch[]>();
  for (const b of batches.filter((x) => x.phase === 'control-plane')) {
    const hop = b.key.split('/')[1] ?? '';
    hops.set(hop, [...(hops.get(hop) ?? []), b]);
  }
  return hops;
}

/** Asserts the control-plane nodes of each hop moved one at a time, in order: each done before the next started. */
function assertOneAtATime(batches: readonly LoggedBatch[], nodes: readonly string[]): void {
  const hops = controlPlaneHops(batches);
  assert.ok(hops.size > 0, 'the run upgraded the control plane');
  for (const [hop, list] of hops) {
    assert.deepEqual(
      list.map((b) => b.steps.map((s) => s.node)),
      nodes.map((n) => [n]),
      `hop ${hop}: one control-plane node per batch, in order`,
    );
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]?.steps[0];
      const next = list[i]?.steps[0];
      assert.ok(
        before && next && next.startedSeq > before.doneSeq,
        `hop ${hop}: ${next?.node} started after ${before?.node} was done`,
      );
    }
  }
}

async function statefulSetsReady(sim: SimCluster): Promise<void> {
  const res = await api(sim, 'GET', '/apis/apps/v1/statefulsets');
  assert.equal(res.status, 200);
  const items = (
    res.body as {
      items: {
        metadata: { namespace: string; name: string };
        spec: { replicas?: number };
        status?: { readyReplicas?: number };
      }[];
    }
  ).items;
  assert.ok(items.length > 0, 'the scenario has StatefulSets');
  for (const s of items)
    assert.equal(
      s.status?.readyReplicas ?? 0,
      s.spec.replicas ?? 1,
      `statefulset ${s.metadata.namespace}/${s.metadata.name}: ready replicas`,
    );
}

describe('upgrades end to end on kube-sim', { timeout: 600_000 }, () => {
  it('kup upgrade --yes --wait: 1 control-plane node + 3 workers, 1.35.2 -> 1.36.1, through the real command line', async () => {
    const fx = await startRolloutFixture(
      'small',
      `
name: small
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 3 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: api, namespace: shop, replicas: 2, pdb: { minAvailable: 1 } }
${FAST_TIMINGS}
`,
      { register: false },
    );
    try {
      const added = await kupProcess(fx.dataDir, [
        'cluster',
        'add',
        'small',
        '--kubeconfig',
        fx.kubeconfigPath,
        '--provider',
        'sim',
      ]);
      assert.equal(added.code, 0, added.stderr);
      const before = (await listNodes(fx.sim)).filter((n) => n.pool === 'workers').map((n) => n.name);

      const upgraded = await kupProcess(fx.dataDir, ['upgrade', 'small', '--to', '1.36.1', '--yes', '--wait']);
      assert.equal(upgraded.code, 0, `kup upgrade exited ${upgraded.code}\n${upgraded.stdout}\n${upgraded.stderr}`);
      const runId = /^run (run-\S+) created: small 1\.35\.2 -> 1\.36\.1/m.exec(upgraded.stdout)?.[1];
      assert.ok(runId, upgraded.stdout);
      assert.match(upgraded.stdout.trimEnd().split('\n').at(-1) ?? '', new RegExp(`${runId} succeeded`));

      const { state } = await loadRun(fx.store, runId);
      const events = await fx.store.events.list(runId);
      // The default policy, exponential, on a pool of three: one node at a time (10 % of 3, at least one).
      assert.deepEqual(batchSizes(state.plan.phases, 'pool'), [[1, 1, 1]]);
      const logged = assertTruthfulLog(state, events);
      assertOneAtATime(logged, ['control-plane-0']);
      // Rolling replacement: each worker was replaced by a new machine, and the old one is gone.
      const workers = logged.filter((b) => b.phase === 'pool').flatMap((b) => b.steps);
      assert.deepEqual(workers.map((s) => s.node).sort(), [...before].sort());

      await assertClusterAt(fx.sim, {
        version: '1.36.1',
        controlPlane: { version: '1.36.1', image: image('1.35.2'), count: 1 },
        pools: { workers: { version: '1.36.1', image: image('1.36.1'), count: 3 } },
      });
      const after = (await listNodes(fx.sim)).filter((n) => n.pool === 'workers').map((n) => n.name);
      assert.deepEqual(
        after.filter((n) => before.includes(n)),
        [],
        'every worker was replaced',
      );
      await assertNoOutage(fx.sim, ['shop/web', 'shop/api']);

      const status = await kupProcess(fx.dataDir, ['status', 'small']);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /upgrade finished: small 1\.35\.2 -> 1\.36\.1/);
    } finally {
      await fx.close();
    }
  });

  it('3 control-plane nodes + 2 pools x 10 nodes through two minors, 1.34.6 -> 1.35.x -> 1.36.1, fixed:4 batches', async () => {
    const fx = await startRolloutFixture(
      'ha',
      `
name: ha
kubernetesVersion: '1.34.6'
controlPlane: { nodes: 3 }
pools:
  - { name: app, nodes: 10, labels: { node-class: general } }
  - { name: batch, nodes: 10, labels: { node-class: batch } }
workloads:
  - { kind: Deployment, name: frontend, namespace: shop, replicas: 6, nodeSelector: { node-class: general }, pdb: { minAvailable: '50%' } }
  - { kind: Deployment, name: checkout, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: reports, namespace: batch, replicas: 4, nodeSelector: { node-class: batch }, pdb: { maxUnavailable: 1 } }
  - { kind: StatefulSet, name: postgres, namespace: data, replicas: 3, pdb: { maxUnavailable: 1 } }
${FAST_TIMINGS}
`,
    );
    try {
      // By default pools move once, at the end (the skew policy allows it): kup plan says what each choice costs.
      const planned = await kupProcess(fx.dataDir, ['plan', 'ha', '--to', '1.36.1', '--batch-policy', 'fixed:4']);
      assert.equal(planned.code, 0, `${planned.stdout}\n${planned.stderr}`);
      assert.match(planned.stdout, /^  pool app -> 1\.36\.1 \(replace, fixed:4\)/m);
      assert.equal(planned.stdout.match(/^  pool /gm)?.length, 2, planned.stdout);
      assert.match(
        planned.stdout,
        /^  worker moves \(--worker-strategy\): minimal 20 node replacements \(this plan\); follow 40 node replacements$/m,
      );

      // Following every hop, as asked: each pool moves twice, and its second move acts on the nodes of its first.
      const { state, events } = await runToEnd(
        fx,
        { to: '1.36.1', poolOptions: { batchPolicy: 'fixed:4' }, workerStrategy: 'follow' },
        { timeoutMs: 240_000 },
      );
      assert.deepEqual(
        state.plan.workerStrategies?.map((c) => [c.workerStrategy, c.replacements, c.chosen]),
        [
          ['follow', 40, true],
          ['minimal', 20, false],
        ],
      );
      const plan = state.plan;
      const hops = plan.phases.filter((p) => p.kind === 'control-plane');
      assert.equal(hops.length, 2, 'two control-plane hops');
      assert.match(
        hops[0]?.kind === 'control-plane' ? `${hops[0].from} -> ${hops[0].to}` : '',
        /^1\.34\.6 -> 1\.35\.\d+$/,
      );
      assert.equal(hops[1]?.kind === 'control-plane' ? `${hops[1].to}` : '', '1.36.1');
      // fixed:4 over ten nodes: 4, 4, 2, for each pool at each of the two minors.
      assert.deepEqual(batchSizes(plan.phases, 'pool'), [
        [4, 4, 2],
        [4, 4, 2],
        [4, 4, 2],
        [4, 4, 2],
      ]);
      assert.deepEqual(batchSizes(plan.phases, 'control-plane'), [
        [1, 1, 1],
        [1, 1, 1],
      ]);

      const logged = assertTruthfulLog(state, events);
      assertOneAtATime(logged, ['control-plane-0', 'control-plane-1', 'control-plane-2']);
      // Batches as logged are the policy's, and each pool's second move acts on the nodes its first move created.
      const poolBatches = logged.filter((b) => b.phase === 'pool');
      assert.deepEqual(
        poolBatches.map((b) => `${b.pool}:${b.steps.length}`),
        [
          'app:4',
          'app:4',
          'app:2',
          'batch:4',
          'batch:4',
          'batch:2',
          'app:4',
          'app:4',
          'app:2',
          'batch:4',
          'batch:4',
          'batch:2',
        ],
      );
      const firstMove = new Set(poolBatches.slice(0, 6).flatMap((b) => b.steps.map((s) => s.node)));
      const secondMove = poolBatches.slice(6).flatMap((b) => b.steps.map((s) => s.node));
      assert.equal(secondMove.length, 20);
      assert.deepEqual(
        secondMove.filter((n) => firstMove.has(n)),
        [],
        'the second move replaced the nodes the first one created',
      );

      await assertClusterAt(fx.sim, {
        version: '1.36.1',
        controlPlane: { version: '1.36.1', image: image('1.34.6'), count: 3 },
        pools: {
          app: { version: '1.36.1', image: image('1.36.1'), count: 10 },
          batch: { version: '1.36.1', image: image('1.36.1'), count: 10 },
        },
      });
      await statefulSetsReady(fx.sim);
      await assertNoOutage(fx.sim, ['shop/frontend', 'shop/checkout', 'batch/reports', 'data/postgres']);
    } finally {
      await fx.close();
    }
  });

  it('an upgrade to an expired minor the operator allowed (--allow-expired), or on the way toward support, passes the run\'s own precheck', async () => {
    // November 2026: 1.34 reached its end of life in October. kup plan checks with the request's allowExpired, and so
    // must the precheck the run performs before its snapshot, or the run fails what its plan allowed.
    const fx = await startRolloutFixture(
      'expired',
      `
name: expired
kubernetesVersion: '1.33.12'
controlPlane: { nodes: 1 }
pools:
  - { name: app, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { maxUnavailable: 1 } }
${FAST_TIMINGS}
`,
    );
    try {
      const { state, events } = await runToEnd(fx, { to: '1.34.8', allowExpired: true });
      assert.equal(state.status.phase, 'succeeded', describeRun(state, events));
      assert.ok(events.some((e) => e.step === 'precheck' && e.message === 'precheck passed'), 'the run performed its precheck');
      await assertClusterAt(fx.sim, {
        version: '1.34.8',
        controlPlane: { version: '1.34.8', image: image('1.33.12'), count: 1 },
        pools: { app: { version: '1.34.8', image: image('1.34.8'), count: 2 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);
      // From the expired 1.34.8 the latest patch of 1.34 is on the way toward support: no --allow-expired, and the
      // run's own precheck agrees with its plan. An older expired patch is still refused without it.
      await assert.rejects(
        () => runToEnd(fx, { to: '1.34.9' }),
        (err: unknown) => err instanceof UpgradePathError && err.code === 'KUP-PATH-005',
      );
      const toward = await runToEnd(fx, { to: '1.34.12' });
      assert.equal(toward.state.status.phase, 'succeeded', describeRun(toward.state, toward.events));
      assert.ok(
        toward.events.some((e) => e.step === 'precheck' && e.message === 'precheck passed'),
        'the run performed its precheck',
      );
      await assertClusterAt(fx.sim, {
        version: '1.34.12',
        controlPlane: { version: '1.34.12', image: image('1.33.12'), count: 1 },
        pools: { app: { version: '1.34.12', image: image('1.34.12'), count: 2 } },
      });
    } finally {
      await fx.close();
    }
  });

  it("an image-only upgrade of one pool (Gardener's machine-image upgrade) moves only that pool's nodes", async () => {
    const fx = await startRolloutFixture(
      'image',
      `
name: image
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: app, nodes: 4 }
  - { name: batch, nodes: 3 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: jobs, namespace: batch, replicas: 2, pdb: { minAvailable: 1 } }
${FAST_TIMINGS}
`,
    );
    const newImage = 'ubuntu-2404-kube-v1.35.2';
    try {
      const before = await machineImages(fx.sim);
      const cpBefore = await api(fx.sim, 'GET', '/sim/v1/topology');
      const { state, events } = await runToEnd(fx, { image: newImage, pools: ['app'] });
      assert.equal(state.plan.kind, 'image');
      assert.deepEqual(
        state.plan.phases.map((p) =>
          p.kind === 'pool' ? `pool ${p.pool} -> ${p.to.version} ${p.to.image ?? ''}` : p.kind,
        ),
        ['snapshot', `pool app -> 1.35.2 ${newImage}`, 'validation'],
      );
      const logged = assertTruthfulLog(state, events);
      assert.deepEqual(
        logged.filter((b) => b.phase === 'control-plane'),
        [],
        'no control-plane step',
      );
      assert.deepEqual(
        logged.flatMap((b) => b.steps.map((s) => s.node)).sort(),
        Object.keys(before['app'] ?? {}).sort(),
        'a step for each node of pool app, and for no other node',
      );

      const after = await machineImages(fx.sim);
      assert.deepEqual(after['control-plane'], before['control-plane'], 'the control plane is untouched');
      assert.deepEqual(after['batch'], before['batch'], 'pool batch is untouched: same machines, same image');
      const app = after['app'] ?? {};
      assert.equal(Object.keys(app).length, 4);
      assert.deepEqual(
        Object.keys(app).filter((n) => n in (before['app'] ?? {})),
        [],
        'every app node was replaced',
      );
      assert.deepEqual(new Set(Object.values(app)), new Set([newImage]));
      // The control-plane components did not move either.
      const cpAfter = await api(fx.sim, 'GET', '/sim/v1/topology');
      assert.deepEqual(
        (cpAfter.body as { controlPlane: unknown }).controlPlane,
        (cpBefore.body as { controlPlane: unknown }).controlPlane,
      );

      await assertClusterAt(fx.sim, {
        version: '1.35.2',
        controlPlane: { version: '1.35.2', image: image('1.35.2'), count: 1 },
        pools: {
          app: { version: '1.35.2', image: newImage, count: 4 },
          batch: { version: '1.35.2', image: image('1.35.2'), count: 3 },
        },
      });
      await assertNoOutage(fx.sim, ['shop/web', 'batch/jobs']);
    } finally {
      await fx.close();
    }
  });

  it('with 5 % of API requests failing, the run still succeeds and the cluster is right', async () => {
    const fx = await startRolloutFixture(
      'flaky',
      `
name: flaky
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: app, nodes: 4 }
  - { name: batch, nodes: 3 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: jobs, namespace: batch, replicas: 3, pdb: { minAvailable: 2 } }
${FAST_TIMINGS}
`,
    );
    try {
      await setFaults(fx.sim, { apiErrorRate: 0.05 });
      const errorsBefore = await requestCount(fx.sim, { code: '500' });
      let finished: { state: RunState; events: readonly unknown[] } | undefined;
      try {
        finished = await runToEnd(fx, { to: '1.36.1' }, { timeoutMs: 180_000 });
      } finally {
        // The final reads are the cluster's truth, not the fault's.
        await setFaults(fx.sim, { apiErrorRate: 0 });
      }
      const injected = (await requestCount(fx.sim, { code: '500' })) - errorsBefore;
      assert.ok(injected > 0, 'kube-sim answered some of the run requests with a 500');
      const { state } = finished;
      const events = await fx.store.events.list(state.runId);
      assert.equal(state.status.phase, 'succeeded', describeRun(state, events));
      const logged = assertTruthfulLog(state, events, { retries: true });
      assertOneAtATime(logged, ['control-plane-0']);

      await assertClusterAt(fx.sim, {
        version: '1.36.1',
        controlPlane: { version: '1.36.1', image: image('1.35.2'), count: 1 },
        pools: {
          app: { version: '1.36.1', image: image('1.36.1'), count: 4 },
          batch: { version: '1.36.1', image: image('1.36.1'), count: 3 },
        },
      });
      await assertNoOutage(fx.sim, ['shop/web', 'batch/jobs']);
    } finally {
      await fx.close();
    }
  });

  it('a 2-replica resolver with no PDB, its pods on the nodes of one fixed:2 batch, never has zero Ready (and does with --implicit-budget off)', async () => {
    // Issue 22: CoreDNS (2 replicas, no PDB) had no Ready pod for 418 ms when both its nodes drained in one batch.
    // `resolver` can run only on the pool's nodes (the control plane is tainted), so both its pods sit on the one batch.
    const yaml = `
name: dns-batch
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: edge, nodes: 2 }
workloads:
  - { kind: Deployment, name: resolver, namespace: infra, replicas: 2 }
${FAST_TIMINGS}
`;
    const request = { to: '1.36.1', poolOptions: { batchPolicy: 'fixed:2' } } as const;
    const fx = await startRolloutFixture('dns-batch', yaml);
    try {
      const placed = await podsOf(fx.sim, 'infra', 'app=resolver');
      assert.deepEqual(
        placed.map((p) => p.ready && p.node?.startsWith('edge-')),
        [true, true],
        `both resolver pods Ready on the edge pool: ${JSON.stringify(placed)}`,
      );
      const { state, events } = await runToEnd(fx, request);
      const logged = assertTruthfulLog(state, events);
      assert.deepEqual(
        logged.filter((b) => b.phase === 'pool').map((b) => b.steps.length),
        [2],
        'both edge nodes drain in one batch',
      );
      await assertClusterAt(fx.sim, {
        version: '1.36.1',
        controlPlane: { version: '1.36.1', image: image('1.35.2'), count: 1 },
        pools: { edge: { version: '1.36.1', image: image('1.36.1'), count: 2 } },
      });
      await assertNoOutage(fx.sim, ['infra/resolver', 'kube-system/coredns']);
    } finally {
      await fx.close();
    }

    // The same upgrade without the implicit budget: both pods go at once, and the monitor sees it (the check can fail).
    const off = await startRolloutFixture('dns-batch-off', yaml);
    try {
      const { state, events } = await runToEnd(off, { ...request, implicitBudget: false });
      assert.equal(state.status.phase, 'succeeded', describeRun(state, events));
      assert.deepEqual(await runRequest(off.store, state.runId), { ...request, implicitBudget: false }, 'the run records the option');
      const zero = (await availabilityIntervals(off.sim)).filter((i) => i.namespace === 'infra' && i.name === 'resolver' && i.type === 'zero');
      assert.ok(zero.length > 0, 'without the implicit budget, the resolver had no Ready pod for a while');
    } finally {
      await off.close();
    }
  });
});
