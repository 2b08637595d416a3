/**
 * What each registered cluster says about itself (version, nodes, pools, reachability, the upgrades the catalog
 * offers), kept fresh in the background: listing a fleet answers from memory instead of asking every cluster on every
 * request. Every cluster is inspected in a first round as the service starts, then every `refreshEveryMs`, and again
 * whenever a run of it stops (its version changed).
 *
 * Inspections share one bound (`concurrency`), whoever asks: a thousand clusters asked for at once (the first list
 * of a cold start) are a queue of sixteen at a time, not a thousand TLS handshakes in one turn of the event loop. An
 * inspection that a request waits for goes before the background round's.
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
  /** Time between the end of one round over every cluster and the start of the next. @default 15000 */
  readonly refreshEveryMs?: number;
  /** Inspections at once, for the rounds and the requests together. @default 16 */
  readonly concurrency?: number;
}

/** Called when a cluster's status changed (`undefined`: it was forgotten). */
export type ClusterStatusListener = (name: string, status: ClusterStatus | undefined) => void;

/** See the module comment. */
export class ClusterStatusCache {
  readonly #options: ClusterStatusCacheOptions;
  readonly #concurrency: number;
  readonly #status = new Map<string, ClusterStatus>();
  readonly #inFlight = new Map<string, { promise: Promise<ClusterStatus>; urgent: () => void }>();
  /** Inspections waiting for a slot, in the order they go. */
  readonly #queue: (() => void)[] = [];
  #running = 0;
  readonly #listeners = new Set<ClusterStatusListener>();
  #cancel: Cancel = () => undefined;
  #closed = false;

  constructor(options: ClusterStatusCacheOptions) {
    this.#options = options;
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
  }

  /** Starts a first round over every cluster now, and then one every `refreshEveryMs` after the last ended. */
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
    round();
  }

  /** The cluster's status: the cached one, else inspected now (before the background round's inspections). */
  async get(row: ClusterRow): Promise<ClusterStatus> {
    return this.#status.get(row.name) ?? this.refresh(row);
  }

  /** The cached status, if the cluster was inspected. */
  peek(name: string): ClusterStatus | undefined {
    return this.#status.get(name);
  }

  /** Inspects a cluster now, before the background round's inspections (one inspection at a time per cluster). */
  refresh(row: ClusterRow): Promise<ClusterStatus> {
    return this.#inspect(row, true);
  }

  /** Calls `listener` whenever a cluster's status changes; returns the unsubscribe. */
  onChange(listener: ClusterStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets a removed cluster. */
  forget(name: string): void {
    if (this.#status.delete(name)) this.#changed(name, undefined);
  }

  /** Inspects every registered cluster, within the shared bound, after any inspection a request waits for. */
  async refreshAll(): Promise<void> {
    const rows = await this.#options.clusters();
    const known = new Set(rows.map((r) => r.name));
    for (const name of [...this.#status.keys()]) if (!known.has(name)) this.forget(name);
    await Promise.all(rows.map((row) => this.#inspect(row, false).catch(() => undefined)));
  }

  /** Inspections running or waiting now. */
  get pending(): number {
    return this.#inFlight.size;
  }

  close(): void {
    this.#closed = true;
    this.#cancel();
  }

  #inspect(row: ClusterRow, urgent: boolean): Promise<ClusterStatus> {
    const pending = this.#inFlight.get(row.name);
    if (pending !== undefined) {
      if (urgent) pending.urgent();
      return pending.promise;
    }
    let start!: () => void;
    const slot = new Promise<void>((resolve) => (start = resolve));
    const promise = slot
      .then(() => this.#options.inspect(row))
      .then(
        (status) => {
          this.#release(row.name);
          if (!this.#closed) {
            this.#status.set(row.name, status);
            this.#changed(row.name, status);
          }
          return status;
        },
        (err: unknown) => {
          this.#release(row.name);
          throw err;
        },
      );
    const entry = {
      promise,
      // A request now waits for an inspection that a round queued: it goes to the front of the queue.
      urgent: () => {
        const at = this.#queue.indexOf(start);
        if (at > 0) {
          this.#queue.splice(at, 1);
          this.#queue.unshift(start);
        }
      },
    };
    this.#inFlight.set(row.name, entry);
    if (urgent) this.#queue.unshift(start);
    else this.#queue.push(start);
    this.#next();
    return promise;
  }

  #release(name: string): void {
    this.#inFlight.delete(name);
    this.#running--;
    this.#next();
  }

  #next(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      this.#running++;
      this.#queue.shift()?.();
    }
  }

  #changed(name: string, status: ClusterStatus | undefined): void {
    for (const listener of this.#listeners) listener(name, status);
  }
}
