/**
 * The control API of a local cluster: the process set on this host put on the wire, so that kup (the local
 * provider) and the cluster are separate processes, as kup and a cloud are (ADR 012). HTTPS on loopback, with the
 * API server's serving certificate (the kubeconfig's CA verifies it) and the admin bearer token.
 *
 * It speaks the same infrastructure protocol as kube-sim's `/sim/v1` (topology, operations polled by id, replace,
 * delete, snapshots), under `/local/v1`, so that one client serves both providers:
 * - `GET  /local/v1/topology`
 * - `POST /local/v1/control-plane/<node>/upgrade {version, idempotencyKey}` -> 202 operation
 * - `GET  /local/v1/operations/<id>`
 * - `POST /local/v1/nodes/<node>/replace {version, machineImage?, idempotencyKey}` -> 202 `{newNode: {name, pool}}`
 * - `POST /local/v1/nodes/<node>/upgrade {version, machineImage?, idempotencyKey}` -> 202 operation
 * - `DELETE /local/v1/nodes/<node>`
 * - `GET|POST /local/v1/snapshots`, `POST /local/v1/snapshots/<id>/restore`
 * Errors are Kubernetes `kind: Status` objects naming the field or object at fault.
 */
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { LocalCluster, LocalComponent } from './cluster.ts';
import { CONTROL_PLANE_NODE } from './cluster.ts';
import { LocalClusterError } from './errors.ts';
import { LOCAL_API_PREFIX } from './protocol.ts';

type OperationState = 'running' | 'succeeded' | 'failed';

interface Operation {
  id: string;
  node: string;
  state: OperationState;
  step: string;
  message: string;
}

interface Keyed<T> {
  readonly args: string;
  readonly result: T;
}

/**
 * What an idempotency key was first used for: the same request again gets the first one's result; another request
 * under the same key is a conflict.
 */
function recall<T>(seen: ReadonlyMap<string, Keyed<T>>, key: string, args: string): Keyed<T> | undefined {
  const first = seen.get(key);
  if (first !== undefined && first.args !== args) {
    throw new LocalClusterError('conflict', `idempotency key "${key}" was used for another request (${first.args})`);
  }
  return first;
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

function minorOf(version: string): number {
  return Number(VERSION.exec(version)?.[2] ?? NaN);
}

/** The control API server of one cluster; {@link LocalControlApi.close} stops it. */
export class LocalControlApi {
  readonly #cluster: LocalCluster;
  readonly #server: Server;
  readonly #operations = new Map<string, Operation>();
  readonly #upgrades = new Map<string, Keyed<Operation>>();
  readonly #replacements = new Map<string, Keyed<{ name: string; pool: string }>>();
  /** Replacements in flight by key: a repeated call waits for the first one's node. */
  readonly #replacing = new Map<string, Promise<{ name: string; pool: string }>>();
  #nextOperation = 1;

  private constructor(cluster: LocalCluster) {
    this.#cluster = cluster;
    this.#server = createServer({ cert: cluster.servingCertPem, key: cluster.servingKeyPem }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) =>
        send(res, 500, status(500, 'InternalError', (err as Error).message)),
      );
    });
  }

  /** Serves the control API of `cluster` on 127.0.0.1 (`port` 0: any free port). */
  static async listen(cluster: LocalCluster, port = 0): Promise<LocalControlApi> {
    const api = new LocalControlApi(cluster);
    await new Promise<void>((resolve, reject) => {
      api.#server.once('error', reject);
      api.#server.listen(port, '127.0.0.1', resolve);
    });
    return api;
  }

  /** The URL the provider reaches it at. */
  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Stops serving; resolves when every connection is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#authorized(req)) {
      send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const url = new URL(req.url ?? '/', 'https://local');
    if (!url.pathname.startsWith(`${LOCAL_API_PREFIX}/`)) {
      send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`));
      return;
    }
    let parts: string[];
    try {
      parts = url.pathname
        .slice(LOCAL_API_PREFIX.length + 1)
        .split('/')
        .map(decodeURIComponent);
    } catch {
      send(res, 400, status(400, 'BadRequest', `${url.pathname}: not a valid percent-encoding`));
      return;
    }
    try {
      const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req) : {};
      const [code, reply] = await this.#route(req.method ?? 'GET', parts, body);
      send(res, code, reply);
    } catch (err) {
      if (err instanceof LocalClusterError)
        send(
          res,
          statusOfLocal(err),
          status(statusOfLocal(err), STATUS_REASONS[statusOfLocal(err)] ?? 'InternalError', err.message),
        );
      else throw err;
    }
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const expected = Buffer.from(`Bearer ${this.#cluster.token}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async #route(method: string, parts: string[], body: Record<string, unknown>): Promise<[number, unknown]> {
    const [resource, name, verb, ...rest] = parts;
    if (rest.length > 0) throw notFound(parts.join('/'));
    const allow = (m: string): void => {
      if (method !== m) throw new LocalClusterError('notAllowed', `${method} is not allowed on ${parts.join('/')}`);
    };
    switch (resource) {
      case 'topology':
        if (name !== undefined) throw notFound(parts.join('/'));
        allow('GET');
        return [200, await this.#topology()];
      case 'operations': {
        allow('GET');
        const op = name !== undefined ? this.#operations.get(name) : undefined;
        if (!op) throw notFound(`operations "${name ?? ''}"`);
        return [200, op];
      }
      case 'control-plane':
        if (name === undefined || verb !== 'upgrade') throw notFound(parts.join('/'));
        allow('POST');
        return [202, await this.#upgradeControlPlane(name, body)];
      case 'nodes':
        if (name === undefined) throw notFound(parts.join('/'));
        if (verb === undefined) {
          allow('DELETE');
          const deleted = await this.#cluster.deleteWorker(name);
          if (!deleted) throw notFound(`nodes "${name}"`);
          return [200, status(200, '', `node ${name} deleted`, 'Success')];
        }
        allow('POST');
        if (verb === 'replace') return [202, { newNode: await this.#replace(name, body) }];
        if (verb === 'upgrade') return [202, await this.#upgradeNode(name, body)];
        throw notFound(parts.join('/'));
      case 'snapshots':
        if (name === undefined) {
          if (method === 'GET') return [200, { items: this.#cluster.snapshots().map(snapshotReply) }];
          allow('POST');
          const snapshotName = optionalText(body, 'name') ?? `snapshot-${this.#cluster.snapshots().length + 1}`;
          return [201, snapshotReply(await this.#cluster.takeSnapshot(snapshotName))];
        }
        if (verb !== 'restore') throw notFound(parts.join('/'));
        allow('POST');
        await this.#cluster.restoreSnapshot(name);
        return [200, status(200, '', `snapshot ${name} restored`, 'Success')];
      default:
        throw notFound(parts.join('/'));
    }
  }

  async #topology(): Promise<unknown> {
    const nodes = await this.#cluster.nodes();
    const cp = nodes.find((n) => n.name === CONTROL_PLANE_NODE);
    return {
      controlPlane: cp
        ? [
            {
              name: cp.name,
              kubeletVersion: cp.kubeletVersion,
              components: this.#cluster.componentVersions(),
              machineImage: cp.machineImage,
            },
          ]
        : [],
      pools: this.#cluster.pools().map((pool) => ({
        name: pool.name,
        kubeletVersion: pool.kubeletVersion,
        machineImage: pool.machineImage,
        nodes: nodes
          .filter((n) => n.pool === pool.name)
          .map((n) => ({ name: n.name, kubeletVersion: n.kubeletVersion, machineImage: n.machineImage })),
      })),
    };
  }

  #newOperation(node: string, message: string): Operation {
    const op: Operation = { id: `op-${this.#nextOperation++}`, node, state: 'running', step: 'pending', message };
    this.#operations.set(op.id, op);
    return op;
  }

  async #upgradeControlPlane(node: string, body: Record<string, unknown>): Promise<Operation> {
    if (node !== CONTROL_PLANE_NODE) {
      const known = (await this.#cluster.nodes()).some((n) => n.name === node);
      if (!known) throw notFound(`nodes "${node}"`);
      throw new LocalClusterError(
        'invalidInput',
        `node ${node} is not a control-plane node (the control plane is ${CONTROL_PLANE_NODE})`,
      );
    }
    const version = requiredVersion(body);
    const key = optionalText(body, 'idempotencyKey');
    const args = JSON.stringify({ node, version });
    if (key !== undefined) {
      const seen = recall(this.#upgrades, key, args);
      if (seen) return seen.result;
    }
    const current = this.#cluster.version;
    if (minorOf(version) > minorOf(current) + 1) {
      throw new LocalClusterError(
        'rejected',
        `field "version": ${version} from ${current} is skipping minor versions: the control plane moves one minor at a time`,
      );
    }
    if (minorOf(version) < minorOf(current)) {
      throw new LocalClusterError(
        'rejected',
        `field "version": ${version} from ${current} is a minor version downgrade: restore a snapshot instead`,
      );
    }
    const op = this.#newOperation(node, `upgrading ${node} to ${version}`);
    if (key !== undefined) this.#upgrades.set(key, { args, result: op });
    this.#cluster
      .upgradeControlPlane(version, (step: LocalComponent | 'kubelet' | 'done', message: string) => {
        op.step = step;
        op.message = message;
      })
      .then(
        () => {
          op.state = 'succeeded';
          op.step = 'done';
        },
        (err: unknown) => {
          op.state = 'failed';
          op.message = (err as Error).message;
        },
      );
    return op;
  }

  async #workerNode(name: string): Promise<{ name: string; pool: string }> {
    const node = (await this.#cluster.nodes()).find((n) => n.name === name);
    if (!node) throw notFound(`nodes "${name}"`);
    if (node.pool === undefined)
      throw new LocalClusterError('invalidInput', `node ${name} is not a worker node of a pool`);
    return { name, pool: node.pool };
  }

  #checkWorkerVersion(version: string): void {
    const apiserver = this.#cluster.componentVersions()['kube-apiserver'];
    if (minorOf(version) > minorOf(apiserver)) {
      throw new LocalClusterError(
        'rejected',
        `field "version": kubelet ${version} would be newer than kube-apiserver ${apiserver}`,
      );
    }
  }

  async #replace(name: string, body: Record<string, unknown>): Promise<{ name: string; pool: string }> {
    const version = requiredVersion(body);
    const image = optionalText(body, 'machineImage');
    const key = optionalText(body, 'idempotencyKey');
    const args = JSON.stringify({ name, version, image });
    if (key !== undefined) {
      const seen = recall(this.#replacements, key, args);
      if (seen) return seen.result;
      const inFlight = this.#replacing.get(key);
      if (inFlight) return inFlight;
    }
    const { pool } = await this.#workerNode(name);
    this.#checkWorkerVersion(version);
    const work = this.#cluster.addWorker(pool, version, image).then((newNode) => ({ name: newNode, pool }));
    if (key !== undefined) this.#replacing.set(key, work);
    try {
      const result = await work;
      if (key !== undefined) this.#replacements.set(key, { args, result });
      return result;
    } finally {
      if (key !== undefined) this.#replacing.delete(key);
    }
  }

  async #upgradeNode(name: string, body: Record<string, unknown>): Promise<Operation> {
    const version = requiredVersion(body);
    const image = optionalText(body, 'machineImage');
    const key = optionalText(body, 'idempotencyKey');
    const args = JSON.stringify({ name, version, image });
    if (key !== undefined) {
      const seen = recall(this.#upgrades, key, args);
      if (seen) return seen.result;
    }
    await this.#workerNode(name);
    this.#checkWorkerVersion(version);
    const op = this.#newOperation(name, `upgrading the kubelet of ${name} to ${version}`);
    if (key !== undefined) this.#upgrades.set(key, { args, result: op });
    op.step = 'kubelet';
    await this.#cluster.setKubelet(name, version, image).then(
      () => {
        op.state = 'succeeded';
        op.step = 'done';
        op.message = `${name} runs kubelet ${version}`;
      },
      (err: unknown) => {
        op.state = 'failed';
        op.message = (err as Error).message;
      },
    );
    return op;
  }
}

function snapshotReply(s: { id: string; name: string; takenAt: string; sizeBytes: number; version: string }): unknown {
  return { id: s.id, name: s.name, takenAt: s.takenAt, sizeBytes: s.sizeBytes, version: s.version };
}

function notFound(what: string): LocalClusterError {
  return new LocalClusterError('notFound', `${what} not found`);
}

function requiredVersion(body: Record<string, unknown>): string {
  const version = body['version'];
  if (version === undefined) throw new LocalClusterError('invalidInput', 'field "version": required');
  if (typeof version !== 'string' || !VERSION.test(version)) {
    throw new LocalClusterError('invalidInput', `field "version": ${JSON.stringify(version)} is not a version X.Y.Z`);
  }
  return version;
}

function optionalText(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new LocalClusterError('invalidInput', `field "${field}": must be a non-empty string`);
  return value;
}

/** The `reason` of a Kubernetes Status by HTTP code. */
const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  422: 'Invalid',
  500: 'InternalError',
};

function statusOfLocal(err: LocalClusterError): number {
  switch (err.reason) {
    case 'notFound':
      return 404;
    case 'conflict':
      return 409;
    case 'rejected':
      return 422;
    case 'invalidInput':
      return 400;
    case 'notAllowed':
      return 405;
    default:
      return 500;
  }
}

function status(code: number, reason: string, message: string, outcome: 'Success' | 'Failure' = 'Failure'): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: outcome, message, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new LocalClusterError('invalidInput', 'the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new LocalClusterError('invalidInput', 'the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}
