/**
 * `kup cluster add|list|show|remove`: the clusters kup manages. `list` and `show` ask each cluster for its version
 * and nodes and the catalog for the upgrades open to it; an unreachable cluster is listed as such. `show` adds the
 * cluster's upgrade information: its maintenance settings, next window, what an automatic upgrade would do in it and
 * why (or why not), end of support, and its runs marked manual, automatic or rollout.
 * Exit codes: 0 done, 1 refused or failed (a duplicate name, a cluster with an active run), 2 bad input (the
 * argument or flag is named).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { activeCatalog } from '../../catalog/catalog-file.ts';
import type { ClusterInspection } from '../../clusters/registry.ts';
import { ClusterRegistry, ClusterRegistryError, inspectCluster, readKubeconfig } from '../../clusters/registry.ts';
import type { RegistryField } from '../../clusters/registry.ts';
import type { ClusterRow } from '../../persistence/clusters-repo.ts';
import type { RunSummary } from '../../persistence/runs-repo.ts';
import type { KupStore } from '../../persistence/store.ts';
import type { StoreLocation } from '../../persistence/store.ts';
import { openStore } from '../../persistence/store.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { builtInProviders } from '../../providers/registry.ts';
import { upgradeSummary } from '../../clusters/upgrade-summary.ts';
import { CAPI_PROVIDER_NAME } from '../../providers/capi/capi-provider.ts';
import { parseClusterReference, readWorkloadKubeconfig } from '../../providers/capi/workload-kubeconfig.ts';
import { systemClock } from '../../clock/clock.ts';
import { clusterSettings } from '../../engine/maintenance-scheduler.ts';
import { openCluster } from '../../engine/runs.ts';
import { clusterUpgradeInformation, runHistory } from '../../engine/upgrade-report.ts';
import type { UpgradeInformation } from '../../maintenance/upgrade-info.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir, storeLocation } from '../io.ts';
import { historyLines, settingsLines, upgradeInfoLines } from '../upgrade-info-text.ts';

/** How many runs `show` lists in its history. */
const HISTORY_LIMIT = 20;
/** How long `show` gives a reachable cluster to answer what its upgrade information needs (a snapshot of it). */
const FACTS_TIMEOUT_MS = 30_000;

/** Usage of `kup cluster`. */
export const CLUSTER_USAGE = `Usage:
  kup cluster add NAME --kubeconfig FILE [--context C] --provider sim|local
  kup cluster add NAME --provider capi --kubeconfig MGMT [--context C] --cluster NS/NAME [--delegate]
  kup cluster list [-o table|json]
  kup cluster show NAME [-o table|json]
  kup cluster remove NAME [--purge-history]

The clusters kup manages. 'add' checks the name (a DNS label), that the kubeconfig exists and has the context, and
that the provider is known; 'list' and 'show' ask each cluster for its version and nodes, and the catalog for the
upgrades open to it; 'show' adds the upgrade information (maintenance windows and policy, the next window and what
would be upgraded in it and why or why not, end of support, the runs: manual, automatic or rollout); 'remove' refuses while a run of the cluster is active, and keeps the cluster's finished runs and
their events (kup status RUN) unless told --purge-history.

Flags:
  --kubeconfig FILE          kubeconfig of the cluster (add)
  --context C                kubeconfig context (default: the file's current one, recorded at add)
  --provider P               what changes the cluster's machines: sim (kube-sim's infrastructure API), local (kup local start),
                             capi (Cluster API: --kubeconfig is the management cluster's)
  --cluster NS/NAME          capi: the Cluster object on the management cluster; its workload kubeconfig (Secret
                             NAME-kubeconfig) is saved under the data directory and registered
  --delegate                 capi: Cluster API rolls the MachineDeployments (their strategy, maxSurge,
                             maxUnavailable), each control-plane hop setting their version; default: kup in charge
                             (OnDelete, one surge Machine per node, kup's drain, batches and budgets)
  -o, --output table|json    output format of list and show (default table)
  --purge-history            remove: also delete the cluster's finished runs and their events
  --data-dir D               kup's data directory (default $KUP_DATA_DIR, else .kup)
  --db postgres://...        the PostgreSQL database of several kups (default $KUP_DB), instead of the data directory's

Exit codes: 0 done, 1 refused or failed, 2 bad input.`;

/** Options of {@link runClusterCommand}. */
export interface ClusterCommandOptions {
  /** Stops the command (the lead wires SIGINT to it). */
  readonly signal?: AbortSignal;
  /** The clock. @default Date.now */
  readonly now?: () => number;
  /** How long each cluster has to answer `list` and `show`. @default 5000 */
  readonly probeTimeoutMs?: number;
  /** The providers clusters may be added with. @default the built-in ones (builtInProviders) */
  readonly providers?: ProviderRegistry;
}

type Output = 'table' | 'json';

interface ParsedArgs {
  readonly sub: 'add' | 'list' | 'show' | 'remove';
  readonly name?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly provider?: string;
  /** `--cluster NS/NAME` (capi). */
  readonly capiCluster?: string;
  /** `--delegate` (capi): Cluster API rolls the workers. */
  readonly delegate?: boolean;
  readonly output: Output;
  readonly dataDir?: string;
  /** `--db`: a PostgreSQL URL. */
  readonly db?: string;
  readonly purgeHistory?: boolean;
}

const SUBCOMMANDS = ['add', 'list', 'show', 'remove'] as const;

/**
 * Runs `kup cluster` with `args` (after `cluster`); resolves to the exit code: 0 done, 1 refused or failed, 2 bad
 * input. Never throws.
 */
export async function runClusterCommand(args: string[], io: CliIo, options: ClusterCommandOptions = {}): Promise<number> {
  const usageFail = (message: string): number => {
    io.stderr.write(`kup cluster: ${message}\n\nRun 'kup cluster --help' for the usage.\n`);
    return 2;
  };
  let parsed: ParsedArgs | 'help';
  try {
    parsed = parse(args);
  } catch (err) {
    if (err instanceof UsageError) return usageFail(err.message);
    throw err;
  }
  if (parsed === 'help') {
    io.stdout.write(`${CLUSTER_USAGE}\n`);
    return 0;
  }
  const now = options.now ?? Date.now;
  let location: StoreLocation;
  try {
    location = storeLocation({ dataDir: parsed.dataDir, db: parsed.db });
  } catch (err) {
    if (err instanceof UsageError) return usageFail(err.message);
    throw err;
  }
  let store: KupStore | undefined;
  try {
    options.signal?.throwIfAborted();
    store = await openStore({ ...location, now });
    const registry = new ClusterRegistry({ clusters: store.clusters, now, providers: options.providers ?? builtInProviders() });
    return await dispatch(parsed, registry, store, io, { ...options, now });
  } catch (err) {
    if (err instanceof ClusterRegistryError && err.isInputError) {
      return usageFail(`${flagOf(err.details.field)}: ${err.message}`);
    }
    io.stderr.write(`kup cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

function dispatch(args: ParsedArgs, registry: ClusterRegistry, store: KupStore, io: CliIo, live: Live): Promise<number> {
  switch (args.sub) {
    case 'add':
      return args.provider === CAPI_PROVIDER_NAME ? addCapi(args, registry, io, live) : add(args, registry, io);
    case 'list':
      return list(args, registry, io, live);
    case 'show':
      return show(args, registry, store, io, live);
    case 'remove':
      return remove(args, registry, io);
  }
}

async function add(args: ParsedArgs, registry: ClusterRegistry, io: CliIo): Promise<number> {
  const cluster = await registry.add({
    name: args.name ?? '',
    kubeconfigPath: args.kubeconfig ?? '',
    ...(args.context !== undefined ? { context: args.context } : {}),
    provider: args.provider ?? '',
  });
  io.stdout.write(
    `cluster ${cluster.name} added: provider ${cluster.provider}, kubeconfig ${cluster.kubeconfigPath}, context ${cluster.context ?? '(current)'}\n`,
  );
  return 0;
}

/**
 * `add --provider capi`: the workload cluster's kubeconfig is read from the management cluster (Cluster API's Secret)
 * and saved as `<data-dir>/kubeconfigs/NAME.kubeconfig` (0600); the cluster is registered with it, and the provider
 * with the management cluster's kubeconfig and the Cluster's NS/NAME.
 */
async function addCapi(args: ParsedArgs, registry: ClusterRegistry, io: CliIo, live: Live): Promise<number> {
  const name = args.name ?? '';
  // parse() made sure it is there and well formed.
  const ref = parseClusterReference(args.capiCluster);
  if ('problem' in ref) throw new UsageError(`--cluster: ${ref.problem}`);
  const management = resolve(args.kubeconfig ?? '');
  await registry.checkNewName(name);
  await readKubeconfig(management, args.context);
  const kubeconfig = await readWorkloadKubeconfig(
    { kubeconfigPath: management, ...(args.context !== undefined ? { context: args.context } : {}) },
    ref,
    live.signal ?? new AbortController().signal,
  );
  const dir = join(dataDir(args.dataDir), 'kubeconfigs');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${name}.kubeconfig`);
  await writeFile(path, kubeconfig, { mode: 0o600 });
  const cluster = await registry.add({
    name,
    kubeconfigPath: path,
    provider: CAPI_PROVIDER_NAME,
    providerSettings: {
      managementKubeconfig: management,
      ...(args.context !== undefined ? { managementContext: args.context } : {}),
      cluster: `${ref.namespace}/${ref.name}`,
      ...(args.delegate === true ? { workerRollout: 'delegate' } : {}),
    },
  });
  io.stdout.write(
    `cluster ${cluster.name} added: provider capi, Cluster ${ref.namespace}/${ref.name} on ${management}, workload kubeconfig ${cluster.kubeconfigPath}${args.delegate === true ? '; Cluster API rolls its MachineDeployments (--delegate)' : ''}\n`,
  );
  return 0;
}

interface Live {
  readonly now: () => number;
  readonly providers?: ProviderRegistry;
  readonly signal?: AbortSignal;
  readonly probeTimeoutMs?: number;
}

/** Asks every cluster at once (each within the probe timeout) and the catalog in force. */
async function inspectAll(clusters: readonly ClusterRow[], live: Live, dataDirFlag: string | undefined): Promise<ClusterInspection[]> {
  const { catalog } = await activeCatalog(dataDir(dataDirFlag));
  const now = new Date(live.now());
  return Promise.all(
    clusters.map((c) =>
      inspectCluster(c, {
        catalog,
        now,
        ...(live.signal ? { signal: live.signal } : {}),
        ...(live.probeTimeoutMs !== undefined ? { timeoutMs: live.probeTimeoutMs } : {}),
      }),
    ),
  );
}

async function list(args: ParsedArgs, registry: ClusterRegistry, io: CliIo, live: Live): Promise<number> {
  const clusters = await registry.list();
  const inspections = await inspectAll(clusters, live, args.dataDir);
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify(clusters.map((c, i) => clusterDocument(c, inspections[i])), null, 2)}\n`);
    return 0;
  }
  if (clusters.length === 0) {
    io.stdout.write('No clusters registered. Add one: kup cluster add NAME --kubeconfig FILE --provider sim\n');
    return 0;
  }
  const rows = [['NAME', 'PROVIDER', 'VERSION', 'NODES', 'UPGRADE']];
  clusters.forEach((c, i) => {
    const s = inspections[i];
    rows.push(
      s?.reachable === true
        ? [c.name, c.provider, s.version, String(s.nodes), upgradeSummary(s.upgrades)]
        : [c.name, c.provider, 'unreachable', '-', '-'],
    );
  });
  io.stdout.write(`${table(rows)}\n`);
  return 0;
}

async function show(args: ParsedArgs, registry: ClusterRegistry, store: KupStore, io: CliIo, live: Live): Promise<number> {
  const cluster = await registry.show(args.name ?? '');
  const [inspection] = await inspectAll([cluster], live, args.dataDir);
  const runs = await store.runs.list({ cluster: cluster.name });
  const history = await runHistory(store, cluster.name, HISTORY_LIMIT);
  const triggers = new Map(history.map((h) => [h.id, h.trigger]));
  const settings = await clusterSettings(store, cluster.name);
  let info: UpgradeInformation | string = `the cluster could not be read: ${
    inspection?.reachable === false ? inspection.error : 'not inspected'
  }`;
  if (inspection?.reachable === true) {
    try {
      const providers = live.providers ?? builtInProviders();
      const open = await openCluster(store, cluster.name, { providers, clock: systemClock });
      const { catalog } = await activeCatalog(dataDir(args.dataDir));
      const signal = AbortSignal.any([AbortSignal.timeout(FACTS_TIMEOUT_MS), ...(live.signal ? [live.signal] : [])]);
      info = (await clusterUpgradeInformation(store, open, cluster.name, catalog, signal, live.now)).info;
    } catch (err) {
      info = `the cluster could not be read: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (args.output === 'json') {
    const document = {
      ...clusterDocument(cluster, inspection),
      maintenance: settings,
      upgradeInformation: typeof info === 'string' ? { error: info } : info,
      runs: runs.map((r) => ({ ...runDocument(r), trigger: triggers.get(r.id) ?? null })),
    };
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return 0;
  }
  const lines: [string, string][] = [
    ['Name', cluster.name],
    ['Provider', `${cluster.provider}${settingsText(cluster.providerSettings)}`],
    ['Kubeconfig', cluster.kubeconfigPath],
    ['Context', cluster.context ?? '(current)'],
    ['Added', new Date(cluster.addedAt).toISOString()],
  ];
  if (inspection?.reachable === true) {
    const versions = Object.entries(inspection.kubeletVersions)
      .map(([v, n]) => `${v} x${n}`)
      .join(', ');
    const u = inspection.upgrades;
    const listOf = (xs: readonly { version: string; classification: string }[]) =>
      xs.length > 0 ? xs.map((x) => `${x.version}${x.classification === 'supported' ? '' : ` (${x.classification})`}`).join(', ') : 'none';
    lines.push(
      ['Server', inspection.server],
      ['Version', inspection.version],
      ['Nodes', `${inspection.nodes}${versions ? ` (kubelet ${versions})` : ''}`],
      ['Upgrades', upgradeSummary(u)],
    );
    if (u.known) lines.push(['  newer patches', listOf(u.patches)], ['  next minor', listOf(u.nextMinor)]);
  } else {
    lines.push(['Server', inspection?.server ?? '-'], ['Version', `unreachable: ${inspection?.error ?? 'not inspected'}`]);
  }
  const active = runs.filter((r) => r.active);
  lines.push(['Runs', `${runs.length}${active.length > 0 ? ` (active: ${active.map((r) => `${r.id} ${r.phase}`).join(', ')})` : ''}`]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  const sections = [
    lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n'),
    ['Maintenance:', ...settingsLines(settings).map((l) => `  ${l}`)].join('\n'),
    ['Upgrade information:', ...upgradeInfoLines(info).map((l) => `  ${l}`)].join('\n'),
    [
      `History${runs.length > history.length ? ` (newest ${history.length})` : ''}:`,
      ...historyLines(history).map((l) => `  ${l}`),
    ].join('\n'),
  ];
  io.stdout.write(`${sections.join('\n\n')}\n`);
  return 0;
}

async function remove(args: ParsedArgs, registry: ClusterRegistry, io: CliIo): Promise<number> {
  const { cluster, runsKept, runsRemoved } = await registry.remove(args.name ?? '', { purgeHistory: args.purgeHistory === true });
  const runs = (n: number) => `${n} finished run${n === 1 ? '' : 's'}`;
  io.stdout.write(
    runsRemoved > 0
      ? `cluster ${cluster.name} removed, with ${runs(runsRemoved)} and their events\n`
      : runsKept > 0
        ? `cluster ${cluster.name} removed; its ${runs(runsKept)} and their events are kept (kup status RUN; --purge-history deletes them)\n`
        : `cluster ${cluster.name} removed\n`,
  );
  return 0;
}

function clusterDocument(c: ClusterRow, s: ClusterInspection | undefined): Record<string, unknown> {
  const base = {
    name: c.name,
    provider: c.provider,
    providerSettings: c.providerSettings,
    kubeconfig: c.kubeconfigPath,
    context: c.context ?? null,
    addedAt: new Date(c.addedAt).toISOString(),
  };
  if (s?.reachable !== true) return { ...base, reachable: false, server: s?.server ?? null, error: s?.error ?? 'not inspected' };
  const u = s.upgrades;
  return {
    ...base,
    reachable: true,
    server: s.server,
    version: s.version,
    nodes: s.nodes,
    kubeletVersions: s.kubeletVersions,
    upgrades: {
      known: u.known,
      newestPatch: u.patches[u.patches.length - 1]?.version ?? null,
      newestNextMinor: u.nextMinor[u.nextMinor.length - 1]?.version ?? null,
      patches: u.patches,
      nextMinor: u.nextMinor,
      downgrade: u.downgrade ?? null,
    },
  };
}

function runDocument(r: RunSummary): Record<string, unknown> {
  return {
    id: r.id,
    target: r.target,
    phase: r.phase,
    active: r.active,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

function settingsText(settings: unknown): string {
  if (typeof settings !== 'object' || settings === null || Object.keys(settings).length === 0) return '';
  return ` ${JSON.stringify(settings)}`;
}

function flagOf(field: RegistryField | undefined): string {
  switch (field) {
    case 'name':
      return 'NAME';
    case 'kubeconfig':
      return '--kubeconfig';
    case 'context':
      return '--context';
    case 'provider':
      return '--provider';
    case undefined:
      return 'input';
  }
}

function parse(args: string[]): ParsedArgs | 'help' {
  if (args.includes('--help') || args.includes('-h')) return 'help';
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        provider: { type: 'string' },
        cluster: { type: 'string' },
        delegate: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        'data-dir': { type: 'string' },
        db: { type: 'string' },
        'purge-history': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [sub, ...rest] = positionals;
  if (sub === undefined) throw new UsageError(`a subcommand is required: one of ${SUBCOMMANDS.join(', ')}`);
  if (!isSubcommand(sub)) throw new UsageError(`unknown subcommand "${sub}": one of ${SUBCOMMANDS.join(', ')}`);
  const str = (key: string): string | undefined => (typeof values[key] === 'string' ? values[key] : undefined);
  const output = str('output') ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: "${output}" is not one of table, json`);

  const allowed: Record<ParsedArgs['sub'], readonly string[]> = {
    add: ['kubeconfig', 'context', 'provider', 'cluster', 'delegate', 'data-dir', 'db'],
    list: ['output', 'data-dir', 'db'],
    show: ['output', 'data-dir', 'db'],
    remove: ['data-dir', 'db', 'purge-history'],
  };
  for (const key of Object.keys(values)) {
    if (!allowed[sub].includes(key)) throw new UsageError(`${key === 'output' ? '-o' : `--${key}`}: not a flag of 'kup cluster ${sub}'`);
  }
  const wantsName = sub !== 'list';
  if (wantsName && rest.length === 0) throw new UsageError(`NAME is required: kup cluster ${sub} NAME`);
  if (rest.length > (wantsName ? 1 : 0)) throw new UsageError(`unexpected argument "${rest[wantsName ? 1 : 0] ?? ''}"`);
  if (sub === 'add') {
    if (str('kubeconfig') === undefined) throw new UsageError('--kubeconfig FILE is required');
    if (str('provider') === undefined) throw new UsageError('--provider is required (sim, local or capi)');
    if (str('cluster') !== undefined && str('provider') !== CAPI_PROVIDER_NAME) {
      throw new UsageError('--cluster: only with --provider capi (the Cluster object on the management cluster)');
    }
    if (values['delegate'] === true && str('provider') !== CAPI_PROVIDER_NAME) {
      throw new UsageError('--delegate: only with --provider capi (Cluster API rolls the MachineDeployments)');
    }
    if (str('provider') === CAPI_PROVIDER_NAME) {
      if (str('cluster') === undefined) throw new UsageError('--cluster NS/NAME is required with --provider capi');
      const ref = parseClusterReference(str('cluster'));
      if ('problem' in ref) throw new UsageError(`--cluster: ${ref.problem}`);
    }
  }
  const name = rest[0];
  const kubeconfig = str('kubeconfig');
  const context = str('context');
  const provider = str('provider');
  const capiCluster = str('cluster');
  const dir = str('data-dir');
  const db = str('db');
  return {
    sub,
    output,
    ...(name !== undefined ? { name } : {}),
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    ...(context !== undefined ? { context } : {}),
    ...(provider !== undefined ? { provider } : {}),
    ...(capiCluster !== undefined ? { capiCluster } : {}),
    ...(values['delegate'] === true ? { delegate: true } : {}),
    ...(dir !== undefined ? { dataDir: dir } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(values['purge-history'] === true ? { purgeHistory: true } : {}),
  };
}

function isSubcommand(s: string): s is ParsedArgs['sub'] {
  return (SUBCOMMANDS as readonly string[]).includes(s);
}

/** Rows as aligned columns (the first row is the header). */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd()).join('\n');
}
