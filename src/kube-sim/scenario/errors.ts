/** A key or list index on the way to a value in a scenario: `['pools', 1, 'nodes']`. */
export type PathSegment = string | number;

/** One problem found in a scenario. */
export interface ScenarioIssue {
  /** Where, as printed: `pools[1].nodes`; empty for the document as a whole. */
  path: string;
  /** The same place as keys and indexes, for tools. */
  segments: PathSegment[];
  /** What is wrong, e.g. `must be a whole number >= 0, got "ten"`. */
  problem: string;
  /** 1-based line in the YAML source, when the scenario came from text. */
  line?: number;
  /** 1-based column in the YAML source, when the scenario came from text. */
  column?: number;
}

const MAX_LINES = 25;

/**
 * A scenario that cannot be used. The message has one line per issue, `<source>: <path>: <problem>`, e.g.
 * `scenario.yaml: pools[1].nodes: must be a whole number >= 0, got "ten"`; `issues` has them as data.
 */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  /** Stable code for logs and exit-code mapping. */
  readonly code = 'KUP-SIM-SCENARIO';
  /** The file (or other origin) the scenario came from, if known. */
  readonly source: string | undefined;
  /** Every problem found, in document order; never empty. */
  readonly issues: readonly ScenarioIssue[];

  constructor(issues: readonly ScenarioIssue[], options: { source?: string; cause?: unknown } = {}) {
    const lines = issues.slice(0, MAX_LINES).map((issue) => formatIssue(issue, options.source));
    if (issues.length > MAX_LINES) lines.push(`... and ${issues.length - MAX_LINES} more problems`);
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause });
    this.source = options.source;
    this.issues = issues;
  }
}

/** `scenario.yaml: pools[1].nodes: must be ...`; the document itself is called `scenario` when there is no source. */
function formatIssue(issue: ScenarioIssue, source: string | undefined): string {
  const where = [source, issue.path].filter((part) => part !== undefined && part !== '');
  if (where.length === 0) where.push('scenario');
  return `${where.join(': ')}: ${issue.problem}`;
}

/** `['pools', 1, 'labels', 'app.kubernetes.io/name']` -> `pools[1].labels["app.kubernetes.io/name"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** A short description of a value for messages: `"ten"`, `3.5`, `true`, `nothing`, `a list`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}
