import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DELETION_TIMEOUT_MS,
  PdbMembers,
  STALE_POD_DISRUPTION_TIMEOUT_MS,
  scaledValue,
  startDisruptionController,
} from './disruption.ts';
import { rfc3339 } from '../api/registry.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { controllerRef, createPod, createTestRuntime, createWorkload, setPodReady } from '../testing/runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';

const NS = 'shop';

let clock: ManualClock;
let rt: TestRuntime;
let stop: () => void;

beforeEach(() => {
  clock = new ManualClock();
  rt = createTestRuntime({ clock });
  stop = startDisruptionController(rt);
});

afterEach(() => {
  stop();
  rt.stop();
});

/** A Deployment of `replicas` with its ReplicaSet and `pods` pods (default: replicas), all Ready. */
function deployment(name: string, replicas: number, pods = replicas): KubeObject[] {
  const d = createWorkload(rt, 'Deployment', NS, name, { replicas });
  const rs = createWorkload(rt, 'ReplicaSet', NS, `${name}-5d8b`, { replicas, labels: { app: name } }, [
    controllerRef(d),
  ]);
  return Array.from({ length: pods }, (_, i) =>
    createPod(rt, NS, `${name}-5d8b-${i}`, { labels: { app: name }, owner: rs }),
  );
}

function createPdb(name: string, spec: Record<string, unknown>): void {
  rt.registry.create(kindDef('PodDisruptionBudget'), NS, { metadata: { name }, spec });
}

function status(name: string): Record<string, unknown> | undefined {
  return rt.store.mustGet('policy/poddisruptionbudgets', NS, name).status;
}

/** The numbers of a PDB status. */
function counts(name: string): { expected: unknown; desired: unknown; current: unknown; allowed: unknown } {
  const s = status(name) ?? {};
  return {
    expected: s['expectedPods'],
    desired: s['desiredHealthy'],
    current: s['currentHealthy'],
    allowed: s['disruptionsAllowed'],
  };
}

function allowedCondition(name: string): Record<string, unknown> | undefined {
  const list = status(name)?.['conditions'];
  if (!Array.isArray(list)) return undefined;
  const found: unknown = (list as unknown[]).find((c) => isRecord(c) && c['type'] === 'DisruptionAllowed');
  return isRecord(found) ? found : undefined;
}

describe('disruption controller: PDB status', () => {
  it('minAvailable as an integer: expected is the number of selected pods', async () => {
    deployment('web', 3);
    createPdb('web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    assert.deepEqual(status('web'), {
      observedGeneration: 1,
      disruptionsAllowed: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: rfc3339(clock.now()),
          reason: 'SufficientPods',
          message: '',
        },
      ],
    });
  });

  it("minAvailable as a percentage: of the controllers' scale, rounded up", async () => {
    deployment('web', 4, 3); // scale 4, only 3 pods exist yet
    createPdb('half', { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    assert.deepEqual(counts('half'), { expected: 4, desired: 2, current: 3, allowed: 1 });

    rt.registry.patch(kindDef('PodDisruptionBudget'), NS, 'half', 'merge', { spec: { minAvailable: '30%' } });
    await rt.idle();
    // ceil(0.3 x 4) = ceil(1.2) = 2
    assert.deepEqual(counts('half'), { expected: 4, desired: 2, current: 3, allowed: 1 });
    assert.equal(status('half')?.['observedGeneration'], 2);

    rt.registry.patch(kindDef('PodDisruptionBudget'), NS, 'half', 'merge', { spec: { minAvailable: '51%' } });
    await rt.idle();
    // ceil(0.51 x 4) = ceil(2.04) = 3
    assert.deepEqual(counts('half'), { expected: 4, desired: 3, current: 3, allowed: 0 });
  });

  it('maxUnavailable as an integer: desired = scale - maxUnavailable', async () => {
    deployment('web', 5);
    createPdb('web', { maxUnavailable: 2, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 5, desired: 3, current: 5, allowed: 2 });
  });

  it('maxUnavailable as a percentage: rounded up, so fewer pods must stay', async () => {
    deployment('web', 5);
    createPdb('web', { maxUnavailable: '30%', selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    // ceil(0.3 x 5) = ceil(1.5) = 2 unavailable allowed: desired 3
    assert.deepEqual(counts('web'), { expected: 5, desired: 3, current: 5, allowed: 2 });
    rt.registry.patch(kindDef('PodDisruptionBudget'), NS, 'web', 'merge', { spec: { maxUnavailable: '10%' } });
    await rt.idle();
    // ceil(0.1 x 5) = ceil(0.5) = 1: desired 4
    assert.deepEqual(counts('web'), { expected: 5, desired: 4, current: 5, allowed: 1 });
  });

  it("follows the controller's scale when the Deployment is scaled", async () => {
    deployment('web', 4);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 4, desired: 3, current: 4, allowed: 1 });
    rt.registry.patch(kindDef('Deployment'), NS, 'web', 'merge', { spec: { replicas: 6 } });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 6, desired: 5, current: 4, allowed: 0 });
  });

  it("counts StatefulSet pods against the StatefulSet's replicas", async () => {
    const ss = createWorkload(rt, 'StatefulSet', NS, 'db', { replicas: 3 });
    for (let i = 0; i < 3; i++) createPod(rt, NS, `db-${i}`, { labels: { app: 'db' }, owner: ss });
    createPdb('db', { maxUnavailable: '34%', selector: { matchLabels: { app: 'db' } } });
    await rt.idle();
    // ceil(0.34 x 3) = ceil(1.02) = 2
    assert.deepEqual(counts('db'), { expected: 3, desired: 1, current: 3, allowed: 2 });
  });

  it('does not count pods that are not Ready, and flips the condition when no disruption is left', async () => {
    deployment('web', 3);
    createPdb('web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    const firstTransition = allowedCondition('web')?.['lastTransitionTime'];
    await clock.advance(7_000);
    setPodReady(rt, NS, 'web-5d8b-0', false);
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 2, allowed: 0 });
    assert.deepEqual(allowedCondition('web'), {
      type: 'DisruptionAllowed',
      status: 'False',
      observedGeneration: 1,
      lastTransitionTime: rfc3339(clock.now()),
      reason: 'InsufficientPods',
      message: '',
    });
    assert.notEqual(firstTransition, rfc3339(clock.now()));
    setPodReady(rt, NS, 'web-5d8b-0', true);
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 3, allowed: 1 });
    assert.equal(allowedCondition('web')?.['reason'], 'SufficientPods');
  });

  it('does not count terminating pods', async () => {
    deployment('web', 3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    rt.registry.delete(kindDef('Pod'), NS, 'web-5d8b-2', { gracePeriodSeconds: 30 });
    await rt.idle();
    assert.ok(rt.store.get('core/pods', NS, 'web-5d8b-2')?.metadata.deletionTimestamp);
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 2, allowed: 0 });
    rt.registry.delete(kindDef('Pod'), NS, 'web-5d8b-2', { gracePeriodSeconds: 0 });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 2, allowed: 0 });
  });

  it('keeps pods in disruptedPods out of currentHealthy for 2 minutes, then drops them and warns', async () => {
    deployment('web', 3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    // What an admitted eviction writes, for a pod that then is never deleted.
    const pdb = rt.store.mustGet('policy/poddisruptionbudgets', NS, 'web');
    const admittedAt = rfc3339(clock.now());
    rt.registry.update(
      kindDef('PodDisruptionBudget'),
      NS,
      'web',
      {
        metadata: { resourceVersion: pdb.metadata.resourceVersion },
        status: { ...pdb.status, disruptionsAllowed: 0, disruptedPods: { 'web-5d8b-1': admittedAt } },
      },
      { subresource: 'status' },
    );
    await rt.idle();
    assert.deepEqual(status('web')?.['disruptedPods'], { 'web-5d8b-1': admittedAt });
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 2, allowed: 0 });

    await clock.advance(DELETION_TIMEOUT_MS - 1_000);
    assert.deepEqual(status('web')?.['disruptedPods'], { 'web-5d8b-1': admittedAt }, 'still within the timeout');
    assert.equal(rt.events.length, 0);

    await clock.advance(2_000);
    assert.equal(status('web')?.['disruptedPods'], undefined);
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 3, allowed: 1 });
    assert.deepEqual(rt.events, [
      {
        reason: 'NotDeleted',
        type: 'Warning',
        message: "Pod was expected by PDB shop/web to be deleted but it wasn't",
        object: 'Pod/shop/web-5d8b-1',
      },
    ]);
  });

  it('drops a disruptedPods entry as soon as its pod is terminating or gone', async () => {
    deployment('web', 3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    const pdb = rt.store.mustGet('policy/poddisruptionbudgets', NS, 'web');
    rt.registry.update(
      kindDef('PodDisruptionBudget'),
      NS,
      'web',
      {
        metadata: { resourceVersion: pdb.metadata.resourceVersion },
        status: {
          ...pdb.status,
          disruptedPods: { 'web-5d8b-0': rfc3339(clock.now()), 'no-such-pod': rfc3339(clock.now()) },
        },
      },
      { subresource: 'status' },
    );
    rt.registry.delete(kindDef('Pod'), NS, 'web-5d8b-0', { gracePeriodSeconds: 30 });
    await rt.idle();
    assert.equal(status('web')?.['disruptedPods'], undefined);
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 2, allowed: 0 });
  });

  it('selects every pod of the namespace with an empty selector and none with a null one', async () => {
    deployment('web', 2);
    deployment('api', 2);
    createPdb('all', { minAvailable: 1, selector: {} });
    createPdb('none', { minAvailable: 1 });
    await rt.idle();
    assert.deepEqual(counts('all'), { expected: 4, desired: 1, current: 4, allowed: 3 });
    assert.deepEqual(counts('none'), { expected: 0, desired: 1, current: 0, allowed: 0 });
    assert.deepEqual(rt.events, [
      { reason: 'NoPods', type: 'Normal', message: 'No matching pods found', object: 'PodDisruptionBudget/shop/none' },
    ]);
  });

  it("re-evaluates when a pod's labels move it in or out of a PDB", async () => {
    deployment('web', 3);
    createPdb('web', {
      minAvailable: 1,
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }], matchLabels: { tier: 'front' } },
    });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 0, desired: 1, current: 0, allowed: 0 });
    for (const name of ['web-5d8b-0', 'web-5d8b-1']) {
      rt.registry.patch(kindDef('Pod'), NS, name, 'merge', { metadata: { labels: { tier: 'front' } } });
    }
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 2, desired: 1, current: 2, allowed: 1 });
    rt.registry.patch(kindDef('Pod'), NS, 'web-5d8b-0', 'merge', { metadata: { labels: { tier: null } } });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 1, desired: 1, current: 1, allowed: 0 });
  });

  it('warns about unmanaged pods once and leaves them out of the expected scale', async () => {
    deployment('web', 2);
    createPod(rt, NS, 'stray', { labels: { app: 'web' } });
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 2, desired: 1, current: 3, allowed: 2 });
    setPodReady(rt, NS, 'web-5d8b-0', false);
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 2, desired: 1, current: 2, allowed: 1 });
    assert.equal(rt.events.length, 1);
    assert.equal(rt.events[0]?.reason, 'UnmanagedPods');
    assert.equal(rt.events[0]?.type, 'Warning');
    assert.match(
      rt.events[0]?.message ?? '',
      /^Pods selected by this PodDisruptionBudget \(selector: &LabelSelector\{MatchLabels:map\[string\]string\{app: web,\},MatchExpressions:\[\]LabelSelectorRequirement\{\},\}\) were found to be unmanaged\./,
    );
  });

  it('fails safe for DaemonSet pods under a maxUnavailable PDB (no scale subresource)', async () => {
    const ds = createWorkload(rt, 'DaemonSet', NS, 'agent', { replicas: 0 });
    for (let i = 0; i < 3; i++) createPod(rt, NS, `agent-${i}`, { labels: { app: 'agent' }, owner: ds });
    createPdb('agent', { maxUnavailable: 1, selector: { matchLabels: { app: 'agent' } } });
    await rt.idle();
    const s = status('agent');
    assert.equal(s?.['disruptionsAllowed'], 0);
    assert.deepEqual(allowedCondition('agent'), {
      type: 'DisruptionAllowed',
      status: 'False',
      lastTransitionTime: rfc3339(clock.now()),
      reason: 'SyncFailed',
      message: 'daemonsets.apps does not implement the scale subresource',
    });
    assert.deepEqual(rt.events, [
      {
        reason: 'CalculateExpectedPodCountFailed',
        type: 'Warning',
        message:
          'Failed to calculate the number of expected pods: daemonsets.apps does not implement the scale subresource',
        object: 'PodDisruptionBudget/shop/agent',
      },
    ]);
    // minAvailable as an integer needs no scale: DaemonSets can be guarded that way.
    rt.registry.patch(kindDef('PodDisruptionBudget'), NS, 'agent', 'merge', {
      spec: { maxUnavailable: null, minAvailable: 2 },
    });
    await rt.idle();
    assert.deepEqual(counts('agent'), { expected: 3, desired: 2, current: 3, allowed: 1 });
    assert.equal(allowedCondition('agent')?.['reason'], 'SufficientPods');
  });

  it('resets a DisruptionTarget condition left on a pod that was never deleted, after 2 minutes', async () => {
    deployment('web', 1);
    const pod = rt.store.mustGet('core/pods', NS, 'web-5d8b-0');
    const conditions = [...(pod.status?.['conditions'] as unknown[])];
    conditions.push({
      type: 'DisruptionTarget',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: rfc3339(clock.now()),
      reason: 'EvictionByEvictionAPI',
      message: 'Eviction API: evicting',
    });
    rt.registry.update(
      kindDef('Pod'),
      NS,
      'web-5d8b-0',
      { metadata: {}, status: { ...pod.status, conditions } },
      { subresource: 'status' },
    );
    const target = () => {
      const list = rt.store.mustGet('core/pods', NS, 'web-5d8b-0').status?.['conditions'];
      return (list as Record<string, unknown>[]).find((c) => c['type'] === 'DisruptionTarget');
    };
    await clock.advance(STALE_POD_DISRUPTION_TIMEOUT_MS - 1_000);
    assert.equal(target()?.['status'], 'True');
    await clock.advance(1_000);
    assert.equal(target()?.['status'], 'False');
    assert.equal(target()?.['lastTransitionTime'], rfc3339(clock.now()));
  });
  it('picks up the PDBs and pods that existed before it started', async () => {
    stop();
    deployment('web', 3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    createPdb('all', { minAvailable: '100%', selector: {} });
    await rt.idle();
    assert.equal(status('web')?.['observedGeneration'], undefined, 'nothing ran while stopped');
    stop = startDisruptionController(rt);
    await rt.idle();
    assert.deepEqual(counts('web'), { expected: 3, desired: 2, current: 3, allowed: 1 });
    assert.deepEqual(counts('all'), { expected: 3, desired: 3, current: 3, allowed: 0 });
  });
});

describe('PdbMembers', () => {
  const pod = (name: string, o: { ready?: boolean; deleting?: boolean; owner?: string }): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: rfc3339(0),
      ...(o.deleting ? { deletionTimestamp: rfc3339(0) } : {}),
      ...(o.owner
        ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `uid-${o.owner}`, controller: true }] }
        : {}),
    },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
  });
  const owners = (m: PdbMembers) => [...m.controllers()].map((r) => r.name).sort();

  it('keeps its tallies through new versions of a pod, owner changes and removals', () => {
    const m = new PdbMembers();
    m.put(pod('a', { ready: true, owner: 'rs1' }));
    m.put(pod('b', { ready: false, owner: 'rs1' }));
    m.put(pod('c', { ready: true }));
    assert.deepEqual([m.size, m.liveReady, owners(m), [...m.unmanaged]], [3, 2, ['rs1'], ['c']]);

    m.put(pod('b', { ready: true, owner: 'rs2' })); // Ready now, and adopted by another controller
    m.put(pod('a', { ready: true, deleting: true, owner: 'rs1' })); // terminating: no longer healthy
    assert.deepEqual([m.size, m.liveReady, owners(m)], [3, 2, ['rs1', 'rs2']]);

    m.remove('a');
    m.remove('c');
    m.remove('missing');
    assert.deepEqual([m.size, m.liveReady, owners(m), [...m.unmanaged], m.get('b')?.metadata.name], [1, 1, ['rs2'], [], 'b']);
    assert.equal(m.controlledBy('uid-rs2')?.metadata.name, 'b');
    m.clear();
    assert.deepEqual([m.size, m.liveReady, owners(m)], [0, 0, []]);
  });
});

describe('scaledValue', () => {
  it('rounds percentages up and rejects strings that are not percentages', () => {
    assert.equal(scaledValue(3, 10), 3);
    assert.equal(scaledValue('25%', 3), 1);
    assert.equal(scaledValue('50%', 3), 2);
    assert.equal(scaledValue('100%', 7), 7);
    assert.equal(scaledValue('0%', 7), 0);
    assert.throws(() => scaledValue('3', 10), {
      message: 'invalid value for IntOrString: invalid type: string is not a percentage',
    });
    assert.throws(() => scaledValue('x%', 10), /invalid value "x%"/);
  });
});
