/**
 * Waiting for a freshly built cluster to settle: every workload has its pods, and every pod that can run is Running
 * and Ready. Pods that cannot run (unschedulable, or bound to a node whose machine is not a healthy running one)
 * count as settled: a real cluster with those faults would show them the same way.
 */
import { containerFaultFor } from '../controllers/container-faults.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import type { Timings } from '../scenario/types.ts';

/** A workload whose pods the wait follows. */
export interface SettleTarget {
  kind: string;
  namespace: string;
  name: string;
}

/** What a wait ended with. */
export interface SettleResult {
  settled: boolean;
  /** Workloads not settled when the wait gave up (at most 20 named). */
  unsettled: string[];
  elapsedMs: number;
}

/**
 * How long a build waits before giving up on settling: generous against the timings (a StatefulSet starts its pods
 * one by one), plus a floor for the time the controllers need on a large cluster with zero delays.
 */
export function settleTimeoutMs(timings: Timings): number {
  return 20_000 + 10 * (timings.podStart + timings.nodeBoot);
}

function condition(pod: KubeObject, type: string): Record<string, unknown> | undefined {
  const conditions = pod.status?.['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  for (const c of conditions as unknown[]) if (isRecord(c) && c['type'] === type) return c;
  return undefined;
}

/** Running and Ready, and not on its way out. */
function podReady(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.['phase'] === 'Running' && condition(pod, 'Ready')?.['status'] === 'True';
}

/** A pod that will not run as things stand: the scheduler found no node, or its node's host cannot run it. */
function podBlocked(runtime: SimRuntime, pod: KubeObject): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const nodeName = pod.spec?.['nodeName'];
  if (typeof nodeName !== 'string' || nodeName === '') {
    const scheduled = condition(pod, 'PodScheduled');
    return scheduled?.['status'] === 'False';
  }
  const machine = runtime.machines.get(nodeName);
  if (!machine || machine.state !== 'running' || machine.health !== 'healthy') return true;
  // A container fault keeps it from ever being Ready (image pull, crash loop, readiness).
  const containers = pod.spec?.['containers'];
  const rules = runtime.faults.containerFaults;
  return (
    rules.length > 0 &&
    Array.isArray(containers) &&
    (containers as unknown[]).some(
      (c) => isRecord(c) && containerFaultFor(rules, typeof c['image'] === 'string' ? c['image'] : '', machine.kubeletVersion) !== undefined,
    )
  );
}

function livePods(pods: readonly KubeObject[]): KubeObject[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp);
}

/** Whether one workload is settled now. */
function workloadSettled(runtime: SimRuntime, target: SettleTarget): boolean {
  const { store } = runtime;
  const ok = (pods: readonly KubeObject[]) => pods.every((p) => podReady(p) || podBlocked(runtime, p));
  switch (target.kind) {
    case 'Pod': {
      const pod = store.get('core/pods', target.namespace, target.name);
      return !pod || podReady(pod) || podBlocked(runtime, pod);
    }
    case 'Deployment': {
      const deployment = store.get('apps/deployments', target.namespace, target.name);
      if (!deployment) return true;
      const wanted = typeof deployment.spec?.['replicas'] === 'number' ? deployment.spec['replicas'] : 1;
      const pods: KubeObject[] = [];
      for (const rs of store.byIndex('apps/replicasets', 'owner', deployment.metadata.uid)) {
        pods.push(...livePods(store.byIndex('core/pods', 'owner', rs.metadata.uid)));
      }
      return pods.length >= wanted && ok(pods);
    }
    case 'StatefulSet': {
      const sts = store.get('apps/statefulsets', target.namespace, target.name);
      if (!sts) return true;
      const wanted = typeof sts.spec?.['replicas'] === 'number' ? sts.spec['replicas'] : 1;
      const pods = livePods(store.byIndex('core/pods', 'owner', sts.metadata.uid));
      // OrderedReady: a blocked ordinal holds back the later ones for good.
      return ok(pods) && (pods.length >= wanted || pods.some((p) => podBlocked(runtime, p)));
    }
    case 'DaemonSet': {
      const ds = store.get('apps/daemonsets', target.namespace, target.name);
      if (!ds) return true;
      const status = ds.status ?? {};
      const observed = typeof status['observedGeneration'] === 'number' && status['observedGeneration'] >= (ds.metadata.generation ?? 1);
      const desired = status['desiredNumberScheduled'];
      if (!observed || typeof desired !== 'number') return false;
      const pods = livePods(store.byIndex('core/pods', 'owner', ds.metadata.uid));
      return pods.length >= desired && ok(pods);
    }
    default:
      return true;
  }
}

/**
 * Resolves once every target is settled or `timeoutMs` passed. Polls, because "settled" spans several kinds of
 * objects and the machines (state the store's events do not carry). Each poll walks the targets in order and stops
 * at the first one not settled yet: settled ones are not looked at again, so a poll costs little while the
 * controllers (which share this thread) do the work.
 */
export async function waitForSettled(runtime: SimRuntime, targets: readonly SettleTarget[], timeoutMs: number, pollMs = 50): Promise<SettleResult> {
  const started = Date.now();
  let next = 0;
  for (;;) {
    while (next < targets.length && workloadSettled(runtime, targets[next] as SettleTarget)) next++;
    const elapsedMs = Date.now() - started;
    if (next >= targets.length) return { settled: true, unsettled: [], elapsedMs };
    if (elapsedMs >= timeoutMs || runtime.stopped()) {
      const unsettled = targets.slice(next).filter((t) => !workloadSettled(runtime, t));
      return { settled: false, unsettled: unsettled.slice(0, 20).map((t) => `${t.kind} ${t.namespace}/${t.name}`), elapsedMs };
    }
    // Real time on purpose: this waits for the controllers' work, which runs on the event loop.
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
