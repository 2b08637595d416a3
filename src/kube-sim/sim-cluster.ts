/**
 * One simulated cluster: the apiserver over HTTPS on loopback, the controllers and kubelets behind it, and the
 * infrastructure API beside it. `startSimCluster` is the library entry (tests and the demo start several in one
 * process); `main.ts` is the command-line entry.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock } from '../clock/clock.ts';
import { evictPod } from './api/eviction.ts';
import { createApiHandler } from './api/http-server.ts';
import { ApiMetrics } from './api/metrics.ts';
import { Registry, rfc3339 } from './api/registry.ts';
import type { ApiContext, ServerVersion } from './api/request-context.ts';
import { servedResources } from './api/resources.ts';
import type { ResourceDef } from './api/resources.ts';
import { startAvailabilityMonitor } from './controllers/availability.ts';
import { startControllers } from './controllers/start.ts';
import { buildCluster } from './infra/build.ts';
import { createInfraHandler } from './infra/handler.ts';
import { createIdleHandler } from './infra/idle.ts';
import { buildKubeconfig } from './kubeconfig.ts';
import type { KubeObject } from './model/wire.ts';
import type { Machine, SimFaults, SimRuntime } from './runtime.ts';
import { RuntimeTimers, kindDef } from './runtime.ts';
import { defaultDemoScenario } from './scenario/generate.ts';
import type { Scenario } from './scenario/types.ts';
import { createClusterStore } from './store/cluster-store.ts';
import { generateServingPki } from './tls.ts';

/** Options of startSimCluster. */
export interface SimClusterOptions {
  /** The cluster to build. @default the demo scenario */
  scenario?: Scenario;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Bearer token clients must send. @default random */
  token?: string;
  /** Where to write the kubeconfig, if anywhere. */
  kubeconfigPath?: string;
  /** Events kept per collection for watch resumption. @default 100000 */
  historyLimit?: number;
}

/** A running simulated cluster. */
export interface SimCluster {
  readonly name: string;
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly token: string;
  readonly caCertPem: string;
  /** A kubeconfig for this cluster (YAML). */
  readonly kubeconfig: string;
  readonly runtime: SimRuntime;
  readonly metrics: ApiMetrics;
  /** The version /version reports now. */
  version(): ServerVersion;
  /**
   * Takes the server off the network for `ms` (the listener closes and every connection is cut: clients get
   * ECONNREFUSED), then listens again on the same port; the cluster behind it keeps running. A fault for tests of
   * what a client does when its API server goes away.
   */
  outage(ms: number): void;
  /** Stops serving and every controller and timer. */
  stop(): Promise<void>;
}

/** Starts a simulated cluster and resolves once it serves and its scenario is loaded. */
export async function startSimCluster(options: SimClusterOptions = {}): Promise<SimCluster> {
  const scenario = options.scenario ?? defaultDemoScenario();
  const token = options.token ?? randomBytes(24).toString('hex');
  const store = createClusterStore({ historyLimit: options.historyLimit ?? 100_000 });
  const timers = new RuntimeTimers(systemClock);
  // The minor follows the control plane as it is upgraded (`version` is defined below, read only once serving).
  const registry = new Registry(store, () => timers.clock.now(), () => Number(version().minor));
  const metrics = new ApiMetrics();
  const faults: SimFaults = {
    errorRate: scenario.faults.apiErrorRate,
    latencyMs: scenario.faults.apiLatencyMs,
    nodesNeverReady: new Set(scenario.faults.nodesNeverReady),
    evictionRefused: [...scenario.faults.evictionRefused],
    snapshotFailure: scenario.faults.snapshotFailure,
    containerFaults: scenario.faults.containerFaults.map((r) => ({ ...r })),
  };
  const machines = new Map<string, Machine>();
  const runtime: SimRuntime = {
    store,
    registry,
    timings: { ...scenario.timings },
    faults,
    machines,
    clock: timers.clock,
    now: () => timers.clock.now(),
    after: timers.after,
    beginWork: timers.beginWork,
    idle: timers.idle,
    recordEvent: (about, type, reason, message, component) =>
      recordEvent(runtime, about, type, reason, message, component),
    stopped: timers.stopped,
  };

  let unavailableUntil = 0;
  const version = (): ServerVersion => controlPlaneVersion(machines, scenario.kubernetesVersion);
  let servedCache: { minor: string; resources: readonly ResourceDef[] } | undefined;
  const context: ApiContext = {
    store,
    registry,
    metrics,
    token,
    faults,
    now: () => timers.clock.now(),
    version,
    resources() {
      const minor = version().minor;
      if (servedCache?.minor !== minor) servedCache = { minor, resources: servedResources(Number(minor)) };
      return servedCache.resources;
    },
    unavailableUntil: () => unavailableUntil,
    evict: (namespace, name, body, options) => evictPod(runtime, namespace, name, body, options),
  };

  const pki = await generateServingPki({ commonName: 'kube-apiserver' });
  const stopControllers = startControllers(runtime, { rootCaPem: pki.caCertPem });
  const availability = startAvailabilityMonitor(runtime);
  await buildCluster(runtime, scenario);

  const infra = createInfraHandler({
    runtime,
    scenario,
    availability,
    setUnavailableFor: (ms) => {
      unavailableUntil = Math.max(unavailableUntil, Date.now() + ms);
    },
    startOutage: (ms) => outage(ms),
  });
  const server: Server = createServer({ key: pki.keyPem, cert: pki.certPem }, createApiHandler(context, createIdleHandler(runtime, infra)));
  server.keepAliveTimeout = 60_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  let stopping = false;
  let reopen: NodeJS.Timeout | undefined;
  const outage = (ms: number): void => {
    if (stopping || !server.listening) return;
    server.close();
    for (const s of sockets) s.destroy();
    reopen = setTimeout(() => {
      if (!stopping) server.listen(port, '127.0.0.1');
    }, ms);
  };
  const kubeconfig = buildKubeconfig({ name: scenario.name, server: url, caCertPem: pki.caCertPem, token });
  if (options.kubeconfigPath) await writeCredentials(options.kubeconfigPath, kubeconfig);

  return {
    name: scenario.name,
    url,
    token,
    caCertPem: pki.caCertPem,
    kubeconfig,
    runtime,
    metrics,
    version,
    outage,
    async stop() {
      if (timers.stopped()) return;
      stopping = true;
      clearTimeout(reopen);
      timers.stop();
      availability.stop();
      stopControllers();
      store.dropWatchers();
      await new Promise<void>((resolve) => {
        // A server closed by an outage has no listener to close: it is stopped already.
        if (!server.listening) resolve();
        else server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/**
 * The version the apiserver reports: the lowest kube-apiserver among control-plane nodes (a client behind the load
 * balancer may reach any of them, so kube-sim reports the one every client can count on).
 */
function controlPlaneVersion(machines: Map<string, Machine>, fallback: string): ServerVersion {
  let lowest: number[] | undefined;
  for (const m of machines.values()) {
    const v = m.components?.['kube-apiserver'];
    if (!v) continue;
    const parts = v.replace(/^v/, '').split('.').map(Number);
    if (!lowest || compareParts(parts, lowest) < 0) lowest = parts;
  }
  const [major = 1, minor = 0, patch = 0] = lowest ?? fallback.replace(/^v/, '').split('.').map(Number);
  return { major: String(major), minor: String(minor), gitVersion: `v${major}.${minor}.${patch}` };
}

function compareParts(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

let eventCounter = 0;

/** Records a core/v1 Event in the object's namespace (cluster-scoped objects: default), as components do. */
function recordEvent(
  runtime: SimRuntime,
  about: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component: string,
): void {
  const namespace = about.metadata.namespace ?? 'default';
  if (!runtime.store.get('core/namespaces', undefined, namespace)) return;
  const now = rfc3339(runtime.now());
  eventCounter += 1;
  try {
    runtime.registry.create(kindDef('Event'), namespace, {
      metadata: { name: `${about.metadata.name}.${Date.now().toString(16)}${eventCounter.toString(16)}`, namespace },
      involvedObject: {
        kind: about.kind,
        namespace: about.metadata.namespace,
        name: about.metadata.name,
        uid: about.metadata.uid,
        apiVersion: about.apiVersion,
        resourceVersion: about.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component },
      reportingComponent: component,
      reportingInstance: component,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: null,
      count: 1,
    });
  } catch {
    // Events are best effort, as in a real cluster.
  }
}

/**
 * Writes a file that holds credentials (the kubeconfig's token and CA): created by this process, exclusively, mode
 * 0600. What was at the path goes first; a symlink planted there is removed, not followed, so the token cannot be
 * written through it into another file, and one planted between the two calls makes the exclusive create fail.
 */
async function writeCredentials(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  await writeFile(path, text, { mode: 0o600, flag: 'wx' });
}
