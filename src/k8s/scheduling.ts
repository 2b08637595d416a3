/**
 * Where a pod may run, as the scheduler's filters decide it: taints against tolerations (`Toleration.ToleratesTaint`,
 * `TolerationsTolerateTaint`, `FindMatchingUntoleratedTaint` of k8s.io/api and component-helpers), the pod's
 * `nodeSelector`, and required node affinity (`nodeSelectorTerms` with `matchExpressions` on labels and
 * `matchFields` on `metadata.name`, as component-helpers `scheduling/corev1/nodeaffinity` matches them).
 *
 * Shared by kube-sim's scheduler and DaemonSet controller and by kup's drain simulation. Shapes are the wire's, so
 * an object read from JSON can be passed as it is once narrowed.
 *
 * @module
 */

/** A taint effect, as in `spec.taints[].effect`. */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

/** A node taint, as in `spec.taints[]`. */
export interface Taint {
  readonly key: string;
  readonly value?: string;
  /** A {@link TaintEffect}; a string, since the wire may carry anything. */
  readonly effect: string;
}

/**
 * A pod toleration, as in `spec.tolerations[]`. `operator` absent or `''` means `Equal`; an empty `key` matches every
 * key (validation allows it only with `Exists`); an empty `effect` matches every effect.
 */
export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
  readonly tolerationSeconds?: number;
}

/** One requirement of a node selector term: `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`. */
export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

/** A node selector term: all of its requirements must hold. */
export interface NodeSelectorTerm {
  /** Requirements on the node's labels. */
  readonly matchExpressions?: readonly NodeSelectorRequirement[];
  /** Requirements on the node's fields; `metadata.name` is the only field the API supports. */
  readonly matchFields?: readonly NodeSelectorRequirement[];
}

/** What node affinity looks at on a node. */
export interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * `Toleration.ToleratesTaint`: the effect must match unless the toleration's is empty, the key must match unless the
 * toleration's is empty; then `Exists` tolerates any value and `Equal` (or no operator) needs the same value. Any
 * other operator tolerates nothing.
 */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  switch (toleration.operator ?? '') {
    case 'Exists':
      return true;
    case '':
    case 'Equal':
      return (toleration.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** `TolerationsTolerateTaint`: whether any of the tolerations tolerates the taint. */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The effects the scheduler's TaintToleration filter checks: `PreferNoSchedule` only steers scoring. */
export const FILTERING_EFFECTS: readonly string[] = ['NoSchedule', 'NoExecute'];

/**
 * `FindMatchingUntoleratedTaint`: the first taint with one of `effects` that no toleration tolerates, or undefined
 * when the pod tolerates them all.
 *
 * @param effects - the effects that count; default {@link FILTERING_EFFECTS}, as the scheduler filters.
 */
export function findUntoleratedTaint<T extends Taint>(
  taints: readonly T[],
  tolerations: readonly Toleration[],
  effects: readonly string[] = FILTERING_EFFECTS,
): T | undefined {
  for (const taint of taints) {
    if (!effects.includes(taint.effect)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/** Whether every `nodeSelector` entry is one of the node's labels (an absent or empty selector allows every node). */
export function nodeSelectorMatches(
  nodeSelector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (nodeSelector === undefined) return true;
  for (const key in nodeSelector) {
    // Values are strings, so an equal value is the node's own label but for a prototype-polluted map: hasOwn settles it.
    if (labels[key] !== nodeSelector[key] || !Object.hasOwn(labels, key)) return false;
  }
  return true;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `[+-]?[0-9]+`, scanned by hand: schedulers call this per node, and a scan is cheaper than a regex there. */
function isIntegerText(text: string): boolean {
  const start = text.charCodeAt(0) === 43 || text.charCodeAt(0) === 45 ? 1 : 0; // '+' or '-'
  if (start === text.length) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Go's `strconv.ParseInt(s, 10, 64)` as a comparable value, or undefined when `s` is not one. Up to 15 digits a
 * number is exact and much cheaper than a BigInt; numbers and BigInts compare correctly with each other.
 */
function int64(text: string | undefined): number | bigint | undefined {
  if (text === undefined || !isIntegerText(text)) return undefined;
  if (text.length <= 15) return Number(text);
  const n = BigInt(text);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

/**
 * Whether one requirement holds for a value (`undefined`: the node has no such label). `NotIn` and `DoesNotExist`
 * hold for a missing label; `Gt` and `Lt` need one integer value and an integer label; an unknown operator never
 * holds (the apiserver would have refused it).
 */
export function nodeSelectorRequirementMatches(
  requirement: NodeSelectorRequirement,
  value: string | undefined,
): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
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
      if (values.length !== 1) return false;
      const actual = int64(value);
      const bound = int64(values[0]);
      if (actual === undefined || bound === undefined) return false;
      return requirement.operator === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/**
 * Whether a node selector term holds: every label expression and every field requirement. A term with neither
 * matches no node, and a field other than `metadata.name` matches nothing, as upstream.
 */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: NodeFacts): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  for (const r of expressions) {
    if (!nodeSelectorRequirementMatches(r, Object.hasOwn(node.labels, r.key) ? node.labels[r.key] : undefined))
      return false;
  }
  for (const r of fields) {
    if (r.key !== 'metadata.name' || !nodeSelectorRequirementMatches(r, node.name)) return false;
  }
  return true;
}

/**
 * Required node affinity (`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`): the terms are ORed.
 * `undefined` (no required affinity) allows every node; an empty list of terms allows none.
 */
export function nodeSelectorTermsMatch(terms: readonly NodeSelectorTerm[] | undefined, node: NodeFacts): boolean {
  if (terms === undefined) return true;
  for (const term of terms) if (nodeSelectorTermMatches(term, node)) return true;
  return false;
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requirementsFromWire(raw: unknown): NodeSelectorRequirement[] {
  if (!Array.isArray(raw)) return [];
  return (raw as unknown[]).filter(isObject).map((r) => ({
    key: typeof r['key'] === 'string' ? r['key'] : '',
    operator: typeof r['operator'] === 'string' ? r['operator'] : '',
    values: Array.isArray(r['values']) ? (r['values'] as unknown[]).map(String) : [],
  }));
}

/**
 * A pod spec's required node affinity (`affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`) read
 * from JSON: undefined when the pod has none, else its terms (no terms matches no node, as upstream). Narrow it once
 * per pod or template, then match it against every node.
 */
export function requiredNodeAffinityTerms(podSpec: unknown): NodeSelectorTerm[] | undefined {
  const affinity = isObject(podSpec) ? podSpec['affinity'] : undefined;
  const nodeAffinity = isObject(affinity) ? affinity['nodeAffinity'] : undefined;
  const required = isObject(nodeAffinity) ? nodeAffinity['requiredDuringSchedulingIgnoredDuringExecution'] : undefined;
  if (!isObject(required)) return undefined;
  const terms = Array.isArray(required['nodeSelectorTerms']) ? (required['nodeSelectorTerms'] as unknown[]) : [];
  return terms.filter(isObject).map((term) => ({
    matchExpressions: requirementsFromWire(term['matchExpressions']),
    matchFields: requirementsFromWire(term['matchFields']),
  }));
}
