import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { createNamespace, createTestRuntime } from '../testing/runtime.ts';
import { startScheduler } from './scheduler.ts';

interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
}

/** A Node as a kubelet would have registered it (no Machine: only the scheduler runs in these tests). */
function createNode(rt: TestRuntime, name: string, options: NodeOptions = {}): KubeObject {
  const allocatable = { cpu: options.cpu ?? '4', memory: options.memory ?? '16Gi', pods: String(options.pods ?? 110) };
  return rt.registry.create(kindDef('Node'), undefined, {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
    spec: {
      ...(options.taints ? { taints: options.taints } : {}),
      ...(options.unschedulable ? { unschedulable: true } : {}),
    },
    status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

interface PodOptions {
  cpu?: string;
  memory?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  affinity?: Record<string, unknown>;
  schedulerName?: string;
}

function createPendingPod(rt: TestRuntime, name: string, options: PodOptions = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (options.cpu) requests['cpu'] = options.cpu;
  if (options.memory) requests['memory'] = options.memory;
  return rt.registry.create(kindDef('Pod'), 'default', {
    metadata: { name },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests } }],
      ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      ...(options.tolerations ? { tolerations: options.tolerations } : {}),
      ...(options.affinity ? { affinity: options.affinity } : {}),
      ...(options.schedulerName ? { schedulerName: options.schedulerName } : {}),
    },
  });
}

function pod(rt: TestRuntime, name: string): KubeObject {
  return rt.store.mustGet('core/pods', 'default', name);
}

function nodeOf(rt: TestRuntime, name: string): unknown {
  return pod(rt, name).spec?.['nodeName'];
}

function scheduledCondition(rt: TestRuntime, name: string): Record<string, unknown> | undefined {
  const conditions = pod(rt, name).status?.['conditions'];
  return (Array.isArray(conditions) ? (conditions as Record<string, unknown>[]) : []).find(
    (c) => c['type'] === 'PodScheduled',
  );
}

describe('scheduler', () => {
  let rt: TestRuntime;
  let stop: () => void;

  beforeEach(() => {
    rt = createTestRuntime();
    createNamespace(rt, 'default');
    stop = startScheduler(rt);
  });

  afterEach(() => {
    stop();
    rt.stop();
  });

  it('binds a pending pod to the node with the most free CPU, ties broken by name, and marks it PodScheduled', async () => {
    createNode(rt, 'b', { cpu: '4' });
    createNode(rt, 'a', { cpu: '4' });
    createNode(rt, 'c', { cpu: '8' });
    createPendingPod(rt, 'p1', { cpu: '1' });
    await rt.idle();
    assert.equal(nodeOf(rt, 'p1'), 'c');
    assert.equal(scheduledCondition(rt, 'p1')?.['status'], 'True');
    // c has 7 cores free, a and b 4: c again, and again until c is down to 4 (then "a" wins the tie by name).
    for (const name of ['p2', 'p3', 'p4', 'p5']) createPendingPod(rt, name, { cpu: '1' });
    await rt.idle();
    assert.deepEqual(
      ['p2', 'p3', 'p4', 'p5'].map((n) => nodeOf(rt, n)),
      ['c', 'c', 'c', 'a'],
    );
  });

  it('spreads pods without requests (counted as 100m for scoring, as upstream)', async () => {
    createNode(rt, 'a');
    createNode(rt, 'b');
    for (const name of ['p1', 'p2', 'p3', 'p4']) createPendingPod(rt, name);
    await rt.idle();
    assert.deepEqual(
      ['p1', 'p2', 'p3', 'p4'].map((n) => nodeOf(rt, n)),
      ['a', 'b', 'a', 'b'],
    );
  });

  it('leaves cordoned nodes, untolerated taints and non-matching nodeSelectors alone; takes a PreferNoSchedule node last', async () => {
    createNode(rt, 'cordoned', { cpu: '64', unschedulable: true });
    createNode(rt, 'tainted', { cpu: '32', taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
    createNode(rt, 'soft', {
      cpu: '16',
      taints: [{ key: 'spot', effect: 'PreferNoSchedule' }],
      labels: { disk: 'ssd' },
    });
    createNode(rt, 'plain', { cpu: '8', labels: { disk: 'hdd' } });
    createPendingPod(rt, 'anywhere');
    createPendingPod(rt, 'ssd', { nodeSelector: { disk: 'ssd' } });
    createPendingPod(rt, 'spot', { tolerations: [{ key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' }] });
    createPendingPod(rt, 'hdd', { nodeSelector: { disk: 'hdd' } });
    createPendingPod(rt, 'db', {
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
    });
    await rt.idle();
    // PreferNoSchedule steers: the emptier 'soft' is taken last, unless tolerated or the only node that fits.
    assert.equal(nodeOf(rt, 'anywhere'), 'plain', 'a node without the soft taint goes first');
    assert.equal(nodeOf(rt, 'ssd'), 'soft', 'PreferNoSchedule does not filter');
    assert.equal(nodeOf(rt, 'spot'), 'soft', 'a pod that tolerates it scores the node as any other');
    assert.equal(nodeOf(rt, 'hdd'), 'plain');
    assert.equal(nodeOf(rt, 'db'), 'tainted');
  });

  it('honours required node affinity: matchExpressions and matchFields on metadata.name', async () => {
    createNode(rt, 'n1', { cpu: '16', labels: { zone: 'a' } });
    createNode(rt, 'n2', { cpu: '8', labels: { zone: 'b' } });
    createNode(rt, 'n3', { cpu: '4', labels: { zone: 'c', gpu: 'yes' } });
    const required = (terms: unknown[]) => ({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    });
    createPendingPod(rt, 'in-b', {
      affinity: required([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }]),
    });
    createPendingPod(rt, 'not-a', {
      affinity: required([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a', 'b'] }] }]),
    });
    createPendingPod(rt, 'gpu', { affinity: required([{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }]) });
    createPendingPod(rt, 'by-name', {
      affinity: required([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }]),
    });
    createPendingPod(rt, 'either', {
      affinity: required([
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['nowhere'] }] },
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['c'] }] },
      ]),
    });
    await rt.idle();
    assert.equal(nodeOf(rt, 'in-b'), 'n2');
    assert.equal(nodeOf(rt, 'not-a'), 'n3');
    assert.equal(nodeOf(rt, 'gpu'), 'n3');
    assert.equal(nodeOf(rt, 'by-name'), 'n2');
    assert.equal(nodeOf(rt, 'either'), 'n3');
  });

  it('keeps a pod that fits nowhere Pending with the reasons counted, then schedules it when a node is added', async () => {
    createNode(rt, 'cordoned-1', { cpu: '8', unschedulable: true });
    createNode(rt, 'cordoned-2', { cpu: '8', unschedulable: true });
    for (const n of ['small-1', 'small-2', 'small-3']) createNode(rt, n, { cpu: '1' });
    createPendingPod(rt, 'big', { cpu: '2' });
    await rt.idle();
    assert.equal(nodeOf(rt, 'big'), undefined);
    assert.equal(pod(rt, 'big').status?.['phase'], 'Pending');
    const condition = scheduledCondition(rt, 'big');
    assert.equal(condition?.['status'], 'False');
    assert.equal(condition?.['reason'], 'Unschedulable');
    assert.equal(
      condition?.['message'],
      '0/5 nodes are available: 2 node(s) were unschedulable, 3 Insufficient cpu. preemption: 0/5 nodes are available: ' +
        '2 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod..',
    );
    assert.deepEqual(
      rt.events.filter((e) => e.reason === 'FailedScheduling').map((e) => [e.type, e.object]),
      [['Warning', 'Pod/default/big']],
    );

    createNode(rt, 'large', { cpu: '4' });
    await rt.idle();
    assert.equal(nodeOf(rt, 'big'), 'large');
    assert.equal(scheduledCondition(rt, 'big')?.['status'], 'True');
  });

  it('names untolerated taints, affinity misses, memory and pod count in the message', async () => {
    createNode(rt, 'cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
    createNode(rt, 'other-pool', { labels: { pool: 'other' } });
    createNode(rt, 'full', { pods: 0, memory: '1Gi', labels: { pool: 'web' } });
    createPendingPod(rt, 'web', { memory: '2Gi', nodeSelector: { pool: 'web' } });
    await rt.idle();
    assert.match(
      String(scheduledCondition(rt, 'web')?.['message']),
      /^0\/3 nodes are available: 1 Insufficient memory, 1 Too many pods, 1 node\(s\) didn't match Pod's node affinity\/selector, 1 node\(s\) had untolerated taint \{node-role.kubernetes.io\/control-plane: \}\. preemption: /,
    );
  });

  it('counts terminating pods until they are gone, not finished ones, and retries when room is freed', async () => {
    createNode(rt, 'only', { cpu: '2' });
    createPendingPod(rt, 'first', { cpu: '1500m' });
    await rt.idle();
    assert.equal(nodeOf(rt, 'first'), 'only');

    // Graceful delete: the pod stays (terminating) and keeps its CPU.
    rt.registry.delete(kindDef('Pod'), 'default', 'first', { gracePeriodSeconds: 30 });
    createPendingPod(rt, 'second', { cpu: '1' });
    await rt.idle();
    assert.equal(nodeOf(rt, 'second'), undefined);
    assert.match(
      String(scheduledCondition(rt, 'second')?.['message']),
      /^0\/1 nodes are available: 1 Insufficient cpu\./,
    );

    // The kubelet's final delete frees the CPU: the parked pod is retried.
    rt.registry.delete(kindDef('Pod'), 'default', 'first', { gracePeriodSeconds: 0 });
    await rt.idle();
    assert.equal(nodeOf(rt, 'second'), 'only');

    // A Succeeded pod does not count.
    const second = pod(rt, 'second');
    rt.registry.update(
      kindDef('Pod'),
      'default',
      'second',
      { ...second, status: { ...second.status, phase: 'Succeeded' } },
      { subresource: 'status' },
    );
    createPendingPod(rt, 'third', { cpu: '2' });
    await rt.idle();
    assert.equal(nodeOf(rt, 'third'), 'only');
  });

  it('retries a parked pod when a node is uncordoned, and ignores pods for other schedulers', async () => {
    createNode(rt, 'n1', { unschedulable: true });
    createPendingPod(rt, 'mine');
    createPendingPod(rt, 'theirs', { schedulerName: 'other-scheduler' });
    await rt.idle();
    assert.match(
      String(scheduledCondition(rt, 'mine')?.['message']),
      /^0\/1 nodes are available: 1 node\(s\) were unschedulable\./,
    );
    const node = rt.store.mustGet('core/nodes', undefined, 'n1');
    rt.registry.update(kindDef('Node'), undefined, 'n1', { ...node, spec: { ...node.spec, unschedulable: false } });
    await rt.idle();
    assert.equal(nodeOf(rt, 'mine'), 'n1');
    assert.equal(nodeOf(rt, 'theirs'), undefined);
    assert.equal(scheduledCondition(rt, 'theirs'), undefined);
  });

  it('says so when there are no nodes at all', async () => {
    createPendingPod(rt, 'lonely');
    await rt.idle();
    assert.equal(scheduledCondition(rt, 'lonely')?.['message'], 'no nodes available to schedule pods');
  });

  it('takes over pods and nodes that exist when it starts, charging pods already bound', async () => {
    stop();
    createNode(rt, 'n1', { cpu: '2' });
    createNode(rt, 'n2', { cpu: '2' });
    rt.registry.create(kindDef('Pod'), 'default', {
      metadata: { name: 'bound' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'app', image: 'pause', resources: { requests: { cpu: '1500m' } } }],
      },
    });
    createPendingPod(rt, 'new', { cpu: '1' });
    stop = startScheduler(rt);
    await rt.idle();
    assert.equal(nodeOf(rt, 'new'), 'n2');
  });
});
