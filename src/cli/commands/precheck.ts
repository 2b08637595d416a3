/**
 * `kup precheck --kubeconfig F [--context C] --to V [-o table|json] [--acknowledge RULE[/OBJECT]=REASON ...]
 * [--batch-policy P]`: reads the cluster, runs the prechecks against the path to V and prints the report.
 * Exit codes: 0 no unacknowledged blocker, 1 blockers (or a failure), 2 bad input (the message names it).
 * `--postcheck` runs the post-upgrade validation instead, with V the version the cluster should now run.
 */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { activeCatalog } from '../../catalog/catalog-file.ts';
import { parseAcknowledgement } from '../../checks/acknowledge.ts';
import { PrecheckError } from '../../checks/errors.ts';
import { formatReportTable, reportDocument } from '../../checks/report.ts';
import { runChecks } from '../../checks/runner.ts';
import type { Acknowledgement, CheckBaseline } from '../../checks/types.ts';
import { connect } from '../../kube-api/connect.ts';
import { ClusterError, ClusterErrorCode } from '../../kube-api/errors.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import type { UpgradeStrategy } from '../../rollout/plan-types.ts';
import type { WorkerStrategy } from '../../versions/index.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir, storeLocation } from '../io.ts';

/** Usage of `kup precheck`. */
export const PRECHECK_USAGE = `Usage: kup precheck (--kubeconfig FILE [--context C] | --cluster NAME) --to VERSION [flags]

Checks that a cluster can be upgraded to VERSION: API and etcd health, nodes, system pods, the version skew along
the planned path, removed APIs still in use, PodDisruptionBudgets and pods that would block drains, a simulation of
the drains batch by batch, add-on compatibility, and the upgrade notes of every hop.

Flags:
  --kubeconfig FILE          kubeconfig of the cluster (required)
  --context C                kubeconfig context (default: the current one)
  --cluster NAME             a registered cluster instead (its kubeconfig and context; with --server, the service's)
  --to VERSION               target Kubernetes version, e.g. 1.31.4 (required)
  -o, --output table|json    report format (default table)
  --acknowledge RULE[/OBJECT]=REASON
                             accept a blocker for this run, with the reason the report records; repeatable.
                             OBJECT is Kind/namespace/name, namespace/name, Kind/name or name.
  --batch-policy P           exponential (default), fixed:N or percent:P: how pools are drained
  --worker-strategy S        minimal (default: pools move when the skew policy requires it, and at the end)
                             or follow (pools move after every control-plane hop)
  --strategy S               replace (default) or in-place: how worker nodes will move (in place they keep their
                             container runtime and kernel, which the target must support)
  --allow-preview            accept a preview target
  --allow-expired            accept a target past its end of support (not needed for the latest patch of an
                             expired minor on the way from the cluster's expired minor toward support)
  --postcheck                post-upgrade validation: is the cluster healthy at VERSION?
  --baseline FILE            with --postcheck: the precheck's JSON report, to tell new Pending pods from old ones
  --timeout D                give up after D (e.g. 90s, 5m; default 10m): a stuck API server fails the run
  --data-dir D               kup's data directory (for the catalog in force, and the registry of --cluster)
  --db URL                   with --cluster: the registry in that PostgreSQL database

Exit codes: 0 no blocker (or all acknowledged), 1 blockers, 2 bad input.`;

/** Options of {@link runPrecheckCommand}. */
export interface PrecheckCommandOptions {
  /** Cancels the run (the lead wires SIGINT to it). */
  readonly signal?: AbortSignal;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** `kup precheck`'s arguments, checked. */
export interface PrecheckArgs {
  /** Absent with `cluster`: the registry gives it. */
  kubeconfig?: string;
  cluster?: string;
  db?: string;
  context?: string;
  to: string;
  output: 'table' | 'json';
  acknowledgements: Acknowledgement[];
  batchPolicy?: string;
  workerStrategy?: WorkerStrategy;
  nodeStrategy?: UpgradeStrategy;
  allowPreview: boolean;
  allowExpired: boolean;
  postcheck: boolean;
  baseline?: string;
  dataDir?: string;
  timeoutMs: number;
}

/** How long a run may take unless `--timeout` says otherwise. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

function parseTimeout(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  const n = Number(m?.[1]);
  if (!m || !(n > 0)) throw new UsageError(`--timeout: "${text}" is not a duration like 90s or 5m`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  return n * unit;
}

/** Parses `kup precheck`'s arguments; refusals are usage errors. */
export function parsePrecheckArgs(args: string[]): PrecheckArgs | 'help' {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        cluster: { type: 'string' },
        db: { type: 'string' },
        to: { type: 'string' },
        output: { type: 'string', short: 'o' },
        acknowledge: { type: 'string', multiple: true },
        'batch-policy': { type: 'string' },
        'worker-strategy': { type: 'string' },
        strategy: { type: 'string' },
        'allow-preview': { type: 'boolean' },
        'allow-expired': { type: 'boolean' },
        postcheck: { type: 'boolean' },
        baseline: { type: 'string' },
        'data-dir': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help === true) return 'help';
  if (values.cluster !== undefined && (values.kubeconfig !== undefined || values.context !== undefined))
    throw new UsageError('--cluster excludes --kubeconfig and --context (the registry gives them)');
  if (values.kubeconfig === undefined && values.cluster === undefined)
    throw new UsageError('--kubeconfig FILE is required (or --cluster NAME)');
  if (values.db !== undefined && values.cluster === undefined) throw new UsageError('--db goes with --cluster');
  if (values.to === undefined) throw new UsageError('--to VERSION is required');
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: "${output}" is not one of table, json`);
  const strategy = values['worker-strategy'];
  if (strategy !== undefined && strategy !== 'follow' && strategy !== 'minimal') {
    throw new UsageError(`--worker-strategy: "${strategy}" is not one of follow, minimal`);
  }
  const nodeStrategy = values.strategy;
  if (nodeStrategy !== undefined && nodeStrategy !== 'replace' && nodeStrategy !== 'in-place') {
    throw new UsageError(`--strategy: "${nodeStrategy}" is not one of replace, in-place`);
  }
  if (values.baseline !== undefined && values.postcheck !== true)
    throw new UsageError('--baseline goes with --postcheck');
  let acknowledgements: Acknowledgement[];
  try {
    acknowledgements = (values.acknowledge ?? []).map(parseAcknowledgement);
  } catch (err) {
    throw new UsageError(`--acknowledge: ${(err as Error).message}`);
  }
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
    ...(values.db !== undefined ? { db: values.db } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    to: values.to,
    output,
    acknowledgements,
    ...(values['batch-policy'] !== undefined ? { batchPolicy: values['batch-policy'] } : {}),
    ...(strategy !== undefined ? { workerStrategy: strategy } : {}),
    ...(nodeStrategy !== undefined ? { nodeStrategy } : {}),
    allowPreview: values['allow-preview'] === true,
    allowExpired: values['allow-expired'] === true,
    postcheck: values.postcheck === true,
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    timeoutMs: values.timeout !== undefined ? parseTimeout(values.timeout) : DEFAULT_TIMEOUT_MS,
  };
}

async function readBaseline(file: string): Promise<CheckBaseline> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--baseline: cannot read ${file}: ${(err as Error).message}`);
  }
  const baseline = (parsed as { baseline?: { pendingWorkloads?: unknown; failingWorkloads?: unknown } } | null)?.baseline;
  const keys = baseline?.pendingWorkloads;
  const failing = baseline?.failingWorkloads;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((k) => typeof k === 'string');
  if (!strings(keys) || (failing !== undefined && !strings(failing))) {
    throw new UsageError(`--baseline: ${file} is not a kup precheck report (-o json)`);
  }
  // A report from before failingWorkloads was recorded has none: its failing workloads are all taken as new.
  return { pendingWorkloads: keys, ...(failing !== undefined ? { failingWorkloads: failing } : {}) };
}

/**
 * Runs `kup precheck` with `args` (after `precheck`); resolves to the exit code: 0 no unacknowledged blocker,
 * 1 blockers or a failure, 2 bad input. Never throws.
 */
export async function runPrecheckCommand(
  args: string[],
  io: CliIo,
  options: PrecheckCommandOptions = {},
): Promise<number> {
  const usageFail = (message: string): number => {
    io.stderr.write(`kup precheck: ${message}\n\nRun 'kup precheck --help' for the flags.\n`);
    return 2;
  };
  let parsed: PrecheckArgs | 'help';
  try {
    parsed = parsePrecheckArgs(args);
  } catch (err) {
    if (err instanceof UsageError) return usageFail(err.message);
    throw err;
  }
  if (parsed === 'help') {
    io.stdout.write(`${PRECHECK_USAGE}\n`);
    return 0;
  }
  try {
    const baseline = parsed.baseline !== undefined ? await readBaseline(parsed.baseline) : undefined;
    const { catalog } = await activeCatalog(dataDir(parsed.dataDir));
    if (parsed.cluster !== undefined) {
      // A registered cluster: its kubeconfig and context come from kup's registry.
      const { openStore } = await import('../../persistence/store.ts');
      const store = await openStore(storeLocation({ dataDir: dataDir(parsed.dataDir), db: parsed.db }));
      try {
        const row = await store.clusters.get(parsed.cluster);
        if (!row) return usageFail(notRegistered(parsed.cluster));
        parsed.kubeconfig = row.kubeconfigPath;
        if (row.context) parsed.context = row.context;
      } finally {
        await store.close();
      }
    }
    let conn: ClusterConnection;
    try {
      conn = connect({
        kubeconfigPath: parsed.kubeconfig ?? '',
        ...(parsed.context !== undefined ? { context: parsed.context } : {}),
      });
    } catch (err) {
      if (err instanceof ClusterError && err.code === ClusterErrorCode.kubeconfig)
        return usageFail(`--kubeconfig: ${err.message}`);
      throw err;
    }
    const timeout = AbortSignal.timeout(parsed.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    // The snapshot's lists run at once, each request listening on this one signal: many listeners is the design.
    setMaxListeners(0, signal);
    const report = await runChecks(conn, {
      target: parsed.to,
      phase: parsed.postcheck ? 'postcheck' : 'precheck',
      catalog,
      acknowledgements: parsed.acknowledgements,
      ...(parsed.batchPolicy !== undefined ? { batchPolicy: parsed.batchPolicy } : {}),
      ...(parsed.workerStrategy !== undefined ? { workerStrategy: parsed.workerStrategy } : {}),
      ...(parsed.nodeStrategy !== undefined ? { nodeStrategy: parsed.nodeStrategy } : {}),
      allowPreview: parsed.allowPreview,
      allowExpired: parsed.allowExpired,
      ...(baseline ? { baseline } : {}),
      signal,
      ...(options.now ? { now: options.now } : {}),
    });
    if (parsed.output === 'json') io.stdout.write(`${JSON.stringify(reportDocument(report), null, 2)}\n`);
    else io.stdout.write(formatReportTable(report));
    return report.blockers.length === 0 ? 0 : 1;
  } catch (err) {
    if (err instanceof UsageError) return usageFail(err.message);
    if (err instanceof PrecheckError && err.isInputError) return usageFail(err.message);
    io.stderr.write(`kup precheck: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** The refusal of a `--cluster` that is not registered (locally and with --server alike). */
export function notRegistered(name: string): string {
  return `--cluster: "${name}" is not registered (kup cluster list shows the registered ones)`;
}
