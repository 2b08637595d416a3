/**
 * Waiting for a node on kube-sim: a replacement the provider has only named yet (it registers once booted), through
 * injected API errors, and the reason a wait that times out gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../kube-api/connect.ts';
import { systemClock } from '../../clock/clock.ts';
import type { SimCluster } from '../../kube-sim/sim-cluster.ts';
import { api, requestCount, startFromYaml } from '../../../test/helpers/sim.ts';
import { ClusterSession } from '../cluster-session.ts';
import type { V1Node, V1NodeSystemInfo } from '@kubernetes/client-node';
import { NodeWaitTimeout, nodeNotReadyReason, waitForNodeReady } from './node-wait.ts';
import { readyTarget } from './perform.ts';

const SCENARIO = `
name: node-wait
kubernetesVersion: '1.31.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2, kubeletVersion: '1.30.4' }
timings: { zeroDelay: true, nodeBoot: 400ms }
`;

const never = (): AbortSignal => new AbortController().signal;

describe('waitForNodeReady', () => {
  let cluster: SimCluster;
  let session: ClusterSession;

  before(async () => {
    cluster = await startFromYaml(SCENARIO);
    session = new ClusterSession({ cluster: 'node-wait', conn: connect({ kubeconfig: cluster.kubeconfig }), clock: systemClock });
  });
  after(async () => {
    await session?.close();
    await cluster?.stop();
  });

  it('waits for a replacement to register and be Ready at its version, through API errors', async () => {
    const replaced = await api(cluster, 'POST', '/sim/v1/nodes/workers-0/replace', { version: '1.31.2', idempotencyKey: 'wait-1' });
    assert.equal(replaced.status, 202, JSON.stringify(replaced.body));
    const newNode = (replaced.body as { newNode: { name: string } }).newNode.name;
    assert.equal((await api(cluster, 'GET', `/api/v1/nodes/${newNode}`)).status, 404, 'not registered while it boots');
    // Every API request fails for the first second of the wait, then the API recovers.
    assert.equal((await api(cluster, 'PUT', '/sim/v1/faults', { apiErrorRate: 1 })).status, 200);
    const recover = setTimeout(() => void api(cluster, 'PUT', '/sim/v1/faults', { apiErrorRate: 0 }), 1_000);
    try {
      await waitForNodeReady(session, newNode, { version: '1.31.2' }, 20_000, never());
    } finally {
      clearTimeout(recover);
      await api(cluster, 'PUT', '/sim/v1/faults', { apiErrorRate: 0 });
    }
    const node = (await api(cluster, 'GET', `/api/v1/nodes/${newNode}`)).body as {
      status: { nodeInfo: { kubeletVersion: string }; conditions: { type: string; status: string }[] };
    };
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.31.2');
    assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.ok((await requestCount(cluster, { resource: 'nodes', code: '500' })) > 0, 'some reads of the node failed');
  });

  it('times out naming why: not registered, or the wrong kubelet', async () => {
    await assert.rejects(waitForNodeReady(session, 'workers-nope', {}, 300, never()), (err: unknown) => {
      assert.ok(err instanceof NodeWaitTimeout);
      assert.match(err.message, /^KUP-ENGINE-002: node workers-nope was not ready after 0s: not registered$/);
      return true;
    });
    await assert.rejects(waitForNodeReady(session, 'workers-1', { version: '1.31.2' }, 300, never()), /workers-1 .*: kubelet v1\.30\.4, expected v1\.31\.2$/);
  });

  it('names what the node shows last: a replacement that registers but never becomes Ready', async () => {
    assert.equal((await api(cluster, 'PUT', '/sim/v1/faults', { nodesNeverReady: ['workers-1'] })).status, 200);
    const replaced = await api(cluster, 'POST', '/sim/v1/nodes/workers-1/replace', { version: '1.31.2', idempotencyKey: 'wait-2' });
    const newNode = (replaced.body as { newNode: { name: string } }).newNode.name;
    await assert.rejects(waitForNodeReady(session, newNode, { version: '1.31.2' }, 1_500, never()), (err: unknown) => {
      assert.ok(err instanceof NodeWaitTimeout);
      assert.match(err.message, new RegExp(`^KUP-ENGINE-002: node ${newNode} was not ready after 2s: Ready=`));
      return true;
    });
  });

  it('stops at once when its signal aborts', async () => {
    const controller = new AbortController();
    const waiting = waitForNodeReady(session, 'workers-nope', {}, 60_000, controller.signal);
    const reason = new Error('run paused');
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    await assert.rejects(waiting, (err: unknown) => err === reason);
    assert.ok(Date.now() - started < 2_000, 'aborted within the watch slice');
  });
});

describe('waitForNodeReady, many at once', () => {
  it('waits share one watch of the nodes: one WATCH and one list of the collection for all of them', async () => {
    const cluster = await startFromYaml(SCENARIO.replace('nodes: 2,', 'nodes: 3,'));
    try {
      const session = new ClusterSession({ cluster: 'many', conn: connect({ kubeconfig: cluster.kubeconfig }), clock: systemClock });
      const count = (verb: string) => requestCount(cluster, { verb, resource: 'nodes' });
      const [watches, lists, reads] = [await count('WATCH'), await count('LIST'), await count('GET')];
      const replacements: string[] = [];
      for (const node of ['workers-0', 'workers-1', 'workers-2']) {
        const replaced = await api(cluster, 'POST', `/sim/v1/nodes/${node}/replace`, { version: '1.31.2', idempotencyKey: `many-${node}` });
        assert.equal(replaced.status, 202, JSON.stringify(replaced.body));
        replacements.push((replaced.body as { newNode: { name: string } }).newNode.name);
      }
      await Promise.all(replacements.map((node) => waitForNodeReady(session, node, { version: '1.31.2' }, 20_000, never())));
      assert.deepEqual([(await count('WATCH')) - watches, (await count('LIST')) - lists], [1, 1]);
      // Each wait reads its node when it starts, and once more if it started before the watch knew where to begin.
      const read = (await count('GET')) - reads;
      assert.ok(read >= 3 && read <= 6, `${read} reads`);
      await session.close();
    } finally {
      await cluster.stop();
    }
  });
});

describe('what a replacement must report to count as ready', () => {
  const node = (osImage: string): V1Node => ({
    metadata: { name: 'w-1' },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      nodeInfo: { kubeletVersion: 'v1.33.2', osImage } as V1NodeSystemInfo,
    },
  });
  const target = { version: '1.33.2', image: 'DevMachineTemplate/default/workers-v2' };

  it('holds a node to the target image where nodes report the image they boot from', () => {
    const ready = readyTarget(target, {});
    assert.equal(nodeNotReadyReason(node('ubuntu:22.04.4'), ready), 'image ubuntu:22.04.4, expected DevMachineTemplate/default/workers-v2');
  });

  it("holds it to its version only where the image is the provider's template (Cluster API)", () => {
    const ready = readyTarget(target, { nodesReportImage: false });
    assert.deepEqual(ready, { version: '1.33.2' });
    assert.equal(nodeNotReadyReason(node('Ubuntu 22.04.4 LTS'), ready), undefined);
    assert.match(nodeNotReadyReason({ ...node('x'), status: { ...node('x').status, nodeInfo: { kubeletVersion: 'v1.32.9' } as V1NodeSystemInfo } }, ready) ?? '', /kubelet v1.32.9, expected v1.33.2/);
  });
});
