/**
 * Matching on the checks' side: label selectors (which PodDisruptionBudgets select which pods), and where a pod may
 * be scheduled (node selector, required node affinity, taints and tolerations), as the scheduler's filters do.
 *
 * @module
 */
import type {
  LabelSelector,
  Labels,
  NodeRecord,
  NodeSelectorRequirement,
  SchedulingConstraints,
  Taint,
  Toleration,
} from './snapshot-types.ts';

/**
 * Whether a selector selects these labels, with policy/v1 semantics: an empty selector selects everything, an
 * absent one selects nothing.
 */
export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (selector === undefined) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function requirementHolds(r: NodeSelectorRequirement, labels: Labels): boolean {
  const value = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const n = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isInteger(n) || !Number.isInteger(bound)) return false;
      return r.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** Whether a toleration tolerates a taint (the scheduler's `ToleratesTaint`). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if ((t.key === undefined || t.key === '') && t.operator !== 'Exists') return false;
  return (t.value ?? '') === (taint.value ?? '');
}

/** Whether a pod with these constraints may be placed on the node (taints with NoSchedule / NoExecute). */
export function fitsNode(constraints: SchedulingConstraints | undefined, node: NodeRecord): boolean {
  for (const [k, v] of Object.entries(constraints?.nodeSelector ?? {})) if (node.labels[k] !== v) return false;
  const terms = constraints?.nodeAffinity;
  if (terms !== undefined && terms.length > 0) {
    if (!terms.some((term) => term.every((r) => requirementHolds(r, node.labels)))) return false;
  }
  const tolerations = constraints?.tolerations ?? [];
  for (const taint of node.taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    // The scheduler ignores the unschedulable taint's twin here: cordons are handled as node state.
    if (taint.key === 'node.kubernetes.io/unschedulable') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) return false;
  }
  return true;
}
