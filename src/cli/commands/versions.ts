/**
 * `kup versions [--kubeconfig F [--context C]] [-o json]`: the catalog in force, and, for a cluster, what it can
 * move to. `kup catalog update --from FILE|URL`: install a newer catalog without a new kup.
 */
import { parseArgs } from 'node:util';
import { STALE_CATALOG_DAYS, catalogAge } from '../../catalog/catalog-age.ts';
import { describeCatalogChanges } from '../../catalog/catalog-changes.ts';
import { activeCatalog, installCatalog } from '../../catalog/catalog-file.ts';
import { ClusterError, ClusterErrorCode } from '../../kube-api/errors.ts';
import type { WayForward } from '../../versions/index.ts';
import { availableUpgrades, catalogOverview } from '../../versions/index.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir, storeLocation } from '../io.ts';

/** Usage of `kup versions`. */
export const VERSIONS_USAGE = `Usage: kup versions [--cluster NAME | --kubeconfig F [--context C]] [-o table|json] [--all] [--data-dir D] [--db URL]

Shows the Kubernetes releases kup knows (classification, end of support, latest patch) and how old the catalog is
(a warning past 30 days), and, for a registered cluster (--cluster) or a kubeconfig, the versions it can move to
(newer patches, the next minor, the one-patch-back downgrade); a cluster on an expired minor is told when its
support ended and the control plane's way, hop by hop, to the oldest supported minor and to the newest.`;

/** Usage of `kup catalog update`. */
export const CATALOG_USAGE = `Usage: kup catalog update --from FILE|URL [--data-dir D]

Installs a newer version catalog as the one in force: new patch releases arrive without a new kup. The source is
  - kup's own catalog (JSON), which replaces the one in force whole;
  - the endoflife.date API answer (https://endoflife.date/api/v1/products/kubernetes), or
  - the kubernetes/website release data (data/releases/releases.yaml or schedule.yaml),
    whose releases and support dates are merged into the catalog in force (its upgrade notes, removed APIs,
    component compatibility and images are kept).
The result is validated whole and written atomically; a bad source leaves the catalog in force as it was. The
command prints what changed. \`kup versions\` says how old the catalog is, and warns past ${STALE_CATALOG_DAYS} days.`;

/** `kup versions`. */
export async function runVersionsCommand(args: string[], io: CliIo, now: Date = new Date()): Promise<number> {
  const v = parse(args, { cluster: { type: 'string' }, kubeconfig: { type: 'string' }, context: { type: 'string' }, output: { type: 'string', short: 'o' }, all: { type: 'boolean' }, 'data-dir': { type: 'string' }, db: { type: 'string' } }, VERSIONS_USAGE);
  const output = v['output'] ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: "${String(output)}" is not one of table, json`);
  if (v['context'] !== undefined && v['kubeconfig'] === undefined) throw new UsageError('--context needs --kubeconfig');
  if (v['cluster'] !== undefined && v['kubeconfig'] !== undefined) throw new UsageError('--cluster and --kubeconfig exclude each other');
  const dir = dataDir(v['data-dir'] as string | undefined);
  const { catalog, source } = await activeCatalog(dir);
  if (typeof v['cluster'] === 'string') {
    // A registered cluster: its kubeconfig and context come from kup's registry.
    const { openStore } = await import('../../persistence/store.ts');
    const store = await openStore(storeLocation({ dataDir: dir, db: v['db'] as string | undefined }));
    try {
      const row = await store.clusters.get(v['cluster']);
      if (!row) throw new UsageError(`--cluster: "${v['cluster']}" is not registered (kup cluster list shows the registered ones)`);
      v['kubeconfig'] = row.kubeconfigPath;
      if (row.context) v['context'] = row.context;
    } finally {
      await store.close();
    }
  }
  const overview = catalogOverview(catalog, now).filter((m) => v['all'] === true || m.classification !== 'expired');
  let cluster: { name: string; version: string; upgrades: ReturnType<typeof availableUpgrades> } | undefined;
  if (typeof v['kubeconfig'] === 'string') {
    // client-node takes about half a second to load: only when a cluster is asked.
    const { connect } = await import('../../kube-api/connect.ts');
    const conn = connect({ kubeconfigPath: v['kubeconfig'], ...(typeof v['context'] === 'string' ? { context: v['context'] } : {}) });
    const res = await conn.getText('/version');
    if (res.status !== 200) throw new ClusterError(ClusterErrorCode.api, `${conn.server}/version answered ${res.status}: ${res.body.slice(0, 200)}`, { status: res.status });
    const reported = (JSON.parse(res.body) as { gitVersion?: unknown }).gitVersion;
    const version = typeof reported === 'string' ? reported : '';
    // A registered cluster goes by its name in kup; a kubeconfig's by its context's cluster.
    const name = typeof v['cluster'] === 'string' ? v['cluster'] : conn.name;
    cluster = { name, version, upgrades: availableUpgrades(version, catalog, now) };
  }
  writeVersions(io, { source, age: catalogAge(catalog, now), minors: overview, ...(cluster ? { cluster } : {}) }, output);
  return 0;
}

/** What `kup versions` shows: the catalog in force, its age, its minors (already filtered), a cluster's way on. */
export interface VersionsView {
  source: string;
  age: ReturnType<typeof catalogAge>;
  minors: ReturnType<typeof catalogOverview>;
  cluster?: { name: string; version: string; upgrades: ReturnType<typeof availableUpgrades> };
}

/** Prints `kup versions` (locally and with --server, so the two print the same). */
export function writeVersions(io: CliIo, view: VersionsView, output: 'table' | 'json'): void {
  const { source, age, cluster } = view;
  const overview = view.minors;
  if (age.stale) {
    // On stderr, so `-o json` stays one document.
    io.stderr.write(
      `warning: the version catalog is ${age.days} days old (${age.published ? 'published' : 'newest release'} ${age.since}): newer patches, security fixes among them, are likely out. Update it: kup catalog update --from URL|FILE\n`,
    );
  }
  if (output === 'json') {
    const about = { source, since: age.since, ageDays: age.days, stale: age.stale };
    io.stdout.write(JSON.stringify({ catalogSource: source, catalog: about, minors: overview, ...(cluster ? { cluster } : {}) }, null, 2) + '\n');
    return;
  }
  const rows = [['MINOR', 'LATEST', 'CLASSIFICATION', 'RELEASED', 'END OF SUPPORT']];
  for (const m of overview) rows.push([m.minor, m.latest ?? '-', m.classification, m.releaseDate, m.endOfLife]);
  const ageText = `${age.published ? 'published' : 'newest release'} ${age.since}, ${age.days} day${age.days === 1 ? '' : 's'} old`;
  io.stdout.write(`Kubernetes releases (catalog: ${source}, ${ageText})\n${table(rows)}\n`);
  if (cluster) {
    const u = cluster.upgrades;
    io.stdout.write(`\nCluster ${cluster.name} runs ${cluster.version}.\n`);
    if (!u.known) io.stdout.write('  This version is not in the catalog: update the catalog (kup catalog update).\n');
    const past = u.pastEndOfSupport;
    if (past) {
      io.stdout.write(`  ${past.minor} is past its end of support (${past.endOfLife}); the control plane cannot skip a minor, and the expired versions on the way need no --allow-expired.\n`);
      const way = (label: string, w: WayForward | undefined) =>
        w && io.stdout.write(`  ${label} (${w.minor}), ${w.hops.length} hop${w.hops.length === 1 ? '' : 's'}: ${w.hops.join(' -> ')}\n`);
      way('to the oldest supported minor', past.toOldestSupported);
      if (past.toNewest?.minor !== past.toOldestSupported?.minor) way('to the newest minor', past.toNewest);
      if (!past.toOldestSupported) io.stdout.write('  The catalog has no supported minor: update the catalog (kup catalog update).\n');
    }
    const line = (label: string, list: readonly { version: string; classification: string }[]) =>
      io.stdout.write(`  ${label}: ${list.length ? list.map((x) => `${x.version} (${x.classification})`).join(', ') : 'none'}\n`);
    line('newer patches', u.patches);
    line('next minor', u.nextMinor);
    io.stdout.write(`  downgrade: ${u.downgrade ? `${u.downgrade.version} (one patch back)` : 'none'}\n`);
  }
}

/** `kup catalog update --from FILE|URL`. */
export async function runCatalogCommand(args: string[], io: CliIo, now: Date = new Date()): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'update') throw new UsageError(`unknown catalog command "${sub ?? ''}"\n\n${CATALOG_USAGE}`);
  const v = parse(rest, { from: { type: 'string' }, 'data-dir': { type: 'string' } }, CATALOG_USAGE);
  if (typeof v['from'] !== 'string') throw new UsageError(`--from FILE|URL is required\n\n${CATALOG_USAGE}`);
  const dir = dataDir(v['data-dir'] as string | undefined);
  const installed = await installCatalog(dir, v['from'], { now });
  const { catalog } = installed;
  const newest = catalog.releases[catalog.releases.length - 1]?.version ?? 'none';
  const merged = installed.format === 'kup' ? '' : `, ${installed.format} release data merged into the ${installed.replaced} catalog`;
  io.stdout.write(
    `catalog installed from ${v['from']}${merged}: ${catalog.minors.length} minors, ${catalog.releases.length} releases (newest ${newest}), published ${catalog.published ?? 'on an unknown day'}\n` +
      describeCatalogChanges(installed.changes, catalog).map((line) => `  ${line}\n`).join('') +
      (installed.leftOut.length > 0 ? `  left out, older than the catalog's oldest minor ${catalog.minors[0]?.minor ?? ''}: ${installed.leftOut.join(', ')}\n` : ''),
  );
  return 0;
}

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(args: string[], options: Spec, usage: string): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd()).join('\n');
}
