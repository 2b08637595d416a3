/**
 * Draining one node, with kubectl's semantics and kubectl's flags, faster and more telling:
 *
 *   cordon -> list the node's pods once -> kubectl's filters (refusals stop the drain before any eviction) ->
 *   evict every pod concurrently (bounded requests in flight, the connection's rate limiter) -> wait on one watch
 *   until every evicted pod is gone (deleted, or replaced under a new UID).
 *
 * An API server whose discovery serves no `pods/eviction` gets its pods deleted instead, as kubectl drain does
 * (eviction-support.ts); the drain says so in an `eviction-unsupported` event.
 *
 * PodDisruptionBudgets are honoured through the Eviction API, and watched (pdb-gate.ts): a pod whose budget has no
 * disruption left waits for the budget's status to allow one instead of being refused again and again, and every
 * pod left at a timeout is named with the budget holding it. A Ready pod no budget selects, whose ReplicaSet or
 * StatefulSet wants more than one replica, waits the same way for kup's implicit budget (all but one of its replicas
 * Ready; `implicitBudget`). `--timeout` is one deadline for all of it. A drain
 * never uncordons: whatever happens, the result says plainly whether the node is left cordoned, and the caller
 * decides (kubectl leaves it cordoned too). Failures are data: the result carries a DrainError.
 */
import { setMaxListeners } from 'node:events';
import type { V1Pod } from '@kubernetes/client-node';
import { KupError } from '../errors/kup-error.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { statusOf } from '../kube-api/errors.ts';
import { getJson } from '../kube-api/requests.ts';
import type { BackoffOptions } from './backoff.ts';
import { systemClock } from './clock.ts';
import { cordonNode, markUnschedulable } from './cordon.ts';
import type { PdbHold, PodIssue } from './errors.ts';
import { DrainError, DrainErrorCode, describeIssues } from './errors.ts';
import type { BlockedAttempt, RemovalMethod } from './evict.ts';
import { messageOf, removePod } from './evict.ts';
import type { DaemonSetLookup, FilterWarning, SkippedPod } from './filters.ts';
import { daemonSetsToLookUp, filterPods, formatRefusals } from './filters.ts';
import type { PdbGate } from './pdb-gate.ts';
import { createPdbGate } from './pdb-gate.ts';
import { sendWithRetry, withRetry } from './requests.ts';
import { assertLabelSelector } from './selectors.ts';
import { Semaphore } from './semaphore.ts';
import type { Clock } from '../clock/clock.ts';
import type { DryRun, ImplicitBudget, PodRef } from './types.ts';
import { formatPod, podRef } from './types.ts';
import type { PodPresence } from './wait.ts';
import { watchNodePods } from './wait.ts';
import type { EvictionSupport } from './eviction-support.ts';
import { readEvictionSupport } from './eviction-support.ts';

/** Options of drainNode: kubectl drain's flags, and kup's own (rate and concurrency come with the connection). */
export interface DrainOptions {
  /** `--ignore-daemonsets`: leave DaemonSet pods instead of refusing the drain. @default false */
  ignoreDaemonSets?: boolean;
  /** `--delete-emptydir-data`: evict pods with emptyDir volumes (their data is lost). @default false */
  deleteEmptyDirData?: boolean;
  /** `--force`: evict pods without a controller (nothing recreates them) and orphaned DaemonSet pods. @default false */
  force?: boolean;
  /** `--grace-period`: seconds each pod gets to terminate; negative uses the pod's own. @default -1 */
  gracePeriodSeconds?: number;
  /** `--timeout`: one deadline for the whole drain, in milliseconds; 0 waits forever (as kubectl). @default 0 */
  timeoutMs?: number;
  /** `--pod-selector`: only pods with these labels are considered. @default '' (all) */
  podSelector?: string;
  /** `--disable-eviction`: DELETE the pods, bypassing PodDisruptionBudgets. Use with care. @default false */
  disableEviction?: boolean;
  /** `--dry-run`. @default 'none' */
  dryRun?: DryRun;
  /**
   * Whether the API server serves `pods/eviction` (kubectl's discovery check): when it does not, pods are deleted, as
   * kubectl drain does. A caller running many drains may read it once for all. @default {@link readEvictionSupport}
   */
  evictionSupport?: (signal: AbortSignal) => Promise<EvictionSupport>;
  /**
   * Keep all but one of a workload's replicas Ready when no PDB selects its pods and its ReplicaSet or StatefulSet
   * wants more than one (`--implicit-budget off` turns it off, as kubectl has no such thing): the pods of one workload
   * on this node, or on the nodes of drains sharing `pdbGate`, then go one at a time, each once its predecessor's
   * replacement is Ready, and a timeout names the budget. @default true
   */
  implicitBudget?: boolean;
  /**
   * The caller has cordoned the node and uncordons it (the rollout engine): the drain marks it unschedulable again
   * with one request instead of reading it first (it may have been uncordoned since, across a restart of the caller),
   * and a failed drain leaves it cordoned. `'just-now'`: the caller's own cordon was answered moments ago, so the
   * drain does not repeat it (one round trip less, at the moment all of a batch's drains start). Not with a dry run.
   * @default false
   */
  cordoned?: boolean | 'just-now';
  /** `--skip-wait-for-delete-timeout`: skip pods deleted more than this many seconds ago; 0 never. @default 0 */
  skipWaitForDeleteTimeoutSeconds?: number;
  /** `--chunk-size`: page size of the pod list. @default 500 */
  chunkSize?: number;
  /** Eviction requests in flight at once (waits between retries hold none). @default 50 */
  concurrency?: number;
  /** Cancels the drain; the result then says how the node was left (KUP-DRAIN-005). */
  signal?: AbortSignal;
  /** Progress, as it happens (the CLI prints kubectl-like lines from these; the engine records them). */
  onProgress?: (event: DrainEvent) => void;
  /** Backoff of refused evictions. @default 100 ms doubling to 2 s, 20% jitter */
  backoff?: BackoffOptions;
  /**
   * A budget gate (`createPdbGate`) shared with the drains running at the same time on this cluster: one watch of
   * the budgets, and each disruption a budget allows handed to one pod across all of them. With a gate per drain,
   * every drain sends a pod as soon as a budget allows one disruption, and all but one get a 429. The caller closes
   * it. @default a gate of the drain's own
   */
  pdbGate?: PdbGate;
  /**
   * Lists the cluster's DaemonSets (`namespace/name`), which the drain reads to tell a DaemonSet pod from an orphaned
   * one. A caller running many drains at once may share one recent list among them; a DaemonSet created since is
   * looked up on its own. @default {@link listDaemonSets}, one list per drain
   */
  daemonSets?: (conn: ClusterConnection, signal: AbortSignal, clock: Clock) => Promise<ReadonlySet<string>>;
  /** @default the system clock */
  clock?: Clock;
  /** [0,1) for jitter. @default Math.random */
  random?: () => number;
}

/** Something a drain did or saw. `dryRun` is set on events of a dry run. */
export type DrainEvent =
  | { type: 'cordoned'; node: string; alreadyCordoned: boolean; dryRun: DryRun }
  | { type: 'filtered'; node: string; pods: PodRef[]; skipped: SkippedPod[]; warnings: FilterWarning[] }
  | { type: 'evicting'; pod: PodRef; method: RemovalMethod; dryRun: DryRun }
  /** The API server serves no Eviction API: the drain deletes its pods (as kubectl does), `reason` says so. */
  | { type: 'eviction-unsupported'; node: string; reason: string }
  /**
   * An eviction held by a budget: refused (`status` 429, or a 5xx being retried) and about to be retried, or held back
   * before its first request because its budget has no disruption left (`status` undefined). Sent when the pod is
   * first held and when the message changes.
   */
  | {
      type: 'blocked';
      pod: PodRef;
      holds: PdbHold[];
      message: string;
      status: number | undefined;
      retryInMs: number;
      /** Held by kup's implicit budget (no PDB selects the pod). */
      implicit?: ImplicitBudget;
    }
  /** The pod is gone after an eviction (`alreadyGone`: the eviction found no such pod). */
  | { type: 'evicted'; pod: PodRef; alreadyGone: boolean }
  /** The pod is gone after a DELETE (`--disable-eviction`). */
  | { type: 'deleted'; pod: PodRef; alreadyGone: boolean }
  /** Every request is accepted; only these pods' termination is awaited. */
  | { type: 'waiting'; pods: PodRef[] }
  | { type: 'drained'; node: string; dryRun: DryRun };

/** A page of a pod list as the API server sends it (`continue`, not client-node's `_continue`). */
interface PodPage {
  items: V1Pod[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** The cluster's DaemonSets, as `namespace/name`. */
export async function listDaemonSets(conn: ClusterConnection, signal: AbortSignal, clock: Clock): Promise<ReadonlySet<string>> {
  const list = await sendWithRetry(conn, signal, clock, (o) => conn.apps.listDaemonSetForAllNamespaces({}, o));
  return new Set(list.items.map((d) => `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`));
}

/** What a drain did; on failure, `error` says why and which pods are left, and `nodeCordoned` how the node is. */
export type DrainResult = DrainSucceeded | DrainFailed;

interface DrainResultCommon {
  node: string;
  /** Whether the node is (as far as this drain knows) left unschedulable. A drain never uncordons. */
  nodeCordoned: boolean;
  /** Whether this drain cordoned it (it was schedulable before). */
  cordonedByDrain: boolean;
  dryRun: DryRun;
  /** Pods gone after an eviction (or, under dry-run, that would be evicted). */
  evicted: PodRef[];
  /** Pods gone after a DELETE. */
  deleted: PodRef[];
  skipped: SkippedPod[];
  warnings: FilterWarning[];
  durationMs: number;
}

/** A drain that finished: every pod it had to remove is gone. */
export interface DrainSucceeded extends DrainResultCommon {
  status: 'drained';
}

/** A drain that did not finish. */
export interface DrainFailed extends DrainResultCommon {
  status: 'failed';
  error: DrainError;
  /** The pods that kept the node from draining (the same as `error.pods`). */
  remaining: PodIssue[];
}

type TrackState = 'pending' | 'requesting' | 'blocked' | 'terminating' | 'gone' | 'failed';

interface Track {
  pod: V1Pod;
  ref: PodRef;
  state: TrackState;
  blocked?: BlockedAttempt;
  failure?: { reason: string; holds: PdbHold[] };
}

/** Why the drain's internal signal fired when the caller's did not. */
class DeadlineReached extends KupError<typeof DrainErrorCode.timedOut> {
  override readonly name = 'DeadlineReached';
  constructor(message: string) {
    // The abort reason the drain turns into its KUP-DRAIN-003 DrainError; its text goes into that error's message.
    super(DrainErrorCode.timedOut, message, { kind: 'failed', plainMessage: true });
  }
}

function secondsText(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}

/**
 * Drains a node: see the module comment. Resolves to a DrainResult for every outcome of the drain itself (node
 * missing, pods refused, timeout, failed evictions, cancellation); rejects only when the signal is already aborted
 * at the call, or `podSelector` is not a label selector (LabelSelectorSyntaxError), before anything is sent.
 */
export async function drainNode(
  conn: ClusterConnection,
  nodeName: string,
  options: DrainOptions = {},
): Promise<DrainResult> {
  options.signal?.throwIfAborted();
  const podSelector = options.podSelector ?? '';
  assertLabelSelector(podSelector);
  const drain = new NodeDrain(conn, nodeName, options);
  try {
    return await drain.run(podSelector);
  } finally {
    await drain.close();
  }
}

/** The pods a drain removes and what it leaves alone, after kubectl's filters. */
type Verdict = ReturnType<typeof filterPods>;

/**
 * One drain as it runs: its signal (the caller's, or the deadline), what it has done so far (the result's fields),
 * and a method per step. Each step returns the failed result that ends the drain, or nothing to go on.
 */
class NodeDrain {
  private readonly clock: NonNullable<DrainOptions['clock']>;
  private readonly dryRun: DryRun;
  private readonly timeoutMs: number;
  private readonly started: number;
  /** One signal for every request and wait: the caller's, or the deadline. */
  private readonly ctl = new AbortController();
  private readonly signal: AbortSignal;
  /** Stops the deadline's timer when the drain ends first. */
  private readonly timer = new AbortController();
  private readonly onCallerAbort = (): void => this.ctl.abort(this.options.signal?.reason);

  private nodeCordoned = false;
  private cordonedByDrain = false;
  private readonly evicted: PodRef[] = [];
  private readonly deleted: PodRef[] = [];
  private skipped: SkippedPod[] = [];
  private warnings: FilterWarning[] = [];
  private pods: V1Pod[] = [];
  private listVersion = '';
  private presence: PodPresence | undefined;
  private gate: PdbGate | undefined;
  private evictionServed = true;

  constructor(
    private readonly conn: ClusterConnection,
    private readonly nodeName: string,
    private readonly options: DrainOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.dryRun = options.dryRun ?? 'none';
    this.timeoutMs = options.timeoutMs ?? 0;
    this.started = this.clock.now();
    setMaxListeners(0, this.ctl.signal); // every pod in flight listens to it (a sleep, a wait): not a leak
    options.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (this.timeoutMs > 0) {
      this.clock.sleep(this.timeoutMs, this.timer.signal).then(
        () =>
          this.ctl.abort(
            new DeadlineReached(`drain of node ${nodeName} timed out after ${secondsText(this.timeoutMs)}`),
          ),
        () => undefined, // the drain ended first
      );
    }
    this.signal = this.ctl.signal;
  }

  /** cordon -> list the pods (and the DaemonSets) -> filter -> evict and wait. */
  async run(podSelector: string): Promise<DrainResult> {
    const notCordoned = await this.cordon();
    if (notCordoned) return notCordoned;
    // kubectl GETs the DaemonSet of every DaemonSet pod after listing the pods: one LIST alongside answers the same
    // question without a round trip more, at the moment a batch's drains all start. A DaemonSet it does not show
    // (created since) is looked up on its own.
    const daemonSetList = (this.options.daemonSets ?? listDaemonSets)(this.conn, this.signal, this.clock).catch(
      () => new Set<string>(), // a failed list: every DaemonSet is looked up on its own
    );
    // Discovery is read alongside the pods (not after them): the evictions start as soon as the filters are done.
    const evictionSupport = this.readEvictionSupport();
    const notListed = await this.listPods(podSelector);
    if (notListed) return notListed;
    const verdict = await this.filterPods(daemonSetList);
    if (!('delete' in verdict)) return verdict;
    const { skipped, warnings } = this;
    this.emit({ type: 'filtered', node: this.nodeName, pods: verdict.delete.map(podRef), skipped, warnings });
    if (verdict.delete.length > 0) await this.useEvictionSupport(evictionSupport);
    if (this.dryRun === 'client') return this.sayWhatWouldBeEvicted(verdict);
    return this.evictAndWait(verdict);
  }

  /** Ends whatever still runs (a request, a wait, the watch, the budget gate this drain made). */
  async close(): Promise<void> {
    this.timer.abort();
    this.options.signal?.removeEventListener('abort', this.onCallerAbort);
    this.ctl.abort(new Error('drain finished')); // ends any request or wait still running
    await this.presence?.close();
    if (this.gate !== this.options.pdbGate) await this.gate?.close();
  }

  // 1. Cordon.
  private async cordon(): Promise<DrainFailed | undefined> {
    const { conn, nodeName, dryRun, signal, clock, options } = this;
    try {
      if (options.cordoned && dryRun === 'none') {
        if (options.cordoned !== 'just-now') await markUnschedulable(conn, nodeName, { signal, clock });
        this.nodeCordoned = true;
        this.emit({ type: 'cordoned', node: nodeName, alreadyCordoned: true, dryRun });
      } else {
        const c = await cordonNode(conn, nodeName, { dryRun, signal, clock });
        this.nodeCordoned = dryRun === 'none' ? true : c.wasUnschedulable;
        this.cordonedByDrain = dryRun === 'none' && c.changed;
        this.emit({ type: 'cordoned', node: nodeName, alreadyCordoned: !c.changed, dryRun });
      }
      return undefined;
    } catch (err) {
      if (err instanceof DrainError) return this.fail(err);
      if (signal.aborted) return this.fail(this.abortError([], err));
      return this.fail(this.apiError('cannot cordon the node', err));
    }
  }

  // 2. List the node's pods, once.
  private async listPods(podSelector: string): Promise<DrainFailed | undefined> {
    const { conn, nodeName, signal, clock, options } = this;
    try {
      let token: string | undefined;
      do {
        // As the API server's JSON: client-node's typed mapping of a page of pods costs more than its read.
        const query = new URLSearchParams({
          fieldSelector: `spec.nodeName=${nodeName}`,
          ...(podSelector ? { labelSelector: podSelector } : {}),
          limit: String(options.chunkSize ?? 500),
          ...(token ? { continue: token } : {}),
        });
        const page = await withRetry(signal, clock, () => getJson<PodPage>(conn, `/api/v1/pods?${query.toString()}`, signal));
        this.pods.push(...page.items);
        this.listVersion ||= page.metadata?.resourceVersion ?? '';
        token = page.metadata?.continue || undefined;
      } while (token);
      return undefined;
    } catch (err) {
      if (signal.aborted) return this.fail(this.abortError([], err));
      return this.fail(this.apiError('cannot list its pods', err));
    }
  }

  // 3. The DaemonSets the pods name (from the list, else each looked up once), then kubectl's filters.
  private async filterPods(daemonSetList: Promise<ReadonlySet<string>>): Promise<Verdict | DrainFailed> {
    const { conn, nodeName, signal, clock, options, pods } = this;
    const daemonSets = new Map<string, ReturnType<DaemonSetLookup>>();
    const wanted = daemonSetsToLookUp(pods);
    try {
      const present = await daemonSetList;
      if (signal.aborted) throw signal.reason;
      for (const { namespace, name } of wanted) if (present.has(`${namespace}/${name}`)) daemonSets.set(`${namespace}/${name}`, 'found');
      for (const { namespace, name } of wanted.filter((d) => !daemonSets.has(`${d.namespace}/${d.name}`))) {
        try {
          await sendWithRetry(conn, signal, clock, (o) => conn.apps.readNamespacedDaemonSet({ namespace, name }, o));
          daemonSets.set(`${namespace}/${name}`, 'found');
        } catch (err) {
          if (signal.aborted) throw err;
          daemonSets.set(`${namespace}/${name}`, statusOf(err) === 404 ? 'not-found' : { error: messageOf(err) });
        }
      }
    } catch (err) {
      return this.fail(this.abortError([], err));
    }
    const verdict = filterPods(pods, (ns, name) => daemonSets.get(`${ns}/${name}`) ?? 'not-found', {
      ignoreDaemonSets: options.ignoreDaemonSets ?? false,
      deleteEmptyDirData: options.deleteEmptyDirData ?? false,
      force: options.force ?? false,
      skipWaitForDeleteTimeoutSeconds: options.skipWaitForDeleteTimeoutSeconds ?? 0,
      now: () => clock.now(),
    });
    this.skipped = verdict.skip;
    this.warnings = verdict.warnings;
    if (verdict.errors.length > 0) {
      const issues: PodIssue[] = verdict.errors.map((e) => ({
        pod: e.pod,
        state: 'refused',
        reason: e.reason,
        ...(e.flag ? { flag: e.flag } : {}),
      }));
      return this.fail(
        new DrainError(
          DrainErrorCode.podsRefused,
          `cannot drain node ${nodeName}: ${formatRefusals(verdict.errors)}`,
          nodeName,
          this.nodeCordoned,
          issues,
        ),
      );
    }
    return verdict;
  }

  private get method(): RemovalMethod {
    return this.options.disableEviction || !this.evictionServed ? 'delete' : 'eviction';
  }

  /** Asks discovery whether evictions are served (not asked with `disableEviction`, which deletes anyway). */
  private readEvictionSupport(): Promise<EvictionSupport> {
    if (this.options.disableEviction) return Promise.resolve({ served: true });
    const read = this.options.evictionSupport ?? ((s: AbortSignal) => readEvictionSupport(this.conn, s));
    // A failed read counts as served, as readEvictionSupport does: no budget is bypassed on a guess.
    return read(this.signal).catch((): EvictionSupport => ({ served: true }));
  }

  /** Removes pods by DELETE from here on when discovery said evictions are not served, and says so. */
  private async useEvictionSupport(support: Promise<EvictionSupport>): Promise<void> {
    const { served, reason } = await support;
    this.evictionServed = served;
    if (!served) this.emit({ type: 'eviction-unsupported', node: this.nodeName, reason: reason ?? '' });
  }

  // 4. Client dry-run: say what would be evicted, send nothing.
  private sayWhatWouldBeEvicted(verdict: Verdict): DrainResult {
    const { method, dryRun } = this;
    const done = method === 'eviction' ? this.evicted : this.deleted;
    for (const pod of verdict.delete) {
      this.emit({ type: 'evicting', pod: podRef(pod), method, dryRun });
      done.push(podRef(pod));
    }
    this.emit({ type: 'drained', node: this.nodeName, dryRun });
    return { ...this.common(), status: 'drained' };
  }

  // 5. Evict everything at once (bounded in flight), and wait on one watch.
  private async evictAndWait(verdict: Verdict): Promise<DrainResult> {
    const { conn, nodeName, dryRun, signal, clock, options, method } = this;
    if (dryRun === 'none' && verdict.delete.length > 0) {
      this.presence = watchNodePods(
        conn,
        nodeName,
        { pods: this.pods, resourceVersion: this.listVersion },
        { signal, clock, chunkSize: options.chunkSize ?? 500 },
      );
    }
    const slots = new Semaphore(options.concurrency ?? 50);
    this.gate = method === 'eviction' ? (options.pdbGate ?? createPdbGate(conn, { signal, clock })) : undefined;
    const tracks = verdict.delete.map((pod): Track => ({ pod, ref: podRef(pod), state: 'pending' }));
    const waiting = { sent: false };
    await Promise.all(tracks.map((t) => this.removePod(t, tracks, slots, waiting)));
    return this.outcome(tracks);
  }

  /** Evicts (or deletes) one pod and waits until it is gone; its track says how far it got. */
  private async removePod(t: Track, tracks: readonly Track[], slots: Semaphore, waiting: { sent: boolean }): Promise<void> {
    const { conn, dryRun, signal, clock, options, method, gate, presence } = this;
    const done = method === 'eviction' ? this.evicted : this.deleted;
    try {
      t.state = 'requesting';
      this.emit({ type: 'evicting', pod: t.ref, method, dryRun });
      const outcome = await removePod(conn, t.pod, {
        method,
        gracePeriodSeconds: options.gracePeriodSeconds ?? -1,
        dryRun,
        signal,
        clock,
        slots,
        ...(gate ? { gate, waitForBudgetFirst: dryRun === 'none', implicitBudget: options.implicitBudget ?? true } : {}),
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.random ? { random: options.random } : {}),
        onBlocked: (b) => {
          const changed = t.blocked?.message !== b.message;
          t.state = 'blocked';
          t.blocked = b;
          if (changed)
            this.emit({
              type: 'blocked',
              pod: t.ref,
              holds: b.holds,
              message: b.message,
              status: b.status,
              retryInMs: b.retryInMs,
              ...(b.implicit ? { implicit: b.implicit } : {}),
            });
        },
      });
      switch (outcome.kind) {
        case 'failed':
          t.state = 'failed';
          t.failure = { reason: outcome.reason, holds: outcome.holds };
          return;
        case 'gone':
          t.state = 'gone';
          done.push(t.ref);
          this.emit({ type: method === 'eviction' ? 'evicted' : 'deleted', pod: t.ref, alreadyGone: true });
          return;
        case 'accepted':
          if (!presence) {
            // Server dry-run: the API server checked the request and persisted nothing; there is nothing to wait for.
            t.state = 'gone';
            done.push(t.ref);
            return;
          }
          t.state = 'terminating';
          this.announceWaiting(tracks, waiting);
          await presence.whenGone(t.ref.uid, signal);
          t.state = 'gone';
          done.push(t.ref);
          this.emit({ type: method === 'eviction' ? 'evicted' : 'deleted', pod: t.ref, alreadyGone: false });
          return;
      }
    } catch (err) {
      if (!signal.aborted) throw err; // a bug, not an outcome
    } finally {
      this.announceWaiting(tracks, waiting);
    }
  }

  /** Once every request is accepted and some pods are still terminating, says so once (`waiting`). */
  private announceWaiting(tracks: readonly Track[], waiting: { sent: boolean }): void {
    if (waiting.sent) return;
    if (tracks.some((t) => t.state === 'pending' || t.state === 'requesting' || t.state === 'blocked')) return;
    const left = tracks.filter((t) => t.state === 'terminating');
    if (left.length === 0) return;
    waiting.sent = true;
    this.emit({ type: 'waiting', pods: left.map((t) => t.ref) });
  }

  /** The drain's result from where each pod got: drained, or failed with every pod left and why. */
  private outcome(tracks: readonly Track[]): DrainResult {
    const { nodeName, method, signal } = this;
    const issues = tracks.map(issueOf).filter((i): i is PodIssue => i !== undefined);
    if (signal.aborted) return this.fail(this.abortError(issues, signal.reason));
    if (issues.length > 0) {
      const failed = issues.filter((i) => i.state === 'failed');
      const what = method === 'eviction' ? 'eviction' : 'deletion';
      return this.fail(
        new DrainError(
          DrainErrorCode.evictionFailed,
          `drain of node ${nodeName} failed: ${what} of ${failed.map((i) => `${formatPod(i.pod)} failed: ${i.reason}${i.holds?.length ? ` (PDBs ${i.holds.map((h) => `${h.pdb.namespace}/${h.pdb.name}`).join(', ')})` : ''}`).join('; ')}`,
          nodeName,
          this.nodeCordoned,
          issues,
        ),
      );
    }
    this.emit({ type: 'drained', node: nodeName, dryRun: this.dryRun });
    return { ...this.common(), status: 'drained' };
  }

  private emit(event: DrainEvent): void {
    this.options.onProgress?.(event);
  }

  private common(): DrainResultCommon {
    return {
      node: this.nodeName,
      nodeCordoned: this.nodeCordoned,
      cordonedByDrain: this.cordonedByDrain,
      dryRun: this.dryRun,
      evicted: this.evicted,
      deleted: this.deleted,
      skipped: this.skipped,
      warnings: this.warnings,
      durationMs: this.clock.now() - this.started,
    };
  }

  private fail(error: DrainError): DrainFailed {
    return { ...this.common(), status: 'failed', error, remaining: [...error.pods] };
  }

  /** The error for an abort: the caller's cancellation, or the deadline. */
  private abortError(issues: PodIssue[], cause: unknown): DrainError {
    const { nodeName, nodeCordoned } = this;
    if (this.options.signal?.aborted) {
      return new DrainError(
        DrainErrorCode.cancelled,
        `drain of node ${nodeName} cancelled${issues.length ? `: ${describeIssues(issues)}` : ''}`,
        nodeName,
        nodeCordoned,
        issues,
        { cause },
      );
    }
    return new DrainError(
      DrainErrorCode.timedOut,
      `drain of node ${nodeName} timed out after ${secondsText(this.timeoutMs)}${issues.length ? `: ${describeIssues(issues)}` : ''}`,
      nodeName,
      nodeCordoned,
      issues,
      { cause },
    );
  }

  private apiError(what: string, err: unknown): DrainError {
    return new DrainError(
      DrainErrorCode.apiFailure,
      `drain of node ${this.nodeName}: ${what}: ${messageOf(err)}`,
      this.nodeName,
      this.nodeCordoned,
      [],
      { cause: err },
    );
  }
}

/** What keeps a pod's track from being done, for the result; nothing once the pod is gone. */
function issueOf(t: Track): PodIssue | undefined {
  switch (t.state) {
    case 'gone':
      return undefined;
    case 'failed':
      return { pod: t.ref, state: 'failed', reason: t.failure?.reason ?? 'failed', holds: t.failure?.holds ?? [] };
    case 'blocked':
      return {
        pod: t.ref,
        state: 'blocked',
        reason: t.blocked?.message ?? 'eviction refused',
        holds: t.blocked?.holds ?? [],
        ...(t.blocked?.implicit ? { implicit: t.blocked.implicit } : {}),
      };
    case 'terminating':
      return { pod: t.ref, state: 'terminating', reason: 'evicted, not gone yet' };
    case 'pending':
    case 'requesting':
      return { pod: t.ref, state: 'pending', reason: 'not evicted yet' };
  }
}
