/**
 * Field selectors as kube-apiserver parses, checks and matches them: the `?fieldSelector=` syntax
 * of apimachinery `pkg/fields/selector.go`, the field labels each resource accepts (the scheme's
 * field label conversion functions, e.g. `pkg/apis/core/v1/conversion.go`), and the field values
 * each registry exposes for matching (`ToSelectableFields` in `pkg/registry/...`).
 */

/** The resource a selector is for, as it appears in the URL: core group is `''`. */
export interface FieldSelectorResource {
  readonly group: string;
  readonly plural: string;
}

/** One `field=value` or `field!=value` term. `==` is stored as `=`. */
export interface FieldRequirement {
  /** The canonical field label (after conversion, e.g. pods' legacy `spec.host` becomes `spec.nodeName`). */
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** A parsed, checked selector: the AND of its requirements. No requirements selects everything. */
export interface FieldSelector {
  readonly resource: FieldSelectorResource;
  readonly requirements: readonly FieldRequirement[];
}

/**
 * A field selector the apiserver would refuse with 400 BadRequest: bad syntax, a bad escape, or a
 * field label the resource does not support (`field label not supported: spec.foo` for pods).
 */
export class FieldSelectorError extends Error {
  override readonly name = 'FieldSelectorError';

  constructor(
    message: string,
    /** The unsupported field label, when that is the reason. */
    readonly label?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Which field labels each resource accepts
// ---------------------------------------------------------------------------------------------

interface FieldLabelRules {
  /** Accepted label -> the label it is matched as. */
  readonly labels: Readonly<Record<string, string>>;
  readonly unsupported: (label: string) => string;
}

function accepting(labels: readonly string[], aliases: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...Object.fromEntries(labels.map((l) => [l, l])), ...aliases };
}

const notSupported = (label: string): string => `field label not supported: ${label}`;

const NAME_AND_NAMESPACE = ['metadata.name', 'metadata.namespace'];

const CORE_EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

/** Resources with a registered field label conversion function, keyed `group/plural`. */
const RULES: Readonly<Record<string, FieldLabelRules>> = {
  '/pods': {
    labels: accepting(
      [
        ...NAME_AND_NAMESPACE,
        'spec.nodeName',
        'spec.restartPolicy',
        'spec.schedulerName',
        'spec.serviceAccountName',
        'spec.hostNetwork',
        'status.phase',
        'status.podIP',
        'status.podIPs',
        'status.nominatedNodeName',
      ],
      // Backwards compatibility with old v1 clients.
      { 'spec.host': 'spec.nodeName' },
    ),
    unsupported: notSupported,
  },
  // Nodes accept no metadata.namespace: upstream lists only these two.
  '/nodes': { labels: accepting(['metadata.name', 'spec.unschedulable']), unsupported: notSupported },
  '/replicationcontrollers': {
    labels: accepting([...NAME_AND_NAMESPACE, 'status.replicas']),
    unsupported: notSupported,
  },
  '/events': { labels: accepting([...CORE_EVENT_FIELDS, ...NAME_AND_NAMESPACE]), unsupported: notSupported },
  '/namespaces': { labels: accepting(['status.phase', 'metadata.name']), unsupported: notSupported },
  '/secrets': { labels: accepting(['type', ...NAME_AND_NAMESPACE]), unsupported: notSupported },
  '/services': {
    labels: accepting([...NAME_AND_NAMESPACE, 'spec.clusterIP', 'spec.type']),
    unsupported: notSupported,
  },
  'events.k8s.io/events': {
    // events.k8s.io spellings map onto the core Event's selectable fields.
    labels: {
      reason: 'reason',
      'regarding.kind': 'involvedObject.kind',
      'regarding.namespace': 'involvedObject.namespace',
      'regarding.name': 'involvedObject.name',
      'regarding.uid': 'involvedObject.uid',
      'regarding.apiVersion': 'involvedObject.apiVersion',
      'regarding.resourceVersion': 'involvedObject.resourceVersion',
      'regarding.fieldPath': 'involvedObject.fieldPath',
      reportingController: 'reportingComponent',
      type: 'type',
      'metadata.namespace': 'metadata.namespace',
      'metadata.name': 'metadata.name',
    },
    unsupported: notSupported,
  },
  'batch/jobs': {
    labels: accepting([...NAME_AND_NAMESPACE, 'status.successful']),
    unsupported: (label) => `field label ${JSON.stringify(label)} not supported for Job`,
  },
  'certificates.k8s.io/certificatesigningrequests': {
    labels: accepting(['metadata.name', 'spec.signerName']),
    unsupported: notSupported,
  },
};

/** `runtime.DefaultMetaV1FieldSelectorConversion`, for every resource without its own function. */
const DEFAULT_RULES: FieldLabelRules = {
  labels: accepting(NAME_AND_NAMESPACE),
  unsupported: (label) =>
    `${JSON.stringify(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
};

function rulesFor(resource: FieldSelectorResource): FieldLabelRules {
  return RULES[`${resource.group}/${resource.plural}`] ?? DEFAULT_RULES;
}

// ---------------------------------------------------------------------------------------------
// Parsing (apimachinery fields.ParseSelector)
// ---------------------------------------------------------------------------------------------

/** Splits on commas that are not escaped; escapes stay in the terms. */
function splitTerms(selector: string): string[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

const TERM_OPERATORS = ['!=', '==', '='] as const;

/** The first operator in the term splits it; the left side has no escaping. */
function splitTerm(term: string): { lhs: string; op: '!=' | '==' | '='; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const op = TERM_OPERATORS.find((o) => term.startsWith(o, i));
    if (op !== undefined) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
  }
  return undefined;
}

/** `fields.UnescapeValue`: `\\`, `\,` and `\=` are the only escapes; bare `,` and `=` are errors. */
function unescapeValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = '';
  let inSlash = false;
  for (const c of value) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. as its code point number.
      throw new FieldSelectorError(
        `invalid field selector: unescapedRune character in value: ${c.codePointAt(0) ?? 0}`,
      );
    } else out += c;
  }
  if (inSlash) throw new FieldSelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

function parseTerm(selector: string, part: string, rules: FieldLabelRules): FieldRequirement {
  const split = splitTerm(part);
  if (split === undefined) {
    throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
  }
  const value = unescapeValue(split.rhs);
  const field = rules.labels[split.lhs];
  if (field === undefined) throw new FieldSelectorError(rules.unsupported(split.lhs), split.lhs);
  return { field, operator: split.op === '!=' ? '!=' : '=', value };
}

/**
 * Parses `?fieldSelector=` for a resource and checks each field label against what that resource
 * accepts upstream. Terms are sorted first, as the apiserver does, so with several bad terms the
 * error names the first in sort order. The empty string selects everything.
 *
 * @throws FieldSelectorError with the apiserver's message (the caller answers 400 BadRequest).
 */
export function parseFieldSelector(text: string, resource: FieldSelectorResource): FieldSelector {
  const rules = rulesFor(resource);
  const parts = splitTerms(text)
    .sort()
    .filter((p) => p !== '');
  return { resource, requirements: parts.map((part) => parseTerm(text, part, rules)) };
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lookup(obj: unknown, path: string): unknown {
  let current: unknown = obj;
  for (const segment of path.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

/** Strings as they are, numbers and booleans as Go prints them, anything else as "". */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

function firstText(obj: unknown, paths: readonly string[]): string {
  for (const path of paths) {
    const value = text(lookup(obj, path));
    if (value !== '') return value;
  }
  return '';
}

function podIP(pod: unknown): string {
  const ips = lookup(pod, 'status.podIPs');
  if (Array.isArray(ips) && ips.length > 0) return text(lookup(ips[0], 'ip'));
  return text(lookup(pod, 'status.podIP'));
}

type Extractor = (obj: unknown) => string;

const boolField =
  (path: string): Extractor =>
  (obj) =>
    lookup(obj, path) === true ? 'true' : 'false';

const intField =
  (path: string): Extractor =>
  (obj) => {
    const value = lookup(obj, path);
    return typeof value === 'number' ? String(value) : '0';
  };

/** Event fields read either the core/v1 or the events.k8s.io/v1 spelling of the stored object. */
const eventObjectField =
  (name: string): Extractor =>
  (obj) =>
    firstText(obj, [`involvedObject.${name}`, `regarding.${name}`]);

/**
 * Values that are not a plain string at the same path: defaults, booleans, counters, and fields
 * computed by `ToSelectableFields`. Any other field reads the string at its dotted path, "" if absent.
 */
const EXTRACTORS: Readonly<Record<string, Extractor>> = {
  'spec.hostNetwork': boolField('spec.hostNetwork'),
  'spec.unschedulable': boolField('spec.unschedulable'),
  'status.podIP': podIP,
  // Accepted as a label but not in the pod's selectable field set: it only ever equals "".
  'status.podIPs': () => '',
  'status.replicas': intField('status.replicas'),
  'status.successful': intField('status.succeeded'),
  reportingComponent: (obj) => firstText(obj, ['reportingComponent', 'reportingController']),
  source: (obj) =>
    firstText(obj, ['source.component', 'deprecatedSource.component', 'reportingComponent', 'reportingController']),
  ...Object.fromEntries(
    ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((n) => [
      `involvedObject.${n}`,
      eventObjectField(n),
    ]),
  ),
};

function fieldValue(obj: Record<string, unknown>, field: string): string {
  const extract = EXTRACTORS[field];
  return extract === undefined ? text(lookup(obj, field)) : extract(obj);
}

/**
 * Whether an object (its v1 JSON) satisfies every requirement. Missing strings read as "",
 * booleans as "true"/"false" (a missing `spec.unschedulable` or `spec.hostNetwork` is "false"),
 * counters as decimal ("0" when missing).
 */
export function matchesFields(selector: FieldSelector, obj: Record<string, unknown>): boolean {
  return selector.requirements.every((r) => (fieldValue(obj, r.field) === r.value) === (r.operator === '='));
}

/**
 * `RequiresExactMatch`: the value the selector pins `field` to with `=` or `==`, so a store can
 * use an index (pods by `spec.nodeName`); undefined otherwise.
 */
export function equalityValue(selector: FieldSelector, field: string): string | undefined {
  return selector.requirements.find((r) => r.field === field && r.operator === '=')?.value;
}
