/**
 * The maintenance scheduler of a long-lived kup (`kup serve`): on the injected clock, it starts automatic upgrades
 * inside clusters' maintenance windows, pauses an automatic run whose window ended (at the run's next safe point:
 * the run machine's `window-closed`), and resumes it when the next window opens. What to do is decided by the pure
 * `schedulerActions` (src/maintenance/scheduler.ts); this loop reads the store and the clusters, and acts.
 *
 * It sleeps on the clock until the next window opens or closes, but at most `maxSleepMs`: settings changed by
 * another kup process (or the CLI) and new catalog data reach it within that time. {@link MaintenanceScheduler.nudge}
 * wakes it at once (the service calls it when settings change through its API).
 *
 * @module
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type { AutoUpgradePolicy } from '../maintenance/auto-upgrade.ts';
import { DEFAULT_POLICY, parsePolicy } from '../maintenance/auto-upgrade.ts';
import type { MaintenanceSchedule } from '../maintenance/schedule.ts';
import { EMPTY_SCHEDULE, parseSchedule } from '../maintenance/schedule.ts';
import type {
  ActiveRun,
  AutomaticTrigger,
  ScheduledCluster,
  SchedulerAction,
  SchedulerDecision,
} from '../maintenance/scheduler.ts';
import { schedulerActions } from '../maintenance/scheduler.ts';
import { upgradeInformation } from '../maintenance/upgrade-info.ts';
import { nextWindow, windowAt } from '../maintenance/windows.ts';
import type { KupStore } from '../persistence/store.ts';
import type { Catalog } from '../versions/index.ts';
import { applyEvents, loadRun } from './apply-event.ts';
import { commandRun, runRequest } from './runs.ts';
import type { UpgradeRequest } from './runs.ts';
import type { UpgradeFacts } from './upgrade-facts.ts';

/** What the scheduler reports (the service logs it). */
export interface SchedulerObserver {
  acted?(action: SchedulerAction, runId?: string): void;
  failed?(cluster: string, error: unknown): void;
}

/** Options of {@link MaintenanceScheduler}. */
export interface MaintenanceSchedulerOptions {
  readonly store: KupStore;
  readonly clock: Clock;
  /** The catalog in force. */
  readonly catalog: () => Promise<Catalog>;
  /** Reads a cluster's versions and API usage (`readUpgradeFacts` over the cluster's connection). */
  readonly facts: (cluster: string, signal: AbortSignal) => Promise<UpgradeFacts>;
  /** Creates a run for the request and hands it to whatever drives runs (the run supervisor); returns its id. */
  readonly startRun: (cluster: string, request: UpgradeRequest, signal: AbortSignal) => Promise<string>;
  /** Tells the run driver a run was paused or resumed (the supervisor's kick). */
  readonly kick?: (runId: string) => void;
  /** Longest sleep between two looks. @default 300000 (5 minutes) */
  readonly maxSleepMs?: number;
  readonly observer?: SchedulerObserver;
}

/** The lifecycle settings of a cluster, read back and validated (bad stored data counts as none, and is reported). */
export interface ClusterSettings {
  readonly labels: Readonly<Record<string, string>>;
  readonly schedule: MaintenanceSchedule;
  readonly policy: AutoUpgradePolicy;
}

/** A cluster's settings from the store, or the defaults (no window, nothing automatic) when none were set. */
export async function clusterSettings(store: KupStore, cluster: string): Promise<ClusterSettings> {
  const row = await store.lifecycle.get(cluster);
  if (row === undefined) return { labels: {}, schedule: EMPTY_SCHEDULE, policy: DEFAULT_POLICY };
  return { labels: row.labels, schedule: parseSchedule(row.schedule), policy: parsePolicy(row.policy) };
}

/** See the module comment. */
export class MaintenanceScheduler {
  readonly #o: MaintenanceSchedulerOptions;
  readonly #controller = new AbortController();
  #timer: Cancel = () => undefined;
  #running: Promise<SchedulerDecision | undefined> | undefined;
  #again = false;

  constructor(options: MaintenanceSchedulerOptions) {
    this.#o = options;
  }

  /** Looks now, then whenever a window opens or closes. */
  start(): void {
    this.nudge();
  }

  /** Looks again now (settings changed). */
  nudge(): void {
    if (this.#controller.signal.aborted) return;
    this.#timer();
    void this.evaluate();
  }

  /** Resolves once no look is in progress (tests wait on it after moving the clock, instead of sleeping). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Stops: no more looks; a look in progress finishes its current action. */
  async stop(): Promise<void> {
    this.#controller.abort(new Error('the maintenance scheduler is stopping'));
    this.#timer();
    await this.#running;
  }

  /** One look: decides and acts; resolves with what it decided. A look asked during one runs right after it. */
  evaluate(): Promise<SchedulerDecision | undefined> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let decision: SchedulerDecision | undefined;
      do {
        this.#again = false;
        decision = await this.#look();
      } while (this.#again && !this.#controller.signal.aborted);
      return decision;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #look(): Promise<SchedulerDecision | undefined> {
    const { store, clock } = this.#o;
    const signal = this.#controller.signal;
    if (signal.aborted) return undefined;
    const now = clock.now();
    const catalog = await this.#o.catalog();
    const clusters: ScheduledCluster[] = [];
    for (const row of await store.lifecycle.list()) {
      try {
        const settings = await clusterSettings(store, row.cluster);
        const activeRun = await this.#activeRun(row.cluster);
        // The cluster is read only when a run could start now: inside a window with no run going.
        let info;
        if (activeRun === undefined && windowAt(settings.schedule.windows, now) !== undefined) {
          const facts = await this.#o.facts(row.cluster, signal);
          info = upgradeInformation({
            cluster: row.cluster,
            ...facts,
            policy: settings.policy,
            schedule: settings.schedule,
            catalog,
            now,
          });
        }
        clusters.push({
          cluster: row.cluster,
          schedule: settings.schedule,
          ...(info ? { info } : {}),
          ...(activeRun ? { activeRun } : {}),
        });
      } catch (err) {
        if (signal.aborted) return undefined;
        this.#o.observer?.failed?.(row.cluster, err);
      }
    }
    const decision = schedulerActions(clusters, now);
    // Outside every window nothing was read: wake for the next opening too.
    for (const c of clusters) {
      if (c.info !== undefined || c.activeRun !== undefined) continue;
      const next = nextOpening(c.schedule, now);
      if (next !== undefined && (decision.wakeAt === undefined || next < decision.wakeAt))
        Object.assign(decision, { wakeAt: next });
    }
    for (const action of decision.actions) {
      if (signal.aborted) break;
      try {
        this.#o.observer?.acted?.(action, await this.#act(action, now, signal));
      } catch (err) {
        this.#o.observer?.failed?.(action.cluster, err);
      }
    }
    this.#sleepUntil(decision.wakeAt);
    return decision;
  }

  async #act(action: SchedulerAction, now: number, signal: AbortSignal): Promise<string> {
    const { store } = this.#o;
    switch (action.type) {
      case 'start-run': {
        const images = Object.values(action.images);
        const first = images[0];
        // One image for all pools moved: kup's requests carry one (pools on other images wait for another run).
        const same =
          first !== undefined
            ? Object.entries(action.images).filter(([, i]) => i.image === first.image && i.to === first.to)
            : [];
        const request: UpgradeRequest = {
          ...(action.to !== undefined ? { to: action.to } : {}),
          ...(first !== undefined
            ? {
                image: `${first.image}:${first.to}`,
                ...(action.to === undefined ? { pools: same.map(([pool]) => pool) } : {}),
              }
            : {}),
          trigger: action.trigger,
        };
        return this.#o.startRun(action.cluster, request, signal);
      }
      case 'pause-run':
        await applyEvents(
          store,
          action.runId,
          [{ type: 'window-closed', ...(action.resumesAt !== undefined ? { resumesAt: action.resumesAt } : {}) }],
          now,
        );
        this.#o.kick?.(action.runId);
        return action.runId;
      case 'resume-run':
        await commandRun(store, action.runId, 'resume', now);
        this.#o.kick?.(action.runId);
        return action.runId;
    }
  }

  async #activeRun(cluster: string): Promise<ActiveRun | undefined> {
    const row = (await this.#o.store.runs.list({ cluster, active: true }))[0];
    if (row === undefined) return undefined;
    const { state } = await loadRun(this.#o.store, row.id);
    const request = await runRequest(this.#o.store, row.id);
    return {
      id: row.id,
      phase: state.status.phase,
      ...(state.status.phase === 'paused' ? { pauseReason: state.status.reason } : {}),
      ...(isAutomatic(request.trigger) ? { trigger: request.trigger } : {}),
    };
  }

  #sleepUntil(wakeAt: number | undefined): void {
    if (this.#controller.signal.aborted) return;
    const now = this.#o.clock.now();
    const max = this.#o.maxSleepMs ?? 300_000;
    const ms = wakeAt === undefined ? max : Math.min(max, Math.max(0, wakeAt - now));
    this.#timer();
    this.#timer = this.#o.clock.after(ms, () => void this.evaluate(), { keepAlive: false });
  }
}

function isAutomatic(trigger: unknown): trigger is AutomaticTrigger {
  return typeof trigger === 'object' && trigger !== null && (trigger as { kind?: unknown }).kind === 'automatic';
}

function nextOpening(schedule: MaintenanceSchedule, now: number): number | undefined {
  // The windows alone: whether an exclusion holds the upgrade is decided once the window is open and the cluster read.
  return windowAt(schedule.windows, now)?.end ?? nextWindow(schedule.windows, now)?.start;
}
