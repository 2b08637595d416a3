// The service's availability sampler against a kube-sim cluster: each PDB's healthy pods and floor, at once and then
// every interval of the (manual) clock, appended to the run's events; nothing more once it is stopped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { OpenCluster } from '../../src/engine/runs.ts';
import { connect } from '../../src/kube-api/connect.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { NewRunEvent } from '../../src/persistence/events-repo.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import { AVAILABILITY_STEP, AvailabilitySampler, pdbSamples } from '../../src/server/availability-sampler.ts';
import { startFromYaml } from '../helpers/sim.ts';

const SCENARIO = `
name: sampled
kubernetesVersion: '1.35.5'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 3, pdb: { minAvailable: 2 } }
  - { kind: Deployment, name: api, namespace: app, replicas: 2, pdb: { maxUnavailable: 1 } }
`;

describe('availability sampler', () => {
  let sim: SimCluster;
  before(async () => {
    sim = await startFromYaml(SCENARIO);
  });
  after(async () => {
    await sim.stop();
  });

  it('reads a budget only once its controller has counted it', () => {
    assert.deepEqual(pdbSamples([{ metadata: { namespace: 'a', name: 'b' } }]), []);
  });

  it('samples every PDB at once and each interval, and stops', async () => {
    const clock = new ManualClock();
    const appended: { run: string; events: readonly NewRunEvent[] }[] = [];
    const store = {
      events: {
        append: (run: string, events: readonly NewRunEvent[]) => {
          appended.push({ run, events });
          return Promise.resolve([]);
        },
      },
    } as unknown as KupStore;
    const failures: unknown[] = [];
    const open = { conn: connect({ kubeconfig: sim.kubeconfig }) } as unknown as OpenCluster;
    const sampler = new AvailabilitySampler({
      store,
      clock,
      everyMs: 5000,
      openCluster: (cluster) => {
        assert.equal(cluster, 'sampled');
        return Promise.resolve(open);
      },
      failed: (_run, _cluster, err) => failures.push(err),
    });
    // The PDBs' status is written by kube-sim's disruption controller once the pods are up.
    await waitFor(async () => (await samplesNow()).every((s) => s.currentHealthy > 0), {
      message: 'the PDBs to count their pods',
    });

    sampler.start('run-1', 'sampled');
    await waitFor(() => appended.length === 1, { message: 'the first sample at once' });
    const first = appended[0];
    assert.equal(first?.run, 'run-1');
    assert.equal(first.events[0]?.step, AVAILABILITY_STEP);
    assert.equal(first.events[0]?.at, clock.now());
    assert.deepEqual(first.events[0]?.data, {
      pdbs: [
        { pdb: 'app/api', currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 },
        { pdb: 'shop/web', currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 },
      ],
    });
    assert.equal(first.events[0]?.message, 'app/api 2/1, shop/web 3/2');

    await clock.advance(4999);
    assert.equal(appended.length, 1, 'no sample before the interval');
    await clock.advance(1);
    await waitFor(() => appended.length === 2, { message: 'a second sample after the interval' });

    await sampler.stop('run-1');
    await clock.advance(20_000);
    assert.equal(appended.length, 2, 'nothing once stopped');
    assert.deepEqual(failures, []);

    async function samplesNow() {
      const list = await open.conn.policy.listPodDisruptionBudgetForAllNamespaces({});
      return pdbSamples(list.items);
    }
  });

  it('says once that sampling fails while the cluster does not answer, and once that it samples again', async () => {
    const clock = new ManualClock();
    let attempts = 0;
    let stored = 0;
    const store = {
      events: {
        append: () => {
          if (++attempts <= 3) return Promise.reject(new Error('503 Service Unavailable'));
          stored++;
          return Promise.resolve([]);
        },
      },
    } as unknown as KupStore;
    const said: string[] = [];
    const sampler = new AvailabilitySampler({
      store,
      clock,
      everyMs: 1000,
      openCluster: () => Promise.resolve({ conn: connect({ kubeconfig: sim.kubeconfig }) } as unknown as OpenCluster),
      failed: (run, _cluster, err) => said.push(`${run} failed: ${(err as Error).message}`),
      recovered: (run, _cluster, missed) => said.push(`${run} again after ${missed}`),
    });
    sampler.start('run-2', 'sampled');
    // Five intervals: three refused, then two stored; each attempt waited for before the clock moves on.
    for (let i = 1; i <= 5; i++) {
      await waitFor(() => attempts === i, { message: `attempt ${i}` });
      if (i < 5) await clock.advance(1000);
    }
    await waitFor(() => stored === 2, { message: 'two samples stored' });
    await sampler.stop('run-2');
    assert.deepEqual(said, ['run-2 failed: 503 Service Unavailable', 'run-2 again after 3']);
  });
});
