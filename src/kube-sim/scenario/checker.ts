/**
 * Reading untyped input (YAML or JSON) into typed values while collecting every problem, so a scenario with five
 * mistakes reports five lines at once. Each reader returns `undefined` for a missing or bad value and records why;
 * the caller substitutes a default and the scenario is thrown away if anything was recorded.
 */
import { describeValue, formatPath, type PathSegment, type ScenarioIssue } from './errors.ts';

/** Collects issues while a scenario is read. */
export class Checker {
  readonly issues: ScenarioIssue[] = [];

  /** Records a problem at a path. */
  report(segments: readonly PathSegment[], problem: string): void {
    this.issues.push({ path: formatPath(segments), segments: [...segments], problem });
  }
}

/** Plain JSON object (a YAML mapping). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field of a mapping; YAML `key:` with no value (null) counts as absent, as in Kubernetes. */
export function field(obj: Record<string, unknown>, key: string): unknown {
  const value = Object.hasOwn(obj, key) ? obj[key] : undefined;
  return value === null ? undefined : value;
}

/** Edit distance counting a swap of neighbours as one edit (`wbe` -> `web`), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= x.length; i++) {
    const row = d[i] ?? [];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(x.length, y.length);
}

/** The candidate a typo most likely meant, if one is close enough. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  if (bestDistance <= limit) return best;
  // `mem` for `memory`, `grace` for `terminationGracePeriodSeconds`.
  const lower = word.toLowerCase();
  if (lower.length >= 3) {
    for (const candidate of candidates) if (candidate.toLowerCase().includes(lower)) return candidate;
  }
  return undefined;
}

/** `; did you mean "x"?`, or nothing. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : `; did you mean ${JSON.stringify(match)}?`;
}

/**
 * A mapping whose keys must all be in `keys`; unknown keys are reported with a suggestion. `misplaced` explains keys
 * that are valid elsewhere (`replicas` on a DaemonSet) instead of calling them unknown; keys matching `ignore` are
 * allowed and left for the caller to skip.
 */
export function readMapping(
  c: Checker,
  value: unknown,
  at: readonly PathSegment[],
  keys: readonly string[],
  misplaced: Readonly<Record<string, string>> = {},
  ignore?: RegExp,
): Record<string, unknown> | undefined {
  if (!isMapping(value)) {
    c.report(at, `must be a mapping, got ${describeValue(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (keys.includes(key) || ignore?.test(key) === true) continue;
    const why = misplaced[key];
    if (why !== undefined) {
      c.report([...at, key], why);
      continue;
    }
    const suggestion = closest(key, keys);
    c.report(
      [...at, key],
      suggestion === undefined
        ? `unknown key; expected one of ${keys.join(', ')}`
        : `unknown key; did you mean ${JSON.stringify(suggestion)}?`,
    );
  }
  return value;
}

/** A list. */
export function readList(c: Checker, value: unknown, at: readonly PathSegment[]): unknown[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    c.report(at, `must be a list, got ${describeValue(value)}`);
    return undefined;
  }
  const list: unknown[] = value;
  return list;
}

/** A whole number in [min, max]. */
export function readWholeNumber(
  c: Checker,
  value: unknown,
  at: readonly PathSegment[],
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    c.report(at, `must be a whole number ${range}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** A number in [min, max]. */
export function readNumber(
  c: Checker,
  value: unknown,
  at: readonly PathSegment[],
  min: number,
  max = Infinity,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
    c.report(at, `must be a number ${range}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** true or false (YAML 1.2: `yes` and `on` are strings). */
export function readBoolean(c: Checker, value: unknown, at: readonly PathSegment[]): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    c.report(at, `must be true or false, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** A string; `what` says what kind, for the message. */
export function readString(
  c: Checker,
  value: unknown,
  at: readonly PathSegment[],
  what = 'a string',
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    c.report(at, `must be ${what}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** One of a fixed set of strings, with a suggestion for near misses (`deployment` -> `Deployment`). */
export function readChoice<T extends string>(
  c: Checker,
  value: unknown,
  at: readonly PathSegment[],
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  const found = choices.find((choice) => choice === value);
  if (found !== undefined) return found;
  const hint = typeof value === 'string' ? didYouMean(value, choices) : '';
  c.report(
    at,
    `must be one of ${choices.map((x) => JSON.stringify(x)).join(', ')}, got ${describeValue(value)}${hint}`,
  );
  return undefined;
}

/** Reports a missing required field and returns undefined, so callers can write `?? required(...)`. */
export function required(c: Checker, at: readonly PathSegment[], what: string): undefined {
  c.report(at, `is required (${what})`);
  return undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A DNS-1123 label (names of pools, workloads, namespaces). */
export function readDnsLabel(c: Checker, value: unknown, at: readonly PathSegment[]): string | undefined {
  const s = readString(c, value, at, 'a DNS-1123 label');
  if (s === undefined) return undefined;
  if (s.length > 63 || !DNS_LABEL.test(s)) {
    const fixed = s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63);
    const hint = fixed !== '' && fixed !== s && DNS_LABEL.test(fixed) ? `; did you mean ${JSON.stringify(fixed)}?` : '';
    c.report(
      at,
      `must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters), got ${describeValue(s)}${hint}`,
    );
    return undefined;
  }
  return s;
}

/** A DNS-1123 subdomain (names of most Kubernetes objects). */
export function readDnsSubdomain(c: Checker, value: unknown, at: readonly PathSegment[]): string | undefined {
  const s = readString(c, value, at, 'a DNS-1123 subdomain');
  if (s === undefined) return undefined;
  if (s.length > 253 || !DNS_SUBDOMAIN.test(s)) {
    c.report(
      at,
      `must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters), got ${describeValue(s)}`,
    );
    return undefined;
  }
  return s;
}

/** Why `key` is not a valid label (or taint) key, or undefined if it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `must be a label key ([prefix/]name) whose prefix is a DNS subdomain, got ${JSON.stringify(key)}`;
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return `must be a label key ([prefix/]name; name of letters, digits, "-", "_" and ".", at most 63 characters), got ${JSON.stringify(key)}`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined if it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && LABEL_NAME.test(value))) return undefined;
  return `must be a label value (empty, or letters, digits, "-", "_" and ".", starting and ending with a letter or digit, at most 63 characters), got ${JSON.stringify(value)}`;
}

/** A label value, which must be a string in Kubernetes (`"true"`, `"1"`, quoted in YAML). */
export function readLabelValue(c: Checker, value: unknown, at: readonly PathSegment[]): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') {
    c.report(at, `must be a string (quote it: "${String(value)}"), got ${String(value)}`);
    return undefined;
  }
  const s = readString(c, value ?? '', at, 'a label value');
  if (s === undefined) return undefined;
  const problem = labelValueProblem(s);
  if (problem !== undefined) {
    c.report(at, problem);
    return undefined;
  }
  return s;
}

/** A map of label keys to label values (labels, nodeSelector). */
export function readLabels(c: Checker, value: unknown, at: readonly PathSegment[]): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isMapping(value)) {
    c.report(at, `must be a mapping of label keys to values, got ${describeValue(value)}`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) {
      c.report([...at, key], keyProblem);
      continue;
    }
    const v = readLabelValue(c, raw, [...at, key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** A version `x.y.z` (Kubernetes, kubelet, CoreDNS): quoted in YAML, no leading `v`. */
export function readVersion(
  c: Checker,
  value: unknown,
  at: readonly PathSegment[],
  example = '1.30.4',
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    c.report(
      at,
      `must be a version string "x.y.z" such as "${example}", got the number ${String(value)} (quote the version)`,
    );
    return undefined;
  }
  const s = readString(c, value, at, `a version string "x.y.z" such as "${example}"`);
  if (s === undefined) return undefined;
  if (VERSION.test(s)) return s;
  if (/^v/i.test(s) && VERSION.test(s.slice(1))) {
    c.report(
      at,
      `must be "x.y.z" without the leading "v": write ${JSON.stringify(s.slice(1))}, got ${JSON.stringify(s)}`,
    );
  } else if (/^\d+\.\d+$/.test(s)) {
    c.report(at, `must be a full version "x.y.z" (major.minor.patch) such as "${s}.0", got ${JSON.stringify(s)}`);
  } else {
    c.report(at, `must be a version "x.y.z" such as "${example}", got ${describeValue(s)}`);
  }
  return undefined;
}
