/**
 * The planner's options, checked and resolved: per-action estimates, and each pool's batch policy, strategy, surge,
 * unavailability and soak. Anything unusable is a {@link PlanError} `KUP-PLAN-001` that names the pool and option.
 *
 * @module
 */
import { formatBatchPolicy, parseBatchPolicy } from './batches.ts';
import type { BatchPolicy } from './batches.ts';
import { PlanError, PlanErrorCode } from './plan-errors.ts';
import { DEFAULT_STEP_ESTIMATES } from './plan-steps.ts';
import type { ActionType, PlanInput, PlanPool, StepEstimates, UpgradeStrategy } from './plan-types.ts';
import { ACTION_TYPES } from './plan-types.ts';

/** A pool's options, checked, with the defaults in. */
export interface ResolvedPoolOptions {
  readonly policy: BatchPolicy;
  readonly strategy: UpgradeStrategy;
  readonly maxSurge: number | null;
  readonly maxUnavailable: number | null;
  readonly soakMs: number;
  readonly nodeSoakMs: number;
  /** Blue-green: blue nodes drained at once (`null`: the batch policy's batches). */
  readonly drainBatchSize: number | null;
  /** Blue-green: the final soak in milliseconds. */
  readonly finalSoakMs: number;
  /** Replacement and in place: the move's first node is a canary validated by the postcheck's rules. */
  readonly canary: boolean;
}

/** The per-action estimates: the defaults, overridden by the measured ones given. */
export function resolveEstimates(input: PlanInput): StepEstimates {
  const out: Record<ActionType, number> = { ...DEFAULT_STEP_ESTIMATES };
  for (const [key, value] of Object.entries(input.estimates ?? {})) {
    if (!(ACTION_TYPES as readonly string[]).includes(key)) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `estimates: "${key}" is not an action (${ACTION_TYPES.join(', ')})`,
        {
          cluster: input.cluster,
        },
      );
    }
    if (value === undefined) continue;
    out[key as ActionType] = nonNegative(value, `estimates.${key}`, input.cluster);
  }
  return out;
}

/**
 * A pool's options: its own over the plan's defaults, the batch policy read, surge and unavailability as counts
 * (Cluster API's defaults when only one is given).
 */
export function resolvePoolOptions(
  input: PlanInput,
  pool: PlanPool,
  cluster: string,
  soakDefault: number,
): ResolvedPoolOptions {
  const given = { ...(input.defaults ?? {}), ...(input.pools?.[pool.name] ?? {}) };
  let policy: BatchPolicy;
  try {
    policy =
      typeof given.batchPolicy === 'string'
        ? parseBatchPolicy(given.batchPolicy)
        : (given.batchPolicy ?? { kind: 'exponential' });
    // A parsed policy given as an object is re-read through its text form, so a bad size is refused the same way.
    policy = parseBatchPolicy(formatBatchPolicy(policy));
  } catch (cause) {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool.name}": ${(cause as Error).message}`,
      { cluster, pool: pool.name },
      { cause },
    );
  }
  const strategy = given.strategy ?? 'replace';
  if (strategy !== 'replace' && strategy !== 'in-place' && strategy !== 'blue-green') {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool.name}": strategy "${String(strategy)}" is not replace, in-place or blue-green`,
      {
        cluster,
        pool: pool.name,
      },
    );
  }
  const size = pool.nodes.length;
  const soakMs = nonNegative(given.soakMs ?? soakDefault, `pools.${pool.name}.soakMs`, cluster);
  const nodeSoakMs = nonNegative(given.nodeSoakMs ?? 0, `pools.${pool.name}.nodeSoakMs`, cluster);
  const blueGreenOnly = (field: string): never => {
    throw new PlanError(PlanErrorCode.invalidOption, `pool "${pool.name}": ${field} needs the blue-green strategy`, {
      cluster,
      pool: pool.name,
    });
  };
  if (strategy !== 'blue-green') {
    if (given.drainBatchSize !== undefined) blueGreenOnly('drainBatchSize');
    if (given.finalSoakMs !== undefined) blueGreenOnly('finalSoakMs');
  }
  if (given.canary !== undefined && typeof given.canary !== 'boolean') {
    throw new PlanError(PlanErrorCode.invalidOption, `pool "${pool.name}": canary must be true or false`, {
      cluster,
      pool: pool.name,
    });
  }
  const canary = given.canary ?? false;
  const rest = { soakMs, nodeSoakMs, drainBatchSize: null, finalSoakMs: 0, canary };
  if (strategy === 'blue-green') {
    if (canary) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `pool "${pool.name}": canary does not apply to blue-green (the whole green pool is validated before any blue node is cordoned)`,
        { cluster, pool: pool.name },
      );
    }
    for (const field of ['maxSurge', 'maxUnavailable', 'nodeSoakMs'] as const) {
      if (given[field] !== undefined) {
        throw new PlanError(
          PlanErrorCode.invalidOption,
          `pool "${pool.name}": ${field} does not apply to blue-green (the green nodes are made all at once; drainBatchSize sets how many blue nodes drain together, soakMs the soak after each)`,
          { cluster, pool: pool.name },
        );
      }
    }
    const drainBatchSize =
      given.drainBatchSize === undefined
        ? null
        : readCount(given.drainBatchSize, size, 'up', pool.name, 'drainBatchSize', cluster);
    if (drainBatchSize === 0) {
      throw new PlanError(PlanErrorCode.invalidOption, `pool "${pool.name}": drainBatchSize 0 would never drain blue`, {
        cluster,
        pool: pool.name,
      });
    }
    const finalSoakMs = nonNegative(given.finalSoakMs ?? 0, `pools.${pool.name}.finalSoakMs`, cluster);
    return { policy, strategy, maxSurge: null, maxUnavailable: null, ...rest, drainBatchSize, finalSoakMs };
  }
  if (strategy === 'in-place') {
    if (given.maxSurge !== undefined && readCount(given.maxSurge, size, 'up', pool.name, 'maxSurge', cluster) > 0) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `pool "${pool.name}": maxSurge needs the replace strategy (in place adds no nodes)`,
        {
          cluster,
          pool: pool.name,
        },
      );
    }
    const mu =
      given.maxUnavailable === undefined
        ? null
        : readCount(given.maxUnavailable, size, 'down', pool.name, 'maxUnavailable', cluster);
    if (mu === 0) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `pool "${pool.name}": maxUnavailable 0 leaves an in-place upgrade nothing to do`,
        {
          cluster,
          pool: pool.name,
        },
      );
    }
    return { policy, strategy, maxSurge: null, maxUnavailable: mu, ...rest };
  }
  if (given.maxSurge === undefined && given.maxUnavailable === undefined) {
    return { policy, strategy, maxSurge: null, maxUnavailable: null, ...rest };
  }
  const maxSurge =
    given.maxSurge === undefined ? 1 : readCount(given.maxSurge, size, 'up', pool.name, 'maxSurge', cluster);
  const maxUnavailable =
    given.maxUnavailable === undefined
      ? 0
      : readCount(given.maxUnavailable, size, 'down', pool.name, 'maxUnavailable', cluster);
  if (maxSurge + maxUnavailable < 1) {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool.name}": maxSurge and maxUnavailable cannot both be 0`,
      {
        cluster,
        pool: pool.name,
      },
    );
  }
  return { policy, strategy, maxSurge, maxUnavailable, ...rest };
}

/** A count or a percentage of the pool (Cluster API rounds surge up and unavailability down). */
function readCount(
  value: number | string,
  size: number,
  round: 'up' | 'down',
  pool: string,
  field: string,
  cluster: string,
): number {
  const fail = (): never => {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool}": ${field} ${JSON.stringify(value)} is not a whole number >= 0 or a percentage like "25%"`,
      { cluster, pool },
    );
  };
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : fail();
  const text = value.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    const p = Number(pct[1]);
    if (p > 100) return fail();
    const exact = (size * p) / 100;
    return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
  }
  return /^\d+$/.test(text) ? Number(text) : fail();
}

/** A duration in milliseconds, refused unless it is a finite number >= 0. */
export function nonNegative(value: number, field: string, cluster: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `${field} must be a number of milliseconds >= 0, not ${String(value)}`,
      {
        cluster,
      },
    );
  }
  return value;
}
