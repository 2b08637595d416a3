/**
 * The cluster registry: the clusters kup manages, each with how to reach it (a kubeconfig file and context) and
 * the provider that changes its infrastructure. `add` checks what it can without the cluster being up (a DNS-label
 * name, a kubeconfig that exists and has the context, a known provider whose settings it accepts, asked of the
 * provider registry the engine builds providers with);
 * {@link inspectCluster} asks the cluster itself (its version, nodes, and the upgrades the catalog offers).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import type { ClusterRow, ClustersRepo } from '../persistence/clusters-repo.ts';
import { StoreError, StoreErrorCode } from '../persistence/errors.ts';
import type { KubeconfigTarget, ProviderRegistry } from '../providers/registry.ts';
import type { AvailableUpgrades, Catalog } from '../versions/index.ts';
import { availableUpgrades } from '../versions/index.ts';

/** Stable codes of registry errors. */
export const RegistryErrorCode = {
  invalidName: 'KUP-REGISTRY-001',
  kubeconfig: 'KUP-REGISTRY-002',
  context: 'KUP-REGISTRY-003',
  provider: 'KUP-REGISTRY-004',
  exists: 'KUP-REGISTRY-005',
  notFound: 'KUP-REGISTRY-006',
  busy: 'KUP-REGISTRY-007',
} as const;
/** One of RegistryErrorCode's values. */
export type RegistryErrorCode = (typeof RegistryErrorCode)[keyof typeof RegistryErrorCode];

/** The input a registry error is about: the CLI names the matching argument or flag. */
export type RegistryField = 'name' | 'kubeconfig' | 'context' | 'provider';

/** A registry operation refused: bad input (with the field at fault), a duplicate, a missing or busy cluster. */
export class ClusterRegistryError extends KupError<RegistryErrorCode, ClusterRegistryErrorDetails> {
  override readonly name = 'ClusterRegistryError';
  constructor(code: RegistryErrorCode, message: string, details: ClusterRegistryErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, { kind: registryErrorKind(code, details), details, cause: options?.cause });
  }

  /** True for errors of the caller's input (exit code 2 on the command line). */
  get isInputError(): boolean {
    return this.details.field !== undefined;
  }
}

/** What a {@link ClusterRegistryError} is about. */
export interface ClusterRegistryErrorDetails {
  readonly cluster?: string;
  /** The input at fault, when the caller's input is. */
  readonly field?: RegistryField;
  /** The runs that keep a busy cluster from being removed. */
  readonly activeRuns?: readonly string[];
}

function registryErrorKind(code: RegistryErrorCode, details: ClusterRegistryErrorDetails): KupErrorKind {
  // A field at fault is the caller's input, whatever the code.
  if (details.field !== undefined) return 'invalid-input';
  switch (code) {
    case RegistryErrorCode.exists:
    case RegistryErrorCode.busy:
      return 'conflict';
    case RegistryErrorCode.notFound:
      return 'not-found';
    default:
      return 'invalid-input';
  }
}

/** A cluster to register. */
export interface AddClusterInput {
  /** A DNS label: lowercase letters, digits and '-', at most 63. */
  readonly name: string;
  /**
   * Path of its kubeconfig; relative paths are resolved against `cwd`. With `kubeconfigDocument`, what is recorded in
   * its place (the service records a marker: the document is kept sealed elsewhere).
   */
  readonly kubeconfigPath: string;
  /** The kubeconfig itself (uploaded), read instead of a file. @default the file at kubeconfigPath */
  readonly kubeconfigDocument?: string;
  /** The context to use. @default the kubeconfig's current context (recorded, so a later switch does not move it) */
  readonly context?: string;
  readonly provider: string;
  /** The provider's settings. @default none */
  readonly providerSettings?: unknown;
}

/** Options of {@link ClusterRegistry}. */
export interface ClusterRegistryOptions {
  readonly clusters: ClustersRepo;
  /** The clock `addedAt` is read from. */
  readonly now: () => number;
  /** The providers clusters may use: the registry the engine creates their providers with. */
  readonly providers: ProviderRegistry;
  /** Where relative kubeconfig paths start. @default process.cwd() */
  readonly cwd?: string;
}

/** What removing a cluster did. */
export interface ClusterRemoved {
  readonly cluster: ClusterRow;
  /** Its finished runs, kept with their events (the cluster's history). */
  readonly runsKept: number;
  /** Its finished runs, removed with their events (`purgeHistory`). */
  readonly runsRemoved: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The cluster registry over a clusters repository. */
export class ClusterRegistry {
  readonly #clusters: ClustersRepo;
  readonly #now: () => number;
  readonly #providers: ProviderRegistry;
  readonly #cwd: string;

  constructor(options: ClusterRegistryOptions) {
    this.#clusters = options.clusters;
    this.#now = options.now;
    this.#providers = options.providers;
    this.#cwd = options.cwd ?? process.cwd();
  }

  /** The names of the providers clusters may use. */
  get providerNames(): readonly string[] {
    return this.#providers.names;
  }

  /**
   * Registers a cluster after checking its name, kubeconfig, context and provider.
   *
   * @throws {ClusterRegistryError} KUP-REGISTRY-001..004 for bad input (with the field), 005 for a duplicate name.
   */
  async add(input: AddClusterInput): Promise<ClusterRow> {
    checkName(input.name);
    const provider = this.#providers.get(input.provider);
    if (provider === undefined) {
      throw new ClusterRegistryError(
        RegistryErrorCode.provider,
        `unknown provider "${input.provider}": kup knows ${this.providerNames.map((n) => `"${n}"`).join(', ')}`,
        { cluster: input.name, field: 'provider' },
      );
    }
    const target =
      input.kubeconfigDocument !== undefined
        ? await readKubeconfigDocument(input.kubeconfigDocument, input.kubeconfigPath, input.context)
        : await readKubeconfig(resolve(this.#cwd, input.kubeconfigPath), input.context);
    const verdict = provider.validate(input.providerSettings, target);
    if ('problem' in verdict) {
      throw new ClusterRegistryError(RegistryErrorCode.provider, verdict.problem, { cluster: input.name, field: 'provider' });
    }
    // A duplicate is refused before the write too, for a message that names what is registered under the name.
    const existing = await this.#clusters.get(input.name);
    if (existing !== undefined) throw duplicate(existing);
    try {
      return await this.#clusters.add({
        name: input.name,
        kubeconfigPath: target.path,
        context: target.context,
        provider: provider.name,
        providerSettings: verdict.settings,
        addedAt: this.#now(),
      });
    } catch (err) {
      // Another kup added the same name between the check and the write.
      if (err instanceof StoreError && err.code === StoreErrorCode.clusterExists) {
        const winner = await this.#clusters.get(input.name);
        if (winner !== undefined) throw duplicate(winner);
      }
      throw err;
    }
  }

  /**
   * Checks that `name` may be registered (a DNS label no cluster has), before a caller prepares what the cluster
   * needs (the capi provider saves the workload cluster's kubeconfig under the name).
   *
   * @throws {ClusterRegistryError} KUP-REGISTRY-001 for a bad name, 005 for a duplicate.
   */
  async checkNewName(name: string): Promise<void> {
    checkName(name);
    const existing = await this.#clusters.get(name);
    if (existing !== undefined) throw duplicate(existing);
  }

  /** Every registered cluster, by name. */
  list(): Promise<readonly ClusterRow[]> {
    return this.#clusters.list();
  }

  /**
   * One cluster.
   *
   * @throws {ClusterRegistryError} KUP-REGISTRY-006 when it is not registered.
   */
  async show(name: string): Promise<ClusterRow> {
    const cluster = await this.#clusters.get(name);
    if (cluster === undefined) throw notFound(name);
    return cluster;
  }

  /**
   * Removes a cluster; its finished runs and their events stay readable unless `purgeHistory`. Refused while a run
   * of it is active.
   *
   * @throws {ClusterRegistryError} KUP-REGISTRY-006 when it is not registered; 007 (naming the runs) when busy.
   */
  async remove(name: string, options: { readonly purgeHistory?: boolean } = {}): Promise<ClusterRemoved> {
    const removal = await this.#clusters.remove(name, this.#now(), options);
    switch (removal.status) {
      case 'not-found':
        throw notFound(name);
      case 'busy': {
        const runs = removal.activeRuns;
        const first = runs[0] ?? '';
        throw new ClusterRegistryError(
          RegistryErrorCode.busy,
          `cluster ${name} has ${runs.length === 1 ? 'an active run' : `${runs.length} active runs`}: ${runs.join(', ')}; ` +
            `let ${runs.length === 1 ? 'it' : 'them'} finish or cancel ${runs.length === 1 ? 'it' : 'them'} first (kup cancel ${first})`,
          { cluster: name, activeRuns: runs },
        );
      }
      case 'removed':
        return { cluster: removal.cluster, runsKept: removal.runsKept, runsRemoved: removal.runsRemoved };
    }
  }
}

/**
 * Reads a kubeconfig and the context a cluster is reached through.
 *
 * @param context - The context; @default the file's current context.
 * @throws {ClusterRegistryError} KUP-REGISTRY-002 when the file is missing or unreadable, 003 when the context is not
 *   in it (listing those that are).
 */
export async function readKubeconfig(path: string, context?: string): Promise<KubeconfigTarget> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a file');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new ClusterRegistryError(RegistryErrorCode.kubeconfig, `kubeconfig ${path} ${reason}`, { field: 'kubeconfig' }, { cause: err });
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ClusterRegistryError(RegistryErrorCode.kubeconfig, `kubeconfig ${path} cannot be read (${(err as Error).message})`, { field: 'kubeconfig' }, { cause: err });
  }
  return readKubeconfigDocument(text, path, context);
}

/**
 * Reads a kubeconfig document (uploaded, or read from `path`) and the context a cluster is reached through. `path`
 * names it in messages and is what the target records.
 *
 * @throws {ClusterRegistryError} KUP-REGISTRY-002 when it is not a kubeconfig, 003 when the context is not in it.
 */
export async function readKubeconfigDocument(text: string, path: string, context?: string): Promise<KubeconfigTarget> {
  // client-node takes about half a second to load: `kup cluster list` of no cluster, or `remove`, does without it.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    // The parser's message may quote the document: a kubeconfig holds credentials, so it is not repeated.
    throw new ClusterRegistryError(RegistryErrorCode.kubeconfig, `kubeconfig ${path} is not valid YAML or JSON of a kubeconfig`, { field: 'kubeconfig' }, { cause: err });
  }
  const known = kc.getContexts().map((c) => c.name);
  const name = context ?? kc.getCurrentContext();
  if (!name) {
    throw new ClusterRegistryError(
      RegistryErrorCode.context,
      `kubeconfig ${path} has no current context: pass --context (it has: ${known.join(', ') || 'none'})`,
      { field: 'context' },
    );
  }
  const ctx = kc.getContextObject(name);
  if (ctx === null) {
    throw new ClusterRegistryError(
      RegistryErrorCode.context,
      `context "${name}" is not in kubeconfig ${path} (it has: ${known.join(', ') || 'none'})`,
      { field: 'context' },
    );
  }
  const cluster = kc.getCluster(ctx.cluster);
  if (cluster === null) {
    throw new ClusterRegistryError(RegistryErrorCode.context, `context "${name}" names cluster "${ctx.cluster}", which kubeconfig ${path} does not define`, { field: 'context' });
  }
  const user = kc.getUser(ctx.user);
  return { path, context: name, server: cluster.server, user: ctx.user, hasToken: typeof user?.token === 'string' && user.token !== '' };
}

/** What a cluster says about itself right now. */
export type ClusterInspection =
  | {
      readonly reachable: true;
      readonly server: string;
      /** `/version`'s gitVersion, e.g. `v1.30.2`. */
      readonly version: string;
      readonly nodes: number;
      /** Nodes per kubelet version. */
      readonly kubeletVersions: Readonly<Record<string, number>>;
      /** What the catalog offers it. */
      readonly upgrades: AvailableUpgrades;
    }
  | { readonly reachable: false; readonly server?: string; /** Why, in one line. */ readonly error: string };

/** Options of {@link inspectCluster}. */
export interface InspectClusterOptions {
  /** The catalog in force (`activeCatalog(dataDir)`). */
  readonly catalog: Catalog;
  /** The day asked about (classification depends on it). */
  readonly now: Date;
  /** Stops the inspection. */
  readonly signal?: AbortSignal;
  /** How long the cluster has to answer. @default 5000 */
  readonly timeoutMs?: number;
  /** The cluster's kubeconfig document, when it is not a file (uploaded to the service). @default its file */
  readonly kubeconfig?: string;
  /**
   * A connection to the cluster to ask over (the service keeps one per cluster, so that its rounds reuse the
   * keep-alive connections instead of a TLS handshake each). @default a new one from the kubeconfig
   */
  readonly connection?: ClusterConnection;
}

/**
 * Asks a registered cluster for its version and nodes, and the catalog for the upgrades open to it. An unreachable
 * cluster (down, a kubeconfig gone, a refused token) is an answer, not an error.
 */
export async function inspectCluster(cluster: ClusterRow, options: InspectClusterOptions): Promise<ClusterInspection> {
  options.signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? 5000;
  let server: string | undefined;
  try {
    const { connect } = await import('../kube-api/connect.ts');
    const source = options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : { kubeconfigPath: cluster.kubeconfigPath };
    const conn =
      options.connection ?? connect({ ...source, ...(cluster.context !== undefined ? { context: cluster.context } : {}) });
    server = conn.server;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const get = async (path: string): Promise<unknown> => {
      const res = await conn.getText(path, signal);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
      return JSON.parse(res.body) as unknown;
    };
    // Both requests at once: an inspection of many clusters waits for the slowest, not for the sum.
    const [versionDoc, nodeList] = await Promise.all([get('/version'), get('/api/v1/nodes')]);
    const version = stringField(versionDoc, 'gitVersion');
    if (version === undefined) throw new Error('/version has no gitVersion');
    const kubeletVersions: Record<string, number> = {};
    const items = isRecord(nodeList) && Array.isArray(nodeList['items']) ? (nodeList['items'] as unknown[]) : [];
    for (const node of items) {
      const nodeInfo = isRecord(node) && isRecord(node['status']) ? node['status']['nodeInfo'] : undefined;
      const kubelet = stringField(nodeInfo, 'kubeletVersion') ?? 'unknown';
      kubeletVersions[kubelet] = (kubeletVersions[kubelet] ?? 0) + 1;
    }
    return {
      reachable: true,
      server,
      version,
      nodes: items.length,
      kubeletVersions,
      upgrades: availableUpgrades(version, options.catalog, options.now),
    };
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const error = /aborted|timeout/i.test(message) ? `no answer within ${timeoutMs} ms` : message;
    return { reachable: false, ...(server !== undefined ? { server } : {}), error };
  }
}

function checkName(name: string): void {
  if (name.length > 63 || !DNS_LABEL.test(name)) {
    throw new ClusterRegistryError(
      RegistryErrorCode.invalidName,
      `cluster name "${name}" is not a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
      { cluster: name, field: 'name' },
    );
  }
}

function duplicate(existing: ClusterRow): ClusterRegistryError {
  return new ClusterRegistryError(
    RegistryErrorCode.exists,
    `a cluster named ${existing.name} is already registered (kubeconfig ${existing.kubeconfigPath}` +
      `${existing.context !== undefined ? `, context ${existing.context}` : ''}, provider ${existing.provider}): ` +
      `remove it first (kup cluster remove ${existing.name}) or choose another name`,
    { cluster: existing.name },
  );
}

function notFound(name: string): ClusterRegistryError {
  return new ClusterRegistryError(RegistryErrorCode.notFound, `no cluster named ${name} is registered (kup cluster list shows those that are)`, { cluster: name });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(value: unknown, key: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}
