/**
 * What the web console shows, computed from the service's own data: the fleet with each cluster's version facts from
 * the catalog (classification, end of support, release notes), pools with image upgrades, the active run's
 * progress; one cluster with its nodes and every version with why it is offered or not; a run with the commands its
 * state machine takes now and each node's state. The console's routes (routes/console.ts) answer with these.
 *
 * @module
 */
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import { loadRun } from '../engine/apply-event.ts';
import { allowedCommands } from '../rollout/machine/allowed-commands.ts';
import { nodeRunStates } from '../rollout/machine/node-states.ts';
import { progressOf } from '../rollout/machine/progress.ts';
import { isTerminal } from '../rollout/machine/state.ts';
import { transition } from '../rollout/machine/transition.ts';
import type { RunState } from '../rollout/machine/types.ts';
import type { AvailableVersion, Catalog, Classification } from '../versions/index.ts';
import {
  availableUpgrades,
  classifyImageVersion,
  findMinor,
  minorOf,
  parseVersion,
  releaseClassification,
  tryParseVersion,
} from '../versions/index.ts';
import type { ClusterStatus } from './cluster-status.ts';

/** What the catalog says of a version. */
export interface VersionFacts {
  readonly classification: Classification | 'unknown';
  /** Last day of its minor's support, YYYY-MM-DD. */
  readonly endOfSupport: string | null;
  readonly releaseNotes: string | null;
  readonly upgradeNotes: string[];
}

/** The catalog's facts of a version; `unknown` for one it does not know. */
export function versionFacts(catalog: Catalog, version: string, now: number): VersionFacts {
  const parsed = tryParseVersion(version.replace(/^v/, ''));
  if (parsed === undefined)
    return { classification: 'unknown', endOfSupport: null, releaseNotes: null, upgradeNotes: [] };
  const minor = findMinor(catalog, minorOf(parsed));
  return {
    classification: releaseClassification(catalog, parsed, new Date(now)) ?? 'unknown',
    endOfSupport: minor?.endOfLife ?? null,
    releaseNotes: minor?.releaseNotes ?? null,
    upgradeNotes: [...(minor?.upgradeNotes ?? [])],
  };
}

/**
 * A newer machine image than `image` in the catalog, as `<name>-<version>`: the image is read as a catalog image's
 * name, a dash and its version (`gardenlinux-1592.6`). Null when the image is not the catalog's or is the newest
 * usable one.
 */
export function imageUpgrade(catalog: Catalog, image: string | undefined, now: number): string | null {
  if (image === undefined) return null;
  const known = [...catalog.machineImages]
    .sort((a, b) => b.name.length - a.name.length)
    .find((m) => image.startsWith(`${m.name}-`));
  if (known === undefined) return null;
  const current = image.slice(known.name.length + 1);
  const usable = known.versions.filter((v) => {
    const c = classifyImageVersion(v, new Date(now));
    return c === 'supported' || c === 'deprecated';
  });
  const index = known.versions.findIndex((v) => v.version === current);
  const newer = usable.filter((v) => known.versions.indexOf(v) > index);
  const newest = newer[newer.length - 1];
  return index >= 0 && newest !== undefined ? `${known.name}-${newest.version}` : null;
}

/** A pool in the fleet. */
export interface PoolView {
  readonly name: string;
  readonly nodes: number;
  readonly kubeletVersions: string[];
  readonly image: string | null;
  readonly imageUpgrade: string | null;
}

/** A cluster's run, as the fleet shows it. */
export interface ActiveRunView {
  readonly id: string;
  readonly phase: string;
  readonly percent: number;
}

/** One cluster of the fleet. */
export interface FleetClusterView extends VersionFacts {
  readonly name: string;
  readonly provider: string;
  readonly server: string | null;
  readonly version: string | null;
  readonly health: 'healthy' | 'unreachable';
  readonly healthMessage: string | null;
  readonly pools: PoolView[];
  /** Versions it can be upgraded to, oldest first. */
  readonly availableUpgrades: string[];
  readonly activeRun: ActiveRunView | null;
}

/** The fleet's row of a cluster. */
export function fleetCluster(
  row: ClusterRow,
  status: ClusterStatus,
  run: ActiveRunView | null,
  catalog: Catalog,
  now: number,
): FleetClusterView {
  const s = status.inspection;
  const pools = (status.pools ?? []).map((p) => ({
    name: p.name,
    nodes: p.nodes,
    kubeletVersions: [p.kubeletVersion],
    image: p.machineImage ?? null,
    imageUpgrade: imageUpgrade(catalog, p.machineImage, now),
  }));
  const base = { name: row.name, provider: row.provider, pools, activeRun: run };
  if (!s.reachable) {
    return {
      ...base,
      server: s.server ?? null,
      version: null,
      health: 'unreachable',
      healthMessage: s.error,
      availableUpgrades: [],
      classification: 'unknown',
      endOfSupport: null,
      releaseNotes: null,
      upgradeNotes: [],
    };
  }
  const version = s.version.replace(/^v/, '');
  return {
    ...base,
    ...versionFacts(catalog, version, now),
    server: s.server,
    version,
    health: 'healthy',
    healthMessage: null,
    availableUpgrades: [...s.upgrades.patches, ...s.upgrades.nextMinor].map((v) => v.version),
  };
}

/** A version a cluster could be offered, with why it is not when it is not. */
export interface VersionOptionView extends VersionFacts {
  readonly version: string;
  readonly eligible: boolean;
  readonly reason: string | null;
  readonly kind: 'patch' | 'next-minor' | 'downgrade' | 'withheld';
}

/**
 * Every version the dialog shows for a cluster at `current`: newer patches, the next minor and the one-patch-back
 * downgrade (eligible), and those withheld (expired or previews) with the reason; a skipped minor is never offered,
 * which the hint says.
 */
export function versionOptions(
  catalog: Catalog,
  current: string,
  now: number,
): { readonly options: readonly VersionOptionView[]; readonly hint: string } {
  const u = availableUpgrades(current, catalog, new Date(now));
  const view = (
    v: AvailableVersion,
    kind: VersionOptionView['kind'],
    eligible: boolean,
    reason: string | null,
  ): VersionOptionView => ({
    ...versionFacts(catalog, v.version, now),
    version: v.version,
    eligible,
    reason,
    kind,
  });
  const options = [
    ...u.patches.map((v) => view(v, 'patch', true, null)),
    ...u.nextMinor.map((v) => view(v, 'next-minor', true, null)),
    ...(u.downgrade ? [view(u.downgrade, 'downgrade', true, null)] : []),
    ...u.withheld.map((v) =>
      view(
        v,
        'withheld',
        false,
        v.classification === 'preview'
          ? 'a preview release: not offered for production clusters'
          : `${v.classification}: past its support`,
      ),
    ),
  ];
  const minor = minorOf(parseVersion(current.replace(/^v/, '')));
  const hint = u.known
    ? `Only newer patches of ${minor.major}.${minor.minor}, releases of the next minor (minors are never skipped), and one patch back are offered.`
    : `The catalog does not know ${current}: update the catalog (kup catalog update) to see what it can move to.`;
  return { options, hint };
}

/** A run, as the console's run page reads it. */
export interface RunView {
  /** Control-plane version before and after (the same for an image-only run). */
  readonly from: string;
  readonly to: string;
  readonly kind: 'version' | 'image';
  readonly percent: number;
  readonly allowed: ReturnType<typeof allowedCommands>;
  readonly nodes: ReturnType<typeof nodeRunStates>;
  readonly progress: ReturnType<typeof progressOf>;
  readonly status: RunState['status'];
  readonly createdAt: number;
  readonly endedAt: number | null;
  readonly pointOfNoReturn: string | null;
}

/** Share of the run's work done, 0-100: finished node and snapshot steps over all of them (a rollback counts its own). */
export function runPercent(state: RunState): number {
  if (state.status.phase === 'succeeded') return 100;
  let total = 0;
  let done = 0;
  for (const phase of state.plan.phases) {
    for (const batch of phase.batches) {
      for (const step of batch.steps) {
        total++;
        const stage = state.units[step.key]?.stage;
        if (stage === 'done' || stage === 'skipped' || stage === 'quarantined') done++;
      }
    }
  }
  return total === 0 ? 0 : Math.floor((100 * done) / total);
}

/** The view of a run's state at `now` (a pause past its limit reads as the end it is, as the run routes do). */
export function runView(stored: RunState, now: number): RunView {
  const state = isTerminal(stored) ? stored : transition(stored, { type: 'tick' }, now).state;
  const status = state.status;
  return {
    from: state.plan.from,
    to: state.plan.to,
    kind: state.plan.kind,
    percent: runPercent(state),
    allowed: allowedCommands(state, now),
    nodes: nodeRunStates(state),
    progress: progressOf(state, state.plan, now),
    status,
    createdAt: state.createdAt,
    endedAt: 'at' in status && typeof status.at === 'number' ? status.at : null,
    pointOfNoReturn: state.plan.pointOfNoReturn?.message ?? null,
  };
}

/** The fleet's progress of the active run of each cluster. */
export async function activeRunViews(
  store: Parameters<typeof loadRun>[0],
  runs: readonly { readonly id: string; readonly cluster: string; readonly phase: string }[],
): Promise<Map<string, ActiveRunView>> {
  const views = new Map<string, ActiveRunView>();
  await Promise.all(
    runs.map(async (r) => {
      if (views.has(r.cluster)) return;
      const { state } = await loadRun(store, r.id);
      views.set(r.cluster, { id: r.id, phase: state.status.phase, percent: runPercent(state) });
    }),
  );
  return views;
}
