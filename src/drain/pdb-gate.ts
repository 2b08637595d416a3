/**
 * The drain's live view of the PodDisruptionBudgets: which budgets hold a pod (to name them), and waiting until a
 * budget allows a disruption, on a watch, instead of asking for the eviction again and again (kubectl retries every
 * blocked pod every 5 s and GETs it each time).
 *
 * The eviction API decides from the budget's status (`disruptionsAllowed`), so a blocked eviction can only succeed
 * after the disruption controller writes a status that allows one. The gate lists the budgets once, watches them
 * from the first wait on, and for each status it sees lets through as many waiting pods as that status allows
 * disruptions: ten pods behind one budget that allows one disruption make one request, not ten. A disruption given to
 * a pod counts against every status until one lists the pod in `status.disruptedPods` (the API server records each
 * eviction there as it takes the disruption), or until the caller releases it (its eviction was refused): a status
 * written by one eviction while others are in flight does not hand their disruptions out a second time. A wait also
 * ends after `maxMs` without a new status of its budget, so a missed event costs time, never the drain; if budgets
 * cannot be listed (RBAC), waits are plain sleeps and no budget is named.
 *
 * With a {@link RoundEstimate} (the engine shares one per cluster), the gate also spreads the evictions that have time
 * to spare. The drains of a batch all last as long as the longest line behind one budget (a budget allowing one
 * disruption with 30 pods on the batch's nodes: 30 rounds, each a replacement started and Ready). A pod whose budget
 * allows its eviction now but whose own line is shorter is held back a random part of half that slack before it takes
 * the disruption, instead of joining a flood of hundreds of evictions, replacements and terminations in the same
 * second: the controllers, the scheduler and the kubelets then serve the longest line's rounds first, which is what
 * the batch waits for. Without a measured round, nothing is held back. The lines are known only as the drains ask:
 * the first drains of a batch would go before the longest line is seen, so a caller that knows which nodes it will
 * drain can {@link PdbGate.forecast} their pods, which then count in their budgets' lines until they ask themselves.
 *
 * A pod no budget selects, whose ReplicaSet or StatefulSet wants more than one replica, gets an implicit budget
 * ({@link ImplicitBudget}): two such pods of one workload on a batch's nodes were evicted at once, and a 2-replica
 * CoreDNS had no Ready pod until a replacement started. The gate keeps it as a PDB with `maxUnavailable: 1` would be
 * kept: a disruption while the controller's status counts all its replicas Ready, and the next only once a status
 * counts the disruption given (fewer Ready than desired: the evicted pod is terminating) and then all Ready again.
 * The statuses come from one list and one watch of the ReplicaSets (and one of the StatefulSets), started when the
 * first pod that needs them asks: no request per pod or per round. The API server does not know these budgets, so a
 * pod waits for its turn however long its budget is silent (until the drain's deadline), and a disruption given stays
 * given until a status counts it (no expiry: waiting too long is safe, evicting twice is the outage; only a relist,
 * which may skip that status, frees one given over 10 s before).
 */
import type { V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { abortReason } from './abort.ts';
import type { PdbHold } from './errors.ts';
import { controllerOf } from './filters.ts';
import { getJson, send } from '../kube-api/requests.ts';
import { labelSelectorObjectMatches } from '../k8s/label-selector.ts';
import type { Clock } from '../clock/clock.ts';
import type { ImplicitBudget, PdbRef } from './types.ts';
import { runResumableWatch } from './watch-loop.ts';

/** How a gate wait ended. */
export type GateOutcome = 'allowed' | 'timeout';

/** Options of createPdbGate. */
export interface PdbGateOptions {
  /** Stops the gate's watch (the drain's signal). */
  signal: AbortSignal;
  clock: Clock;
  /** The cluster's budget rounds as measured so far (updated by this gate): enables holding back what can wait. */
  rounds?: RoundEstimate;
  /** [0,1) for the spread of what is held back. @default Math.random */
  random?: () => number;
}

/**
 * How long one round of a budget takes on a cluster: from a disruption given until the budget allows the next (the
 * evicted pod's replacement created, scheduled, started and Ready), as gates measured it on pods that had waited for
 * it. Kept across gates, so each batch starts with what the batches before it measured.
 */
export class RoundEstimate {
  private ms: number | undefined;

  /** The estimate in ms; undefined until a round was measured. */
  get value(): number | undefined {
    return this.ms;
  }

  /** Adds one measured round (a moving average: recent rounds count most). */
  observe(ms: number): void {
    this.ms = this.ms === undefined ? ms : this.ms * 0.8 + ms * 0.2;
  }
}

/** Lets blocked evictions go when their budget allows, and names the budgets holding a pod. */
export interface PdbGate {
  /** Lists the budgets (once); false if they cannot be read. Every other method waits for it. */
  ready(): Promise<boolean>;
  /** The budgets selecting the pod, with their last status seen; empty when none does or the list failed. */
  holdsFor(pod: V1Pod): Promise<PdbHold[]>;
  /**
   * The implicit budget of a pod no budget selects, whose ReplicaSet or StatefulSet wants more than one replica;
   * undefined otherwise, and when the budgets or the controllers cannot be read (as without this gate).
   */
  implicitBudgetFor(pod: V1Pod): Promise<ImplicitBudget | undefined>;
  /**
   * Resolves `allowed` when a status of `pdb` with a disruption nobody was given yet is seen and this caller's turn
   * comes (at once if the last status seen still has one), else `timeout` once `maxMs` pass without a new status of
   * the budget (the caller then asks the API server itself). If budgets cannot be read, it sleeps `fallbackMs` and
   * resolves `timeout`. `pod` (its name) is who the disruption is for: it stays given until a status lists the pod as
   * disrupted or {@link PdbGate.release} gives it back. For an implicit budget, `timeout` only says its status was
   * silent for `maxMs`: the API server does not check it, so the caller waits again instead of asking.
   */
  wait(
    pdb: PdbRef | ImplicitBudget,
    pod: string,
    times: { maxMs: number; fallbackMs: number },
    signal: AbortSignal,
    onQueued?: () => void,
  ): Promise<GateOutcome>;
  /**
   * For a pod no budget guards: resolves at once, or after holding it back as a pod of a one-round line is (see
   * the module's comment) when the longest line leaves it time to spare.
   */
  spread(signal: AbortSignal): Promise<void>;
  /**
   * Pods a drain of `node` is about to evict (read before it starts): each one its budget checks counts in that
   * budget's line (for holding back the others) until it asks for a disruption itself, or `node` is withdrawn.
   */
  forecast(node: string, pods: readonly V1Pod[]): Promise<void>;
  /** The drain of `node` ended (or will not come): its forecast pods that did not ask no longer count. */
  withdraw(node: string): void;
  /** The eviction `pod` was given a disruption for did not take it (refused, failed, a dry run): give it back. */
  release(pdb: PdbRef | ImplicitBudget, pod: string): void;
  /** What the gate did, for tests and benchmarks: `held` pods held back to spread the load, for `heldMs` in all. */
  readonly stats: { watches: number; relists: number; grants: number; held: number; heldMs: number };
  /** Stops watching; resolves when the watch loop has ended. */
  close(): Promise<void>;
}

interface Budget {
  ref: PdbRef;
  object: V1PodDisruptionBudget;
  /** The resourceVersion of the last status seen. */
  version: string;
  /** Its disruptionsAllowed. */
  allowed: number;
  /** Pods given a disruption that no status seen has counted yet (not in its disruptedPods), with when. */
  given: Map<string, number>;
  waiters: Waiter[];
  /** The most disruptions a status seen allowed: how many pods one round lets go. */
  maxAllowed: number;
  /** Pods held back before taking a disruption this budget allows. */
  holding: number;
  /** When a disruption was last given (a round starts). */
  lastGrantAt: number | undefined;
  /** Pods a forecast drain will ask for a disruption of this budget, not asking yet. */
  expected: Set<string>;
  /** An implicit budget's: the Ready replicas its controller's last status seen counted. */
  ready?: number;
}

/** A pod waiting for a disruption of one budget. */
interface Waiter {
  readonly pod: string;
  /** When it started waiting. */
  readonly since: number;
  readonly grant: () => void;
  /** A new status of the budget was seen since the waiter's timeout was last armed. */
  news: boolean;
}

/**
 * How long a disruption given stays counted when no status lists its pod: a bound for a status the gate never saw
 * (missed during a relist, or an eviction the disruption controller already forgot), after which it is free again.
 */
const GIVEN_TTL_MS = 10_000;

/** The longest a pod is held back to spread a batch's evictions. */
const MAX_HOLD_MS = 30_000;

/**
 * Whether the API server checks a budget to evict this pod: running, Ready, not terminating (else it just deletes:
 * apiserver pod/storage/eviction.go).
 */
export function budgetApplies(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

function isImplicit(ref: PdbRef | ImplicitBudget): ref is ImplicitBudget {
  return 'controller' in ref;
}

/** The kinds of controller an implicit budget reads the status of. */
type ImplicitKind = ImplicitBudget['controller']['kind'];

/** What an implicit budget needs of its controller, as last seen. */
interface ControllerState {
  uid: string;
  version: string;
  replicas: number;
  /** status.readyReplicas: Ready pods that are not terminating. */
  ready: number;
  /** The Deployment owning a ReplicaSet. */
  deployment: string | undefined;
}

/** One list and one watch of a kind of controller, shared by every implicit budget of that kind. */
interface ControllerReader {
  readonly states: Map<string, ControllerState>;
  listed: Promise<{ ok: true; resourceVersion: string } | { ok: false }>;
  watching?: Promise<void>;
}

const CONTROLLER_PATHS: Readonly<Record<ImplicitKind, string>> = {
  ReplicaSet: '/apis/apps/v1/replicasets',
  StatefulSet: '/apis/apps/v1/statefulsets',
};

/** The fields of a listed or watched ReplicaSet or StatefulSet an implicit budget reads. */
interface ControllerObject {
  metadata?: {
    namespace?: string;
    name?: string;
    uid?: string;
    resourceVersion?: string;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number };
}

function asController(obj: unknown): { key: string; state: ControllerState } | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const { metadata, spec, status } = obj as ControllerObject;
  if (!metadata?.name) return undefined;
  const owner = metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'Deployment');
  return {
    key: keyOf(metadata.namespace, metadata.name),
    state: {
      uid: metadata.uid ?? '',
      version: metadata.resourceVersion ?? '',
      replicas: spec?.replicas ?? 1,
      ready: status?.readyReplicas ?? 0,
      deployment: owner?.name,
    },
  };
}

function asBudget(obj: unknown): V1PodDisruptionBudget | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const pdb = obj as V1PodDisruptionBudget;
  return pdb.metadata?.name ? pdb : undefined;
}

function implicitKey(ref: ImplicitBudget): string {
  const { kind, namespace, name } = ref.controller;
  return `${kind}/${keyOf(namespace, name)}`;
}

function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** A gate over every PDB of the cluster. */
export function createPdbGate(conn: ClusterConnection, options: PdbGateOptions): PdbGate {
  return new ClusterBudgetGate(conn, options);
}

/**
 * The gate's state (the budgets as last seen, their lines, the forecasts) and what it does with it: the budgets'
 * bookkeeping (grant, pump, settle), holding back what can wait, the list and the watch that keep the budgets current,
 * and the {@link PdbGate} methods a drain calls.
 */
class ClusterBudgetGate implements PdbGate {
  readonly stats = { watches: 0, relists: 0, grants: 0, held: 0, heldMs: 0 };
  private readonly clock: PdbGateOptions['clock'];
  private readonly signal: AbortSignal;
  private readonly random: () => number;
  private readonly budgets = new Map<string, Budget>();
  /** The implicit budgets pods have waited on, by `kind/namespace/name` of their controller. */
  private readonly implicit = new Map<string, Budget>();
  /** The controllers' statuses, by kind: read from the first pod that needs them on. */
  private readonly controllers = new Map<ImplicitKind, ControllerReader>();
  /** Budgets with pods waiting, held back or forecast: where the longest line is. */
  private readonly busy = new Set<Budget>();
  /** The forecast pods of each node, each with the budget it counts in. */
  private readonly forecasts = new Map<string, { b: Budget; pod: string }[]>();
  private listed: Promise<{ ok: true; resourceVersion: string } | { ok: false }> | undefined;
  private watching: Promise<void> | undefined;

  constructor(
    private readonly conn: ClusterConnection,
    private readonly options: PdbGateOptions,
  ) {
    const { clock, signal } = options;
    this.clock = clock;
    this.signal = signal;
    this.random = options.random ?? Math.random;
  }

  // ---- the PdbGate a drain calls ----

  async ready(): Promise<boolean> {
    this.listed ??= this.list(this.signal).then(
      (first) => {
        for (const item of first.items) this.observe(item);
        return { ok: true as const, resourceVersion: first.resourceVersion };
      },
      () => ({ ok: false as const }),
    );
    return (await this.listed).ok;
  }

  async holdsFor(pod: V1Pod): Promise<PdbHold[]> {
    if (!(await this.ready())) return [];
    const holds: PdbHold[] = [];
    for (const b of this.selecting(pod)) {
      const status = b.object.status;
      holds.push({
        pdb: b.ref,
        ...(status ? { desiredHealthy: status.desiredHealthy, currentHealthy: status.currentHealthy } : {}),
      });
    }
    return holds;
  }

  async implicitBudgetFor(pod: V1Pod): Promise<ImplicitBudget | undefined> {
    const owner = controllerOf(pod);
    const kind = owner?.kind;
    if (!owner || (kind !== 'ReplicaSet' && kind !== 'StatefulSet')) return undefined;
    // A budget that selects the pod is the API server's to keep; unread budgets leave that unknown.
    if (!(await this.ready()) || this.selecting(pod).length > 0) return undefined;
    const reader = this.reader(kind);
    if (!(await reader.listed).ok) return undefined;
    const namespace = pod.metadata?.namespace ?? '';
    const state = reader.states.get(keyOf(namespace, owner.name));
    if (!state || state.replicas < 2 || (owner.uid && state.uid !== owner.uid)) return undefined;
    return {
      controller: { kind, namespace, name: owner.name },
      workload: state.deployment ? { kind: 'Deployment', namespace, name: state.deployment } : { kind, namespace, name: owner.name },
      replicas: state.replicas,
    };
  }

  async spread(spreadSignal: AbortSignal): Promise<void> {
    if (!(await this.ready())) return;
    const hold = this.holdBack(1);
    if (hold > 0) await this.clock.sleep(hold, spreadSignal);
  }

  async forecast(node: string, pods: readonly V1Pod[]): Promise<void> {
    if (!(await this.ready())) return;
    const own = this.forecasts.get(node) ?? [];
    this.forecasts.set(node, own);
    for (const pod of pods) {
      // Only what the drain will ask the gate for: an eviction its one budget checks (see evict.ts).
      if (!budgetApplies(pod) || controllerOf(pod)?.kind === 'DaemonSet') continue;
      const [b, ...more] = this.selecting(pod);
      const name = pod.metadata?.name ?? '';
      if (!b || more.length > 0 || b.expected.has(name)) continue;
      b.expected.add(name);
      this.busy.add(b);
      own.push({ b, pod: name });
    }
  }

  withdraw(node: string): void {
    for (const { b, pod } of this.forecasts.get(node) ?? []) {
      b.expected.delete(pod);
      this.settle(b);
    }
    this.forecasts.delete(node);
  }

  release(pdb: PdbRef | ImplicitBudget, pod: string): void {
    const b = isImplicit(pdb) ? this.implicit.get(implicitKey(pdb)) : this.budgets.get(keyOf(pdb.namespace, pdb.name));
    if (b?.given.delete(pod)) this.pump(b);
  }

  async wait(
    pdb: PdbRef | ImplicitBudget,
    pod: string,
    times: { maxMs: number; fallbackMs: number },
    waitSignal: AbortSignal,
    onQueued?: () => void,
  ): Promise<GateOutcome> {
    const { clock } = this;
    waitSignal.throwIfAborted();
    if (!(await this.ready())) {
      await clock.sleep(times.fallbackMs, waitSignal);
      return 'timeout';
    }
    let b: Budget;
    let current: () => boolean;
    if (isImplicit(pdb)) {
      const key = implicitKey(pdb);
      const found = await this.implicitBudget(pdb);
      // Its controller is gone, or no longer wants several replicas: nothing holds the pod any more.
      if (!found) return 'allowed';
      b = found;
      current = () => this.implicit.get(key) === b;
    } else {
      await this.watch();
      b = this.budget(pdb);
      current = () => this.budgets.get(keyOf(pdb.namespace, pdb.name)) === b;
    }
    b.expected.delete(pod); // it asks now: it counts as a waiter or a holding from here
    if (this.free(b) > 0) {
      const hold = this.holdBack(this.roundsOf(b, 1));
      if (hold > 0) {
        b.holding += 1;
        this.busy.add(b);
        try {
          await clock.sleep(hold, waitSignal);
        } finally {
          b.holding -= 1;
          this.settle(b);
        }
        // The budget went away meanwhile: nothing holds the pod any more.
        if (!current()) return 'allowed';
      }
    }
    if (this.free(b) > 0) {
      this.grant(b, pod); // the last status seen still has a disruption nobody was given: take it now
      return 'allowed';
    }
    return this.queue(b, pod, times.maxMs, waitSignal, onQueued);
  }

  async close(): Promise<void> {
    await this.listed;
    await this.watching;
    for (const reader of this.controllers.values()) {
      await reader.listed;
      await reader.watching;
    }
  }

  // ---- the line of one budget ----

  /** Waits in `b`'s line until a disruption is granted, or `maxMs` pass without news of the budget. */
  private queue(
    b: Budget,
    pod: string,
    maxMs: number,
    waitSignal: AbortSignal,
    onQueued: (() => void) | undefined,
  ): Promise<GateOutcome> {
    const { clock } = this;
    return new Promise<GateOutcome>((resolve, reject) => {
      const timer = new AbortController();
      const done = () => {
        timer.abort();
        waitSignal.removeEventListener('abort', onAbort);
        const i = b.waiters.indexOf(waiter);
        if (i >= 0) b.waiters.splice(i, 1);
        this.settle(b);
      };
      const onAbort = () => {
        done();
        reject(abortReason(waitSignal));
      };
      const onGrant = () => {
        done();
        resolve('allowed');
      };
      const waiter: Waiter = { pod, since: clock.now(), grant: onGrant, news: false };
      b.waiters.push(waiter);
      this.busy.add(b);
      waitSignal.addEventListener('abort', onAbort, { once: true });
      onQueued?.();
      // The timeout is for silence (a status the watch missed), not for a long line: while the budget's statuses
      // keep coming and go to the pods ahead, this one keeps its place. Giving up only to be refused with a 429
      // and queue again at the back was 475 of the 1,000-node benchmark's 624 refusals.
      const expire = (): void => {
        clock.sleep(maxMs, timer.signal).then(
          () => {
            if (waiter.news) {
              waiter.news = false;
              expire();
              return;
            }
            done();
            resolve('timeout');
          },
          () => undefined, // granted or aborted first
        );
      };
      expire();
    });
  }

  private budget(ref: PdbRef): Budget {
    const key = keyOf(ref.namespace, ref.name);
    let b = this.budgets.get(key);
    if (!b) {
      b = emptyBudget(ref);
      this.budgets.set(key, b);
    }
    return b;
  }

  private free(b: Budget): number {
    return b.allowed - b.given.size;
  }

  private grant(b: Budget, pod: string): void {
    b.given.set(pod, this.clock.now());
    b.lastGrantAt = this.clock.now();
    this.stats.grants += 1;
  }

  /** Takes `b` out of `busy` once no pod waits on it, is held back by it or is expected. */
  private settle(b: Budget): void {
    if (b.waiters.length === 0 && b.holding === 0 && b.expected.size === 0) this.busy.delete(b);
  }

  private pump(b: Budget): void {
    // A pod that waited through the whole round since the last disruption given measures that round.
    const head = b.waiters[0];
    if (head && this.free(b) > 0 && b.lastGrantAt !== undefined && head.since <= b.lastGrantAt) {
      this.options.rounds?.observe(this.clock.now() - b.lastGrantAt);
    }
    while (b.waiters.length > 0 && this.free(b) > 0) {
      const next = b.waiters.shift();
      if (!next) break;
      this.grant(b, next.pod);
      next.grant();
    }
    this.settle(b);
  }

  // ---- holding back what can wait ----

  /** Rounds the pods asking for a disruption of `b` need, counting `extra` more. */
  private roundsOf(b: Budget, extra = 0): number {
    return Math.ceil(
      (b.waiters.length + b.given.size + b.holding + b.expected.size + extra) / Math.max(1, b.maxAllowed),
    );
  }

  /**
   * How long to hold back a pod whose own line takes `rounds` (with it): a random part of half the rounds it can
   * spare against the longest line.
   */
  private holdBack(rounds: number): number {
    const roundMs = this.options.rounds?.value;
    if (roundMs === undefined) return 0;
    let longest = 0;
    for (const other of this.busy) longest = Math.max(longest, this.roundsOf(other));
    const spare = longest - rounds - 1;
    if (spare <= 0) return 0;
    const hold = Math.min(MAX_HOLD_MS, (this.random() * spare * roundMs) / 2);
    this.stats.held += 1;
    this.stats.heldMs += hold;
    return hold;
  }

  // ---- implicit budgets: the controllers' statuses, one list and one watch a kind ----

  /** The list (then the watch) of `kind`, started once. */
  private reader(kind: ImplicitKind): ControllerReader {
    const known = this.controllers.get(kind);
    if (known) return known;
    const path = CONTROLLER_PATHS[kind];
    const states = new Map<string, ControllerState>();
    const created: ControllerReader = {
      states,
      listed: this.listControllers(path, this.signal).then(
        (first) => {
          for (const item of first.items) this.observeController(kind, item);
          // Started at once: a pod asks for its implicit budget right before it waits on it.
          created.watching = runResumableWatch(this.conn, {
            path,
            resourceVersion: first.resourceVersion,
            relist: (s) => this.listControllers(path, s),
            onEvent: (type, obj) => {
              if (type === 'DELETED') this.forgetController(kind, obj);
              else this.observeController(kind, obj);
            },
            onRelist: (items) => {
              const keep = new Set<string>();
              for (const item of items) {
                this.observeController(kind, item, true);
                const c = asController(item);
                if (c) keep.add(c.key);
              }
              for (const [key, state] of states) {
                if (!keep.has(key)) this.forgetController(kind, { metadata: { ...splitKey(key), uid: state.uid } });
              }
            },
            signal: this.signal,
            clock: this.clock,
            stats: this.stats,
          });
          return { ok: true as const, resourceVersion: first.resourceVersion };
        },
        () => ({ ok: false as const }),
      ),
    };
    this.controllers.set(kind, created);
    return created;
  }

  private async listControllers(path: string, s: AbortSignal) {
    // As the API server's JSON: the gate reads five fields of each, and a large cluster has thousands.
    const l = await getJson<{ items?: unknown[]; metadata?: { resourceVersion?: string } }>(this.conn, path, s);
    return { items: l.items ?? [], resourceVersion: l.metadata?.resourceVersion ?? '' };
  }

  /** The line of `ref`'s controller, made from its status when a pod first waits on it; undefined if none applies. */
  private async implicitBudget(ref: ImplicitBudget): Promise<Budget | undefined> {
    const key = implicitKey(ref);
    const known = this.implicit.get(key);
    if (known) return known;
    const reader = this.reader(ref.controller.kind);
    if (!(await reader.listed).ok) return undefined;
    const again = this.implicit.get(key); // made by another pod meanwhile
    if (again) return again;
    const { namespace, name } = ref.controller;
    const state = reader.states.get(keyOf(namespace, name));
    if (!state || state.replicas < 2) return undefined;
    const b = emptyBudget({ namespace, name });
    this.implicit.set(key, b);
    this.applyStatus(b, state);
    return b;
  }

  /** `relisted`: the status comes from a relist, after a gap in which the watch may have missed some. */
  private observeController(kind: ImplicitKind, obj: unknown, relisted = false): void {
    const c = asController(obj);
    const reader = this.controllers.get(kind);
    if (!c || !reader) return;
    reader.states.set(c.key, c.state);
    const key = `${kind}/${c.key}`;
    const b = this.implicit.get(key);
    if (!b || b.version === c.state.version) return;
    if (c.state.replicas < 2) this.forgetImplicit(key);
    else {
      // A relist may have skipped the status that counted a disruption given (its pod terminating): one given long
      // enough ago is counted by now, unless the controller is stuck. A status not changed since is no such gap.
      if (relisted) for (const [pod, at] of b.given) if (at <= this.clock.now() - GIVEN_TTL_MS) b.given.delete(pod);
      this.applyStatus(b, c.state);
    }
  }

  private forgetController(kind: ImplicitKind, obj: unknown): void {
    const c = asController(obj);
    if (!c) return;
    this.controllers.get(kind)?.states.delete(c.key);
    this.forgetImplicit(`${kind}/${c.key}`);
  }

  /** A status of an implicit budget's controller: what it allows now, as a PDB with `maxUnavailable: 1` would. */
  private applyStatus(b: Budget, state: ControllerState): void {
    b.version = state.version;
    // Fewer Ready than desired, or than the status before: this status counts the disruptions given (their pods are
    // terminating), or finds the workload short anyway; either way the status, not the grants, says what may go
    // next. A status with as many Ready as before was written before the evictions given took effect: they stay given.
    if (state.ready < state.replicas || (b.ready !== undefined && state.ready < b.ready)) b.given.clear();
    b.ready = state.ready;
    b.allowed = Math.max(0, state.ready - (state.replicas - 1));
    b.maxAllowed = Math.max(b.maxAllowed, b.allowed);
    for (const w of b.waiters) w.news = true;
    this.pump(b);
  }

  private forgetImplicit(key: string): void {
    const b = this.implicit.get(key);
    this.implicit.delete(key);
    if (!b) return;
    for (const w of [...b.waiters]) w.grant(); // nothing holds the pods any more
    b.expected.clear();
    this.settle(b);
  }

  // ---- keeping the budgets current: one list, then one watch ----

  private observe(obj: unknown): void {
    const pdb = asBudget(obj);
    if (!pdb) return;
    const b = this.budget({ namespace: pdb.metadata?.namespace ?? '', name: pdb.metadata?.name ?? '' });
    b.object = pdb;
    const version = pdb.metadata?.resourceVersion ?? '';
    if (b.version === version) return;
    b.version = version;
    b.allowed = pdb.status?.disruptionsAllowed ?? 0;
    b.maxAllowed = Math.max(b.maxAllowed, b.allowed);
    // The disruptions this status counts (in disruptedPods, and so out of disruptionsAllowed) are no longer owed.
    const disrupted = pdb.status?.disruptedPods ?? {};
    const expired = this.clock.now() - GIVEN_TTL_MS;
    for (const [pod, at] of b.given) if (Object.hasOwn(disrupted, pod) || at <= expired) b.given.delete(pod);
    for (const w of b.waiters) w.news = true;
    this.pump(b);
  }

  private forget(key: string): void {
    const b = this.budgets.get(key);
    this.budgets.delete(key);
    if (!b) return;
    for (const w of [...b.waiters]) w.grant(); // the budget is gone: nothing holds the pods any more
    b.expected.clear(); // nor is it a line any more
    this.settle(b);
  }

  private async list(s: AbortSignal) {
    const { conn } = this;
    const l = await send(conn, s, (o) => conn.policy.listPodDisruptionBudgetForAllNamespaces({}, o));
    return { items: l.items as unknown[], resourceVersion: l.metadata?.resourceVersion ?? '' };
  }

  /** The watch starts with the first wait, from the list's version, so nothing in between is missed. */
  private async watch(): Promise<void> {
    const first = await this.listed;
    if (!first?.ok || this.watching) return;
    this.watching = runResumableWatch(this.conn, {
      path: '/apis/policy/v1/poddisruptionbudgets',
      resourceVersion: first.resourceVersion,
      relist: (s) => this.list(s),
      onEvent: (type, obj) => {
        const pdb = asBudget(obj);
        if (type === 'DELETED') {
          if (pdb) this.forget(keyOf(pdb.metadata?.namespace, pdb.metadata?.name));
        } else this.observe(obj);
      },
      onRelist: (items) => {
        const keep = new Set<string>();
        for (const item of items) {
          this.observe(item);
          const pdb = asBudget(item);
          if (pdb) keep.add(keyOf(pdb.metadata?.namespace, pdb.metadata?.name));
        }
        for (const [key, b] of this.budgets) if (!keep.has(key) && b.version !== '') this.forget(key);
      },
      signal: this.signal,
      clock: this.clock,
      stats: this.stats,
    });
  }

  /** The budgets (as last seen) that select `pod`. */
  private selecting(pod: V1Pod): Budget[] {
    const namespace = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    const found: Budget[] = [];
    for (const b of this.budgets.values()) {
      if (b.ref.namespace === namespace && b.version !== '' && labelSelectorObjectMatches(b.object.spec?.selector, labels))
        found.push(b);
    }
    return found;
  }
}

/** A budget the gate knows nothing of yet: no status read, nothing allowed, nobody waiting. */
function emptyBudget(ref: Budget['ref']): Budget {
  return {
    ref,
    object: {},
    version: '',
    allowed: 0,
    given: new Map(),
    waiters: [],
    maxAllowed: 0,
    holding: 0,
    lastGrantAt: undefined,
    expected: new Set(),
  };
}
