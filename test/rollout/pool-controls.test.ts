/**
 * The controls of a pool's rollout, end to end on kube-sim: `--max-unavailable` beside `--max-surge` (nodes drained
 * before their replacement exists), and `--max-blocked-nodes` bounding the quarantine drain-timeout policy. Each test
 * reads the cluster back afterwards: nodes, versions, images, cordons, labels, pods and the availability monitor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RolloutPlan } from '../../src/rollout/plan-types.ts';
import {
  FAST_TIMINGS,
  assertClusterAt,
  assertNoOutage,
  describeRun,
  kupProcess,
  listNodes,
  nodeDetails,
  nothingInFlight,
  poolMachines,
  startRolloutFixture,
  steerRun,
} from '../helpers/rollout.ts';

const FROM = '1.35.5';
const TO = '1.36.1';
const OLD_IMAGE = `ubuntu-2204-kube-v${FROM}`;
const NEW_IMAGE = `ubuntu-2404-kube-v${FROM}`;

/** A pool of four with a web app of four replicas under a PDB that allows one disruption. */
const FOUR = `
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 4 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 }, nodeSelector: { kup.dev/pool: workers } }
${FAST_TIMINGS}
`;

/**
 * Pool `guarded` of two nodes, each running a ledger of two replicas pinned to it under a PDB that never allows a
 * disruption: both nodes' drains time out.
 */
const TWO_BLOCKED = `
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
  - { name: guarded, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { maxUnavailable: 1 }, nodeSelector: { kup.dev/pool: workers } }
  - { kind: Deployment, name: ledger-a, namespace: bank, replicas: 2, pdb: { minAvailable: 2 }, nodeSelector: { kubernetes.io/hostname: guarded-0 } }
  - { kind: Deployment, name: ledger-b, namespace: bank, replicas: 2, pdb: { minAvailable: 2 }, nodeSelector: { kubernetes.io/hostname: guarded-1 } }
${FAST_TIMINGS}
`;

describe('pool rollout controls', { timeout: 300_000 }, () => {
  it('--max-unavailable beside --max-surge: the plan cuts batches to their sum and drains the unsurged nodes first', async () => {
    const fx = await startRolloutFixture('unavailable', FOUR);
    try {
      const planned = await kupProcess(fx.dataDir, [
        'plan',
        'unavailable',
        '--to',
        TO,
        '--max-surge',
        '1',
        '--max-unavailable',
        '25%',
        '--batch-policy',
        'fixed:4',
      ]);
      assert.equal(planned.code, 0, planned.stdout + planned.stderr);
      assert.match(
        planned.stdout,
        /^ {2}pool workers -> 1\.36\.1 \(replace, fixed:4, max surge 1, max unavailable 1\): \[workers-0 workers-1\] \[workers-2 workers-3\], expected /m,
      );
      const json = await kupProcess(fx.dataDir, [
        'plan',
        'unavailable',
        '--to',
        TO,
        '--max-surge',
        '0',
        '--max-unavailable',
        '50%',
        '-o',
        'json',
      ]);
      assert.equal(json.code, 0, json.stderr);
      const plan = (JSON.parse(json.stdout) as { plan: RolloutPlan }).plan;
      const pool = plan.phases.find((p) => p.kind === 'pool');
      assert.ok(pool?.kind === 'pool');
      assert.equal(pool.maxSurge, 0);
      assert.equal(pool.maxUnavailable, 2);
      assert.ok(
        pool.batches.every((b) => b.steps.length <= 2),
        'no batch takes more than max unavailable nodes',
      );
      assert.ok(
        pool.batches.flatMap((b) => b.steps).every((s) => s.kind === 'worker-node' && !s.surge),
        'no surge node',
      );

      const bad = await kupProcess(fx.dataDir, [
        'plan',
        'unavailable',
        '--to',
        TO,
        '--max-surge',
        '0',
        '--max-unavailable',
        '0',
      ]);
      assert.equal(bad.code, 2, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /KUP-PLAN-001: pool "workers": maxSurge and maxUnavailable cannot both be 0/);

      // No surge: each node is drained before its replacement exists, one at a time as the PDB allows.
      const run = await steerRun(fx, { to: TO, poolOptions: { maxSurge: 0, maxUnavailable: 1 } });
      try {
        const final = await run.done;
        assert.equal(final.status.phase, 'succeeded', describeRun(final, await run.events()));
      } finally {
        await run.stop().catch(() => undefined);
      }
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

  it('--node-soak: each node runs its soak before its step is done, and the next batch starts only after it', async () => {
    const fx = await startRolloutFixture('node-soak', FOUR);
    try {
      const planned = await kupProcess(fx.dataDir, [
        'plan',
        'node-soak',
        '--to',
        TO,
        '--node-soak',
        '1s',
        '--batch-policy',
        'fixed:2',
      ]);
      assert.equal(planned.code, 0, planned.stdout + planned.stderr);
      assert.match(
        planned.stdout,
        /^ {2}pool workers -> 1\.36\.1 \(replace, fixed:2, soak 1s after each node\): \[workers-0 workers-1\] \[workers-2 workers-3\], expected /m,
      );

      const run = await steerRun(fx, { to: TO, poolOptions: { batchPolicy: 'fixed:2', nodeSoakMs: 1_000 } });
      let events: Awaited<ReturnType<typeof run.events>>;
      try {
        const final = await run.done;
        events = await run.events();
        assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
      } finally {
        await run.stop().catch(() => undefined);
      }
      const actionOf = (e: { data?: unknown }): unknown =>
        typeof e.data === 'object' && e.data !== null && 'action' in e.data ? e.data.action : undefined;
      const workerSteps = [
        ...new Set(
          events
            .filter((e) => e.step.startsWith('pool/') && e.node !== undefined && e.outcome === 'started')
            .map((e) => e.step),
        ),
      ];
      assert.equal(workerSteps.length, 4, workerSteps.join(', '));
      for (const step of workerSteps) {
        const deleted = events.find(
          (e) => e.step === step && e.outcome === 'succeeded' && actionOf(e) === 'delete-old-node',
        );
        const soaked = events.find((e) => e.step === step && e.outcome === 'succeeded' && actionOf(e) === 'soak');
        assert.ok(deleted && soaked, `${step} deleted its old node and soaked`);
        assert.ok(
          soaked.at - deleted.at >= 1_000,
          `${step} soaked ${soaked.at - deleted.at} ms after its old node went`,
        );
      }
      const lastSoakOfBatch1 = Math.max(
        ...events
          .filter((e) => e.step.includes('/batch-1/') && actionOf(e) === 'soak' && e.outcome === 'succeeded')
          .map((e) => e.seq),
      );
      const firstStartOfBatch2 = Math.min(
        ...events.filter((e) => e.step.includes('/batch-2/') && e.outcome === 'started').map((e) => e.seq),
      );
      assert.ok(lastSoakOfBatch1 < firstStartOfBatch2, 'batch 2 started after batch 1 soaked');
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

  it('--max-blocked-nodes: one node is quarantined, the second blocked drain pauses naming both; rollback undoes it all', async () => {
    const fx = await startRolloutFixture('blocked-bound', TWO_BLOCKED);
    try {
      const refused = await kupProcess(fx.dataDir, [
        'upgrade',
        'blocked-bound',
        '--image',
        NEW_IMAGE,
        '--max-blocked-nodes',
        '1',
        '--yes',
      ]);
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /--max-blocked-nodes bounds --drain-timeout-policy quarantine: give both/);

      const acknowledge = (['pdb-blockers', 'drain-simulation'] as const).flatMap((rule) =>
        ['bank/ledger-a', 'bank/ledger-b'].map((object) => ({
          rule,
          object,
          reason: 'testing the bound on quarantined nodes',
        })),
      );
      const run = await steerRun(
        fx,
        {
          image: NEW_IMAGE,
          pools: ['guarded'],
          run: { drainTimeoutPolicy: 'quarantine', maxBlockedNodes: 1 },
          acknowledgements: acknowledge,
        },
        { settings: { drainTimeoutMs: 2_000 } },
      );
      try {
        const paused = await run.waitFor(
          'the second blocked drain to pause the run',
          (s) => s.status.phase === 'paused' && nothingInFlight(s),
          60_000,
        );
        assert.ok(paused.status.phase === 'paused');
        assert.equal(paused.status.reason, 'drain-timed-out');
        assert.equal(paused.status.cause?.node, 'guarded-1');
        assert.equal(paused.status.cause?.pdb, 'bank/ledger-b');
        assert.match(
          paused.status.message,
          /^drain of guarded-1 timed out: bank\/ledger-b-\S+ blocked by PDB bank\/ledger-b.*; 1 node\(s\) may be quarantined \(--max-blocked-nodes\) and 1 are: guarded-0 \(bank\/ledger-a-\S+ blocked by PDB bank\/ledger-a/,
        );
        assert.deepEqual(
          paused.quarantined.map((q) => q.node),
          ['guarded-0'],
        );
        assert.equal((await nodeDetails(fx.sim, 'guarded-0')).labels['kup.dev/quarantined'], 'true');
        const second = await nodeDetails(fx.sim, 'guarded-1');
        assert.equal(second.unschedulable, true, 'guarded-1 stays cordoned while the run waits');
        assert.equal(second.labels['kup.dev/quarantined'], undefined, 'guarded-1 is not quarantined');

        await run.command('rollback');
        const final = await run.done;
        assert.equal(final.status.phase, 'rolled-back', describeRun(final, await run.events()));
      } finally {
        await run.stop().catch(() => undefined);
      }
      // Back as before: both guarded nodes kept at the old image, no replacement left, nothing cordoned or labelled.
      assert.deepEqual(
        (await poolMachines(fx.sim, 'guarded')).map((m) => [m.name, m.machineImage]),
        [
          ['guarded-0', OLD_IMAGE],
          ['guarded-1', OLD_IMAGE],
        ],
      );
      for (const node of await listNodes(fx.sim)) {
        assert.equal(node.unschedulable, false, `${node.name} is not cordoned`);
        assert.equal(
          (await nodeDetails(fx.sim, node.name)).labels['kup.dev/quarantined'],
          undefined,
          `${node.name} is not labelled`,
        );
      }
      await assertClusterAt(fx.sim, {
        version: FROM,
        controlPlane: { version: FROM, count: 1 },
        pools: {
          workers: { version: FROM, image: OLD_IMAGE, count: 2 },
          guarded: { version: FROM, image: OLD_IMAGE, count: 2 },
        },
      });
      await assertNoOutage(fx.sim, ['shop/web', 'bank/ledger-a', 'bank/ledger-b']);
    } finally {
      await fx.close();
    }
  });
});
