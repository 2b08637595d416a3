/**
 * `kup maintenance show|set CLUSTER`: a cluster's labels, maintenance windows and exclusions, and auto-upgrade
 * policy, and its upgrade information (what kup would upgrade automatically, in which window, and why or why not).
 * `kup serve` on the same data directory runs the automatic upgrades. Exit codes: 0 done, 1 failed, 2 bad input.
 */
import { parseArgs } from 'node:util';
import { activeCatalog } from '../../catalog/catalog-file.ts';
import { systemClock } from '../../clock/clock.ts';
import { clusterSettings } from '../../engine/maintenance-scheduler.ts';
import { openCluster } from '../../engine/runs.ts';
import { clusterUpgradeInformation } from '../../engine/upgrade-report.ts';
import { exitCodeOf } from '../../errors/codes.ts';
import { parsePolicy } from '../../maintenance/auto-upgrade.ts';
import type { MaintenanceExclusion } from '../../maintenance/exclusions.ts';
import { parseSchedule } from '../../maintenance/schedule.ts';
import type { UpgradeInformation } from '../../maintenance/upgrade-info.ts';
import type { MaintenanceWindow } from '../../maintenance/windows.ts';
import type { KupStore } from '../../persistence/store.ts';
import { openStore } from '../../persistence/store.ts';
import { builtInProviders } from '../../providers/registry.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir, storeLocation } from '../io.ts';
import { settingsLines, upgradeInfoLines } from '../upgrade-info-text.ts';

/** Usage of `kup maintenance`. */
export const MAINTENANCE_USAGE = `Usage:
  kup maintenance show CLUSTER [-o table|json]
  kup maintenance set CLUSTER [--window 'DAYS HH:MM DURATION ZONE']... [--clear-windows]
                              [--exclusion 'NAME START END SCOPE [ZONE]']... [--remove-exclusion NAME]...
                              [--kubernetes none|patch|stable|rapid] [--stable-min-age DAYS]
                              [--images none|patch|minor|major] [--label KEY=VALUE | --label KEY-]...

Maintenance windows: automatic upgrades start only inside one (a cluster without a window gets none); a run still
going when its window ends pauses at its next safe point and resumes in the next window. Windows are local time in
their zone, across DST changes. Exclusions hold upgrades of a scope for a period: no-upgrades, no-minor-upgrades,
no-node-upgrades. A version past its end of support is upgraded in the next window even with auto-upgrade off.
'show' reads the cluster for its upgrade information; 'kup serve' on this data directory runs the upgrades. With
--db postgres://... (default $KUP_DB) the clusters are those of that database, shared by the service's replicas.

  --window 'sat,sun 02:00 4h Europe/Berlin'     days, local start, duration (30m, 4h, 1h30m), IANA zone;
                                                 the --window flags given replace the cluster's windows
  --exclusion 'black-friday 2026-11-27 2026-11-30 no-upgrades Europe/Berlin'
                                                 days (whole, in the zone; default UTC) or RFC 3339 times
Exit codes: 0 done, 1 failed, 2 bad input.`;

/** Runs `kup maintenance` with `args`; resolves to the exit code. */
export async function runMaintenanceCommand(args: string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  let store: KupStore | undefined;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        window: { type: 'string', multiple: true },
        'clear-windows': { type: 'boolean' },
        exclusion: { type: 'string', multiple: true },
        'remove-exclusion': { type: 'string', multiple: true },
        kubernetes: { type: 'string' },
        'stable-min-age': { type: 'string' },
        images: { type: 'string' },
        label: { type: 'string', multiple: true },
        output: { type: 'string', short: 'o' },
        'data-dir': { type: 'string' },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true) {
      io.stdout.write(`${MAINTENANCE_USAGE}\n`);
      return 0;
    }
    const [sub, cluster, ...extra] = positionals;
    if (sub !== 'show' && sub !== 'set') throw new UsageError(`unknown maintenance command "${sub ?? ''}" (show, set)`);
    if (cluster === undefined) throw new UsageError(`kup maintenance ${sub} needs the cluster's name`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0] ?? ''}"`);
    store = await openStore({ ...storeLocation({ dataDir: values['data-dir'], db: values.db }), now });
    if ((await store.clusters.get(cluster)) === undefined)
      throw new UsageError(`cluster ${cluster} is not registered (kup cluster list)`);
    const current = await clusterSettings(store, cluster);
    if (sub === 'set') {
      const labels = { ...current.labels };
      for (const l of values.label ?? []) {
        const m = /^([^=]+)=(.*)$/.exec(l);
        if (m?.[1] !== undefined) labels[m[1]] = m[2] ?? '';
        else if (l.endsWith('-')) delete labels[l.slice(0, -1)];
        else throw new UsageError(`--label: "${l}" is not KEY=VALUE or KEY-`);
      }
      const windows: unknown[] = values['clear-windows'] === true ? [] : [...current.schedule.windows];
      if (values.window !== undefined) windows.splice(0, windows.length, ...values.window.map(windowOf));
      const removed = new Set(values['remove-exclusion'] ?? []);
      const exclusions: unknown[] = current.schedule.exclusions.filter((e) => !removed.has(e.name));
      for (const text of values.exclusion ?? []) {
        const e = exclusionOf(text);
        const at = exclusions.findIndex((x) => (x as MaintenanceExclusion).name === e.name);
        if (at >= 0) exclusions[at] = e;
        else exclusions.push(e);
      }
      const schedule = parseSchedule({ windows, exclusions });
      const age = values['stable-min-age'];
      const policy = parsePolicy({
        ...current.policy,
        ...(values.kubernetes !== undefined ? { kubernetes: values.kubernetes } : {}),
        ...(values.images !== undefined ? { images: values.images } : {}),
        ...(age !== undefined ? { stableMinAgeDays: Number(age) } : {}),
      });
      await store.lifecycle.put({ cluster, labels, schedule, policy, updatedAt: now() });
      io.stdout.write(`cluster ${cluster}: maintenance settings saved\n`);
      return 0;
    }
    const catalog = (await activeCatalog(dataDir(values['data-dir']))).catalog;
    let info: UpgradeInformation | string;
    try {
      const open = await openCluster(store, cluster, { providers: builtInProviders(), clock: systemClock });
      info = (await clusterUpgradeInformation(store, open, cluster, catalog, AbortSignal.timeout(30_000), now)).info;
    } catch (err) {
      info = `the cluster could not be read: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (values.output === 'json') {
      io.stdout.write(
        `${JSON.stringify({ settings: current, upgradeInformation: typeof info === 'string' ? { error: info } : info }, null, 2)}\n`,
      );
      return 0;
    }
    const lines = [`cluster ${cluster}`, ...[...settingsLines(current), ...upgradeInfoLines(info)].map((l) => `  ${l}`)];
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (err) {
    const usage =
      err instanceof UsageError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    io.stderr.write(
      `kup maintenance: ${err instanceof Error ? err.message : String(err)}${usage ? "\n\nRun 'kup maintenance --help' for the usage." : ''}\n`,
    );
    return usage ? 2 : exitCodeOf(err);
  } finally {
    await store?.close();
  }
}

/** `sat,sun 02:00 4h Europe/Berlin` as a window (checked by parseSchedule). */
function windowOf(text: string): Omit<MaintenanceWindow, 'days'> & { days: string[] } {
  const [days, start, duration, timeZone, ...rest] = text.trim().split(/\s+/);
  if (days === undefined || start === undefined || duration === undefined || timeZone === undefined || rest.length > 0)
    throw new UsageError(
      `--window: "${text}" is not 'DAYS HH:MM DURATION ZONE' (e.g. 'sat,sun 02:00 4h Europe/Berlin')`,
    );
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(duration);
  if (!m || (m[1] === undefined && m[2] === undefined))
    throw new UsageError(`--window: "${duration}" is not a duration such as 30m, 4h or 1h30m`);
  return { days: days.split(','), start, durationMinutes: Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0), timeZone };
}

/** `NAME START END SCOPE [ZONE]` as an exclusion (checked by parseSchedule). */
function exclusionOf(text: string): Record<string, string> & { name: string } {
  const [name, start, end, scope, timeZone, ...rest] = text.trim().split(/\s+/);
  if (name === undefined || start === undefined || end === undefined || scope === undefined || rest.length > 0)
    throw new UsageError(`--exclusion: "${text}" is not 'NAME START END SCOPE [ZONE]'`);
  return { name, start, end, scope, ...(timeZone !== undefined ? { timeZone } : {}) };
}
