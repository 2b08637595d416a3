/**
 * The service's Prometheus metrics (prom-client, a registry of its own rather than the global one, so that tests
 * and several services in one process do not share counters): runs by phase (read from the store at scrape, so every
 * replica reports the same truth), step durations by action and drain durations (from the states the supervisor
 * sees), evictions refused by PodDisruptionBudgets, failed requests to each cluster's API, active cluster sessions,
 * and the API's own errors.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KupStore } from '../persistence/store.ts';
import type { RunState } from '../rollout/machine/types.ts';

/** Buckets for steps: a cordon takes milliseconds, a node replacement minutes. */
const STEP_BUCKETS = [0.05, 0.25, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** The metrics of one service. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #stepDuration: Histogram<'action'>;
  readonly #drainDuration: Histogram<'cluster'>;
  readonly #evictionsRefused: Counter<'cluster'>;
  readonly #apiErrors: Counter<'cluster' | 'status'>;
  readonly #httpErrors: Counter<'code'>;
  /** In-flight actions seen per run: key -> [action, issuedAt], to time each when it leaves. */
  readonly #inFlight = new Map<string, Map<string, readonly [string, number]>>();

  constructor(options: {
    readonly store: KupStore;
    readonly activeSessions: () => number;
    readonly drivenRuns: () => number;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'kup_process_' });
    const { store } = options;
    new Gauge({
      name: 'kup_runs',
      help: 'Runs by phase (all runs in the store)',
      labelNames: ['phase'],
      registers,
      async collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const run of await store.runs.list()) counts.set(run.phase, (counts.get(run.phase) ?? 0) + 1);
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    new Gauge({
      name: 'kup_runs_driven',
      help: 'Runs this process drives now',
      registers,
      collect() {
        this.set(options.drivenRuns());
      },
    });
    new Gauge({
      name: 'kup_cluster_sessions_active',
      help: 'Cluster sessions open in this process (one per run driven)',
      registers,
      collect() {
        this.set(options.activeSessions());
      },
    });
    this.#stepDuration = new Histogram({
      name: 'kup_step_duration_seconds',
      help: 'Duration of run steps by action',
      labelNames: ['action'],
      buckets: STEP_BUCKETS,
      registers,
    });
    this.#drainDuration = new Histogram({
      name: 'kup_drain_duration_seconds',
      help: 'Duration of node drains',
      labelNames: ['cluster'],
      buckets: STEP_BUCKETS,
      registers,
    });
    this.#evictionsRefused = new Counter({
      name: 'kup_evictions_refused_total',
      help: 'Evictions refused by a PodDisruptionBudget (429)',
      labelNames: ['cluster'],
      registers,
    });
    this.#apiErrors = new Counter({
      name: 'kup_cluster_api_errors_total',
      help: 'Failed requests to a cluster API, by cluster and HTTP status (none: no answer)',
      labelNames: ['cluster', 'status'],
      registers,
    });
    this.#httpErrors = new Counter({
      name: 'kup_api_errors_total',
      help: "Requests to kup's API answered with an error, by KUP code",
      labelNames: ['code'],
      registers,
    });
  }

  /** A state the supervisor saw: the actions no longer in flight are timed. */
  observeState(runId: string, cluster: string, state: RunState, now: number): void {
    const before = this.#inFlight.get(runId) ?? new Map<string, readonly [string, number]>();
    const after = new Map<string, readonly [string, number]>();
    for (const unit of Object.values(state.units)) {
      if (unit.inFlight !== null) after.set(unit.key, [unit.inFlight.action, unit.inFlight.issuedAt]);
    }
    for (const [key, [action, issuedAt]] of before) {
      const still = after.get(key);
      if (still !== undefined && still[0] === action && still[1] === issuedAt) continue;
      const seconds = Math.max(0, now - issuedAt) / 1000;
      this.#stepDuration.observe({ action }, seconds);
      if (action === 'drain') this.#drainDuration.observe({ cluster }, seconds);
    }
    if (after.size === 0) this.#inFlight.delete(runId);
    else this.#inFlight.set(runId, after);
  }

  /** This process stopped driving a run: what was in flight is not timed (it was stopped, not finished). */
  forgetRun(runId: string): void {
    this.#inFlight.delete(runId);
  }

  evictionRefused(cluster: string): void {
    this.#evictionsRefused.inc({ cluster });
  }

  apiError(cluster: string, status: number | undefined): void {
    this.#apiErrors.inc({ cluster, status: status === undefined ? 'none' : String(status) });
  }

  httpError(code: string): void {
    this.#httpErrors.inc({ code });
  }
}
