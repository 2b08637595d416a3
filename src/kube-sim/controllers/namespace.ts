/**
 * The namespace controller (kube-controller-manager `namespace`): a namespace with a deletionTimestamp (phase
 * Terminating) has everything in it deleted; once nothing is left, `kubernetes` is removed from its
 * `spec.finalizers` (the `finalize` step) and the registry deletes it. Meanwhile its status carries the conditions
 * `kubectl describe namespace` shows (NamespaceContentRemaining, NamespaceFinalizersRemaining, ...).
 */
import { rfc3339 } from '../api/registry.ts';
import type { ResourceDef } from '../api/resources.ts';
import { ALL_RESOURCES } from '../api/resources.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { isGone, writeStatus } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

const FINALIZER = 'kubernetes';

/** A namespace status condition (`NamespaceCondition`). */
interface Condition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** Starts the namespace controller; returns the function that stops it. */
export function startNamespaceController(runtime: SimRuntime): () => void {
  const { store } = runtime;
  const registered = new Set(store.storages());
  // The storage-version definition of every namespaced storage: what a namespace's content can be.
  const contentDefs = new Map<string, ResourceDef>();
  for (const def of ALL_RESOURCES) {
    if (def.namespaced && def.version === def.storageVersion && registered.has(def.storage)) contentDefs.set(def.storage, def);
  }
  let stopped = false;
  const queue = new WorkQueue(
    runtime,
    (name) => {
      if (!stopped) syncNamespace(runtime, contentDefs, name);
    },
    { name: 'namespace' },
  );
  const terminating = (name: string | undefined): boolean => {
    if (!name) return false;
    return store.get('core/namespaces', undefined, name)?.metadata.deletionTimestamp !== undefined;
  };
  const unsubscribe = store.subscribe((event) => {
    if (event.storage === 'core/namespaces') {
      if (event.type !== 'DELETED' && event.object.metadata.deletionTimestamp) queue.add(event.object.metadata.name);
    } else if (contentDefs.has(event.storage)) {
      // Content that went away (or changed its finalizers) in a terminating namespace: check what is left.
      const namespace = event.object.metadata.namespace;
      const relevant = event.type === 'DELETED' || event.previous?.metadata.finalizers !== event.object.metadata.finalizers;
      if (relevant && terminating(namespace)) queue.add(namespace as string);
    }
  });
  for (const ns of store.all('core/namespaces')) if (ns.metadata.deletionTimestamp) queue.add(ns.metadata.name);
  return () => {
    stopped = true;
    unsubscribe();
  };
}

function syncNamespace(runtime: SimRuntime, contentDefs: ReadonlyMap<string, ResourceDef>, name: string): void {
  const { store, registry } = runtime;
  const ns = store.get('core/namespaces', undefined, name);
  if (!ns || !ns.metadata.deletionTimestamp) return;
  const specFinalizers = Array.isArray(ns.spec?.['finalizers']) ? (ns.spec['finalizers'] as unknown[]) : [];
  if (!specFinalizers.includes(FINALIZER)) return;

  // Delete what is not being deleted yet, in the background as upstream's namespace deleter does.
  let failure: string | undefined;
  for (const [storage, def] of contentDefs) {
    for (const obj of store.list(storage, { namespace: name }).items) {
      if (obj.metadata.deletionTimestamp) continue;
      try {
        registry.delete(def, name, obj.metadata.name, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid } });
      } catch (err) {
        if (!isGone(err)) failure ??= err instanceof Error ? err.message : String(err);
      }
    }
  }

  // What is left: counted per resource, and per finalizer that holds it.
  const remaining = new Map<string, number>();
  const finalizers = new Map<string, number>();
  for (const [storage, def] of contentDefs) {
    const left = store.list(storage, { namespace: name }).items;
    if (left.length === 0) continue;
    remaining.set(def.group ? `${def.plural}.${def.group}` : def.plural, left.length);
    for (const obj of left) for (const f of obj.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
  }
  const list = (counts: Map<string, number>, format: (key: string, n: number) => string) =>
    [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, n]) => format(k, n)).join(', ');
  const now = rfc3339(runtime.now());
  const previous = conditionsOf(ns);
  const condition = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
    const old = previous.find((c) => c.type === type);
    return { type, status, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now, reason, message };
  };
  const conditions: Condition[] = [
    condition('NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered', 'All resources successfully discovered'),
    condition('NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'),
    failure === undefined
      ? condition('NamespaceDeletionContentFailure', 'False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization')
      : condition('NamespaceDeletionContentFailure', 'True', 'ContentDeletionFailed', `Failed to delete all resource types, 1 remaining: ${failure}`),
    remaining.size === 0
      ? condition('NamespaceContentRemaining', 'False', 'ContentRemoved', 'All content successfully removed')
      : condition('NamespaceContentRemaining', 'True', 'SomeResourcesRemain', `Some resources are remaining: ${list(remaining, (r, n) => `${r} has ${n} resource instances`)}`),
    finalizers.size === 0
      ? condition('NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished')
      : condition('NamespaceFinalizersRemaining', 'True', 'SomeFinalizersRemain', `Some content in the namespace has finalizers remaining: ${list(finalizers, (f, n) => `${f} in ${n} resource instances`)}`),
  ];
  const current = writeStatus(runtime, kindDef('Namespace'), ns, { ...ns.status, phase: 'Terminating', conditions });
  if (remaining.size > 0) return; // the deletions still to come wake this controller again

  // Finalize: with `kubernetes` gone from spec.finalizers the registry deletes the namespace (if nothing else holds it).
  try {
    registry.update(kindDef('Namespace'), undefined, name, {
      ...current,
      spec: { ...current.spec, finalizers: specFinalizers.filter((f) => f !== FINALIZER) },
    });
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

function conditionsOf(ns: KubeObject): Condition[] {
  const list = ns.status?.['conditions'];
  return Array.isArray(list) ? list.filter((c): c is Condition => isRecord(c) && typeof c['type'] === 'string') : [];
}
