import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testNode, testPdb, testPod, testSnapshot } from '../checks/test-fixtures.ts';
import { testCatalog } from '../versions/test-catalog.ts';
import { apisInUseOf, healthOf, parseMachineImage, poolFactsOf } from './upgrade-facts.ts';

describe('upgrade facts read from a cluster snapshot', () => {
  it('names the removed APIs in use, from last-applied configurations and from clients’ requests', () => {
    const snapshot = testSnapshot({
      lastApplied: [
        { kind: 'Widget', namespace: 'shop', name: 'till', apiVersion: 'example.k8s.io/v1beta1' },
        { kind: 'Widget', namespace: 'shop', name: 'cart', apiVersion: 'example.k8s.io/v1beta1' },
        { kind: 'Widget', namespace: 'shop', name: 'new', apiVersion: 'example.k8s.io/v1' },
      ],
    });
    assert.deepEqual(apisInUseOf(snapshot, testCatalog()), [
      { apiVersion: 'example.k8s.io/v1beta1', kind: 'Widget', objects: ['shop/cart', 'shop/till'] },
    ]);
    const requested = testSnapshot({
      deprecatedApiRequests: [
        { group: 'example.k8s.io', version: 'v1beta1', resource: 'widgets', subresource: '', removedRelease: '1.32' },
      ],
    });
    assert.deepEqual(apisInUseOf(requested, testCatalog()), [
      { apiVersion: 'example.k8s.io/v1beta1', kind: 'Widget', objects: [] },
    ]);
  });

  it('reads health by workload: failing and Pending pods, PDBs below their desired healthy pods, nodes not Ready', () => {
    const snapshot = testSnapshot({
      nodes: [testNode('w-0'), testNode('w-1', { ready: 'Unknown' })],
      pods: [
        {
          ...testPod('cart-1', { owner: 'ReplicaSet/cart-7d9' }),
          failures: [{ container: 'app', reason: 'CrashLoopBackOff', restarts: 7 }],
        },
        testPod('db-0', { owner: 'StatefulSet/db', phase: 'Pending' }),
        testPod('web-1', { owner: 'ReplicaSet/web-5c4' }),
      ],
      pdbs: [testPdb('db', { status: { currentHealthy: 1, desiredHealthy: 2 } }), testPdb('web')],
    });
    const health = healthOf(snapshot);
    assert.deepEqual(health.pending, ['StatefulSet/default/db']);
    assert.deepEqual(health.unhealthyPdbs, ['default/db']);
    assert.deepEqual(health.notReadyNodes, ['w-1']);
    assert.equal(health.crashLooping.length, 1);
    assert.match(health.crashLooping[0] ?? '', /cart/);
  });

  it('reads a machine image reference as name:version, or not at all', () => {
    assert.deepEqual(parseMachineImage('ubuntu-22.04:22.04.5'), { name: 'ubuntu-22.04', version: '22.04.5' });
    assert.equal(parseMachineImage('img-1.30.4'), undefined);
    assert.equal(parseMachineImage('ubuntu:'), undefined);
  });

  it('reads a pool half-way through a run as its oldest node runs, not as its template says', () => {
    const node = (name: string, kubeletVersion: string, machineImage: string) => ({
      node: name,
      kubeletVersion,
      machineImage,
    });
    const pool = {
      name: 'general',
      kubeletVersion: 'v1.33.10',
      machineImage: 'ubuntu:22.04.5',
      nodes: [
        node('w-1', 'v1.33.10', 'ubuntu:22.04.5'),
        node('w-2', 'v1.33.9', 'ubuntu:22.04.4'),
        node('w-3', 'v1.33.10', 'ubuntu:22.04.3'),
      ],
    };
    assert.deepEqual(poolFactsOf(pool), {
      name: 'general',
      version: '1.33.9',
      image: { name: 'ubuntu', version: '22.04.3' },
    });
    // Every node at the template: the template's facts.
    const done = { ...pool, nodes: [node('w-1', 'v1.33.10', 'ubuntu:22.04.5')] };
    assert.deepEqual(poolFactsOf(done), {
      name: 'general',
      version: '1.33.10',
      image: { name: 'ubuntu', version: '22.04.5' },
    });
    // No nodes (scaled to zero): the template's.
    assert.deepEqual(poolFactsOf({ ...pool, nodes: [] }).image, { name: 'ubuntu', version: '22.04.5' });
    // An image kup can't read on the nodes left behind: no image facts to move them by.
    assert.equal(
      poolFactsOf({ ...pool, machineImage: 'ami-123', nodes: [node('w-1', 'v1.33.10', 'ami-000')] }).image,
      undefined,
    );
  });
});
