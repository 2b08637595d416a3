import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { createNamespace, createTestRuntime, startFakeKubelet } from '../testing/runtime.ts';
import type { TestRuntime, TestRuntimeOptions } from '../testing/runtime.ts';
import { startDaemonSetController } from './daemonset.ts';
import { startPodGarbageCollector } from './pod-gc.ts';
import { isPodReady } from './replicaset.ts';

const NS = 'kube-system';

let rt: TestRuntime;
let stops: (() => void)[];

function createRuntime(options: TestRuntimeOptions = {}): void {
  rt = createTestRuntime(options);
  createNamespace(rt, NS);
  stops = [];
}

function startControllers(): void {
  stops.push(startDaemonSetController(rt), startPodGarbageCollector(rt));
}

function stopAll(): void {
  for (const stop of stops) stop();
  rt.stop();
}

beforeEach(() => {
  createRuntime();
  startControllers();
});
afterEach(stopAll);

function createNode(name: string, labels: Record<string, string> = {}, taints: unknown[] = []): KubeObject {
  return rt.registry.create(kindDef('Node'), undefined, {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: taints.length > 0 ? { taints } : {},
  });
}

function patchNode(name: string, change: (node: KubeObject) => KubeObject): void {
  rt.registry.update(kindDef('Node'), undefined, name, change(rt.store.mustGet('core/nodes', undefined, name)));
}

function createDaemonSet(name: string, templateSpec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): KubeObject {
  const labels = { app: name };
  return rt.registry.create(kindDef('DaemonSet'), NS, {
    metadata: { name },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'agent', image: 'agent:1' }], ...templateSpec } },
      ...extra,
    },
  });
}

function ds(name: string): KubeObject {
  return rt.store.mustGet('apps/daemonsets', NS, name);
}

function pods(name: string): KubeObject[] {
  return rt.store.byIndex('core/pods', 'owner', ds(name).metadata.uid).filter((p) => !p.metadata.deletionTimestamp);
}

function nodesOf(name: string): string[] {
  return pods(name)
    .map((p) => String(p.spec?.['nodeName']))
    .sort();
}

function settled(name: string, desired: number): boolean {
  const s = ds(name).status ?? {};
  return (
    s['observedGeneration'] === ds(name).metadata.generation &&
    s['desiredNumberScheduled'] === desired &&
    s['numberReady'] === desired &&
    (s['updatedNumberScheduled'] ?? 0) === desired &&
    pods(name).length === desired
  );
}

describe('DaemonSet controller', () => {
  it('runs one pod per node, bound to it, with the daemon tolerations and node affinity', async () => {
    stops.push(startFakeKubelet(rt));
    for (const n of ['a', 'b', 'c']) createNode(n);
    const owner = createDaemonSet('agent');
    await waitFor(() => settled('agent', 3), { message: 'three ready daemon pods' });

    assert.deepEqual(nodesOf('agent'), ['a', 'b', 'c']);
    const pod = pods('agent').find((p) => p.spec?.['nodeName'] === 'b');
    assert.ok(pod);
    assert.match(pod.metadata.name, /^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(pod.metadata.ownerReferences?.[0]?.uid, owner.metadata.uid);
    assert.ok(pod.metadata.labels?.['controller-revision-hash']);
    assert.deepEqual(pod.spec?.['affinity'], {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] } },
    });
    const tolerations = (pod.spec?.['tolerations'] as { key: string; effect: string }[]).map((t) => `${t.key}:${t.effect}`);
    assert.deepEqual(tolerations, [
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);

    const status = ds('agent').status ?? {};
    assert.deepEqual(
      { ...status },
      {
        currentNumberScheduled: 3,
        numberMisscheduled: 0,
        desiredNumberScheduled: 3,
        numberReady: 3,
        observedGeneration: 1,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
      },
    );
    const revisions = rt.store.byIndex('apps/controllerrevisions', 'owner', owner.metadata.uid);
    assert.equal(revisions.length, 1);
    assert.equal(revisions[0]?.metadata.name, `agent-${pod.metadata.labels?.['controller-revision-hash']}`);
    assert.equal(revisions[0]?.['revision'], 1);
  });

  it('adds a pod on a new node and loses the pod of a removed node', async () => {
    stops.push(startFakeKubelet(rt));
    createNode('a');
    createNode('b');
    createDaemonSet('agent');
    await waitFor(() => settled('agent', 2), { message: 'two daemon pods' });

    createNode('c');
    await waitFor(() => settled('agent', 3), { message: 'a pod on the new node' });
    assert.deepEqual(nodesOf('agent'), ['a', 'b', 'c']);

    rt.registry.delete(kindDef('Node'), undefined, 'a');
    await waitFor(() => settled('agent', 2) && rt.store.byIndex('core/pods', 'spec.nodeName', 'a').length === 0, { message: 'the pod of the removed node gone' });
    assert.deepEqual(nodesOf('agent'), ['b', 'c']);
  });

  it('keeps and places pods on cordoned nodes (the unschedulable toleration)', async () => {
    stops.push(startFakeKubelet(rt));
    createNode('a');
    createNode('b');
    createDaemonSet('first');
    await waitFor(() => settled('first', 2), { message: 'two daemon pods' });
    const before = pods('first').map((p) => p.metadata.uid).sort();

    patchNode('b', (n) => ({ ...n, spec: { ...n.spec, unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } }));
    await rt.idle();
    createDaemonSet('second');
    await waitFor(() => settled('second', 2), { message: 'the new DaemonSet on both nodes' });
    assert.deepEqual(nodesOf('second'), ['a', 'b']);
    assert.deepEqual(pods('first').map((p) => p.metadata.uid).sort(), before, 'the cordon changed nothing');
  });

  it('follows nodeSelector and taints: NoSchedule keeps running pods, NoExecute removes them', async () => {
    stops.push(startFakeKubelet(rt));
    createNode('a', { disk: 'ssd' });
    createNode('b', { disk: 'ssd' });
    createNode('c', { disk: 'hdd' });
    createDaemonSet('cache', { nodeSelector: { disk: 'ssd' } });
    await waitFor(() => settled('cache', 2), { message: 'pods on the ssd nodes' });
    assert.deepEqual(nodesOf('cache'), ['a', 'b']);

    patchNode('c', (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, disk: 'ssd' } } }));
    await waitFor(() => settled('cache', 3), { message: 'a pod on the relabelled node' });

    patchNode('a', (n) => ({ ...n, spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } }));
    await waitFor(() => ds('cache').status?.['desiredNumberScheduled'] === 2, { message: 'the tainted node no longer desired' });
    await rt.idle();
    assert.deepEqual(nodesOf('cache'), ['a', 'b', 'c'], 'a NoSchedule taint does not evict the daemon');
    assert.equal(ds('cache').status?.['numberMisscheduled'], 1);

    patchNode('b', (n) => ({ ...n, spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] } }));
    await waitFor(() => nodesOf('cache').join() === 'a,c', { message: 'the daemon leaves the NoExecute node' });
  });

  it('honours required node affinity terms', async () => {
    stops.push(startFakeKubelet(rt));
    createNode('a', { zone: 'z1' });
    createNode('b', { zone: 'z2' });
    createNode('c', { zone: 'z3' });
    createDaemonSet('zonal', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z3'] }] }],
          },
        },
      },
    });
    await waitFor(() => settled('zonal', 2), { message: 'pods in z1 and z3' });
    assert.deepEqual(nodesOf('zonal'), ['a', 'c']);
  });

  it('replaces a deleted daemon pod', async () => {
    stops.push(startFakeKubelet(rt));
    createNode('a');
    createDaemonSet('agent');
    await waitFor(() => settled('agent', 1), { message: 'one daemon pod' });
    const old = pods('agent')[0] as KubeObject;
    rt.registry.delete(kindDef('Pod'), NS, old.metadata.name);
    await waitFor(() => settled('agent', 1) && pods('agent')[0]?.metadata.uid !== old.metadata.uid, { message: 'a new daemon pod' });
  });

  it('rolls out with maxSurge: the new pod starts beside the old one, which goes once the new one is ready', async () => {
    stops.push(startFakeKubelet(rt, { startMs: 5 }));
    for (const n of ['a', 'b', 'c']) createNode(n);
    createDaemonSet('agent', {}, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    await waitFor(() => settled('agent', 3), { message: 'three daemon pods' });

    let minReady = Infinity;
    let maxPods = 0;
    const stop = rt.store.subscribe((event) => {
      if (event.storage !== 'core/pods') return;
      minReady = Math.min(minReady, pods('agent').filter(isPodReady).length);
      maxPods = Math.max(maxPods, pods('agent').length);
    });
    const current = ds('agent');
    const spec = current.spec as { template: { metadata: unknown; spec: Record<string, unknown> } };
    rt.registry.update(kindDef('DaemonSet'), NS, 'agent', {
      ...current,
      spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers: [{ name: 'agent', image: 'agent:2' }] } } },
    });
    await waitFor(() => settled('agent', 3) && pods('agent').every((p) => (p.spec?.['containers'] as { image: string }[])[0]?.image === 'agent:2'), { message: 'the new template everywhere' });
    stop();
    assert.equal(minReady, 3, 'no node ever without a ready daemon');
    assert.equal(maxPods, 4, 'one surge pod at a time');
  });

  it('rolls a new template out one node at a time (maxUnavailable 1)', async () => {
    stops.push(startFakeKubelet(rt, { startMs: 5 }));
    for (const n of ['a', 'b', 'c', 'd']) createNode(n);
    const owner = createDaemonSet('agent');
    await waitFor(() => settled('agent', 4), { message: 'four daemon pods' });

    let minReady = Infinity;
    const stop = rt.store.subscribe((event) => {
      if (event.storage === 'core/pods') minReady = Math.min(minReady, pods('agent').filter(isPodReady).length);
    });
    const current = ds('agent');
    const spec = current.spec as { template: { metadata: unknown; spec: Record<string, unknown> } };
    rt.registry.update(kindDef('DaemonSet'), NS, 'agent', {
      ...current,
      spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers: [{ name: 'agent', image: 'agent:2' }] } } },
    });
    await waitFor(() => settled('agent', 4) && pods('agent').every((p) => (p.spec?.['containers'] as { image: string }[])[0]?.image === 'agent:2'), { message: 'the new template everywhere' });
    stop();
    assert.equal(minReady, 3, 'one node at a time');
    assert.equal(rt.store.byIndex('apps/controllerrevisions', 'owner', owner.metadata.uid).length, 2);
  });
});

describe('DaemonSet controller, per node', () => {
  /**
   * A 1,000-node cluster running one DaemonSet, on a clock that moves only when the test moves it. The controller
   * starts on it: its full syncs create the pods 250 at a time, so the last one is costly, and the controller spaces
   * the next full sync out on that clock. Until the test advances it, whatever happens is the per-node work alone.
   */
  async function largeClusterWithSpacedOutSyncs(): Promise<ManualClock> {
    stopAll();
    const clock = new ManualClock();
    createRuntime({ clock });
    for (let i = 0; i < 1_000; i++) createNode(`n-${i}`);
    createDaemonSet('agent');
    startControllers();
    await waitFor(() => ds('agent').status?.['currentNumberScheduled'] === 1_000, { message: 'a daemon pod on every node', timeoutMs: 30_000 });
    await rt.idle();
    return clock;
  }

  function podsOn(nodeName: string): KubeObject[] {
    return rt.store.byIndex('core/pods', 'spec.nodeName', nodeName).filter((p) => p.metadata.ownerReferences?.[0]?.uid === ds('agent').metadata.uid);
  }

  it('starts the daemon pod of a node that registers at once, and follows its taints, without waiting for a full sync', async () => {
    const clock = await largeClusterWithSpacedOutSyncs();

    createNode('late');
    await waitFor(() => podsOn('late').length === 1, { message: 'a daemon pod on the new node' });
    assert.equal(ds('agent').status?.['desiredNumberScheduled'], 1_000, 'no full sync ran: the pod came from the per-node work');
    const pod = podsOn('late')[0] as KubeObject;
    assert.equal(pod.metadata.labels?.['controller-revision-hash'], podsOn('n-0')[0]?.metadata.labels?.['controller-revision-hash']);
    assert.deepEqual(pod.spec?.['tolerations'], podsOn('n-0')[0]?.spec?.['tolerations']);

    patchNode('late', (n) => ({ ...n, spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] } }));
    await waitFor(() => podsOn('late').every((p) => p.metadata.deletionTimestamp !== undefined), { message: 'the daemon pod leaving the NoExecute node' });

    // The full sync still comes, spaced out: the tainted node is not desired, and its pod (still terminating: no
    // kubelet here) misscheduled.
    await clock.advance(60_000);
    await waitFor(() => ds('agent').status?.['desiredNumberScheduled'] === 1_000 && ds('agent').status?.['numberMisscheduled'] === 1, { message: 'the status after the full sync' });
  });

  it('replaces a deleted daemon pod at once, without waiting for a full sync', async () => {
    await largeClusterWithSpacedOutSyncs();
    const old = podsOn('n-7')[0] as KubeObject;

    rt.registry.delete(kindDef('Pod'), NS, old.metadata.name, { gracePeriodSeconds: 0 });
    await waitFor(() => podsOn('n-7').length === 1 && podsOn('n-7')[0]?.metadata.uid !== old.metadata.uid, { message: 'a new daemon pod on the node' });
  });

  it('runs no full sync for node changes its pods tolerate (50 cordons), but does for those that move them', async () => {
    for (let i = 0; i < 50; i++) createNode(`n-${i}`);
    createDaemonSet('agent');
    await waitFor(() => ds('agent').status?.['currentNumberScheduled'] === 50, { message: 'a daemon pod on every node' });
    await rt.idle();
    const before = pods('agent').map((p) => p.metadata.uid).sort();

    // A full sync writes the status from what it finds: a wrong value put there (a status-only write, which wakes
    // nobody) survives only while no full sync runs.
    const markStatus = () => {
      const current = ds('agent');
      rt.registry.update(kindDef('DaemonSet'), NS, 'agent', { ...current, status: { ...current.status, numberMisscheduled: 7 } }, { subresource: 'status' });
    };
    let fullSyncs = 0;
    for (let i = 0; i < 50; i++) {
      markStatus();
      patchNode(`n-${i}`, (n) => ({ ...n, spec: { ...n.spec, unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } }));
      await rt.idle();
      if (ds('agent').status?.['numberMisscheduled'] !== 7) fullSyncs++;
    }
    assert.equal(fullSyncs, 0, 'full syncs for 50 cordons');
    assert.deepEqual(pods('agent').map((p) => p.metadata.uid).sort(), before, 'the cordons changed nothing');

    markStatus();
    patchNode('n-3', (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, team: 'x' } } }));
    await rt.idle();
    assert.equal(ds('agent').status?.['numberMisscheduled'], 7, 'a label no selector reads changes no placement');
    patchNode('n-3', (n) => ({ ...n, spec: { ...n.spec, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }));
    await waitFor(() => ds('agent').status?.['desiredNumberScheduled'] === 49 && ds('agent').status?.['numberMisscheduled'] === 1, { message: 'a full sync counting the tainted node out' });
  });
});
