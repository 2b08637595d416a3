/**
 * Label selectors on the drain's side: checking a `--pod-selector` before the node is cordoned (kubectl parses it
 * with apimachinery's parser and refuses a bad one up front). The parser is src/k8s/label-selector.ts; this file
 * gives its failure kup's error class.
 */
import { KupError } from '../errors/kup-error.ts';
import { SelectorParseError, parseLabelSelector } from '../k8s/label-selector.ts';
import { DrainErrorCode } from './errors.ts';

/** A `--pod-selector` (or any label selector string) that does not parse. */
export class LabelSelectorSyntaxError extends KupError<typeof DrainErrorCode.invalidSelector> {
  override readonly name = 'LabelSelectorSyntaxError';
  constructor(
    readonly selector: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    // The API server's words for a bad selector, which `kup drain` quotes as kubectl does: no code in front.
    super(DrainErrorCode.invalidSelector, `invalid label selector "${selector}": ${detail}`, {
      kind: 'invalid-input',
      plainMessage: true,
      cause: options?.cause,
    });
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
