/**
 * The three PATCH flavours kube-apiserver accepts, as pure functions on parsed JSON:
 * JSON merge patch (RFC 7386, `application/merge-patch+json`), JSON patch (RFC 6902,
 * `application/json-patch+json`) and strategic merge patch (`application/strategic-merge-patch+json`,
 * a port of apimachinery `pkg/util/strategicpatch/patch.go` with the merge keys of the built-in types).
 * None of them mutates its inputs.
 */

import type { FieldDescription } from './schema/types.ts';
import { jsonFields, rootTypeOfKind, typeDescription } from './schema/types.ts';

/**
 * Why a patch was refused. `BadRequest` (400) is a malformed patch document; `Invalid` (422) is a
 * well-formed patch that cannot apply (a failed `test`, a missing path), which is what the apiserver
 * answers for those. `UnprocessableEntity` is kept for callers that want to say 422 without `Invalid`;
 * this module does not produce it.
 */
export type PatchErrorReason = 'BadRequest' | 'Invalid' | 'UnprocessableEntity';

/** A patch the apiserver would refuse; `code` is the HTTP status to answer with. */
export class PatchError extends Error {
  override readonly name = 'PatchError';
  /** The HTTP status that goes with `reason`. */
  readonly code: 400 | 422;

  constructor(
    readonly reason: PatchErrorReason,
    message: string,
  ) {
    super(message);
    this.code = reason === 'BadRequest' ? 400 : 422;
  }
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets a key, even `__proto__`, as an own data property. */
function put(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) put(out, k, cloneJson(v));
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** The JSON type name Go's encoding/json uses in "cannot unmarshal X into ..." errors. */
function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** A value as Go's `%v` prints decoded JSON: `map[a:1 b:[x y]]`. */
function goFormat(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goFormat).join(' ')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(value[k])}`).join(' ')}]`;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386)
// ---------------------------------------------------------------------------------------------

/** Drops null members of objects, at any depth, as evanphx/json-patch does to merged-in values. */
function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) put(out, k, pruneNulls(v));
  return out;
}

function mergeObjects(target: JsonObject, patch: JsonObject): JsonObject {
  const out = cloneJson(target) as JsonObject;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[key];
    } else if (isObject(value)) {
      const current = out[key];
      put(out, key, mergeObjects(isObject(current) ? current : {}, value));
    } else {
      put(out, key, pruneNulls(value));
    }
  }
  return out;
}

/**
 * Applies a JSON merge patch (RFC 7386): objects merge recursively, `null` deletes a member, and any
 * other value (arrays included) replaces what was there.
 *
 * A top-level patch that is neither an object nor an array is refused, as the apiserver does
 * ("Invalid JSON Patch"); a top-level array replaces the whole document.
 *
 * @throws PatchError (BadRequest) for a top-level null, string, number or boolean patch.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) return pruneNulls(patch);
  if (!isObject(patch)) throw new PatchError('BadRequest', 'Invalid JSON Patch');
  return mergeObjects(isObject(target) ? target : {}, patch);
}

// ---------------------------------------------------------------------------------------------
// JSON patch (RFC 6902)
// ---------------------------------------------------------------------------------------------

interface Operation {
  readonly op: string;
  readonly raw: JsonObject;
}

function decodeOperations(ops: unknown): Operation[] {
  // Go decodes a JSON null into an empty patch.
  if (ops === null) return [];
  if (!Array.isArray(ops)) {
    throw new PatchError(
      'BadRequest',
      `json: cannot unmarshal ${jsonTypeName(ops)} into Go value of type jsonpatch.Patch`,
    );
  }
  return ops.map((raw) => {
    if (!isObject(raw)) {
      throw new PatchError(
        'BadRequest',
        `json: cannot unmarshal ${jsonTypeName(raw)} into Go value of type jsonpatch.Operation`,
      );
    }
    return { op: typeof raw.op === 'string' ? raw.op : 'unknown', raw };
  });
}

/** A document held in a box so that operations on the root path ("") can replace it. */
class DocumentBox {
  constructor(public root: unknown) {}
}

interface Location {
  readonly container: unknown[] | JsonObject | DocumentBox;
  /** The last reference token; ignored for the document box. */
  readonly token: string;
}

function failed(message: string): PatchError {
  return new PatchError('Invalid', message);
}

function pointerTokens(op: string, raw: JsonObject, member: 'path' | 'from'): string[] {
  const pointer = raw[member];
  if (typeof pointer !== 'string') {
    throw failed(`${op} operation failed to decode ${member}: missing value`);
  }
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw failed(
      `${op} operation does not apply: doc is missing ${member === 'from' ? 'from ' : ''}path: "${pointer}": missing value`,
    );
  }
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isArrayIndex(token: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(token);
}

/** Walks to the container of the last token; undefined when an intermediate step is missing. */
function locate(box: DocumentBox, tokens: readonly string[]): Location | undefined {
  if (tokens.length === 0) return { container: box, token: '' };
  let current: unknown = box.root;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) {
      if (!isArrayIndex(token) || Number(token) >= current.length) return undefined;
      current = current[Number(token)];
    } else if (isObject(current) && Object.hasOwn(current, token)) {
      current = current[token];
    } else {
      return undefined;
    }
  }
  if (!Array.isArray(current) && !isObject(current)) return undefined;
  return { container: current, token: tokens[tokens.length - 1] ?? '' };
}

function isBox(container: Location['container']): container is DocumentBox {
  return container instanceof DocumentBox;
}

function readAt(location: Location): { found: boolean; value?: unknown } {
  const { container, token } = location;
  if (isBox(container)) return { found: true, value: container.root };
  if (Array.isArray(container)) {
    const ok = isArrayIndex(token) && Number(token) < container.length;
    return ok ? { found: true, value: container[Number(token)] } : { found: false };
  }
  return Object.hasOwn(container, token) ? { found: true, value: container[token] } : { found: false };
}

function invalidIndex(op: string, path: string, token: string): PatchError {
  return failed(
    `error in ${op} for path: '${path}': Unable to access invalid index: ${token}: invalid index referenced`,
  );
}

function addAt(location: Location, value: unknown, op: string, path: string): void {
  const { container, token } = location;
  if (isBox(container)) {
    container.root = value;
  } else if (Array.isArray(container)) {
    if (token === '-') container.push(value);
    else if (isArrayIndex(token) && Number(token) <= container.length) container.splice(Number(token), 0, value);
    else throw invalidIndex(op, path, token);
  } else {
    put(container, token, value);
  }
}

/** Overwrites a value that is known to exist. */
function setAt(location: Location, value: unknown): void {
  const { container, token } = location;
  if (isBox(container)) container.root = value;
  else if (Array.isArray(container)) container[Number(token)] = value;
  else put(container, token, value);
}

function removeAt(location: Location, op: string, path: string): unknown {
  const { container, token } = location;
  if (isBox(container)) {
    const value = container.root;
    container.root = null;
    return value;
  }
  if (Array.isArray(container)) {
    if (!isArrayIndex(token) || Number(token) >= container.length) throw invalidIndex(op, path, token);
    return container.splice(Number(token), 1)[0];
  }
  if (!Object.hasOwn(container, token)) {
    throw failed(`error in ${op} for path: '${path}': Unable to remove nonexistent key: ${token}: missing value`);
  }
  const value = container[token];
  delete container[token];
  return value;
}

function locateOrFail(box: DocumentBox, tokens: readonly string[], message: string): Location {
  const location = locate(box, tokens);
  if (location === undefined) throw failed(`${message}: missing value`);
  return location;
}

function applyOperation(box: DocumentBox, { op, raw }: Operation): void {
  const path = typeof raw.path === 'string' ? raw.path : '';
  const value = cloneJson(raw.value ?? null);
  switch (op) {
    case 'add': {
      const at = locateOrFail(
        box,
        pointerTokens(op, raw, 'path'),
        `add operation does not apply: doc is missing path: "${path}"`,
      );
      addAt(at, value, op, path);
      return;
    }
    case 'remove': {
      const at = locateOrFail(
        box,
        pointerTokens(op, raw, 'path'),
        `remove operation does not apply: doc is missing path: "${path}"`,
      );
      removeAt(at, op, path);
      return;
    }
    case 'replace': {
      const at = locateOrFail(
        box,
        pointerTokens(op, raw, 'path'),
        `replace operation does not apply: doc is missing path: ${path}`,
      );
      if (!readAt(at).found)
        throw failed(`replace operation does not apply: doc is missing key: ${path}: missing value`);
      setAt(at, value);
      return;
    }
    case 'move':
    case 'copy': {
      const fromTokens = pointerTokens(op, raw, 'from');
      const from = typeof raw.from === 'string' ? raw.from : '';
      const source = locateOrFail(box, fromTokens, `${op} operation does not apply: doc is missing from path: ${from}`);
      const read = readAt(source);
      if (!read.found) throw failed(`error in ${op} for from: '${from}': missing value`);
      const moved = op === 'move' ? removeAt(source, op, from) : cloneJson(read.value);
      const target = locateOrFail(
        box,
        pointerTokens(op, raw, 'path'),
        `${op} operation does not apply: doc is missing destination path: ${path}`,
      );
      addAt(target, moved, op, path);
      return;
    }
    case 'test': {
      const at = locateOrFail(
        box,
        pointerTokens(op, raw, 'path'),
        `test operation does not apply: is missing path: ${path}`,
      );
      const read = readAt(at);
      if (!read.found || !deepEqual(read.value, value)) throw failed(`testing value ${path} failed: test failed`);
      return;
    }
    default:
      throw failed(`Unexpected kind: ${op}`);
  }
}

/**
 * Applies a JSON patch (RFC 6902): `add`, `remove`, `replace`, `move`, `copy`, `test`, with `-` to
 * append to an array and `~0`/`~1` escapes. Operations apply in order; the first failure aborts the
 * whole patch.
 *
 * @throws PatchError: BadRequest when `ops` is not a list of operation objects, Invalid (422) when
 * an operation cannot apply; the message names the operation and path in evanphx/json-patch's words.
 */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  const operations = decodeOperations(ops);
  const box = new DocumentBox(cloneJson(target));
  for (const operation of operations) applyOperation(box, operation);
  return box.root;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: patch metadata of the built-in types
// ---------------------------------------------------------------------------------------------

/** What `patchStrategy`/`patchMergeKey` struct tags say about one field. */
interface FieldSchema {
  /** `patchStrategy:"merge"`; `key` is the `patchMergeKey` (absent for lists of primitives). */
  readonly merge?: { readonly key?: string };
  /** The fields of the nested object, or of the list items. */
  readonly fields?: ObjectSchema;
}

type ObjectSchema = Readonly<Record<string, FieldSchema>>;

const nested = (fields: ObjectSchema): FieldSchema => ({ fields });

/** The patch metadata of a described type (schema/), built once per type from its fields' patchStrategy and key. */
const describedSchemas = new Map<string, ObjectSchema>();

function describedSchema(typeName: string): ObjectSchema {
  const cached = describedSchemas.get(typeName);
  if (cached) return cached;
  const out: Record<string, FieldSchema> = {};
  // Registered before the fields are walked, so a type that contains itself ends the recursion.
  describedSchemas.set(typeName, out);
  const type = typeDescription(typeName);
  for (const [name, field] of type ? jsonFields(type) : []) {
    const merge = field.patchStrategy?.split(',').includes('merge') === true;
    // A map's keys are data, not fields: only lists and single values carry nested patch metadata.
    const inner = field.type.kind === 'message' && field.shape !== 'map' ? describedSchema(field.type.name) : undefined;
    if (!merge && (inner === undefined || Object.keys(inner).length === 0)) continue;
    out[name] = {
      ...(merge ? { merge: field.patchMergeKey !== undefined ? { key: field.patchMergeKey } : {} } : {}),
      ...(inner !== undefined ? { fields: inner } : {}),
    };
  }
  return out;
}

const withMeta = (fields: ObjectSchema = {}): ObjectSchema => ({ metadata: nested(describedSchema('meta.v1.ObjectMeta')), ...fields });

// Kinds kube-sim does not serve, whose patch metadata this module still knows: metadata, and a pod template.
const METADATA_ONLY_KINDS = [
  'Endpoints',
  'LimitRange',
  'ResourceQuota',
  'PersistentVolume',
  'EndpointSlice',
  'Eviction',
  'PriorityClass',
  'StorageClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'CustomResourceDefinition',
  'APIService',
];

const UNSERVED_KIND_SCHEMAS: Readonly<Record<string, ObjectSchema>> = {
  ...Object.fromEntries(METADATA_ONLY_KINDS.map((kind) => [kind, withMeta()])),
  PodTemplate: withMeta({ template: nested(describedSchema('core.v1.PodTemplateSpec')) }),
  ReplicationController: withMeta({
    spec: nested({ template: nested(describedSchema('core.v1.PodTemplateSpec')) }),
    status: nested({ conditions: { merge: { key: 'type' } } }),
  }),
};

/** The patch metadata of a kind: from the type descriptions for the kinds kube-sim serves. */
function schemaOfKind(kind: string): ObjectSchema | undefined {
  const typeName = rootTypeOfKind(kind);
  if (typeName !== undefined) return describedSchema(typeName);
  return Object.hasOwn(UNSERVED_KIND_SCHEMAS, kind) ? UNSERVED_KIND_SCHEMAS[kind] : undefined;
}

/**
 * Whether `kind` is a built-in type this module knows the patch metadata of. The real apiserver
 * refuses strategic merge patches for custom resources with 415; a caller can use this to do the same.
 */
export function supportsStrategicMergePatch(kind: string): boolean {
  return schemaOfKind(kind) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: the algorithm (apimachinery strategicpatch.StrategicMergeMapPatch)
// ---------------------------------------------------------------------------------------------

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

const badRequest = (message: string): PatchError => new PatchError('BadRequest', message);
const noMergeKey = (item: unknown, key: string): PatchError =>
  badRequest(`map: ${goFormat(item)} does not contain declared merge key: ${key}`);
const badPatchType = (directive: unknown, item: unknown): PatchError =>
  badRequest(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(item)}`);

function isDirectiveKey(key: string): boolean {
  return (
    key === DIRECTIVE ||
    key === RETAIN_KEYS ||
    key.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`) ||
    key.startsWith(`${SET_ELEMENT_ORDER}/`)
  );
}

/** Removes directives and null members at any depth: what decoding into the typed object does. */
function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && v !== undefined && !isDirectiveKey(k)) put(out, k, stripDirectives(v));
  }
  return out;
}

type ValueKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

function kindOf(value: unknown): ValueKind {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'null';
}

/** `sliceElementType`: every element of every list must be of one kind, and not a list. */
function elementKind(...lists: readonly (readonly unknown[])[]): ValueKind | undefined {
  let kind: ValueKind | undefined;
  for (const item of lists.flat()) {
    const k = kindOf(item);
    if (k === 'array') throw new PatchError('Invalid', 'lists of lists are not supported');
    if (kind !== undefined && k !== kind) {
      throw badRequest(`list element types are not identical: ${goFormat(lists.map((l) => [...l]))}`);
    }
    kind = k;
  }
  return kind;
}

/** A value that lands where nothing was: merged into emptiness so directives and nulls vanish. */
function sanitize(value: unknown, field: FieldSchema | undefined): unknown {
  if (isObject(value)) return mergeMap({}, value, field?.fields ?? {});
  if (Array.isArray(value)) return field?.merge ? mergeList([], value, field) : stripDirectives(value);
  return value;
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: ObjectSchema): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    const rest = { ...patch };
    delete rest[DIRECTIVE];
    if (directive === 'replace') return mergeMap({}, rest, schema);
    if (directive === 'delete') return {};
    // Upstream refuses `$patch: merge` on a map; merging is what it asks for, so do that.
    if (directive !== 'merge') throw badPatchType(directive, patch);
    return mergeMap(original, rest, schema);
  }
  const remaining = { ...patch };
  applyRetainKeys(original, remaining);
  applySetElementOrder(original, remaining, schema);
  for (const [key, value] of Object.entries(remaining)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) deleteFromPrimitiveList(original, key, value);
    else mergeField(original, key, value, schema[key]);
  }
  return original;
}

function mergeField(original: JsonObject, key: string, value: unknown, field: FieldSchema | undefined): void {
  if (value === null) {
    delete original[key];
    return;
  }
  const current = Object.hasOwn(original, key) ? original[key] : undefined;
  if (current === undefined || kindOf(current) !== kindOf(value)) {
    put(original, key, sanitize(value, field));
  } else if (isObject(current) && isObject(value)) {
    put(original, key, mergeMap(current, value, field?.fields ?? {}));
  } else if (Array.isArray(current) && Array.isArray(value)) {
    put(original, key, field?.merge ? mergeList(current, value, field) : stripDirectives(value));
  } else {
    put(original, key, value);
  }
}

/** `$retainKeys: [...]` clears every key of the original that is not listed. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badRequest('invalid patch format of retainKeys');
  const keep = new Set(retain);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(key)) throw badRequest('invalid patch format of retainKeys');
  }
  for (const key of Object.keys(original)) if (!keep.has(key)) delete original[key];
}

/** `$deleteFromPrimitiveList/<field>: [...]` removes those values from a list of primitives. */
function deleteFromPrimitiveList(original: JsonObject, directiveKey: string, values: unknown): void {
  const field = directiveField(directiveKey, DELETE_FROM_PRIMITIVE_LIST, 'invalid patch format of primitive list');
  if (values === null) {
    delete original[field];
    return;
  }
  if (!Array.isArray(values)) throw badRequest('invalid patch format of primitive list');
  const current = original[field];
  // Upstream stores the deletion list itself when the field is absent; leaving it absent is what was meant.
  if (!Array.isArray(current)) return;
  put(
    original,
    field,
    current.filter((v) => !values.includes(v)),
  );
}

function directiveField(directiveKey: string, prefix: string, error: string): string {
  const slash = directiveKey.indexOf('/');
  if (slash < 0 || directiveKey.slice(0, slash) !== prefix) throw badRequest(error);
  return directiveKey.slice(slash + 1);
}

// ----- lists ----------------------------------------------------------------------------------

function mergeList(original: readonly unknown[], patch: readonly unknown[], field: FieldSchema): unknown[] {
  if (original.length === 0 && patch.length === 0) return [];
  const kind = elementKind(original, patch);
  if (kind !== 'object') {
    const merged = [...new Set([...original, ...patch])];
    return enforceOrder(merged, patch, original, undefined);
  }
  const key = field.merge?.key;
  if (key === undefined) throw badRequest('cannot merge lists without merge key for type map');
  const items = field.fields ?? {};
  const { base, rest } = applySpecialElements(original as JsonObject[], patch as JsonObject[], key, items);
  const merged = mergeByKey(base, rest, key, items);
  return enforceOrder(merged, rest, base, key);
}

/** Handles list items that carry `$patch`: `delete` drops the original's match, `replace` the whole list. */
function applySpecialElements(
  original: readonly JsonObject[],
  patch: readonly JsonObject[],
  key: string,
  items: ObjectSchema,
): { base: JsonObject[]; rest: JsonObject[] } {
  let base = [...original];
  const rest: JsonObject[] = [];
  let replace = false;
  for (const item of patch) {
    if (!Object.hasOwn(item, DIRECTIVE)) {
      rest.push(item);
      continue;
    }
    const directive = item[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(item, key)) throw noMergeKey(item, key);
      base = base.filter((o) => o[key] !== item[key]);
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw badRequest('merging lists cannot yet be specified in the patch');
    } else {
      throw badPatchType(directive, item);
    }
  }
  if (replace) return { base: rest.map((item) => mergeMap({}, item, items)), rest: [] };
  return { base, rest };
}

function mergeByKey(
  base: readonly JsonObject[],
  patch: readonly JsonObject[],
  key: string,
  items: ObjectSchema,
): JsonObject[] {
  const out = [...base];
  for (const item of patch) {
    if (!Object.hasOwn(item, key)) throw noMergeKey(item, key);
    const at = out.findIndex((o) => Object.hasOwn(o, key) && o[key] === item[key]);
    if (at >= 0) out[at] = mergeMap(out[at] ?? {}, item, items);
    else out.push(mergeMap({}, item, items));
  }
  return out;
}

type Identity = (item: unknown) => unknown;

function identityFor(key: string | undefined): Identity {
  if (key === undefined) return (item) => item;
  return (item) => {
    if (!isObject(item) || !Object.hasOwn(item, key)) throw noMergeKey(item, key);
    return item[key];
  };
}

function indexIn(list: readonly unknown[], item: unknown, id: Identity): number {
  const wanted = id(item);
  return list.findIndex((x) => id(x) === wanted);
}

function sortByOrder(items: readonly unknown[], order: readonly unknown[], id: Identity): unknown[] {
  const rank = (item: unknown): number => {
    const i = indexIn(order, item, id);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  return [...items].sort((a, b) => rank(a) - rank(b));
}

/**
 * `normalizeElementOrder` + `mergeSortedSlice`: items named by the patch keep the patch's order,
 * the others keep the server's order, and a server item goes before a patch item only when the
 * server list has it earlier. An item the server has never seen therefore lands before the
 * server-only items, as upstream does when no `$setElementOrder` is sent.
 */
function enforceOrder(
  merged: readonly unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  key: string | undefined,
): unknown[] {
  const id = identityFor(key);
  const inPatch = (item: unknown): boolean => indexIn(patchOrder, item, id) >= 0;
  const patchItems = sortByOrder(merged.filter(inPatch), patchOrder, id);
  const serverOnly = sortByOrder(
    merged.filter((item) => !inPatch(item)),
    serverOrder,
    id,
  );
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (j >= patchItems.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(patchItems[j++]);
    else {
      const left = indexIn(serverOrder, serverOnly[i], id);
      const right = indexIn(serverOrder, patchItems[j], id);
      out.push(left >= 0 && right >= 0 && left < right ? serverOnly[i++] : patchItems[j++]);
    }
  }
  return out;
}

/**
 * `$setElementOrder/<field>: [...]` (sent by `kubectl apply` and the kubelet) merges the field's
 * list and then orders it: listed items in the listed order, the server's other items around them.
 */
function applySetElementOrder(original: JsonObject, patch: JsonObject, schema: ObjectSchema): void {
  for (const directiveKey of Object.keys(patch)) {
    if (!directiveKey.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[directiveKey];
    delete patch[directiveKey];
    const formatError = 'invalid patch format of setElementOrder list';
    const fieldName = directiveField(directiveKey, SET_ELEMENT_ORDER, formatError);
    if (!Array.isArray(order)) throw badRequest(formatError);
    const current = Object.hasOwn(original, fieldName) ? original[fieldName] : undefined;
    const patchList = Object.hasOwn(patch, fieldName) ? patch[fieldName] : undefined;
    if ((current !== undefined && !Array.isArray(current)) || (patchList !== undefined && !Array.isArray(patchList))) {
      throw badRequest(formatError);
    }
    if (current === undefined && patchList === undefined) continue;
    const field = schema[fieldName];
    const key = field?.merge?.key;
    if (patchList !== undefined) checkOrderCoversPatch(patchList, order, key);
    const merged = mergedForOrdering(current, patchList, field);
    put(original, fieldName, orderBySetElementOrder(merged, order, current ?? [], key));
    delete patch[fieldName];
  }
}

function mergedForOrdering(
  current: unknown[] | undefined,
  patchList: unknown[] | undefined,
  field: FieldSchema | undefined,
): unknown[] {
  if (patchList === undefined) return current ?? [];
  if (current === undefined) return sanitize(patchList, field) as unknown[];
  return field?.merge ? mergeList(current, patchList, field) : (stripDirectives(patchList) as unknown[]);
}

function orderBySetElementOrder(
  merged: unknown[],
  order: readonly unknown[],
  server: readonly unknown[],
  key: string | undefined,
): unknown[] {
  const kind = elementKind(merged);
  // Objects without a merge key cannot be matched to the order list: leave them as merged.
  if (kind === undefined || (kind === 'object' && key === undefined)) return merged;
  return enforceOrder(merged, order, server, key);
}

/** `validatePatchWithSetOrderList`: the patch's items must appear in the order list, in that order. */
function checkOrderCoversPatch(
  patchList: readonly unknown[],
  order: readonly unknown[],
  key: string | undefined,
): void {
  if (patchList.length === 0 || order.length === 0) return;
  const isDelete = (item: unknown): boolean => key !== undefined && isObject(item) && item[DIRECTIVE] === 'delete';
  const items = patchList.filter((item) => !isDelete(item));
  const id = identityFor(key);
  let p = 0;
  let o = 0;
  while (p < items.length && o < order.length) {
    const item = items[p];
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (id(item) === id(order[o])) p++;
    o++;
  }
  if (p < items.length) {
    throw badRequest(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}\n`,
    );
  }
}

/**
 * Applies a strategic merge patch as kube-apiserver does for built-in types: maps merge recursively,
 * `null` deletes, lists of primitives are replaced unless their field merges (finalizers merge as a
 * set), and lists of objects with a merge key merge item by item (containers by `name`, ports by
 * `containerPort`, node conditions by `type`, ...; NodeSpec taints and PodSpec tolerations have no
 * merge key and are replaced). The path from the object's root decides the merge key, so
 * `spec.template.spec.containers` of a Deployment merges like a Pod's `spec.containers`.
 *
 * Directives: `$patch: replace|delete|merge` on maps, `$patch: delete|replace` on list items,
 * `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`; none of them is
 * left in the result. A kind this module does not know gets merge-patch semantics for lists
 * (replace); see {@link supportsStrategicMergePatch}.
 *
 * @throws PatchError: BadRequest for a patch that is not an object or is malformed (a missing merge
 * key, an unknown directive), Invalid (422) for lists of lists.
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  if (!isObject(patch)) {
    throw badRequest(`json: cannot unmarshal ${jsonTypeName(patch)} into Go value of type map[string]interface {}`);
  }
  const original = isObject(target) ? (cloneJson(target) as JsonObject) : {};
  const schema = schemaOfKind(kind) ?? {};
  return mergeMap(original, cloneJson(patch) as JsonObject, schema);
}

/**
 * How the list at `path` (field names from the object's root; list items are not steps) of a `kind` merges: `map`
 * (items identified by their keys: `x-kubernetes-list-type: map` with its list-map keys, or a strategic merge key),
 * `set` (primitives merged as a set) or `atomic` (replaced whole). Server-side apply reads list types here: from the
 * type descriptions for the kinds kube-sim serves, from the strategic-merge metadata for the others.
 */
export function listTypeAt(kind: string, path: readonly string[]): { type: 'map'; keys: string[] } | { type: 'set' } | { type: 'atomic' } {
  const root = rootTypeOfKind(kind);
  if (root !== undefined) {
    let type = typeDescription(root);
    let field: FieldDescription | undefined;
    for (const name of path) {
      field = type ? jsonFields(type).get(name) : undefined;
      type = field?.type.kind === 'message' ? typeDescription(field.type.name) : undefined;
    }
    if (field === undefined || field.shape !== 'list') return { type: 'atomic' };
    const merges = field.patchStrategy?.split(',').includes('merge') === true;
    const listType = field.listType ?? (merges ? (field.patchMergeKey !== undefined ? 'map' : 'set') : 'atomic');
    if (listType === 'map') {
      const keys = field.listMapKeys ?? (field.patchMergeKey !== undefined ? [field.patchMergeKey] : []);
      return keys.length > 0 ? { type: 'map', keys: [...keys] } : { type: 'atomic' };
    }
    return { type: listType };
  }
  let schema: ObjectSchema | undefined = schemaOfKind(kind);
  let field: FieldSchema | undefined;
  for (const name of path) {
    field = schema && Object.hasOwn(schema, name) ? schema[name] : undefined;
    schema = field?.fields;
  }
  if (!field?.merge) return { type: 'atomic' };
  return field.merge.key !== undefined ? { type: 'map', keys: [field.merge.key] } : { type: 'set' };
}
