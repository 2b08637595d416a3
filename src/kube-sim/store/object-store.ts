/**
 * kube-sim's etcd: an in-memory, revisioned object store with a bounded event history per collection, so watches
 * can start from a past resourceVersion (and get 410 Expired when it was compacted away), and secondary indexes so
 * that "pods on node X" does not scan 50,000 pods. Stored objects are immutable: every write stores a new object.
 */
import { alreadyExists, conflict, expired, notFound } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import { jsonEqual, objectKey } from '../model/wire.ts';

/** The change a store event records. */
export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change to one object, at one revision. */
export interface StoreEvent {
  type: StoreEventType;
  /** The object after the change (for DELETED, the last state). */
  object: KubeObject;
  /** The object before the change, for MODIFIED and DELETED. */
  previous?: KubeObject;
  revision: number;
  storage: string;
}

/** Receives store events. */
export type StoreListener = (event: StoreEvent) => void;

/** Computes the index values of an object (e.g. its node name); none when it should not be indexed. */
export type IndexFunction = (obj: KubeObject) => readonly string[];

/** Options of a list. */
export interface StoreListOptions {
  namespace?: string;
  /** Use a secondary index instead of a scan. */
  index?: { name: string; value: string };
  /** Only the object of this key (`ns/name`, or the name of a cluster-scoped object), if it exists. */
  key?: string;
  /** Start after this key (a continue token's position). */
  afterKey?: string;
  /** Most items to return (items that pass `filter`). */
  limit?: number;
  filter?: (obj: KubeObject) => boolean;
}

/**
 * The one value a watch's field selector pins, as the apiserver's watch cache keys its triggers (pods by
 * `spec.nodeName`, any object by name): the watch is only handed the events of objects that have (or had) it.
 */
export type WatchTrigger = { key: string } | { index: string; value: string };

/** The list options that read only what a trigger pins: the one key, or the index value. */
export function pinnedScope(trigger: WatchTrigger | undefined): Pick<StoreListOptions, 'key' | 'index'> {
  if (!trigger) return {};
  return 'key' in trigger ? { key: trigger.key } : { index: { name: trigger.index, value: trigger.value } };
}

/** The result of a list. */
export interface StoreListResult {
  items: KubeObject[];
  revision: number;
  /** Set when `limit` cut the list: the key of the last item returned. */
  lastKey?: string;
  /** How many items after lastKey the scan did not look at (upper bound on the remaining matches). */
  remaining?: number;
}

/** Options of the store. */
export interface ObjectStoreOptions {
  /**
   * Events kept per collection for watches that resume from a resourceVersion.
   * @default 100000
   */
  historyLimit?: number;
}

/** The kind of resource a collection holds, for error messages. */
interface CollectionIdentity {
  group: string;
  plural: string;
}

class Collection {
  readonly items = new Map<string, KubeObject>();
  readonly history: StoreEvent[] = [];
  /** Revisions at or below this one are no longer in `history`. */
  compactedRevision = 0;
  /** Watch listeners without a trigger, each with what to call when the store drops it. */
  readonly watchers = new Map<StoreListener, () => void>();
  /** Watch listeners with a trigger: by index name (`''` for the key), then value. */
  readonly triggered = new Map<string, Map<string, Map<StoreListener, () => void>>>();
  /** Secondary indexes: value -> key -> the object as stored now (a lookup by index reads no other map). */
  readonly indexes = new Map<string, { fn: IndexFunction; values: Map<string, Map<string, KubeObject>> }>();
  /**
   * The keys in order, for lists, once one asked. Keys created and deleted since are merged in when a list needs them
   * again: splicing each into a 10,000-key array as it came cost more than all the lists that read it.
   */
  private sorted: string[] | undefined;
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();

  constructor(readonly identity: CollectionIdentity) {}

  sortedKeys(): string[] {
    if (!this.sorted) this.sorted = [...this.items.keys()].sort();
    else if (this.added.size > 0 || this.removed.size > 0) {
      const kept = this.removed.size > 0 ? this.sorted.filter((k) => !this.removed.has(k)) : this.sorted;
      this.sorted = mergeSorted(kept, [...this.added].sort());
    }
    this.added.clear();
    this.removed.clear();
    return this.sorted;
  }

  keyAdded(key: string): void {
    if (!this.sorted) return;
    // A key deleted and created again since the last list is still in `sorted`.
    if (!this.removed.delete(key)) this.added.add(key);
  }

  keyRemoved(key: string): void {
    if (!this.sorted) return;
    if (!this.added.delete(key)) this.removed.add(key);
  }

  reindex(key: string, before: KubeObject | undefined, after: KubeObject | undefined): void {
    for (const index of this.indexes.values()) {
      if (before) for (const v of index.fn(before)) index.values.get(v)?.delete(key);
      if (after) for (const v of index.fn(after)) indexEntry(index.values, v).set(key, after);
    }
  }
}

function indexEntry(values: Map<string, Map<string, KubeObject>>, value: string): Map<string, KubeObject> {
  let entry = values.get(value);
  if (!entry) values.set(value, (entry = new Map<string, KubeObject>()));
  return entry;
}

/** The merge of two sorted arrays of distinct keys (`a` itself when `b` is empty). */
function mergeSorted(a: string[], b: readonly string[]): string[] {
  if (b.length === 0) return a;
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = (a[i] as string) < (b[j] as string) ? (a[i++] as string) : (b[j++] as string);
  while (i < a.length) out[k++] = a[i++] as string;
  while (j < b.length) out[k++] = b[j++] as string;
  return out;
}

/** First position in sorted `keys` whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The revisioned object store. */
export class ObjectStore {
  private revision = 1;
  private readonly collections = new Map<string, Collection>();
  private readonly listeners = new Set<StoreListener>();
  private readonly historyLimit: number;

  constructor(options: ObjectStoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 100_000;
  }

  /** Declares a collection (idempotent). */
  register(storage: string, identity: CollectionIdentity): void {
    if (!this.collections.has(storage)) this.collections.set(storage, new Collection(identity));
  }

  /** Adds a secondary index to a collection. */
  addIndex(storage: string, name: string, fn: IndexFunction): void {
    const c = this.collection(storage);
    const index = { fn, values: new Map<string, Map<string, KubeObject>>() };
    c.indexes.set(name, index);
    for (const [key, obj] of c.items) for (const v of fn(obj)) indexEntry(index.values, v).set(key, obj);
  }

  /** The newest revision: what a list reports as its resourceVersion. */
  currentRevision(): number {
    return this.revision;
  }

  /** The storages that exist. */
  storages(): string[] {
    return [...this.collections.keys()];
  }

  /** Number of objects in a collection. */
  count(storage: string): number {
    return this.collection(storage).items.size;
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.collection(storage).items.get(objectKey(namespace, name));
  }

  /** Like get, but a missing object is a 404 StatusError. */
  mustGet(storage: string, namespace: string | undefined, name: string): KubeObject {
    const obj = this.get(storage, namespace, name);
    if (!obj) {
      const { group, plural } = this.collection(storage).identity;
      throw notFound(group, plural, name);
    }
    return obj;
  }

  /** Objects by a secondary index value, without a scan. */
  byIndex(storage: string, indexName: string, value: string): KubeObject[] {
    const c = this.collection(storage);
    const objects = this.indexOf(c, indexName).values.get(value);
    return objects ? [...objects.values()] : [];
  }

  /** Every object of a collection (unordered), for controllers. */
  all(storage: string): IterableIterator<KubeObject> {
    return this.collection(storage).items.values();
  }

  /** Lists in key order, with namespace, index, filter and pagination. */
  list(storage: string, options: StoreListOptions = {}): StoreListResult {
    const c = this.collection(storage);
    const revision = this.revision;
    let keys: readonly string[];
    let start = 0;
    let end: number;
    if (options.key !== undefined) {
      keys = c.items.has(options.key) ? [options.key] : [];
      end = keys.length;
    } else if (options.index) {
      keys = [...(this.indexOf(c, options.index.name).values.get(options.index.value)?.keys() ?? [])].sort();
      end = keys.length;
    } else {
      keys = c.sortedKeys();
      end = keys.length;
      if (options.namespace !== undefined) {
        // Namespaced keys are `ns/name`, so one namespace is a contiguous range.
        start = lowerBound(keys, `${options.namespace}/`);
        end = lowerBound(keys, `${options.namespace}0`); // '0' sorts right after '/'
      }
    }
    if (options.afterKey !== undefined) start = Math.max(start, lowerBound(keys, options.afterKey + '\u0000'));
    const items: KubeObject[] = [];
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    let i = start;
    for (; i < end && items.length < limit; i++) {
      const obj = c.items.get(keys[i] as string);
      if (!obj) continue;
      if (options.namespace !== undefined && obj.metadata.namespace !== options.namespace) continue;
      if (options.filter && !options.filter(obj)) continue;
      items.push(obj);
    }
    if (items.length >= limit && i < end) {
      return { items, revision, lastKey: keys[i - 1], remaining: end - i };
    }
    return { items, revision };
  }

  /** Stores a new object; it must not exist. Returns it with its resourceVersion set. */
  create(storage: string, obj: KubeObject): KubeObject {
    const c = this.collection(storage);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    if (c.items.has(key)) throw alreadyExists(c.identity.group, c.identity.plural, obj.metadata.name);
    const stored = this.stamp(obj);
    c.items.set(key, stored);
    c.keyAdded(key);
    c.reindex(key, undefined, stored);
    this.emit(c, { type: 'ADDED', object: stored, revision: this.revision, storage });
    return stored;
  }

  /**
   * Replaces an object. When `expectedResourceVersion` is given and is not the stored one, throws 409 Conflict.
   * Returns the stored object unchanged (no new revision) when nothing changed but the resourceVersion.
   */
  update(storage: string, obj: KubeObject, expectedResourceVersion?: string): KubeObject {
    const c = this.collection(storage);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const previous = c.items.get(key);
    if (!previous) throw notFound(c.identity.group, c.identity.plural, obj.metadata.name);
    if (expectedResourceVersion !== undefined && expectedResourceVersion !== previous.metadata.resourceVersion) {
      throw conflict(c.identity.group, c.identity.plural, obj.metadata.name);
    }
    if (sameContent(previous, obj)) return previous;
    const stored = this.stamp(obj);
    c.items.set(key, stored);
    c.reindex(key, previous, stored);
    this.emit(c, { type: 'MODIFIED', object: stored, previous, revision: this.revision, storage });
    return stored;
  }

  /** Removes an object for good; returns its last state with the deletion's resourceVersion. */
  remove(storage: string, namespace: string | undefined, name: string, expectedResourceVersion?: string): KubeObject {
    const c = this.collection(storage);
    const key = objectKey(namespace, name);
    const previous = c.items.get(key);
    if (!previous) throw notFound(c.identity.group, c.identity.plural, name);
    if (expectedResourceVersion !== undefined && expectedResourceVersion !== previous.metadata.resourceVersion) {
      throw conflict(c.identity.group, c.identity.plural, name);
    }
    c.items.delete(key);
    c.keyRemoved(key);
    c.reindex(key, previous, undefined);
    const last = this.stamp(previous);
    this.emit(c, { type: 'DELETED', object: last, previous, revision: this.revision, storage });
    return last;
  }

  /**
   * Starts a watch on a collection. Without `fromRevision`, only later events arrive; with it, every kept event
   * after it is replayed first. A revision older than the history throws 410 Expired.
   */
  watch(
    storage: string,
    fromRevision: number | undefined,
    listener: StoreListener,
    onDrop: () => void = () => {},
    trigger?: WatchTrigger,
  ): { replay: StoreEvent[]; stop: () => void } {
    const c = this.collection(storage);
    let replay: StoreEvent[] = [];
    if (fromRevision !== undefined) {
      if (fromRevision < c.compactedRevision) {
        const oldest = c.history[0]?.revision ?? this.revision;
        throw expired(`too old resource version: ${fromRevision} (${oldest - 1})`);
      }
      const at = firstAfter(c.history, fromRevision);
      replay = c.history.slice(at);
    }
    if (!trigger) {
      c.watchers.set(listener, onDrop);
      return { replay, stop: () => c.watchers.delete(listener) };
    }
    const [name, value] = 'key' in trigger ? ['', trigger.key] : [trigger.index, trigger.value];
    if (name !== '') this.indexOf(c, name);
    let byValue = c.triggered.get(name);
    if (!byValue) c.triggered.set(name, (byValue = new Map<string, Map<StoreListener, () => void>>()));
    let watchers = byValue.get(value);
    if (!watchers) byValue.set(value, (watchers = new Map<StoreListener, () => void>()));
    watchers.set(listener, onDrop);
    const own = watchers;
    return {
      replay,
      stop: () => {
        own.delete(listener);
        if (own.size === 0 && byValue.get(value) === own) byValue.delete(value);
      },
    };
  }

  /** Subscribes to every change of every collection (kube-sim's own controllers). */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets history up to `revision` (etcd's compaction to a revision): watches from before it get 410. */
  compactTo(revision: number): void {
    for (const c of this.collections.values()) {
      if (revision <= c.compactedRevision) continue;
      c.history.splice(0, firstAfter(c.history, revision));
      c.compactedRevision = revision;
    }
  }

  /** Forgets history up to the current revision, as etcd compaction does: older watches get 410. */
  compact(): void {
    for (const c of this.collections.values()) {
      c.history.length = 0;
      c.compactedRevision = this.revision;
    }
  }

  /** Closes every watch (fault injection: the apiserver dropped its watch connections). */
  dropWatchers(): number {
    let n = 0;
    for (const c of this.collections.values()) {
      const dropped = [...c.watchers.values()];
      for (const byValue of c.triggered.values()) for (const watchers of byValue.values()) dropped.push(...watchers.values());
      n += dropped.length;
      c.watchers.clear();
      c.triggered.clear();
      for (const onDrop of dropped) onDrop();
    }
    return n;
  }

  /** Every object of every collection, for snapshots. */
  dump(): { revision: number; collections: Record<string, KubeObject[]> } {
    const collections: Record<string, KubeObject[]> = {};
    for (const [storage, c] of this.collections) collections[storage] = [...c.items.values()];
    return { revision: this.revision, collections };
  }

  /**
   * Replaces the whole content (restore of a snapshot). Watchers see the difference as events, as clients of a
   * restored etcd would after relisting; history is compacted so old watches must relist.
   */
  restore(snapshot: { collections: Record<string, KubeObject[]> }): void {
    for (const [storage, c] of this.collections) {
      const wanted = new Map((snapshot.collections[storage] ?? []).map((o) => [objectKey(o.metadata.namespace, o.metadata.name), o]));
      for (const [key, obj] of [...c.items]) {
        if (!wanted.has(key)) this.remove(storage, obj.metadata.namespace, obj.metadata.name);
      }
      for (const [key, obj] of wanted) {
        const current = c.items.get(key);
        if (!current) this.create(storage, obj);
        else if (current.metadata.uid !== obj.metadata.uid) {
          this.remove(storage, current.metadata.namespace, current.metadata.name);
          this.create(storage, obj);
        } else this.update(storage, obj);
      }
    }
  }

  private stamp(obj: KubeObject): KubeObject {
    this.revision += 1;
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.revision) } };
  }

  private emit(c: Collection, event: StoreEvent): void {
    c.history.push(event);
    // Trimming the front of a large history is O(history) per call: a large history is trimmed in chunks (keeping
    // up to 1/16 more than the limit), or every write past the limit would shift 100,000 events.
    const slack = this.historyLimit >= 1024 ? this.historyLimit >> 4 : 0;
    if (c.history.length > this.historyLimit + slack) {
      const dropped = c.history.splice(0, c.history.length - this.historyLimit);
      c.compactedRevision = dropped[dropped.length - 1]?.revision ?? c.compactedRevision;
    }
    for (const w of c.watchers.keys()) w(event);
    if (c.triggered.size > 0) for (const w of triggeredBy(c, event)) w(event);
    for (const l of this.listeners) l(event);
  }

  private collection(storage: string): Collection {
    const c = this.collections.get(storage);
    if (!c) throw new Error(`kube-sim: unknown storage ${storage}`);
    return c;
  }

  private indexOf(c: Collection, name: string) {
    const index = c.indexes.get(name);
    if (!index) throw new Error(`kube-sim: no index ${name} on ${c.identity.plural}`);
    return index;
  }
}

/** First position in `history` whose revision is > `revision`. */
function firstAfter(history: readonly StoreEvent[], revision: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((history[mid] as StoreEvent).revision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when two objects differ at most in resourceVersion. */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (key === 'metadata') continue;
    if (!jsonEqual(a[key], b[key])) return false;
  }
  const am = a.metadata;
  const bm = b.metadata;
  for (const key of new Set([...Object.keys(am), ...Object.keys(bm)])) {
    if (key !== 'resourceVersion' && !jsonEqual(am[key], bm[key])) return false;
  }
  return true;
}

/** The triggered watchers an event concerns: those whose value the object has, or had before the event. */
function triggeredBy(c: Collection, event: StoreEvent): Set<StoreListener> {
  const found = new Set<StoreListener>();
  for (const [name, byValue] of c.triggered) {
    const values = (obj: KubeObject | undefined): readonly string[] =>
      !obj ? [] : name === '' ? [objectKey(obj.metadata.namespace, obj.metadata.name)] : (c.indexes.get(name)?.fn(obj) ?? []);
    for (const obj of [event.object, event.previous]) {
      for (const value of values(obj)) for (const w of byValue.get(value)?.keys() ?? []) found.add(w);
    }
  }
  return found;
}
