import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { podWorkload, startAvailabilityMonitor } from './availability.ts';
import type { AvailabilityMonitor } from './availability.ts';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import {
  controllerRef,
  createNamespace,
  createPod,
  createTestRuntime,
  createWorkload,
  setPodReady,
} from '../testing/runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';

const NS = 'shop';

let clock: ManualClock;
let rt: TestRuntime;
let monitor: AvailabilityMonitor;

beforeEach(() => {
  clock = new ManualClock();
  rt = createTestRuntime({ clock });
  monitor = startAvailabilityMonitor(rt);
});

afterEach(() => {
  monitor.stop();
  rt.stop();
});

/** A Deployment `web` with its ReplicaSet and `replicas` pods, Ready unless `ready` says otherwise. */
function web(replicas: number, ready = true): { rs: KubeObject; pods: string[] } {
  const d = createWorkload(rt, 'Deployment', NS, 'web', { replicas });
  const rs = createWorkload(rt, 'ReplicaSet', NS, 'web-84c7', { replicas, labels: { app: 'web' } }, [controllerRef(d)]);
  const pods = Array.from({ length: replicas }, (_, i) => {
    createPod(rt, NS, `web-84c7-${i}`, { labels: { app: 'web' }, owner: rs, ready });
    return `web-84c7-${i}`;
  });
  return { rs, pods };
}

function createPdb(name: string, spec: Record<string, unknown>): void {
  createNamespace(rt, NS);
  rt.registry.create(kindDef('PodDisruptionBudget'), NS, { metadata: { name }, spec });
}

describe('availability monitor', () => {
  it('records an interval below the PDB with exact from/to and the fewest ready pods seen', async () => {
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    web(4);
    const t0 = clock.now();
    await clock.advance(10_000);
    setPodReady(rt, NS, 'web-84c7-0', false); // 3 ready: desiredHealthy 3, not below
    await clock.advance(5_000);
    const from = clock.now();
    setPodReady(rt, NS, 'web-84c7-1', false); // 2 ready: below
    await clock.advance(1_000);
    setPodReady(rt, NS, 'web-84c7-2', false); // 1 ready
    await clock.advance(2_000);
    setPodReady(rt, NS, 'web-84c7-2', true); // 2 ready: still below
    await clock.advance(3_000);
    const to = clock.now();
    setPodReady(rt, NS, 'web-84c7-1', true); // 3 ready: back
    await clock.advance(1_000);

    const report = monitor.report();
    assert.deepEqual(report.intervals, [
      {
        namespace: NS,
        kind: 'Deployment',
        name: 'web',
        type: 'below-pdb',
        from,
        to,
        minReady: 1,
        desiredHealthy: 3,
        pdb: 'web',
      },
    ]);
    assert.equal(to - from, 6_000);
    assert.equal(report.at, t0 + 22_000);
    assert.deepEqual(report.workloads, [
      {
        namespace: NS,
        kind: 'Deployment',
        name: 'web',
        replicas: 4,
        readyReplicas: 3,
        tracking: true,
        minReady: 1,
        pdb: 'web',
        desiredHealthy: 3,
        belowPdbMs: 6_000,
        zeroMs: 0,
        timeBelowMs: 6_000,
        deleted: false,
      },
    ]);
  });

  it('records an interval at zero ready replicas, terminating pods counting as gone', async () => {
    const ss = createWorkload(rt, 'StatefulSet', NS, 'db', { replicas: 2 });
    createPod(rt, NS, 'db-0', { labels: { app: 'db' }, owner: ss });
    createPod(rt, NS, 'db-1', { labels: { app: 'db' }, owner: ss });
    await clock.advance(1_000);
    setPodReady(rt, NS, 'db-0', false);
    await clock.advance(1_000);
    const from = clock.now();
    rt.registry.delete(kindDef('Pod'), NS, 'db-1', { gracePeriodSeconds: 30 }); // terminating: not counted
    await clock.advance(4_000);
    const to = clock.now();
    setPodReady(rt, NS, 'db-0', true);
    await clock.advance(500);

    const report = monitor.report();
    assert.deepEqual(report.intervals, [
      { namespace: NS, kind: 'StatefulSet', name: 'db', type: 'zero', from, to, minReady: 0 },
    ]);
    assert.equal(to - from, 4_000);
    const db = report.workloads.find((w) => w.name === 'db');
    assert.equal(db?.zeroMs, 4_000);
    assert.equal(db?.timeBelowMs, 4_000);
    assert.equal(db?.belowPdbMs, 0);
    assert.equal(db?.minReady, 0);
  });

  it('records both kinds of interval when a PDB-guarded workload drops to zero, and reports open ones', async () => {
    createPdb('web', { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } });
    web(2);
    await clock.advance(1_000);
    const below = clock.now();
    setPodReady(rt, NS, 'web-84c7-0', false); // 1 ready: desiredHealthy ceil(1) = 1, not below
    setPodReady(rt, NS, 'web-84c7-1', false); // 0: below and zero
    await clock.advance(2_500);
    const report = monitor.report();
    assert.deepEqual(report.intervals, [
      {
        namespace: NS,
        kind: 'Deployment',
        name: 'web',
        type: 'below-pdb',
        from: below,
        minReady: 0,
        desiredHealthy: 1,
        pdb: 'web',
      },
      { namespace: NS, kind: 'Deployment', name: 'web', type: 'zero', from: below, minReady: 0 },
    ]);
    const w = report.workloads[0];
    assert.equal(w?.belowPdbMs, 2_500);
    assert.equal(w?.zeroMs, 2_500);
    assert.equal(w?.timeBelowMs, 2_500, 'overlapping intervals are counted once');
  });

  it('does not count start-up as an outage: tracking starts once all replicas were ready', async () => {
    createPdb('web', { minAvailable: 3, selector: { matchLabels: { app: 'web' } } });
    const { pods } = web(3, false);
    for (const name of pods) {
      await clock.advance(1_000);
      setPodReady(rt, NS, name, true);
    }
    const report = monitor.report();
    assert.deepEqual(report.intervals, []);
    assert.equal(report.workloads[0]?.tracking, true);
    assert.equal(report.workloads[0]?.minReady, 3);
  });

  it('measures a scaled-down workload against its new size, a scaled-up one against its old size until reached', async () => {
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    const { rs } = web(3);
    await clock.advance(1_000);
    // Scale down to 2: the ReplicaSet's pod goes, no outage.
    rt.registry.patch(kindDef('Deployment'), NS, 'web', 'merge', { spec: { replicas: 2 } });
    rt.registry.delete(kindDef('Pod'), NS, 'web-84c7-2', { gracePeriodSeconds: 30 });
    await clock.advance(1_000);
    assert.deepEqual(monitor.report().intervals, []);
    // Scale up to 5: two ready of five is no outage while the new pods start (still measured against 2).
    rt.registry.patch(kindDef('Deployment'), NS, 'web', 'merge', { spec: { replicas: 5 } });
    for (let i = 3; i < 6; i++) createPod(rt, NS, `web-84c7-${i}`, { labels: { app: 'web' }, owner: rs, ready: false });
    await clock.advance(1_000);
    assert.deepEqual(monitor.report().intervals, []);
    // Losing one of the two ready pods keeps the old size's budget (2 - 1 = 1 must stay) ...
    setPodReady(rt, NS, 'web-84c7-0', false);
    assert.deepEqual(monitor.report().intervals, []);
    // ... and losing both is an outage.
    const from = clock.now();
    setPodReady(rt, NS, 'web-84c7-1', false);
    const intervals = monitor.report().intervals;
    assert.deepEqual(
      intervals.map((i) => [i.type, i.from, i.desiredHealthy]),
      [
        ['below-pdb', from, 1],
        ['zero', from, undefined],
      ],
    );
    // Once the new size is reached, it is the measure: desiredHealthy 5 - 1 = 4.
    for (let i = 0; i < 6; i++) if (i !== 2) setPodReady(rt, NS, `web-84c7-${i}`, true);
    await clock.advance(1_000);
    setPodReady(rt, NS, 'web-84c7-3', false);
    setPodReady(rt, NS, 'web-84c7-4', false);
    const last = monitor.report().intervals.at(-1);
    assert.equal(last?.type, 'below-pdb');
    assert.equal(last?.desiredHealthy, 4);
    assert.equal(last?.minReady, 3);
    assert.equal(last?.to, undefined);
  });

  it('tracks workloads that existed before it started, ReplicaSets without a Deployment, and skips DaemonSets', () => {
    monitor.stop();
    const rs = createWorkload(rt, 'ReplicaSet', NS, 'solo', { replicas: 1 });
    createPod(rt, NS, 'solo-x1', { labels: { app: 'solo' }, owner: rs });
    const ds = createWorkload(rt, 'DaemonSet', NS, 'agent', { replicas: 0 });
    createPod(rt, NS, 'agent-a', { labels: { app: 'agent' }, owner: ds });
    web(1);
    monitor = startAvailabilityMonitor(rt);
    assert.deepEqual(
      monitor.report().workloads.map((w) => [w.kind, w.name, w.readyReplicas, w.tracking]),
      [
        ['Deployment', 'web', 1, true],
        ['ReplicaSet', 'solo', 1, true],
      ],
    );
    const from = clock.now();
    rt.registry.delete(kindDef('Pod'), NS, 'solo-x1', { gracePeriodSeconds: 0 });
    setPodReady(rt, NS, 'agent-a', false);
    assert.deepEqual(monitor.report().intervals, [
      { namespace: NS, kind: 'ReplicaSet', name: 'solo', type: 'zero', from, minReady: 0 },
    ]);
  });

  it('stops tracking a workload that is deleted', async () => {
    web(2);
    await clock.advance(1_000);
    setPodReady(rt, NS, 'web-84c7-0', false);
    setPodReady(rt, NS, 'web-84c7-1', false);
    const from = clock.now();
    await clock.advance(1_000);
    rt.registry.delete(kindDef('Deployment'), NS, 'web');
    const at = clock.now();
    await clock.advance(5_000);
    const report = monitor.report();
    assert.deepEqual(report.intervals, [
      { namespace: NS, kind: 'Deployment', name: 'web', type: 'zero', from, to: at, minReady: 0 },
    ]);
    assert.equal(report.workloads[0]?.deleted, true);
    assert.equal(report.workloads[0]?.zeroMs, 1_000);
  });
});

describe('podWorkload', () => {
  it("names the Deployment of a ReplicaSet's pod, the controller otherwise, the pod itself without one", () => {
    web(1);
    const pod = rt.store.mustGet('core/pods', NS, 'web-84c7-0');
    assert.deepEqual(podWorkload(rt, pod), { kind: 'Deployment', namespace: NS, name: 'web' });
    const solo = createWorkload(rt, 'ReplicaSet', NS, 'solo', { replicas: 1 });
    assert.deepEqual(podWorkload(rt, createPod(rt, NS, 'solo-1', { owner: solo })), {
      kind: 'ReplicaSet',
      namespace: NS,
      name: 'solo',
    });
    assert.deepEqual(podWorkload(rt, createPod(rt, NS, 'bare')), { kind: 'Pod', namespace: NS, name: 'bare' });
  });
});
