/**
 * The write semantics of the apiserver on top of the store: metadata the server owns (uid, timestamps, generation),
 * defaulting and validation, optimistic concurrency, status subresources, graceful deletion and finalizers, dry run.
 * The HTTP handlers and kube-sim's own controllers both write through here, so both see the same rules.
 */
import { randomUUID } from 'node:crypto';
import { applyDefaults } from './defaults.ts';
import type { FieldManagerWrite, ManagedFieldsEntry } from './managed-fields.ts';
import { applyConfig, trackUpdate } from './managed-fields.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.ts';
import type { ResourceDef } from './resources.ts';
import { groupVersion } from './resources.ts';
import { StatusError, badRequest, invalid, notFound } from './status.ts';
import { allocateService } from './service-allocation.ts';
import { validateObject } from './validation.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { jsonEqual } from '../model/json-equal.ts';
import type { KubeObject, ObjectInput, ObjectMeta } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';

/** Kinds whose spec changes bump metadata.generation. */
const GENERATION_KINDS = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'PodDisruptionBudget', 'Job', 'CronJob', 'HorizontalPodAutoscaler']);

/** Patch content types the server accepts. */
export type PatchType = 'merge' | 'json' | 'strategic';

/** Options of a write. */
export interface WriteOptions {
  /** Validate and return the result without storing it (`?dryRun=All`). */
  dryRun?: boolean;
  /** Write the status subresource (spec and metadata changes are ignored), or the main resource (status ignored). */
  subresource?: 'status';
  /** Patches only: checks the patched object before it is stored, and may return it changed (unknown fields pruned). */
  checkPatched?: (patched: Record<string, unknown>) => Record<string, unknown>;
  /**
   * Who writes, for `metadata.managedFields` (the `fieldManager` parameter or the client's program name); the
   * subresource the manager wrote through, when not the main resource. Writes without one (kube-sim's own
   * controllers) leave the managed fields as they are.
   */
  fieldManager?: { manager: string; subresource?: string };
  /** The managed fields to store, as server-side apply computed them (instead of tracking this write). */
  managedFields?: ManagedFieldsEntry[];
}

/** Options of a server-side apply. */
export interface ApplyOptions {
  dryRun?: boolean;
  /** The `fieldManager` parameter: required for apply. */
  fieldManager: string;
  /** Take the fields other managers own (`force=true`, kubectl's `--force-conflicts`). */
  force?: boolean;
}

/** metav1.DeleteOptions as kube-sim honours it. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** The result of a delete: the object as it is now, and whether it is gone or only marked for deletion. */
export interface DeleteResult {
  object: KubeObject;
  gone: boolean;
}

/** The apiserver's registry over the store. */
export class Registry {
  private readonly defaultedCache = new WeakMap<KubeObject, { minor: number; object: KubeObject }>();

  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => number,
    /** The Kubernetes minor the server is at now (defaults and rules that changed between minors follow it). */
    private readonly minor: () => number,
  ) {}

  /** The object as served at `def`'s version (objects are stored at the storage version). */
  served(def: ResourceDef, obj: KubeObject): KubeObject {
    const gv = groupVersion(def);
    return obj.apiVersion === gv ? obj : { ...obj, apiVersion: gv };
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    return this.store.mustGet(def.storage, namespace, name);
  }

  create(def: ResourceDef, namespace: string | undefined, input: ObjectInput, options: WriteOptions = {}): KubeObject {
    const meta = isRecord(input.metadata) ? input.metadata : {};
    if (def.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      namespace = namespace ?? meta.namespace ?? 'default';
      this.assertNamespaceWritable(namespace);
    }
    let name = typeof meta.name === 'string' ? meta.name : '';
    if (!name && typeof meta.generateName === 'string' && meta.generateName) {
      name = meta.generateName + randomSuffix();
    }
    const metadata: ObjectMeta = {
      ...stripServerFields(meta),
      name,
      ...(def.namespaced ? { namespace } : {}),
      uid: randomUUID(),
      resourceVersion: '',
      creationTimestamp: rfc3339(this.now()),
      ...(GENERATION_KINDS.has(def.kind) ? { generation: 1 } : {}),
    };
    if (!def.namespaced) delete metadata.namespace;
    const minor = this.minor();
    const obj = this.allocate(
      def,
      applyDefaults({ ...input, apiVersion: storageGroupVersion(def), kind: def.kind, metadata }, { minor, create: true }),
      undefined,
    );
    if (options.managedFields) obj.metadata.managedFields = options.managedFields;
    else if (options.fieldManager) obj.metadata.managedFields = trackUpdate(def.kind, undefined, obj, this.fieldWrite(def, options.fieldManager));
    validateObject(def, obj, { minor });
    if (options.dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.store.currentRevision()) } };
    return this.store.create(def.storage, obj);
  }

  update(def: ResourceDef, namespace: string | undefined, name: string, input: ObjectInput, options: WriteOptions = {}): KubeObject {
    const current = this.store.mustGet(def.storage, def.namespaced ? namespace : undefined, name);
    const meta = isRecord(input.metadata) ? input.metadata : {};
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    }
    if (meta.uid && meta.uid !== current.metadata.uid) {
      throw new StatusError(409, 'Conflict', `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    const expected = typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' ? meta.resourceVersion : undefined;
    const minor = this.minor();
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = { ...current, status: isRecord(input['status']) ? input['status'] : {} };
    } else {
      const { status: _ignored, ...rest } = input;
      next = {
        ...rest,
        apiVersion: current.apiVersion,
        kind: current.kind,
        metadata: {
          ...stripServerFields(meta),
          name: current.metadata.name,
          ...(current.metadata.namespace ? { namespace: current.metadata.namespace } : {}),
          uid: current.metadata.uid,
          resourceVersion: current.metadata.resourceVersion,
          creationTimestamp: current.metadata.creationTimestamp,
          ...(current.metadata.generation !== undefined ? { generation: current.metadata.generation } : {}),
          ...(current.metadata.deletionTimestamp
            ? { deletionTimestamp: current.metadata.deletionTimestamp, deletionGracePeriodSeconds: current.metadata.deletionGracePeriodSeconds }
            : {}),
          ...(current.metadata.managedFields ? { managedFields: current.metadata.managedFields } : {}),
        },
        ...(hasStatusSubresource(def) && current.status !== undefined ? { status: current.status } : {}),
      };
      if (!hasStatusSubresource(def) && isRecord(input['status'])) next.status = input['status'];
      next = this.allocate(def, applyDefaults(next, { minor, create: false }), current);
      // Against the stored spec as defaulting sees it now: defaults a newer minor adds are not a change of spec.
      if (next.metadata.generation !== undefined && !jsonEqual(next.spec, current.spec) && !jsonEqual(next.spec, this.defaulted(current, minor).spec)) {
        next.metadata.generation += 1;
      }
    }
    if (options.managedFields) {
      next = { ...next, metadata: { ...next.metadata, managedFields: options.managedFields } };
    } else if (options.fieldManager) {
      next = { ...next, metadata: { ...next.metadata, managedFields: trackUpdate(def.kind, current, next, this.fieldWrite(def, options.fieldManager)) } };
    }
    // What an update may not change is judged against the stored object as defaulting sees it today.
    const metadataOnly = options.subresource === 'status' || onlyMetadataDiffers(input, current);
    validateObject(def, next, { minor, metadataOnly, ...(metadataOnly ? {} : { old: this.defaulted(current, minor) }) });
    if (options.dryRun) return next;
    return this.finishIfReleased(def, this.store.update(def.storage, next, expected));
  }

  patch(def: ResourceDef, namespace: string | undefined, name: string, type: PatchType, patch: unknown, options: WriteOptions = {}): KubeObject {
    const current = this.served(def, this.store.mustGet(def.storage, def.namespaced ? namespace : undefined, name));
    const result =
      type === 'json'
        ? applyJsonPatch(current, patch)
        : type === 'merge'
          ? applyMergePatch(current, patch)
          : applyStrategicMergePatch(current, patch, def.kind);
    if (!isRecord(result)) throw invalid(def.kind, def.group, name, [{ field: '', message: 'patch did not produce an object' }]);
    const patched = options.checkPatched ? options.checkPatched(result) : result;
    const meta = isRecord(patched['metadata']) ? patched['metadata'] : {};
    // A patch is applied to what the client saw: a resourceVersion inside the patch is a precondition.
    const patchMeta = isRecord(patch) && isRecord(patch['metadata']) ? patch['metadata'] : {};
    const rv = typeof patchMeta['resourceVersion'] === 'string' ? patchMeta['resourceVersion'] : current.metadata.resourceVersion;
    return this.update(def, namespace, name, { ...patched, metadata: { ...meta, resourceVersion: rv } }, options);
  }

  /**
   * Server-side apply (`application/apply-patch+yaml`): merges `config` into the object as `fieldManager`'s intent,
   * creating it when absent; 409 on fields other managers own unless forced.
   */
  apply(def: ResourceDef, namespace: string | undefined, name: string, config: unknown, options: ApplyOptions): { object: KubeObject; created: boolean } {
    if (!isRecord(config)) throw badRequest('error decoding YAML: the apply configuration must be an object');
    if (!options.fieldManager) throw badRequest('fieldManager is required for apply requests');
    const meta = isRecord(config['metadata']) ? config['metadata'] : {};
    if (meta['managedFields'] !== undefined) throw badRequest('metadata.managedFields must be nil');
    const gv = groupVersion(def);
    if (config['apiVersion'] !== gv || config['kind'] !== def.kind) {
      throw badRequest(`the API version in the data (${typeof config['apiVersion'] === 'string' ? config['apiVersion'] : ''}) does not match the expected API version (${gv})`);
    }
    if (meta['name'] !== undefined && meta['name'] !== name) {
      throw badRequest(`the name of the object (${JSON.stringify(meta['name'])}) does not match the name on the URL (${name})`);
    }
    if (def.namespaced && meta['namespace'] !== undefined && meta['namespace'] !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const ns = def.namespaced ? namespace : undefined;
    const current = this.store.get(def.storage, ns, name);
    const live = current ? this.served(def, current) : undefined;
    const write = this.fieldWrite(def, { manager: options.fieldManager });
    const result = applyConfig(def.kind, live, { ...config, metadata: { ...meta, name } }, write, options.force === true);
    const merged = result.object as ObjectInput;
    const writeOptions: WriteOptions = { managedFields: result.managedFields, ...(options.dryRun ? { dryRun: true } : {}) };
    if (!current) return { object: this.create(def, namespace, merged, writeOptions), created: true };
    const rv = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : current.metadata.resourceVersion;
    const object = this.update(def, namespace, name, { ...merged, metadata: { ...(merged.metadata as ObjectMeta), resourceVersion: rv } }, writeOptions);
    return { object, created: false };
  }

  private fieldWrite(def: ResourceDef, by: { manager: string; subresource?: string }): FieldManagerWrite {
    return { manager: by.manager, apiVersion: groupVersion(def), ...(by.subresource ? { subresource: by.subresource } : {}), time: rfc3339(this.now()) };
  }

  /**
   * Deletes as the apiserver does: pods terminate gracefully (deletionTimestamp now + grace, the kubelet finishes),
   * finalizers hold an object until they are removed, propagation policies add the GC's finalizers.
   */
  delete(def: ResourceDef, namespace: string | undefined, name: string, options: DeleteOptions = {}): DeleteResult {
    const ns = def.namespaced ? namespace : undefined;
    const current = this.store.mustGet(def.storage, ns, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw new StatusError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw new StatusError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    const grace = gracePeriodFor(current, options.gracePeriodSeconds);
    const finalizers = [...(current.metadata.finalizers ?? [])];
    if (options.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (options.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    const namespaceFinalizers = current.kind === 'Namespace' && Array.isArray(current.spec?.['finalizers']) && current.spec['finalizers'].length > 0;
    if (grace === 0 && finalizers.length === 0 && !namespaceFinalizers) {
      if (options.dryRun) return { object: current, gone: true };
      return { object: this.store.remove(def.storage, ns, name), gone: true };
    }
    const now = this.now();
    const existingDeadline = current.metadata.deletionTimestamp ? Date.parse(current.metadata.deletionTimestamp) : undefined;
    const deadline = now + grace * 1000;
    // A second delete may only shorten the grace period, never extend it.
    const deletionTimestamp = existingDeadline !== undefined && existingDeadline <= deadline ? current.metadata.deletionTimestamp : rfc3339(deadline);
    const marked: KubeObject = {
      ...current,
      metadata: {
        ...current.metadata,
        deletionTimestamp,
        deletionGracePeriodSeconds:
          existingDeadline !== undefined && existingDeadline <= deadline ? current.metadata.deletionGracePeriodSeconds : grace,
        ...(finalizers.length > 0 ? { finalizers } : {}),
      },
      ...(current.kind === 'Namespace' ? { status: { ...current.status, phase: 'Terminating' } } : {}),
    };
    if (options.dryRun) return { object: marked, gone: false };
    return { object: this.store.update(def.storage, marked), gone: false };
  }

  private finishIfReleased(def: ResourceDef, obj: KubeObject): KubeObject {
    // An object marked for deletion whose last finalizer was removed is deleted now.
    const waitingOnGrace = obj.kind === 'Pod' && (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0;
    const namespaceFinalizers = obj.kind === 'Namespace' && Array.isArray(obj.spec?.['finalizers']) && obj.spec['finalizers'].length > 0;
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0 && !waitingOnGrace && !namespaceFinalizers) {
      return this.store.remove(def.storage, obj.metadata.namespace, obj.metadata.name);
    }
    return obj;
  }

  /** `obj` (a stored object, never mutated) with today's defaults, computed once per object and minor. */
  private defaulted(obj: KubeObject, minor: number): KubeObject {
    const cached = this.defaultedCache.get(obj);
    if (cached?.minor === minor) return cached.object;
    const object = applyDefaults(obj, { minor, create: false });
    this.defaultedCache.set(obj, { minor, object });
    return object;
  }

  /** A Service's cluster IP and node ports, allocated against every other stored Service. */
  private allocate(def: ResourceDef, obj: KubeObject, current: KubeObject | undefined): KubeObject {
    if (obj.kind !== 'Service') return obj;
    const others = [...this.store.all(def.storage)].filter((s) => s.metadata.uid !== obj.metadata.uid);
    const result = allocateService(obj.spec ?? {}, current?.spec, others);
    if ('causes' in result) throw invalid(def.kind, def.group, obj.metadata.name, result.causes);
    return { ...obj, spec: result.spec };
  }

  private assertNamespaceWritable(namespace: string): void {
    const ns = this.store.get('core/namespaces', undefined, namespace);
    if (!ns) throw notFound('', 'namespaces', namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new StatusError(403, 'Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace,
        kind: 'namespaces',
      });
    }
  }
}

/** The group/version objects of `def` are stored at. */
function storageGroupVersion(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.storageVersion}` : def.storageVersion;
}

function hasStatusSubresource(def: ResourceDef): boolean {
  return def.subresources.includes('status');
}

/** The grace period a delete gets (pods only; everything else is immediate). */
function gracePeriodFor(obj: KubeObject, requested: number | undefined): number {
  if (obj.kind !== 'Pod') return 0;
  const phase = obj.status?.['phase'];
  // Unscheduled and finished pods go at once, as the real pod strategy decides.
  if (!obj.spec?.['nodeName'] || phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  const fromSpec = obj.spec['terminationGracePeriodSeconds'];
  return typeof fromSpec === 'number' ? fromSpec : 30;
}

/** True when `input` carries every field of `current` but metadata and status over as the very same values. */
function onlyMetadataDiffers(input: ObjectInput, current: KubeObject): boolean {
  const stored = current as unknown as Record<string, unknown>;
  const given = input as Record<string, unknown>;
  for (const key of new Set([...Object.keys(stored), ...Object.keys(given)])) {
    if (key !== 'metadata' && key !== 'status' && key !== 'apiVersion' && key !== 'kind' && given[key] !== stored[key]) return false;
  }
  return true;
}

function stripServerFields(meta: Partial<ObjectMeta>): Partial<ObjectMeta> {
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, generation: _g, deletionTimestamp: _d, deletionGracePeriodSeconds: _dg, selfLink: _s, managedFields: _m, ...rest } = meta;
  return rest;
}

/** RFC 3339 to the second, as Kubernetes serialises metav1.Time. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
