/**
 * A cluster's upgrade report, as the API's upgrade information and `kup cluster show` and `kup maintenance show`
 * answer it: its lifecycle settings, what kup would upgrade automatically in which window and why (read from the
 * cluster itself), and its runs, each marked manual, automatic (a maintenance window) or rollout.
 *
 * @module
 */
import type { ActiveRunFacts, UpgradeInformation } from '../maintenance/upgrade-info.ts';
import { upgradeInformation } from '../maintenance/upgrade-info.ts';
import type { KupStore } from '../persistence/store.ts';
import type { Catalog } from '../versions/index.ts';
import type { ClusterSettings } from './maintenance-scheduler.ts';
import { clusterSettings } from './maintenance-scheduler.ts';
import type { OpenCluster } from './runs.ts';
import { loadRun } from './apply-event.ts';
import { runRequest } from './runs.ts';
import { readUpgradeFacts } from './upgrade-facts.ts';

/** How a run came to be. */
export type RunTrigger = 'manual' | 'automatic' | 'rollout';

/** One run in a cluster's history. */
export interface RunHistoryEntry {
  readonly id: string;
  readonly phase: string;
  readonly target: string;
  readonly createdAt: number;
  readonly trigger: RunTrigger;
}

function triggerOf(request: { trigger?: unknown; rollout?: unknown }): RunTrigger {
  return request.trigger ? 'automatic' : request.rollout ? 'rollout' : 'manual';
}

/** The cluster's run that has not ended, if one, with who started it and, when paused, why. */
export async function activeRunFacts(store: KupStore, cluster: string): Promise<ActiveRunFacts | undefined> {
  const row = (await store.runs.list({ cluster, active: true }))[0];
  if (row === undefined) return undefined;
  const { state } = await loadRun(store, row.id);
  const status = state.status;
  return {
    id: row.id,
    trigger: triggerOf(await runRequest(store, row.id)),
    phase: status.phase,
    ...(status.phase === 'paused' ? { pauseMessage: status.message } : {}),
  };
}

/** The newest `limit` runs of `cluster`, newest first, each with what started it. */
export async function runHistory(store: KupStore, cluster: string, limit = 20): Promise<RunHistoryEntry[]> {
  const runs = await store.runs.list({ cluster, limit });
  return Promise.all(
    runs.map(async (r) => {
      const request = await runRequest(store, r.id);
      return { id: r.id, phase: r.phase, target: r.target, createdAt: r.createdAt, trigger: triggerOf(request) };
    }),
  );
}

/** The settings of `cluster` and its upgrade information, read from the open cluster at `now`. */
export async function clusterUpgradeInformation(
  store: KupStore,
  cluster: OpenCluster,
  name: string,
  catalog: Catalog,
  signal: AbortSignal,
  now: () => number,
): Promise<{ settings: ClusterSettings; info: UpgradeInformation }> {
  const settings = await clusterSettings(store, name);
  const facts = await readUpgradeFacts(cluster, catalog, signal, now);
  const activeRun = await activeRunFacts(store, name);
  const info = upgradeInformation({
    cluster: name,
    ...facts,
    ...(activeRun !== undefined ? { activeRun } : {}),
    policy: settings.policy,
    schedule: settings.schedule,
    catalog,
    now: now(),
  });
  return { settings, info };
}
