/**
 * A batch's validation round on kube-sim: what it finds wrong with the batch's nodes, read by their hostname label,
 * or by name when the label says otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../kube-api/connect.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import type { SimCluster } from '../../kube-sim/sim-cluster.ts';
import { partialApi } from '../../../test/helpers/partial-api.ts';
import { api, requestCount, startFromYaml } from '../../../test/helpers/sim.ts';
import { systemClock } from '../../clock/clock.ts';
import { waitFor } from '../../clock/wait-for.ts';
import { BatchWorkloadsFailingError, validateBatch, validationProblems } from './validate.ts';

const SCENARIO = `
name: validate
kubernetesVersion: '1.31.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 4 }
timings: { zeroDelay: true }
`;

const never = (): AbortSignal => new AbortController().signal;

describe('validationProblems', () => {
  let cluster: SimCluster;
  let conn: ClusterConnection;

  before(async () => {
    cluster = await startFromYaml(SCENARIO);
    conn = connect({ kubeconfig: cluster.kubeconfig });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('finds nothing wrong with Ready, schedulable nodes, reading only the batch', async () => {
    const before = await requestCount(cluster, { verb: 'LIST', resource: 'nodes' });
    assert.deepEqual(await validationProblems(conn, ['workers-0', 'workers-1'], never()), []);
    assert.equal((await requestCount(cluster, { verb: 'LIST', resource: 'nodes' })) - before, 1, 'one list for the batch');
  });

  it('names a cordoned node, a missing one, and one whose hostname label is not its name', async () => {
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    assert.equal((await api(cluster, 'PATCH', '/api/v1/nodes/workers-2', { spec: { unschedulable: true } }, merge)).status, 200);
    assert.equal((await api(cluster, 'PATCH', '/api/v1/nodes/workers-3', { metadata: { labels: { 'kubernetes.io/hostname': 'ip-10-0-0-3' } }, spec: { unschedulable: true } }, merge)).status, 200);
    const long = `workers-${'x'.repeat(70)}`;
    const problems = await validationProblems(conn, ['workers-0', 'workers-2', 'workers-3', 'workers-gone', long], never());
    assert.deepEqual(
      problems.filter((p) => p.kind === 'node'),
      [
        { kind: 'node', name: 'workers-2', message: 'still cordoned' },
        { kind: 'node', name: 'workers-3', message: 'still cordoned' },
        { kind: 'node', name: 'workers-gone', message: 'not found' },
        { kind: 'node', name: long, message: 'not found' },
      ],
    );
  });

  it('fails the batch at once on a pod of its nodes that crash-loops, unless its workload was failing before', async () => {
    const faults = await api(cluster, 'PUT', '/sim/v1/faults', { containerFaults: [{ image: 'shop/cart:*', failure: 'crash-loop', exitAfterMs: 0 }] });
    assert.equal(faults.status, 200);
    const pod = { metadata: { name: 'cart' }, spec: { nodeName: 'workers-1', containers: [{ name: 'app', image: 'shop/cart:2' }] } };
    assert.equal((await api(cluster, 'POST', '/api/v1/namespaces/default/pods', pod)).status, 201);
    await waitFor(async () => JSON.stringify((await api(cluster, 'GET', '/api/v1/namespaces/default/pods/cart')).body).includes('CrashLoopBackOff'), {
      message: 'cart in CrashLoopBackOff',
    });
    await assert.rejects(validateBatch(conn, ['workers-1'], 60_000, systemClock, never()), (err: unknown) => {
      assert.ok(err instanceof BatchWorkloadsFailingError);
      assert.equal(
        err.message,
        'KUP-ENGINE-008: pods on the upgraded nodes are failing: container app of pod default/cart: CrashLoopBackOff (0 restarts) on workers-1; their workloads were not failing before the upgrade',
      );
      assert.deepEqual(err.failures.map((f) => [f.pod, f.node, f.workload, f.failure.container, f.failure.reason]), [
        ['default/cart', 'workers-1', 'Pod/default/cart', 'app', 'CrashLoopBackOff'],
      ]);
      return true;
    });
    // Failing before the upgrade: not the batch's fault, and it holds nothing else.
    await validateBatch(conn, ['workers-1'], 60_000, systemClock, never(), ['Pod/default/cart']);
    // Another batch's nodes do not answer for it.
    await validateBatch(conn, ['workers-0'], 60_000, systemClock, never());
  });
});

describe('validateBatch on a server that serves no PodDisruptionBudgets', () => {
  let cluster: SimCluster;
  let conn: ClusterConnection;

  before(async () => {
    // A budget that can never be met (minAvailable 2 of 1 replica): it holds every batch of a server that has it.
    cluster = await startFromYaml(`${SCENARIO}workloads:\n  - { kind: Deployment, name: web, replicas: 1, pdb: { minAvailable: 2 } }\n`);
    conn = connect({ kubeconfig: cluster.kubeconfig });
    await waitFor(async () => ((await api(cluster, 'GET', '/apis/policy/v1/namespaces/default/poddisruptionbudgets/web')).body as { status?: { expectedPods?: number } }).status?.expectedPods === 1, {
      message: 'the budget to count its pod',
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('waits on the budget where policy is served, and reads none where discovery lists no policy group', async () => {
    await assert.rejects(validateBatch(conn, ['workers-0'], 300, systemClock, never()), /pdb default\/web: 1 healthy pods, needs 2/);
    const before = await requestCount(cluster, { verb: 'LIST', resource: 'poddisruptionbudgets' });
    await validateBatch(partialApi(conn), ['workers-0'], 300, systemClock, never());
    assert.equal(await requestCount(cluster, { verb: 'LIST', resource: 'poddisruptionbudgets' }), before, 'no budget read');
  });
});
