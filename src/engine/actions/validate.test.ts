/**
 * A batch's validation round on kube-sim: what it finds wrong with the batch's nodes, read by their hostname label,
 * or by name when the label says otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../kube-api/connect.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import type { SimCluster } from '../../kube-sim/sim-cluster.ts';
import { api, requestCount, startFromYaml } from '../../../test/helpers/sim.ts';
import { validationProblems } from './validate.ts';

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
});
