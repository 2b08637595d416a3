/**
 * The driver of fleet rollouts in a long-lived kup (`kup serve`): it performs what the rollout machine asks (health
 * baselines, cluster runs, soaks watched by health gates) and reports back what the clusters' runs do.
 *
 * - Cluster runs are created through `startRun` (the service's createRun and its supervisor's kick); the request
 *   carries the rollout's idempotency key, so a driver that restarts after creating a run finds it instead of making
 *   a second one.
 * - It reads the runs from the store every `watchEveryMs` and reports a run that paused, went on, or ended. The
 *   store is what every kup process shares (the run may be driven by another replica), so it polls the store rather
 *   than listening to one process's supervisor.
 * - A soak reads each cluster's health every `gateEveryMs` (pods, PDBs and nodes from one snapshot: one read of a
 *   composite signal rather than a watch per kind) and reports the first failing gate, or the soak's end.
 *
 * @module
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type {
  HealthBaseline,
  HealthObservation,
  RolloutEffect,
  RolloutEvent,
  RolloutTarget,
} from '../fleet-rollouts/index.ts';
import { baselineOf, failingGates, pendingRolloutEffects, reviveRolloutState } from '../fleet-rollouts/index.ts';
import type { KupStore } from '../persistence/store.ts';
import { loadRun } from './apply-event.ts';
import { applyRolloutEvent } from './rollouts.ts';
import type { UpgradeRequest } from './runs.ts';
import { runRequest } from './runs.ts';

/** Options of {@link RolloutDriver}. */
export interface RolloutDriverOptions {
  readonly store: KupStore;
  readonly clock: Clock;
  /** Creates a run for the request and hands it to the run supervisor; returns its id. */
  readonly startRun: (cluster: string, request: UpgradeRequest, signal: AbortSignal) => Promise<string>;
  /** Reads a cluster's health (crash-looping and Pending pods by workload, unhealthy PDBs, nodes not Ready). */
  readonly observe: (cluster: string, signal: AbortSignal) => Promise<HealthObservation>;
  /** @default 5000 */
  readonly watchEveryMs?: number;
  /** @default 30000 */
  readonly gateEveryMs?: number;
  readonly onError?: (rollout: string, error: unknown) => void;
}

const ENDED_RUN = new Set(['succeeded', 'failed', 'cancelled', 'rolled-back']);

/** See the module comment. */
export class RolloutDriver {
  readonly #o: RolloutDriverOptions;
  readonly #controller = new AbortController();
  readonly #soaks = new Map<string, Cancel>();
  #watch: Cancel = () => undefined;
  /**
   * The version of each active rollout at the last watch. A rollout written since (by this driver's reports, or by
   * another process: the CLI on this data directory) has its pending effects performed again: each is safe to repeat
   * (a run is found by its key, a soak's timer replaced, a late baseline ignored by the machine).
   */
  readonly #seen = new Map<string, number>();
  #busy: Promise<void> = Promise.resolve();

  constructor(options: RolloutDriverOptions) {
    this.#o = options;
  }

  /** Performs again what active rollouts asked and was not reported, then watches their runs. */
  start(): void {
    this.#serial(async () => {
      for (const row of await this.#o.store.rollouts.list({ active: true })) {
        const state = reviveRolloutState(row.state);
        this.#seen.set(state.id, row.version);
        this.#performAll(state.id, pendingRolloutEffects(state));
      }
    });
    this.#scheduleWatch();
  }

  /** Performs the effects a command (through the API or the CLI) returned. */
  performAll(rolloutId: string, effects: readonly RolloutEffect[]): void {
    this.#performAll(rolloutId, effects);
  }

  /** Resolves once no work is queued (tests wait on it after moving the clock). */
  async idle(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.#busy) {
      seen = this.#busy;
      await seen;
    }
  }

  /** Stops: no more work; what is in progress finishes. */
  async stop(): Promise<void> {
    this.#controller.abort(new Error('the rollout driver is stopping'));
    this.#watch();
    for (const cancel of this.#soaks.values()) cancel();
    this.#soaks.clear();
    await this.idle();
  }

  /** Runs work one piece at a time, in order (reports of one rollout must not race each other). */
  #serial(work: () => Promise<void>): void {
    this.#busy = this.#busy.then(async () => {
      if (this.#controller.signal.aborted) return;
      try {
        await work();
      } catch (err) {
        this.#o.onError?.('', err);
      }
    });
  }

  #performAll(rolloutId: string, effects: readonly RolloutEffect[]): void {
    for (const effect of effects)
      if (effect.type !== 'emit-event') this.#serial(() => this.#perform(rolloutId, effect));
  }

  async #report(rolloutId: string, event: RolloutEvent): Promise<void> {
    const { effects } = await applyRolloutEvent(this.#o.store, rolloutId, event, this.#o.clock.now());
    this.#performAll(rolloutId, effects);
  }

  async #perform(rolloutId: string, effect: Exclude<RolloutEffect, { type: 'emit-event' }>): Promise<void> {
    const signal = this.#controller.signal;
    switch (effect.type) {
      case 'record-baselines': {
        const baselines: Record<string, HealthBaseline> = {};
        for (const cluster of effect.clusters) baselines[cluster] = baselineOf(await this.#o.observe(cluster, signal));
        await this.#report(rolloutId, { type: 'baselines-recorded', stage: effect.stage, baselines });
        return;
      }
      case 'start-cluster-run': {
        const existing = await this.#runOf(effect.cluster, effect.idempotencyKey);
        if (existing !== undefined) {
          await this.#report(rolloutId, { type: 'cluster-run-created', cluster: effect.cluster, runId: existing });
          return;
        }
        try {
          const runId = await this.#o.startRun(effect.cluster, requestOf(effect.target, effect.idempotencyKey), signal);
          await this.#report(rolloutId, { type: 'cluster-run-created', cluster: effect.cluster, runId });
        } catch (err) {
          if (signal.aborted) return;
          await this.#report(rolloutId, {
            type: 'cluster-run-refused',
            cluster: effect.cluster,
            message: err instanceof Error ? err.message : String(err),
          });
        }
        return;
      }
      case 'soak':
        this.#soak(rolloutId, effect);
        return;
    }
  }

  /** Watches a soak: every `gateEveryMs` and at its end, the gates of each cluster. */
  #soak(rolloutId: string, effect: Extract<RolloutEffect, { type: 'soak' }>): void {
    // Keyed by the soak's end: the same soak asked again (performed again after a write) keeps its timer.
    const key = `${rolloutId}/${effect.stage}/${effect.until}`;
    if (this.#soaks.has(key)) return;
    const every = this.#o.gateEveryMs ?? 30_000;
    const check = () => {
      this.#serial(async () => {
        this.#soaks.delete(key);
        const row = await this.#o.store.rollouts.get(rolloutId);
        if (row === undefined) return;
        const state = reviveRolloutState(row.state);
        // A newer soak of the stage (after a resume) or a rollout that moved on: this one is over.
        const stage = state.stages[effect.stage];
        if (
          state.cursor !== effect.stage ||
          stage?.phase !== 'soaking' ||
          stage.soakUntil !== effect.until ||
          state.status.phase !== 'running'
        )
          return;
        for (const cluster of effect.clusters) {
          const failures = failingGates(
            effect.baselines[cluster] ?? { crashLooping: [], pending: [] },
            await this.#o.observe(cluster, this.#controller.signal),
          );
          const first = failures[0];
          if (first !== undefined) {
            await this.#report(rolloutId, {
              type: 'gate-failed',
              stage: effect.stage,
              cluster,
              signal: first.signal,
              objects: first.objects,
              message: first.message,
            });
            return;
          }
        }
        const now = this.#o.clock.now();
        if (now >= effect.until) {
          await this.#report(rolloutId, { type: 'soak-elapsed', stage: effect.stage });
          return;
        }
        this.#soaks.set(key, this.#o.clock.after(Math.min(every, effect.until - now), check));
      });
    };
    this.#soaks.set(key, this.#o.clock.after(Math.min(every, Math.max(0, effect.until - this.#o.clock.now())), check));
  }

  /** The run of `cluster` created for a rollout's attempt, if one was. */
  async #runOf(cluster: string, key: string): Promise<string | undefined> {
    for (const run of await this.#o.store.runs.list({ cluster })) {
      const request = await runRequest(this.#o.store, run.id);
      if (request.rollout === key) return run.id;
    }
    return undefined;
  }

  #scheduleWatch(): void {
    if (this.#controller.signal.aborted) return;
    this.#watch = this.#o.clock.after(
      this.#o.watchEveryMs ?? 5000,
      () => {
        this.#serial(() => this.#watchRuns());
        this.#serial(() => {
          this.#scheduleWatch();
          return Promise.resolve();
        });
      },
      { keepAlive: false },
    );
  }

  /** Reports the runs of active rollouts that paused, went on or ended since the rollout last heard. */
  async #watchRuns(): Promise<void> {
    for (const row of await this.#o.store.rollouts.list({ active: true })) {
      const state = reviveRolloutState(row.state);
      if (this.#seen.get(state.id) !== row.version) {
        this.#seen.set(state.id, row.version);
        this.#performAll(state.id, pendingRolloutEffects(state));
      }
      for (const c of Object.values(state.clusters)) {
        if (c.runId === undefined || (c.phase !== 'running' && c.phase !== 'paused')) continue;
        const run = (await loadRun(this.#o.store, c.runId)).state;
        const status = run.status;
        let event: RolloutEvent | undefined;
        if (ENDED_RUN.has(status.phase)) {
          const outcome =
            status.phase === 'succeeded'
              ? 'succeeded'
              : status.phase === 'failed'
                ? 'failed'
                : status.phase === 'cancelled'
                  ? 'cancelled'
                  : 'rolled-back';
          event = {
            type: 'cluster-run-finished',
            cluster: c.cluster,
            runId: c.runId,
            outcome,
            ...(status.phase === 'failed' ? { message: status.reason } : {}),
          };
        } else if (status.phase === 'paused' && c.phase === 'running') {
          event = { type: 'cluster-run-paused', cluster: c.cluster, runId: c.runId, message: status.message };
        } else if (status.phase !== 'paused' && c.phase === 'paused') {
          event = { type: 'cluster-run-resumed', cluster: c.cluster, runId: c.runId };
        }
        if (event !== undefined) await this.#report(state.id, event);
      }
    }
  }
}

function requestOf(target: RolloutTarget, key: string): UpgradeRequest {
  return {
    ...(target.to !== undefined ? { to: target.to } : {}),
    ...(target.image !== undefined ? { image: target.image } : {}),
    rollout: key,
  };
}
