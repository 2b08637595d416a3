/**
 * Evicting (or, with `--disable-eviction`, deleting) one pod, kubectl's way with better retries:
 * - POST `pods/<name>/eviction` with a policy/v1 Eviction (grace period and dryRun in its deleteOptions; kup adds a
 *   UID precondition so a retry never evicts a replacement that took the pod's name);
 * - 201/200: the pod is going; 404: it is already gone; 409 on the UID precondition: it was replaced (gone);
 * - 429: a PodDisruptionBudget holds it: say which (from the 429's DisruptionBudget cause, else by looking up the
 *   budgets that select the pod) and retry when that budget's status allows a disruption (a watch: see pdb-gate.ts),
 *   at most 5 s later; with no known budget, after exponential backoff with jitter; after the server's Retry-After
 *   when it sends one (kubectl: a fixed 5 s, and a GET of the pod, every time);
 * - a Ready pod no budget selects, whose controller wants several replicas, first waits for its implicit budget
 *   (pdb-gate.ts): the API server would evict it at once, even the last Ready one of its workload;
 * - 500 "more than one PodDisruptionBudget": fails for good, naming the budgets;
 * - other 5xx, 409s other than the UID's, network errors: retried a few times; any other 4xx (a webhook's refusal, 403,
 *   422): fails for good.
 */
import type { V1DeleteOptions, V1Pod } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { statusBodyOf, statusOf } from '../kube-api/errors.ts';
import type { BackoffOptions } from './backoff.ts';
import { abortReason } from './abort.ts';
import { retryDelay } from './backoff.ts';
import type { PdbHold } from './errors.ts';
import type { PdbGate } from './pdb-gate.ts';
import { budgetApplies } from './pdb-gate.ts';
import { send } from '../kube-api/requests.ts';
import type { Semaphore } from './semaphore.ts';
import type { Clock } from '../clock/clock.ts';
import type { DryRun, ImplicitBudget, PdbRef } from './types.ts';
import { describeImplicitBudget, podRef } from './types.ts';

/** How a pod is taken off the node. */
export type RemovalMethod = 'eviction' | 'delete';

/** A refusal the drain retries: the budget holding the pod and what the server said. */
export interface BlockedAttempt {
  /** The budgets holding the pod; empty when the server named none and none selects the pod. */
  holds: PdbHold[];
  message: string;
  /** HTTP status of the refusal (429, or a 5xx being retried); undefined when held before asking. */
  status: number | undefined;
  /** Held by kup's implicit budget (no PDB selects the pod): `holds` is empty, `message` names it. */
  implicit?: ImplicitBudget;
  /** When the next attempt goes. */
  retryInMs: number;
  attempt: number;
}

/** Options of removePod. */
export interface RemovePodOptions {
  method: RemovalMethod;
  /** Seconds; negative uses the pod's terminationGracePeriodSeconds. @default -1 */
  gracePeriodSeconds?: number;
  /** Only `none` or `server` reach this module (client dry-run sends nothing). @default 'none' */
  dryRun?: DryRun;
  /** Aborts the retries (the drain's deadline and the caller's signal). */
  signal?: AbortSignal;
  clock: Clock;
  /** Bounds requests in flight across pods. */
  slots?: Semaphore;
  /**
   * The budgets: names the one holding the pod when the server does not, and waits on its status instead of
   * retrying blind. Without it: backoff only, and budgets are named only from the 429's cause.
   */
  gate?: PdbGate;
  /**
   * Before the first request, wait for the pod's budget to allow a disruption (a Ready, running pod under exactly
   * one budget, the only kind the budget check applies to): saves one refused request per pod kept waiting. A
   * Ready, running pod under no budget waits for what the gate's spreading asks (`PdbGate.spread`).
   * Only for real evictions: a server dry-run takes nothing from the budget. @default false
   */
  waitForBudgetFirst?: boolean;
  /**
   * With `waitForBudgetFirst`: a Ready pod no budget selects, whose controller wants more than one replica, waits for
   * its implicit budget (`PdbGate.implicitBudgetFor`) before every attempt, retries included. @default false
   */
  implicitBudget?: boolean;
  /** Longest wait on the gate before asking again anyway. @default 5000 (kubectl's fixed retry delay) */
  gateMaxMs?: number;
  backoff?: BackoffOptions;
  /** Retries of 5xx and network errors before giving up. @default 5 */
  errorRetries?: number;
  /** [0,1) for jitter. @default Math.random */
  random?: () => number;
  /** Each refusal that will be retried. */
  onBlocked?: (attempt: BlockedAttempt) => void;
}

/** How removing one pod ended. */
export type RemoveOutcome =
  /** The server accepted: the pod is terminating (or, under server dry-run, would be). */
  | { kind: 'accepted' }
  /** The pod was already gone (404) or replaced by another of its name (409 on the UID precondition). */
  | { kind: 'gone' }
  /** Fails for good; `holds` names the budgets for the several-PDB 500. */
  | { kind: 'failed'; status: number | undefined; reason: string; holds: PdbHold[]; cause: unknown };

const DISRUPTION_BUDGET_CAUSE = /The disruption budget (\S+) needs (\d+) healthy pods and has (\d+) currently/;

/** Reads the budget out of a 429's `DisruptionBudget` cause, if it has one. */
export function holdFromStatus(err: unknown, namespace: string): PdbHold | undefined {
  const causes = statusBodyOf(err)?.details?.causes ?? [];
  for (const cause of causes) {
    const m = DISRUPTION_BUDGET_CAUSE.exec(cause.message ?? '');
    if (m) {
      const pdb: PdbRef = { namespace, name: m[1] ?? '' };
      return { pdb, desiredHealthy: Number(m[2]), currentHealthy: Number(m[3]) };
    }
  }
  return undefined;
}

/** The most telling text of an API error: the DisruptionBudget cause, else the Status message, else the error's. */
export function messageOf(err: unknown): string {
  const body = statusBodyOf(err);
  const cause = body?.details?.causes?.find((c) => c.message)?.message;
  if (cause) return cause;
  if (body?.message) return body.message;
  if (typeof body === 'string' && body) return body;
  return err instanceof Error ? err.message : String(err);
}

function retryAfterHeader(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const headers = (err as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)['retry-after'];
  return typeof value === 'string' ? value : undefined;
}

function deleteOptions(pod: V1Pod, options: RemovePodOptions): V1DeleteOptions {
  const grace = options.gracePeriodSeconds ?? -1;
  const uid = pod.metadata?.uid;
  return {
    ...(grace >= 0 ? { gracePeriodSeconds: grace } : {}),
    ...(options.dryRun === 'server' ? { dryRun: ['All'] } : {}),
    ...(uid ? { preconditions: { uid } } : {}),
  };
}

async function attempt(conn: ClusterConnection, pod: V1Pod, options: RemovePodOptions): Promise<void> {
  const { namespace, name } = podRef(pod);
  const body = deleteOptions(pod, options);
  const request = async () => {
    if (options.method === 'delete') {
      await send(conn, options.signal, (o) =>
        conn.core.deleteNamespacedPod(
          {
            name,
            namespace,
            ...(body.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: body.gracePeriodSeconds } : {}),
            ...(options.dryRun === 'server' ? { dryRun: 'All' } : {}),
            body,
          },
          o,
        ),
      );
    } else {
      await send(conn, options.signal, (o) =>
        conn.core.createNamespacedPodEviction(
          {
            name,
            namespace,
            body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, deleteOptions: body },
          },
          o,
        ),
      );
    }
  };
  await (options.slots ? options.slots.run(request, options.signal) : request());
}

/**
 * Evicts or deletes one pod, retrying refusals until it is accepted, fails for good, or the signal aborts (then it
 * rejects with the signal's reason).
 */
export async function removePod(
  conn: ClusterConnection,
  pod: V1Pod,
  options: RemovePodOptions,
): Promise<RemoveOutcome> {
  const { signal, clock } = options;
  const random = options.random ?? Math.random;
  const errorRetries = options.errorRetries ?? 5;
  const namespace = pod.metadata?.namespace ?? '';
  let tries = 0;
  let errorsInARow = 0;
  const gateMaxMs = options.gateMaxMs ?? 5000;
  const podName = pod.metadata?.name ?? '';
  /** The budget whose disruption the gate gave the next attempt: given back unless the eviction takes it. */
  let given: PdbRef | ImplicitBudget | undefined;
  /** The pod's implicit budget: every attempt waits for it, as nothing else would hold the eviction. */
  let implicit: ImplicitBudget | undefined;
  if (options.waitForBudgetFirst && options.gate && signal && budgetApplies(pod)) {
    const holds = await options.gate.holdsFor(pod);
    const hold = holds[0];
    // An implicit budget is waited for below, before each attempt.
    if (holds.length === 0 && options.implicitBudget) implicit = await options.gate.implicitBudgetFor(pod);
    if (holds.length === 0 && !implicit) await options.gate.spread(signal);
    else if (holds.length === 1 && hold) {
      const outcome = await options.gate.wait(hold.pdb, podName, { maxMs: gateMaxMs, fallbackMs: 0 }, signal, () =>
        options.onBlocked?.({
          holds,
          message: `the disruption budget ${hold.pdb.name} allows no disruption now; waiting for it to allow one`,
          status: undefined,
          retryInMs: gateMaxMs,
          attempt: 0,
        }),
      );
      if (outcome === 'allowed') given = hold.pdb;
    }
  }
  for (;;) {
    try {
      signal?.throwIfAborted();
      if (implicit && !given && options.gate && signal)
        given = await waitForImplicit(options.gate, implicit, podName, gateMaxMs, signal, options.onBlocked);
      await attempt(conn, pod, options);
      // A server dry run takes no disruption: the budget's status will not count one.
      if (given && options.dryRun === 'server') options.gate?.release(given, podName);
      return { kind: 'accepted' };
    } catch (err) {
      if (given) options.gate?.release(given, podName);
      given = undefined;
      if (signal?.aborted) throw abortReason(signal);
      const status = statusOf(err);
      if (status === 404) return { kind: 'gone' };
      const message = messageOf(err);
      // 409 on the UID precondition: a new pod holds the name, ours is gone. Any other 409 (a resourceVersion the
      // server checks on its own) is retried below with the transient errors.
      if (status === 409 && /\bUID\b/.test(message)) return { kind: 'gone' };
      // apiserver pod/storage/eviction.go: "This pod has more than one PodDisruptionBudget, which the eviction
      // subresource does not support." Retrying cannot help: fail, naming the budgets.
      if (status === 500 && message.includes('more than one PodDisruptionBudget')) {
        const holds = (await options.gate?.holdsFor(pod)) ?? [];
        return { kind: 'failed', status, reason: message, holds, cause: err };
      }
      const transient = status === undefined || status >= 500 || status === 409;
      if (status !== 429 && !transient) return { kind: 'failed', status, reason: message, holds: [], cause: err };
      if (transient) {
        errorsInARow += 1;
        if (errorsInARow > errorRetries) return { kind: 'failed', status, reason: message, holds: [], cause: err };
      } else errorsInARow = 0;
      let holds: PdbHold[] = [];
      if (status === 429) {
        const named = holdFromStatus(err, namespace);
        holds = named ? [named] : ((await options.gate?.holdsFor(pod)) ?? []);
      }
      const retryAfter = retryAfterHeader(err);
      const delay = retryDelay(tries, retryAfter, options.backoff, random, clock.now());
      // One known budget and no Retry-After: wait for that budget to allow a disruption (watched), at most gateMaxMs.
      const gated = status === 429 && retryAfter === undefined && holds.length === 1 && options.gate !== undefined;
      options.onBlocked?.({ holds, message, status, retryInMs: gated ? gateMaxMs : delay, attempt: tries + 1 });
      tries += 1;
      const hold = holds[0];
      if (gated && hold && options.gate && signal) {
        const outcome = await options.gate.wait(hold.pdb, podName, { maxMs: gateMaxMs, fallbackMs: delay }, signal);
        if (outcome === 'allowed') given = hold.pdb;
      } else await clock.sleep(delay, signal);
    }
  }
}

/**
 * Waits until `budget` gives `pod` its disruption. A silent budget is waited on again, not asked past: the API
 * server does not know the budget, so an eviction sent without it would be taken at once.
 */
async function waitForImplicit(
  gate: PdbGate,
  budget: ImplicitBudget,
  pod: string,
  maxMs: number,
  signal: AbortSignal,
  onBlocked: RemovePodOptions['onBlocked'],
): Promise<ImplicitBudget> {
  const blocked: BlockedAttempt = {
    holds: [],
    implicit: budget,
    message: describeImplicitBudget(budget),
    status: undefined,
    retryInMs: maxMs,
    attempt: 0,
  };
  while ((await gate.wait(budget, pod, { maxMs, fallbackMs: 0 }, signal, () => onBlocked?.(blocked))) === 'timeout') {
    // Silence for maxMs: its controller's status did not change. Wait on.
  }
  return budget;
}
