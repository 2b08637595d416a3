/**
 * Label maps and selectors printed as upstream does: `labels.FormatLabels`, `metav1.LabelSelectorAsSelector` and
 * `metav1.FormatLabelSelector` (apimachinery), and the container cells of workload rows.
 */
import type { LabelSelectorObject } from '../../../k8s/label-selector.ts';
import { fromLabelSelectorObject, SelectorParseError, selectorToString } from '../../../k8s/label-selector.ts';
import { isObject, obj, objs, str, stringMap, strs } from './fields.ts';

/** labels.Set.String(): `k=v` pairs, sorted as whole strings, joined by commas. */
function labelSetString(value: unknown): string {
  return Object.entries(stringMap(value))
    .map(([k, v]) => `${k}=${v}`)
    .sort(compareBytes)
    .join(',');
}

/** labels.FormatLabels: the label set, or `<none>` when empty. */
export function formatLabels(value: unknown): string {
  return labelSetString(value) || '<none>';
}

/**
 * metav1.LabelSelectorAsSelector(...).String(), through kube-sim's port of apimachinery selectors. A nil selector
 * (labels.Nothing()) and an empty one (labels.Everything()) both print as ''. Undefined when upstream returns an
 * error (an unknown operator, values that do not fit the operator, an invalid key or value).
 */
export function labelSelectorString(selector: unknown): string | undefined {
  if (!isObject(selector)) return '';
  const raw: LabelSelectorObject = {
    matchLabels: stringMap(selector.matchLabels),
    matchExpressions: objs(selector.matchExpressions).map((e) => ({
      key: str(e.key),
      operator: str(e.operator),
      values: strs(e.values),
    })),
  };
  try {
    return selectorToString(fromLabelSelectorObject(raw));
  } catch (err) {
    if (err instanceof SelectorParseError) return undefined;
    throw err;
  }
}

/** metav1.FormatLabelSelector: the selector, `<none>` when it selects nothing or everything, `<error>` if invalid. */
export function formatLabelSelector(selector: unknown): string {
  const s = labelSelectorString(selector);
  if (s === undefined) return '<error>';
  return s || '<none>';
}

/** Go's string ordering (byte-wise; labels are ASCII, so code units compare the same). */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** layoutContainerCells: container names and images, each joined by commas. */
export function layoutContainerCells(podSpec: unknown): [names: string, images: string] {
  const containers = objs(obj(podSpec).containers);
  return [containers.map((c) => str(c.name)).join(','), containers.map((c) => str(c.image)).join(',')];
}
