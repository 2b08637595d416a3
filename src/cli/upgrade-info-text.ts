/**
 * A cluster's maintenance settings, upgrade information and run history in lines for people, as `kup maintenance
 * show` and `kup cluster show` print them.
 *
 * @module
 */
import type { ClusterSettings } from '../engine/maintenance-scheduler.ts';
import type { RunHistoryEntry } from '../engine/upgrade-report.ts';
import type { UpgradeInformation } from '../maintenance/upgrade-info.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The settings: labels, policy, windows and exclusions. */
export function settingsLines(settings: ClusterSettings): string[] {
  const { labels, policy, schedule } = settings;
  const lines = [
    `labels: ${
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '(none)'
    }`,
    `policy: kubernetes ${policy.kubernetes}${policy.kubernetes === 'stable' ? ` (minor out ${policy.stableMinAgeDays} days)` : ''}, images ${policy.images}`,
  ];
  for (const w of schedule.windows)
    lines.push(`window: ${w.days.join(',')} ${w.start} for ${w.durationMinutes} min (${w.timeZone})`);
  if (schedule.windows.length === 0) lines.push('window: none (no automatic upgrade starts)');
  for (const e of schedule.exclusions)
    lines.push(`exclusion ${e.name}: ${e.scope} from ${e.start} to ${e.end}${e.timeZone ? ` (${e.timeZone})` : ''}`);
  return lines;
}

/** The upgrade information: end of support, next window, what would run in it, and why (or why not). */
export function upgradeInfoLines(info: UpgradeInformation | string): string[] {
  if (typeof info === 'string') return [`upgrade information: ${info}`];
  const cp = info.controlPlane;
  const lines = [
    `control plane: ${cp.version} (${cp.classification}${cp.endOfSupport ? `, end of support ${cp.endOfSupport}` : ''})`,
  ];
  if (info.window.open) lines.push(`window open now: until ${iso(info.window.open.end)}`);
  lines.push(
    info.window.next
      ? `next window: ${iso(info.window.next.start)} to ${iso(info.window.next.end)}`
      : 'next window: none',
  );
  const run = info.run;
  if (run === null) lines.push('automatic upgrade: nothing due');
  else {
    const images = Object.entries(run.images).map(([pool, m]) => `pool ${pool} image ${m.from} -> ${m.to}`);
    const what = [...(run.to ? [`Kubernetes ${run.to}`] : []), ...images].join(', ');
    const when = run.openNow
      ? 'now'
      : run.next
        ? `at ${iso(run.next.start)}`
        : run.heldByExclusions.length > 0
          ? 'held by exclusions'
          : 'in no window';
    lines.push(`automatic upgrade: ${what} (${run.kind.minor ? 'a minor upgrade' : run.to ? 'a patch upgrade' : 'machine images'}), ${when}`);
  }
  for (const r of info.reasons) lines.push(`- ${r}`);
  return lines;
}

/** The runs, newest first, each marked manual, automatic or rollout. */
export function historyLines(history: readonly RunHistoryEntry[]): string[] {
  if (history.length === 0) return ['runs: none'];
  return history.map((r) => `run ${r.id}: ${r.trigger}, to ${r.target}, ${r.phase}, created ${iso(r.createdAt)}`);
}
