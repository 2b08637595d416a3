/**
 * Label selectors on the drain's side: checking a `--pod-selector` before the node is cordoned (kubectl refuses a
 * bad one up front), and telling which PodDisruptionBudgets select a pod (to name the budget that blocks it).
 */
import type { V1LabelSelector } from '@kubernetes/client-node';
import { KupError } from '../errors/kup-error.ts';
import { DrainErrorCode } from './errors.ts';

const NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const KEY = new RegExp(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?${NAME}$`);
const VALUE = new RegExp(`^(${NAME})?$`);

/** A `--pod-selector` (or any label selector string) that does not parse. */
export class LabelSelectorSyntaxError extends KupError<typeof DrainErrorCode.invalidSelector> {
  override readonly name = 'LabelSelectorSyntaxError';
  constructor(
    readonly selector: string,
    readonly detail: string,
  ) {
    // The API server's words for a bad selector, which `kup drain` quotes as kubectl does: no code in front.
    super(DrainErrorCode.invalidSelector, `invalid label selector "${selector}": ${detail}`, {
      kind: 'invalid-input',
      plainMessage: true,
    });
  }
}

function checkKey(selector: string, key: string): void {
  if (!KEY.test(key) || key.length > 316) throw new LabelSelectorSyntaxError(selector, `invalid key "${key}"`);
}

function checkValue(selector: string, value: string): void {
  if (!VALUE.test(value)) throw new LabelSelectorSyntaxError(selector, `invalid value "${value}"`);
}

/** Splits on commas outside parentheses. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

/**
 * Throws LabelSelectorSyntaxError unless `selector` is a valid label selector string (`a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma-separated). The empty string selects everything.
 */
export function assertLabelSelector(selector: string): void {
  if (selector.trim() === '') return;
  for (const req of requirements(selector)) {
    if (req === '') throw new LabelSelectorSyntaxError(selector, 'empty requirement');
    let m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(req);
    if (m) {
      checkKey(selector, m[1] ?? '');
      for (const v of (m[3] ?? '').split(',')) checkValue(selector, v.trim());
      continue;
    }
    m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)$/.exec(req);
    if (m) {
      checkKey(selector, m[1] ?? '');
      const value = m[3] ?? '';
      if (m[2] === '<' || m[2] === '>') {
        if (!/^-?\d+$/.test(value)) throw new LabelSelectorSyntaxError(selector, `"${value}" is not an integer`);
      } else checkValue(selector, value);
      continue;
    }
    m = /^(!?)\s*([^=!<>\s()]+)$/.exec(req);
    if (m) {
      checkKey(selector, m[2] ?? '');
      continue;
    }
    throw new LabelSelectorSyntaxError(selector, `cannot parse "${req}"`);
  }
}

/**
 * Whether a structured selector (a PDB's `spec.selector`) selects these labels. policy/v1 semantics: an empty
 * selector selects every pod of the namespace; an absent one selects none.
 */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (selector === undefined || selector === null) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false; // an operator the API server would have rejected
    }
  }
  return true;
}
