/**
 * The executor steps one run until it ends: it holds the run's lease, asks the state machine which effects are due
 * (`pendingEffects`: issued and not yet reported), performs each once in this process, and applies the event each
 * one reports. The state is persisted before anything is performed, and every effect carries an idempotency key, so
 * a kup killed at any moment and started again re-issues exactly the unfinished effects: no node is replaced twice,
 * none is left cordoned, no event is lost. Operators' commands change the stored state; the executor sees them on
 * its next read (it reads the run again whenever a poll interval passes without a report, so a second process's pause
 * lands within a poll interval).
 */
import { setMaxListeners } from 'node:events';
import { KupError } from '../errors/kup-error.ts';
import type { KupStore } from '../persistence/store.ts';
import { LeaseLostError } from '../persistence/errors.ts';
import { pendingEffects } from '../rollout/machine/effects.ts';
import { isTerminal } from '../rollout/machine/state.ts';
import type { ActionEffect, RunEvent, RunState } from '../rollout/machine/types.ts';
import { performEffect } from './actions/perform.ts';
import type { BatchKind } from './actions/perform-batch.ts';
import { batchKindOf, performEffects } from './actions/perform-batch.ts';
import { applyEvents, loadRun } from './apply-event.ts';
import type { EngineContext } from './context.ts';
import type { RunPhaseForProvider } from './provider.ts';
import { watchApiHealth } from './api-health.ts';
import type { Cancel } from '../clock/clock.ts';
import { formatDuration } from '../clock/duration.ts';

/** Options of executeRun. */
export interface ExecuteRunOptions {
  store: KupStore;
  runId: string;
  /** Who holds the lease: unique per process (host, pid, random). */
  owner: string;
  /**
   * The run's cluster, clock and session. The executor does not close the session: whoever opened it does, once
   * done with the run (after a wait for another kup's lease, the same session serves the next executor).
   */
  ctx: EngineContext;
  /** Stops the executor (not the run): in-flight effects are aborted and re-issued by the next executor. */
  signal: AbortSignal;
  /** The lease's time to live; renewed at a third of it. @default 15000 */
  leaseTtlMs?: number;
  /** How often the executor re-reads the run when nothing finished. @default 250 */
  pollMs?: number;
  /** How often time passes for the machine (`tick`: the pause expiry). @default 60000 */
  tickMs?: number;
  /** Called after each state the executor commits or reads anew. */
  onState?: (state: RunState) => void;
  /**
   * Hands the executor's wake-up to whoever learns first that the stored run changed (the service, after an API
   * command): the run is read again at once instead of at the next poll. Returns the unsubscribe, called at the end.
   */
  subscribeNudge?: (nudge: () => void) => () => void;
}

/** Another kup holds the run. */
export class RunLeaseHeldError extends KupError<'KUP-RUN-409', { readonly run: string; readonly holder: string }> {
  override readonly name = 'RunLeaseHeldError';
  constructor(
    readonly runId: string,
    readonly holder: string,
    readonly expiresAt: number,
  ) {
    super('KUP-RUN-409', `run ${runId} is being executed by ${holder} (lease until ${new Date(expiresAt).toISOString()})`, {
      kind: 'conflict',
      // The lease expires unless its holder renews it: `kup work` waits for that and tries again.
      retryable: true,
      details: { run: runId, holder },
    });
  }
}

/** The run's phase as its provider is told it (pending runs have not started: nothing to say yet). */
function phaseForProvider(state: RunState): RunPhaseForProvider | undefined {
  if (isTerminal(state)) return 'ended';
  if (state.status.phase === 'paused') return 'paused';
  if (state.status.phase === 'pending') return undefined;
  return 'running';
}

/** Steps the run until it is terminal (resolves with the final state) or `signal` aborts (resolves with the last). */
export async function executeRun(options: ExecuteRunOptions): Promise<RunState> {
  const { store, runId, owner, ctx, signal } = options;
  const clock = ctx.clock;
  const ttl = options.leaseTtlMs ?? 15_000;
  const pollMs = options.pollMs ?? 250;
  const tickMs = options.tickMs ?? 60_000;
  const lease = await store.runs.acquireLease(runId, owner, ttl, clock.now());
  if (!lease.acquired) throw new RunLeaseHeldError(runId, lease.holder.owner, lease.holder.expiresAt);

  const running = new Map<string, AbortController>();
  /** Idempotency keys whose step-started this executor reported (after a crash the next one reports it again). */
  const startedUnits = new Set<string>();
  let wake: () => void = () => {};
  let failure: unknown;
  // The run as last committed by this executor or read from the store: the newest version wins, so a read that raced
  // with a commit never takes the loop back to a state in which a finished effect was still in flight.
  let latest = await loadRun(store, runId);
  const keep = (seen: { state: RunState; version: number }) => {
    if (seen.version >= latest.version) latest = seen;
  };
  // Reports are committed one at a time in this process (concurrent commits would only conflict with each other);
  // those that arrive while one is being written go together in the next: with a hundred nodes moving at once, the
  // commits (a read-free transition and one write of the whole state each) do not grow with the reports.
  let waiting: { event: RunEvent; resolve: (state: RunState) => void; reject: (err: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    for (;;) {
      // A commit is synchronous (SQLite): yield to the event loop first, so the reports whose replies arrived
      // meanwhile (and the step-started of every effect the loop just started) join this commit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (waiting.length === 0) break;
      const batch = waiting;
      waiting = [];
      try {
        const applied = await applyEvents(
          store,
          runId,
          batch.map((w) => w.event),
          clock.now(),
          { leaseOwner: owner, known: latest },
        );
        keep(applied);
        applied.results.forEach((r, i) => (r.ok ? batch[i]?.resolve(applied.state) : batch[i]?.reject(r.error)));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    flushing = undefined;
  };
  const apply = (event: RunEvent) =>
    new Promise<RunState>((resolve, reject) => {
      waiting.push({ event, resolve, reject });
      flushing ??= flush();
    });
  // Renewed on the context's clock, so a test moves time past renewals instead of waiting for them.
  const renewEveryMs = Math.max(50, Math.floor(ttl / 3));
  const renew = (): void => {
    cancelRenewal = clock.after(renewEveryMs, renew);
    store.runs.renewLease(runId, owner, ttl, clock.now()).catch((err: unknown) => {
      failure = err;
      wake();
    });
  };
  let cancelRenewal = clock.after(renewEveryMs, renew);
  // The cluster's API server, probed on the same clock: an outage is told at once, and pauses the run past its limit.
  const apiHealth = watchApiHealth({
    conn: ctx.conn,
    clock,
    ...(ctx.settings.apiProbeMs !== undefined ? { probeEveryMs: ctx.settings.apiProbeMs } : {}),
    ...(ctx.settings.unreachableTimeoutMs !== undefined ? { unreachableTimeoutMs: ctx.settings.unreachableTimeoutMs } : {}),
    report: (event) => {
      apply(event).then(() => wake(), (err: unknown) => {
        failure ??= err;
        wake();
      });
    },
  });
  let lastTick = clock.now();
  let state = latest.state;
  // The store is read again when the loop waited a whole poll interval (an operator's command lands that way); an
  // effect's report wakes it with the state that report committed.
  let reread = false;
  let nudged = false;
  const unsubscribe =
    options.subscribeNudge?.(() => {
      nudged = true;
      wake();
    }) ?? (() => undefined);
  let toldProvider: RunPhaseForProvider | undefined;
  try {
    for (;;) {
      if (failure) throw failure instanceof Error ? failure : new Error('the executor failed');
      if (reread) keep(await loadRun(store, runId, latest));
      state = latest.state;
      // The infrastructure hears of a pause, a resume and the end before anyone waiting on the run does.
      const providerPhase = phaseForProvider(state);
      if (providerPhase !== undefined && providerPhase !== toldProvider && (providerPhase !== 'ended' || running.size === 0)) {
        await tellProvider(ctx, providerPhase, signal);
        toldProvider = providerPhase;
      }
      options.onState?.(state);
      if (signal.aborted) break;
      if (clock.now() - lastTick >= tickMs) {
        lastTick = clock.now();
        state = await apply({ type: 'tick' });
      }
      if (state.status.phase === 'pending') state = await apply({ type: 'started' });
      const due = new Map(pendingEffects(state).map((e) => [e.idempotencyKey, e]));
      // An effect the machine no longer asks for (a pause dropped a step not yet started) is stopped here.
      for (const [key, controller] of running) if (!due.has(key)) controller.abort(new Error('no longer asked for by the run'));
      if (isTerminal(state) && running.size === 0) break;
      startDue([...due.values()].filter((effect) => !running.has(effect.idempotencyKey)));
      // A nudge that came while the loop was busy is not waited out.
      reread = nudged ? false : await new Promise<boolean>((resolve) => {
        const done = (timedOut: boolean) => {
          cancelPoll();
          signal.removeEventListener('abort', onAbort);
          resolve(timedOut);
        };
        const onAbort = () => done(false);
        wake = () => done(false);
        const cancelPoll = clock.after(pollMs, () => done(true));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      if (nudged) {
        nudged = false;
        reread = true;
      }
    }
  } finally {
    unsubscribe();
    cancelRenewal();
    apiHealth.stop();
    for (const controller of running.values()) controller.abort(signal.reason ?? new Error('executor stopped'));
    await flushing;
    await store.runs.releaseLease(runId, owner).catch(() => false);
  }
  return state;

  /**
   * Starts the effects that became due: those of one kind that can go together (a batch's replacements, deletes,
   * cordons) in one group, the others alone.
   */
  function startDue(effects: readonly ActionEffect[]): void {
    const groups = new Map<BatchKind, ActionEffect[]>();
    for (const effect of effects) {
      const kind = batchKindOf(effect, clock.now());
      if (kind === undefined) {
        start(effect);
        continue;
      }
      const group = groups.get(kind) ?? [];
      group.push(effect);
      groups.set(kind, group);
    }
    for (const [kind, group] of groups) {
      if (group.length === 1) start(group[0]!);
      else startGroup(kind, group);
    }
  }

  /**
   * Starts a group: one call performs them all, and each effect reports its own event from it, as if alone. The call
   * is aborted once every effect of the group is (each may be aborted alone, when the machine no longer asks for it).
   */
  function startGroup(kind: BatchKind, effects: readonly ActionEffect[]): void {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    let left = effects.length;
    const events = performEffects(kind, effects, ctx, controller.signal);
    // Each member awaits it; a rejection (the abort) is theirs to see.
    events.catch(() => undefined);
    for (const effect of effects) {
      start(effect, async (signal) => {
        const drop = () => {
          left -= 1;
          if (left === 0) controller.abort(signal.reason);
        };
        if (signal.aborted) drop();
        else signal.addEventListener('abort', drop, { once: true });
        try {
          const event = (await untilAborted(events, signal)).get(effect.idempotencyKey);
          if (event === undefined) throw new Error(`the group of ${kind} effects did not report ${effect.idempotencyKey}`);
          return event;
        } finally {
          signal.removeEventListener('abort', drop);
        }
      });
    }
  }

  /** Starts one effect: performed alone, or through `perform` (its share of a group's call). */
  function start(effect: ActionEffect, perform?: (signal: AbortSignal) => Promise<RunEvent>): void {
    const controller = new AbortController();
    // An effect's requests (a drain's evictions, a precheck's lists) all listen on its signal at once.
    setMaxListeners(0, controller.signal);
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    running.set(effect.idempotencyKey, controller);
    // A step that takes longer than expected says so, and what it waits for, then again as long as it lasts: an
    // operator must not watch a silent run for the fifteen minutes a node wait may take.
    let waitingFor: string | undefined;
    const startedAt = clock.now();
    const expected = effect.type === 'soak' ? undefined : expectedMs(effect, latest.state, ctx.settings.slowStepNoticeMs);
    let cancelNotice: Cancel = () => undefined;
    const notice = (): void => {
      if (expected === undefined) return;
      cancelNotice = clock.after(expected, () => {
        const so = formatDuration(clock.now() - startedAt);
        const node = 'node' in effect && typeof effect.node === 'string' ? ` of ${effect.node}` : '';
        const message = `${effect.type}${node} is taking longer than expected: ${so} so far (expected ${formatDuration(expected)})${waitingFor ? `; ${waitingFor}` : ''}`;
        apply({ type: 'step-waiting', key: effect.key, action: effect.type, message }).catch((err: unknown) => {
          failure ??= err;
          wake();
        });
        notice();
      });
    };
    notice();
    void (async () => {
      try {
        if (!startedUnits.has(effect.idempotencyKey)) {
          startedUnits.add(effect.idempotencyKey);
          // Only progress reads the start time, so the effect does not wait for it to be committed: the report is
          // queued behind it, and a kup that dies before the commit leaves the next one to report it again.
          apply({ type: 'step-started', key: effect.key, action: effect.type }).catch((err: unknown) => {
            failure ??= err;
            wake();
          });
        }
        const event = await (perform?.(controller.signal) ??
          performEffect(effect, ctx, controller.signal, (detail) => (waitingFor = detail)));
        await apply(event);
      } catch (err) {
        // Aborted effects are re-issued by whoever executes next; a lost lease stops this executor.
        if (err instanceof LeaseLostError) failure = err;
        else if (!controller.signal.aborted) failure = err;
      } finally {
        cancelNotice();
        signal.removeEventListener('abort', onAbort);
        running.delete(effect.idempotencyKey);
        wake();
      }
    })();
  }
}

/** `promise`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** How long a step is expected to take: the override, else the plan's estimate for its action, at least a minute. */
function expectedMs(effect: ActionEffect, state: RunState, override: number | undefined): number {
  if (override !== undefined) return override;
  const estimate = (state.plan.estimates as Partial<Record<ActionEffect['type'], number>>)[effect.type] ?? 0;
  return Math.max(60_000, estimate);
}

/** Tries of {@link tellProvider} before the executor fails: about two and a half minutes of a provider not answering. */
const TELL_PROVIDER_TRIES = 8;

/**
 * Tells the provider where the run stands, again after a failure (1 s, doubling to 30 s): a transient error of the
 * infrastructure (a conflict, a management cluster restarting) must not leave it holding what only this executor
 * will undo; once the run has ended no other executor takes it up (a Cluster API MachineDeployment would stay OnDelete).
 */
async function tellProvider(ctx: EngineContext, phase: RunPhaseForProvider, signal: AbortSignal): Promise<void> {
  if (ctx.provider.syncRunPhase === undefined) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.provider.syncRunPhase(phase, signal);
      return;
    } catch (err) {
      if (signal.aborted || attempt >= TELL_PROVIDER_TRIES) throw err;
      await ctx.clock.sleep(Math.min(30_000, 1_000 * 2 ** (attempt - 1)), signal);
    }
  }
}
