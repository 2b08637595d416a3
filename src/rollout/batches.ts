/**
 * Batches of a worker pool's nodes: which nodes are cordoned, drained and upgraded together. Pure: the one place
 * batch sizes are computed, for the drain simulation of the prechecks, the plan and the run's re-plan after a pause.
 *
 * Policies:
 * - `exponential` (Alibaba ACK's default): the first batch is one node, then each batch doubles, never more than
 *   10 % of the pool (and never less than one node). Restarting after a pause plans the remaining nodes again, so
 *   the first batch after a pause is one node, as ACK does.
 * - `fixed:N`: N nodes per batch (the last one may be smaller).
 * - `percent:P`: P % of the pool per batch, rounded up, at least one node.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';
import type { UpgradeStrategy } from './plan-types.ts';

/** How a pool's nodes are grouped into batches. */
export type BatchPolicy =
  | { readonly kind: 'exponential' }
  | { readonly kind: 'fixed'; readonly size: number }
  | { readonly kind: 'percent'; readonly percent: number };

/** The policy used when none is given. */
export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({ kind: 'exponential' });

/** Largest share of a pool one `exponential` batch may take. */
export const EXPONENTIAL_MAX_SHARE = 0.1;

/** A batch policy string that cannot be read. The message names the text and what is accepted. */
export class BatchPolicyError extends KupError<'KUP-BATCH-001'> {
  override readonly name = 'BatchPolicyError';
  constructor(
    /** The text that failed to parse. */
    readonly input: string,
    detail: string,
  ) {
    super(
      'KUP-BATCH-001',
      `batch policy ${JSON.stringify(input)} ${detail} (expected exponential, fixed:N or percent:P)`,
      { kind: 'invalid-input' },
    );
  }
}

/**
 * Reads a batch policy: `exponential`, `fixed:N` (N a whole number >= 1) or `percent:P` (0 < P <= 100).
 * @throws {BatchPolicyError} `KUP-BATCH-001` for anything else.
 */
export function parseBatchPolicy(text: string): BatchPolicy {
  const trimmed = text.trim();
  if (trimmed === 'exponential') return DEFAULT_BATCH_POLICY;
  const m = /^(fixed|percent):(.*)$/.exec(trimmed);
  if (!m) throw new BatchPolicyError(text, 'is not a known policy');
  const value = m[2] ?? '';
  if (m[1] === 'fixed') {
    if (!/^\d+$/.test(value) || Number(value) < 1) {
      throw new BatchPolicyError(text, `has a batch size "${value}" that is not a whole number >= 1`);
    }
    return { kind: 'fixed', size: Number(value) };
  }
  const percent = Number(value.replace(/%$/, ''));
  if (value === '' || !Number.isFinite(percent) || percent <= 0 || percent > 100) {
    throw new BatchPolicyError(text, `has a percentage "${value}" outside 0 < P <= 100`);
  }
  return { kind: 'percent', percent };
}

/** The policy as {@link parseBatchPolicy} reads it back. */
export function formatBatchPolicy(policy: BatchPolicy): string {
  switch (policy.kind) {
    case 'exponential':
      return 'exponential';
    case 'fixed':
      return `fixed:${policy.size}`;
    case 'percent':
      return `percent:${policy.percent}`;
  }
}

/**
 * The size of each batch for `count` nodes, first to last; they add up to `count`. The exponential 10 % cap is taken
 * of `poolSize` (never fewer than `count`): the remaining nodes of a pool move re-planned after a pause keep the
 * whole pool's cap, and the first batch after the pause is one node again, as ACK does.
 */
export function batchSizes(count: number, policy: BatchPolicy, poolSize = count): number[] {
  const sizes: number[] = [];
  if (count <= 0) return sizes;
  let left = count;
  switch (policy.kind) {
    case 'exponential': {
      const cap = Math.max(1, Math.floor(Math.max(poolSize, count) * EXPONENTIAL_MAX_SHARE));
      for (let next = 1; left > 0; next *= 2) {
        const size = Math.min(next, cap, left);
        sizes.push(size);
        left -= size;
      }
      return sizes;
    }
    case 'fixed':
      while (left > 0) {
        const size = Math.min(Math.max(1, Math.floor(policy.size)), left);
        sizes.push(size);
        left -= size;
      }
      return sizes;
    case 'percent': {
      const per = Math.max(1, Math.ceil((count * policy.percent) / 100));
      while (left > 0) {
        const size = Math.min(per, left);
        sizes.push(size);
        left -= size;
      }
      return sizes;
    }
  }
}

/** What limits how many of a pool's nodes move at once, besides its batch policy. */
export interface BatchLimits {
  /** Replacement: new nodes above the pool's size at once (`null`: every node of the batch). */
  readonly maxSurge: number | null;
  /** Nodes that may be unavailable at once (`null`: the batch size). */
  readonly maxUnavailable: number | null;
  readonly strategy: UpgradeStrategy;
}

/**
 * The batches of a pool move's node steps, for `count` of them out of a pool of `poolSize`: the policy's sizes
 * ({@link batchSizes}), each cut to at most `maxSurge + maxUnavailable` nodes when those are set (in place: to
 * `maxUnavailable`). The plan uses it, and the run state machine's re-plan on resume.
 */
export function poolBatchSizes(count: number, poolSize: number, policy: BatchPolicy, limits: BatchLimits): number[] {
  const sizes = batchSizes(count, policy, poolSize);
  const cap = batchCap(limits);
  if (cap === null) return sizes;
  return sizes.flatMap((size) => {
    const parts: number[] = [];
    for (let left = size; left > 0; left -= cap) parts.push(Math.min(cap, left));
    return parts;
  });
}

function batchCap(limits: BatchLimits): number | null {
  if (limits.strategy === 'in-place') return limits.maxUnavailable;
  if (limits.maxSurge === null) return null;
  return limits.maxSurge + (limits.maxUnavailable ?? 0);
}

/**
 * Groups a pool's nodes into batches, in the order given (the caller decides the order: by name, by zone, ...).
 * Every node is in exactly one batch; an empty pool has no batches.
 */
export function planBatches<T extends string>(
  nodeNames: readonly T[],
  policy: BatchPolicy = DEFAULT_BATCH_POLICY,
): T[][] {
  const batches: T[][] = [];
  let at = 0;
  for (const size of batchSizes(nodeNames.length, policy)) {
    batches.push(nodeNames.slice(at, at + size));
    at += size;
  }
  return batches;
}
