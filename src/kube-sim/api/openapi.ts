/**
 * OpenAPI documents of the served types, generated from the type descriptions: `/openapi/v2` (Swagger 2.0, one
 * document) and `/openapi/v3` (an index, and one OpenAPI 3.0 document per group version, addressed with a content
 * hash). Definitions only for what the simulated minor serves; paths carry the operations and query parameters kubectl
 * looks for (its field-validation check reads the PATCH operation's parameters and group-version-kind).
 */
import { createHash } from 'node:crypto';
import type { ResourceDef } from './resources.ts';
import { groupVersion } from './resources.ts';
import type { FieldDescription, TypeDescription, ValueType } from './schema/types.ts';
import { definitionName, kindTypeName, typeDescription } from './schema/types.ts';

type Schema = Record<string, unknown>;

/** Which OpenAPI flavour a schema is written for: where references point, and how a described reference is written. */
type Flavour = 'v2' | 'v3';

const SPECIAL_DEFINITIONS: Readonly<Record<string, { name: string; schema: Schema }>> = {
  time: {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
    schema: {
      type: 'string',
      format: 'date-time',
      description: 'A point in time, RFC 3339 in UTC with whole seconds.',
    },
  },
  microtime: {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
    schema: { type: 'string', format: 'date-time', description: 'A point in time, RFC 3339 in UTC with microseconds.' },
  },
  duration: {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.Duration',
    schema: { type: 'string', description: 'A duration in Go notation, such as 1m30s.' },
  },
  quantity: {
    name: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
    schema: { type: 'string', description: 'A resource amount, such as 500m or 1Gi.' },
  },
  intstr: {
    name: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
    schema: { type: 'string', format: 'int-or-string', description: 'An integer or a string.' },
  },
  rawext: {
    name: 'io.k8s.apimachinery.pkg.runtime.RawExtension',
    schema: { type: 'object', description: 'Any embedded object.' },
  },
  fieldsv1: {
    name: 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
    schema: { type: 'object', description: 'A set of fields, as server-side apply tracks them.' },
  },
};

const SCALAR_SCHEMAS: Readonly<Record<string, Schema>> = {
  string: { type: 'string' },
  int32: { type: 'integer', format: 'int32' },
  int64: { type: 'integer', format: 'int64' },
  bool: { type: 'boolean' },
  double: { type: 'number', format: 'double' },
  bytes: { type: 'string', format: 'byte' },
};

function ref(flavour: Flavour, name: string): string {
  return flavour === 'v2' ? `#/definitions/${name}` : `#/components/schemas/${name}`;
}

/** The definition name a value type refers to, or undefined for an inline scalar. */
function referencedName(type: ValueType): string | undefined {
  if (type.kind === 'message') return definitionName(type.name);
  if (type.kind === 'special') return SPECIAL_DEFINITIONS[type.special]?.name;
  return undefined;
}

function valueSchema(flavour: Flavour, type: ValueType): Schema {
  const name = referencedName(type);
  if (name !== undefined) return { $ref: ref(flavour, name) };
  return type.kind === 'scalar' ? { ...SCALAR_SCHEMAS[type.scalar] } : {};
}

function fieldSchema(flavour: Flavour, field: FieldDescription): Schema {
  const value = valueSchema(flavour, field.type);
  let schema: Schema;
  if (field.shape === 'list') schema = { type: 'array', items: value };
  else if (field.shape === 'map') schema = { type: 'object', additionalProperties: value };
  // OpenAPI 3.0 ignores the siblings of a $ref: a described reference is written as allOf of one.
  else if (value['$ref'] !== undefined && field.description !== undefined && flavour === 'v3')
    schema = { allOf: [value] };
  else schema = value;
  if (field.description !== undefined) schema['description'] = field.description;
  if (field.listType) schema['x-kubernetes-list-type'] = field.listType;
  if (field.listMapKeys) schema['x-kubernetes-list-map-keys'] = field.listMapKeys;
  if (field.patchMergeKey) schema['x-kubernetes-patch-merge-key'] = field.patchMergeKey;
  if (field.patchStrategy) schema['x-kubernetes-patch-strategy'] = field.patchStrategy;
  return schema;
}

/** The properties of a message with inlined messages expanded, and which of them are required. */
function propertiesOf(
  flavour: Flavour,
  type: TypeDescription,
): { properties: Record<string, Schema>; required: string[] } {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const field of type.fields) {
    if (field.inline && field.type.kind === 'message') {
      const inner = typeDescription(field.type.name);
      if (!inner) continue;
      const nested = propertiesOf(flavour, inner);
      Object.assign(properties, nested.properties);
      required.push(...nested.required);
      continue;
    }
    properties[field.name] = fieldSchema(flavour, field);
    if (field.required) required.push(field.name);
  }
  return { properties, required };
}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

function messageSchema(flavour: Flavour, type: TypeDescription, gvks: readonly Gvk[]): Schema {
  const { properties, required } = propertiesOf(flavour, type);
  const schema: Schema = { type: 'object' };
  if (type.description !== undefined) schema['description'] = type.description;
  if (gvks.length > 0) {
    schema['properties'] = {
      apiVersion: { type: 'string', description: 'The versioned schema of this object, group/version.' },
      kind: { type: 'string', description: 'The kind of object.' },
      ...properties,
    };
    schema['x-kubernetes-group-version-kind'] = gvks;
  } else {
    schema['properties'] = properties;
  }
  if (required.length > 0) schema['required'] = required;
  return schema;
}

/** The message types reachable from `roots`, each once. */
function closure(roots: readonly string[]): { messages: string[]; specials: Set<string> } {
  const messages: string[] = [];
  const specials = new Set<string>();
  const seen = new Set<string>();
  const queue = [...roots];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    messages.push(name);
    for (const field of typeDescription(name)?.fields ?? []) {
      if (field.type.kind === 'message') queue.push(field.type.name);
      else if (field.type.kind === 'special') specials.add(field.type.special);
    }
  }
  return { messages, specials };
}

function gvkOf(def: ResourceDef): Gvk {
  return { group: def.group, version: def.version, kind: def.kind };
}

/** The schemas (definitions) for the served resources, keyed by definition name. */
function definitions(flavour: Flavour, resources: readonly ResourceDef[]): Record<string, Schema> {
  const kinds = new Map<string, Gvk[]>();
  for (const def of resources) {
    const name = kindTypeName(def);
    if (name !== undefined) kinds.set(name, [...(kinds.get(name) ?? []), gvkOf(def)]);
  }
  const { messages, specials } = closure([...kinds.keys()]);
  const out: Record<string, Schema> = {};
  for (const name of messages.sort()) {
    const type = typeDescription(name);
    if (type) out[definitionName(name)] = messageSchema(flavour, type, kinds.get(name) ?? []);
  }
  for (const special of [...specials].sort()) {
    const d = SPECIAL_DEFINITIONS[special];
    if (d) out[d.name] = { ...d.schema };
  }
  return out;
}

const QUERY_PARAMETERS: Readonly<Record<string, { description: string; verbs: readonly string[] }>> = {
  dryRun: {
    description: 'All: validate and run admission without persisting.',
    verbs: ['post', 'put', 'patch', 'delete'],
  },
  fieldManager: { description: 'The name of the actor making the change.', verbs: ['post', 'put', 'patch'] },
  fieldValidation: {
    description:
      'What to do with unknown and duplicate fields: Ignore (drop), Warn (drop and warn; the default) or Strict (reject).',
    verbs: ['post', 'put', 'patch'],
  },
  force: { description: 'Server-side apply: take over fields owned by other managers.', verbs: ['patch'] },
};

function operation(
  flavour: Flavour,
  def: ResourceDef,
  verb: string,
  action: string,
  bodyName: string | undefined,
  responseName: string,
): Schema {
  const parameters: Schema[] = Object.entries(QUERY_PARAMETERS)
    .filter(([, p]) => p.verbs.includes(verb))
    .map(([name, p]) =>
      flavour === 'v2'
        ? {
            name,
            in: 'query',
            type: name === 'force' ? 'boolean' : 'string',
            uniqueItems: true,
            description: p.description,
          }
        : {
            name,
            in: 'query',
            schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
            description: p.description,
          },
    );
  const op: Schema = {
    operationId: `${action}${def.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvkOf(def),
    parameters,
  };
  const response = { $ref: ref(flavour, responseName) };
  if (flavour === 'v2') {
    if (bodyName !== undefined)
      parameters.push({ name: 'body', in: 'body', required: true, schema: { $ref: ref(flavour, bodyName) } });
    op['responses'] = { '200': { description: 'OK', schema: response } };
  } else {
    if (bodyName !== undefined) {
      const media =
        verb === 'patch'
          ? PATCH_MEDIA_TYPES
          : ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
      op['requestBody'] = {
        required: true,
        content: Object.fromEntries(media.map((m) => [m, { schema: { $ref: ref(flavour, bodyName) } }])),
      };
    }
    op['responses'] = { '200': { description: 'OK', content: { 'application/json': { schema: response } } } };
  }
  return op;
}

const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

function paths(flavour: Flavour, resources: readonly ResourceDef[]): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const def of resources) {
    const type = kindTypeName(def);
    if (type === undefined) continue;
    const name = definitionName(type);
    const base = def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
    const collection = def.namespaced ? `${base}/namespaces/{namespace}/${def.plural}` : `${base}/${def.plural}`;
    const params = (names: string[]): Schema[] =>
      names.map((n) =>
        flavour === 'v2'
          ? { name: n, in: 'path', required: true, type: 'string' }
          : { name: n, in: 'path', required: true, schema: { type: 'string' } },
      );
    const scopeParams = def.namespaced ? ['namespace'] : [];
    out[collection] = {
      get: operation(flavour, def, 'get', 'list', undefined, name),
      post: operation(flavour, def, 'post', 'post', name, name),
      parameters: params(scopeParams),
    };
    out[`${collection}/{name}`] = {
      get: operation(flavour, def, 'get', 'get', undefined, name),
      put: operation(flavour, def, 'put', 'put', name, name),
      patch: operation(flavour, def, 'patch', 'patch', name, name),
      delete: operation(flavour, def, 'delete', 'delete', undefined, name),
      parameters: params([...scopeParams, 'name']),
    };
  }
  return out;
}

/** The Swagger 2.0 document of `/openapi/v2`. */
export function openApiV2(resources: readonly ResourceDef[], gitVersion: string): unknown {
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: gitVersion },
    paths: paths('v2', resources),
    definitions: definitions('v2', resources),
    securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
}

/** One group version's OpenAPI 3.0 document, its index key (`api/v1`, `apis/apps/v1`) and content hash. */
export interface OpenApiV3Document {
  readonly key: string;
  readonly json: string;
  /** Upper-case hex SHA-512 of the document, as the apiserver puts in `?hash=`. */
  readonly hash: string;
}

/** The OpenAPI v3 documents of the served group versions, by index key. */
export function openApiV3Documents(
  resources: readonly ResourceDef[],
  gitVersion: string,
): Map<string, OpenApiV3Document> {
  const byGroupVersion = new Map<string, ResourceDef[]>();
  for (const def of resources) {
    const key = def.group ? `apis/${groupVersion(def)}` : `api/${def.version}`;
    byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), def]);
  }
  const out = new Map<string, OpenApiV3Document>();
  for (const [key, defs] of [...byGroupVersion].sort(([a], [b]) => a.localeCompare(b))) {
    const doc = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: gitVersion },
      paths: paths('v3', defs),
      components: {
        schemas: definitions('v3', defs),
        securitySchemes: {
          BearerToken: {
            type: 'apiKey',
            description: 'Bearer token authentication',
            name: 'authorization',
            in: 'header',
          },
        },
      },
    };
    const json = JSON.stringify(doc);
    out.set(key, { key, json, hash: createHash('sha512').update(json).digest('hex').toUpperCase() });
  }
  return out;
}

/** The `/openapi/v3` index: every group version's relative URL with its hash. */
export function openApiV3Index(documents: ReadonlyMap<string, OpenApiV3Document>): unknown {
  return {
    paths: Object.fromEntries(
      [...documents.values()].map((d) => [d.key, { serverRelativeURL: `/openapi/v3/${d.key}?hash=${d.hash}` }]),
    ),
  };
}

/** The documents of one served set of resources. */
interface OpenApiDocuments {
  readonly v2: string;
  readonly v3Index: string;
  readonly v3: ReadonlyMap<string, OpenApiV3Document>;
}

/**
 * The documents for what is served now, built once per served set: they change only when the simulated control plane
 * is upgraded to another minor. One per API handler.
 */
export class OpenApiCache {
  private key = '';
  private docs: OpenApiDocuments | undefined;

  /** The documents for `resources` at `gitVersion`, built on first use. */
  documents(resources: readonly ResourceDef[], gitVersion: string): OpenApiDocuments {
    const key = `${gitVersion} ${resources.map((r) => `${groupVersion(r)}/${r.plural}`).join(' ')}`;
    if (this.docs && key === this.key) return this.docs;
    const v3 = openApiV3Documents(resources, gitVersion);
    this.docs = {
      v2: JSON.stringify(openApiV2(resources, gitVersion)),
      v3Index: JSON.stringify(openApiV3Index(v3)),
      v3,
    };
    this.key = key;
    return this.docs;
  }
}
