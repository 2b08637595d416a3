/**
 * The garbage collector (kube-controller-manager `garbagecollector`): deletes objects whose owners are gone, and
 * carries out the propagation policies of a delete. Background: the owner goes at once, its dependents after it.
 * Foreground: the owner waits with the `foregroundDeletion` finalizer until every dependent that blocks it
 * (`blockOwnerDeletion: true`) is gone, dependents with dependents of their own being deleted in the foreground too.
 * Orphan: dependents lose their owner reference, then the `orphan` finalizer is removed.
 *
 * Upstream keeps a graph of every object; kube-sim's store already indexes objects by owner UID, which is all the
 * graph is needed for here.
 */
import type { DeleteOptions } from '../api/registry.ts';
import type { ResourceDef } from '../api/resources.ts';
import { ALL_RESOURCES } from '../api/resources.ts';
import type { KubeObject, OwnerReference } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';
import { isGone } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

/** The storage-version definition of every storage, and of every kind by `group/kind`. */
function definitions(): { byStorage: Map<string, ResourceDef>; byKind: Map<string, ResourceDef> } {
  const byStorage = new Map<string, ResourceDef>();
  const byKind = new Map<string, ResourceDef>();
  for (const def of ALL_RESOURCES) {
    if (def.version !== def.storageVersion) continue;
    byStorage.set(def.storage, def);
    byKind.set(`${def.group}/${def.kind}`, def);
  }
  return { byStorage, byKind };
}

/** The API group of an apiVersion (`apps/v1` -> `apps`, `v1` -> ''). */
function groupOf(apiVersion: string): string {
  const at = apiVersion.indexOf('/');
  return at < 0 ? '' : apiVersion.slice(0, at);
}

/** Starts the garbage collector; returns the function that stops it. */
export function startGarbageCollector(runtime: SimRuntime): () => void {
  const collector = new GarbageCollector(runtime);
  collector.start();
  return () => collector.stop();
}

/**
 * The garbage collector's parts: resolving owner references, deleting dependents whose owners are gone
 * (`attemptToDelete`), finishing an owner deleted with the orphan or foreground finalizer (`processDeleting`), and
 * the store's events that queue both.
 */
class GarbageCollector {
  private readonly store: ObjectStore;
  private readonly registry: SimRuntime['registry'];
  private readonly byStorage: Map<string, ResourceDef>;
  private readonly byKind: Map<string, ResourceDef>;
  private stopped = false;
  private readonly queue: WorkQueue;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly runtime: SimRuntime) {
    const { store, registry } = runtime;
    this.store = store;
    this.registry = registry;
    const { byStorage, byKind } = definitions();
    this.byStorage = byStorage;
    this.byKind = byKind;
    this.queue = new WorkQueue(runtime, (key) => this.process(key), { name: 'garbage-collector' });
  }

  start(): void {
    const { store } = this;
    this.unsubscribe = store.subscribe((event) => this.onStoreEvent(event));

    for (const storage of this.store.storages()) {
      for (const obj of this.store.all(storage)) {
        if (obj.metadata.deletionTimestamp && obj.metadata.finalizers?.some((f) => f === FOREGROUND || f === ORPHAN)) {
          this.queue.add(`deleting|${objectKey(storage, obj)}`);
        } else if (obj.metadata.ownerReferences && this.ownerMissing(obj)) {
          this.queue.add(`dependent|${objectKey(storage, obj)}`);
        }
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  private ownerDef(ref: OwnerReference): ResourceDef | undefined {
    return this.byKind.get(`${groupOf(ref.apiVersion)}/${ref.kind}`);
  }
  /** The object an owner reference names, if it exists with that UID. Unknown kinds: undefined, with known false. */
  private resolve(ref: OwnerReference, namespace: string | undefined): { known: boolean; owner?: KubeObject } {
    const def = this.ownerDef(ref);
    if (!def) return { known: false };
    const owner = this.store.get(def.storage, def.namespaced ? namespace : undefined, ref.name);
    return { known: true, ...(owner && owner.metadata.uid === ref.uid ? { owner } : {}) };
  }

  private dependents(uid: string): { storage: string; obj: KubeObject }[] {
    const out: { storage: string; obj: KubeObject }[] = [];
    for (const storage of this.store.storages()) for (const obj of this.store.byIndex(storage, 'owner', uid)) out.push({ storage, obj });
    return out;
  }

  private write(storage: string, obj: KubeObject, metadata: KubeObject['metadata']): void {
    const def = this.byStorage.get(storage);
    if (!def) return;
    try {
      this.registry.update(def, obj.metadata.namespace, obj.metadata.name, { ...obj, metadata });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  private remove(storage: string, obj: KubeObject, propagationPolicy: NonNullable<DeleteOptions['propagationPolicy']>): void {
    const def = this.byStorage.get(storage);
    if (!def) return;
    try {
      this.registry.delete(def, obj.metadata.namespace, obj.metadata.name, { propagationPolicy, preconditions: { uid: obj.metadata.uid } });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  /** `attemptToDeleteItem`: a dependent with no owner left alive is deleted; dead references are dropped. */
  private attemptToDelete(storage: string, item: KubeObject): void {
    if (item.metadata.deletionTimestamp) return;
    const refs = item.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    let solid = 0;
    const dead = new Set<string>();
    let waiting = 0;
    for (const ref of refs) {
      const { known, owner } = this.resolve(ref, item.metadata.namespace);
      if (!known) solid++; // an owner of a kind kube-sim does not serve: it cannot be checked, so it is kept
      else if (!owner) dead.add(ref.uid);
      else if (waitingForDependents(owner)) {
        waiting++;
        dead.add(ref.uid);
      } else solid++;
    }
    if (solid > 0) {
      if (dead.size > 0) this.write(storage, item, withoutOwners(item, dead));
      return;
    }
    const finalizers = item.metadata.finalizers ?? [];
    if (waiting > 0 && this.dependents(item.metadata.uid).length > 0) this.remove(storage, item, 'Foreground');
    else if (finalizers.includes(ORPHAN)) this.remove(storage, item, 'Orphan');
    else if (finalizers.includes(FOREGROUND)) this.remove(storage, item, 'Foreground');
    else this.remove(storage, item, 'Background');
  }

  /** An owner being deleted with the orphan or foreground finalizer. */
  private processDeleting(storage: string, owner: KubeObject): void {
    const finalizers = owner.metadata.finalizers ?? [];
    const uid = owner.metadata.uid;
    if (finalizers.includes(ORPHAN)) {
      const uids = new Set([uid]);
      for (const dep of this.dependents(uid)) this.write(dep.storage, dep.obj, withoutOwners(dep.obj, uids));
      const fresh = this.store.get(storage, owner.metadata.namespace, owner.metadata.name);
      if (fresh) this.write(storage, fresh, withoutFinalizer(fresh, ORPHAN));
      return;
    }
    if (!finalizers.includes(FOREGROUND)) return;
    const blocking = this.dependents(uid).filter(({ obj }) => obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    if (blocking.length === 0) {
      this.write(storage, owner, withoutFinalizer(owner, FOREGROUND));
      return;
    }
    for (const dep of blocking) this.attemptToDelete(dep.storage, dep.obj);
  }

  /** Wakes an owner waiting in the foreground when one of its dependents changed. */
  private wakeWaitingOwner(ref: OwnerReference, namespace: string | undefined): void {
    const def = this.ownerDef(ref);
    if (!def) return;
    const owner = this.store.get(def.storage, def.namespaced ? namespace : undefined, ref.name);
    if (owner && owner.metadata.uid === ref.uid && waitingForDependents(owner)) this.queue.add(`deleting|${objectKey(def.storage, owner)}`);
  }

  /** Whether an object names an owner that does not exist, or that waits for its dependents to go. */
  private ownerMissing(obj: KubeObject): boolean {
    return (obj.metadata.ownerReferences ?? []).some((ref) => {
      const { known, owner } = this.resolve(ref, obj.metadata.namespace);
      return known && (!owner || waitingForDependents(owner));
    });
  }

  /** One queued key: an owner gone (`gone:`), an owner being deleted, or a dependent to check. */
  private process(key: string): void {
    if (this.stopped) return;
    if (key.startsWith('gone:')) {
      // Everything that named the vanished object as an owner.
      for (const dep of this.dependents(key.slice(5))) this.attemptToDelete(dep.storage, dep.obj);
      return;
    }
    const [kind, storage = '', namespace = '', name = ''] = key.split('|');
    const obj = this.store.get(storage, namespace || undefined, name);
    if (!obj) return;
    if (kind === 'deleting') {
      if (obj.metadata.deletionTimestamp) this.processDeleting(storage, obj);
    } else {
      this.attemptToDelete(storage, obj);
    }
  }

  private onStoreEvent(event: StoreEvent): void {
    if (event.storage === 'core/events') return; // events own nothing and are owned by nothing
    const obj = event.object;
    const namespace = obj.metadata.namespace;
    if (event.type === 'DELETED') {
      this.queue.add(`gone:${obj.metadata.uid}`);
      for (const ref of obj.metadata.ownerReferences ?? []) this.wakeWaitingOwner(ref, namespace);
      return;
    }
    const finalizers = obj.metadata.finalizers;
    if (obj.metadata.deletionTimestamp && finalizers && (finalizers.includes(FOREGROUND) || finalizers.includes(ORPHAN))) {
      this.queue.add(`deleting|${objectKey(event.storage, obj)}`);
    }
    const refs = obj.metadata.ownerReferences;
    if (event.type === 'ADDED') {
      // An object created with an owner that does not exist (any more) is collected, as upstream does.
      if (refs && this.ownerMissing(obj)) this.queue.add(`dependent|${objectKey(event.storage, obj)}`);
    } else if (event.previous && event.previous.metadata.ownerReferences !== refs) {
      // A dependent that dropped an owner no longer blocks it.
      for (const ref of event.previous.metadata.ownerReferences ?? []) {
        if (!refs?.some((r) => r.uid === ref.uid)) this.wakeWaitingOwner(ref, namespace);
      }
    }
  }
}

function objectKey(storage: string, obj: KubeObject): string {
  return `${storage}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
}

function waitingForDependents(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).includes(FOREGROUND);
}

function withoutOwners(obj: KubeObject, uids: ReadonlySet<string>): KubeObject['metadata'] {
  const { ownerReferences, ...rest } = obj.metadata;
  const kept = (ownerReferences ?? []).filter((r) => !uids.has(r.uid));
  return kept.length > 0 ? { ...rest, ownerReferences: kept } : rest;
}

function withoutFinalizer(obj: KubeObject, finalizer: string): KubeObject['metadata'] {
  const { finalizers, ...rest } = obj.metadata;
  const kept = (finalizers ?? []).filter((f) => f !== finalizer);
  return kept.length > 0 ? { ...rest, finalizers: kept } : rest;
}
