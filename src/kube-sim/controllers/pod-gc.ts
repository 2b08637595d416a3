/**
 * The pod garbage collector of kube-controller-manager (`pkg/controller/podgc`), for the case upgrades meet: pods
 * bound to a node that no longer exists (a node deleted or replaced) are orphaned; the collector marks them with the
 * DisruptionTarget condition (reason DeletionByPodGC) and force-deletes them (grace period 0), since no kubelet is
 * left to finish them. Their controllers then create replacements elsewhere.
 */
import { rfc3339 } from '../api/registry.ts';
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { WorkQueue } from './work-queue.ts';

/**
 * Starts the pod garbage collector; returns its stop function. Event-driven: a deleted node, or a pod bound to a
 * node that does not exist, queues that node name; processing looks the node's pods up by the `spec.nodeName` index.
 */
export function startPodGarbageCollector(runtime: SimRuntime): () => void {
  const podDef = kindDef('Pod');
  const queue = new WorkQueue(runtime, (node) => collect(node), { name: 'pod-gc' });

  function collect(node: string): void {
    if (runtime.store.get('core/nodes', undefined, node)) return;
    for (const pod of runtime.store.byIndex('core/pods', 'spec.nodeName', node)) {
      const { namespace, name } = pod.metadata;
      try {
        if (!hasDisruptionTarget(pod)) {
          runtime.registry.update(podDef, namespace, name, withDisruptionTarget(pod, runtime.now()), { subresource: 'status' });
        }
        runtime.registry.delete(podDef, namespace, name, { gracePeriodSeconds: 0 });
      } catch (err) {
        // Someone else (the garbage collector, a client) deleted it first: that is the outcome wanted.
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
  }

  const unsubscribe = runtime.store.subscribe((event) => {
    if (event.storage === 'core/nodes') {
      if (event.type === 'DELETED') queue.add(event.object.metadata.name);
      return;
    }
    if (event.storage !== 'core/pods' || event.type === 'DELETED') return;
    const node = event.object.spec?.['nodeName'];
    if (typeof node === 'string' && node !== '' && !runtime.store.get('core/nodes', undefined, node)) queue.add(node);
  });
  return unsubscribe;
}

function hasDisruptionTarget(pod: KubeObject): boolean {
  const conditions = pod.status?.['conditions'];
  return Array.isArray(conditions) && conditions.some((c: unknown) => isRecord(c) && c['type'] === 'DisruptionTarget' && c['status'] === 'True');
}

function withDisruptionTarget(pod: KubeObject, now: number): KubeObject {
  const conditions = Array.isArray(pod.status?.['conditions']) ? (pod.status['conditions'] as unknown[]) : [];
  return {
    ...pod,
    status: {
      ...pod.status,
      conditions: [
        ...conditions.filter((c) => !(isRecord(c) && c['type'] === 'DisruptionTarget')),
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'DeletionByPodGC',
          message: 'PodGC: node no longer exists',
          lastProbeTime: null,
          lastTransitionTime: rfc3339(now),
        },
      ],
    },
  };
}
