/**
 * The upgrade information of one cluster: what kup would upgrade automatically, when, and why (or why not). One pure
 * function of the cluster's versions, the APIs it still uses, its policy and schedule, the catalog and `now`; the
 * scheduler acts on it and `kup cluster show`, the API and the console print it, so what they say is what happens.
 *
 * An automatic minor upgrade is held while the cluster uses an API the target removes (GKE's deprecation insights),
 * naming the objects; a forced move off an expired minor is held the same way (its precheck would block it anyway),
 * and says so. Patches of the current minor still come while a minor upgrade is held.
 *
 * @module
 */
import type { Catalog } from '../versions/index.ts';
import {
  classifyMinor,
  compareVersions,
  findMinor,
  formatMinor,
  formatVersion,
  latestUsablePatch,
  minorOf,
  parseVersion,
  releaseClassification,
  removedApisBetween,
} from '../versions/index.ts';
import type { AutoUpgradePolicy, ImageChoice, KubernetesChoice } from './auto-upgrade.ts';
import { chooseImage, chooseKubernetes } from './auto-upgrade.ts';
import type { ResolvedExclusion, UpgradeKind } from './exclusions.ts';
import type { MaintenanceSchedule } from './schedule.ts';
import { scheduleStatus } from './schedule.ts';
import type { Interval } from './windows.ts';

/** An API version and kind the cluster still uses, and where that shows. */
export interface ApiInUse {
  /** `group/version` (`v1` for the core group). */
  readonly apiVersion: string;
  readonly kind: string;
  /** `namespace/name` (or `name`) of the objects applied with it; empty when only clients' requests show it. */
  readonly objects: readonly string[];
}

/** One worker pool as the cluster runs it. */
export interface PoolFacts {
  readonly name: string;
  /** The pool's kubelet version. */
  readonly version: string;
  readonly image?: { readonly name: string; readonly version: string };
}

/** The cluster's run that has not ended, as the upgrade information names it. */
export interface ActiveRunFacts {
  readonly id: string;
  /** Who started it: an operator, the maintenance scheduler, or a fleet rollout. */
  readonly trigger: 'manual' | 'automatic' | 'rollout';
  /** The run's status phase. */
  readonly phase: string;
  /** When paused: why, in the run's words (a window pause says when it resumes). */
  readonly pauseMessage?: string;
}

/** What {@link upgradeInformation} reads. */
export interface UpgradeInformationInput {
  readonly cluster: string;
  /** The control plane's version (the lowest API server's). */
  readonly controlPlane: string;
  readonly pools: readonly PoolFacts[];
  /** APIs in use that some minor removes (the `deprecated-apis` evidence). */
  readonly apisInUse: readonly ApiInUse[];
  readonly policy: AutoUpgradePolicy;
  readonly schedule: MaintenanceSchedule;
  readonly catalog: Catalog;
  readonly now: number;
  /** The cluster's run that has not ended, if one: no automatic run starts beside it. */
  readonly activeRun?: ActiveRunFacts;
}

/** A removed API that holds an automatic minor upgrade. */
export interface ApiHold {
  readonly apiVersion: string;
  readonly kind: string;
  readonly removedIn: string;
  readonly replacement: string | null;
  readonly objects: readonly string[];
}

/** The Kubernetes part of the answer: the choice, and whether something holds it. */
export type KubernetesDecision = KubernetesChoice & {
  /** Set when the chosen upgrade is held: the APIs in use that its target removes. */
  readonly heldBy?: readonly ApiHold[];
};

/** What would run in a window, when, and under which exclusions. */
export interface PlannedRun {
  /** Target Kubernetes version; absent for an image-only run. */
  readonly to?: string;
  /** Image moves, by pool. */
  readonly images: Readonly<Record<string, { readonly image: string; readonly from: string; readonly to: string }>>;
  readonly kind: UpgradeKind;
  /** The period open now in which it may start, if any. */
  readonly openNow: Interval | null;
  /** The next period in which it may run. */
  readonly next: Interval | null;
  /** Exclusions in force now that hold it. */
  readonly heldByExclusions: readonly ResolvedExclusion[];
}

/** The upgrade information of a cluster. */
export interface UpgradeInformation {
  readonly cluster: string;
  readonly evaluatedAt: number;
  readonly controlPlane: {
    readonly version: string;
    /** `supported`, `deprecated`, `expired`, or `unknown` when the catalog does not list it. */
    readonly classification: string;
    /** Last day of support of its minor. */
    readonly endOfSupport?: string;
  };
  readonly kubernetes: KubernetesDecision;
  readonly images: readonly ({ readonly pool: string } & ImageChoice)[];
  /** The maintenance window open now and the next one (windows alone; exclusions are in `run`). */
  readonly window: { readonly open: Interval | null; readonly next: Interval | null };
  /** What an automatic run would do, or null when nothing is due (or all of it is held). */
  readonly run: PlannedRun | null;
  /** The cluster's run that has not ended, if one (an automatic run paused between windows included). */
  readonly activeRun?: ActiveRunFacts;
  /** Why, in a few lines for people (the CLI and the console print them). */
  readonly reasons: readonly string[];
}

/** Works out the cluster's upgrade information. */
export function upgradeInformation(input: UpgradeInformationInput): UpgradeInformation {
  const { catalog, policy, now } = input;
  const at = new Date(now);
  const reasons: string[] = [];
  const active = input.activeRun;
  // First, since it decides what happens next: a run going on (or paused) holds the cluster, and an automatic run
  // paused at its window's end is what the next window resumes.
  if (active !== undefined)
    reasons.push(
      active.pauseMessage !== undefined
        ? `run ${active.id} (${active.trigger}) is paused: ${active.pauseMessage}${active.trigger === 'automatic' ? '' : '; no automatic run starts beside it'}`
        : `run ${active.id} (${active.trigger}) is ${active.phase}: no automatic run starts beside it`,
    );
  const cpVersion = parseVersion(input.controlPlane);
  const cpMinor = minorOf(cpVersion);
  const endOfSupport = findMinor(catalog, cpMinor)?.endOfLife;
  const classification =
    releaseClassification(catalog, cpVersion, at) ?? classifyMinor(catalog, cpMinor, at) ?? 'unknown';

  const choice = chooseKubernetes(catalog, policy, input.controlPlane, now);
  let kubernetes: KubernetesDecision = choice;
  reasons.push(`Kubernetes: ${choice.message}`);
  if (choice.action === 'upgrade' && choice.minor) {
    const holds = removedApisBetween(catalog, formatMinor(cpMinor), formatMinor(minorOf(parseVersion(choice.to))))
      .map((api) => {
        const apiVersion = api.group ? `${api.group}/${api.version}` : api.version;
        const use = input.apisInUse.find((u) => u.apiVersion === apiVersion && u.kind === api.kind);
        return use === undefined
          ? undefined
          : {
              apiVersion,
              kind: api.kind,
              removedIn: api.removedIn,
              replacement: api.replacement,
              objects: use.objects,
            };
      })
      .filter((h): h is ApiHold => h !== undefined);
    if (holds.length > 0) {
      kubernetes = { ...choice, heldBy: holds };
      reasons.push(
        `Kubernetes: ${choice.to} is held: the cluster still uses ${holds.map((h) => `${h.apiVersion} ${h.kind} (removed in ${h.removedIn}${h.objects.length > 0 ? `: ${h.objects.join(', ')}` : ''})`).join('; ')}; migrate ${holds.length === 1 ? 'it' : 'them'}${holds.some((h) => h.replacement) ? ` to ${[...new Set(holds.flatMap((h) => (h.replacement ? [h.replacement] : [])))].join(', ')}` : ''}`,
      );
    }
  }

  // While a minor upgrade is held, patches of the current minor still come (as GKE's deprecation holds allow).
  let patchMeanwhile: string | undefined;
  if (kubernetes.heldBy !== undefined) {
    const latest = latestUsablePatch(catalog, cpMinor, at);
    if (latest !== undefined && compareVersions(latest, cpVersion) > 0) {
      patchMeanwhile = formatVersion(latest);
      reasons.push(`Kubernetes: meanwhile ${patchMeanwhile}, the latest patch of ${formatMinor(cpMinor)}`);
    }
  }
  const images = input.pools.flatMap((pool) =>
    pool.image ? [{ pool: pool.name, ...chooseImage(catalog, policy, pool.image.name, pool.image.version, now) }] : [],
  );
  for (const i of images) reasons.push(`pool ${i.pool}: ${i.message}`);

  const windowNow = scheduleStatus(input.schedule, { minor: false, nodes: false }, now);
  const window = { open: windowNow.window ?? null, next: nextWindowStart(input.schedule, now) };
  // Pools left behind the control plane (a run that moved it and then ended early: cancelled, failed, rolled back
  // on its pools) catch up with it under any Kubernetes channel, as GKE's node auto-upgrades follow the control
  // plane: otherwise a channel satisfied by the control plane would never move them.
  const behind =
    policy.kubernetes !== 'none'
      ? input.pools.filter((p) => compareVersions(parseVersion(p.version), cpVersion) < 0)
      : [];
  for (const p of behind)
    reasons.push(
      `pool ${p.name}: runs ${p.version}, behind the control plane's ${input.controlPlane}: its nodes move to it`,
    );
  const k8sTarget =
    kubernetes.action === 'upgrade' && kubernetes.heldBy === undefined
      ? { to: kubernetes.to, minor: kubernetes.minor }
      : patchMeanwhile !== undefined
        ? { to: patchMeanwhile, minor: false }
        : behind.length > 0
          ? { to: input.controlPlane, minor: false }
          : undefined;
  const imageMoves = Object.fromEntries(
    images.flatMap((i) =>
      i.action === 'upgrade' ? [[i.pool, { image: i.image, from: i.from, to: i.to }] as const] : [],
    ),
  );
  let run: PlannedRun | null = null;
  if (k8sTarget !== undefined || Object.keys(imageMoves).length > 0) {
    // A Kubernetes upgrade replaces or upgrades the nodes too, so it is a node upgrade as well.
    const kind: UpgradeKind = { minor: k8sTarget?.minor ?? false, nodes: true };
    const status = scheduleStatus(input.schedule, kind, now);
    run = {
      ...(k8sTarget ? { to: k8sTarget.to } : {}),
      images: imageMoves,
      kind,
      openNow: status.open ?? null,
      next: status.next ?? null,
      heldByExclusions: status.heldBy,
    };
    if (input.schedule.windows.length === 0)
      reasons.push('no maintenance window: automatic upgrades never start (set one)');
    else if (status.open) reasons.push(`runs now: the window is open until ${new Date(status.open.end).toISOString()}`);
    else if (status.heldBy.length > 0)
      reasons.push(
        `held by exclusion ${status.heldBy.map((e) => `${e.name} (${e.scope} until ${new Date(e.end).toISOString()})`).join(', ')}${status.next ? `; next chance ${new Date(status.next.start).toISOString()}` : ''}`,
      );
    else if (status.next) reasons.push(`runs in the next window, ${new Date(status.next.start).toISOString()}`);
    else reasons.push('no window in the coming months lets it run (exclusions cover them)');
  }
  return {
    cluster: input.cluster,
    evaluatedAt: now,
    controlPlane: { version: input.controlPlane, classification, ...(endOfSupport ? { endOfSupport } : {}) },
    kubernetes,
    images,
    window,
    run,
    ...(active !== undefined ? { activeRun: active } : {}),
    reasons,
  };
}

function nextWindowStart(schedule: MaintenanceSchedule, now: number): Interval | null {
  return (
    scheduleStatus({ windows: schedule.windows, exclusions: [] }, { minor: false, nodes: false }, now, 35).next ?? null
  );
}
