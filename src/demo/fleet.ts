/**
 * The demo fleet: five simulated clusters (dev, staging, prod, legacy, expired; see {@link demoFleetSpec}) started
 * by this process, each a kube-sim server on its own loopback port reached over HTTPS like any cluster (ADR 001),
 * registered in kup's store with the `sim` provider, and ready in seconds. Their versions are recorded as they
 * change, so a restart rebuilds each at the versions it had (`fleet-state.ts`). `kup serve --demo` starts it.
 */
import { join } from 'node:path';
import type { Cancel, Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/clock.ts';
import type { SimCluster } from '../kube-sim/sim-cluster.ts';
import { startSimCluster } from '../kube-sim/sim-cluster.ts';
import { ensurePrivateDir } from '../persistence/private-files.ts';
import type { KupStore } from '../persistence/store.ts';
import type { Catalog } from '../versions/index.ts';
import { DemoFleetError } from './errors.ts';
import type { DemoClusterSpec } from './fleet-spec.ts';
import { demoFleetSpec } from './fleet-spec.ts';
import type { RecordedCluster, RecordedVersions } from './fleet-state.ts';
import { atRecordedVersions, readFleetState, readVersions, writeFleetState } from './fleet-state.ts';

/** Options of {@link startDemoFleet}. */
export interface StartDemoFleetOptions {
  /** kup's data directory: the fleet keeps its state and kubeconfigs in `<dataDir>/demo-fleet` (0700). */
  readonly dataDir: string;
  /** Where the clusters are registered (and stay registered when the fleet stops). */
  readonly store: KupStore;
  /** The catalog the fleet's versions are chosen from. */
  readonly catalog: Catalog;
  /** The date that classifies the catalog's versions. @default now */
  readonly now?: Date;
  /** Timers of the version recorder. @default the system clock */
  readonly clock?: Clock;
  /** How often each cluster's versions are read and, when changed, recorded. @default 1000 */
  readonly recordEveryMs?: number;
}

/** One running cluster of the fleet. */
export interface DemoFleetCluster {
  readonly name: string;
  /** What it shows, one line. */
  readonly about: string;
  /** Its kubeconfig (0600), also the registered cluster's. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** Its control plane's version now. */
  version(): string;
  /** Whether it was rebuilt from recorded versions (false: built anew). */
  readonly restored: boolean;
}

/** The running fleet. */
export interface DemoFleet {
  /** Where its state and kubeconfigs are. */
  readonly dir: string;
  readonly clusters: readonly DemoFleetCluster[];
  /** Reads every cluster's versions and records those that changed; resolves once written. */
  record(): Promise<void>;
  /** Records the versions one last time, then stops every cluster. The registrations stay. */
  stop(): Promise<void>;
}

interface Running {
  readonly spec: DemoClusterSpec;
  readonly sim: SimCluster;
  readonly kubeconfigPath: string;
  readonly restored: boolean;
  recorded: RecordedVersions | undefined;
}

/**
 * Starts the demo fleet and registers its clusters. A cluster recorded by an earlier start is rebuilt at its recorded
 * versions, on its old port when free; any other is built as {@link demoFleetSpec} describes it.
 *
 * @throws {DemoFleetError} KUP-DEMO-001 when a cluster of one of the fleet's names is registered with another
 *   kubeconfig (nothing is started); KUP-DEMO-002 when the state file is unreadable; KUP-DEMO-003 for a catalog
 *   without the versions the fleet needs.
 */
export async function startDemoFleet(options: StartDemoFleetOptions): Promise<DemoFleet> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const recordEveryMs = options.recordEveryMs ?? 1_000;
  const dir = ensurePrivateDir(join(options.dataDir, 'demo-fleet'));
  const statePath = join(dir, 'fleet.json');
  const state = readFleetState(statePath);
  const specs = demoFleetSpec(options.catalog, options.now ?? new Date());
  // A name taken by someone's own cluster is refused before anything starts: the demo must not shadow it.
  for (const spec of specs) {
    const row = await store.clusters.get(spec.name);
    const ours = kubeconfigOf(dir, spec.name);
    if (row && row.kubeconfigPath !== ours) {
      throw new DemoFleetError(
        'nameTaken',
        `cluster "${spec.name}" is registered with ${row.kubeconfigPath}, not the demo fleet's ${ours}: remove it (kup cluster remove ${spec.name}) or use another data directory`,
        { cluster: spec.name },
      );
    }
  }

  const started = await Promise.allSettled(specs.map((spec) => startOne(spec, dir, state.clusters[spec.name])));
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(running.map((r) => r.sim.stop()));
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  try {
    for (const r of running) {
      if (!(await store.clusters.get(r.spec.name))) {
        await store.clusters.add({
          name: r.spec.name,
          kubeconfigPath: r.kubeconfigPath,
          provider: 'sim',
          providerSettings: {},
          addedAt: clock.now(),
        });
      }
    }
  } catch (err) {
    await Promise.all(running.map((r) => r.sim.stop()));
    throw err;
  }

  const stopping = new AbortController();
  let recording: Promise<void> | undefined;
  const record = (): Promise<void> => {
    // One recording at a time: a second caller waits for the one in flight, then reads again.
    const next = (recording ?? Promise.resolve()).then(() => recordOnce());
    recording = next.finally(() => {
      if (recording === next) recording = undefined;
    });
    return next;
  };
  const recordOnce = async (): Promise<void> => {
    const reads = await Promise.allSettled(running.map((r) => readVersions(r.sim, stopping.signal)));
    let changed = false;
    reads.forEach((read, i) => {
      const r = running[i];
      // A cluster that does not answer keeps what was recorded last; the next round reads it again.
      if (!r || read.status !== 'fulfilled' || JSON.stringify(read.value) === JSON.stringify(r.recorded)) return;
      r.recorded = read.value;
      changed = true;
    });
    if (changed) writeFleetState(statePath, stateOf(running));
  };
  // Polled, not watched: the versions a rebuild needs (pool targets, control-plane images) are the infrastructure
  // API's, which has no watch; one small read per cluster a second costs nothing next to a rollout.
  let cancelTick: Cancel = () => undefined;
  const tick = (): void => {
    cancelTick = clock.after(recordEveryMs, tick);
    record().catch(() => undefined);
  };
  await record();
  tick();

  let stopped: Promise<void> | undefined;
  return {
    dir,
    clusters: running.map((r) => ({
      name: r.spec.name,
      about: r.spec.about,
      kubeconfigPath: r.kubeconfigPath,
      url: r.sim.url,
      restored: r.restored,
      version: () => r.sim.version().gitVersion,
    })),
    record,
    stop() {
      stopped ??= (async () => {
        cancelTick();
        await record().catch(() => undefined);
        stopping.abort(new Error('the demo fleet is stopping'));
        await Promise.all(running.map((r) => r.sim.stop()));
      })();
      return stopped;
    },
  };
}

function kubeconfigOf(dir: string, name: string): string {
  return join(dir, `${name}.kubeconfig`);
}

async function startOne(spec: DemoClusterSpec, dir: string, recorded: RecordedCluster | undefined): Promise<Running> {
  const kubeconfigPath = kubeconfigOf(dir, spec.name);
  const scenario = recorded ? atRecordedVersions(spec.scenario, recorded.versions) : spec.scenario;
  const start = (port: number) =>
    startSimCluster({ scenario, port, kubeconfigPath, ...(recorded ? { token: recorded.token } : {}) });
  let sim: SimCluster;
  try {
    sim = await start(recorded?.port ?? 0);
  } catch (err) {
    // The old port is someone else's now: any port will do (the kubeconfig is rewritten either way).
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !recorded) throw err;
    sim = await start(0);
  }
  // A cluster on a new port is recorded again at the first reading, with that port.
  const samePort = recorded !== undefined && Number(new URL(sim.url).port) === recorded.port;
  return {
    spec,
    sim,
    kubeconfigPath,
    restored: recorded !== undefined,
    recorded: samePort ? recorded.versions : undefined,
  };
}

function stateOf(running: readonly Running[]): { clusters: Record<string, RecordedCluster> } {
  const clusters: Record<string, RecordedCluster> = {};
  for (const r of running) {
    if (r.recorded)
      clusters[r.spec.name] = { port: Number(new URL(r.sim.url).port), token: r.sim.token, versions: r.recorded };
  }
  return { clusters };
}
