/**
 * The service's composition: one store, the cluster registry, the run supervisor, the event hub, the sealed
 * credentials, the metrics and the log, created together and closed together. The routes (src/server/routes/) use
 * this object; they hold no state of their own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.ts';
import { activeCatalog, catalogPath } from '../catalog/catalog-file.ts';
import { ClusterRegistry, inspectCluster } from '../clusters/registry.ts';
import type { OpenCluster } from '../engine/runs.ts';
import { executorId, openCluster } from '../engine/runs.ts';
import { RunSupervisor } from '../engine/supervisor.ts';
import { KupError } from '../errors/kup-error.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import type { KupStore } from '../persistence/store.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { Catalog } from '../versions/index.ts';
import type { Principal } from './auth.ts';
import { AvailabilitySampler } from './availability-sampler.ts';
import { UPLOADED_KUBECONFIG_PREFIX } from './cluster-document.ts';
import { authenticate, hashToken, newToken } from './auth.ts';
import type { ClusterStatus } from './cluster-status.ts';
import { ClusterStatusCache } from './cluster-status.ts';
import { EventHub } from './event-hub.ts';
import { FleetList } from './fleet-list.ts';
import { ServiceMetrics } from './metrics.ts';
import type { SecretBox } from './secrets.ts';
import { WebhookWorker } from './webhooks.ts';

/** Options of {@link KupService}. */
export interface KupServiceOptions {
  /** The data directory: the catalog in force, the secret key file. */
  readonly dataDir: string;
  readonly store: KupStore;
  readonly clock: Clock;
  readonly providers: ProviderRegistry;
  readonly secrets: SecretBox;
  readonly log: Logger;
  /** @default DEFAULT_MAX_CONCURRENT_RUNS (engine/supervisor.ts) */
  readonly maxConcurrentRuns?: number;
  /** @default 15000 */
  readonly leaseTtlMs?: number;
  /** How often the store is scanned for runs nobody drives. @default half the lease TTL */
  readonly scanEveryMs?: number;
  /** Time between two samples of a driven run's PDBs. @default 2000 */
  readonly availabilityEveryMs?: number;
  /** How often other replicas' events are looked for. @default 1000 */
  readonly eventPollMs?: number;
  /** How often the webhook worker looks for new events and due deliveries. @default 1000 */
  readonly webhookPollMs?: number;
  /** The first retry delay of a failed webhook delivery (it doubles, with jitter). @default 5000 */
  readonly webhookRetryBaseMs?: number;
  /** The CloudEvents `source` of this service's notifications. @default `urn:kup:<host name>` */
  readonly eventSource?: string;
}

/** A cluster whose uploaded kubeconfig is gone from the store (or was never sealed). */
export class CredentialsMissingError extends KupError<'KUP-SECRET-003', { readonly cluster: string }> {
  override readonly name = 'CredentialsMissingError';
  constructor(cluster: string) {
    super(
      'KUP-SECRET-003',
      `the uploaded kubeconfig of cluster ${cluster} is not in the store: register the cluster again`,
      { kind: 'failed', details: { cluster } },
    );
  }
}

/** The service; see the module comment. */
export class KupService {
  readonly dataDir: string;
  readonly store: KupStore;
  readonly clock: Clock;
  readonly providers: ProviderRegistry;
  readonly registry: ClusterRegistry;
  readonly supervisor: RunSupervisor;
  /** Samples each driven run's PDBs into its events, for the console's availability chart. */
  readonly availability: AvailabilitySampler;
  readonly events: EventHub;
  readonly status: ClusterStatusCache;
  /** The fleet list of GET /clusters, kept in memory. */
  readonly fleet: FleetList;
  readonly metrics: ServiceMetrics;
  /** Delivers run and rollout events to the configured webhooks (the outbox), beside the engine. */
  readonly webhooks: WebhookWorker;
  readonly log: Logger;
  readonly #secrets: SecretBox;
  #ready = false;
  /** The clusters opened for inspections, by name, with the registration they were opened for. */
  readonly #inspectors = new Map<string, { readonly key: string; readonly open: Promise<OpenCluster> }>();
  /** The catalog last read, and what its file looked like then. */
  #catalog: { readonly stamp: string; readonly read: Promise<Catalog> } | undefined;
  readonly #onStop = new Set<() => void>();

  constructor(options: KupServiceOptions) {
    this.dataDir = options.dataDir;
    this.store = options.store;
    this.clock = options.clock;
    this.providers = options.providers;
    this.log = options.log;
    this.#secrets = options.secrets;
    this.registry = new ClusterRegistry({
      clusters: options.store.clusters,
      now: () => options.clock.now(),
      providers: options.providers,
    });
    this.events = new EventHub({
      store: options.store,
      clock: options.clock,
      ...(options.eventPollMs !== undefined ? { pollMs: options.eventPollMs } : {}),
    });
    this.availability = new AvailabilitySampler({
      store: options.store,
      clock: options.clock,
      openCluster: (cluster) => this.openCluster(cluster),
      ...(options.availabilityEveryMs !== undefined ? { everyMs: options.availabilityEveryMs } : {}),
      sampled: () => this.events.poke(),
      failed: (run, cluster, err) =>
        this.log.warn({ run, cluster, err }, 'sampling the PDBs of a run failed; said again once it samples again'),
      recovered: (run, cluster, missed) =>
        this.log.info({ run, cluster, missed }, `sampling the PDBs of a run again, after ${missed} missed sample(s)`),
    });
    const supervisor = new RunSupervisor({
      store: options.store,
      providers: options.providers,
      catalog: () => this.catalog(),
      clock: options.clock,
      owner: executorId(),
      ...(options.maxConcurrentRuns !== undefined ? { maxConcurrentRuns: options.maxConcurrentRuns } : {}),
      ...(options.leaseTtlMs !== undefined ? { leaseTtlMs: options.leaseTtlMs } : {}),
      ...(options.scanEveryMs !== undefined ? { scanEveryMs: options.scanEveryMs } : {}),
      kubeconfigOf: (row) => this.kubeconfigOf(row),
      observer: {
        started: (run, cluster) => {
          this.log.info({ run, cluster }, 'driving run');
          this.availability.start(run, cluster);
        },
        state: (run, cluster, state) => {
          this.metrics.observeState(run, cluster, state, this.clock.now());
          this.events.poke();
        },
        evictionRefused: (cluster) => this.metrics.evictionRefused(cluster),
        apiError: (cluster, status) => this.metrics.apiError(cluster, status),
        stopped: (run, cluster, why, error) => {
          this.metrics.forgetRun(run);
          void this.availability.stop(run);
          this.events.poke();
          // The run may have moved the cluster's versions: the fleet's list says so without waiting for a round.
          void options.store.clusters
            .get(cluster)
            .then((row) => (row ? this.status.refresh(row) : undefined))
            .catch(() => undefined);
          if (why === 'failed')
            this.log.error(
              { run, cluster, err: error },
              'driving the run failed; it is taken up again at the next scan',
            );
          else this.log.info({ run, cluster, why }, 'stopped driving run');
        },
      },
    });
    this.supervisor = supervisor;
    this.status = new ClusterStatusCache({
      clock: options.clock,
      clusters: () => options.store.clusters.list(),
      inspect: (row) => this.inspect(row),
    });
    this.webhooks = new WebhookWorker({
      store: options.store,
      clock: options.clock,
      source: options.eventSource ?? `urn:kup:${hostname()}`,
      secretOf: (hook) => this.#secrets.open(hook.secret, webhookSecretContext(hook.name)),
      ...(options.webhookPollMs !== undefined ? { pollMs: options.webhookPollMs } : {}),
      ...(options.webhookRetryBaseMs !== undefined ? { retryBaseMs: options.webhookRetryBaseMs } : {}),
      onProblem: (message) => this.log.warn({ component: 'webhooks' }, message),
    });
    // A removed cluster's connection goes with it.
    this.status.onChange((name, status) => {
      if (status === undefined) this.#inspectors.delete(name);
    });
    this.fleet = new FleetList({
      clock: options.clock,
      clusters: () => options.store.clusters.list(),
      activeRuns: () => options.store.runs.list({ active: true }),
      status: this.status,
      ...(options.eventPollMs !== undefined ? { pollMs: options.eventPollMs } : {}),
    });
    // Every commit the hub hears of (this replica's, or another's on its poll) may move a run: one read of the active
    // runs serves them all.
    this.events.onCommit(() => this.fleet.runsChanged());
    this.metrics = new ServiceMetrics({
      store: options.store,
      activeSessions: () => supervisor.sessions.size,
      drivenRuns: () => supervisor.driving.length,
    });
  }

  /** Starts the supervisor (resuming every run whose driver died) and the event hub. */
  async start(): Promise<void> {
    this.events.start();
    this.status.start();
    this.webhooks.start();
    this.fleet.start();
    await this.supervisor.start();
    this.#ready = true;
  }

  /** Whether the service takes work: started, and not stopping. */
  get ready(): boolean {
    return this.#ready && !this.supervisor.stopping;
  }

  /** Stops taking work, lets the executors commit and release their leases, closes the sessions and the store. */
  async stop(): Promise<void> {
    this.#ready = false;
    // Live streams end first: the HTTP server's close waits for every open connection.
    for (const end of this.#onStop) end();
    this.#onStop.clear();
    this.fleet.close();
    this.status.close();
    await this.supervisor.stop();
    await this.availability.stopAll();
    // A delivery under way finishes (each has its time limit); what is left waits in the outbox for the next start.
    await this.webhooks.stop();
    this.events.close();
    await this.store.close();
  }

  /** Calls `end` when the service stops (a live stream closes then), unless it was called already. */
  onStop(end: () => void): () => void {
    this.#onStop.add(end);
    return () => this.#onStop.delete(end);
  }

  /**
   * The catalog in force. Its file is read again when it changed (an update through the API, or `kup catalog update`
   * on the data directory, is read by the next call), not at every call: each inspection of each cluster asks for it.
   */
  async catalog(): Promise<Catalog> {
    const stamp = await stat(catalogPath(this.dataDir)).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 'shipped' : undefined),
    );
    // A file that cannot be looked at: the read says why.
    if (stamp === undefined) return (await activeCatalog(this.dataDir)).catalog;
    if (this.#catalog?.stamp !== stamp) {
      const read = activeCatalog(this.dataDir).then((active) => active.catalog);
      this.#catalog = { stamp, read };
      read.catch(() => {
        if (this.#catalog?.read === read) this.#catalog = undefined;
      });
    }
    return this.#catalog.read;
  }

  /** The uploaded kubeconfig of a cluster, unsealed; undefined for a cluster registered with a file. */
  async kubeconfigOf(row: ClusterRow): Promise<string | undefined> {
    if (!row.kubeconfigPath.startsWith(UPLOADED_KUBECONFIG_PREFIX)) return undefined;
    const sealed = await this.store.credentials.get(row.name);
    if (sealed === undefined) throw new CredentialsMissingError(row.name);
    return this.#secrets.open(sealed, row.name);
  }

  /** Seals and stores a cluster's uploaded kubeconfig. */
  async storeKubeconfig(cluster: string, document: string): Promise<void> {
    await this.store.credentials.put(cluster, this.#secrets.seal(document, cluster), this.clock.now());
  }

  /** Seals a webhook's signing secret for the store (bound to the webhook's name). */
  sealWebhookSecret(name: string, secret: string): string {
    return this.#secrets.seal(secret, webhookSecretContext(name));
  }

  /** Opens a registered cluster as the engine does. */
  openCluster(name: string): Promise<OpenCluster> {
    return openCluster(this.store, name, {
      providers: this.providers,
      clock: this.clock,
      kubeconfigOf: (row) => this.kubeconfigOf(row),
      onApiError: (cluster, status) => this.metrics.apiError(cluster, status),
    });
  }

  /** Asks a cluster for its version, nodes and pools (an unreachable cluster is an answer, not an error). */
  async inspect(row: ClusterRow): Promise<ClusterStatus> {
    const catalog = await this.catalog();
    // The cluster as the last inspection opened it: its keep-alive connections, not a TLS handshake each round.
    const open = await this.#inspected(row).catch(() => undefined);
    const kubeconfig = open === undefined ? await this.kubeconfigOf(row).catch(() => undefined) : undefined;
    const inspection = await inspectCluster(row, {
      catalog,
      now: new Date(this.clock.now()),
      ...(open !== undefined ? { connection: open.conn } : {}),
      ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    });
    let pools: ClusterStatus['pools'] = null;
    if (inspection.reachable && open !== undefined) {
      try {
        const topology = await open.provider.describeTopology(AbortSignal.timeout(5000));
        pools = topology.pools.map((p) => ({
          name: p.name,
          nodes: p.nodes.length,
          kubeletVersion: p.kubeletVersion,
          ...(p.machineImage ? { machineImage: p.machineImage } : {}),
        }));
      } catch {
        // The provider could not say (its infrastructure API down): the list shows the pools as unknown.
      }
    }
    return { inspection, pools, inspectedAt: this.clock.now() };
  }

  /**
   * The cluster opened for inspections, kept while its registration and its kubeconfig file stay the same (a
   * cluster registered again, or whose kubeconfig was rewritten with new credentials, is opened again). Its
   * connection's keep-alive pool is what saves the handshakes: an API server keeps an idle connection longer than
   * the status cache waits between two rounds.
   */
  async #inspected(row: ClusterRow): Promise<OpenCluster> {
    const file = row.kubeconfigPath.startsWith(UPLOADED_KUBECONFIG_PREFIX)
      ? undefined
      : await stat(row.kubeconfigPath).then((s) => `${s.ino}:${s.size}:${s.mtimeMs}`);
    const key = JSON.stringify([row.kubeconfigPath, file, row.context, row.provider, row.providerSettings, row.addedAt]);
    const held = this.#inspectors.get(row.name);
    if (held?.key === key) return held.open;
    const open = this.openCluster(row.name);
    this.#inspectors.set(row.name, { key, open });
    // A cluster that could not be opened (a kubeconfig not there yet) is opened again next time.
    open.catch(() => {
      if (this.#inspectors.get(row.name)?.open === open) this.#inspectors.delete(row.name);
    });
    return open;
  }

  /** The principal of a request's Authorization header. */
  authenticate(header: string | undefined): Promise<Principal> {
    return authenticate(header, this.store.tokens);
  }

  /**
   * The admin token of a first start: created when no live admin token exists, or when `tokenFile` is given and does
   * not hold a live one (a script's file lost, a fresh directory). Written to `tokenFile` (0600) when given. Resolves
   * to the new token's clear text (shown once), or undefined when none was created.
   */
  async ensureAdminToken(tokenFile?: string): Promise<string | undefined> {
    const live = (await this.store.tokens.list()).filter((t) => t.role === 'admin' && t.revokedAt === undefined);
    if (tokenFile !== undefined) {
      const held = readTokenFile(tokenFile);
      if (held !== undefined && live.some((t) => t.tokenHash === hashToken(held))) return undefined;
    } else if (live.length > 0) return undefined;
    const { token, row } = newToken(
      live.length === 0 ? 'admin (first start)' : 'admin (token file)',
      'admin',
      this.clock.now(),
    );
    await this.store.tokens.create(row);
    if (tokenFile !== undefined) writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

/** What a webhook's sealed secret is bound to: a cluster's kubeconfig does not open as a webhook's secret. */
function webhookSecretContext(name: string): string {
  return `webhook:${name}`;
}

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
