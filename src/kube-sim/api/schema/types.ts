/**
 * Type descriptions of everything kube-sim serves: for each message its fields with JSON name, protobuf number, type,
 * list semantics and patch metadata. The one source for OpenAPI, protobuf decoding and unknown-field detection.
 */
import { FIELD_DESCRIPTIONS, KIND_DESCRIPTIONS } from './descriptions.ts';
import { TYPE_TABLE } from './table.ts';

/** Scalars as the wire carries them. */
export type ScalarType = 'string' | 'int32' | 'int64' | 'bool' | 'double' | 'bytes';

/**
 * Types with their own JSON form: `time` (RFC 3339, seconds), `microtime` (RFC 3339, microseconds), `duration` (Go
 * duration text), `quantity` (resource quantity text), `intstr` (int or string), `rawext` (any JSON value),
 * `fieldsv1` (a managedFields set, any JSON object).
 */
export type SpecialType = 'time' | 'microtime' | 'duration' | 'quantity' | 'intstr' | 'rawext' | 'fieldsv1';

/** What a field holds: a scalar, a special, or a message (by type name, see {@link typeDescription}). */
export type ValueType =
  | { readonly kind: 'scalar'; readonly scalar: ScalarType }
  | { readonly kind: 'special'; readonly special: SpecialType }
  | { readonly kind: 'message'; readonly name: string };

/** One field of a message. */
export interface FieldDescription {
  /** The JSON name. For an inlined field (`inline`), the name of the protobuf field only. */
  readonly name: string;
  /** The protobuf field number. */
  readonly number: number;
  /** `one` value, a `list` of values, or a `map` from string keys to values. */
  readonly shape: 'one' | 'list' | 'map';
  readonly type: ValueType;
  readonly required: boolean;
  /** A Go pointer: a zero value sent for it is meaningful and kept. */
  readonly pointer: boolean;
  /** The message's fields sit in the parent's JSON object (Volume's VolumeSource). */
  readonly inline: boolean;
  /** x-kubernetes-list-type: `atomic`, `set` or `map`. */
  readonly listType?: 'atomic' | 'set' | 'map';
  /** x-kubernetes-list-map-keys. */
  readonly listMapKeys?: readonly string[];
  /** Strategic merge patch: x-kubernetes-patch-merge-key and x-kubernetes-patch-strategy. */
  readonly patchMergeKey?: string;
  readonly patchStrategy?: string;
  readonly description?: string;
}

/** A message type: its name (`core.v1.Pod`), fields in protobuf order, and what it is. */
export interface TypeDescription {
  readonly name: string;
  readonly fields: readonly FieldDescription[];
  readonly description?: string;
}

const SCALARS = new Set<string>(['string', 'int32', 'int64', 'bool', 'double', 'bytes']);
const SPECIALS = new Set<string>(['time', 'microtime', 'duration', 'quantity', 'intstr', 'rawext', 'fieldsv1']);
const LIST_TYPES = new Set<string>(['atomic', 'set', 'map']);

function valueType(text: string): ValueType {
  if (SCALARS.has(text)) return { kind: 'scalar', scalar: text as ScalarType };
  if (SPECIALS.has(text)) return { kind: 'special', special: text as SpecialType };
  if (!Object.hasOwn(TYPE_TABLE, text)) throw new Error(`schema: unknown type ${text}`);
  return { kind: 'message', name: text };
}

function parseField(typeName: string, entry: string): FieldDescription {
  const [name, number, rawType, ...flags] = entry.split(' ');
  if (name === undefined || number === undefined || rawType === undefined)
    throw new Error(`schema: bad entry ${typeName}: ${entry}`);
  const shape = rawType.startsWith('[]') ? 'list' : rawType.startsWith('{}') ? 'map' : 'one';
  const field: {
    -readonly [K in keyof FieldDescription]: FieldDescription[K];
  } = {
    name,
    number: Number(number),
    shape,
    type: valueType(shape === 'one' ? rawType : rawType.slice(2)),
    required: flags.includes('!'),
    pointer: flags.includes('*'),
    inline: flags.includes('^'),
  };
  for (const flag of flags) {
    const [key, value = ''] = flag.split('=');
    if (key === 'lt' && LIST_TYPES.has(value)) field.listType = value as 'atomic' | 'set' | 'map';
    else if (key === 'lk') field.listMapKeys = value.split(',');
    else if (key === 'mk') field.patchMergeKey = value;
    else if (key === 'ps') field.patchStrategy = value;
  }
  const description = FIELD_DESCRIPTIONS[`${typeName}.${name}`] ?? FIELD_DESCRIPTIONS[`*.${name}`];
  if (description !== undefined) field.description = description;
  return field;
}

const parsed = new Map<string, TypeDescription>();

/** The description of a message type (`core.v1.PodSpec`), or undefined when kube-sim does not know it. */
export function typeDescription(name: string): TypeDescription | undefined {
  const cached = parsed.get(name);
  if (cached) return cached;
  const entries = Object.hasOwn(TYPE_TABLE, name) ? TYPE_TABLE[name] : undefined;
  if (entries === undefined) return undefined;
  const description = KIND_DESCRIPTIONS[name];
  const type: TypeDescription = {
    name,
    fields: entries.map((e) => parseField(name, e)),
    ...(description !== undefined ? { description } : {}),
  };
  parsed.set(name, type);
  return type;
}

/** Every message type kube-sim describes, by name. */
export function allTypeNames(): string[] {
  return Object.keys(TYPE_TABLE);
}

/** The package short name of an API group: `core` for '', the first label otherwise (`rbac.authorization.k8s.io` → `rbac`). */
function packageOf(group: string): string {
  return group === '' ? 'core' : (group.split('.')[0] ?? group);
}

/** The message type of a kind at a group version (`apps`, `v1`, `Deployment` → `apps.v1.Deployment`), if described. */
export function kindTypeName(gvk: { group: string; version: string; kind: string }): string | undefined {
  const name = `${packageOf(gvk.group)}.${gvk.version}.${gvk.kind}`;
  return Object.hasOwn(TYPE_TABLE, name) ? name : undefined;
}

/**
 * The message type of a kind by its name alone (`Deployment` → `apps.v1.Deployment`), for callers that know no group
 * version; of several versions, the GA one (it sorts first). Undefined for kinds kube-sim does not describe.
 */
export function rootTypeOfKind(kind: string): string | undefined {
  return Object.keys(TYPE_TABLE)
    .filter((name) => name.endsWith(`.${kind}`) && TYPE_TABLE[name]?.[0]?.startsWith('metadata 1 meta.v1.ObjectMeta'))
    .sort()[0];
}

/** The OpenAPI definition name of a type: `io.k8s.api.core.v1.Pod`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`. */
export function definitionName(name: string): string {
  return name.startsWith('meta.') ? `io.k8s.apimachinery.pkg.apis.${name}` : `io.k8s.api.${name}`;
}

/**
 * The JSON fields of a message as a client writes them: inlined messages are expanded into their fields (recursively),
 * so `Volume` lists `name`, `emptyDir`, `configMap`, ... Keyed by JSON name.
 */
export function jsonFields(type: TypeDescription): ReadonlyMap<string, FieldDescription> {
  const cached = jsonFieldCache.get(type.name);
  if (cached) return cached;
  const out = new Map<string, FieldDescription>();
  for (const field of type.fields) {
    if (field.inline && field.type.kind === 'message') {
      const inner = typeDescription(field.type.name);
      if (inner) for (const [k, v] of jsonFields(inner)) out.set(k, v);
    } else {
      out.set(field.name, field);
    }
  }
  jsonFieldCache.set(type.name, out);
  return out;
}

const jsonFieldCache = new Map<string, ReadonlyMap<string, FieldDescription>>();
