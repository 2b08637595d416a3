/**
 * Field management as the apiserver does it (sigs.k8s.io/structured-merge-diff behind
 * k8s.io/apiserver's fieldmanager): every tracked write records which manager owns which fields in
 * `metadata.managedFields` (FieldsV1 sets with `f:`, `k:`, `v:` keys), and server-side apply merges a manager's
 * configuration into the live object, refuses to change fields another manager owns (409 with one cause per field)
 * unless forced, and removes the fields a manager stopped applying when no one else owns them.
 *
 * The schema is what kube-sim knows: list types from the strategic-merge metadata ({@link listTypeAt}), a few atomic
 * structs (label selectors), and every other object a granular map.
 */
import { listTypeAt } from './patch.ts';
import { StatusError, badRequest } from './status.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';

type Json = Record<string, unknown>;

/** One entry of `metadata.managedFields` (metav1.ManagedFieldsEntry). */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Json;
  subresource?: string;
}

/** A write's identity for field management. */
export interface FieldManagerWrite {
  manager: string;
  /** The group/version of the request (`apps/v1`). */
  apiVersion: string;
  /** `status` for the status subresource. */
  subresource?: string;
  /** metav1.Time of the write. */
  time: string;
}

/** A set of field paths, as a tree keyed by path elements (`f:name`, `k:{"name":"x"}`, `v:"a"`). */
class FieldSet {
  member = false;
  readonly children = new Map<string, FieldSet>();

  child(key: string): FieldSet {
    let c = this.children.get(key);
    if (!c) {
      c = new FieldSet();
      this.children.set(key, c);
    }
    return c;
  }

  get empty(): boolean {
    return !this.member && this.children.size === 0;
  }

  /** Paths of every member, as the apiserver prints them (`.spec.containers[name="web"].image`). */
  paths(prefix = ''): string[] {
    const out = this.member && prefix !== '' ? [prefix] : [];
    for (const [key, c] of this.children) out.push(...c.paths(prefix + printElement(key)));
    return out;
  }

  toJSON(): Json {
    const out: Json = {};
    if (this.member && this.children.size > 0) out['.'] = {};
    for (const key of [...this.children.keys()].sort()) out[key] = (this.children.get(key) as FieldSet).toJSON();
    return out;
  }

  static fromJSON(value: unknown): FieldSet {
    const set = new FieldSet();
    if (!isRecord(value)) return set;
    const keys = Object.keys(value);
    if (keys.length === 0) set.member = true;
    for (const key of keys) {
      if (key === '.') set.member = true;
      else set.children.set(key, FieldSet.fromJSON(value[key]));
    }
    return set;
  }
}

function union(a: FieldSet, b: FieldSet): FieldSet {
  const out = new FieldSet();
  out.member = a.member || b.member;
  for (const key of new Set([...a.children.keys(), ...b.children.keys()])) {
    const x = a.children.get(key);
    const y = b.children.get(key);
    const merged = x && y ? union(x, y) : (x ?? y ?? new FieldSet());
    if (!merged.empty) out.children.set(key, merged);
  }
  return out;
}

function intersect(a: FieldSet, b: FieldSet): FieldSet {
  const out = new FieldSet();
  out.member = a.member && b.member;
  for (const [key, x] of a.children) {
    const y = b.children.get(key);
    if (!y) continue;
    const both = intersect(x, y);
    if (!both.empty) out.children.set(key, both);
  }
  return out;
}

function difference(a: FieldSet, b: FieldSet): FieldSet {
  const out = new FieldSet();
  out.member = a.member && !b.member;
  for (const [key, x] of a.children) {
    const y = b.children.get(key);
    const rest = y ? difference(x, y) : x;
    if (!rest.empty) out.children.set(key, rest);
  }
  return out;
}

/** `f:x` → `.x`, `k:{"name":"a"}` → `[name="a"]`, `v:"a"` → `[="a"]`, `i:0` → `[0]`. */
function printElement(key: string): string {
  const body = key.slice(2);
  switch (key.slice(0, 2)) {
    case 'f:':
      return `.${body}`;
    case 'k:': {
      const fields = JSON.parse(body) as Json;
      return `[${Object.entries(fields)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    }
    case 'v:':
      return `[=${body}]`;
    default:
      return `[${body}]`;
  }
}

// -----------------------------------------------------------------------------------------------
// The schema walk
// -----------------------------------------------------------------------------------------------

/** Structs the API marks `x-kubernetes-map-type: atomic`: owned and replaced whole. */
const ATOMIC_STRUCTS = new Set([
  'spec.selector',
  'spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution',
]);

type Shape = { kind: 'map' } | { kind: 'list'; list: ReturnType<typeof listTypeAt> } | { kind: 'leaf' };

function shapeOf(kind: string, path: readonly string[], value: unknown): Shape {
  if (Array.isArray(value)) {
    const list = listTypeAt(kind, path);
    return list.type === 'atomic' ? { kind: 'leaf' } : { kind: 'list', list };
  }
  if (isRecord(value) && !ATOMIC_STRUCTS.has(path.join('.'))) {
    return { kind: 'map' };
  }
  return { kind: 'leaf' };
}

function itemKey(list: ReturnType<typeof listTypeAt>, item: unknown): string | undefined {
  if (list.type === 'set') return `v:${JSON.stringify(item)}`;
  if (list.type !== 'map' || !isRecord(item)) return undefined;
  // The API server defaults an apply configuration before it merges (a port's protocol is TCP by then); kube-sim
  // keys an item by the keys it has, so a port applied without its protocol is still the same item.
  const fields: Json = {};
  for (const k of [...list.keys].sort()) if (item[k] !== undefined) fields[k] = item[k];
  return Object.keys(fields).length > 0 ? `k:${JSON.stringify(fields)}` : undefined;
}

/** Adds the fields of `value` (an object or a structured list at `path`) under `node`. */
function collect(kind: string, path: readonly string[], value: unknown, node: FieldSet): void {
  const shape = shapeOf(kind, path, value);
  if (shape.kind === 'map') {
    for (const [k, v] of Object.entries(value as Json)) {
      if (v === undefined || v === null) continue;
      const c = node.child(`f:${k}`);
      collectValue(kind, [...path, k], v, c);
    }
  } else if (shape.kind === 'list') {
    for (const item of value as unknown[]) {
      const key = itemKey(shape.list, item);
      if (key === undefined) continue;
      const c = node.child(key);
      c.member = true;
      if (shape.list.type === 'map') collect(kind, path, item, c);
    }
  }
}

/** A field's value under its own node: a leaf is a member; a structure is its fields (a member if it has none). */
function collectValue(kind: string, path: readonly string[], value: unknown, node: FieldSet): void {
  if (shapeOf(kind, path, value).kind === 'leaf') {
    node.member = true;
    return;
  }
  collect(kind, path, value, node);
  if (node.children.size === 0) node.member = true;
}

interface Comparison {
  /** Added or modified. */
  changed: FieldSet;
  removed: FieldSet;
}

function compare(
  kind: string,
  path: readonly string[],
  live: unknown,
  next: unknown,
  node: { changed: () => FieldSet; removed: () => FieldSet },
): void {
  const liveShape = shapeOf(kind, path, live);
  const nextShape = shapeOf(kind, path, next);
  if (liveShape.kind === 'map' && nextShape.kind === 'map') {
    const a = live as Json;
    const b = next as Json;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = a[k] ?? undefined;
      const y = b[k] ?? undefined;
      const key = `f:${k}`;
      const sub = [...path, k];
      if (x === undefined && y === undefined) continue;
      if (x === undefined) collectValue(kind, sub, y, node.changed().child(key));
      else if (y === undefined) collectValue(kind, sub, x, node.removed().child(key));
      else
        compare(kind, sub, x, y, {
          changed: () => node.changed().child(key),
          removed: () => node.removed().child(key),
        });
    }
    return;
  }
  if (liveShape.kind === 'list' && nextShape.kind === 'list') {
    const list = liveShape.list;
    const index = (items: unknown[]) => {
      const m = new Map<string, unknown>();
      for (const item of items) {
        const key = itemKey(list, item);
        if (key !== undefined) m.set(key, item);
      }
      return m;
    };
    const a = index(live as unknown[]);
    const b = index(next as unknown[]);
    for (const [key, y] of b) {
      const x = a.get(key);
      if (x === undefined) {
        const c = node.changed().child(key);
        c.member = true;
        if (list.type === 'map') collect(kind, path, y, c);
      } else if (list.type === 'map') {
        compare(kind, path, x, y, {
          changed: () => node.changed().child(key),
          removed: () => node.removed().child(key),
        });
      }
    }
    for (const [key, x] of a) {
      if (b.has(key)) continue;
      const c = node.removed().child(key);
      c.member = true;
      if (list.type === 'map') collect(kind, path, x, c);
    }
    return;
  }
  if (liveShape.kind === 'leaf' && nextShape.kind === 'leaf') {
    if (!jsonEqual(live, next)) node.changed().member = true;
    return;
  }
  // The type changed (an object became a scalar): everything of the old is removed, everything of the new added.
  collectValue(kind, path, next, node.changed());
  collectValue(kind, path, live, node.removed());
}

function compareObjects(kind: string, live: Json, next: Json): Comparison {
  const out: Comparison = { changed: new FieldSet(), removed: new FieldSet() };
  compare(kind, [], live, next, { changed: () => out.changed, removed: () => out.removed });
  return { changed: prune(out.changed), removed: prune(out.removed) };
}

/** Drops the empty nodes the walk left behind. */
function prune(set: FieldSet): FieldSet {
  for (const [key, c] of set.children) {
    prune(c);
    if (c.empty) set.children.delete(key);
  }
  return set;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  return (
    keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length && keys.every((k) => jsonEqual(a[k], b[k]))
  );
}

/** Merges an applied configuration into the live value: maps by field, map-lists by key, sets by value. */
function merge(kind: string, path: readonly string[], live: unknown, config: unknown): unknown {
  const shape = shapeOf(kind, path, config);
  if (shape.kind === 'map' && isRecord(live) && shapeOf(kind, path, live).kind === 'map') {
    const out: Json = { ...live };
    for (const [k, v] of Object.entries(config as Json)) {
      if (v === undefined || v === null) continue;
      out[k] = merge(kind, [...path, k], live[k], v);
    }
    return out;
  }
  if (shape.kind === 'list' && Array.isArray(live)) {
    const out = [...(live as unknown[])];
    for (const item of config as unknown[]) {
      const key = itemKey(shape.list, item);
      const at = key === undefined ? -1 : out.findIndex((x) => itemKey(shape.list, x) === key);
      if (at < 0) out.push(item);
      else if (shape.list.type === 'map') out[at] = merge(kind, path, out[at], item);
    }
    return out;
  }
  return config;
}

/** Removes the members of `set` from `value` (a copy); maps the removal empties go too. */
function removeFields(kind: string, path: readonly string[], value: unknown, set: FieldSet): unknown {
  const shape = shapeOf(kind, path, value);
  if (shape.kind === 'map') {
    const out: Json = { ...(value as Json) };
    for (const [key, c] of set.children) {
      if (!key.startsWith('f:')) continue;
      const k = key.slice(2);
      if (out[k] === undefined) continue;
      if (c.member) delete out[k];
      else {
        const rest = removeFields(kind, [...path, k], out[k], c);
        if (isRecord(rest) && Object.keys(rest).length === 0 && Object.keys(out[k] as Json).length > 0) delete out[k];
        else out[k] = rest;
      }
    }
    return out;
  }
  if (shape.kind === 'list') {
    const out: unknown[] = [];
    for (const item of value as unknown[]) {
      const key = itemKey(shape.list, item);
      const c = key === undefined ? undefined : set.children.get(key);
      if (!c) out.push(item);
      else if (!c.member) out.push(shape.list.type === 'map' ? removeFields(kind, path, item, c) : item);
    }
    return out;
  }
  return value;
}

// -----------------------------------------------------------------------------------------------
// Managers
// -----------------------------------------------------------------------------------------------

/** The fields no manager owns: identity and server-set metadata, and what the write's subresource resets. */
function trackedPart(obj: Json, subresource: string | undefined): Json {
  const { apiVersion: _a, kind: _k, metadata, status, ...rest } = obj;
  if (subresource === 'status') return status === undefined ? {} : { status };
  const meta = isRecord(metadata) ? metadata : {};
  const {
    name: _n,
    namespace: _ns,
    uid: _u,
    resourceVersion: _rv,
    generation: _g,
    creationTimestamp: _c,
    deletionTimestamp: _d,
    deletionGracePeriodSeconds: _dg,
    selfLink: _s,
    managedFields: _m,
    ...ownedMeta
  } = meta;
  return Object.keys(ownedMeta).length > 0 ? { ...rest, metadata: ownedMeta } : rest;
}

interface Manager {
  entry: Omit<ManagedFieldsEntry, 'fieldsV1' | 'fieldsType'>;
  set: FieldSet;
}

function decode(entries: unknown): Manager[] {
  if (!Array.isArray(entries)) return [];
  const out: Manager[] = [];
  for (const e of entries) {
    if (!isRecord(e) || typeof e['manager'] !== 'string') continue;
    const { fieldsV1, fieldsType: _t, ...entry } = e as unknown as ManagedFieldsEntry;
    out.push({ entry, set: FieldSet.fromJSON(fieldsV1) });
  }
  return out;
}

function encode(managers: readonly Manager[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => !m.set.empty)
    .sort(
      (p, q) =>
        p.entry.operation.localeCompare(q.entry.operation) ||
        (p.entry.time ?? '').localeCompare(q.entry.time ?? '') ||
        p.entry.manager.localeCompare(q.entry.manager),
    )
    .map((m) => ({ ...m.entry, fieldsType: 'FieldsV1' as const, fieldsV1: m.set.toJSON() }));
}

function sameManager(m: Manager, manager: string, operation: 'Apply' | 'Update', write: FieldManagerWrite): boolean {
  return (
    m.entry.manager === manager &&
    m.entry.operation === operation &&
    (m.entry.subresource ?? '') === (write.subresource ?? '') &&
    (operation === 'Apply' || m.entry.apiVersion === write.apiVersion)
  );
}

/**
 * The managedFields after an update (create, PUT or a non-apply PATCH) by `write.manager`: it takes every field the
 * write changed from whoever owned it, and fields the write removed are no one's any more.
 */
export function trackUpdate(
  kind: string,
  live: KubeObject | undefined,
  next: KubeObject,
  write: FieldManagerWrite,
): ManagedFieldsEntry[] {
  const managers = decode(live?.metadata.managedFields);
  const cmp = compareObjects(
    kind,
    live ? trackedPart(live, write.subresource) : {},
    trackedPart(next, write.subresource),
  );
  const touched = union(cmp.changed, cmp.removed);
  for (const m of managers) m.set = difference(m.set, touched);
  if (!cmp.changed.empty) {
    let mine = managers.find((m) => sameManager(m, write.manager, 'Update', write));
    if (!mine) {
      mine = {
        entry: {
          manager: write.manager,
          operation: 'Update',
          apiVersion: write.apiVersion,
          ...(write.subresource ? { subresource: write.subresource } : {}),
        },
        set: new FieldSet(),
      };
      managers.push(mine);
    }
    mine.entry = { ...mine.entry, time: write.time };
    mine.set = union(mine.set, cmp.changed);
  }
  return encode(managers);
}

/** The outcome of an apply: the object to store and its managedFields. */
export interface ApplyResult {
  object: Json;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Server-side apply of `config` by `write.manager` onto `live` (undefined: the object is created). Throws the
 * apiserver's 409 when the apply would change fields other managers own and `force` is not set.
 */
export function applyConfig(
  kind: string,
  live: KubeObject | undefined,
  config: Json,
  write: FieldManagerWrite,
  force: boolean,
): ApplyResult {
  const liveJson: Json = live ?? {};
  let managers = decode(live?.metadata.managedFields);
  if (live && managers.length === 0) {
    // An object written before anyone tracked it: its fields are owned by one placeholder, as the apiserver does.
    const set = new FieldSet();
    collect(kind, [], trackedPart(live, undefined), set);
    managers = [
      {
        entry: { manager: 'before-first-apply', operation: 'Update', apiVersion: write.apiVersion, time: write.time },
        set,
      },
    ];
  }
  const configured = new FieldSet();
  collect(kind, [], trackedPart(config, undefined), configured);
  const mine = managers.find((m) => sameManager(m, write.manager, 'Apply', write));
  const previous = mine?.set ?? new FieldSet();
  let merged = merge(kind, [], liveJson, config) as Json;
  const cmp = compareObjects(kind, trackedPart(liveJson, undefined), trackedPart(merged, undefined));
  const conflicts: { manager: Manager; paths: string[] }[] = [];
  for (const m of managers) {
    if (m === mine) continue;
    const clash = intersect(m.set, cmp.changed);
    if (clash.empty) continue;
    if (force) m.set = difference(m.set, cmp.changed);
    else conflicts.push({ manager: m, paths: clash.paths() });
  }
  if (conflicts.length > 0) throw conflictError(conflicts);
  const others = managers.filter((m) => m !== mine).reduce((acc, m) => union(acc, m.set), new FieldSet());
  const dropped = difference(difference(previous, configured), others);
  if (!dropped.empty) merged = removeFields(kind, [], merged, dropped) as Json;
  const removed = compareObjects(kind, trackedPart(liveJson, undefined), trackedPart(merged, undefined)).removed;
  const next: Manager = {
    entry: { manager: write.manager, operation: 'Apply', apiVersion: write.apiVersion, time: write.time },
    set: configured,
  };
  const rest = managers.filter((m) => m !== mine);
  for (const m of rest) m.set = difference(m.set, removed);
  return { object: merged, managedFields: encode([...rest, next]) };
}

/** How the apiserver names a manager in a conflict: `"kubectl"`, or `"kube-controller-manager" using apps/v1`. */
function printManager(m: Manager): string {
  let s = JSON.stringify(m.entry.manager);
  if (m.entry.subresource) s += ` with subresource ${JSON.stringify(m.entry.subresource)}`;
  return m.entry.operation === 'Update' ? `${s} using ${m.entry.apiVersion}` : s;
}

function conflictError(conflicts: { manager: Manager; paths: string[] }[]): StatusError {
  const all = conflicts.flatMap((c) => c.paths.map((path) => ({ who: printManager(c.manager), path })));
  let message: string;
  if (all.length === 1) {
    const [only] = all as [{ who: string; path: string }];
    message = `Apply failed with 1 conflict: conflict with ${only.who}: ${only.path}`;
  } else {
    const lines: string[] = [];
    for (const c of [...conflicts].sort((a, b) => a.manager.entry.manager.localeCompare(b.manager.entry.manager))) {
      lines.push(`conflicts with ${printManager(c.manager)}:`, ...c.paths.map((p) => `- ${p}`));
    }
    message = `Apply failed with ${all.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, {
    causes: all.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.who}`, field: c.path })),
  });
}

/**
 * The manager of a non-apply write: the `fieldManager` parameter, else the program name of the User-Agent
 * (`kubectl/v1.31.0 (linux/amd64)` → `kubectl`), as the apiserver derives it. Validated as the apiserver does.
 */
export function managerOf(fieldManager: string | null, userAgent: string | undefined): string {
  if (fieldManager !== null) {
    if (fieldManager.length > 128) throw badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    if (/[^\x20-\x7e]/.test(fieldManager))
      throw badRequest(`fieldManager: Invalid value: "${fieldManager}": must be printable`);
    if (fieldManager !== '') return fieldManager;
  }
  const program = (userAgent ?? '').split('/')[0]?.trim() ?? '';
  return program.slice(0, 128);
}
