/**
 * The service drives runs through leases and hands them back on a graceful stop: a service stopped in the middle of
 * a run releases its lease at once (it does not wait to expire), and the next service on the same data directory
 * resumes the run to its end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { FAST_TIMINGS } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';

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
});
