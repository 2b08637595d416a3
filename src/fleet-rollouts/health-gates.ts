/**
 * Soak health gates: what a cluster looks like now against what it looked like before its stage started. Pure; the
 * driver reads the cluster (pods, PDBs, nodes) into a {@link HealthObservation}.
 *
 * - `crash-looping-pods`: workloads with crash-looping pods that had none before;
 * - `pending-pods`: workloads with Pending pods that had none before;
 * - `pdb-unhealthy`: PodDisruptionBudgets with fewer healthy pods than they desire (`currentHealthy <
 *   desiredHealthy`), whatever they were before: an upgrade must leave budgets whole;
 * - `node-not-ready`: nodes not Ready.
 * Pods are compared by workload (`Kind/namespace/name` of their controller), since an upgrade recreates them under
 * new names: a workload failing before the stage is not the upgrade's fault.
 *
 * @module
 */
import type { HealthBaseline, HealthSignal } from './types.ts';

/** A cluster's health as the driver read it. */
export interface HealthObservation {
  /** Workloads with a container in CrashLoopBackOff (or restarting over and over). */
  readonly crashLooping: readonly string[];
  /** Workloads with a pod Pending. */
  readonly pending: readonly string[];
  /** `namespace/name` of PDBs with `currentHealthy < desiredHealthy`. */
  readonly unhealthyPdbs: readonly string[];
  /** Nodes whose Ready condition is not True. */
  readonly notReadyNodes: readonly string[];
}

/** A gate that fails. */
export interface GateFailure {
  readonly signal: HealthSignal;
  readonly objects: readonly string[];
  readonly message: string;
}

/** The baseline a stage keeps of one cluster. */
export function baselineOf(observation: HealthObservation): HealthBaseline {
  return { crashLooping: [...observation.crashLooping].sort(), pending: [...observation.pending].sort() };
}

/** The gates that fail for a cluster, in the order above; empty when it is healthy. */
export function failingGates(baseline: HealthBaseline, now: HealthObservation): GateFailure[] {
  const out: GateFailure[] = [];
  const newer = (list: readonly string[], before: readonly string[]) =>
    [...new Set(list)].filter((x) => !before.includes(x)).sort();
  const crash = newer(now.crashLooping, baseline.crashLooping);
  if (crash.length > 0)
    out.push({
      signal: 'crash-looping-pods',
      objects: crash,
      message: `pods crash-looping that were not before: ${crash.join(', ')}`,
    });
  const pending = newer(now.pending, baseline.pending);
  if (pending.length > 0)
    out.push({
      signal: 'pending-pods',
      objects: pending,
      message: `pods Pending that were not before: ${pending.join(', ')}`,
    });
  const pdbs = [...now.unhealthyPdbs].sort();
  if (pdbs.length > 0)
    out.push({
      signal: 'pdb-unhealthy',
      objects: pdbs,
      message: `PodDisruptionBudgets below their desired healthy pods: ${pdbs.join(', ')}`,
    });
  const nodes = [...now.notReadyNodes].sort();
  if (nodes.length > 0)
    out.push({ signal: 'node-not-ready', objects: nodes, message: `nodes not Ready: ${nodes.join(', ')}` });
  return out;
}
