import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { createNamespace, createTestRuntime, startFakeKubelet } from '../testing/runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { startDeploymentController } from './deployment.ts';
import { startGarbageCollector } from './garbage-collector.ts';
import { startNamespaceController } from './namespace.ts';
import { startReplicaSetController } from './replicaset.ts';
import { startStatefulSetController } from './statefulset.ts';

let rt: TestRuntime;
let stops: (() => void)[];

beforeEach(() => {
  rt = createTestRuntime();
  stops = [
    startNamespaceController(rt),
    startGarbageCollector(rt),
    startDeploymentController(rt),
    startReplicaSetController(rt),
    startStatefulSetController(rt),
    startFakeKubelet(rt, { bindTo: 'node-1' }),
  ];
});

afterEach(() => {
  for (const stop of stops) stop();
  rt.stop();
});

function workload(kind: 'Deployment' | 'StatefulSet', namespace: string, name: string, replicas: number): KubeObject {
  const labels = { app: name };
  return rt.registry.create(kindDef(kind), namespace, {
    metadata: { name },
    spec: { replicas, serviceName: name, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
  });
}

function namespace(name: string): KubeObject | undefined {
  return rt.store.get('core/namespaces', undefined, name);
}

function condition(ns: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  const list = ns?.status?.['conditions'];
  return Array.isArray(list) ? (list as Record<string, unknown>[]).find((c) => c['type'] === type) : undefined;
}

function contentOf(name: string): number {
  let n = 0;
  for (const storage of rt.store.storages()) if (storage !== 'core/namespaces' && storage !== 'core/nodes') n += rt.store.list(storage, { namespace: name }).items.length;
  return n;
}

describe('namespace controller', () => {
  it('deletes everything in a terminating namespace, then the namespace', async () => {
    createNamespace(rt, 'shop');
    createNamespace(rt, 'other');
    workload('Deployment', 'shop', 'web', 3);
    workload('StatefulSet', 'shop', 'db', 2);
    workload('Deployment', 'other', 'keep', 1);
    rt.registry.create(kindDef('ConfigMap'), 'shop', { metadata: { name: 'settings' }, data: { a: '1' } });
    await waitFor(() => rt.store.list('core/pods', { namespace: 'shop' }).items.length === 5, { message: 'five pods in shop' });
    await waitFor(() => rt.store.list('core/pods', { namespace: 'other' }).items.length === 1, { message: 'one pod in other' });

    const result = rt.registry.delete(kindDef('Namespace'), undefined, 'shop');
    assert.equal(result.gone, false);
    assert.equal(namespace('shop')?.status?.['phase'], 'Terminating');

    await waitFor(() => namespace('shop') === undefined, { message: 'the namespace gone' });
    assert.equal(contentOf('shop'), 0);
    assert.equal(rt.store.list('core/pods', { namespace: 'other' }).items.length, 1, 'other namespaces untouched');
  });

  it('waits for content held by a finalizer, and says so in its conditions', async () => {
    createNamespace(rt, 'shop');
    rt.registry.create(kindDef('ConfigMap'), 'shop', { metadata: { name: 'held', finalizers: ['example.com/hold'] }, data: {} });
    rt.registry.create(kindDef('ConfigMap'), 'shop', { metadata: { name: 'free' }, data: {} });
    rt.registry.delete(kindDef('Namespace'), undefined, 'shop');

    await waitFor(() => condition(namespace('shop'), 'NamespaceFinalizersRemaining')?.['status'] === 'True', { message: 'the finalizers condition' });
    await rt.idle();
    const ns = namespace('shop');
    assert.ok(ns, 'the namespace stays while content remains');
    assert.equal(rt.store.get('core/configmaps', 'shop', 'free'), undefined);
    assert.equal(condition(ns, 'NamespaceContentRemaining')?.['message'], 'Some resources are remaining: configmaps has 1 resource instances');
    assert.equal(condition(ns, 'NamespaceFinalizersRemaining')?.['message'], 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances');
    assert.equal(condition(ns, 'NamespaceDeletionContentFailure')?.['status'], 'False');
    assert.deepEqual(ns.spec?.['finalizers'], ['kubernetes']);

    const held = rt.store.mustGet('core/configmaps', 'shop', 'held');
    rt.registry.update(kindDef('ConfigMap'), 'shop', 'held', { ...held, metadata: { ...held.metadata, finalizers: [] } });
    await waitFor(() => namespace('shop') === undefined, { message: 'the namespace gone once the finalizer is removed' });
  });
});
