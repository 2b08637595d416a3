/**
 * Label selectors as metav1 validation checks them, and the workload rule that a selector must match its template.
 */
import { SelectorParseError, fromLabelSelectorObject, matchesLabels } from '../../../k8s/label-selector.ts';
import { isRecord } from '../../model/wire.ts';
import type { StatusCause } from '../status.ts';
import { forbidden, invalidValue, required } from './field-errors.ts';
import { causesFor, labelCauses, qualifiedNameProblems } from './names.ts';

/** The problems of a metav1.LabelSelector at `path`. */
export function labelSelectorCauses(selector: unknown, path: string): StatusCause[] {
  if (selector === undefined || selector === null) return [];
  if (!isRecord(selector)) return [invalidValue(path, selector, 'must be a label selector')];
  const causes = labelCauses(`${path}.matchLabels`, selector['matchLabels']);
  const expressions = selector['matchExpressions'];
  if (Array.isArray(expressions)) {
    expressions.forEach((e: unknown, i) => {
      const at = `${path}.matchExpressions[${i}]`;
      if (!isRecord(e)) return void causes.push(required(at));
      const key = e['key'];
      if (typeof key !== 'string' || key === '') causes.push(required(`${at}.key`));
      else causes.push(...causesFor(`${at}.key`, key, qualifiedNameProblems(key)));
      const values = Array.isArray(e['values']) ? e['values'] : [];
      switch (e['operator']) {
        case 'In':
        case 'NotIn':
          if (values.length === 0)
            causes.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
          break;
        case 'Exists':
        case 'DoesNotExist':
          if (values.length > 0)
            causes.push(
              forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
            );
          break;
        default:
          causes.push(invalidValue(`${at}.operator`, e['operator'] ?? '', 'not a valid selector operator'));
      }
    });
  }
  return causes;
}

/** True when the selector selects nothing in particular (`{}`), which workloads may not have. */
export function isEmptySelector(selector: Record<string, unknown>): boolean {
  const labels = selector['matchLabels'];
  const expressions = selector['matchExpressions'];
  return (
    (!isRecord(labels) || Object.keys(labels).length === 0) && (!Array.isArray(expressions) || expressions.length === 0)
  );
}

/**
 * A workload's selector against its template's labels (upstream converts with LabelSelectorAsSelector and, unless
 * the selector is empty, requires it to match). The selector's own syntax is checked by labelSelectorCauses.
 */
export function selectorMatchesTemplateCauses(
  selector: unknown,
  templateLabels: unknown,
  labelsPath: string,
): StatusCause[] {
  if (!isRecord(selector)) return [];
  let parsed;
  try {
    parsed = fromLabelSelectorObject(selector);
  } catch (err) {
    if (err instanceof SelectorParseError) return [];
    throw err;
  }
  const labels = isRecord(templateLabels) ? (templateLabels as Record<string, string>) : {};
  if (parsed === 'nothing' || parsed.requirements.length === 0 || matchesLabels(parsed, labels)) return [];
  return [invalidValue(labelsPath, labels, '`selector` does not match template `labels`')];
}
