/**
 * What each registered cluster says about itself (version, nodes, pools, reachability, the upgrades the catalog
 * offers), kept fresh in the background: listing a fleet answers from memory instead of asking every cluster on every
 * request. A cluster is inspected when it is first asked for, then every `refreshEveryMs`, and again whenever a run
 * of it stops (its version changed).
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type { ClusterInspection } from '../clusters/registry.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';

/** A pool as the cluster's provider reports it. */
export interface PoolStatus {
  readonly name: string;
  readonly nodes: number;
  readonly kubeletVersion: string;
  readonly machineImage?: string;
}

/** One cluster's last inspection. */
export interface ClusterStatus {
  readonly inspection: ClusterInspection;
  /** null when the provider could not say. */
  readonly pools: readonly PoolStatus[] | null;
  readonly inspectedAt: number;
}

/** Options of {@link ClusterStatusCache}. */
export interface ClusterStatusCacheOptions {
  readonly clock: Clock;
  readonly clusters: () => Promise<readonly ClusterRow[]>;
  readonly inspect: (row: ClusterRow) => Promise<ClusterStatus>;
  /** @default 15000 */
  readonly refreshEveryMs?: number;
  /** Inspections at once. @default 16 */
  readonly concurrency?: number;
}

/** See the module comment. */
export class ClusterStatusCache {
  readonly #options: ClusterStatusCacheOptions;
  readonly #status = new Map<string, ClusterStatus>();
  readonly #inFlight = new Map<string, Promise<ClusterStatus>>();
  #cancel: Cancel = () => undefined;
  #closed = false;

  constructor(options: ClusterStatusCacheOptions) {
    this.#options = options;
  }

  /** Starts refreshing every cluster periodically. */
  start(): void {
    const every = this.#options.refreshEveryMs ?? 15_000;
    const round = (): void => {
      if (this.#closed) return;
      void this.refreshAll()
        .catch(() => undefined)
        .finally(() => {
          if (!this.#closed) this.#cancel = this.#options.clock.after(every, round);
        });
    };
    this.#cancel = this.#options.clock.after(every, round);
  }

  /** The cluster's status: the cached one, else inspected now. */
  async get(row: ClusterRow): Promise<ClusterStatus> {
    return this.#status.get(row.name) ?? this.refresh(row);
  }

  /** Inspects a cluster now (one inspection at a time per cluster). */
  refresh(row: ClusterRow): Promise<ClusterStatus> {
    let pending = this.#inFlight.get(row.name);
    if (pending === undefined) {
      pending = this.#options.inspect(row).then(
        (status) => {
          this.#status.set(row.name, status);
          this.#inFlight.delete(row.name);
          return status;
        },
        (err: unknown) => {
          this.#inFlight.delete(row.name);
          throw err;
        },
      );
      this.#inFlight.set(row.name, pending);
    }
    return pending;
  }

  /** Forgets a removed cluster. */
  forget(name: string): void {
    this.#status.delete(name);
  }

  /** Inspects every registered cluster, `concurrency` at a time. */
  async refreshAll(): Promise<void> {
    const rows = [...(await this.#options.clusters())];
    const known = new Set(rows.map((r) => r.name));
    for (const name of this.#status.keys()) if (!known.has(name)) this.#status.delete(name);
    const workers = Array.from({ length: Math.min(this.#options.concurrency ?? 16, rows.length) }, async () => {
      for (let row = rows.shift(); row !== undefined; row = rows.shift())
        await this.refresh(row).catch(() => undefined);
    });
    await Promise.all(workers);
  }

  close(): void {
    this.#closed = true;
    this.#cancel();
  }
}
