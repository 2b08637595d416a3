/**
 * Label selectors on the drain's side: checking a `--pod-selector` before the node is cordoned (kubectl parses it
 * with apimachinery's parser and refuses a bad one up front). The parser is src/k8s/label-selector.ts; this file
 * gives its failure kup's error class.
 */
import { SelectorParseError, parseLabelSelector } from '../k8s/label-selector.ts';

/** A `--pod-selector` (or any label selector string) that does not parse. */
export class LabelSelectorSyntaxError extends Error {
  override readonly name = 'LabelSelectorSyntaxError';
  constructor(
    readonly selector: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`invalid label selector "${selector}": ${detail}`, options);
  }
}

/**
 * Throws LabelSelectorSyntaxError unless `selector` is a valid label selector string (`a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma-separated). The empty string selects everything. The
 * detail is the apiserver's own message, e.g. `unable to parse requirement: found '', expected: identifier`.
 */
export function assertLabelSelector(selector: string): void {
  try {
    parseLabelSelector(selector);
  } catch (err) {
    if (err instanceof SelectorParseError) throw new LabelSelectorSyntaxError(selector, err.message, { cause: err });
    throw err;
  }
}
