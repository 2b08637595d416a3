/**
 * Where the drain simulation may place a pod: the scheduler's filters (node selector, required node affinity, taints
 * and tolerations) from src/k8s/scheduling.ts, over the checks' compact records.
 *
 * @module
 */
import {
  FILTERING_EFFECTS,
  nodeSelectorMatches,
  nodeSelectorTermsMatch,
  tolerationsTolerateTaint,
} from '../k8s/scheduling.ts';
import type { NodeRecord, SchedulingConstraints } from './snapshot-types.ts';

/** The taint the node lifecycle controller keeps in line with `spec.unschedulable`. */
const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

/** Whether a pod with these constraints may be placed on the node (taints with NoSchedule / NoExecute). */
export function fitsNode(constraints: SchedulingConstraints | undefined, node: NodeRecord): boolean {
  if (!nodeSelectorMatches(constraints?.nodeSelector, node.labels)) return false;
  if (!nodeSelectorTermsMatch(constraints?.nodeAffinity, node)) return false;
  const tolerations = constraints?.tolerations ?? [];
  for (const taint of node.taints) {
    if (!FILTERING_EFFECTS.includes(taint.effect)) continue;
    // The simulation handles cordons as node state (`unschedulable`), so the cordon's taint is not a second filter.
    if (taint.key === UNSCHEDULABLE_TAINT) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return false;
  }
  return true;
}
