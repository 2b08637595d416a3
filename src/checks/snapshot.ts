/**
 * Gathers the one read of a cluster that every rule works from: nodes, pods, workloads, PodDisruptionBudgets,
 * PersistentVolumeClaims, terminating namespaces, objects last applied at removed API versions, `/readyz?verbose`,
 * `/version` and `/metrics`. The reads run concurrently through the connection's rate limiter; lists are paged
 * (500 a page) and each page is reduced to compact records before the next is fetched, so a 50,000-pod cluster
 * never sits in memory as API objects.
 *
 * A part that cannot be read is recorded as a problem (data), not thrown: the `api-health` rule reports it, and
 * the other rules work with what was read.
 *
 * @module
 */
import { setMaxListeners } from 'node:events';
import type { V1Namespace, V1Node, V1ObjectMeta, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { isRetryable, statusBodyOf, statusOf } from '../kube-api/errors.ts';
import { systemClock } from '../clock/clock.ts';
import type { RemovedApi } from '../versions/index.ts';
import { PrecheckError } from './errors.ts';
import { RecordConverter, timeOf } from './records.ts';
import type {
  ClusterSnapshot,
  DeprecatedApiRequest,
  EndpointResult,
  LastAppliedRecord,
  NodeRecord,
  PdbRecord,
  PodRecord,
  PvcRecord,
  SnapshotProblem,
  TerminatingNamespace,
  WorkloadRecord,
} from './snapshot-types.ts';

/** Options of {@link gatherSnapshot}. */
export interface GatherSnapshotOptions {
  /** Cancels every request. */
  readonly signal?: AbortSignal;
  /** The clock. @default Date.now */
  readonly now?: () => number;
  /** Items per list page. @default 500 */
  readonly pageSize?: number;
  /**
   * Removed API versions to look for in last-applied configurations (the catalog's table). Kinds not otherwise
   * listed are listed for this, through discovery, when the cluster serves them. @default none
   */
  readonly removedApis?: readonly RemovedApi[];
  /**
   * The versions the infrastructure reports (a Cluster API control plane's `status.version`, its Machines' versions),
   * asked only when the API server does not say: no `/version` (404), or nodes with no kubelet version (a partial
   * API server's nodes). @default none: those versions stay unknown
   */
  readonly providerVersions?: (signal?: AbortSignal) => Promise<ProviderVersions | undefined>;
}

/** Versions the provider reports, and whose word they are. */
export interface ProviderVersions {
  /** The control plane's version, `1.35.8`, and who says so: `provider capi (KubeadmControlPlane ... status.version)`. */
  readonly controlPlane?: { readonly version: string; readonly source: string };
  /** Each node's kubelet version, `1.35.8`, by node name. */
  readonly nodes: Readonly<Record<string, string>>;
  /** Who says so of the nodes: `provider capi (Machine spec.version)`. */
  readonly nodesSource: string;
}

/**
 * Where a server that does not serve `/readyz` (404) is asked instead, in order: `/healthz` (its predecessor), then
 * the core group's discovery, which every API server serves: any answer but 404 is the server's health.
 */
const READYZ_FALLBACKS = ['/healthz', '/api'] as const;

/** Kinds never stored (reviews) or not applied by people (events): not worth listing for last-applied evidence. */
const NOT_APPLIED_KINDS = new Set([
  'TokenReview',
  'SubjectAccessReview',
  'LocalSubjectAccessReview',
  'SelfSubjectAccessReview',
  'Event',
]);

/** Kinds the snapshot lists anyway; their last-applied annotations are read from those lists. */
const LISTED_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'PodDisruptionBudget']);

/** The error of a run whose signal aborted, saying why (a timeout, an interrupt). */
export function cancelled(signal: AbortSignal): PrecheckError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new PrecheckError('KUP-PRECHECK-004', `the run was cancelled: ${why}`, { cause: reason });
}

function describeError(err: unknown): string {
  const status = statusOf(err);
  const body = statusBodyOf(err);
  const message = body?.message ?? (err instanceof Error ? err.message : String(err));
  return status !== undefined ? `HTTP ${status}: ${message}` : message;
}

/** A page of a list, as the API server sends it. */
interface Page<T> {
  items?: T[];
  metadata?: { continue?: string };
}

/**
 * Reads a whole list page by page as the API server's JSON, handing each item to `each`: the typed clients' object
 * mapping costs more than the read itself on a 10,000-pod list, and the record converters take the JSON as it is.
 * An expired continue token (410) restarts the list once from the beginning, after `reset`; any other failure
 * (after retrying transient ones) rejects with the status and the server's message.
 */
async function listAll<T>(
  conn: ClusterConnection,
  signal: AbortSignal | undefined,
  pageSize: number,
  path: string,
  each: (item: T) => void,
  reset: () => void,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let token: string | undefined;
    try {
      do {
        const query = new URLSearchParams({ limit: String(pageSize), ...(token ? { continue: token } : {}) });
        const res = await getListText(conn, `${path}?${query.toString()}`, signal);
        if (res.status !== 200) throw Object.assign(new Error(`HTTP ${res.status}`), { statusCode: res.status, body: res.body });
        const page = JSON.parse(res.body) as Page<T>;
        for (const item of page.items ?? []) each(item);
        token = page.metadata?.continue || undefined;
      } while (token !== undefined);
      return;
    } catch (err) {
      if (statusOf(err) === 410 && attempt === 0) {
        reset();
        continue;
      }
      throw err;
    }
  }
}

async function getText(
  conn: ClusterConnection,
  path: string,
  signal: AbortSignal | undefined,
): Promise<{ status: number; body: string }> {
  await conn.limiter.acquire(signal);
  return conn.getText(path, signal);
}

/** Tries of one read of a list page or discovery document before its failure becomes a problem of the snapshot. */
const READ_TRIES = 5;

/**
 * Runs `read` again, with backoff, while it fails transiently (a network error, 429, a 5xx): one flaky answer must not
 * become an api-health blocker that fails the whole run. Other failures (4xx, 410) go to the caller at once.
 */
async function retryTransient<T>(signal: AbortSignal | undefined, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (signal?.aborted || !isRetryable(err) || attempt >= READ_TRIES) throw err;
      await systemClock.sleep(100 * 2 ** (attempt - 1) * (0.8 + 0.4 * Math.random()), signal);
    }
  }
}

/** {@link getText} of a resource path, with a transient status (429, 5xx) retried as {@link retryTransient} does. */
async function getListText(
  conn: ClusterConnection,
  path: string,
  signal: AbortSignal | undefined,
): Promise<{ status: number; body: string }> {
  let last: { status: number; body: string } = { status: 0, body: '' };
  try {
    return await retryTransient(signal, async () => {
      last = await getText(conn, path, signal);
      if (last.status === 429 || last.status >= 500) throw Object.assign(new Error(`HTTP ${last.status}`), { statusCode: last.status });
      return last;
    });
  } catch (err) {
    if (statusOf(err) === last.status) return last;
    throw err;
  }
}

/** Parses the `apiserver_requested_deprecated_apis` series out of a Prometheus text exposition. */
export function parseDeprecatedApiMetric(text: string): DeprecatedApiRequest[] {
  const found = new Map<string, DeprecatedApiRequest>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_requested_deprecated_apis{')) continue;
    const close = line.lastIndexOf('}');
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (!(value > 0)) continue; // a gauge of 0 means not requested since the server started
    const labels: Record<string, string> = {};
    for (const m of line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[m[1] ?? ''] = m[2] ?? '';
    const request: DeprecatedApiRequest = {
      group: labels['group'] ?? '',
      version: labels['version'] ?? '',
      resource: labels['resource'] ?? '',
      subresource: labels['subresource'] ?? '',
      removedRelease: labels['removed_release'] ?? '',
    };
    found.set(`${request.group}/${request.version}/${request.resource}/${request.subresource}`, request);
  }
  return [...found.values()];
}

interface ApiGroupList {
  groups?: { name?: string; preferredVersion?: { groupVersion?: string }; versions?: { groupVersion?: string }[] }[];
}
interface ApiResourceList {
  resources?: { name?: string; kind?: string; namespaced?: boolean }[];
}
interface RawList {
  metadata?: { continue?: string };
  items?: { metadata?: V1ObjectMeta }[];
}

/**
 * Finds the objects, of kinds the snapshot does not list anyway, whose last-applied configuration names a removed
 * API version. Kinds are looked up through discovery in the removed API's group and its replacement's group.
 */
async function scanLastApplied(
  conn: ClusterConnection,
  signal: AbortSignal | undefined,
  pageSize: number,
  removedApis: readonly RemovedApi[],
  converter: RecordConverter,
  keep: (apiVersion: string, kind: string) => boolean,
  out: LastAppliedRecord[],
  problems: SnapshotProblem[],
): Promise<void> {
  const wanted = new Map<string, Set<string>>(); // kind -> groups to look in
  for (const api of removedApis) {
    if (NOT_APPLIED_KINDS.has(api.kind) || LISTED_KINDS.has(api.kind)) continue;
    const groups = wanted.get(api.kind) ?? new Set<string>();
    groups.add(api.group);
    if (api.replacement) groups.add(api.replacement.includes('/') ? (api.replacement.split('/')[0] ?? '') : '');
    wanted.set(api.kind, groups);
  }
  if (wanted.size === 0) return;
  const groupsRes = await getListText(conn, '/apis', signal);
  if (groupsRes.status !== 200) {
    problems.push({ part: 'discovery /apis', message: `HTTP ${groupsRes.status}`, status: groupsRes.status });
    return;
  }
  // Each group is listed at a version the removal table does not name (preferred first), so that kup's own reads
  // never show up in apiserver_requested_deprecated_apis; a group served only at such versions is skipped.
  const removedVersions = new Set(removedApis.map((a) => (a.group ? `${a.group}/${a.version}` : a.version)));
  const served = new Map<string, string>(); // group -> groupVersion to list at
  for (const g of (JSON.parse(groupsRes.body) as ApiGroupList).groups ?? []) {
    const candidates = [g.preferredVersion?.groupVersion, ...(g.versions ?? []).map((v) => v.groupVersion)];
    const gv = candidates.find((c): c is string => c !== undefined && !removedVersions.has(c));
    if (g.name !== undefined && gv !== undefined) served.set(g.name, gv);
  }
  served.set('', 'v1');
  const neededGroups = new Set([...wanted.values()].flatMap((s) => [...s]).filter((g) => served.has(g)));
  const resources = new Map<string, { path: string; kind: string }>(); // kind -> list path (first group that serves it)
  await Promise.all(
    [...neededGroups].map(async (group) => {
      const gv = served.get(group) ?? 'v1';
      const base = group === '' ? '/api/v1' : `/apis/${gv}`;
      const res = await getListText(conn, base, signal);
      if (res.status !== 200) return;
      for (const r of (JSON.parse(res.body) as ApiResourceList).resources ?? []) {
        if (r.kind === undefined || r.name === undefined || r.name.includes('/')) continue;
        if (wanted.get(r.kind)?.has(group) && !resources.has(r.kind))
          resources.set(r.kind, { path: `${base}/${r.name}`, kind: r.kind });
      }
    }),
  );
  await Promise.all(
    [...resources.values()].map(async ({ path, kind }) => {
      try {
        let token: string | undefined;
        do {
          const res = await getListText(
            conn,
            `${path}?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
            signal,
          );
          if (res.status !== 200) {
            problems.push({ part: `${kind} (last-applied scan)`, message: `HTTP ${res.status}`, status: res.status });
            return;
          }
          const list = JSON.parse(res.body) as RawList;
          for (const item of list.items ?? []) {
            const record = converter.lastApplied(kind, item.metadata, keep);
            if (record) out.push(record);
          }
          token = list.metadata?.continue || undefined;
        } while (token !== undefined);
      } catch (err) {
        signal?.throwIfAborted();
        const status = statusOf(err);
        problems.push({ part: `${kind} (last-applied scan)`, message: describeError(err), ...(status !== undefined ? { status } : {}) });
      }
    }),
  );
}

/**
 * Reads the cluster once for all rules.
 *
 * @throws {PrecheckError} `KUP-PRECHECK-004` only when the signal aborts; everything else is a recorded problem.
 */
export async function gatherSnapshot(
  conn: ClusterConnection,
  options: GatherSnapshotOptions = {},
): Promise<ClusterSnapshot> {
  const now = options.now ?? Date.now;
  const takenAt = now();
  // Every read below listens on the signal at once (a dozen lists, pages and text reads): on a signal of its own
  // with no listener cap, Node does not warn of a leak on the caller's (the service's gate checks read this often).
  const signal = options.signal !== undefined ? AbortSignal.any([options.signal]) : undefined;
  if (signal !== undefined) setMaxListeners(0, signal);
  const reader = new SnapshotReader(conn, { ...options, ...(signal !== undefined ? { signal } : {}) });
  const workloadLists = [
    reader.workloadList('Deployment', '/apis/apps/v1/deployments'),
    reader.workloadList('StatefulSet', '/apis/apps/v1/statefulsets'),
    reader.workloadList('DaemonSet', '/apis/apps/v1/daemonsets'),
    reader.workloadList('ReplicaSet', '/apis/apps/v1/replicasets'),
  ];
  await Promise.all([
    reader.part('/readyz', () => reader.readReadyz()),
    reader.part('/version', () => reader.readVersion()),
    reader.part('/metrics', () => reader.readMetrics()),
    reader.part('nodes', () => reader.listNodes()),
    reader.part('pods', () => reader.listPods()),
    reader.part('poddisruptionbudgets', () => reader.listPdbs()),
    reader.part('persistentvolumeclaims', () => reader.listPvcs()),
    reader.part('namespaces', () => reader.listTerminatingNamespaces()),
    reader.part('last-applied scan', () =>
      scanLastApplied(
        conn,
        signal,
        reader.pageSize,
        options.removedApis ?? [],
        reader.converter,
        reader.keep,
        reader.lastApplied,
        reader.problems,
      ),
    ),
    ...workloadLists.map((w) => w.read),
  ]);
  await reader.fillFromProvider();
  const workloads = workloadLists.flatMap((w) => w.records);
  reader.lastApplied.push(...reader.pdbApplied, ...workloadLists.flatMap((w) => w.applied));

  return {
    cluster: conn.name,
    server: conn.server,
    takenAt,
    ...(reader.gitVersion !== undefined ? { gitVersion: reader.gitVersion } : {}),
    ...(reader.versionFrom !== undefined ? { versionFrom: reader.versionFrom } : {}),
    ...(reader.kubeletsFrom !== undefined ? { kubeletsFrom: reader.kubeletsFrom } : {}),
    readyz: reader.readyz,
    ...(reader.readyzFallback !== undefined ? { readyzFallback: reader.readyzFallback } : {}),
    metricsRead: reader.metricsRead,
    deprecatedApiRequests: reader.deprecatedApiRequests,
    nodes: reader.nodes,
    pods: reader.pods,
    workloads,
    pdbs: reader.pdbs,
    pvcs: reader.pvcs,
    terminatingNamespaces: reader.terminatingNamespaces,
    lastApplied: reader.lastApplied,
    problems: reader.problems,
  };
}

type WorkloadObject = Parameters<RecordConverter['workload']>[1];

/**
 * The reads of one snapshot, run together: each one fills its part of the snapshot, and a read that fails is a
 * recorded problem (unless the signal aborted).
 */
class SnapshotReader {
  readonly pageSize: number;
  readonly converter = new RecordConverter();
  readonly problems: SnapshotProblem[] = [];
  /** Whether a removed API's object keeps its last-applied configuration for the scan. */
  readonly keep: (apiVersion: string, kind: string) => boolean;
  readyz: EndpointResult = { ok: false, error: 'not read' };
  readyzFallback: { endpoint: string } | undefined;
  gitVersion: string | undefined;
  versionFrom: { source: string } | undefined;
  kubeletsFrom: { source: string; nodes: string[] } | undefined;
  /** `/version` answered 404: the provider may know the version. */
  private versionNotServed = false;
  metricsRead = false;
  deprecatedApiRequests: DeprecatedApiRequest[] = [];
  nodes: NodeRecord[] = [];
  pods: PodRecord[] = [];
  pdbs: PdbRecord[] = [];
  pvcs: PvcRecord[] = [];
  terminatingNamespaces: TerminatingNamespace[] = [];
  readonly lastApplied: LastAppliedRecord[] = [];
  readonly pdbApplied: LastAppliedRecord[] = [];
  private readonly signal: AbortSignal | undefined;
  private readonly providerVersions: GatherSnapshotOptions['providerVersions'];

  constructor(
    private readonly conn: ClusterConnection,
    options: GatherSnapshotOptions,
  ) {
    this.signal = options.signal;
    this.providerVersions = options.providerVersions;
    this.pageSize = options.pageSize ?? 500;
    const removedSet = new Set(
      (options.removedApis ?? []).map((a) => `${a.group ? `${a.group}/` : ''}${a.version}|${a.kind}`),
    );
    this.keep = (apiVersion: string, kind: string): boolean => removedSet.has(`${apiVersion}|${kind}`);
  }

  /** Runs one read; its failure is a problem of the snapshot, not of the gathering (an abort is). */
  async part(name: string, read: () => Promise<void>): Promise<void> {
    const { signal } = this;
    try {
      await read();
    } catch (err) {
      if (signal?.aborted) throw cancelled(signal);
      const status = statusOf(err);
      this.problems.push({ part: name, message: describeError(err), ...(status !== undefined ? { status } : {}) });
    }
  }

  async readReadyz(): Promise<void> {
    try {
      let res = await getText(this.conn, '/readyz?verbose', this.signal);
      for (const endpoint of READYZ_FALLBACKS) {
        if (res.status !== 404) break;
        res = await getText(this.conn, endpoint, this.signal);
        this.readyzFallback = { endpoint };
      }
      this.readyz = { ok: true, status: res.status, body: res.body };
    } catch (err) {
      if (this.signal?.aborted) throw err;
      this.readyz = { ok: false, error: describeError(err) };
    }
  }

  async readVersion(): Promise<void> {
    const res = await getText(this.conn, '/version', this.signal);
    if (res.status === 404 && this.providerVersions !== undefined) {
      // Filled in from the provider once every part is read (fillFromProvider).
      this.versionNotServed = true;
      return;
    }
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    const parsed = JSON.parse(res.body) as { gitVersion?: unknown };
    if (typeof parsed.gitVersion === 'string') this.gitVersion = parsed.gitVersion;
  }

  /**
   * Asks the provider, once, for what the API server did not say: the control-plane version (no `/version`) and the
   * kubelet versions of nodes that report none. What the provider does not know either stays unknown.
   */
  async fillFromProvider(): Promise<void> {
    const blank = this.nodes.filter((n) => n.kubeletVersion === '').map((n) => n.name);
    if (this.providerVersions === undefined || (!this.versionNotServed && blank.length === 0)) return;
    await this.part('/version', async () => {
      const reported = await this.providerVersions?.(this.signal);
      if (this.versionNotServed) {
        if (reported?.controlPlane === undefined) throw new Error('HTTP 404: the API server does not serve /version');
        this.gitVersion = `v${reported.controlPlane.version.replace(/^v/, '')}`;
        this.versionFrom = { source: reported.controlPlane.source };
      }
      const filled = blank.filter((name) => reported?.nodes[name] !== undefined);
      if (reported === undefined || filled.length === 0) return;
      this.nodes = this.nodes.map((n) => {
        const version = n.kubeletVersion === '' ? reported.nodes[n.name] : undefined;
        return version === undefined ? n : { ...n, kubeletVersion: `v${version.replace(/^v/, '')}` };
      });
      this.kubeletsFrom = { source: reported.nodesSource, nodes: filled };
    });
  }

  async readMetrics(): Promise<void> {
    const res = await getText(this.conn, '/metrics', this.signal);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    this.deprecatedApiRequests = parseDeprecatedApiMetric(res.body);
    this.metricsRead = true;
  }

  listNodes(): Promise<void> {
    const { conn, signal, pageSize, converter } = this;
    return listAll(
      conn,
      signal,
      pageSize,
      '/api/v1/nodes',
      (n: V1Node) => this.nodes.push(converter.node(n)),
      () => (this.nodes = []),
    );
  }

  listPods(): Promise<void> {
    const { conn, signal, pageSize, converter } = this;
    return listAll(
      conn,
      signal,
      pageSize,
      '/api/v1/pods',
      (p: V1Pod) => this.pods.push(converter.pod(p)),
      () => (this.pods = []),
    );
  }

  listPdbs(): Promise<void> {
    const { conn, signal, pageSize, converter, keep } = this;
    return listAll(
      conn,
      signal,
      pageSize,
      '/apis/policy/v1/poddisruptionbudgets',
      (b: V1PodDisruptionBudget) => {
        this.pdbs.push(converter.pdb(b));
        const a = converter.lastApplied('PodDisruptionBudget', b.metadata, keep);
        if (a) this.pdbApplied.push(a);
      },
      () => {
        this.pdbs = [];
        this.pdbApplied.length = 0;
      },
    );
  }

  listPvcs(): Promise<void> {
    const { conn, signal, pageSize, converter } = this;
    return listAll(
      conn,
      signal,
      pageSize,
      '/api/v1/persistentvolumeclaims',
      (c: V1PersistentVolumeClaim) => this.pvcs.push(converter.pvc(c)),
      () => (this.pvcs = []),
    );
  }

  listTerminatingNamespaces(): Promise<void> {
    const { conn, signal, pageSize } = this;
    return listAll(
      conn,
      signal,
      pageSize,
      '/api/v1/namespaces',
      (ns: V1Namespace) => {
        if (ns.status?.phase !== 'Terminating' && ns.metadata?.deletionTimestamp === undefined) return;
        const deletingAt = timeOf(ns.metadata?.deletionTimestamp);
        this.terminatingNamespaces.push({
          name: ns.metadata?.name ?? '',
          ...(deletingAt !== undefined ? { deletingAt } : {}),
        });
      },
      () => (this.terminatingNamespaces = []),
    );
  }

  /** One kind of workload: its records and last-applied records, and the read that fills them (started now). */
  workloadList(
    kind: WorkloadRecord['kind'],
    path: string,
  ): { records: WorkloadRecord[]; applied: LastAppliedRecord[]; read: Promise<void> } {
    const { conn, signal, pageSize, converter, keep } = this;
    const records: WorkloadRecord[] = [];
    const applied: LastAppliedRecord[] = [];
    const read = this.part(`${kind.toLowerCase()}s`, () =>
      listAll<WorkloadObject>(
        conn,
        signal,
        pageSize,
        path,
        (item) => {
          records.push(converter.workload(kind, item));
          const a = converter.lastApplied(kind, item.metadata, keep);
          if (a) applied.push(a);
        },
        () => {
          records.length = 0;
          applied.length = 0;
        },
      ),
    );
    return { records, applied, read };
  }
}
