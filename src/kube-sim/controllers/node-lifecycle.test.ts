import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { Machine } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime, TestRuntimeOptions } from '../testing/runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { controllerRef, createNamespace, createTestRuntime, createWorkload } from '../testing/runtime.ts';
import { kubeletSync, nodeObjectFor, startKubelets } from './kubelet.ts';
import { startNodeLifecycleController } from './node-lifecycle.ts';

/** Node timings of these tests: heartbeat 1 s, grace 4 s, so 1 s of upstream toleration is 100 ms here. */
const TIMINGS = { nodeHeartbeat: 1000, nodeMonitorGrace: 4000, podStart: 0, podTermination: 1000 };

function addMachine(rt: TestRuntime, name: string, overrides: Partial<Machine> = {}): Machine {
  const m: Machine = {
    name,
    role: 'worker',
    pool: 'general',
    kubeletVersion: '1.30.4',
    machineImage: 'ubuntu-2204-kube-v1.30.4',
    capacity: { cpu: '4', memory: '16Gi', pods: 110 },
    labels: {},
    taints: [],
    state: 'running',
    health: 'healthy',
    readyAt: rt.now(),
    ...overrides,
  };
  rt.machines.set(name, m);
  rt.registry.create(kindDef('Node'), undefined, nodeObjectFor(m, rt));
  kubeletSync(rt, name);
  return m;
}

function createBoundPod(
  rt: TestRuntime,
  name: string,
  nodeName: string,
  extra: { tolerations?: unknown[]; owner?: KubeObject } = {},
): KubeObject {
  return rt.registry.create(kindDef('Pod'), 'default', {
    metadata: { name, ...(extra.owner ? { ownerReferences: [controllerRef(extra.owner)] } : {}) },
    spec: {
      nodeName,
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }],
      ...(extra.tolerations ? { tolerations: extra.tolerations } : {}),
    },
  });
}

function node(rt: TestRuntime, name: string): KubeObject {
  return rt.store.mustGet('core/nodes', undefined, name);
}

function pod(rt: TestRuntime, name: string): KubeObject | undefined {
  return rt.store.get('core/pods', 'default', name);
}

function condition(obj: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  const conditions = obj?.status?.['conditions'];
  return (Array.isArray(conditions) ? (conditions as unknown[]) : []).find(
    (c): c is Record<string, unknown> => isRecord(c) && c['type'] === type,
  );
}

function taints(rt: TestRuntime, name: string): string[] {
  const list = node(rt, name).spec?.['taints'];
  return (Array.isArray(list) ? (list as Record<string, unknown>[]) : []).map(
    (t) => `${String(t['key'])}:${String(t['effect'])}`,
  );
}

function evicted(rt: TestRuntime, name: string): boolean {
  const p = pod(rt, name);
  return p === undefined || p.metadata.deletionTimestamp !== undefined;
}

describe('node lifecycle controller', () => {
  let rt: TestRuntime;
  let stops: (() => void)[] = [];

  function start(options: TestRuntimeOptions = {}): void {
    rt = createTestRuntime(options);
    createNamespace(rt, 'default');
    createNamespace(rt, 'kube-node-lease');
    stops = [startKubelets(rt), startNodeLifecycleController(rt)];
  }

  afterEach(() => {
    for (const stop of stops) stop();
    rt.stop();
  });

  it('keeps the unschedulable taint in line with cordon and uncordon (as kubectl patches them)', async () => {
    start();
    addMachine(rt, 'n1');
    await rt.idle();
    assert.deepEqual(taints(rt, 'n1'), []);
    rt.registry.patch(kindDef('Node'), undefined, 'n1', 'strategic', { spec: { unschedulable: true } });
    await rt.idle();
    assert.deepEqual(taints(rt, 'n1'), ['node.kubernetes.io/unschedulable:NoSchedule']);
    rt.registry.patch(kindDef('Node'), undefined, 'n1', 'strategic', { spec: { unschedulable: null } });
    await rt.idle();
    assert.deepEqual(taints(rt, 'n1'), []);
    assert.equal(node(rt, 'n1').spec?.['taints'], undefined, 'no empty taints list left behind');
  });

  it('marks a silent node Unknown and unreachable, then evicts its pods as their tolerations run out', async () => {
    const clock = new ManualClock();
    start({ clock, timings: TIMINGS });
    const m = addMachine(rt, 'n1', { taints: [{ key: 'team', value: 'a', effect: 'NoSchedule' }] });
    const ds = createWorkload(rt, 'DaemonSet', 'default', 'agent', { replicas: 0 });
    createBoundPod(rt, 'web', 'n1'); // gets the 300 s default tolerations on create
    createBoundPod(rt, 'quick', 'n1', {
      tolerations: [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      ],
    });
    createBoundPod(rt, 'daemon', 'n1', { owner: ds });
    createBoundPod(rt, 'forever', 'n1', { tolerations: [{ operator: 'Exists', effect: 'NoExecute' }] });
    await clock.advance(1000);
    assert.equal(condition(pod(rt, 'web'), 'Ready')?.['status'], 'True');
    const tolerations = pod(rt, 'web')?.spec?.['tolerations'];
    assert.deepEqual(tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);

    // The machine stops without a word: only the missing heartbeats tell.
    m.state = 'stopped';
    await clock.advance(3000);
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True', 'still within the grace period');
    await clock.advance(2000);
    const ready = condition(node(rt, 'n1'), 'Ready');
    assert.equal(ready?.['status'], 'Unknown');
    assert.equal(ready?.['reason'], 'NodeStatusUnknown');
    assert.equal(ready?.['message'], 'Kubelet stopped posting node status.');
    assert.equal(condition(node(rt, 'n1'), 'MemoryPressure')?.['status'], 'Unknown');
    assert.deepEqual(taints(rt, 'n1'), [
      'team:NoSchedule',
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
    const noExecute = (node(rt, 'n1').spec?.['taints'] as Record<string, unknown>[]).find(
      (t) => t['effect'] === 'NoExecute',
    );
    assert.match(String(noExecute?.['timeAdded']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(
      rt.events.filter((e) => e.reason === 'NodeNotReady').map((e) => [e.type, e.object, e.message]),
      [['Normal', 'Node/n1', 'Node n1 status is now: NodeNotReady']],
    );
    assert.equal(condition(pod(rt, 'web'), 'Ready')?.['status'], 'False', 'pods of the node are marked not Ready');

    // 10 s of toleration is 1 s here; 300 s is 30 s.
    await clock.advance(1100);
    assert.ok(evicted(rt, 'quick'));
    assert.equal(condition(pod(rt, 'quick'), 'DisruptionTarget')?.['reason'], 'DeletionByTaintManager');
    assert.ok(!evicted(rt, 'web'));
    await clock.advance(28000);
    assert.ok(!evicted(rt, 'web'), 'still tolerated');
    await clock.advance(1500);
    assert.ok(evicted(rt, 'web'));
    assert.ok(pod(rt, 'web'), 'terminating, but no kubelet finishes it on an unreachable node');
    assert.ok(!evicted(rt, 'daemon'), 'DaemonSet pods tolerate unreachable nodes');
    assert.ok(!evicted(rt, 'forever'));
    assert.deepEqual(
      rt.events.filter((e) => e.reason === 'TaintManagerEviction').map((e) => [e.object, e.message]),
      [
        ['Pod/default/quick', 'Marking for deletion Pod default/quick'],
        ['Pod/default/web', 'Marking for deletion Pod default/web'],
      ],
    );
  });

  it('cancels pending evictions when the kubelet comes back, and clears the taints', async () => {
    const clock = new ManualClock();
    start({ clock, timings: TIMINGS });
    const m = addMachine(rt, 'n1');
    createBoundPod(rt, 'web', 'n1');
    await clock.advance(1000);
    m.state = 'stopped';
    await clock.advance(6000);
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'Unknown');
    m.state = 'running';
    kubeletSync(rt, 'n1');
    await clock.advance(100);
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True');
    assert.deepEqual(taints(rt, 'n1'), []);
    assert.equal(condition(pod(rt, 'web'), 'Ready')?.['status'], 'True', 'the kubelet reports the pod Ready again');
    await clock.advance(40000);
    assert.ok(!evicted(rt, 'web'));
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True', 'heartbeats keep it Ready');
  });

  it('turns a node whose kubelet is down (machine running) Unknown on every condition, and back when it returns', async () => {
    const clock = new ManualClock();
    start({ clock, timings: TIMINGS });
    const m = addMachine(rt, 'n1');
    createBoundPod(rt, 'web', 'n1');
    await clock.advance(1000);
    m.health = 'kubelet-down';
    kubeletSync(rt, 'n1');
    await clock.advance(3000);
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True', 'still within the grace period');
    await clock.advance(2000);
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      const c = condition(node(rt, 'n1'), type);
      assert.deepEqual([c?.['status'], c?.['reason'], c?.['message']], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'], type);
    }
    assert.deepEqual(taints(rt, 'n1'), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
    const lease = rt.store.mustGet('coordination.k8s.io/leases', 'kube-node-lease', 'n1');
    await clock.advance(10000);
    assert.equal(rt.store.mustGet('coordination.k8s.io/leases', 'kube-node-lease', 'n1').spec?.['renewTime'], lease.spec?.['renewTime'], 'no Lease renewal');
    assert.ok(!evicted(rt, 'web'), 'the default 300 s toleration is 30 s here');
    await clock.advance(21000);
    assert.ok(evicted(rt, 'web'));

    m.health = 'healthy';
    kubeletSync(rt, 'n1');
    await clock.advance(100);
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True');
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['reason'], 'KubeletReady');
    assert.deepEqual(taints(rt, 'n1'), []);
  });

  it('taints a node whose kubelet reports NotReady with not-ready NoSchedule and NoExecute', async () => {
    start();
    const m = addMachine(rt, 'n1');
    await rt.idle();
    m.health = 'not-ready';
    kubeletSync(rt, 'n1');
    await rt.idle();
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'False');
    assert.deepEqual(taints(rt, 'n1'), [
      'node.kubernetes.io/not-ready:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute',
    ]);
    assert.equal(rt.events.filter((e) => e.reason === 'NodeNotReady').length, 1);
  });

  it('evicts pods at once from a node with a NoExecute taint they do not tolerate', async () => {
    start();
    addMachine(rt, 'n1');
    createBoundPod(rt, 'plain', 'n1');
    createBoundPod(rt, 'tolerant', 'n1', {
      tolerations: [{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute' }],
    });
    await rt.idle();
    rt.registry.patch(kindDef('Node'), undefined, 'n1', 'merge', {
      spec: { taints: [{ key: 'maintenance', value: 'now', effect: 'NoExecute' }] },
    });
    await rt.idle();
    assert.equal(pod(rt, 'plain'), undefined, 'evicted, then finished by the running kubelet');
    assert.ok(pod(rt, 'tolerant'));
    assert.ok(!evicted(rt, 'tolerant'));
  });

  it('in zero-delay mode, marks a node Unknown as soon as its machine stops', async () => {
    start();
    const m = addMachine(rt, 'n1');
    await rt.idle();
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True');
    await rt.idle();
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True', 'no flapping while the machine runs');
    m.state = 'stopped';
    kubeletSync(rt, 'n1');
    await rt.idle();
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'Unknown');
    assert.deepEqual(taints(rt, 'n1'), [
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
  });

  it('leaves nodes without a simulated kubelet as they were given', async () => {
    const clock = new ManualClock();
    start({ clock, timings: TIMINGS });
    rt.registry.create(kindDef('Node'), undefined, {
      metadata: { name: 'bare' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    await clock.advance(60000);
    assert.equal(condition(node(rt, 'bare'), 'Ready')?.['status'], 'True');
    assert.deepEqual(taints(rt, 'bare'), []);
  });
});
