/**
 * What the actions of a run share on its cluster while it runs: the budget gate (one watch of the budgets; each
 * disruption a budget allows goes to one pod of the batch), the budget rounds measured so far, the forecasts of
 * drains about to start, one recent list of the DaemonSets, when the run cordoned each node, and one watch of the
 * nodes for every wait. It is an object that the composition root creates for a run's cluster, passes in the
 * engine context and closes when the run's executor is done, so that a process running many runs can see, count
 * and close all of it (see `SessionPool`), and everything in it waits on the context's clock.
 *
 * One session per run's executor, not one per cluster shared by a process's executors: what it holds is tied to
 * the run's connection (its rate limiter, its sockets) and clock; a run's end must close exactly what that run
 * opened, with no reference counting across runs; and the WeakMaps it replaces were keyed by connection, which each
 * run opens for itself, so this is the sharing kup already had. Two runs of one cluster at once (nothing forbids
 * it) would each have a gate, as two kup processes would anyway.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Cancel, Clock } from '../clock/clock.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { getJson } from '../kube-api/requests.ts';
import { listDaemonSets } from '../drain/drain.ts';
import type { EvictionSupport } from '../drain/eviction-support.ts';
import { readEvictionSupport } from '../drain/eviction-support.ts';
import type { PdbGate } from '../drain/pdb-gate.ts';
import { RoundEstimate, createPdbGate } from '../drain/pdb-gate.ts';
import type { NodeSubscriber } from './node-watch.ts';
import { NodeWatch } from './node-watch.ts';
import { KupError } from '../errors/kup-error.ts';

/**
 * A drain within this long of its step's cordon need not cordon again; one that runs later does, as the node may
 * have been uncordoned meanwhile: after a pause, in a kup restarted since, or after a surge replacement's boot on a
 * real cloud (minutes: the surge step cordons before it).
 */
export const FRESH_CORDON_MS = 5_000;

/** How long a forecast outlives the wait it was made in, for the node's cordon and the start of its drain. */
export const FORECAST_GRACE_MS = 30_000;

/** How long the drains starting after a DaemonSet list share it: a batch's drains start within a few hundred ms. */
export const DAEMONSETS_SHARED_MS = 1_000;

/** A drain's pods told to the budget gate ahead of it (see {@link ClusterSession.forecastDrain}). */
export interface Forecast {
  /** The pods were read and told. */
  landed: boolean;
  /** The forecast ends: its pods that did not ask no longer count. */
  end(): void;
  /**
   * The wait for the replacement is over and the drain comes next: ends it after {@link FORECAST_GRACE_MS} unless the
   * drain ends it before (a drain that does not come: a run paused in between).
   */
  expectDrain(): void;
}

/** The shared budget gate, held until its last user releases it. */
export interface GateLease {
  readonly gate: PdbGate;
  /** Gives the gate back; the last user's release closes it. Calling it again does nothing. */
  readonly release: () => Promise<void>;
}

/** What a session holds open now: what a service counts, shows and closes. */
export interface SessionDescription {
  /** The cluster's name in the registry. */
  readonly cluster: string;
  readonly closed: boolean;
  /** The watches open: `nodes` (the waits' shared watch) and `budgets` (the budget gate's). */
  readonly watches: readonly ('nodes' | 'budgets')[];
  /** Waits for a node on the shared node watch. */
  readonly nodeWaits: number;
  /** Drains and forecasts holding the budget gate. */
  readonly gateUsers: number;
  /** Nodes whose drain is forecast. */
  readonly forecasts: readonly string[];
  /** Nodes whose cordon by this run is remembered for their drain. */
  readonly cordons: number;
  /** A budget round as measured so far on this cluster, ms; undefined before the first. */
  readonly budgetRoundMs: number | undefined;
}

/** Options of {@link ClusterSession}. */
export interface ClusterSessionOptions {
  /** The cluster's name in the registry. */
  readonly cluster: string;
  /** The run's connection to it. */
  readonly conn: ClusterConnection;
  /** The run's clock: every timer of the session goes through it. */
  readonly clock: Clock;
  /** Told once the session is closed (a `SessionPool` forgets it). */
  readonly onClose?: (session: ClusterSession) => void;
}

/** A session used after its close: a run's action outlived its executor, which is a bug. */
export class ClusterSessionClosedError extends KupError<'KUP-ENGINE-006', { readonly cluster: string }> {
  override readonly name = 'ClusterSessionClosedError';
  constructor(readonly cluster: string) {
    // A closed session used again is kup's own mistake: its executor ended, and nothing may act on its behalf.
    super('KUP-ENGINE-006', `the session of cluster ${cluster} is closed`, { kind: 'internal', details: { cluster } });
  }
}

/** The state a run's actions share on one cluster. */
export class ClusterSession {
  readonly cluster: string;
  readonly conn: ClusterConnection;
  readonly clock: Clock;
  readonly #onClose: ((session: ClusterSession) => void) | undefined;
  #closed = false;
  /** When the run's cordon of each node was answered. */
  readonly #cordons = new Map<string, number>();
  #gate: { readonly gate: PdbGate; users: number; readonly stop: AbortController } | undefined;
  /** The budget rounds as the session's gates measured them: a batch's gate spreads its evictions with them. */
  readonly #rounds = new RoundEstimate();
  readonly #forecasts = new Map<string, Forecast>();
  #daemonSets: { readonly at: number; readonly list: Promise<ReadonlySet<string>> } | undefined;
  #evictionSupport: { readonly at: number; readonly support: Promise<EvictionSupport> } | undefined;
  #nodeWatch: NodeWatch | undefined;

  constructor(options: ClusterSessionOptions) {
    this.cluster = options.cluster;
    this.conn = options.conn;
    this.clock = options.clock;
    this.#onClose = options.onClose;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The run's cordon of `node` was answered at `at`. */
  noteCordon(node: string, at: number): void {
    this.#cordons.set(node, at);
  }

  /** The run uncordons `node`: a later drain must cordon it again. */
  forgetCordon(node: string): void {
    this.#cordons.delete(node);
  }

  /** Whether the run cordoned `node` within {@link FRESH_CORDON_MS}; forgets the cordon either way (a drain asks once). */
  takeFreshCordon(node: string): boolean {
    const at = this.#cordons.get(node);
    this.#cordons.delete(node);
    return at !== undefined && this.clock.now() - at < FRESH_CORDON_MS;
  }

  /**
   * The budget gate shared by the drains of a batch: one watch of the budgets instead of one per node, and a
   * disruption a budget allows goes to one pod of the batch, not to one pod per drain (all but one of which the API
   * server would refuse with a 429: a third of a 1,000-node run's requests, bench/rollout.ts). `release` once done.
   */
  acquireGate(): GateLease {
    this.#assertOpen();
    let shared = this.#gate;
    if (!shared) {
      const stop = new AbortController();
      shared = {
        gate: createPdbGate(this.conn, { signal: stop.signal, clock: this.clock, rounds: this.#rounds }),
        users: 0,
        stop,
      };
      this.#gate = shared;
    }
    const own = shared;
    own.users += 1;
    let released = false;
    return {
      gate: own.gate,
      release: async () => {
        if (released) return;
        released = true;
        own.users -= 1;
        if (own.users > 0 || this.#gate !== own) return;
        this.#gate = undefined;
        own.stop.abort(new Error('no drain uses the budget gate any more'));
        await own.gate.close();
      },
    };
  }

  /** Runs `use` with the shared budget gate ({@link acquireGate}). */
  async withGate<T>(use: (gate: PdbGate) => Promise<T>): Promise<T> {
    const { gate, release } = this.acquireGate();
    try {
      return await use(gate);
    } finally {
      await release();
    }
  }

  /** The forecast of `node`'s drain, if one was made and has not ended. */
  forecastOf(node: string): Forecast | undefined {
    return this.#forecasts.get(node);
  }

  /**
   * Tells the budget gate which pods a drain of `node` will evict before it starts (while a surge replacement
   * boots): a batch's drains start one after the other as their replacements come up, and the first ones would
   * otherwise go before the batch's longest budget line is known, all at once, and not be spread (pdb-gate.ts).
   * Best effort: a failed read forecasts nothing. The node's drain ends it.
   */
  forecastDrain(node: string): Forecast {
    const known = this.#forecasts.get(node);
    if (known) return known;
    const nodes = this.#forecasts;
    const { gate, release } = this.acquireGate();
    const stop = new AbortController();
    let cancelGrace: Cancel = () => {};
    const forecast: Forecast = {
      landed: false,
      end() {
        if (nodes.get(node) !== forecast) return;
        nodes.delete(node);
        cancelGrace();
        stop.abort(new Error(`the forecast of ${node}'s drain ended`));
        gate.withdraw(node);
        void release();
      },
      expectDrain: () => {
        cancelGrace();
        // The grace timer does not keep a finished command alive.
        cancelGrace = this.clock.after(FORECAST_GRACE_MS, () => forecast.end(), { keepAlive: false });
      },
    };
    nodes.set(node, forecast);
    this.#podsOn(node, stop.signal)
      .then(async (pods) => {
        if (nodes.get(node) !== forecast) return;
        await gate.forecast(node, pods);
        // The drain may have started, and dropped the forecast, while the gate read the budgets.
        if (nodes.get(node) === forecast) forecast.landed = true;
        else gate.withdraw(node);
      })
      .catch(() => forecast.end());
    return forecast;
  }

  /**
   * The DaemonSets for a drain: one list shared by the drains of a batch, which start together, instead of one list
   * each (1,000 a run on a 1,000-node cluster, at the moments the cluster is busiest). A DaemonSet created since is
   * looked up on its own by the drain; one deleted in the last second makes its orphaned pods look owned, so the
   * drain leaves them, as it leaves every DaemonSet pod, instead of refusing them.
   */
  daemonSets(signal: AbortSignal): Promise<ReadonlySet<string>> {
    const last = this.#daemonSets;
    if (last && this.clock.now() - last.at < DAEMONSETS_SHARED_MS) return last.list;
    const list = listDaemonSets(this.conn, signal, this.clock);
    this.#daemonSets = { at: this.clock.now(), list };
    // A failed list (the first drain's cancellation included) is not shared: the next drain lists again.
    list.catch(() => {
      if (this.#daemonSets?.list === list) this.#daemonSets = undefined;
    });
    return list;
  }

  /**
   * Whether the cluster serves `pods/eviction` (discovery), shared by the drains of a batch as the DaemonSet list is:
   * a discovery read per drain would add a request per node to a batch that starts all its drains at once.
   */
  evictionSupport(signal: AbortSignal): Promise<EvictionSupport> {
    const last = this.#evictionSupport;
    if (last && this.clock.now() - last.at < DAEMONSETS_SHARED_MS) return last.support;
    const support = readEvictionSupport(this.conn, signal);
    this.#evictionSupport = { at: this.clock.now(), support };
    support.catch(() => {
      if (this.#evictionSupport?.support === support) this.#evictionSupport = undefined;
    });
    return support;
  }

  /**
   * Subscribes a wait to the session's watch of the nodes (started on first use; it stops once no wait has used it
   * for a while). Returns the unsubscribe.
   */
  watchNode(name: string, subscriber: NodeSubscriber): () => void {
    this.#assertOpen();
    let watch = this.#nodeWatch;
    if (!watch) {
      const created: NodeWatch = new NodeWatch(this.conn, this.clock, () => {
        if (this.#nodeWatch === created) this.#nodeWatch = undefined;
      });
      this.#nodeWatch = watch = created;
    }
    return watch.subscribe(name, subscriber);
  }

  /** What the session holds open now. */
  describe(): SessionDescription {
    const watches: ('nodes' | 'budgets')[] = [];
    if (this.#nodeWatch) watches.push('nodes');
    if (this.#gate) watches.push('budgets');
    return {
      cluster: this.cluster,
      closed: this.#closed,
      watches,
      nodeWaits: this.#nodeWatch?.waits ?? 0,
      gateUsers: this.#gate?.users ?? 0,
      forecasts: [...this.#forecasts.keys()],
      cordons: this.#cordons.size,
      budgetRoundMs: this.#rounds.value,
    };
  }

  /**
   * Ends the forecasts and the watches (in use or not: the run's executor is done) and forgets the rest; resolves
   * once the watches' requests have ended. Calling it again does nothing more.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The gate is taken first: the forecasts' releases below then leave its closing to this.
    const shared = this.#gate;
    this.#gate = undefined;
    for (const forecast of [...this.#forecasts.values()]) forecast.end();
    const nodeWatch = this.#nodeWatch;
    nodeWatch?.close();
    shared?.stop.abort(new Error(`the session of cluster ${this.cluster} closed`));
    this.#cordons.clear();
    this.#daemonSets = undefined;
    this.#evictionSupport = undefined;
    this.#onClose?.(this);
    await Promise.all([nodeWatch?.ended, shared?.gate.close()]);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClusterSessionClosedError(this.cluster);
  }

  /** The pods bound to `node` (as JSON: the gate reads a few fields of each). */
  async #podsOn(node: string, signal: AbortSignal): Promise<V1Pod[]> {
    const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${node}` });
    return (await getJson<{ items?: V1Pod[] }>(this.conn, `/api/v1/pods?${query.toString()}`, signal)).items ?? [];
  }
}
