import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { createNamespace, createTestRuntime, startFakeKubelet } from '../testing/runtime.ts';
import type { FakeKubeletOptions, TestRuntime } from '../testing/runtime.ts';
import { isPodRunningAndReady } from './replicaset.ts';
import { startStatefulSetController } from './statefulset.ts';

const NS = 'db';

let rt: TestRuntime;
let stops: (() => void)[];

beforeEach(() => {
  rt = createTestRuntime();
  createNamespace(rt, NS);
  stops = [startStatefulSetController(rt)];
});

afterEach(() => {
  for (const stop of stops) stop();
  rt.stop();
});

function kubelet(options: FakeKubeletOptions = {}): void {
  stops.push(startFakeKubelet(rt, { bindTo: 'node-1', ...options }));
}

function createStatefulSet(name: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject {
  const labels = { app: name };
  return rt.registry.create(kindDef('StatefulSet'), NS, {
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'db', image: 'postgres:15' }] } },
      ...extra,
    },
  });
}

function sts(name: string): KubeObject {
  return rt.store.mustGet('apps/statefulsets', NS, name);
}

function pod(name: string): KubeObject | undefined {
  return rt.store.get('core/pods', NS, name);
}

function podNames(name: string): string[] {
  return rt.store
    .byIndex('core/pods', 'owner', sts(name).metadata.uid)
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.name)
    .sort();
}

function update(name: string, change: (spec: Record<string, unknown>) => Record<string, unknown>): void {
  const s = sts(name);
  rt.registry.update(kindDef('StatefulSet'), NS, name, { ...s, spec: change(s.spec ?? {}) });
}

function setImage(name: string, image: string): void {
  update(name, (spec) => {
    const template = spec['template'] as { metadata: unknown; spec: Record<string, unknown> };
    return { ...spec, template: { ...template, spec: { ...template.spec, containers: [{ name: 'db', image }] } } };
  });
}

function ready(name: string, replicas: number): boolean {
  const s = sts(name).status ?? {};
  return s['observedGeneration'] === sts(name).metadata.generation && s['readyReplicas'] === replicas && s['replicas'] === replicas && s['updateRevision'] === s['currentRevision'];
}

describe('StatefulSet controller', () => {
  it('creates ordinals in order, each once its predecessor is Running and Ready (OrderedReady)', async () => {
    kubelet({ startMs: 10 });
    const created: { name: string; predecessorReady: boolean }[] = [];
    const stop = rt.store.subscribe((event) => {
      if (event.storage !== 'core/pods' || event.type !== 'ADDED') return;
      const ordinal = Number(event.object.metadata.name.split('-').pop());
      const before = ordinal === 0 ? undefined : pod(`pg-${ordinal - 1}`);
      created.push({ name: event.object.metadata.name, predecessorReady: ordinal === 0 || (before !== undefined && isPodRunningAndReady(before)) });
    });
    const owner = createStatefulSet('pg', 3);
    await waitFor(() => ready('pg', 3), { message: 'three ready replicas' });
    stop();

    assert.deepEqual(created, [
      { name: 'pg-0', predecessorReady: true },
      { name: 'pg-1', predecessorReady: true },
      { name: 'pg-2', predecessorReady: true },
    ]);
    const p1 = pod('pg-1');
    assert.equal(p1?.spec?.['hostname'], 'pg-1');
    assert.equal(p1?.spec?.['subdomain'], 'pg');
    assert.equal(p1?.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'pg-1');
    assert.equal(p1?.metadata.labels?.['apps.kubernetes.io/pod-index'], '1');
    assert.equal(p1?.metadata.ownerReferences?.[0]?.uid, owner.metadata.uid);
    const status = sts('pg').status ?? {};
    assert.equal(status['replicas'], 3);
    assert.equal(status['readyReplicas'], 3);
    assert.equal(status['availableReplicas'], 3);
    assert.equal(status['currentReplicas'], 3);
    assert.equal(status['updatedReplicas'], 3);
    assert.equal(status['collisionCount'], 0);
    assert.match(String(status['currentRevision']), /^pg-[456789bcdf]+$/);
    assert.equal(p1?.metadata.labels?.['controller-revision-hash'], status['currentRevision']);
  });

  it('does not create ordinal 1 while ordinal 0 is not Ready', async () => {
    kubelet({ skip: () => true });
    createStatefulSet('pg', 3);
    await waitFor(() => pod('pg-0') !== undefined, { message: 'pg-0' });
    await rt.idle();
    assert.deepEqual(podNames('pg'), ['pg-0']);
  });

  it('creates every ordinal at once with podManagementPolicy Parallel', async () => {
    kubelet({ skip: () => true });
    createStatefulSet('cache', 3, { podManagementPolicy: 'Parallel' });
    await waitFor(() => podNames('cache').length === 3, { message: 'three pods' });
    assert.deepEqual(podNames('cache'), ['cache-0', 'cache-1', 'cache-2']);
  });

  it('recreates a deleted pod under the same name with a new UID once the old one is gone', async () => {
    kubelet();
    createStatefulSet('pg', 2);
    await waitFor(() => ready('pg', 2), { message: 'two ready replicas' });
    const old = pod('pg-1') as KubeObject;
    const adds: string[] = [];
    const stop = rt.store.subscribe((event) => {
      if (event.storage === 'core/pods') adds.push(`${event.type} ${event.object.metadata.name}`);
    });
    rt.registry.delete(kindDef('Pod'), NS, 'pg-1');
    await waitFor(() => {
      const again = pod('pg-1');
      return again !== undefined && again.metadata.uid !== old.metadata.uid && isPodRunningAndReady(again) && ready('pg', 2);
    }, { message: 'pg-1 again, Ready' });
    stop();
    assert.ok(adds.indexOf('DELETED pg-1') < adds.indexOf('ADDED pg-1'), 'the new pg-1 after the old one is gone');
  });

  it('scales down from the highest ordinal, one at a time', async () => {
    kubelet();
    createStatefulSet('pg', 3);
    await waitFor(() => ready('pg', 3), { message: 'three ready replicas' });
    const deleted: string[] = [];
    const stop = rt.store.subscribe((event) => {
      if (event.storage === 'core/pods' && event.type === 'DELETED') deleted.push(event.object.metadata.name);
    });
    update('pg', (spec) => ({ ...spec, replicas: 1 }));
    await waitFor(() => ready('pg', 1), { message: 'one replica' });
    stop();
    assert.deepEqual(deleted, ['pg-2', 'pg-1']);
  });

  it('rolls out a new template from the highest ordinal down, then makes it the current revision', async () => {
    kubelet({ startMs: 2 });
    createStatefulSet('pg', 3);
    await waitFor(() => ready('pg', 3), { message: 'three ready replicas' });
    const firstRevision = sts('pg').status?.['currentRevision'];
    const deleted: string[] = [];
    const stop = rt.store.subscribe((event) => {
      if (event.storage === 'core/pods' && event.type === 'DELETED') deleted.push(event.object.metadata.name);
    });
    setImage('pg', 'postgres:16');
    await waitFor(() => ready('pg', 3) && sts('pg').status?.['currentRevision'] !== firstRevision, { message: 'the update' });
    stop();
    assert.deepEqual(deleted, ['pg-2', 'pg-1', 'pg-0']);
    for (const name of ['pg-0', 'pg-1', 'pg-2']) {
      assert.equal((pod(name)?.spec?.['containers'] as { image: string }[])[0]?.image, 'postgres:16');
      assert.equal(pod(name)?.metadata.labels?.['controller-revision-hash'], sts('pg').status?.['updateRevision']);
    }
    assert.equal(rt.store.byIndex('apps/controllerrevisions', 'owner', sts('pg').metadata.uid).length, 2);
  });

  it('stops at the partition', async () => {
    kubelet();
    createStatefulSet('pg', 3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    await waitFor(() => ready('pg', 3), { message: 'three ready replicas' });
    setImage('pg', 'postgres:16');
    await waitFor(() => sts('pg').status?.['updatedReplicas'] === 1 && sts('pg').status?.['readyReplicas'] === 3, { message: 'pg-2 updated' });
    await rt.idle();
    const images = ['pg-0', 'pg-1', 'pg-2'].map((n) => (pod(n)?.spec?.['containers'] as { image: string }[])[0]?.image);
    assert.deepEqual(images, ['postgres:15', 'postgres:15', 'postgres:16']);
    assert.notEqual(sts('pg').status?.['currentRevision'], sts('pg').status?.['updateRevision']);

    // A pod below the partition that is deleted comes back at the current (old) revision.
    const old = pod('pg-0') as KubeObject;
    rt.registry.delete(kindDef('Pod'), NS, 'pg-0');
    await waitFor(() => {
      const again = pod('pg-0');
      return again !== undefined && again.metadata.uid !== old.metadata.uid && isPodRunningAndReady(again);
    }, { message: 'pg-0 again, Ready' });
    assert.equal((pod('pg-0')?.spec?.['containers'] as { image: string }[])[0]?.image, 'postgres:15');
  });

  it('creates PersistentVolumeClaims from volumeClaimTemplates and mounts them', async () => {
    kubelet();
    createStatefulSet('pg', 1, {
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    });
    await waitFor(() => ready('pg', 1), { message: 'one ready replica' });
    const claim = rt.store.get('core/persistentvolumeclaims', NS, 'data-pg-0');
    assert.ok(claim);
    assert.deepEqual(claim.metadata.labels, { app: 'pg' });
    assert.deepEqual(pod('pg-0')?.spec?.['volumes'], [{ name: 'data', persistentVolumeClaim: { claimName: 'data-pg-0' } }]);
  });
});
