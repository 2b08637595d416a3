/**
 * Blue-green pool upgrades end to end on kube-sim: the whole run (green nodes made and validated, blue cordoned,
 * drained in batches with soaks, a final soak, blue deleted) and a rollback during each soak, which only uncordons
 * blue and drains green back. Each test reads the cluster back: nodes, versions, images, cordons, pods, the
 * infrastructure's machines, and kube-sim's availability monitor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunState } from '../../src/rollout/machine/types.ts';
import type { RolloutFixture, SteeredRun } from '../helpers/rollout.ts';
import {
  FAST_TIMINGS,
  assertClusterAt,
  assertNoOutage,
  describeRun,
  kupProcess,
  listNodes,
  poolMachines,
  startRolloutFixture,
  steerRun,
} from '../helpers/rollout.ts';

const FROM = '1.35.5';
const TO = '1.36.1';
const OLD_IMAGE = `ubuntu-2204-kube-v${FROM}`;
const NEW_IMAGE = `ubuntu-2404-kube-v${FROM}`;

/** Pool `workers` of four under a web app of four replicas whose PDB allows one disruption; a pool `other` of two. */
const SCENARIO = `
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 4 }
  - { name: other, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 }, nodeSelector: { kup.dev/pool: workers } }
  - { kind: Deployment, name: api, namespace: shop, replicas: 2, pdb: { minAvailable: 1 }, nodeSelector: { kup.dev/pool: workers } }
  - { kind: Deployment, name: cache, namespace: infra, replicas: 2, nodeSelector: { kup.dev/pool: other } }
${FAST_TIMINGS}
`;

const ORIGINAL = ['workers-0', 'workers-1', 'workers-2', 'workers-3'];

/** An image upgrade of pool workers, blue-green in drain batches of two. */
const imageUpgrade = (soaks: { batchSoakMs: number; finalSoakMs: number }) => ({
  image: NEW_IMAGE,
  pools: ['workers'],
  soakMs: soaks.batchSoakMs,
  poolOptions: { strategy: 'blue-green' as const, drainBatchSize: 2, finalSoakMs: soaks.finalSoakMs },
});

async function withRun<T>(fx: RolloutFixture, run: SteeredRun, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await run.stop().catch(() => undefined);
    await fx.close();
  }
}

/** The seq of the first stored event matching, or fails naming it. */
function seqOf(
  events: Awaited<ReturnType<SteeredRun['events']>>,
  what: string,
  match: (e: (typeof events)[number]) => boolean,
  last = false,
): number {
  const found = last ? events.findLast(match) : events.find(match);
  assert.ok(found, `an event: ${what}`);
  return found.seq;
}

const actionOf = (e: { data?: unknown }): unknown =>
  typeof e.data === 'object' && e.data !== null && 'action' in e.data ? e.data.action : undefined;

/** Asserts the cluster is back where it started: the four blue nodes at the old image, no green one, nothing cordoned. */
async function assertBlueBack(fx: RolloutFixture): Promise<void> {
  assert.deepEqual(
    (await poolMachines(fx.sim, 'workers')).map((m) => [m.name, m.machineImage]),
    ORIGINAL.map((n) => [n, OLD_IMAGE]),
  );
  await assertClusterAt(fx.sim, {
    version: FROM,
    controlPlane: { version: FROM, count: 1 },
    pools: {
      workers: { version: FROM, image: OLD_IMAGE, count: 4 },
      other: { version: FROM, image: OLD_IMAGE, count: 2 },
    },
  });
  await assertNoOutage(fx.sim, ['shop/web', 'shop/api', 'infra/cache']);
}

describe('blue-green pool upgrades', { timeout: 300_000 }, () => {
  it('a version upgrade: green made and validated, blue cordoned, drained in batches with soaks, soaked, deleted', async () => {
    const fx = await startRolloutFixture('bg-run', SCENARIO);
    const planned = await kupProcess(fx.dataDir, [
      'plan',
      'bg-run',
      '--to',
      TO,
      '--strategy',
      'blue-green',
      '--drain-batch-size',
      '50%',
      '--batch-soak',
      '1s',
      '--final-soak',
      '2s',
    ]);
    assert.equal(planned.code, 0, planned.stdout + planned.stderr);
    assert.match(
      planned.stdout,
      /^ {2}pool workers -> 1\.36\.1 \(blue-green: 4 green nodes, then blue cordoned and drained in 2 batch\(es\), soak 1s between drain batches, final soak 2s, until blue is deleted a rollback uncordons blue and drains green back\): green\[workers-0 workers-1 workers-2 workers-3\] cordon-blue\[workers-0 workers-1 workers-2 workers-3\] drain-1\[workers-0 workers-1\] drain-2\[workers-2 workers-3\] final-soak delete-blue\[workers-0 workers-1 workers-2 workers-3\], expected /m,
    );
    const refused = await kupProcess(fx.dataDir, ['upgrade', 'bg-run', '--to', TO, '--strategy', 'blue-green', '--api-concurrency', '0', '--yes']);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /--api-concurrency: "0" is not a whole number from 1 to 1024/);
    // The whole blue pool is cordoned in one group, two requests at a time.
    const run = await steerRun(fx, {
      to: TO,
      soakMs: 1_000,
      apiConcurrency: 2,
      poolOptions: { strategy: 'blue-green', drainBatchSize: '50%', finalSoakMs: 2_000 },
    });
    await withRun(fx, run, async () => {
      const final = await run.done;
      const events = await run.events();
      assert.equal(final.status.phase, 'succeeded', describeRun(final, events));
      await assertClusterAt(fx.sim, {
        version: TO,
        controlPlane: { version: TO, count: 1 },
        pools: { workers: { version: TO, count: 4 }, other: { version: TO, count: 2 } },
      });
      const workers = (await listNodes(fx.sim)).filter((n) => n.pool === 'workers').map((n) => n.name);
      assert.ok(
        workers.every((n) => !ORIGINAL.includes(n)),
        `the green nodes replaced blue: ${workers.join(', ')}`,
      );
      await assertNoOutage(fx.sim, ['shop/web', 'shop/api', 'infra/cache']);

      // The order of a blue-green move, from the run's own log.
      const phase = 'pool/workers/1.36.1';
      const lastGreenReady = seqOf(
        events,
        'last green Ready',
        (e) => e.step.startsWith(`${phase}/green/`) && actionOf(e) === 'wait-node-ready' && e.outcome === 'succeeded',
        true,
      );
      const greenValidated = seqOf(
        events,
        'green validated',
        (e) => e.step === `${phase}/green` && actionOf(e) === 'validate-batch' && e.outcome === 'succeeded',
      );
      const firstCordon = seqOf(
        events,
        'first blue cordon',
        (e) => e.step.startsWith(`${phase}/cordon-blue/`) && e.outcome === 'started',
      );
      const lastCordon = seqOf(
        events,
        'last blue cordoned',
        (e) => e.step.startsWith(`${phase}/cordon-blue/`) && actionOf(e) === 'cordon' && e.outcome === 'succeeded',
        true,
      );
      const firstDrain = seqOf(
        events,
        'first drain',
        (e) => e.step.startsWith(`${phase}/drain-1/`) && e.outcome === 'started',
      );
      const batchSoaked = seqOf(
        events,
        'drain-1 soaked',
        (e) => e.step === `${phase}/drain-1` && actionOf(e) === 'soak' && e.outcome === 'succeeded',
      );
      const secondDrain = seqOf(
        events,
        'second drain batch',
        (e) => e.step.startsWith(`${phase}/drain-2/`) && e.outcome === 'started',
      );
      const finalSoaked = seqOf(
        events,
        'final soak',
        (e) => e.step === `${phase}/final-soak` && actionOf(e) === 'soak' && e.outcome === 'succeeded',
      );
      const firstDelete = seqOf(
        events,
        'first blue deleted',
        (e) => e.step.startsWith(`${phase}/delete-blue/`) && e.outcome === 'started',
      );
      assert.ok(
        lastGreenReady < greenValidated && greenValidated < firstCordon,
        'green Ready and validated before blue is cordoned',
      );
      assert.ok(lastCordon < firstDrain, 'the whole blue pool is cordoned before the first drain');
      assert.ok(batchSoaked < secondDrain, 'the second drain batch waits for the first one to soak');
      assert.ok(finalSoaked < firstDelete, 'blue is deleted after the final soak');
      const soakStarted = events.find((e) => e.step === `${phase}/final-soak` && actionOf(e) === 'validate-batch');
      assert.equal(soakStarted, undefined, 'the final soak is a soak only');
    });
  });

  for (const [where, gate] of [
    ['a drain batch soak', 'drain-1'],
    ['the final soak', 'final-soak'],
  ] as const) {
    it(`rollback during ${where}: blue uncordoned, green drained back and deleted, no node made, no snapshot`, async () => {
      const fx = await startRolloutFixture(`bg-${gate}`, SCENARIO);
      // Soaks long enough that the rollback lands in them; the rollback ends the soak rather than waiting it out.
      const run = await steerRun(
        fx,
        imageUpgrade({ batchSoakMs: gate === 'drain-1' ? 600_000 : 0, finalSoakMs: 600_000 }),
      );
      await withRun(fx, run, async () => {
        const key = `pool/workers/image-${NEW_IMAGE}/${gate}`;
        await run.waitFor(`the ${gate} soak`, (s) => s.units[key]?.inFlight?.action === 'soak', 60_000);
        const machines = await poolMachines(fx.sim, 'workers');
        assert.equal(machines.length, 8, 'blue and green stand side by side');
        const tainted = (await listNodes(fx.sim)).filter((n) =>
          n.kupTaints.includes('kup.dev/to-be-replaced:PreferNoSchedule'),
        );
        assert.deepEqual(
          tainted.map((n) => n.name).sort(),
          ORIGINAL,
          'the blue nodes carry the PreferNoSchedule taint, green none',
        );
        await run.command('pause');
        const paused = await run.state();
        assert.equal(paused.status.phase, 'paused');
        await run.command('rollback');
        const final: RunState = await run.done;
        const events = await run.events();
        assert.equal(final.status.phase, 'rolled-back', describeRun(final, events));
        assert.equal(final.status.phase === 'rolled-back' ? final.status.mode : '', 'nodes');
        const actions = new Set(events.filter((e) => e.step.startsWith('rollback/')).map(actionOf));
        assert.ok(!actions.has('rollback-node') && !actions.has('restore-snapshot'), [...actions].join(' '));
        const lastUncordon = seqOf(
          events,
          'blue uncordoned',
          (e) => e.step.startsWith('rollback/') && actionOf(e) === 'uncordon' && e.outcome === 'succeeded',
          true,
        );
        const firstGreenDrain = seqOf(
          events,
          'green drained',
          (e) => e.step.startsWith('rollback/') && actionOf(e) === 'drain' && e.outcome === 'succeeded',
        );
        assert.ok(lastUncordon < firstGreenDrain, 'every blue node is uncordoned before green drains back');
        await assertBlueBack(fx);
      });
    });
  }
});
