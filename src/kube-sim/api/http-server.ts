/**
 * The simulated apiserver's HTTP front: authentication, fault injection, routing of discovery and resource paths,
 * and the verbs get, list, watch, create, update, patch, delete and deletecollection with the apiserver's replies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, aggregatedDiscovery } from './discovery.ts';
import { FieldSelectorError, matchesFields, parseFieldSelector, equalityValue as fieldEquality } from './field-selector.ts';
import { SelectorParseError, matchesLabels, parseLabelSelector } from '../../k8s/label-selector.ts';
import type { ResponseShape } from './negotiate.ts';
import { negotiate } from './negotiate.ts';
import type { FieldValidation } from './field-validation.ts';
import { duplicateJsonFields, fieldProblems, fieldValidationOf, pruneUnknownFields } from './field-validation.ts';
import { OpenApiCache } from './openapi.ts';
import { PatchError } from './patch.ts';
import { decodeDeleteOptions, isKubernetesProtobuf, ProtobufDecodeError } from './protobuf.ts';
import { decodeProtobufObject } from './protobuf-object.ts';
import { kindTypeName } from './schema/types.ts';
import { managerOf } from './managed-fields.ts';
import type { DeleteOptions, PatchType, WriteOptions } from './registry.ts';
import type { ApiContext } from './request-context.ts';
import type { ResourceDef } from './resources.ts';
import { ALL_RESOURCES } from './resources.ts';
import { answerReview, isReview } from './reviews.ts';
import type { Scale } from './scale.ts';
import { scaleOf, writeScale } from './scale.ts';
import { StatusError, badRequest, expired, methodNotAllowed } from './status.ts';
import type { IncludeObject } from './tables.ts';
import { buildTable } from './tables.ts';
import { addWarning, deprecationWarning } from './warnings.ts';
import { serveWatch } from './watch.ts';
import type { WatchTrigger } from '../store/object-store.ts';
import { pinnedScope } from '../store/object-store.ts';
import type { KubeObject, ObjectInput } from '../model/wire.ts';
import { isRecord, objectKey } from '../model/wire.ts';

/** Requests answered without a token, as the default RBAC's system:public-info-viewer allows. */
const PUBLIC_PATHS = /^\/(version|healthz|livez|readyz)(\/|$)/;
const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** A handler for paths outside the Kubernetes API (the infrastructure API). */
export type ExtraHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** Builds the request listener of a simulated apiserver. */
export function createApiHandler(ctx: ApiContext, extra?: ExtraHandler): (req: IncomingMessage, res: ServerResponse) => void {
  const openapi = new OpenApiCache();
  return (req, res) => {
    handle(ctx, openapi, extra, req, res).catch((err: unknown) => sendError(res, err));
  };
}

async function handle(ctx: ApiContext, openapi: OpenApiCache, extra: ExtraHandler | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  ctx.metrics.recordHttp();
  const url = new URL(req.url ?? '/', 'https://kube-sim');
  if (ctx.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, ctx.faults.latencyMs));
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (!PUBLIC_PATHS.test(path)) {
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${ctx.token}`) {
      throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    }
  }
  if (extra && path.startsWith('/sim/')) {
    if (await extra(req, res, url)) return;
  }
  if (ctx.unavailableUntil() > ctx.now()) {
    throw new StatusError(503, 'ServiceUnavailable', 'the apiserver is restarting (kube-sim: control-plane component upgrade)');
  }
  if (path === '/version') return sendJson(res, 200, versionInfo(ctx));
  if (/^\/(healthz|livez|readyz)$/.test(path)) return sendHealth(res, path.slice(1), url.searchParams.has('verbose'));
  if (path === '/metrics') {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(ctx.metrics.render());
    return;
  }
  if (path === '/openapi/v2' || path.startsWith('/openapi/v3')) return serveOpenApi(ctx, openapi, req, res, path, url);
  const segments = path.split('/').filter(Boolean);
  if (segments[0] === 'api') return routeGroupVersion(ctx, req, res, url, '', segments.slice(1), 'api');
  if (segments[0] === 'apis') return routeGroupVersion(ctx, req, res, url, segments[1], segments.slice(2), 'apis');
  throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

function versionInfo(ctx: ApiContext): unknown {
  const v = ctx.version();
  return {
    major: v.major,
    minor: v.minor,
    gitVersion: v.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

function sendHealth(res: ServerResponse, check: string, verbose: boolean): void {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  if (!verbose) {
    res.end('ok');
    return;
  }
  const checks = ['ping', 'log', 'etcd', 'poststarthook/start-informers', 'poststarthook/bootstrap-controller'];
  res.end(checks.map((c) => `[+]${c} ok`).join('\n') + `\n${check} check passed\n`);
}

async function routeGroupVersion(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  group: string | undefined,
  rest: string[],
  scope: 'api' | 'apis',
): Promise<void> {
  const resources = ctx.resources();
  const isDiscovery = (scope === 'api' && rest.length <= 1) || (scope === 'apis' && rest.length <= 1);
  if (isDiscovery && req.method === 'GET') {
    const shape = negotiate(req.headers.accept, { discovery: true });
    if (!shape) throw notAcceptable();
    if (scope === 'api' && rest.length === 0) {
      if (shape.as === 'APIGroupDiscoveryList') return sendDiscovery(res, aggregatedDiscovery(resources, 'api', shape.version), shape.version);
      return sendJson(res, 200, apiVersions(`127.0.0.1:${String(req.socket.localPort ?? 443)}`));
    }
    if (scope === 'api') {
      const doc = rest[0] === 'v1' ? apiResourceList(resources, '', 'v1') : undefined;
      if (!doc) throw notFoundPath();
      return sendJson(res, 200, doc);
    }
    if (group === undefined) {
      if (shape.as === 'APIGroupDiscoveryList') return sendDiscovery(res, aggregatedDiscovery(resources, 'apis', shape.version), shape.version);
      return sendJson(res, 200, apiGroupList(resources));
    }
    const doc = rest.length === 0 ? apiGroupDocument(resources, group) : apiResourceList(resources, group, rest[0] as string);
    if (!doc) throw notFoundPath();
    return sendJson(res, 200, doc);
  }
  const [version, ...segments] = scope === 'api' ? rest : rest;
  if (!version) throw notFoundPath();
  let namespace: string | undefined;
  let plural: string | undefined;
  let name: string | undefined;
  let subresource: string | undefined;
  if (segments[0] === 'namespaces' && segments.length >= 3) {
    [, namespace, plural, name, subresource] = segments;
  } else {
    [plural, name, subresource] = segments;
  }
  if (segments.length > (namespace !== undefined ? 5 : 3)) throw notFoundPath();
  const def = resources.find((r) => r.group === (group ?? '') && r.version === version && r.plural === plural);
  if (!def) throw notFoundPath();
  if (namespace !== undefined && !def.namespaced) throw notFoundPath();
  if (def.namespaced && namespace === undefined && name !== undefined) throw notFoundPath();
  if (def.deprecatedIn !== undefined) {
    ctx.metrics.recordDeprecated(def.group, def.version, def.plural, def.removedIn !== undefined ? `1.${def.removedIn}` : '');
    const warning = deprecationWarning(def, ALL_RESOURCES);
    if (warning !== undefined) addWarning(res, warning);
  }
  const verb = verbOf(req.method ?? 'GET', name, url);
  if (def.verbs !== undefined && !def.verbs.includes(verb)) throw methodNotAllowed(req.method ?? '');
  let code = 200;
  try {
    if (ctx.faults.errorRate > 0 && Math.random() < ctx.faults.errorRate) {
      throw new StatusError(500, 'InternalError', 'Internal error occurred: kube-sim injected an API error');
    }
    code = await serveResource(ctx, req, res, url, def, { namespace, name, subresource, verb });
  } catch (err) {
    code = err instanceof StatusError ? err.code : 500;
    throw err;
  } finally {
    ctx.metrics.recordRequest({
      verb: verb.toUpperCase(),
      group: def.group,
      version: def.version,
      resource: def.plural,
      subresource: subresource ?? '',
      scope: name !== undefined ? 'resource' : namespace !== undefined ? 'namespace' : 'cluster',
      code,
    });
    if (verb === 'create' || verb === 'update' || verb === 'patch') {
      ctx.metrics.recordBody({
        verb: verb.toUpperCase(),
        group: def.group,
        resource: def.plural,
        subresource: subresource ?? '',
        contentType: mediaTypeOf(req.headers['content-type']),
        code,
      });
    }
  }
}

/** The media type of a Content-Type header, lowercased, without parameters ('' when none is sent). */
function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function verbOf(method: string, name: string | undefined, url: URL): string {
  switch (method) {
    case 'GET':
      if (name !== undefined) return 'get';
      return isTrue(url.searchParams.get('watch')) ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return name !== undefined ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

interface Target {
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  verb: string;
}

/** Serves a resource request; returns the HTTP code sent. */
async function serveResource(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, def: ResourceDef, t: Target): Promise<number> {
  const q = url.searchParams;
  const dryRun = q.getAll('dryRun').includes('All');
  const { namespace, name, subresource } = t;
  if (subresource !== undefined && !(def.subresources as string[]).includes(subresource) && !(def.kind === 'Namespace' && subresource === 'finalize')) {
    throw notFoundPath();
  }
  switch (t.verb) {
    case 'list':
    case 'watch':
      return serveList(ctx, req, res, url, def, namespace, t.verb === 'watch');
    case 'get': {
      const shape = negotiate(req.headers.accept, { discovery: false });
      if (!shape) throw notAcceptable();
      const obj = ctx.registry.get(def, namespace, name as string);
      if (subresource === 'scale') return sendScale(res, scaleOf(obj));
      return sendObjects(ctx, res, def, shape, [obj], q, 200, undefined);
    }
    case 'create': {
      if (subresource === 'eviction' || subresource === 'binding') {
        const body = await readJson(req);
        if (subresource === 'binding') return bindPod(ctx, res, def, namespace as string, name as string, body);
        const result = ctx.evict(namespace as string, name as string, body, { dryRun });
        sendJson(res, result.code, result.body);
        return result.code;
      }
      if (name !== undefined) throw methodNotAllowed('POST');
      const validation = fieldValidationOf(q, 'CreateOptions');
      const body = checkFields(res, def, validation, await readObject(req, def));
      if (isReview(def)) {
        sendJson(res, 201, answerReview(def, body));
        return 201;
      }
      const created = ctx.registry.create(def, namespace, body, { dryRun, ...fieldManagerOf(req, q) });
      sendJson(res, 201, ctx.registry.served(def, created));
      return 201;
    }
    case 'update': {
      if (subresource === 'scale') return sendScale(res, writeScale(ctx.registry, def, namespace, name as string, { put: await readScale(req) }, { dryRun, ...fieldManagerOf(req, q, 'scale') }));
      const validation = fieldValidationOf(q, 'UpdateOptions');
      const body = checkFields(res, def, validation, await readObject(req, def));
      const updated = ctx.registry.update(def, namespace, name as string, body, {
        dryRun,
        ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
        ...fieldManagerOf(req, q, subresource),
      });
      sendJson(res, 200, ctx.registry.served(def, updated));
      return 200;
    }
    case 'patch': {
      if (isApplyPatch(req.headers['content-type'])) {
        if (subresource !== undefined) throw new StatusError(415, 'UnsupportedMediaType', `kube-sim applies to the main resource only, not to ${subresource}`);
        const config = parseYamlBody(await readBody(req));
        const force = isTrue(q.get('force'));
        const { object, created } = ctx.registry.apply(def, namespace, name as string, config, { dryRun, force, fieldManager: q.get('fieldManager') ?? '' });
        sendJson(res, created ? 201 : 200, ctx.registry.served(def, object));
        return created ? 201 : 200;
      }
      if (q.has('force')) throw badRequest('force=true is only valid for apply requests (application/apply-patch+yaml)');
      const type = patchTypeOf(req.headers['content-type']);
      const validation = fieldValidationOf(q, 'PatchOptions');
      // Every patch type that patchTypeOf accepts is JSON (apply-patch+yaml it refuses).
      const raw = await readBody(req);
      const body = parseJson(raw);
      if (subresource === 'scale') return sendScale(res, writeScale(ctx.registry, def, namespace, name as string, { patch: body, type }, { dryRun, ...fieldManagerOf(req, q, 'scale') }));
      const duplicates = validation === 'Ignore' ? [] : duplicateJsonFields(raw.toString('utf8'));
      const patched = ctx.registry.patch(def, namespace, name as string, type, body, {
        dryRun,
        checkPatched: (object) => checkFields(res, def, validation, { object, duplicates }),
        ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
        ...fieldManagerOf(req, q, subresource),
      });
      sendJson(res, 200, ctx.registry.served(def, patched));
      return 200;
    }
    case 'delete': {
      const options = await deleteOptionsOf(req, q);
      const result = ctx.registry.delete(def, namespace, name as string, { ...options, dryRun: dryRun || options.dryRun === true });
      sendJson(res, 200, ctx.registry.served(def, result.object));
      return 200;
    }
    case 'deletecollection': {
      const options = await deleteOptionsOf(req, q);
      const matches = selectorMatcher(def, q);
      const items = ctx.store.list(def.storage, { ...(namespace !== undefined ? { namespace } : {}), filter: matches }).items;
      for (const obj of items) ctx.registry.delete(def, obj.metadata.namespace, obj.metadata.name, options);
      sendJson(res, 200, listOf(ctx, def, items.map((o) => ctx.registry.served(def, o)), { resourceVersion: String(ctx.store.currentRevision()) }));
      return 200;
    }
    default:
      throw methodNotAllowed(req.method ?? '');
  }
}

function sendScale(res: ServerResponse, scale: Scale): number {
  sendJson(res, 200, scale);
  return 200;
}

function serveList(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, def: ResourceDef, namespace: string | undefined, watch: boolean): number {
  const q = url.searchParams;
  const shape = negotiate(req.headers.accept, { discovery: false });
  if (!shape) throw notAcceptable();
  const matches = selectorMatcher(def, q);
  const fieldSelector = q.get('fieldSelector');
  const fields = fieldSelector ? parseFieldSelector(fieldSelector, def) : undefined;
  const nodeName = fields && def.kind === 'Pod' ? fieldEquality(fields, 'spec.nodeName') : undefined;
  // As the apiserver's registry store (MatchesSingle): `metadata.name=X` within one namespace, or of a cluster-scoped
  // resource, reads that one object instead of scanning (kup's node waits list one node of a thousand this way).
  const name = fields && (namespace !== undefined || !def.namespaced) ? fieldEquality(fields, 'metadata.name') : undefined;
  // A list reads only what this pins; a watch hears only of it, as the watch cache's triggers.
  const pinned: WatchTrigger | undefined =
    name !== undefined
      ? { key: objectKey(namespace, name) }
      : nodeName !== undefined
        ? { index: 'spec.nodeName', value: nodeName }
        : undefined;
  if (watch) {
    const timeout = Number(q.get('timeoutSeconds') ?? '1800');
    serveWatch(
      ctx.store,
      {
        def,
        namespace,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : 1800,
        allowBookmarks: isTrue(q.get('allowWatchBookmarks')),
        sendInitialEvents: isTrue(q.get('sendInitialEvents')),
        matches,
        ...(pinned ? { trigger: pinned } : {}),
        render: (obj) => renderOne(ctx, def, shape, obj, q),
      },
      res,
      () => {},
    );
    return 200;
  }
  const limit = Number(q.get('limit') ?? '0');
  const token = q.get('continue');
  let afterKey: string | undefined;
  let listRevision: number | undefined;
  if (token) {
    const decoded = decodeContinue(token);
    afterKey = decoded.start;
    listRevision = decoded.rv;
  }
  const rvMatch = q.get('resourceVersionMatch');
  const rv = q.get('resourceVersion');
  if (rvMatch === 'Exact' && rv && rv !== String(ctx.store.currentRevision())) {
    throw expired(`too old resource version: ${rv} (${ctx.store.currentRevision()})`);
  }
  const result = ctx.store.list(def.storage, {
    ...(namespace !== undefined ? { namespace } : {}),
    ...pinnedScope(pinned),
    ...(afterKey !== undefined ? { afterKey } : {}),
    ...(limit > 0 ? { limit } : {}),
    filter: matches,
  });
  const revision = listRevision ?? result.revision;
  const listMeta = {
    resourceVersion: String(revision),
    ...(result.lastKey !== undefined
      ? { continue: encodeContinue(revision, result.lastKey), remainingItemCount: result.remaining ?? 0 }
      : {}),
  };
  return sendObjects(ctx, res, def, shape, result.items, q, 200, listMeta);
}

function renderOne(ctx: ApiContext, def: ResourceDef, shape: ResponseShape, obj: KubeObject, q: URLSearchParams): unknown {
  const served = ctx.registry.served(def, obj);
  if (shape.as === 'Table') return buildTable(def, [served], { includeObject: includeObjectOf(q), now: ctx.now() });
  if (shape.as === 'PartialObjectMetadata') return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: served.metadata };
  return served;
}

function sendObjects(
  ctx: ApiContext,
  res: ServerResponse,
  def: ResourceDef,
  shape: ResponseShape,
  items: KubeObject[],
  q: URLSearchParams,
  code: number,
  listMeta: { resourceVersion: string; continue?: string; remainingItemCount?: number } | undefined,
): number {
  const served = items.map((o) => ctx.registry.served(def, o));
  if (shape.as === 'Table') {
    sendJson(res, code, buildTable(def, served, { includeObject: includeObjectOf(q), now: ctx.now(), ...(listMeta ? { listMeta } : {}) }));
  } else if (shape.as === 'PartialObjectMetadata') {
    const partial = served.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata }));
    sendJson(res, code, listMeta ? { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: partial } : partial[0]);
  } else {
    sendJson(res, code, listMeta ? listOf(ctx, def, served, listMeta) : served[0]);
  }
  return code;
}

function listOf(_ctx: ApiContext, def: ResourceDef, items: KubeObject[], listMeta: Record<string, unknown>): unknown {
  return { kind: `${def.kind}List`, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, metadata: listMeta, items };
}

function includeObjectOf(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function selectorMatcher(def: ResourceDef, q: URLSearchParams): (obj: KubeObject) => boolean {
  try {
    const labelText = q.get('labelSelector');
    const fieldText = q.get('fieldSelector');
    const labels = labelText ? parseLabelSelector(labelText) : undefined;
    const fields = fieldText ? parseFieldSelector(fieldText, def) : undefined;
    return (obj) =>
      (labels === undefined || matchesLabels(labels, obj.metadata.labels)) && (fields === undefined || matchesFields(fields, obj));
  } catch (err) {
    if (err instanceof SelectorParseError || err instanceof FieldSelectorError) throw badRequest(err.message);
    throw err;
  }
}

function bindPod(ctx: ApiContext, res: ServerResponse, def: ResourceDef, namespace: string, name: string, body: unknown): number {
  const target = isRecord(body) && isRecord(body['target']) ? body['target'] : undefined;
  const node = target && typeof target['name'] === 'string' ? target['name'] : undefined;
  if (!node) throw badRequest('binding target name is required');
  const pod = ctx.registry.get(def, namespace, name);
  if (pod.spec?.['nodeName']) {
    throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${JSON.stringify(pod.spec['nodeName'])}"`);
  }
  ctx.registry.update(def, namespace, name, { ...pod, spec: { ...pod.spec, nodeName: node } });
  sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  return 201;
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? '').split(';')[0]?.trim();
  switch (type) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    default:
      throw new StatusError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}

function isApplyPatch(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/apply-patch+yaml';
}

/** The manager a non-apply write records in managedFields: `fieldManager`, else the client's program name. */
function fieldManagerOf(req: IncomingMessage, q: URLSearchParams, subresource?: string): WriteOptions {
  const manager = managerOf(q.get('fieldManager'), req.headers['user-agent']);
  return manager ? { fieldManager: { manager, ...(subresource ? { subresource } : {}) } } : {};
}

async function deleteOptionsOf(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const raw = await readBody(req);
  let body: Record<string, unknown> = {};
  if (raw.length > 0) {
    if (isKubernetesProtobuf(req.headers['content-type'])) {
      try {
        body = { ...decodeDeleteOptions(raw) };
      } catch (err) {
        if (err instanceof ProtobufDecodeError) throw badRequest(err.message);
        throw err;
      }
    } else {
      const parsed = parseJson(raw);
      if (isRecord(parsed)) body = parsed;
    }
  }
  const options: DeleteOptions = {};
  const grace = q.get('gracePeriodSeconds') ?? body['gracePeriodSeconds'];
  if (grace !== undefined && grace !== null) options.gracePeriodSeconds = Number(grace);
  const propagation = q.get('propagationPolicy') ?? body['propagationPolicy'];
  if (propagation === 'Foreground' || propagation === 'Background' || propagation === 'Orphan') options.propagationPolicy = propagation;
  if (body['orphanDependents'] === true || q.get('orphanDependents') === 'true') options.propagationPolicy = 'Orphan';
  if (isRecord(body['preconditions'])) options.preconditions = body['preconditions'];
  if (Array.isArray(body['dryRun']) && body['dryRun'].includes('All')) options.dryRun = true;
  return options;
}

function asInput(body: unknown): ObjectInput {
  if (!isRecord(body)) throw badRequest('the request body must be a JSON object');
  return body;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** An object read from a request body, with the duplicate keys its JSON text had. */
interface BodyObject {
  object: Record<string, unknown>;
  duplicates: readonly string[];
}

const BODY_MEDIA_TYPES = 'application/json, application/yaml, application/vnd.kubernetes.protobuf';

/**
 * The body of a create or update, as the API server reads it: JSON, YAML or Kubernetes protobuf by Content-Type (JSON
 * when none is sent, as for client-go's REST client); any other media type is refused with 415.
 */
async function readObject(req: IncomingMessage, def: ResourceDef): Promise<BodyObject> {
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType === 'application/json' || contentType === '') {
    const raw = await readBody(req);
    const object = asInput(parseJson(raw));
    return { object, duplicates: duplicateJsonFields(raw.toString('utf8')) };
  }
  if (contentType === 'application/yaml') return { object: asInput(parseYamlBody(await readBody(req))), duplicates: [] };
  const typeName = kindTypeName(def);
  if (isKubernetesProtobuf(contentType) && typeName !== undefined) {
    const raw = await readBody(req);
    if (raw.length === 0) throw badRequest('the request body is empty: an object was expected');
    try {
      return { object: decodeProtobufObject(raw, typeName), duplicates: [] };
    } catch (err) {
      if (err instanceof ProtobufDecodeError) throw badRequest(err.message);
      throw err;
    }
  }
  throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${BODY_MEDIA_TYPES}`);
}

/**
 * Drops the fields the kind does not know and handles them, and duplicate fields, as `validation` says: Warning
 * headers for Warn, a 400 for Strict.
 */
function checkFields(res: ServerResponse, def: ResourceDef, validation: FieldValidation, body: BodyObject): ObjectInput {
  const typeName = kindTypeName(def);
  const pruned = typeName !== undefined ? pruneUnknownFields(body.object, typeName) : { object: body.object, unknown: [] };
  const warnings = fieldProblems(validation, { unknown: pruned.unknown, duplicates: body.duplicates }, def);
  if (warnings.length > 0) addWarnings(res, warnings);
  return pruned.object;
}

/** Adds `Warning: 299 - "<text>"` headers, as the apiserver's warning recorder does. */
function addWarnings(res: ServerResponse, warnings: readonly string[]): void {
  const existing = res.getHeader('Warning');
  const before = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('Warning', [...before, ...warnings.map((w) => `299 - ${JSON.stringify(w)}`)]);
}

function serveOpenApi(ctx: ApiContext, openapi: OpenApiCache, req: IncomingMessage, res: ServerResponse, path: string, url: URL): void {
  if (req.method !== 'GET') throw methodNotAllowed(req.method ?? '');
  const docs = openapi.documents(ctx.resources(), ctx.version().gitVersion);
  // Only JSON is offered: a client asking for the protobuf form alone (client-go's OpenAPISchema) gets 406 and falls back.
  if (!acceptsJson(req.headers.accept)) throw notAcceptable();
  if (path === '/openapi/v2') return sendRaw(res, docs.v2, {});
  if (path === '/openapi/v3') return sendRaw(res, docs.v3Index, {});
  const doc = docs.v3.get(path.slice('/openapi/v3/'.length));
  if (!doc) throw notFoundPath();
  const hash = url.searchParams.get('hash');
  if (hash !== null && hash !== doc.hash) {
    // As the apiserver: an outdated hash is redirected to the current one.
    res.writeHead(301, { Location: `/openapi/v3/${doc.key}?hash=${doc.hash}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  sendRaw(res, doc.json, hash !== null ? { 'Cache-Control': 'public, immutable', Expires: new Date(ctx.now() + 365 * 86_400_000).toUTCString() } : { Etag: `"${doc.hash}"` });
}

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0]?.trim().toLowerCase() ?? '';
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}

function sendRaw(res: ServerResponse, json: string, headers: Record<string, string>): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

/** The body of an eviction or binding: JSON or YAML (JSON when no Content-Type is sent), anything else 415. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType === 'application/json' || contentType === '') return parseJson(await readBody(req));
  if (contentType === 'application/yaml') return parseYamlBody(await readBody(req));
  throw new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
  );
}

/**
 * The body of a scale subresource update: an autoscaling/v1 Scale as JSON, YAML or Kubernetes protobuf (client-go's
 * typed UpdateScale sends protobuf); anything else 415.
 */
async function readScale(req: IncomingMessage): Promise<unknown> {
  if (!isKubernetesProtobuf(req.headers['content-type'])) return readJson(req);
  const raw = await readBody(req);
  if (raw.length === 0) throw badRequest('the request body is empty: a Scale was expected');
  try {
    return decodeProtobufObject(raw, 'autoscaling.v1.Scale');
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw badRequest(err.message);
    throw err;
  }
}

function parseYamlBody(raw: Buffer): unknown {
  if (raw.length === 0) throw badRequest('the request body is empty: an object was expected');
  try {
    return parseYaml(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw badRequest(`error decoding the request body as YAML: ${(err as Error).message}`);
  }
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw badRequest('the request body is empty: an object was expected');
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw badRequest(`error decoding the request body as JSON: ${(err as Error).message}`);
  }
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (isRecord(parsed) && typeof parsed['rv'] === 'number' && typeof parsed['start'] === 'string') {
      return { rv: parsed['rv'], start: parsed['start'] };
    }
  } catch {
    // fall through to the error the apiserver gives
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function notFoundPath(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

function notAcceptable(): StatusError {
  return new StatusError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
}

function sendDiscovery(res: ServerResponse, body: unknown, version: 'v2' | 'v2beta1'): void {
  const json = JSON.stringify(body);
  res.writeHead(200, {
    'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** Writes a JSON reply. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

/** Writes an error as a Status reply (StatusError as is, anything else as 500). */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let status: StatusError;
  if (err instanceof StatusError) status = err;
  else if (err instanceof PatchError) {
    status = new StatusError(err.reason === 'BadRequest' ? 400 : 422, err.reason === 'BadRequest' ? 'BadRequest' : 'Invalid', err.message);
  } else {
    status = new StatusError(500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`);
  }
  const json = JSON.stringify(status.toStatus());
  res.writeHead(status.code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    ...(status.retryAfterSeconds !== undefined ? { 'Retry-After': String(status.retryAfterSeconds) } : {}),
  });
  res.end(json);
}
