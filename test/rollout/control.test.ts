/**
 * The operator in control, end to end on kube-sim: pause and resume mid-batch, cancel (from paused and while
 * running), rollback (before and after the point of no return, and refused), a drain that a PodDisruptionBudget
 * blocks under each drain-timeout policy, and a node that never becomes Ready. Each run is executed in this process
 * by the real executor (as `kup work` does) while the test sends the operator's commands to the stored run (as
 * another `kup` process would), and each test reads the cluster back afterwards: nodes, versions, images, cordons,
 * pods and kube-sim's availability monitor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { RunTransitionError } from '../../src/rollout/machine/errors.ts';
import type { RunState } from '../../src/rollout/machine/types.ts';
import { api, simIdle } from '../helpers/sim.ts';
import type { RolloutFixture, SteeredRun } from '../helpers/rollout.ts';
import {
  assertClusterAt,
  assertNoOutage,
  availabilityIntervals,
  describeRun,
  listNodes,
  nodeDetails,
  nothingInFlight,
  podsOf,
  poolMachines,
  poolStepsInFlight,
  setFaults,
  startRolloutFixture,
  steerRun,
} from '../helpers/rollout.ts';

const FROM = '1.35.5';
const TO = '1.36.1';
const OLD_IMAGE = `ubuntu-2204-kube-v${FROM}`;
const NEW_IMAGE = `ubuntu-2404-kube-v${FROM}`;

/**
 * A control-plane node and a pool `workers` with a web app (a replica per node) under a PDB that allows one
 * disruption; `pools` and `workloads` add YAML list items.
 */
function scenario(options: { workers: number; nodeBoot?: number; pools?: string; workloads?: string }): string {
  return `
kubernetesVersion: '${FROM}'
pools:
  - name: workers
    nodes: ${options.workers}
${options.pools ?? ''}
workloads:
  - kind: Deployment
    name: web
    namespace: shop
    replicas: ${options.workers}
    pdb: { maxUnavailable: 1 }
    nodeSelector: { kup.dev/pool: workers }
${options.workloads ?? ''}
timings: { podStart: 200, podTermination: 200, nodeBoot: ${options.nodeBoot ?? 500}, componentRestart: 200, apiUnavailable: 300, nodeHeartbeat: 500, nodeMonitorGrace: 5000 }
`;
}

/** The steps (worker-node units) the run has started, by slot node, with their stage. */
function startedSteps(state: RunState): Record<string, string> {
  return Object.fromEntries(
    Object.values(state.units)
      .filter((u) => u.key.startsWith('pool/') && u.node !== undefined)
      .map((u) => [u.node ?? '', u.stage]),
  );
}

/** Asserts a refused command: a RunTransitionError with its code, and the reason in the message. */
async function assertRefused(
  run: SteeredRun,
  command: Parameters<SteeredRun['command']>[0],
  code: string,
  reason: RegExp,
): Promise<void> {
  const before = await run.state();
  await assert.rejects(run.command(command), (err: unknown) => {
    assert.ok(err instanceof RunTransitionError, `a RunTransitionError, not ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, reason);
    return true;
  });
  // A refused command changes nothing (the executor may have moved on meanwhile, but not because of it).
  const after = await run.state();
  assert.deepEqual(after.rollback, before.rollback, `${command} refused: the rollback state is unchanged`);
}

/** Runs the test body with a fixture and a steered run, and always stops both. */
async function withRun<T>(fx: RolloutFixture, run: SteeredRun, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await run.stop().catch(() => undefined);
    await fx.close();
  }
}

/** Runs `body` and always stops the run's executor (the fixture is closed by the caller). */
async function withRunOnly<T>(run: SteeredRun, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await run.stop().catch(() => undefined);
  }
}

/** Asserts the pool's machines: the names kept from before (at `keptImage`), and `replaced` new ones at `newImage`. */
async function assertPool(
  fx: RolloutFixture,
  expected: { kept: readonly string[]; keptImage: string; replaced: number; newImage: string; version?: string },
): Promise<string[]> {
  const machines = await poolMachines(fx.sim, 'workers');
  const version = expected.version ?? FROM;
  const kept = machines.filter((m) => expected.kept.includes(m.name));
  const fresh = machines.filter((m) => !expected.kept.includes(m.name));
  assert.deepEqual(
    kept.map((m) => m.name),
    [...expected.kept].sort(),
    `untouched machines kept: ${machines.map((m) => m.name).join(', ')}`,
  );
  for (const m of kept) {
    assert.equal(m.machineImage, expected.keptImage, `${m.name}: image`);
    assert.equal(m.kubeletVersion, FROM, `${m.name}: kubelet`);
  }
  assert.equal(fresh.length, expected.replaced, `new machines: ${fresh.map((m) => m.name).join(', ')}`);
  for (const m of fresh) {
    assert.equal(m.machineImage, expected.newImage, `${m.name}: image`);
    assert.equal(m.kubeletVersion, version, `${m.name}: kubelet`);
    assert.equal(m.state, 'running', `${m.name}: running`);
  }
  const nodes = await listNodes(fx.sim);
  assert.deepEqual(
    nodes.filter((n) => n.unschedulable).map((n) => n.name),
    [],
    'nothing left cordoned',
  );
  assert.deepEqual(
    nodes.filter((n) => !n.ready).map((n) => n.name),
    [],
    'every node Ready',
  );
  assert.deepEqual(
    nodes
      .filter((n) => n.pool === 'workers')
      .map((n) => n.name)
      .sort(),
    machines.map((m) => m.name),
    'nodes and machines agree',
  );
  return fresh.map((m) => m.name);
}

/** Every web pod Running and Ready on a node that exists. */
async function assertWebServing(fx: RolloutFixture, replicas: number): Promise<void> {
  const nodes = new Set((await listNodes(fx.sim)).map((n) => n.name));
  const pods = (await podsOf(fx.sim, 'shop', 'app=web')).filter((p) => !p.terminating);
  assert.equal(pods.length, replicas, `web pods: ${JSON.stringify(pods)}`);
  for (const p of pods) {
    assert.equal(p.ready, true, `${p.name} Ready`);
    assert.ok(p.node !== undefined && nodes.has(p.node), `${p.name} runs on a node that exists (${p.node})`);
  }
}

function outcomes(events: readonly { outcome: string }[]): string[] {
  return events.map((e) => e.outcome);
}

describe('the operator in control of a rollout', { timeout: 120_000 }, () => {
  it('pause mid-batch lets the started nodes finish and starts no new one; resume finishes the run', async () => {
    const fx = await startRolloutFixture('pause', scenario({ workers: 4 }));
    const run = await steerRun(fx, { to: TO, poolOptions: { batchPolicy: 'fixed:2' } });
    await withRun(fx, run, async () => {
      await run.waitFor('a pool batch in progress', (s) => poolStepsInFlight(s).length > 0);
      const paused = await run.command('pause', 'maintenance window closed');
      assert.equal(paused.status.phase, 'paused');
      assert.equal(paused.status.phase === 'paused' && paused.status.reason, 'requested');
      assert.equal(paused.status.phase === 'paused' && paused.status.message, 'maintenance window closed');
      assert.ok(paused.pointOfNoReturnPassedAt !== null, 'the control plane moved before the pools');

      // The nodes whose upgrade started finish; the batch's validation and the next batch do not start.
      const settled = await run.waitFor('the started nodes to finish', nothingInFlight);
      assert.equal(settled.status.phase, 'paused', describeRun(settled, await run.events()));
      assert.deepEqual(startedSteps(settled), { 'workers-0': 'done', 'workers-1': 'done' });

      // Paused for a while (the executor looks at the paused run ten more times): the cluster does not move.
      const machinesBefore = await poolMachines(fx.sim, 'workers');
      const looked = run.rounds();
      await waitFor(() => run.rounds() >= looked + 10, { message: 'ten more rounds of the executor' });
      await simIdle(fx.sim);
      assert.deepEqual(
        await poolMachines(fx.sim, 'workers'),
        machinesBefore,
        'no machine created or removed while paused',
      );
      const still = await run.state();
      assert.equal(still.status.phase, 'paused');
      assert.deepEqual(startedSteps(still), startedSteps(settled), 'no step started while paused');
      await assertPool(fx, {
        kept: ['workers-2', 'workers-3'],
        keptImage: OLD_IMAGE,
        replaced: 2,
        newImage: `ubuntu-2204-kube-v${TO}`,
        version: TO,
      });
      await assertWebServing(fx, 4);

      const resumed = await run.command('resume');
      assert.equal(resumed.status.phase, 'upgrading-pools');
      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
      await assertClusterAt(fx.sim, {
        version: TO,
        controlPlane: { version: TO, count: 1 },
        pools: { workers: { version: TO, count: 4 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);

      // The log: paused, then resumed, and the second batch's nodes started only after the resume.
      const pausedAt = events.findIndex((e) => e.outcome === 'paused');
      const resumedAt = events.findIndex((e) => e.outcome === 'resumed');
      assert.ok(pausedAt >= 0 && resumedAt > pausedAt, `paused then resumed: ${outcomes(events).join(' ')}`);
      const secondBatch = events.filter((e) => e.outcome === 'started' && /\/batch-2\//.test(e.step));
      assert.deepEqual(secondBatch.map((e) => e.node).sort(), ['workers-2', 'workers-3']);
      for (const e of secondBatch)
        assert.ok(e.seq > (events[resumedAt]?.seq ?? Infinity), `${e.step} started after the resume`);
      assert.ok(
        events.slice(pausedAt, resumedAt).every((e) => e.outcome !== 'started'),
        'nothing started between the pause and the resume',
      );
    });
  });

  it('cancel from paused: the nodes done stay upgraded, the others are untouched, nothing is left cordoned', async () => {
    const fx = await startRolloutFixture('cancel-paused', scenario({ workers: 3 }));
    const run = await steerRun(fx, { image: NEW_IMAGE, poolOptions: { batchPolicy: 'fixed:1' } });
    await withRun(fx, run, async () => {
      await run.waitFor('the first node in progress', (s) => poolStepsInFlight(s).length > 0);
      await run.command('pause');
      const settled = await run.waitFor('the started node to finish', nothingInFlight);
      assert.deepEqual(startedSteps(settled), { 'workers-0': 'done' });

      const cancelled = await run.command('cancel');
      // Nothing was running: the cancel only takes kup's PreferNoSchedule taint off the pool's nodes, then ends.
      assert.equal(cancelled.status.phase, 'cancelling', 'the taint comes off first');
      assert.deepEqual(Object.values(cancelled.units).filter((u) => u.inFlight !== null).map((u) => u.key), ['untaint']);
      const final = await run.done;
      assert.equal(final.status.phase, 'cancelled');
      assert.deepEqual(startedSteps(final), { 'workers-0': 'done' });
      const events = await run.events();
      assert.deepEqual(outcomes(events).slice(-3), ['cancelling', 'succeeded', 'cancelled'], describeRun(final, events));
      assert.match(events.at(-2)?.message ?? '', /^taint-nodes: done \(taint kup\.dev\/to-be-replaced taken off 2 node\(s\)\)/);

      await assertPool(fx, {
        kept: ['workers-1', 'workers-2'],
        keptImage: OLD_IMAGE,
        replaced: 1,
        newImage: NEW_IMAGE,
      });
      await assertWebServing(fx, 3);
      await assertNoOutage(fx.sim, ['shop/web']);
      // A cancelled run is over: it cannot be resumed.
      await assertRefused(run, 'resume', 'KUP-RUN-001', /resume is not allowed while the run is cancelled/);
    });
  });

  it('cancel while running: the current node finishes first, then the run is cancelled', async () => {
    const fx = await startRolloutFixture('cancel-running', scenario({ workers: 3 }));
    const run = await steerRun(fx, { image: NEW_IMAGE, poolOptions: { batchPolicy: 'fixed:1' } });
    await withRun(fx, run, async () => {
      await run.waitFor('the first node in progress', (s) => poolStepsInFlight(s).length > 0);
      const cancelling = await run.command('cancel');
      assert.equal(cancelling.status.phase, 'cancelling', 'a node is being upgraded: the cancel waits for it');
      assert.deepEqual(Object.keys(startedSteps(cancelling)).sort(), ['workers-0']);

      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'cancelled', describeRun(final, events));
      assert.deepEqual(startedSteps(final), { 'workers-0': 'done' }, 'the started node finished; no other started');
      const step = Object.values(cancelling.units).find((u) => u.node === 'workers-0')?.key;
      const cancellingAt = events.findIndex((e) => e.outcome === 'cancelling');
      assert.ok(cancellingAt >= 0);
      assert.ok(
        events
          .slice(cancellingAt)
          .some((e) => e.step === step && e.outcome === 'succeeded' && e.message === 'step done'),
        `${step} finished after the cancel was asked`,
      );
      assert.equal(events.at(-1)?.outcome, 'cancelled');

      await assertPool(fx, {
        kept: ['workers-1', 'workers-2'],
        keptImage: OLD_IMAGE,
        replaced: 1,
        newImage: NEW_IMAGE,
      });
      await assertWebServing(fx, 3);
      await assertNoOutage(fx.sim, ['shop/web']);
    });
  });

  it('rollback before the point of no return: refused while running and while nodes move, then nodes go back to their old image', async () => {
    // Slow boots keep a node's step in flight long enough to be asked to roll back meanwhile.
    const fx = await startRolloutFixture('rollback-nodes', scenario({ workers: 3, nodeBoot: 1_500 }));
    const run = await steerRun(fx, { image: NEW_IMAGE, poolOptions: { batchPolicy: 'fixed:1' } });
    await withRun(fx, run, async () => {
      await run.waitFor('the first node in progress', (s) => poolStepsInFlight(s).length > 0);
      await assertRefused(
        run,
        'rollback',
        'KUP-RUN-002',
        /cannot be rolled back: the run is upgrading-pools: pause it \(or cancel it\)/,
      );
      await run.command('pause');
      await assertRefused(
        run,
        'rollback',
        'KUP-RUN-002',
        // The pool's turn may still be tainting its nodes when the first node has started.
        /cannot be rolled back: [12] step\(s\) still running \(pool\/workers\/.*workers-0(, pool\/workers\/[^/]+\/taint)?\): wait until they finish/,
      );
      const settled = await run.waitFor('the started node to finish', nothingInFlight);
      assert.deepEqual(startedSteps(settled), { 'workers-0': 'done' });
      assert.equal(settled.pointOfNoReturnPassedAt, null, 'an image-only plan has no point of no return');
      const [moved] = await assertPool(fx, {
        kept: ['workers-1', 'workers-2'],
        keptImage: OLD_IMAGE,
        replaced: 1,
        newImage: NEW_IMAGE,
      });

      const rolling = await run.command('rollback');
      assert.deepEqual(rolling.status, { phase: 'rolling-back', mode: 'nodes' });
      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'rolled-back', describeRun(final, events));
      assert.equal(final.status.phase === 'rolled-back' && final.status.mode, 'nodes');

      // Every node runs the image it had; the untouched ones were not touched by the rollback either.
      const [back] = await assertPool(fx, {
        kept: ['workers-1', 'workers-2'],
        keptImage: OLD_IMAGE,
        replaced: 1,
        newImage: OLD_IMAGE,
      });
      assert.notEqual(back, moved, 'the upgraded node was replaced by one at the old image');
      await assertClusterAt(fx.sim, {
        version: FROM,
        controlPlane: { version: FROM, count: 1 },
        pools: { workers: { version: FROM, image: OLD_IMAGE, count: 3 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);
      assert.ok(
        outcomes(events).includes('rolling-back') && events.at(-1)?.outcome === 'rolled-back',
        outcomes(events).join(' '),
      );
      await assertRefused(run, 'rollback', 'KUP-RUN-002', /the run is rolled-back already/);
    });
  });

  it('rollback past the point of no return restores the snapshot: the control plane and the nodes run the old version again', async () => {
    const fx = await startRolloutFixture('rollback-snapshot', scenario({ workers: 2 }));
    const run = await steerRun(fx, { to: TO, poolOptions: { batchPolicy: 'fixed:1' } });
    await withRun(fx, run, async () => {
      await run.waitFor('the first worker in progress', (s) => poolStepsInFlight(s).length > 0);
      await run.command('pause');
      const settled = await run.waitFor('the started node to finish', nothingInFlight);
      assert.ok(settled.pointOfNoReturnPassedAt !== null, 'the control plane moved: past the point of no return');
      assert.ok(settled.snapshot !== null, 'the snapshot was taken before the first change');
      const version = await api(fx.sim, 'GET', '/version');
      assert.equal(
        (version.body as { gitVersion: string }).gitVersion,
        `v${TO}`,
        'the control plane runs the target before the rollback',
      );

      const rolling = await run.command('rollback');
      assert.deepEqual(rolling.status, { phase: 'rolling-back', mode: 'snapshot' });
      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'rolled-back', describeRun(final, events));
      assert.equal(final.status.phase === 'rolled-back' && final.status.mode, 'snapshot');
      assert.ok(
        events.some((e) => e.step === 'rollback/restore-snapshot' && e.outcome === 'succeeded'),
        'the snapshot was restored',
      );

      await assertClusterAt(fx.sim, {
        version: FROM,
        controlPlane: { version: FROM, count: 1 },
        pools: { workers: { version: FROM, image: OLD_IMAGE, count: 2 } },
      });
      await assertPool(fx, { kept: ['workers-1'], keptImage: OLD_IMAGE, replaced: 1, newImage: OLD_IMAGE });
      await assertWebServing(fx, 2);
      await assertNoOutage(fx.sim, ['shop/web']);
    });
  });

  it('rollback is refused with the reason when nothing changed: a pending run, and a run whose snapshot failed', async () => {
    const fx = await startRolloutFixture('rollback-refused', scenario({ workers: 2 }));
    const pending = await steerRun(fx, { to: TO }, { noExecutor: true });
    await withRun(fx, pending, async () => {
      await assertRefused(pending, 'rollback', 'KUP-RUN-002', /the run is pending: nothing has changed yet/);
      assert.equal((await pending.command('cancel')).status.phase, 'cancelled');

      await setFaults(fx.sim, { snapshotFailure: true });
      const run = await steerRun(fx, { to: TO, run: { maxAutoRetries: 0 } });
      await withRunOnly(run, async () => {
        const paused = await run.waitFor('the run to pause on the snapshot', (s) => s.status.phase === 'paused');
        assert.equal(paused.status.phase === 'paused' && paused.status.reason, 'step-failed');
        assert.equal(paused.status.phase === 'paused' && paused.status.cause?.action, 'take-snapshot');
        assert.match(
          paused.status.phase === 'paused' ? paused.status.message : '',
          /take-snapshot failed: .*snapshot failed/,
        );
        assert.equal(paused.snapshot, null);
        await assertRefused(run, 'rollback', 'KUP-RUN-002', /cannot be rolled back: no node was changed by this run/);
        assert.equal((await run.command('cancel')).status.phase, 'cancelled');
        assert.equal((await run.done).status.phase, 'cancelled');
      });
      await assertClusterAt(fx.sim, {
        version: FROM,
        controlPlane: { version: FROM, count: 1 },
        pools: { workers: { version: FROM, image: OLD_IMAGE, count: 2 } },
      });
      await assertPool(fx, {
        kept: ['workers-0', 'workers-1'],
        keptImage: OLD_IMAGE,
        replaced: 0,
        newImage: OLD_IMAGE,
      });
    });
  });

  describe('a drain that a PodDisruptionBudget blocks, under each drain-timeout policy', () => {
    // bank/ledger: two replicas on the only node of pool `guarded`, under a PDB that never allows a disruption.
    const blocked = scenario({
      workers: 2,
      pools: '  - name: guarded\n    nodes: 1',
      workloads: [
        '  - kind: Deployment',
        '    name: ledger',
        '    namespace: bank',
        '    replicas: 2',
        '    pdb: { minAvailable: 2 }',
        '    nodeSelector: { kup.dev/pool: guarded }',
      ].join('\n'),
    });
    const upgrade = (policy: 'pause' | 'quarantine' | 'force') => ({
      image: NEW_IMAGE,
      pools: ['guarded'],
      run: { drainTimeoutPolicy: policy },
      // The precheck names the budget as a blocker; the operator goes ahead knowingly.
      acknowledgements: [
        { rule: 'pdb-blockers' as const, object: 'bank/ledger', reason: 'testing the drain-timeout policy' },
        { rule: 'drain-simulation' as const, object: 'bank/ledger', reason: 'testing the drain-timeout policy' },
      ],
    });
    const settings = { drainTimeoutMs: 2_500 };

    it('pause (the default): the run pauses naming the pod and the PDB; with the budget relaxed, resume finishes it', async () => {
      const fx = await startRolloutFixture('drain-pause', blocked);
      const run = await steerRun(fx, upgrade('pause'), { settings });
      await withRun(fx, run, async () => {
        const paused = await run.waitFor('the drain to time out', (s) => s.status.phase === 'paused');
        const events = await run.events();
        assert.ok(paused.status.phase === 'paused', describeRun(paused, events));
        assert.equal(paused.status.reason, 'drain-timed-out');
        const cause = paused.status.cause;
        assert.equal(cause?.node, 'guarded-0');
        assert.equal(cause?.pdb, 'bank/ledger');
        assert.match(cause?.pod ?? '', /^bank\/ledger-/);
        assert.equal(cause?.code, 'KUP-DRAIN-003');
        assert.match(
          paused.status.message,
          /drain of guarded-0 timed out: bank\/ledger-\S+ blocked by PDB bank\/ledger/,
        );

        // The node stays cordoned with the ledger still serving on it; nothing else moved.
        assert.equal((await nodeDetails(fx.sim, 'guarded-0')).unschedulable, true);
        const ledger = (await podsOf(fx.sim, 'bank', 'app=ledger')).filter((p) => !p.terminating);
        assert.deepEqual(
          ledger.map((p) => [p.node, p.ready]),
          [
            ['guarded-0', true],
            ['guarded-0', true],
          ],
        );
        assert.deepEqual(
          (await poolMachines(fx.sim, 'workers')).map((m) => m.name),
          ['workers-0', 'workers-1'],
        );
        assert.deepEqual(await availabilityIntervals(fx.sim), []);

        // The owner relaxes the budget; resume retries the drain.
        const patched = await api(
          fx.sim,
          'PATCH',
          '/apis/policy/v1/namespaces/bank/poddisruptionbudgets/ledger',
          { spec: { minAvailable: 1 } },
          {
            'Content-Type': 'application/merge-patch+json',
          },
        );
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        await run.command('resume');
        const final = await run.done;
        assert.equal(final.status.phase, 'succeeded', describeRun(final, await run.events()));
        await assertClusterAt(fx.sim, {
          version: FROM,
          controlPlane: { version: FROM, count: 1 },
          pools: {
            workers: { version: FROM, image: OLD_IMAGE, count: 2 },
            guarded: { version: FROM, image: NEW_IMAGE, count: 1 },
          },
        });
        await assertNoOutage(fx.sim, ['shop/web', 'bank/ledger']);
      });
    });

    it('quarantine: the node is left cordoned and labelled, and the run goes on and finishes', async () => {
      const fx = await startRolloutFixture('drain-quarantine', blocked);
      const run = await steerRun(fx, upgrade('quarantine'), { settings });
      await withRun(fx, run, async () => {
        const final = await run.done;
        const events = await run.events();
        assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
        assert.deepEqual(
          final.quarantined.map((q) => q.node),
          ['guarded-0'],
        );
        assert.deepEqual(
          final.quarantined[0]?.pods.map((p) => p.pdb),
          ['bank/ledger', 'bank/ledger'],
        );
        assert.ok(
          events.some((e) => e.outcome === 'quarantined' && e.node === 'guarded-0'),
          'the quarantine is in the run events',
        );

        const node = await nodeDetails(fx.sim, 'guarded-0');
        assert.equal(node.unschedulable, true, 'guarded-0 stays cordoned');
        assert.equal(node.labels['kup.dev/quarantined'], 'true');
        const machines = await poolMachines(fx.sim, 'guarded');
        assert.equal(machines.length, 2, 'the replacement joined the pool beside the quarantined node');
        const fresh = machines.find((m) => m.name !== 'guarded-0');
        assert.equal(fresh?.machineImage, NEW_IMAGE);
        assert.equal(machines.find((m) => m.name === 'guarded-0')?.machineImage, OLD_IMAGE);
        const ledger = (await podsOf(fx.sim, 'bank', 'app=ledger')).filter((p) => !p.terminating);
        assert.deepEqual(
          ledger.map((p) => [p.node, p.ready]),
          [
            ['guarded-0', true],
            ['guarded-0', true],
          ],
          'the ledger was never disrupted',
        );
        // Nothing else is cordoned; the workers pool was not part of the run.
        const cordoned = (await listNodes(fx.sim)).filter((n) => n.unschedulable).map((n) => n.name);
        assert.deepEqual(cordoned, ['guarded-0']);
        await assertNoOutage(fx.sim, ['shop/web', 'bank/ledger']);
      });
    });

    it('quarantine in a version upgrade: the postcheck accepts the node it quarantined, which keeps its version', async () => {
      const fx = await startRolloutFixture('drain-quarantine-version', blocked);
      const { image: _image, pools: _pools, ...rest } = upgrade('quarantine');
      const run = await steerRun(fx, { ...rest, to: TO }, { settings });
      await withRun(fx, run, async () => {
        const final = await run.waitFor('the run to end', (s) => ['succeeded', 'failed', 'paused'].includes(s.status.phase), 60_000);
        const events = await run.events();
        assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
        assert.deepEqual(final.quarantined.map((q) => q.node), ['guarded-0']);
        const nodes = await listNodes(fx.sim);
        assert.deepEqual(nodes.filter((n) => n.unschedulable).map((n) => n.name), ['guarded-0']);
        // The quarantined node keeps its version; every other node runs the target.
        assert.deepEqual(
          nodes.filter((n) => !n.kubeletVersion.endsWith(TO)).map((n) => [n.name, n.kubeletVersion]),
          [['guarded-0', `v${FROM}`]],
        );
        await assertNoOutage(fx.sim, ['shop/web', 'bank/ledger']);
      });
    });

    it('force: the pods are deleted past the PDB, recorded in the run, and the run finishes', async () => {
      const fx = await startRolloutFixture('drain-force', blocked);
      const run = await steerRun(fx, upgrade('force'), { settings });
      await withRun(fx, run, async () => {
        const final = await run.done;
        const events = await run.events();
        assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
        assert.deepEqual(
          final.forcedDrains.map((f) => f.node),
          ['guarded-0'],
        );
        assert.deepEqual(
          final.forcedDrains[0]?.pods.map((p) => p.pdb),
          ['bank/ledger', 'bank/ledger'],
        );
        const forced = events.find((e) => e.outcome === 'forced');
        assert.ok(forced, `a forced event: ${outcomes(events).join(' ')}`);
        assert.match(
          forced.message,
          /drain of guarded-0 timed out: bank\/ledger-\S+ blocked by PDB bank\/ledger.*draining again past the PodDisruptionBudgets/,
        );

        await assertClusterAt(fx.sim, {
          version: FROM,
          controlPlane: { version: FROM, count: 1 },
          pools: {
            workers: { version: FROM, image: OLD_IMAGE, count: 2 },
            guarded: { version: FROM, image: NEW_IMAGE, count: 1 },
          },
        });
        // Forcing went past the budget: the monitor saw the ledger below it, and only the ledger.
        const intervals = await availabilityIntervals(fx.sim);
        assert.ok(intervals.length > 0, 'the forced drain took the ledger below its budget');
        assert.deepEqual([...new Set(intervals.map((i) => `${i.namespace}/${i.name}`))], ['bank/ledger']);
      });
    });
  });

  it('a node that never becomes Ready pauses the run naming it, and nothing else breaks; resume retries the wait', async () => {
    const fx = await startRolloutFixture('never-ready', scenario({ workers: 2 }));
    await setFaults(fx.sim, { nodesNeverReady: ['workers/*'] });
    const run = await steerRun(
      fx,
      { image: NEW_IMAGE, poolOptions: { batchPolicy: 'fixed:1' }, run: { maxAutoRetries: 0 } },
      { settings: { nodeReadyTimeoutMs: 2_000 } },
    );
    await withRun(fx, run, async () => {
      const paused = await run.waitFor('the run to pause', (s) => s.status.phase === 'paused');
      assert.ok(paused.status.phase === 'paused', describeRun(paused, await run.events()));
      assert.equal(paused.status.reason, 'step-failed');
      const cause = paused.status.cause;
      const broken = cause?.node ?? '';
      assert.match(broken, /^workers-[0-9a-f]{5}$/, 'the cause names the replacement that never came up');
      assert.equal(cause?.action, 'wait-node-ready');
      assert.equal(cause?.code, 'KUP-ENGINE-002');
      assert.match(
        paused.status.message,
        new RegExp(
          `wait-node-ready of ${broken} failed: KUP-ENGINE-002: node ${broken} was not ready after 2s: Ready=`,
        ),
      );
      assert.deepEqual(startedSteps(paused), { 'workers-0': 'cordoned' });

      // Nothing else breaks: with surge the old node is cordoned while its replacement boots (ADR 004), but it still
      // runs its pods; the app serves, the next batch waits.
      const machines = await poolMachines(fx.sim, 'workers');
      assert.deepEqual(
        machines.map((m) => [m.name, m.health]).sort(),
        [
          [broken, 'never-ready'],
          ['workers-0', 'healthy'],
          ['workers-1', 'healthy'],
        ].sort(),
      );
      const nodes = await listNodes(fx.sim);
      assert.deepEqual(
        nodes.filter((n) => n.unschedulable).map((n) => n.name),
        ['workers-0'],
      );
      assert.deepEqual(
        nodes.filter((n) => !n.ready).map((n) => n.name),
        [broken],
      );
      await assertWebServing(fx, 2);
      assert.deepEqual(await availabilityIntervals(fx.sim), []);

      // Clearing the fault does not heal a machine that already came up broken: resume retries the wait on the same
      // node (it does not replace it again), which times out again and pauses the run again, naming it.
      await setFaults(fx.sim, { nodesNeverReady: [] });
      await run.command('resume');
      const again = await run.waitFor(
        'the retried wait to fail',
        (s) =>
          s.status.phase === 'paused' && paused.status.phase === 'paused' && s.status.pausedAt > paused.status.pausedAt,
      );
      assert.equal(again.status.phase === 'paused' && again.status.cause?.node, broken);
      assert.deepEqual(
        (await poolMachines(fx.sim, 'workers')).map((m) => m.name),
        machines.map((m) => m.name),
        'no second replacement',
      );

      // The operator repairs the node (its kubelet comes up) and resumes: the wait succeeds and the run finishes.
      const repaired = await api(fx.sim, 'POST', `/sim/v1/nodes/${broken}/fail`, { mode: 'healthy' });
      assert.equal(repaired.status, 200, JSON.stringify(repaired.body));
      await run.command('resume');
      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
      assert.equal(final.lineage['workers-0'], broken, 'the repaired node took the slot');
      await assertClusterAt(fx.sim, {
        version: FROM,
        controlPlane: { version: FROM, count: 1 },
        pools: { workers: { version: FROM, image: NEW_IMAGE, count: 2 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);
      assert.equal(events.filter((e) => e.outcome === 'resumed').length, 2);
    });
  });

  it('resume --replace-node removes a replacement that never became Ready and makes a new one; the run finishes', async () => {
    const fx = await startRolloutFixture('replace-again', scenario({ workers: 2 }));
    await setFaults(fx.sim, { nodesNeverReady: ['workers/*'] });
    const run = await steerRun(
      fx,
      { image: NEW_IMAGE, poolOptions: { batchPolicy: 'fixed:1' }, run: { maxAutoRetries: 0 } },
      { settings: { nodeReadyTimeoutMs: 2_000 } },
    );
    await withRun(fx, run, async () => {
      const paused = await run.waitFor('the run to pause', (s) => s.status.phase === 'paused');
      const broken = paused.status.phase === 'paused' ? (paused.status.cause?.node ?? '') : '';
      assert.match(broken, /^workers-[0-9a-f]{5}$/, describeRun(paused, await run.events()));

      // The operator gives up on the broken machine (the fault is gone, so a new one comes up): kup removes it.
      await setFaults(fx.sim, { nodesNeverReady: [] });
      const replaced = await run.command('resume', { replaceNode: true });
      assert.equal(replaced.status.phase, 'upgrading-pools');
      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'succeeded', describeRun(final, events));

      // The broken machine is gone; a new replacement took the slot; the old node went as planned.
      const now = final.lineage['workers-0'] ?? '';
      assert.match(now, /^workers-[0-9a-f]{5}$/);
      assert.notEqual(now, broken, 'a new replacement, not the broken one');
      const unit = Object.values(final.units).find((u) => u.node === 'workers-0');
      assert.deepEqual(unit?.discarded, [broken]);
      const machines = (await poolMachines(fx.sim, 'workers')).map((m) => m.name);
      assert.ok(!machines.includes(broken), `the broken machine is removed: ${machines.join(', ')}`);
      assert.ok(!machines.includes('workers-0'), 'the old node was deleted after its drain');
      assert.equal(machines.length, 2);
      const nodes = await listNodes(fx.sim);
      assert.deepEqual(nodes.filter((n) => n.unschedulable || !n.ready).map((n) => n.name), []);
      await assertClusterAt(fx.sim, {
        version: FROM,
        controlPlane: { version: FROM, count: 1 },
        pools: { workers: { version: FROM, image: NEW_IMAGE, count: 2 } },
      });
      await assertNoOutage(fx.sim, ['shop/web']);
      assert.ok(
        events.some((e) => e.outcome === 'resumed' && e.message.includes(`${broken} never became Ready: removing it`)),
        'the log says what the resume does',
      );
      assert.ok(events.some((e) => e.outcome === 'succeeded' && e.message.startsWith(`discard-replacement ${broken}: done`)));

      // Once the run is over there is nothing to replace: the command is refused with the reason.
      await assert.rejects(run.command('resume', { replaceNode: true }), /resume is not allowed while the run is succeeded/);
    });
  });
});
