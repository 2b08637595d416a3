/**
 * kube-sim's infrastructure API, under `/sim/v1/`: what a cloud provider or a node-management tool offers beside
 * the Kubernetes API (the sim provider of kup drives it). Topology, adding/removing/replacing nodes, in-place node
 * and control-plane upgrades as operations, etcd snapshots and restore, fault injection and timings at run time.
 * JSON in and out; errors are `kind: Status` objects like the apiserver's, with messages that name the field or
 * the object at fault. Authentication is checked by the caller (the same bearer token as the Kubernetes API).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExtraHandler } from '../api/http-server.ts';
import { sendError, sendJson } from '../api/http-server.ts';
import { StatusError, badRequest, methodNotAllowed, notFound } from '../api/status.ts';
import { isRecord } from '../model/wire.ts';
import type { Cancel, Machine, MachineHealth, SimRuntime } from '../runtime.ts';
import { defaultMachineImage } from '../scenario/defaults.ts';
import { readContainerFaultRule } from '../scenario/container-fault-rules.ts';
import type { ContainerFaultRule, PoolSpec, Scenario, Timings, WorkloadRef } from '../scenario/types.ts';
import { bootMachine, healthForNewMachine, newWorkerMachine, nudgeKubelet, terminateMachine } from './machines.ts';
import { Operations } from './operations.ts';
import { Snapshots } from './snapshots.ts';
import type { Version } from './versions.ts';
import { controlPlaneSkewProblem, formatVersion, kubeletSkewProblem, parseVersion } from './versions.ts';

/** What the infrastructure API needs from the simulated cluster. */
export interface InfraHandlerDeps {
  runtime: SimRuntime;
  scenario: Scenario;
  /** Makes the Kubernetes API answer 503 for `ms` (the only kube-apiserver is restarting). */
  setUnavailableFor(ms: number): void;
  /**
   * Takes the whole server off the network for `ms`: the listener closes and every connection is cut (clients get
   * ECONNREFUSED, as from a host that is down), then it listens again on the same port. Absent: not offered.
   */
  startOutage?: (ms: number) => void;
  /** The availability monitor, when one runs: GET /sim/v1/availability serves its report. */
  availability?: { report(): unknown };
}

const MAX_BODY_BYTES = 1024 * 1024;
/** Items of one node-batches request. */
const MAX_BATCH_ITEMS = 1000;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TIMING_KEYS: readonly (keyof Timings)[] = [
  'podStart',
  'podTermination',
  'nodeBoot',
  'nodeDrainPoll',
  'componentRestart',
  'apiUnavailable',
  'nodeHeartbeat',
  'nodeMonitorGrace',
  'watchHistory',
];
const HEALTH_MODES: readonly MachineHealth[] = ['healthy', 'not-ready', 'never-ready', 'kubelet-down'];

/** What new machines of a pool get: the pool's shape and its current target version and image. */
interface PoolTarget {
  spec: PoolSpec;
  kubeletVersion: string;
  machineImage: string;
}

/** A reply: status code and JSON body. */
interface Reply {
  code: number;
  body: unknown;
}

/** A request after routing. */
interface Request {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/**
 * Builds the handler of `/sim/v1/...` paths (it answers every such path, with a 404 Status for unknown ones, and
 * leaves other paths to the apiserver). Node names: a node added to a pool without a name is `<pool>-<n>` with the
 * next free index (the scenario's nodes are `<pool>-0..`), a replacement is `<pool>-<5 hex>` as a machine set names
 * its machines. Also schedules the scenario's `dropWatchesEveryMs` fault (re-armed on the runtime's timers, so
 * stopping the cluster stops it).
 */
export function createInfraHandler(deps: InfraHandlerDeps): ExtraHandler {
  const api = new InfraApi(deps);
  return (req, res, url) => api.handle(req, res, url);
}

/**
 * The infrastructure API of one simulated cluster: its state (the pools' targets, operations, snapshots, the
 * idempotency keys seen, the watch-drop fault) and a method per endpoint, behind one router.
 */
class InfraApi {
  private readonly runtime: SimRuntime;
  private readonly scenario: Scenario;
  private readonly operations: Operations;
  private readonly snapshots: Snapshots;
  private readonly pools: Map<string, PoolTarget>;
  private readonly idempotency = new Map<string, { fingerprint: string; reply: Reply }>();
  private dropWatchesEveryMs: number | undefined;
  private cancelDrops: Cancel | undefined;

  constructor(private readonly deps: InfraHandlerDeps) {
    const { runtime, scenario } = deps;
    this.runtime = runtime;
    this.scenario = scenario;
    this.operations = new Operations(runtime);
    this.snapshots = new Snapshots(runtime);
    this.pools = new Map<string, PoolTarget>(
      scenario.pools.map((p) => [p.name, { spec: p, kubeletVersion: p.kubeletVersion, machineImage: p.machineImage }]),
    );
    this.dropWatchesEveryMs = scenario.faults.dropWatchesEveryMs;
    this.armWatchDrops();
  }

  /** Answers `/sim/v1/...` paths; false for any other path (the apiserver's). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== '/sim/v1' && !path.startsWith('/sim/v1/')) return false;
    try {
      const method = req.method ?? 'GET';
      const body = method === 'GET' || method === 'DELETE' ? await readBody(req, true) : await readBody(req, false);
      const reply = this.route({ method, path, body });
      sendJson(res, reply.code, reply.body);
    } catch (err) {
      sendError(res, err);
    }
    return true;
  }

  private armWatchDrops(): void {
    const { runtime } = this;
    this.cancelDrops?.();
    this.cancelDrops = undefined;
    const every = this.dropWatchesEveryMs;
    if (every === undefined || every <= 0) return;
    const tick = (): void => {
      runtime.store.dropWatchers();
      this.cancelDrops = runtime.after(every, tick);
    };
    this.cancelDrops = runtime.after(every, tick);
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  private machineOr404(name: string): Machine {
    const m = this.runtime.machines.get(name);
    if (!m) throw notFound('', 'nodes', name);
    return m;
  }

  private oldestApiserver(): Version {
    let oldest: Version | undefined;
    for (const m of this.runtime.machines.values()) {
      const v = m.components ? parseVersion(m.components['kube-apiserver']) : undefined;
      if (v && (!oldest || v.minor < oldest.minor || (v.minor === oldest.minor && v.patch < oldest.patch))) oldest = v;
    }
    return oldest ?? requireVersion(this.scenario.kubernetesVersion, 'kubernetesVersion');
  }

  private checkKubelet(node: string, version: Version): void {
    const problem = kubeletSkewProblem(version, this.oldestApiserver());
    if (problem) throw skewError(node, problem);
  }

  private newNodeName(pool: string): string {
    for (;;) {
      const name = `${pool}-${randomBytes(3).toString('hex').slice(0, 5)}`;
      if (!this.runtime.machines.has(name) && !this.runtime.store.get('core/nodes', undefined, name)) return name;
    }
  }

  private nextIndexedName(pool: string): string {
    const pattern = new RegExp(`^${pool.replace(/[.]/g, '\\.')}-(\\d+)$`);
    let next = 0;
    for (const name of this.runtime.machines.keys()) {
      const m = pattern.exec(name);
      if (m) next = Math.max(next, Number(m[1]) + 1);
    }
    return `${pool}-${next}`;
  }

  // ---- endpoints -----------------------------------------------------------------------------------------------

  private topology(): Reply {
    const controlPlane: unknown[] = [];
    const byPool = new Map<string, unknown[]>();
    for (const m of this.runtime.machines.values()) {
      if (m.role === 'control-plane') {
        controlPlane.push({
          name: m.name,
          kubeletVersion: m.kubeletVersion,
          components: { ...m.components },
          machineImage: m.machineImage,
          state: m.state,
          health: m.health,
        });
        continue;
      }
      const pool = m.pool ?? '';
      let list = byPool.get(pool);
      if (!list) byPool.set(pool, (list = []));
      list.push({ name: m.name, kubeletVersion: m.kubeletVersion, machineImage: m.machineImage, state: m.state, health: m.health });
    }
    return {
      code: 200,
      body: {
        kubernetesVersion: formatVersion(this.oldestApiserver()),
        controlPlane,
        pools: [...this.pools.values()].map((p) => ({
          name: p.spec.name,
          kubeletVersion: p.kubeletVersion,
          machineImage: p.machineImage,
          nodes: byPool.get(p.spec.name) ?? [],
        })),
      },
    };
  }

  private addNode(poolName: string, body: Record<string, unknown>): Reply {
    onlyFields(body, ['version', 'machineImage', 'name']);
    const pool = this.pools.get(poolName);
    if (!pool) throw new StatusError(404, 'NotFound', `pool "${poolName}" not found`, { name: poolName, kind: 'pools' });
    const version = optionalVersion(body, 'version') ?? requireVersion(pool.kubeletVersion, 'kubeletVersion');
    const machineImage = optionalString(body, 'machineImage') ?? (body['version'] !== undefined ? defaultMachineImage(formatVersion(version)) : pool.machineImage);
    const name = optionalString(body, 'name') ?? this.nextIndexedName(poolName);
    if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
      throw badRequest(`field "name": "${name}" is not a valid node name (a lowercase RFC 1123 subdomain)`);
    }
    if (this.runtime.machines.has(name) || this.runtime.store.get('core/nodes', undefined, name)) {
      throw new StatusError(409, 'AlreadyExists', `nodes "${name}" already exists`, { name, kind: 'nodes' });
    }
    this.checkKubelet(name, version);
    const machine = newWorkerMachine(this.runtime, pool.spec, name, formatVersion(version), machineImage, healthForNewMachine(this.runtime, name, poolName));
    bootMachine(this.runtime, machine);
    return { code: 201, body: machineView(machine) };
  }

  private deleteNode(name: string): Reply {
    const machine = this.runtime.machines.get(name);
    if (!machine && !this.runtime.store.get('core/nodes', undefined, name)) throw notFound('', 'nodes', name);
    if (machine?.role === 'control-plane') {
      throw badRequest(`node "${name}" is a control-plane node: kube-sim does not remove control-plane nodes`);
    }
    const view = machine ? machineView(machine) : { name };
    terminateMachine(this.runtime, name);
    return { code: 200, body: { ...view, state: 'stopped' } };
  }

  private replaceNode(name: string, body: Record<string, unknown>): Reply {
    onlyFields(body, ['version', 'machineImage', 'idempotencyKey']);
    const old = this.machineOr404(name);
    if (old.role !== 'worker' || old.pool === undefined) {
      throw badRequest(`node "${name}" is a control-plane node: upgrade it in place with POST /sim/v1/control-plane/${name}/upgrade`);
    }
    const pool = this.pools.get(old.pool);
    if (!pool) throw new StatusError(404, 'NotFound', `pool "${old.pool}" of node "${name}" not found`, { name: old.pool, kind: 'pools' });
    const version = requiredVersion(body, 'version');
    const machineImage = optionalString(body, 'machineImage') ?? defaultMachineImage(formatVersion(version));
    this.checkKubelet(name, version);
    const newName = this.newNodeName(old.pool);
    // The nodesNeverReady fault names the node being replaced: its replacement is the one that never comes up.
    const health: MachineHealth = this.runtime.faults.nodesNeverReady.has(name) ? 'never-ready' : healthForNewMachine(this.runtime, newName, old.pool);
    const machine = newWorkerMachine(this.runtime, pool.spec, newName, formatVersion(version), machineImage, health);
    // A replacement moves the pool's target, as updating a node group's launch template does.
    pool.kubeletVersion = machine.kubeletVersion;
    pool.machineImage = machineImage;
    bootMachine(this.runtime, machine);
    return { code: 202, body: { newNode: machineView(machine), replaces: name } };
  }

  private upgradeNode(name: string, body: Record<string, unknown>): Reply {
    onlyFields(body, ['version', 'machineImage', 'idempotencyKey']);
    const machine = this.machineOr404(name);
    const version = requiredVersion(body, 'version');
    const machineImage = optionalString(body, 'machineImage');
    if (machine.state !== 'running') throw conflictOn(name, `node "${name}" is ${machine.state}, not running`);
    const running = this.operations.runningOn(name);
    if (running) throw conflictOn(name, `node "${name}" is being changed by operation ${running.id} (${running.kind})`);
    if (machine.role === 'control-plane') {
      const apiserver = parseVersion(machine.components?.['kube-apiserver'] ?? '');
      if (apiserver && (version.minor > apiserver.minor || (version.minor === apiserver.minor && version.patch > apiserver.patch))) {
        throw skewError(name, `kubelet ${formatVersion(version)} would be newer than this node's kube-apiserver ${formatVersion(apiserver)}: upgrade the control plane with POST /sim/v1/control-plane/${name}/upgrade`);
      }
    }
    this.checkKubelet(name, version);
    const op = this.operations.startNodeUpgrade(machine, formatVersion(version), machineImage);
    if (machine.pool !== undefined) {
      const pool = this.pools.get(machine.pool);
      if (pool) {
        pool.kubeletVersion = formatVersion(version);
        if (machineImage !== undefined) pool.machineImage = machineImage;
      }
    }
    return { code: 202, body: op };
  }

  private upgradeControlPlane(name: string, body: Record<string, unknown>): Reply {
    onlyFields(body, ['version', 'machineImage', 'idempotencyKey']);
    const machine = this.machineOr404(name);
    if (machine.role !== 'control-plane' || !machine.components) {
      throw badRequest(`node "${name}" is not a control-plane node: upgrade workers with POST /sim/v1/nodes/${name}/upgrade or /replace`);
    }
    const version = requiredVersion(body, 'version');
    const machineImage = optionalString(body, 'machineImage');
    const running = this.operations.runningOn(name);
    if (running) throw conflictOn(name, `node "${name}" is being changed by operation ${running.id} (${running.kind})`);
    const current = requireVersion(machine.components['kube-apiserver'], 'kube-apiserver');
    const apiservers: Version[] = [];
    const kubelets: { node: string; version: Version }[] = [];
    for (const m of this.runtime.machines.values()) {
      const a = m.components ? parseVersion(m.components['kube-apiserver']) : undefined;
      if (a) apiservers.push(a);
      const k = parseVersion(m.kubeletVersion);
      if (k) kubelets.push({ node: m.name, version: k });
    }
    const problem = controlPlaneSkewProblem(version, { current, apiservers, kubelets });
    if (problem) throw skewError(name, problem);
    const op = this.operations.startControlPlaneUpgrade(machine, formatVersion(version), { setUnavailableFor: (ms) => this.deps.setUnavailableFor(ms) }, machineImage);
    return { code: 202, body: op };
  }

  private failNode(name: string, body: Record<string, unknown>): Reply {
    onlyFields(body, ['mode']);
    const machine = this.machineOr404(name);
    const mode = body['mode'];
    if (typeof mode !== 'string' || !(HEALTH_MODES as readonly string[]).includes(mode)) {
      throw badRequest(`field "mode": must be one of ${HEALTH_MODES.join(', ')}`);
    }
    machine.health = mode as MachineHealth;
    nudgeKubelet(this.runtime, name);
    return { code: 200, body: machineView(machine) };
  }

  /** `POST /sim/v1/faults/outage {"durationMs": N}`: answers, then the server goes off the network for N ms. */
  private startOutage(body: Record<string, unknown>): Reply {
    const ms = body['durationMs'];
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 3_600_000) {
      throw badRequest('field "durationMs": a whole number of milliseconds from 1 to 3600000 is required');
    }
    const start = this.deps.startOutage;
    if (!start) throw new StatusError(404, 'NotFound', 'this cluster cannot take itself off the network');
    // After the reply is written: the outage cuts this connection too.
    setImmediate(() => start(ms));
    return { code: 202, body: { outageMs: ms } };
  }

  private faultsView(): Record<string, unknown> {
    return {
      apiErrorRate: this.runtime.faults.errorRate,
      apiLatencyMs: this.runtime.faults.latencyMs,
      nodesNeverReady: [...this.runtime.faults.nodesNeverReady],
      evictionRefused: this.runtime.faults.evictionRefused.map((r) => ({ ...r })),
      snapshotFailure: this.runtime.faults.snapshotFailure,
      containerFaults: this.runtime.faults.containerFaults.map((r) => ({ ...r })),
      dropWatchesEveryMs: this.dropWatchesEveryMs ?? null,
    };
  }

  private putFaults(body: Record<string, unknown>): Reply {
    onlyFields(body, ['apiErrorRate', 'apiLatencyMs', 'nodesNeverReady', 'evictionRefused', 'snapshotFailure', 'containerFaults', 'dropWatches', 'dropWatchesEveryMs']);
    // Validate everything before changing anything: a 400 leaves the faults as they were.
    const errorRate = optionalNumber(body, 'apiErrorRate', 0, 1);
    const latency = optionalNumber(body, 'apiLatencyMs', 0, 600_000);
    const neverReady = optionalStringList(body, 'nodesNeverReady');
    const refused = optionalWorkloadRefs(body, 'evictionRefused');
    const snapshotFailure = optionalBoolean(body, 'snapshotFailure');
    const containerFaults = optionalContainerFaults(body, 'containerFaults');
    const dropWatches = optionalBoolean(body, 'dropWatches');
    let every: number | null | undefined;
    if (body['dropWatchesEveryMs'] === null) every = null;
    else every = optionalNumber(body, 'dropWatchesEveryMs', 1, 86_400_000);

    if (errorRate !== undefined) this.runtime.faults.errorRate = errorRate;
    if (latency !== undefined) this.runtime.faults.latencyMs = latency;
    if (neverReady !== undefined) {
      this.runtime.faults.nodesNeverReady.clear();
      for (const n of neverReady) this.runtime.faults.nodesNeverReady.add(n);
    }
    if (refused !== undefined) this.runtime.faults.evictionRefused.splice(0, this.runtime.faults.evictionRefused.length, ...refused);
    if (snapshotFailure !== undefined) this.runtime.faults.snapshotFailure = snapshotFailure;
    // Read by the kubelets at each container start, pull and restart: pods failing now recover at their next try.
    if (containerFaults !== undefined) this.runtime.faults.containerFaults.splice(0, this.runtime.faults.containerFaults.length, ...containerFaults);
    if (every !== undefined) {
      this.dropWatchesEveryMs = every ?? undefined;
      this.armWatchDrops();
    }
    const droppedWatches = dropWatches ? this.runtime.store.dropWatchers() : undefined;
    return { code: 200, body: { ...this.faultsView(), ...(droppedWatches !== undefined ? { droppedWatches } : {}) } };
  }

  private putTimings(body: Record<string, unknown>): Reply {
    onlyFields(body, TIMING_KEYS);
    const changes: Partial<Timings> = {};
    for (const key of TIMING_KEYS) {
      const value = optionalNumber(body, key, 0, 3_600_000);
      if (value !== undefined) changes[key] = value;
    }
    Object.assign(this.runtime.timings, changes);
    return { code: 200, body: { ...this.runtime.timings } };
  }

  private withIdempotency(req: Request, act: () => Reply): Reply {
    const key = req.body['idempotencyKey'];
    if (key === undefined) return act();
    if (typeof key !== 'string' || key === '') throw badRequest('field "idempotencyKey": must be a non-empty string');
    const { idempotencyKey: _key, ...rest } = req.body;
    const fingerprint = `${req.method} ${req.path} ${JSON.stringify(sortKeys(rest))}`;
    const seen = this.idempotency.get(key);
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        throw new StatusError(409, 'Conflict', `idempotencyKey "${key}" was already used for a different request (${seen.fingerprint.split(' ').slice(0, 2).join(' ')})`);
      }
      return seen.reply;
    }
    const reply = act();
    // Only successes are remembered: a refused request may be retried with the same key once the cause is fixed.
    if (reply.code < 300) this.idempotency.set(key, { fingerprint, reply });
    return reply;
  }

  /**
   * `POST /sim/v1/node-batches/replace {"items": [{"node", "version", "machineImage"?, "idempotencyKey"?}]}`: many
   * replacements in one request, as a cloud's node-group API creates a set of machines in one call. Each item is
   * answered as `POST /sim/v1/nodes/{node}/replace` would answer it alone (same idempotency: an item repeated with its
   * key, here or on the single path, gets its first reply), in `items` in the same order: `{code, body}`.
   */
  private replaceNodes(req: Request): Reply {
    onlyFields(req.body, ['items']);
    const items = batchItems(req.body);
    return {
      code: 200,
      body: {
        items: items.map((item) => {
          const { node, ...body } = item;
          if (typeof node !== 'string' || node === '') return statusReply(badRequest('field "node": a node name is required'));
          const path = `/sim/v1/nodes/${encodeURIComponent(node)}/replace`;
          return settle(() => this.withIdempotency({ method: 'POST', path, body }, () => this.replaceNode(node, body)));
        }),
      },
    };
  }

  /**
   * `POST /sim/v1/node-batches/delete {"nodes": [...]}`: many machines terminated in one request; each answered as
   * `DELETE /sim/v1/nodes/{node}` would answer it (404 for one already gone), in `items` in the same order.
   */
  private deleteNodes(body: Record<string, unknown>): Reply {
    onlyFields(body, ['nodes']);
    const nodes = body['nodes'];
    if (!Array.isArray(nodes) || nodes.length === 0 || nodes.length > MAX_BATCH_ITEMS || !nodes.every((n) => typeof n === 'string' && n !== '')) {
      throw badRequest(`field "nodes": a list of 1 to ${MAX_BATCH_ITEMS} node names is required`);
    }
    return { code: 200, body: { items: (nodes as string[]).map((node) => settle(() => this.deleteNode(node))) } };
  }

  // ---- routing -------------------------------------------------------------------------------------------------

  private route(req: Request): Reply {
    const parts = req.path.split('/').filter(Boolean).slice(2).map(decodeSegment);
    const [a, b, c] = parts;
    const m = req.method;
    const only = (method: string, fn: () => Reply): Reply => {
      if (m !== method) throw methodNotAllowed(m);
      return fn();
    };
    if (parts.length === 1 && a === 'topology') return only('GET', () => this.topology());
    if (a === 'pools' && b !== undefined && c === 'nodes' && parts.length === 3) return only('POST', () => this.addNode(b, req.body));
    if (a === 'node-batches' && parts.length === 2) {
      if (b === 'replace') return only('POST', () => this.replaceNodes(req));
      if (b === 'delete') return only('POST', () => this.deleteNodes(req.body));
    }
    if (a === 'nodes' && b !== undefined) {
      if (parts.length === 2) return only('DELETE', () => this.deleteNode(b));
      if (parts.length === 3 && c === 'replace') return only('POST', () => this.withIdempotency(req, () => this.replaceNode(b, req.body)));
      if (parts.length === 3 && c === 'upgrade') return only('POST', () => this.withIdempotency(req, () => this.upgradeNode(b, req.body)));
      if (parts.length === 3 && c === 'fail') return only('POST', () => this.failNode(b, req.body));
    }
    if (a === 'control-plane' && b !== undefined && c === 'upgrade' && parts.length === 3) {
      return only('POST', () => this.withIdempotency(req, () => this.upgradeControlPlane(b, req.body)));
    }
    if (a === 'operations') {
      if (parts.length === 1) return only('GET', () => ({ code: 200, body: { items: this.operations.list() } }));
      if (parts.length === 2 && b !== undefined) {
        return only('GET', () => {
          const op = this.operations.get(b);
          if (!op) throw new StatusError(404, 'NotFound', `operation "${b}" not found`, { name: b, kind: 'operations' });
          return { code: 200, body: op };
        });
      }
    }
    if (a === 'snapshots') {
      if (parts.length === 1) {
        if (m === 'GET') return { code: 200, body: { items: this.snapshots.list() } };
        return only('POST', () => {
          onlyFields(req.body, ['name']);
          return { code: 201, body: this.snapshots.take(optionalString(req.body, 'name')) };
        });
      }
      if (parts.length === 2 && b !== undefined) {
        return only('GET', () => {
          const s = this.snapshots.get(b);
          if (!s) throw new StatusError(404, 'NotFound', `snapshot "${b}" not found`, { name: b, kind: 'snapshots' });
          return { code: 200, body: s };
        });
      }
      if (parts.length === 3 && b !== undefined && c === 'restore') {
        return only('POST', () => {
          if (!this.snapshots.get(b)) throw new StatusError(404, 'NotFound', `snapshot "${b}" not found`, { name: b, kind: 'snapshots' });
          this.operations.abortAll(`interrupted: snapshot ${b} was restored`);
          return { code: 200, body: this.snapshots.restore(b) };
        });
      }
    }
    if (parts.length === 1 && a === 'faults') {
      if (m === 'GET') return { code: 200, body: this.faultsView() };
      return only('PUT', () => this.putFaults(req.body));
    }
    if (parts.length === 2 && a === 'faults' && b === 'outage') return only('POST', () => this.startOutage(req.body));
    if (parts.length === 1 && a === 'timings') {
      if (m === 'GET') return { code: 200, body: { ...this.runtime.timings } };
      return only('PUT', () => this.putTimings(req.body));
    }
    if (parts.length === 1 && a === 'availability') {
      return only('GET', () => {
        if (!this.deps.availability) throw new StatusError(404, 'NotFound', 'the availability monitor is not running in this cluster');
        return { code: 200, body: this.deps.availability.report() };
      });
    }
    throw new StatusError(404, 'NotFound', `the infrastructure API has no ${req.method} ${req.path}`);
  }
}

// ---- request bodies ----------------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage, optional: boolean): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new StatusError(413, 'RequestEntityTooLarge', `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (optional) return {};
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(parsed)) throw badRequest('request body must be a JSON object');
  return parsed;
}

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw badRequest(`field "${key}": unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function requireVersion(text: string, field: string): Version {
  const v = parseVersion(text);
  if (!v) throw badRequest(`field "${field}": "${text}" is not a version like 1.31.2`);
  return v;
}

function requiredVersion(body: Record<string, unknown>, field: string): Version {
  const value = body[field];
  if (value === undefined) throw badRequest(`field "${field}": required`);
  if (typeof value !== 'string') throw badRequest(`field "${field}": must be a string like "1.31.2"`);
  return requireVersion(value, field);
}

function optionalVersion(body: Record<string, unknown>, field: string): Version | undefined {
  return body[field] === undefined ? undefined : requiredVersion(body, field);
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw badRequest(`field "${field}": must be a non-empty string`);
  return value;
}

function optionalNumber(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw badRequest(`field "${field}": must be a number from ${min} to ${max}`);
  }
  return value;
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`field "${field}": must be true or false`);
  return value;
}

function optionalStringList(body: Record<string, unknown>, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw badRequest(`field "${field}": must be a list of node names (or "pool/*")`);
  }
  return value as string[];
}

function optionalWorkloadRefs(body: Record<string, unknown>, field: string): WorkloadRef[] | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw badRequest(`field "${field}": must be a list of {namespace, name}`);
  return value.map((v: unknown, i) => {
    if (!isRecord(v) || typeof v['namespace'] !== 'string' || typeof v['name'] !== 'string' || !v['namespace'] || !v['name']) {
      throw badRequest(`field "${field}[${i}]": must be {namespace, name} with non-empty strings`);
    }
    return { namespace: v['namespace'], name: v['name'] };
  });
}

function optionalContainerFaults(body: Record<string, unknown>, field: string): ContainerFaultRule[] | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw badRequest(`field "${field}": must be a list of {image, failure}`);
  return value.map((v: unknown, i) => {
    const rule = readContainerFaultRule(v);
    if (!Array.isArray(rule)) return rule;
    throw badRequest(rule.map((p) => `field "${field}[${i}]${p.field ? `.${p.field}` : ''}": ${p.message}`).join('; '));
  });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isRecord(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  return value;
}

// ---- replies -----------------------------------------------------------------------------------------------------

function skewError(node: string, message: string): StatusError {
  return new StatusError(422, 'Invalid', message, {
    name: node,
    kind: 'nodes',
    causes: [{ reason: 'FieldValueInvalid', field: 'version', message }],
  });
}

function conflictOn(node: string, message: string): StatusError {
  return new StatusError(409, 'Conflict', message, { name: node, kind: 'nodes' });
}

/** A machine as the infrastructure API shows it. */
function machineView(m: Machine): Record<string, unknown> {
  return {
    name: m.name,
    role: m.role,
    ...(m.pool !== undefined ? { pool: m.pool } : {}),
    kubeletVersion: m.kubeletVersion,
    machineImage: m.machineImage,
    state: m.state,
    health: m.health,
    readyAt: new Date(m.readyAt).toISOString(),
    ...(m.components ? { components: { ...m.components } } : {}),
  };
}

/** A path segment, percent-decoded; a malformed escape (`%E0%A4%A`) is the client's error, not the server's. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`the path segment "${segment}" is not a valid percent-encoding`);
  }
}

/** The items of a node-batches request: 1 to MAX_BATCH_ITEMS objects. */
function batchItems(body: Record<string, unknown>): Record<string, unknown>[] {
  const items = body['items'];
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH_ITEMS || !items.every(isRecord)) {
    throw badRequest(`field "items": a list of 1 to ${MAX_BATCH_ITEMS} objects is required`);
  }
  return items;
}

/** A batch item's reply: what `act` answers, or the Status of what it threw. */
function settle(act: () => Reply): Reply {
  try {
    return act();
  } catch (err) {
    if (err instanceof StatusError) return statusReply(err);
    throw err;
  }
}

function statusReply(err: StatusError): Reply {
  return { code: err.code, body: err.toStatus() };
}
