/**
 * The run supervisor of a long-lived kup process (`kup serve`): it drives runs itself, a bounded number at once, each
 * with its own cluster session from one {@link SessionPool}, and holds each run through the store's lease, so that
 * several processes on one database share the work and a run whose driver died (its lease expired) is taken over.
 *
 * - Runs created or commanded through the service are handed over at once ({@link RunSupervisor.kick}); the store is
 *   also scanned every `scanEveryMs` for runs whose driver died elsewhere (the lease is the only signal another
 *   process's death leaves).
 * - A run paused with nothing of it in flight waits for an operator: it gives its slot back, and is kicked again by
 *   the resume, cancel or rollback that moves it.
 * - {@link RunSupervisor.stop} stops taking work, stops each executor (an effect in flight is aborted and re-issued by
 *   whoever drives the run next: its idempotency key makes that safe), waits for their last commits and lease
 *   releases, and closes the sessions.
 */
import { setMaxListeners } from 'node:events';
import type { Cancel, Clock } from '../clock/clock.ts';
import type { Catalog } from '../versions/index.ts';
import type { KupStore } from '../persistence/store.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import { LeaseLostError } from '../persistence/errors.ts';
import { pendingEffects } from '../rollout/machine/effects.ts';
import { isTerminal } from '../rollout/machine/state.ts';
import type { RunState } from '../rollout/machine/types.ts';
import { loadRun } from './apply-event.ts';
import { RunLeaseHeldError, executeRun } from './executor.ts';
import type { ProviderFactory } from './provider-factory.ts';
import { actionSettings, engineContext, openCluster, runRequest } from './runs.ts';
import { SessionPool } from './session-pool.ts';

/**
 * How many runs one process drives at once unless told otherwise. A run spends nearly all its time waiting on its
 * cluster (nodes booting, pods evicted and started), so the bound is not there to share the processor: it caps the
 * sockets, watches and memory of the sessions held open at once. At 16, a fleet of 100 clusters upgraded together
 * went through in seven waves, each as long as one run (`bench/fleet.ts`); 256 drives such a fleet at once.
 */
export const DEFAULT_MAX_CONCURRENT_RUNS = 256;

/** What the supervisor reports as it works (the service logs it and counts it). */
export interface SupervisorObserver {
  /** A run is driven by this process now. */
  started?(runId: string, cluster: string): void;
  /** Each state an executor commits or reads anew. */
  state?(runId: string, cluster: string, state: RunState): void;
  /** An eviction was refused by a PodDisruptionBudget. */
  evictionRefused?(cluster: string): void;
  /** A request to a cluster's API failed. */
  apiError?(cluster: string, status: number | undefined): void;
  /** This process stopped driving a run (it ended, paused, moved to another process, or the service stops). */
  stopped?(
    runId: string,
    cluster: string,
    why: 'ended' | 'paused' | 'held-elsewhere' | 'stopping' | 'failed',
    error?: unknown,
  ): void;
}

/** Options of {@link RunSupervisor}. */
export interface RunSupervisorOptions {
  readonly store: KupStore;
  readonly providers: ProviderFactory;
  /** The catalog in force, read when a run starts being driven (so an update reaches the next run). */
  readonly catalog: () => Promise<Catalog>;
  readonly clock: Clock;
  /** The lease owner id of this process (unique: host, pid, random). */
  readonly owner: string;
  /** How many runs this process drives at once; others wait their turn. @default {@link DEFAULT_MAX_CONCURRENT_RUNS} */
  readonly maxConcurrentRuns?: number;
  /** @default 15000 */
  readonly leaseTtlMs?: number;
  /** How often the store is scanned for runs nobody drives. @default half the lease TTL */
  readonly scanEveryMs?: number;
  /** Uploaded kubeconfigs (see OpenClusterOptions.kubeconfigOf). */
  readonly kubeconfigOf?: (row: ClusterRow) => Promise<string | undefined>;
  readonly observer?: SupervisorObserver;
}

interface Driven {
  readonly controller: AbortController;
  readonly nudges: Set<() => void>;
  done?: Promise<void>;
}

/** Drives runs in this process; see the module comment. */
export class RunSupervisor {
  readonly #options: RunSupervisorOptions;
  readonly #sessions: SessionPool;
  readonly #driven = new Map<string, Driven>();
  readonly #queue: string[] = [];
  #stopping = false;
  #cancelScan: Cancel = () => undefined;
  #scanning: Promise<void> | undefined;

  constructor(options: RunSupervisorOptions) {
    this.#options = options;
    this.#sessions = new SessionPool(options.clock);
  }

  /** The sessions of the runs driven now (what `/metrics` counts). */
  get sessions(): SessionPool {
    return this.#sessions;
  }

  /** Ids of the runs this process drives now. */
  get driving(): readonly string[] {
    return [...this.#driven.keys()];
  }

  /** Ids of the runs waiting for a slot. */
  get queued(): readonly string[] {
    return [...this.#queue];
  }

  /** Whether the supervisor has stopped taking work. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Starts: drives every run that needs a driver now, and scans again periodically. */
  async start(): Promise<void> {
    await this.scan();
    this.#scheduleScan();
  }

  /**
   * Tells the supervisor that a run changed in the store (created, resumed, cancelled...): driven here, its executor
   * reads it at once; else it is taken up now, or queued when every slot is busy.
   */
  kick(runId: string): void {
    if (this.#stopping) return;
    const driven = this.#driven.get(runId);
    if (driven !== undefined) {
      for (const nudge of driven.nudges) nudge();
      return;
    }
    if (!this.#queue.includes(runId)) this.#queue.push(runId);
    this.#fill();
  }

  /** Takes up every active run that nobody drives (its lease free or expired), but runs paused with nothing to do. */
  scan(): Promise<void> {
    this.#scanning ??= (async () => {
      try {
        const now = this.#options.clock.now();
        for (const run of await this.#options.store.runs.list({ active: true, claimableAt: now })) {
          if (this.#driven.has(run.id) || this.#queue.includes(run.id)) continue;
          if (run.phase === 'paused' && !(await this.#hasWork(run.id))) continue;
          this.#queue.push(run.id);
        }
        this.#fill();
      } finally {
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  /** Stops taking work, stops every executor (their leases released), and closes the sessions. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#cancelScan();
    this.#queue.length = 0;
    await this.#scanning?.catch(() => undefined);
    for (const driven of this.#driven.values()) driven.controller.abort(new Error('the service is stopping'));
    await Promise.all([...this.#driven.values()].flatMap((d) => (d.done ? [d.done] : [])));
    await this.#sessions.closeAll();
  }

  #scheduleScan(): void {
    if (this.#stopping) return;
    const every = this.#options.scanEveryMs ?? Math.floor((this.#options.leaseTtlMs ?? 15_000) / 2);
    this.#cancelScan = this.#options.clock.after(every, () => {
      this.scan().then(
        () => this.#scheduleScan(),
        (err: unknown) => {
          this.#options.observer?.stopped?.('(scan)', '', 'failed', err);
          this.#scheduleScan();
        },
      );
    });
  }

  async #hasWork(runId: string): Promise<boolean> {
    const { state } = await loadRun(this.#options.store, runId);
    return pendingEffects(state).length > 0;
  }

  #fill(): void {
    const max = this.#options.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS;
    while (!this.#stopping && this.#driven.size < max) {
      const runId = this.#queue.shift();
      if (runId === undefined) return;
      if (this.#driven.has(runId)) continue;
      const controller = new AbortController();
      setMaxListeners(0, controller.signal);
      const driven: Driven = { controller, nudges: new Set() };
      this.#driven.set(runId, driven);
      driven.done = this.#drive(runId, driven).finally(() => {
        this.#driven.delete(runId);
        this.#fill();
      });
    }
  }

  async #drive(runId: string, driven: Driven): Promise<void> {
    const { store, providers, clock, owner, observer } = this.#options;
    let cluster = '';
    let session: ReturnType<SessionPool['open']> | undefined;
    try {
      const row = await store.runs.get(runId);
      if (row === undefined || !row.active) return;
      cluster = row.cluster;
      const open = await openCluster(store, row.cluster, {
        providers,
        clock,
        ...(this.#options.kubeconfigOf ? { kubeconfigOf: this.#options.kubeconfigOf } : {}),
        ...(observer?.apiError
          ? { onApiError: (name: string, status: number | undefined) => observer.apiError?.(name, status) }
          : {}),
      });
      const request = await runRequest(store, runId);
      const catalog = await this.#options.catalog();
      const settings = actionSettings(request, request, (await loadRun(store, runId)).state.plan);
      session = this.#sessions.open(row.cluster, open.conn);
      let paused = false;
      observer?.started?.(runId, cluster);
      const final = await executeRun({
        store,
        runId,
        owner,
        signal: driven.controller.signal,
        ctx: engineContext(open, catalog, session, settings, {
          evictionRefused: (name) => observer?.evictionRefused?.(name),
        }),
        ...(this.#options.leaseTtlMs !== undefined ? { leaseTtlMs: this.#options.leaseTtlMs } : {}),
        onState: (state) => {
          observer?.state?.(runId, cluster, state);
          // Paused with nothing in flight: the run waits for an operator, not for this process.
          if (state.status.phase === 'paused' && pendingEffects(state).length === 0) {
            paused = true;
            driven.controller.abort(new Error(`run ${runId} paused`));
          }
        },
        subscribeNudge: (nudge) => {
          driven.nudges.add(nudge);
          return () => driven.nudges.delete(nudge);
        },
      });
      observer?.stopped?.(runId, cluster, isTerminal(final) ? 'ended' : paused ? 'paused' : 'stopping');
    } catch (err) {
      // A lease lost mid-run (this process stalled past its TTL and another replica took the run) is the same as one
      // never won: another kup drives the run, nothing failed.
      if (err instanceof RunLeaseHeldError || err instanceof LeaseLostError) {
        observer?.stopped?.(runId, cluster, 'held-elsewhere');
      }
      else observer?.stopped?.(runId, cluster, 'failed', err);
    } finally {
      await session?.close();
    }
  }
}
