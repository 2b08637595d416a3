/**
 * The service drives runs through leases and hands them back on a graceful stop: a service stopped in the middle of
 * a run releases its lease at once (it does not wait to expire), and the next service on the same data directory
 * resumes the run to its end. Its bound on runs driven at once is a setting: runs beyond it wait their turn, and by
 * default it is wide enough for a fleet upgraded together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { FAST_TIMINGS } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';
import { DEFAULT_MAX_CONCURRENT_RUNS } from '../../src/engine/supervisor.ts';

const SCENARIO = `
kubernetesVersion: '1.35.5'
pools:
  - name: workers
    nodes: 4
workloads:
  - kind: Deployment
    name: web
    namespace: shop
    replicas: 4
    pdb: { maxUnavailable: 1 }
    nodeSelector: { kup.dev/pool: workers }
${FAST_TIMINGS}
`;

let sim: SimCluster;
let first: TestService | undefined;
let second: TestService | undefined;

before(async () => {
  sim = await startFromYaml(SCENARIO);
});

after(async () => {
  await first?.close().catch(() => undefined);
  await second?.close().catch(() => undefined);
  await sim?.stop();
});

describe('the service supervisor', () => {
  it('hands a run back on a graceful stop, and the next start resumes it to its end', async () => {
    first = await startService();
    const registered = await first.call('POST', '/api/v1/clusters', {
      body: { name: 'shop', provider: 'sim', kubeconfig: sim.kubeconfig },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const created = await first.call('POST', '/api/v1/runs', { body: { cluster: 'shop', to: '1.36.1' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id as string;
    // Stop once the run is among the pools: well past its start, well before its end.
    await waitFor(async () => (await first!.call('GET', `/api/v1/runs/${runId}`)).body.phase === 'upgrading-pools', {
      timeoutMs: 60_000,
      message: 'the run to reach the pools',
    });
    assert.deepEqual(first.service.supervisor.driving, [runId], 'the service drives the run itself');
    const { dataDir, adminToken } = first;
    await first.close();
    first = undefined;
    // Stopped: the lease is released (not left to expire) and the run is still active, to be taken up again.
    const { openSqliteStore } = await import('../../src/persistence/store.ts');
    const store = openSqliteStore({ dataDir });
    try {
      const row = await store.runs.get(runId);
      assert.equal(row?.active, true);
      assert.equal(row?.lease, undefined, 'the lease was released on stop');
    } finally {
      await store.close();
    }
    second = await startService({ dataDir, adminToken });
    await waitFor(async () => (await second!.call('GET', `/api/v1/runs/${runId}`)).body.active === false, {
      timeoutMs: 90_000,
      message: async () =>
        `the resumed run to end: ${JSON.stringify((await second!.call('GET', `/api/v1/runs/${runId}`)).body).slice(0, 600)}; log: ${second!.logs
          .filter((l) => l.includes('"level":50') || l.includes('run'))
          .slice(-5)
          .join(' | ')}`,
    });
    const detail = await second.call('GET', `/api/v1/runs/${runId}`);
    assert.equal(detail.body.phase, 'succeeded', String(detail.body.summary));
    assert.equal((await second.call('GET', '/api/v1/clusters/shop')).body.version, 'v1.36.1');
  });

  it('drives the runs beyond its bound in turn: with a bound of 1, a second run waits until the first ends', async () => {
    const own = await startFromYaml(SCENARIO);
    const service = await startService({ maxConcurrentRuns: 1 });
    try {
      const runs: string[] = [];
      // Two registrations of one cluster: the runs are driven one after the other, never on the cluster together.
      for (const name of ['one', 'two']) {
        const registered = await service.call('POST', '/api/v1/clusters', {
          body: { name, provider: 'sim', kubeconfig: own.kubeconfig },
        });
        assert.equal(registered.status, 201, JSON.stringify(registered.body));
        const created = await service.call('POST', '/api/v1/runs', { body: { cluster: name, to: '1.36.1' } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        runs.push(created.body.id as string);
      }
      const [first, second] = runs;
      assert.deepEqual(service.service.supervisor.driving, [first]);
      assert.deepEqual(service.service.supervisor.queued, [second]);
      await waitFor(async () => (await service.call('GET', `/api/v1/runs/${first}`)).body.active === false, {
        timeoutMs: 90_000,
        message: 'the first run to end',
      });
      assert.equal((await service.call('GET', `/api/v1/runs/${first}`)).body.phase, 'succeeded');
      // Its slot went to the queued run at once.
      assert.deepEqual(service.service.supervisor.queued, []);
      await waitFor(async () => (await service.call('GET', `/api/v1/runs/${second}`)).body.phase !== 'pending', {
        timeoutMs: 30_000,
        message: 'the second run to be taken up',
      });
    } finally {
      await service.close();
      await own.stop();
    }
  });

  it(`drives more than the old bound of 16 runs at once by default (${DEFAULT_MAX_CONCURRENT_RUNS})`, async () => {
    const own = await startFromYaml(SCENARIO);
    // The runs are created by a service that drives none (a bound of 0: all 17 queue, the cluster stays as it is),
    // and taken up together by the next one's start: its first scan hands every active run to the supervisor at once.
    const creator = await startService({ maxConcurrentRuns: 0 });
    let taker: TestService | undefined;
    try {
      const runs: string[] = [];
      // One cluster registered under 17 names: the bound counts runs (the service stops before they meet on it).
      for (let i = 0; i < 17; i++) {
        const registered = await creator.call('POST', '/api/v1/clusters', {
          body: { name: `fleet-${i}`, provider: 'sim', kubeconfig: own.kubeconfig },
        });
        assert.equal(registered.status, 201, JSON.stringify(registered.body));
        const created = await creator.call('POST', '/api/v1/runs', { body: { cluster: `fleet-${i}`, to: '1.36.1' } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        runs.push(created.body.id as string);
      }
      assert.equal(creator.service.supervisor.queued.length, 17, 'the creator queues every run');
      const { dataDir, adminToken } = creator;
      await creator.close();
      taker = await startService({ dataDir, adminToken });
      assert.deepEqual(taker.service.supervisor.queued, []);
      assert.deepEqual([...taker.service.supervisor.driving].sort(), [...runs].sort());
    } finally {
      await creator.close().catch(() => undefined);
      await taker?.close();
      await own.stop();
    }
  });
});
