/**
 * The wire shape of Kubernetes objects as kube-sim stores and serves them: plain JSON, timestamps as RFC 3339
 * strings. kube-sim is the server side, so it works on the wire form, not on a client library's typed models.
 */

/** An owner reference (metadata.ownerReferences[]). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metadata of a stored object. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [key: string]: unknown;
}

/** Any stored Kubernetes object. Stored objects are never mutated in place: every write stores a new object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/** An object as a client sends it: metadata may lack the server-set fields. */
export interface ObjectInput {
  apiVersion?: string;
  kind?: string;
  metadata?: Partial<ObjectMeta>;
  [key: string]: unknown;
}

/** True when `value` is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Structural equality of JSON values, as their JSON says: key order does not count, a key holding undefined is
 * absent, and an undefined array element is null. Compares without serializing (the store on every write, the
 * controllers on every status they work out).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  let defined = 0;
  for (const k in a) {
    const v = a[k];
    if (v === undefined) continue;
    defined++;
    if (!jsonEqual(v, b[k])) return false;
  }
  for (const k in b) if (b[k] !== undefined) defined--;
  return defined === 0;
}

/** A deep copy through JSON: stored objects are plain data. */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}

/** The store key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The controller owner reference of an object, if it has one. */
export function controllerOf(obj: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((ref) => ref.controller === true);
}
