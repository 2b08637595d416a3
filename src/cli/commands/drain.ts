/**
 * `kup drain NODE`: kubectl drain's flags and output, on kup's drain (src/drain). Exit codes: 0 drained, 1 the drain
 * failed (the node's state is printed: a drain never uncordons), 2 bad input (the message names the flag).
 */
import { parseArgs } from 'node:util';
import { KupError } from '../../errors/kup-error.ts';
import { connect } from '../../kube-api/connect.ts';
import type { DrainEvent, DrainOptions } from '../../drain/drain.ts';
import { drainNode } from '../../drain/drain.ts';
import { formatWarnings } from '../../drain/filters.ts';
import { LabelSelectorSyntaxError, assertLabelSelector } from '../../drain/selectors.ts';
import type { DryRun } from '../../drain/types.ts';
import { formatPdb } from '../../drain/types.ts';

/** Where a command writes. `process` fits. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Usage text of `kup drain`. */
export const DRAIN_USAGE = `Usage: kup drain NODE --kubeconfig FILE [flags]

Cordons NODE and evicts its pods, honouring PodDisruptionBudgets, as kubectl drain does.

Flags (kubectl's):
  --kubeconfig FILE              kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)
  --context NAME                 kubeconfig context
  --ignore-daemonsets            ignore DaemonSet-managed pods
  --delete-emptydir-data         continue even if there are pods using emptyDir (their data is deleted)
  --force                        continue even if there are pods without a controller
  --grace-period SECONDS         seconds each pod gets to terminate; negative uses the pod's own (default -1)
  --timeout DURATION             give up after this long (90s, 2m, 1h); 0 waits forever (default 0s)
  --pod-selector SELECTOR        only pods matching this label selector
  --disable-eviction             DELETE pods instead of evicting them (bypasses PodDisruptionBudgets)
  --dry-run none|client|server   show what would happen (default none)
  --skip-wait-for-delete-timeout SECONDS   skip pods deleted more than SECONDS ago (default 0: never)
  --chunk-size N                 page size of the pod list (default 500)

Flags (kup's):
  --qps N                        API requests per second (default 100; kubectl's client-go: 5)
  --burst N                      request burst (default 200; kubectl's client-go: 10)
  --concurrency N                eviction requests in flight (default 50)
  --implicit-budget on|off       a workload with several replicas and no PodDisruptionBudget keeps all but one
                                 Ready, as with a PDB of maxUnavailable 1 (default on; kubectl: off)`;

/** Bad input: the message names the flag. */
export class DrainUsageError extends KupError<'KUP-CLI-002'> {
  override readonly name = 'DrainUsageError';
  constructor(
    message: string,
    readonly flag?: string,
  ) {
    // kubectl's own words, so that scripts written for `kubectl drain` read the same text: no code in front.
    super('KUP-CLI-002', message, { kind: 'invalid-input', plainMessage: true });
  }
}

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (kubectl's `--timeout`): `90s`, `2m`, `1h30m`, `500ms`, `0`. Returns milliseconds. */
export function parseGoDuration(text: string, flag = '--timeout'): number {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * (GO_DURATION_UNITS[m[2] ?? ''] ?? Number.NaN);
    matched = re.lastIndex;
  }
  if (t === '' || matched !== t.length || Number.isNaN(total)) {
    throw new DrainUsageError(
      `invalid argument "${text}" for "${flag}" flag: expected a duration such as 90s, 2m or 1h30m`,
      flag,
    );
  }
  return Math.round(total);
}

function parseIntFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  min = Number.MIN_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim()))
    throw new DrainUsageError(`invalid argument "${value}" for "${flag}" flag: expected an integer`, flag);
  const n = Number(value);
  if (n < min)
    throw new DrainUsageError(`invalid argument "${value}" for "${flag}" flag: must be at least ${min}`, flag);
  return n;
}

const BOOLEAN_FLAGS = [
  'ignore-daemonsets',
  'delete-emptydir-data',
  'delete-local-data',
  'force',
  'disable-eviction',
  'help',
] as const;

/** kubectl accepts `--force=true` and `--force=false`; node's parseArgs does not: rewrite them first. */
function normalizeBooleans(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const m = /^--([a-z-]+)=(true|false)$/.exec(arg);
    if (m && (BOOLEAN_FLAGS as readonly string[]).includes(m[1] ?? '')) {
      if (m[2] === 'true') out.push(`--${m[1]}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The parsed command line. */
export interface DrainCommand {
  node: string;
  kubeconfigPath?: string;
  context?: string;
  qps: number;
  burst: number;
  options: DrainOptions;
}

/** Parses `kup drain` arguments (without `drain`); throws DrainUsageError for bad input, naming the flag. */
export function parseDrainArgs(args: readonly string[]): DrainCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: normalizeBooleans(args),
      allowPositionals: true,
      strict: true,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'ignore-daemonsets': { type: 'boolean' },
        'delete-emptydir-data': { type: 'boolean' },
        'delete-local-data': { type: 'boolean' },
        force: { type: 'boolean' },
        'grace-period': { type: 'string' },
        timeout: { type: 'string' },
        'pod-selector': { type: 'string' },
        'disable-eviction': { type: 'boolean' },
        'dry-run': { type: 'string' },
        'skip-wait-for-delete-timeout': { type: 'string' },
        'chunk-size': { type: 'string' },
        qps: { type: 'string' },
        burst: { type: 'string' },
        concurrency: { type: 'string' },
        'implicit-budget': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(--?[\w-]+)/.exec(message)?.[1];
    throw new DrainUsageError(message, flag);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (positionals.length === 0) throw new DrainUsageError('a node name is required: kup drain NODE');
  if (positionals.length > 1) throw new DrainUsageError(`one node at a time: got ${positionals.join(', ')}`);
  const node = positionals[0] ?? '';

  const dryRunText = v['dry-run'] ?? 'none';
  if (dryRunText !== 'none' && dryRunText !== 'client' && dryRunText !== 'server') {
    throw new DrainUsageError(
      `invalid argument "${dryRunText}" for "--dry-run" flag: must be "none", "server", or "client"`,
      '--dry-run',
    );
  }
  const dryRun: DryRun = dryRunText;
  const implicitBudget = v['implicit-budget'] ?? 'on';
  if (implicitBudget !== 'on' && implicitBudget !== 'off') {
    throw new DrainUsageError(
      `invalid argument "${implicitBudget}" for "--implicit-budget" flag: must be "on" or "off"`,
      '--implicit-budget',
    );
  }
  const podSelector = v['pod-selector'] ?? '';
  try {
    assertLabelSelector(podSelector);
  } catch (err) {
    if (err instanceof LabelSelectorSyntaxError)
      throw new DrainUsageError(
        `--pod-selector=<pod_selector> must be a valid label selector: ${err.message}`,
        '--pod-selector',
      );
    throw err;
  }
  const options: DrainOptions = {
    ignoreDaemonSets: v['ignore-daemonsets'] ?? false,
    deleteEmptyDirData: (v['delete-emptydir-data'] ?? false) || (v['delete-local-data'] ?? false),
    force: v.force ?? false,
    gracePeriodSeconds: parseIntFlag(v['grace-period'], '--grace-period', -1),
    timeoutMs: parseGoDuration(v.timeout ?? '0s'),
    podSelector,
    disableEviction: v['disable-eviction'] ?? false,
    dryRun,
    skipWaitForDeleteTimeoutSeconds: parseIntFlag(
      v['skip-wait-for-delete-timeout'],
      '--skip-wait-for-delete-timeout',
      0,
      0,
    ),
    chunkSize: parseIntFlag(v['chunk-size'], '--chunk-size', 500, 1),
    concurrency: parseIntFlag(v.concurrency, '--concurrency', 50, 1),
    ...(implicitBudget === 'off' ? { implicitBudget: false } : {}),
  };
  return {
    node,
    ...(v.kubeconfig !== undefined ? { kubeconfigPath: v.kubeconfig } : {}),
    ...(v.context !== undefined ? { context: v.context } : {}),
    qps: parseIntFlag(v.qps, '--qps', 100, 1),
    burst: parseIntFlag(v.burst, '--burst', 200, 1),
    options,
  };
}

function dryRunSuffix(dryRun: DryRun): string {
  return dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
}

/** kubectl's lines for a drain's progress; kup adds one line per blocked eviction. */
export function printDrainEvent(event: DrainEvent, io: CommandIo): void {
  switch (event.type) {
    case 'cordoned':
      io.stdout.write(
        `node/${event.node} ${event.alreadyCordoned ? 'already cordoned' : 'cordoned'}${dryRunSuffix(event.dryRun)}\n`,
      );
      return;
    case 'filtered':
      if (event.warnings.length > 0) io.stderr.write(`Warning: ${formatWarnings(event.warnings)}\n`);
      return;
    case 'eviction-unsupported':
      io.stderr.write(`Warning: ${event.reason}: deleting pods instead (no PodDisruptionBudget applies)\n`);
      return;
    case 'evicting':
      if (event.method === 'eviction')
        io.stdout.write(`evicting pod ${event.pod.namespace}/${event.pod.name}${dryRunSuffix(event.dryRun)}\n`);
      return;
    case 'blocked': {
      const who =
        event.holds.length > 0
          ? `blocked by PDB ${event.holds.map((h) => formatPdb(h.pdb)).join(', ')}`
          : event.implicit
            ? 'held back'
            : 'eviction refused';
      // A refusal (429) is retried; a pod held back before asking (its budget has no disruption left) is waiting.
      const next = event.status === undefined ? 'waiting' : 'retrying';
      io.stderr.write(`pod ${event.pod.namespace}/${event.pod.name} ${who}: ${event.message} (${next})\n`);
      return;
    }
    case 'evicted':
    case 'deleted':
      if (!event.alreadyGone) io.stdout.write(`pod/${event.pod.name} ${event.type}\n`);
      return;
    case 'waiting':
      return;
    case 'drained':
      io.stdout.write(`node/${event.node} drained${dryRunSuffix(event.dryRun)}\n`);
      return;
  }
}

/**
 * Runs `kup drain` with `args` (after `drain`); resolves to the exit code. `signal` cancels the drain (the lead wires
 * SIGINT to it); the node's state is printed either way.
 */
export async function runDrainCommand(
  args: string[],
  io: CommandIo,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  let command: DrainCommand | 'help';
  try {
    command = parseDrainArgs(args);
  } catch (err) {
    if (err instanceof DrainUsageError) {
      io.stderr.write(`kup drain: ${err.message}\n\n${DRAIN_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (command === 'help') {
    io.stdout.write(`${DRAIN_USAGE}\n`);
    return 0;
  }
  let conn;
  try {
    conn = connect({
      ...(command.kubeconfigPath !== undefined ? { kubeconfigPath: command.kubeconfigPath } : {}),
      ...(command.context !== undefined ? { context: command.context } : {}),
      rate: { qps: command.qps, burst: command.burst },
    });
  } catch (err) {
    io.stderr.write(`kup drain: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const result = await drainNode(conn, command.node, {
    ...command.options,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (e) => printDrainEvent(e, io),
  });
  if (result.status === 'drained') return 0;
  io.stderr.write(`error: unable to drain node "${result.node}": ${result.error.message}\n`);
  if (result.nodeCordoned) {
    io.stderr.write(
      `node/${result.node} is left cordoned${result.cordonedByDrain ? ' (this drain cordoned it)' : ''}: run 'kubectl uncordon ${result.node}' to put it back in service\n`,
    );
  } else {
    io.stderr.write(`node/${result.node} is not cordoned\n`);
  }
  return 1;
}
