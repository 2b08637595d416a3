/**
 * What the maintenance scheduler does at an instant, as a pure function of each cluster's schedule, its upgrade
 * information and its run: start an automatic run inside a window, pause an automatic run whose window ended (the
 * run machine's `window-closed`: started steps finish, nothing new starts), resume it when the next window opens.
 * Manual runs are the operator's: the scheduler never touches them, and never starts a run beside one.
 *
 * It also says when to look again (the earliest window start or end that matters), so the engine's loop sleeps on
 * its clock until then instead of polling.
 *
 * @module
 */
import type { UpgradeKind } from './exclusions.ts';
import type { MaintenanceSchedule } from './schedule.ts';
import { scheduleStatus } from './schedule.ts';
import type { UpgradeInformation } from './upgrade-info.ts';
import type { Interval } from './windows.ts';

/** How a run was started, as its request records it: the scheduler's runs carry this. */
export interface AutomaticTrigger {
  readonly kind: 'automatic';
  /** Why it runs, for the history (`expired`, `patch`, `stable`, `rapid`, images). */
  readonly reasons: readonly string[];
  /** What it upgrades, for deciding which exclusions hold it. */
  readonly upgrade: UpgradeKind;
  /** The window it started in. */
  readonly window: Interval;
}

/** A cluster's run that has not ended, as the scheduler sees it. */
export interface ActiveRun {
  readonly id: string;
  /** The run's status phase. */
  readonly phase: string;
  /** The pause's reason, when paused. */
  readonly pauseReason?: string;
  /** Set for runs the scheduler started. */
  readonly trigger?: AutomaticTrigger;
}

/** One cluster as the scheduler sees it. */
export interface ScheduledCluster {
  readonly cluster: string;
  readonly schedule: MaintenanceSchedule;
  /** Its upgrade information now; undefined when it could not be read (the cluster is skipped, and says why). */
  readonly info?: UpgradeInformation;
  readonly activeRun?: ActiveRun;
}

/** What the scheduler does. */
export type SchedulerAction =
  | {
      readonly type: 'start-run';
      readonly cluster: string;
      /** Target Kubernetes version. */
      readonly to?: string;
      /** Machine image moves by pool. */
      readonly images: Readonly<Record<string, { readonly image: string; readonly from: string; readonly to: string }>>;
      readonly trigger: AutomaticTrigger;
    }
  | { readonly type: 'pause-run'; readonly cluster: string; readonly runId: string; readonly resumesAt?: number }
  | { readonly type: 'resume-run'; readonly cluster: string; readonly runId: string; readonly window: Interval };

/** What {@link schedulerActions} decided. */
export interface SchedulerDecision {
  readonly actions: readonly SchedulerAction[];
  /** When something may next change (a window opening or closing); undefined when nothing is ahead. */
  readonly wakeAt?: number;
}

const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'rolled-back']);

/** Decides, for every cluster, what to do at `now`. */
export function schedulerActions(clusters: readonly ScheduledCluster[], now: number): SchedulerDecision {
  const actions: SchedulerAction[] = [];
  let wakeAt: number | undefined;
  const wake = (t: number | undefined) => {
    if (t !== undefined && t > now && (wakeAt === undefined || t < wakeAt)) wakeAt = t;
  };
  for (const c of clusters) {
    const run = c.activeRun !== undefined && !ENDED.has(c.activeRun.phase) ? c.activeRun : undefined;
    if (run !== undefined) {
      const trigger = run.trigger;
      if (trigger === undefined) continue; // the operator's run: not ours to pause or resume
      const status = scheduleStatus(c.schedule, trigger.upgrade, now);
      if (run.phase === 'paused') {
        if (run.pauseReason === 'window-closed' && status.open !== undefined)
          actions.push({ type: 'resume-run', cluster: c.cluster, runId: run.id, window: status.open });
        else wake(status.next?.start);
        if (status.open !== undefined) wake(status.open.end);
        continue;
      }
      if (status.open === undefined) {
        actions.push({
          type: 'pause-run',
          cluster: c.cluster,
          runId: run.id,
          ...(status.next ? { resumesAt: status.next.start } : {}),
        });
        wake(status.next?.start);
      } else wake(status.open.end);
      continue;
    }
    const planned = c.info?.run;
    if (planned == null) continue;
    if (planned.openNow !== null) {
      actions.push({
        type: 'start-run',
        cluster: c.cluster,
        ...(planned.to !== undefined ? { to: planned.to } : {}),
        images: planned.images,
        trigger: { kind: 'automatic', reasons: c.info?.reasons ?? [], upgrade: planned.kind, window: planned.openNow },
      });
      wake(planned.openNow.end);
    } else wake(planned.next?.start);
  }
  return { actions, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}
