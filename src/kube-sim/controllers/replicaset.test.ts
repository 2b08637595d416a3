import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { KubeObject } from '../model/wire.ts';
import { jsonEqual } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { createNamespace, createTestRuntime, setPodReady, startFakeKubelet } from '../testing/runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { canonicalJson, computeHash, podsToDelete, scaledValue, startReplicaSetController } from './replicaset.ts';

const NS = 'shop';

let rt: TestRuntime;
let stops: (() => void)[];

beforeEach(() => {
  rt = createTestRuntime();
  createNamespace(rt, NS);
  stops = [startReplicaSetController(rt)];
});

afterEach(() => {
  for (const stop of stops) stop();
  rt.stop();
});

function createReplicaSet(name: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject {
  const labels = { app: name };
  return rt.registry.create(kindDef('ReplicaSet'), NS, {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels: { ...labels, tier: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } },
      ...extra,
    },
  });
}

function rs(name: string): KubeObject {
  return rt.store.mustGet('apps/replicasets', NS, name);
}

function podsOf(owner: KubeObject): KubeObject[] {
  return rt.store.byIndex('core/pods', 'owner', owner.metadata.uid);
}

function live(pods: KubeObject[]): KubeObject[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp);
}

function scale(name: string, replicas: number): void {
  const current = rs(name);
  rt.registry.update(kindDef('ReplicaSet'), NS, name, { ...current, spec: { ...current.spec, replicas } });
}

describe('ReplicaSet controller', () => {
  it('creates the missing pods from the template, owned by the ReplicaSet, and reports status', async () => {
    stops.push(startFakeKubelet(rt));
    const owner = createReplicaSet('web-5d4f8', 3);
    await waitFor(() => rs('web-5d4f8').status?.['availableReplicas'] === 3, { message: 'three available replicas' });

    const pods = podsOf(owner);
    assert.equal(pods.length, 3);
    for (const pod of pods) {
      assert.match(pod.metadata.name, /^web-5d4f8-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.deepEqual(pod.metadata.labels, { app: 'web-5d4f8', tier: 'web' });
      assert.deepEqual(pod.metadata.ownerReferences, [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d4f8', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      assert.equal(pod.spec?.['nodeName'], undefined, 'the ReplicaSet leaves binding to the scheduler');
    }
    assert.deepEqual(rs('web-5d4f8').status, { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
  });

  it('scales up and down, deleting not-ready pods first', async () => {
    stops.push(startFakeKubelet(rt));
    const owner = createReplicaSet('api', 3);
    await waitFor(() => rs('api').status?.['readyReplicas'] === 3, { message: 'three ready replicas' });

    scale('api', 5);
    await waitFor(() => rs('api').status?.['readyReplicas'] === 5, { message: 'five ready replicas' });
    assert.equal(live(podsOf(owner)).length, 5);

    const notReady = podsOf(owner)[2] as KubeObject;
    setPodReady(rt, NS, notReady.metadata.name, false);
    await waitFor(() => rs('api').status?.['readyReplicas'] === 4, { message: 'one pod not ready' });
    scale('api', 4);
    await waitFor(() => podsOf(owner).length === 4, { message: 'four pods' });
    assert.equal(rt.store.get('core/pods', NS, notReady.metadata.name), undefined, 'the not-ready pod goes first');
    assert.equal(rs('api').status?.['replicas'], 4);
  });

  it('replaces a deleted pod with a new one (new name, new UID)', async () => {
    stops.push(startFakeKubelet(rt));
    const owner = createReplicaSet('cart', 2);
    await waitFor(() => rs('cart').status?.['readyReplicas'] === 2, { message: 'two ready replicas' });
    const victim = podsOf(owner)[0] as KubeObject;

    rt.registry.delete(kindDef('Pod'), NS, victim.metadata.name);
    await waitFor(() => rs('cart').status?.['readyReplicas'] === 2 && podsOf(owner).length === 2, { message: 'a replacement' });
    const names = podsOf(owner).map((p) => p.metadata.name);
    const uids = podsOf(owner).map((p) => p.metadata.uid);
    assert.ok(!names.includes(victim.metadata.name));
    assert.ok(!uids.includes(victim.metadata.uid));
  });

  it('replaces a pod as soon as it is terminating, and does not count the terminating one', async () => {
    // No kubelet: pods are bound by hand so deletion is graceful and stays pending.
    const owner = createReplicaSet('queue', 2);
    await waitFor(() => podsOf(owner).length === 2, { message: 'two pods' });
    const victim = podsOf(owner)[0] as KubeObject;
    rt.registry.update(kindDef('Pod'), NS, victim.metadata.name, { ...victim, spec: { ...victim.spec, nodeName: 'node-1' } });

    rt.registry.delete(kindDef('Pod'), NS, victim.metadata.name);
    await waitFor(() => podsOf(owner).length === 3, { message: 'a replacement beside the terminating pod' });
    await rt.idle();
    assert.ok(rt.store.get('core/pods', NS, victim.metadata.name)?.metadata.deletionTimestamp, 'the old pod is still terminating');
    assert.equal(rs('queue').status?.['replicas'], 2);
  });

  it('counts a pod available only after minReadySeconds', async () => {
    stops.push(startFakeKubelet(rt));
    createReplicaSet('slow', 1, { minReadySeconds: 2 });
    await waitFor(() => rs('slow').status?.['readyReplicas'] === 1, { message: 'one ready replica' });
    assert.equal(rs('slow').status?.['availableReplicas'], undefined);
    await waitFor(() => rs('slow').status?.['availableReplicas'] === 1, { message: 'available after minReadySeconds', timeoutMs: 5_000 });
  });

  it('does not touch pods while the ReplicaSet is being deleted in the foreground', async () => {
    stops.push(startFakeKubelet(rt));
    const owner = createReplicaSet('going', 2);
    await waitFor(() => podsOf(owner).length === 2, { message: 'two pods' });
    rt.registry.delete(kindDef('ReplicaSet'), NS, 'going', { propagationPolicy: 'Foreground' });
    rt.registry.delete(kindDef('Pod'), NS, (podsOf(owner)[0] as KubeObject).metadata.name);
    await rt.idle();
    assert.equal(podsOf(owner).length, 1, 'no replacement for a ReplicaSet on its way out');
  });
});

describe('workload helpers', () => {
  it('scales int-or-percent values as upstream rounds them', () => {
    assert.equal(scaledValue('25%', 10, true), 3);
    assert.equal(scaledValue('25%', 10, false), 2);
    assert.equal(scaledValue(2, 10, true), 2);
    assert.equal(scaledValue('0%', 10, true), 0);
  });

  it('compares JSON values as their canonical JSON does, without building it', () => {
    const cases: [unknown, unknown][] = [
      [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }],
      [{ a: 1, gone: undefined }, { a: 1 }],
      [{ a: 1 }, { a: 1, b: 0 }],
      [[1, undefined], [1, null]],
      [[1, 2], [2, 1]],
      [{ a: [] }, { a: {} }],
      [{}, []],
      [{ a: { b: 1 } }, { a: { b: '1' } }],
      [null, {}],
      [{ conditions: [{ type: 'Ready', status: 'True' }] }, { conditions: [{ status: 'True', type: 'Ready' }] }],
    ];
    for (const [a, b] of cases) {
      const same = canonicalJson(a) === canonicalJson(b);
      assert.equal(jsonEqual(a, b), same, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      assert.equal(jsonEqual(b, a), same, `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
    }
  });

  it('computes stable, upstream-looking hashes that change with the collision count', () => {
    const a = computeHash({ spec: { containers: [{ name: 'a' }] }, metadata: { labels: { b: '1', a: '2' } } });
    const b = computeHash({ metadata: { labels: { a: '2', b: '1' } }, spec: { containers: [{ name: 'a' }] } });
    assert.equal(a, b, 'key order does not matter');
    assert.match(a, /^[456789bcdf]{6,10}$/);
    assert.notEqual(computeHash({ x: 1 }, 1), computeHash({ x: 1 }));
  });

  it('ranks pods for deletion: unscheduled, then pending, then not ready, then newest', () => {
    const pod = (name: string, nodeName: string, phase: string, ready: boolean, created: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, uid: name, resourceVersion: '1', creationTimestamp: created },
      spec: nodeName ? { nodeName } : {},
      status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: created }] },
    });
    const pods = [
      pod('old-ready', 'n1', 'Running', true, '2025-01-01T00:00:00Z'),
      pod('new-ready', 'n2', 'Running', true, '2025-01-01T00:05:00Z'),
      pod('not-ready', 'n3', 'Running', false, '2025-01-01T00:00:00Z'),
      pod('pending', 'n4', 'Pending', false, '2025-01-01T00:00:00Z'),
      pod('unscheduled', '', 'Pending', false, '2025-01-01T00:00:00Z'),
    ];
    assert.deepEqual(
      podsToDelete(pods, 5).map((p) => p.metadata.name),
      ['unscheduled', 'pending', 'not-ready', 'new-ready', 'old-ready'],
    );
  });
});
