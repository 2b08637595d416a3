/**
 * Label selectors as kube-apiserver parses and matches them: the string syntax of `?labelSelector=`
 * (a port of apimachinery `pkg/labels/selector.go`, error texts included) and the structured
 * `metav1.LabelSelector` of workloads and PodDisruptionBudgets (`LabelSelectorAsSelector`).
 *
 * One home for both kup and kube-sim. Parse a selector once (per request, per controller object)
 * and match the parsed form: matching is a loop over a few requirements, parsing is not.
 *
 * @module
 */

/** A requirement operator, spelled as apimachinery's `selection.Operator`. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

/** One `key op values` term of a selector. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Empty for `exists` and `!`; one value for `=`, `==`, `!=`, `gt`, `lt`. */
  readonly values: readonly string[];
}

/** A parsed selector: the AND of its requirements, sorted by key. No requirements selects everything. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

/** A selector that selects nothing: what a null `metav1.LabelSelector` means. */
export type NothingSelector = 'nothing';

/** The raw shape of `metav1.LabelSelector` as it arrives in JSON. */
export interface LabelSelectorObject {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

/**
 * A selector the apiserver would refuse. The message reads like the apiserver's, e.g.
 * `unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt`;
 * the caller answers 400 BadRequest.
 */
export class SelectorParseError extends Error {
  override readonly name = 'SelectorParseError';
}

/** The selector that matches every label set. */
const EVERYTHING: LabelSelector = { requirements: [] };

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

// ---------------------------------------------------------------------------------------------
// Validation (apimachinery util/validation: IsQualifiedName, IsValidLabelValue)
// ---------------------------------------------------------------------------------------------

const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

function regexError(msg: string, fmt: string, examples: readonly string[]): string {
  // apimachinery joins "'x', " items with " or ", which leaves two spaces before each "or".
  const shown = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${shown}regex used for validation is '${fmt}')`;
}

function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, ['example.com']));
  }
  return errs;
}

/** `IsQualifiedName`: `[prefix/]name`, name at most 63 characters. */
function qualifiedNameErrors(value: string): string[] {
  const examples = ['MyName', 'my.name', '123-abc'];
  const parts = value.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, examples)}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  const errs: string[] = [];
  const name = parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`));
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, examples)}`);
  }
  return errs;
}

function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value)) {
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, ['MyValue', 'my_value', '12345']));
  }
  return errs;
}

/** `field.Invalid(path, value, detail).Error()`. */
function invalid(path: string, value: string | readonly string[], detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}${detail === '' ? '' : `: ${detail}`}`;
}

/** `ErrorList.ToAggregate().Error()`: one message alone, several (deduplicated) in brackets. */
function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

function keyError(key: string, path: string): string | undefined {
  const errs = qualifiedNameErrors(key);
  return errs.length === 0 ? undefined : invalid(path, key, errs.join('; '));
}

function isInt64(text: string): boolean {
  if (!/^[+-]?\d+$/.test(text)) return false;
  const n = BigInt(text);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

function valueCountErrors(operator: LabelOperator, values: readonly string[]): string[] {
  switch (operator) {
    case 'in':
    case 'notin':
      return values.length === 0
        ? [invalid('values', values, "for 'in', 'notin' operators, values set can't be empty")]
        : [];
    case '=':
    case '==':
    case '!=':
      return values.length === 1
        ? []
        : [invalid('values', values, 'exact-match compatibility requires one single value')];
    case 'exists':
    case '!':
      return values.length === 0
        ? []
        : [invalid('values', values, 'values set must be empty for exists and does not exist')];
    case 'gt':
    case 'lt': {
      const errs =
        values.length === 1
          ? []
          : [invalid('values', values, "for 'Gt', 'Lt' operators, exactly one value is required")];
      values.forEach((v, i) => {
        if (!isInt64(v))
          errs.push(invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      return errs;
    }
  }
}

/** `labels.NewRequirement`: validates the key, the value count for the operator, and each value. */
function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): LabelRequirement {
  const errs: string[] = [];
  const badKey = keyError(key, 'key');
  if (badKey !== undefined) errs.push(badKey);
  errs.push(...valueCountErrors(operator, values));
  values.forEach((v, i) => {
    const valueErrs = labelValueErrors(v);
    if (valueErrs.length > 0) errs.push(invalid(`values[${i}][${key}]`, v, valueErrs.join('; ')));
  });
  if (errs.length > 0) throw new SelectorParseError(aggregate(errs));
  return { key, operator, values: [...values] };
}

function sortedByKey(requirements: readonly LabelRequirement[]): LabelRequirement[] {
  // Array.prototype.sort is stable, so equal keys keep their written order.
  return [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

type TokenKind =
  'error' | 'end' | ')' | ',' | '!' | '==' | '=' | '>' | 'identifier' | 'in' | '<' | '!=' | 'notin' | '(';

interface Token {
  readonly kind: TokenKind;
  readonly literal: string;
}

const LITERAL_TOKENS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  [')', ')'],
  [',', ','],
  ['!', '!'],
  ['==', '=='],
  ['=', '='],
  ['>', '>'],
  ['in', 'in'],
  ['<', '<'],
  ['!=', '!='],
  ['notin', 'notin'],
  ['(', '('],
]);

const END = '\0';

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return '=!(),><'.includes(ch) && ch !== '';
}

/** Splits a selector into tokens exactly as apimachinery's `Lexer` does. */
function tokenize(text: string): Token[] {
  let pos = 0;
  const read = (): string => (pos < text.length ? (text[pos++] ?? END) : END);
  const unread = (): void => {
    pos--;
  };

  const scanIdentifierOrKeyword = (): Token => {
    let buffer = '';
    for (;;) {
      const ch = read();
      if (ch === END) break;
      if (isSpecialSymbol(ch) || isWhitespace(ch)) {
        unread();
        break;
      }
      buffer += ch;
    }
    return { kind: LITERAL_TOKENS.get(buffer) ?? 'identifier', literal: buffer };
  };

  const scanSpecialSymbol = (): Token => {
    let buffer = '';
    let last: Token | undefined;
    for (;;) {
      const ch = read();
      if (ch === END) break;
      if (!isSpecialSymbol(ch)) {
        unread();
        break;
      }
      buffer += ch;
      const kind = LITERAL_TOKENS.get(buffer);
      if (kind !== undefined) last = { kind, literal: buffer };
      else if (last !== undefined) {
        unread();
        break;
      }
    }
    return last ?? { kind: 'error', literal: `error expected: keyword found '${buffer}'` };
  };

  const tokens: Token[] = [];
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    if (ch === END) {
      tokens.push({ kind: 'end', literal: '' });
      return tokens;
    }
    unread();
    tokens.push(isSpecialSymbol(ch) ? scanSpecialSymbol() : scanIdentifierOrKeyword());
  }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/** In a value position the keywords `in` and `notin` are plain identifiers (`x in (in)`). */
type Context = 'keyAndOperator' | 'values';

class Parser {
  private position = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  lookahead(context: Context): Token {
    return this.contextual(this.tokens[this.position], context);
  }

  consume(context: Context): Token {
    const token = this.tokens[this.position];
    this.position++;
    return this.contextual(token, context);
  }

  private contextual(token: Token | undefined, context: Context): Token {
    const t = token ?? { kind: 'end', literal: '' };
    if (context === 'values' && (t.kind === 'in' || t.kind === 'notin'))
      return { kind: 'identifier', literal: t.literal };
    return t;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const next = this.lookahead('values');
      if (next.kind === 'end') return requirements;
      if (next.kind !== 'identifier' && next.kind !== '!') {
        throw new SelectorParseError(`found '${next.literal}', expected: !, identifier, or 'end of string'`);
      }
      requirements.push(this.parseRequirementWrapped());
      const after = this.consume('values');
      if (after.kind === 'end') return requirements;
      if (after.kind !== ',') {
        throw new SelectorParseError(`found '${after.literal}', expected: ',' or 'end of string'`);
      }
      const following = this.lookahead('values');
      if (following.kind !== 'identifier' && following.kind !== '!') {
        throw new SelectorParseError(`found '${following.literal}', expected: identifier after ','`);
      }
    }
  }

  private parseRequirementWrapped(): LabelRequirement {
    try {
      return this.parseRequirement();
    } catch (err) {
      if (err instanceof SelectorParseError) {
        throw new SelectorParseError(`unable to parse requirement: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  private parseRequirement(): LabelRequirement {
    const { key, operator: inferred } = this.parseKeyAndInferOperator();
    if (inferred === 'exists' || inferred === '!') return newRequirement(key, inferred, []);
    const operator = this.parseOperator();
    const values = operator === 'in' || operator === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, operator, [...values].sort());
  }

  private parseKeyAndInferOperator(): { key: string; operator: LabelOperator | undefined } {
    let operator: LabelOperator | undefined;
    let token = this.consume('values');
    if (token.kind === '!') {
      operator = '!';
      token = this.consume('values');
    }
    if (token.kind !== 'identifier') throw new SelectorParseError(`found '${token.literal}', expected: identifier`);
    // The parser validates the key with a nil field path, hence apimachinery's "<nil>: Invalid value".
    const badKey = keyError(token.literal, '<nil>');
    if (badKey !== undefined) throw new SelectorParseError(badKey);
    const next = this.lookahead('values').kind;
    if ((next === 'end' || next === ',') && operator !== '!') operator = 'exists';
    return { key: token.literal, operator };
  }

  private parseOperator(): LabelOperator {
    const token = this.consume('keyAndOperator');
    switch (token.kind) {
      case 'in':
        return 'in';
      case 'notin':
        return 'notin';
      case '=':
        return '=';
      case '==':
        return '==';
      case '!=':
        return '!=';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      default:
        throw new SelectorParseError(`found '${token.literal}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume('values');
    if (open.kind !== '(') throw new SelectorParseError(`found '${open.literal}' expected: '('`);
    const first = this.lookahead('values');
    if (first.kind === ')') {
      this.consume('values');
      return new Set(['']);
    }
    if (first.kind !== 'identifier' && first.kind !== ',') {
      throw new SelectorParseError(`found '${first.literal}', expected: ',', ')' or identifier`);
    }
    const values = this.parseIdentifiersList();
    // apimachinery reports the token seen before the list here, not the one that failed.
    if (this.consume('values').kind !== ')') throw new SelectorParseError(`found '${first.literal}', expected: ')'`);
    return values;
  }

  /** A possibly empty list of possibly empty identifiers: `(a,,b)`, `(,a)`, `(a,)`. */
  private parseIdentifiersList(): Set<string> {
    const values = new Set<string>();
    for (;;) {
      const token = this.consume('values');
      if (token.kind === 'identifier') {
        values.add(token.literal);
        const next = this.lookahead('values');
        if (next.kind === ',') continue;
        if (next.kind === ')') return values;
        throw new SelectorParseError(`found '${next.literal}', expected: ',' or ')'`);
      }
      if (token.kind !== ',') throw new SelectorParseError(`found '${token.literal}', expected: ',', or identifier`);
      if (values.size === 0) values.add('');
      const next = this.lookahead('values');
      if (next.kind === ')') {
        values.add('');
        return values;
      }
      if (next.kind === ',') {
        this.consume('values');
        values.add('');
      }
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead('values');
    if (next.kind === 'end' || next.kind === ',') return new Set(['']);
    const token = this.consume('values');
    if (token.kind === 'identifier') return new Set([token.literal]);
    throw new SelectorParseError(`found '${token.literal}', expected: identifier`);
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Parses the `labelSelector` query syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`,
 * `a` (exists), `!a` (does not exist), `a>1`, `a<1`; comma is AND; whitespace is ignored; the empty
 * string selects everything.
 *
 * @throws SelectorParseError with the apiserver's message when the text is not a valid selector.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = new Parser(tokenize(text)).parse();
  return requirements.length === 0 ? EVERYTHING : { requirements: sortedByKey(requirements) };
}

function hasValue(requirement: LabelRequirement, value: string): boolean {
  return requirement.values.includes(value);
}

function compareInteger(requirement: LabelRequirement, labelValue: string): boolean {
  const bound = requirement.values[0];
  if (requirement.values.length !== 1 || bound === undefined) return false;
  if (!isInt64(labelValue) || !isInt64(bound)) return false;
  const actual = BigInt(labelValue);
  return requirement.operator === 'gt' ? actual > BigInt(bound) : actual < BigInt(bound);
}

function requirementMatches(requirement: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = has ? (labels[requirement.key] ?? '') : '';
  switch (requirement.operator) {
    case 'in':
    case '=':
    case '==':
      return has && hasValue(requirement, value);
    case 'notin':
    case '!=':
      return !has || !hasValue(requirement, value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt':
      return has && compareInteger(requirement, value);
  }
}

/**
 * Whether a label set satisfies every requirement of the selector. A missing key satisfies `!=`,
 * `notin` and `!`; `'nothing'` matches no label set at all.
 */
export function matchesLabels(
  selector: LabelSelector | NothingSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector === 'nothing') return false;
  const set = labels ?? {};
  return selector.requirements.every((r) => requirementMatches(r, set));
}

const EXPRESSION_OPERATORS: Readonly<Record<string, LabelOperator>> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * `metav1.LabelSelectorAsSelector`: null or undefined selects nothing, an empty object selects
 * everything, otherwise the AND of `matchLabels` (as `key=value`) and `matchExpressions`
 * (operators `In`, `NotIn`, `Exists`, `DoesNotExist`).
 *
 * @throws SelectorParseError on an unknown operator, a bad key or value, or values that do not
 * fit the operator, with the apiserver's wording.
 */
export function fromLabelSelectorObject(obj: LabelSelectorObject | null | undefined): LabelSelector | NothingSelector {
  if (obj === null || obj === undefined) return 'nothing';
  const matchLabels = Object.entries(wireStringMap(obj.matchLabels, 'matchLabels'));
  const expressions = wireList(obj.matchExpressions, 'matchExpressions');
  if (matchLabels.length + expressions.length === 0) return EVERYTHING;
  const requirements = matchLabels.map(([key, value]) => newRequirement(key, '=', [value]));
  for (const expression of expressions) {
    if (!isWireObject(expression) || typeof expression.key !== 'string') {
      throw new SelectorParseError(`matchExpressions: Invalid value: ${JSON.stringify(expression)}: not a requirement`);
    }
    const name = expression.operator;
    const operator =
      typeof name === 'string' && Object.hasOwn(EXPRESSION_OPERATORS, name) ? EXPRESSION_OPERATORS[name] : undefined;
    if (operator === undefined) {
      throw new SelectorParseError(`${JSON.stringify(expression.operator)} is not a valid label selector operator`);
    }
    const values = wireList(expression.values, 'values');
    if (!values.every((v): v is string => typeof v === 'string')) {
      throw new SelectorParseError(`values: Invalid value: ${JSON.stringify(values)}: values must be strings`);
    }
    requirements.push(newRequirement(expression.key, operator, values));
  }
  return { requirements: sortedByKey(requirements) };
}

// The object may come straight from JSON (kube-sim reads request bodies), so its shape is checked, not assumed.

function isWireObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wireStringMap(value: unknown, field: string): Readonly<Record<string, string>> {
  if (value === undefined || value === null) return {};
  if (isWireObject(value) && Object.values(value).every((v) => typeof v === 'string')) {
    return value as Readonly<Record<string, string>>;
  }
  throw new SelectorParseError(`${field}: Invalid value: ${JSON.stringify(value)}: must be a map of strings`);
}

function wireList(value: unknown, field: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value as readonly unknown[];
  throw new SelectorParseError(`${field}: Invalid value: ${JSON.stringify(value)}: must be a list`);
}

/** Parsed selector objects by identity: see {@link labelSelectorObjectMatches}. */
const parsedObjects = new WeakMap<LabelSelectorObject, LabelSelector | NothingSelector>();

/**
 * Whether a `metav1.LabelSelector` object (a PodDisruptionBudget's, a workload's) selects these labels, with
 * policy/v1 semantics: null or undefined selects nothing, `{}` selects everything. Each object is parsed once and
 * remembered by identity, so a caller may test one budget against thousands of pods; the object must not be
 * mutated afterwards (objects read from the API never are). An invalid selector selects nothing, as the disruption
 * controller treats a budget whose selector it cannot convert.
 */
export function labelSelectorObjectMatches(
  obj: LabelSelectorObject | null | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (obj === null || obj === undefined) return false;
  let parsed = parsedObjects.get(obj);
  if (parsed === undefined) {
    try {
      parsed = fromLabelSelectorObject(obj);
    } catch (err) {
      if (!(err instanceof SelectorParseError)) throw err;
      parsed = 'nothing';
    }
    parsedObjects.set(obj, parsed);
  }
  return matchesLabels(parsed, labels);
}

const OPERATOR_SPELLING: Readonly<Record<LabelOperator, string>> = {
  '=': '=',
  '==': '==',
  '!=': '!=',
  in: ' in ',
  notin: ' notin ',
  gt: '>',
  lt: '<',
  exists: '',
  '!': '',
};

function requirementToString(requirement: LabelRequirement): string {
  const { key, operator } = requirement;
  if (operator === 'exists') return key;
  if (operator === '!') return `!${key}`;
  const values = [...requirement.values].sort().join(',');
  const shown = operator === 'in' || operator === 'notin' ? `(${values})` : values;
  return `${key}${OPERATOR_SPELLING[operator]}${shown}`;
}

/**
 * The selector written back in the query syntax, as `Selector.String()` does (values sorted):
 * `app=web,tier in (a,b),!canary`. Everything and nothing both print as the empty string.
 */
export function selectorToString(selector: LabelSelector | NothingSelector): string {
  if (selector === 'nothing') return '';
  return selector.requirements.map(requirementToString).join(',');
}

/**
 * `RequiresExactMatch`: the value the selector pins `key` to (`key=v`, `key==v` or `key in (v)`),
 * so a store can use an index; undefined when the key is not pinned to one value.
 */
export function equalityValue(selector: LabelSelector | NothingSelector, key: string): string | undefined {
  if (selector === 'nothing') return undefined;
  const requirement = selector.requirements.find((r) => r.key === key);
  if (requirement === undefined) return undefined;
  const pins = requirement.operator === '=' || requirement.operator === '==' || requirement.operator === 'in';
  return pins && requirement.values.length === 1 ? requirement.values[0] : undefined;
}
