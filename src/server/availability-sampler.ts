/**
 * Availability during a run: while the service drives a run, it reads the run's cluster's PodDisruptionBudgets at
 * once and then every few seconds on the service's clock, and appends one `availability` event to the run with each
 * budget's healthy pods and its floor (`status.currentHealthy` and `status.desiredHealthy`, as the disruption
 * controller computes them). The samples live in the run's own event log, so they survive a restart, reach the
 * console through the run's event stream like any event, and the run page charts them against each floor.
 *
 * @module
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { Clock } from '../clock/clock.ts';
import type { OpenCluster } from '../engine/runs.ts';
import { send } from '../kube-api/requests.ts';
import type { KupStore } from '../persistence/store.ts';

/** The step name of a sample in a run's events. */
export const AVAILABILITY_STEP = 'availability';

/** One PodDisruptionBudget at one moment. */
export interface PdbSample {
  /** `namespace/name`. */
  readonly pdb: string;
  /** Pods the budget counts as healthy now. */
  readonly currentHealthy: number;
  /** The floor: the fewest healthy pods the budget allows. */
  readonly desiredHealthy: number;
  /** Pods the budget covers. */
  readonly expectedPods: number;
}

/** Each budget's healthy pods and floor, sorted by name; a budget the controller has not yet counted is left out. */
export function pdbSamples(items: readonly V1PodDisruptionBudget[]): PdbSample[] {
  const samples: PdbSample[] = [];
  for (const pdb of items) {
    const status = pdb.status;
    if (!status || status.observedGeneration === undefined) continue;
    samples.push({
      pdb: `${pdb.metadata?.namespace ?? ''}/${pdb.metadata?.name ?? ''}`,
      currentHealthy: status.currentHealthy,
      desiredHealthy: status.desiredHealthy,
      expectedPods: status.expectedPods,
    });
  }
  return samples.sort((a, b) => a.pdb.localeCompare(b.pdb));
}

/** Options of {@link AvailabilitySampler}. */
export interface AvailabilitySamplerOptions {
  readonly store: KupStore;
  readonly clock: Clock;
  /** Connects to a registered cluster. */
  readonly openCluster: (cluster: string) => Promise<OpenCluster>;
  /** Time between samples. @default 2000 */
  readonly everyMs?: number;
  /** Told after each sample is stored (the service wakes its event streams). */
  readonly sampled?: () => void;
  /**
   * Told when a sample could not be taken after one that was (or as the first), not again for each failure that
   * follows: an API server restarting during a control-plane upgrade answers 503 for a while. Sampling goes on.
   */
  readonly failed?: (run: string, cluster: string, error: unknown) => void;
  /** Told when a sample is taken again after failures, with how many samples were missed. */
  readonly recovered?: (run: string, cluster: string, missed: number) => void;
}

/** Samples each driven run's PDBs until the service stops driving it. */
export class AvailabilitySampler {
  readonly #options: AvailabilitySamplerOptions;
  readonly #running = new Map<string, { readonly stop: AbortController; readonly done: Promise<void> }>();

  constructor(options: AvailabilitySamplerOptions) {
    this.#options = options;
  }

  /** Starts sampling a run (nothing if it is already sampled). */
  start(run: string, cluster: string): void {
    if (this.#running.has(run)) return;
    const stop = new AbortController();
    const done = this.#loop(run, cluster, stop.signal).finally(() => {
      if (this.#running.get(run)?.stop === stop) this.#running.delete(run);
    });
    this.#running.set(run, { stop, done });
  }

  /** Stops sampling a run and resolves when its last sample is stored. */
  async stop(run: string): Promise<void> {
    const entry = this.#running.get(run);
    if (!entry) return;
    this.#running.delete(run);
    entry.stop.abort();
    await entry.done;
  }

  /** Stops every sampler. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((run) => this.stop(run)));
  }

  async #loop(run: string, cluster: string, signal: AbortSignal): Promise<void> {
    const { store, clock, everyMs = 2000 } = this.#options;
    let open: OpenCluster;
    try {
      open = await this.#options.openCluster(cluster);
    } catch (err) {
      this.#options.failed?.(run, cluster, err);
      return;
    }
    let missed = 0;
    while (!signal.aborted) {
      try {
        const list = await send(open.conn, signal, (o) =>
          open.conn.policy.listPodDisruptionBudgetForAllNamespaces({}, o),
        );
        const pdbs = pdbSamples(list.items);
        if (pdbs.length > 0) {
          const below = pdbs.filter((p) => p.currentHealthy < p.desiredHealthy).map((p) => p.pdb);
          await store.events.append(run, [
            {
              at: clock.now(),
              step: AVAILABILITY_STEP,
              outcome: 'sampled',
              message:
                pdbs.map((p) => `${p.pdb} ${p.currentHealthy}/${p.desiredHealthy}`).join(', ') +
                (below.length > 0 ? ` (below the floor: ${below.join(', ')})` : ''),
              data: { pdbs },
            },
          ]);
          this.#options.sampled?.();
        }
        if (missed > 0) this.#options.recovered?.(run, cluster, missed);
        missed = 0;
      } catch (err) {
        if (signal.aborted) return;
        if (missed === 0) this.#options.failed?.(run, cluster, err);
        missed++;
      }
      try {
        await clock.sleep(everyMs, signal);
      } catch {
        return;
      }
    }
  }
}
