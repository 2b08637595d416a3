import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { createNamespace, createTestRuntime, startFakeKubelet } from '../testing/runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { startDeploymentController } from './deployment.ts';
import { startGarbageCollector } from './garbage-collector.ts';
import { startReplicaSetController } from './replicaset.ts';

const NS = 'shop';

let rt: TestRuntime;
let stops: (() => void)[];

beforeEach(() => {
  rt = createTestRuntime();
  createNamespace(rt, NS);
  stops = [startDeploymentController(rt), startReplicaSetController(rt), startGarbageCollector(rt), startFakeKubelet(rt, { bindTo: 'node-1' })];
});

afterEach(() => {
  for (const stop of stops) stop();
  rt.stop();
});

async function deploymentWithPods(name: string, replicas: number): Promise<{ d: KubeObject; rs: KubeObject; pods: KubeObject[] }> {
  const labels = { app: name };
  const d = rt.registry.create(kindDef('Deployment'), NS, {
    metadata: { name },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
  });
  await waitFor(() => rt.store.mustGet('apps/deployments', NS, name).status?.['availableReplicas'] === replicas, { message: `${name} available` });
  const rs = rt.store.byIndex('apps/replicasets', 'owner', d.metadata.uid)[0] as KubeObject;
  return { d, rs, pods: rt.store.byIndex('core/pods', 'owner', rs.metadata.uid) };
}

/** The DELETED events of the test, as `kind/name`, in order. */
function recordDeletions(): string[] {
  const out: string[] = [];
  stops.push(
    rt.store.subscribe((event) => {
      if (event.type === 'DELETED' && event.storage !== 'core/events') out.push(`${event.object.kind}/${event.object.metadata.name}`);
    }),
  );
  return out;
}

function gone(storage: string, obj: KubeObject): boolean {
  return rt.store.get(storage, obj.metadata.namespace, obj.metadata.name)?.metadata.uid !== obj.metadata.uid;
}

describe('garbage collector', () => {
  it('background: deletes the ReplicaSet and pods after the Deployment is gone', async () => {
    const { d, rs, pods } = await deploymentWithPods('web', 3);
    const deletions = recordDeletions();
    const result = rt.registry.delete(kindDef('Deployment'), NS, 'web', { propagationPolicy: 'Background' });
    assert.equal(result.gone, true, 'the owner goes at once');

    await waitFor(() => pods.every((p) => gone('core/pods', p)) && gone('apps/replicasets', rs), { message: 'dependents gone' });
    assert.equal(deletions[0], `Deployment/${d.metadata.name}`);
    assert.equal(deletions[1], `ReplicaSet/${rs.metadata.name}`);
    assert.equal(deletions.length, 5);
  });

  it('foreground: the Deployment waits, with its finalizer, until pods and ReplicaSet are gone', async () => {
    const { rs, pods } = await deploymentWithPods('web', 3);
    const deletions = recordDeletions();
    const result = rt.registry.delete(kindDef('Deployment'), NS, 'web', { propagationPolicy: 'Foreground' });
    assert.equal(result.gone, false);
    assert.deepEqual(result.object.metadata.finalizers, ['foregroundDeletion']);

    await waitFor(() => rt.store.get('apps/deployments', NS, 'web') === undefined, { message: 'the deployment gone' });
    const podNames = pods.map((p) => `Pod/${p.metadata.name}`).sort();
    assert.deepEqual(deletions.slice(0, 3).sort(), podNames, 'pods first');
    assert.deepEqual(deletions.slice(3), [`ReplicaSet/${rs.metadata.name}`, 'Deployment/web']);
  });

  it('orphan: dependents lose the owner reference and stay', async () => {
    const labels = { app: 'solo' };
    const rs = rt.registry.create(kindDef('ReplicaSet'), NS, {
      metadata: { name: 'solo' },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
    });
    await waitFor(() => rt.store.byIndex('core/pods', 'owner', rs.metadata.uid).length === 2, { message: 'two pods' });
    const pods = rt.store.byIndex('core/pods', 'owner', rs.metadata.uid);
    rt.registry.delete(kindDef('ReplicaSet'), NS, rs.metadata.name, { propagationPolicy: 'Orphan' });
    await waitFor(() => gone('apps/replicasets', rs), { message: 'the ReplicaSet gone' });
    await rt.idle();
    for (const pod of pods) {
      const now = rt.store.get('core/pods', NS, pod.metadata.name);
      assert.ok(now, `${pod.metadata.name} kept`);
      assert.equal(now.metadata.ownerReferences, undefined);
    }
  });

  it('deletes an object created with an owner that does not exist', async () => {
    const pod = rt.registry.create(kindDef('ConfigMap'), NS, {
      metadata: { name: 'stray', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nope', uid: 'no-such-uid', controller: true }] },
      data: {},
    });
    await waitFor(() => gone('core/configmaps', pod), { message: 'the stray object collected' });
  });

  it('drops a dead owner reference but keeps an object another owner still holds', async () => {
    const { d } = await deploymentWithPods('web', 1);
    const cm = rt.registry.create(kindDef('ConfigMap'), NS, {
      metadata: {
        name: 'shared',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid },
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gone', uid: 'gone-uid' },
        ],
      },
      data: {},
    });
    await waitFor(() => rt.store.get('core/configmaps', NS, 'shared')?.metadata.ownerReferences?.length === 1, { message: 'the dead reference dropped' });
    assert.equal(rt.store.get('core/configmaps', NS, 'shared')?.metadata.uid, cm.metadata.uid);
  });
});

describe('garbage collector with the workload controllers', () => {
  it('orphaned pods are adopted back by the ReplicaSet the Deployment makes again', async () => {
    const { d, rs, pods } = await deploymentWithPods('web', 2);
    rt.registry.delete(kindDef('ReplicaSet'), NS, rs.metadata.name, { propagationPolicy: 'Orphan' });
    await waitFor(() => {
      const again = rt.store.get('apps/replicasets', NS, rs.metadata.name);
      return again !== undefined && again.metadata.uid !== rs.metadata.uid && again.status?.['availableReplicas'] === 2;
    }, { message: 'the ReplicaSet made again' });
    await rt.idle();
    const again = rt.store.mustGet('apps/replicasets', NS, rs.metadata.name);
    const now = rt.store.byIndex('core/pods', 'owner', again.metadata.uid);
    assert.deepEqual(now.map((p) => p.metadata.uid).sort(), pods.map((p) => p.metadata.uid).sort(), 'the same pods, adopted');
    assert.equal(again.metadata.ownerReferences?.[0]?.uid, d.metadata.uid);
  });
});
