/**
 * The commands of runs: `kup plan`, `kup upgrade`, `kup work`, `kup pause|resume|cancel|rollback`, `kup status`.
 * A run is created by `upgrade` and stepped by an executor: in the foreground with `--wait`, else by a detached
 * `kup work --run ID` process. Any kup process can pause, resume, cancel or roll back a run, and a restarted
 * `kup work` resumes every run whose executor died.
 */
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAcknowledgement } from '../../checks/acknowledge.ts';
import type { Acknowledgement } from '../../checks/types.ts';
import { systemClock } from '../../clock/clock.ts';
import { formatDuration } from '../../clock/duration.ts';
import { loadRun } from '../../engine/apply-event.ts';
import type { RunCommand, UpgradeRequest } from '../../engine/runs.ts';
import { LeaseLostError } from '../../persistence/errors.ts';
import { openStore as openStoreAt } from '../../persistence/store.ts';
import type { KupStore } from '../../persistence/store.ts';
import { progressOf } from '../../rollout/machine/progress.ts';
import { pendingEffects } from '../../rollout/machine/effects.ts';
import { isTerminal } from '../../rollout/machine/state.ts';
import { transition } from '../../rollout/machine/transition.ts';
import type { RunState } from '../../rollout/machine/types.ts';
import type { RolloutPlan } from '../../rollout/plan-types.ts';
import { planDirection } from '../../rollout/plan-direction.ts';
import { formatPlan, pausedNotice, progressBar, progressLine } from '../../rollout/run-text.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir, storeLocation } from '../io.ts';
import { ensurePrivateDir, openPrivateAppend } from '../../persistence/private-files.ts';

/** Usage of the run commands. */
export const RUN_USAGE = `Usage:
  kup plan CLUSTER --to V [--image I] [--pool P ...] [--batch-policy exponential|fixed:N|percent:P]
                   [--strategy replace|in-place|blue-green] [--max-surge N|P%] [--max-unavailable N|P%]
                   [--soak 30s] [--node-soak 1m] [--drain-batch-size N|P%] [--batch-soak 1m] [--final-soak 1h]
                   [--canary] [--worker-strategy minimal|follow]
                   [--acknowledge RULE[/OBJECT]=REASON ...] [--implicit-budget on|off]
                   [--allow-preview] [--allow-expired] [-o json]           (exit 1 when a blocker stands)
  kup upgrade CLUSTER (same flags) [--drain-timeout-policy pause|quarantine|force] [--max-blocked-nodes N]
                   [--drain-timeout 10m]
                   [--node-ready-timeout 15m] [--unreachable-timeout 5m] [--max-pause 15d]
                   [--api-concurrency N] [--yes] [--wait]
  kup status RUN|CLUSTER [--watch] [-o json]
  kup pause RUN | kup resume RUN [--replace-node] | kup cancel RUN | kup rollback RUN
  kup work [--run RUN]        step runs (every active one whose executor is gone) until they end

Every command takes --data-dir D (default $KUP_DATA_DIR, else .kup) and --db postgres://... (default $KUP_DB): with
--db the runs and clusters are in that PostgreSQL database, shared by several kups, each run stepped by one of them at
a time (its lease); the data directory still holds the catalog and the executors' logs.

'upgrade --wait' follows the run and returns when it ends (0 succeeded, 1 failed) or when it pauses (3: the cause
and the command that resumes it are printed). A run paused, resumed, cancelled or rolled back with no executor left
gets one in the background. 'work' without --run passes paused runs by, and takes over a run whose executor died
once its lease expires. 'resume --replace-node' is for a run paused because a replacement node never became Ready:
instead of waiting for that node again, kup removes it and makes a new one. --allow-expired accepts a target past its
end of support; the latest patch of each expired minor between a cluster's expired minor and the oldest supported one
needs none (it is the only way back).`;

/** Exit code of `kup upgrade --wait` when the run paused and waits for an operator. */
export const EXIT_PAUSED = 3;

/** The commands' one clock: the wall clock, which the engine, its actions and the provider all read. */
const clock = systemClock;

type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * The engine, the checks and the catalog: what plan, upgrade and work run on. Loaded only when one of them runs, so
 * that `kup status` and the other commands that only read or write the store do not load client-node, the providers
 * and every check rule (about half a second of start-up).
 */
async function loadEngine() {
  const [catalogFile, report, runner, executor, estimates, runs, sessionPool, registry, providerChecks] = await Promise.all([
    import('../../catalog/catalog-file.ts'),
    import('../../checks/report.ts'),
    import('../../checks/runner.ts'),
    import('../../engine/executor.ts'),
    import('../../engine/measured-estimates.ts'),
    import('../../engine/runs.ts'),
    import('../../engine/session-pool.ts'),
    import('../../providers/registry.ts'),
    import('../../engine/provider-checks.ts'),
  ]);
  return {
    ...catalogFile,
    ...report,
    ...runner,
    ...providerChecks,
    ...executor,
    ...estimates,
    ...runs,
    ...sessionPool,
    /** The providers runs' clusters are driven by: the registry `kup cluster add` checked them against. */
    providers: registry.builtInProviders(),
  };
}

/** How often `kup work` and `kup upgrade --wait` work out a progress line while the phase stays the same. */
const PROGRESS_MS = 500;

const PLAN_FLAGS = {
  to: { type: 'string' },
  image: { type: 'string' },
  pool: { type: 'string', multiple: true },
  'batch-policy': { type: 'string' },
  strategy: { type: 'string' },
  'max-surge': { type: 'string' },
  'max-unavailable': { type: 'string' },
  soak: { type: 'string' },
  'node-soak': { type: 'string' },
  'drain-batch-size': { type: 'string' },
  'batch-soak': { type: 'string' },
  'final-soak': { type: 'string' },
  canary: { type: 'boolean' },
  'worker-strategy': { type: 'string' },
  'allow-preview': { type: 'boolean' },
  'allow-expired': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  'data-dir': { type: 'string' },
  db: { type: 'string' },
  acknowledge: { type: 'string', multiple: true },
  'implicit-budget': { type: 'string' },
} as const;

const UPGRADE_FLAGS = {
  ...PLAN_FLAGS,
  'drain-timeout-policy': { type: 'string' },
  'max-blocked-nodes': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'node-ready-timeout': { type: 'string' },
  'unreachable-timeout': { type: 'string' },
  'max-pause': { type: 'string' },
  'api-concurrency': { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  wait: { type: 'boolean' },
} as const;

function parse(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${RUN_USAGE}`);
  }
}

/** `30s`, `10m`, `2h`, `1d`, or plain milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text);
  if (!m) throw new UsageError(`${flag}: "${text}" is not a duration like 30s, 10m, 2h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

function upgradeRequest(v: Values): UpgradeRequest {
  const to = typeof v['to'] === 'string' ? v['to'].replace(/^v/, '') : undefined;
  const image = typeof v['image'] === 'string' ? v['image'] : undefined;
  if (!to && !image) throw new UsageError('give --to VERSION, --image IMAGE, or both');
  const strategy = v['strategy'];
  if (strategy !== undefined && strategy !== 'replace' && strategy !== 'in-place' && strategy !== 'blue-green') throw new UsageError(`--strategy: "${String(strategy)}" is not replace, in-place or blue-green`);
  if (typeof v['soak'] === 'string' && typeof v['batch-soak'] === 'string') throw new UsageError('--batch-soak is --soak under its blue-green name: give one of them');
  const soak = typeof v['batch-soak'] === 'string' ? parseDuration('--batch-soak', v['batch-soak']) : typeof v['soak'] === 'string' ? parseDuration('--soak', v['soak']) : undefined;
  const drainBatch = v['drain-batch-size'];
  const policy = v['drain-timeout-policy'];
  if (policy !== undefined && policy !== 'pause' && policy !== 'quarantine' && policy !== 'force') {
    throw new UsageError(`--drain-timeout-policy: "${String(policy)}" is not pause, quarantine or force`);
  }
  const maxBlocked = v['max-blocked-nodes'];
  if (maxBlocked !== undefined) {
    if (typeof maxBlocked !== 'string' || !/^\d+$/.test(maxBlocked)) throw new UsageError(`--max-blocked-nodes: "${String(maxBlocked)}" is not a whole number >= 0`);
    if (policy !== 'quarantine') throw new UsageError('--max-blocked-nodes bounds --drain-timeout-policy quarantine: give both');
  }
  const apiConcurrency = v['api-concurrency'];
  if (apiConcurrency !== undefined && (typeof apiConcurrency !== 'string' || !/^\d+$/.test(apiConcurrency) || Number(apiConcurrency) < 1 || Number(apiConcurrency) > 1024)) {
    throw new UsageError(`--api-concurrency: "${String(apiConcurrency)}" is not a whole number from 1 to 1024`);
  }
  const workerStrategy = v['worker-strategy'];
  if (workerStrategy !== undefined && workerStrategy !== 'follow' && workerStrategy !== 'minimal') throw new UsageError(`--worker-strategy: "${String(workerStrategy)}" is not follow or minimal`);
  const acks: Acknowledgement[] = [];
  for (const a of (v['acknowledge'] as string[] | undefined) ?? []) {
    try {
      acks.push(parseAcknowledgement(a));
    } catch (err) {
      throw new UsageError(`--acknowledge: ${(err as Error).message}`);
    }
  }
  const implicitBudget = v['implicit-budget'];
  if (implicitBudget !== undefined && implicitBudget !== 'on' && implicitBudget !== 'off') {
    throw new UsageError(`--implicit-budget: "${String(implicitBudget)}" is not on or off`);
  }
  const surge = v['max-surge'];
  const unavailable = v['max-unavailable'];
  return {
    ...(to ? { to } : {}),
    ...(image ? { image } : {}),
    ...(Array.isArray(v['pool']) ? { pools: v['pool'] } : {}),
    poolOptions: {
      ...(typeof v['batch-policy'] === 'string' ? { batchPolicy: v['batch-policy'] } : {}),
      ...(strategy ? { strategy } : {}),
      ...(typeof surge === 'string' ? { maxSurge: /^\d+$/.test(surge) ? Number(surge) : surge } : {}),
      ...(typeof unavailable === 'string' ? { maxUnavailable: /^\d+$/.test(unavailable) ? Number(unavailable) : unavailable } : {}),
      ...(typeof v['node-soak'] === 'string' ? { nodeSoakMs: parseDuration('--node-soak', v['node-soak']) } : {}),
      ...(typeof drainBatch === 'string' ? { drainBatchSize: /^\d+$/.test(drainBatch) ? Number(drainBatch) : drainBatch } : {}),
      ...(typeof v['final-soak'] === 'string' ? { finalSoakMs: parseDuration('--final-soak', v['final-soak']) } : {}),
      ...(v['canary'] === true ? { canary: true } : {}),
    },
    ...(soak !== undefined ? { soakMs: soak } : {}),
    ...(workerStrategy ? { workerStrategy } : {}),
    ...(v['allow-preview'] ? { allowPreview: true } : {}),
    ...(v['allow-expired'] ? { allowExpired: true } : {}),
    run: {
      ...(policy ? { drainTimeoutPolicy: policy } : {}),
      ...(typeof maxBlocked === 'string' ? { maxBlockedNodes: Number(maxBlocked) } : {}),
      ...(typeof v['max-pause'] === 'string' ? { maxPauseMs: parseDuration('--max-pause', v['max-pause']) } : {}),
    },
    ...(acks.length ? { acknowledgements: acks } : {}),
    ...(implicitBudget === 'off' ? { implicitBudget: false } : {}),
    ...(typeof v['drain-timeout'] === 'string' ? { drainTimeoutMs: parseDuration('--drain-timeout', v['drain-timeout']) } : {}),
    ...(typeof v['node-ready-timeout'] === 'string' ? { nodeReadyTimeoutMs: parseDuration('--node-ready-timeout', v['node-ready-timeout']) } : {}),
    ...(typeof v['unreachable-timeout'] === 'string' ? { unreachableTimeoutMs: parseDuration('--unreachable-timeout', v['unreachable-timeout']) } : {}),
    ...(typeof apiConcurrency === 'string' ? { apiConcurrency: Number(apiConcurrency) } : {}),
  };
}

/** The store of `--db`/KUP_DB, else of `--data-dir`. */
function openStore(v: Values): Promise<KupStore> {
  return openStoreAt(storeLocation({ dataDir: v['data-dir'] as string | undefined, db: v['db'] as string | undefined }));
}

/** The `--db` a background executor needs, if the command was given one: it goes by environment, not argv (ps shows argv). */
function dbOf(v: Values): string | undefined {
  return (v['db'] as string | undefined) ?? process.env['KUP_DB'];
}

/** `kup plan`. */
export async function runPlanCommand(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, PLAN_FLAGS);
  const name = positionals[0];
  if (!name) throw new UsageError(`kup plan needs a CLUSTER\n\n${RUN_USAGE}`);
  const request = upgradeRequest(values);
  const { activeCatalog, formatReportTable, measuredEstimates, openCluster, planUpgrade, providerVersions, providers, replacementImages, reportDocument, runChecks, undrainedNodes, withProviderFindings } = await loadEngine();
  const store = await openStore(values);
  try {
    const cluster = await openCluster(store, name, { providers, clock });
    const { catalog } = await activeCatalog(dataDir(values['data-dir'] as string | undefined));
    const { plan } = await planUpgrade(cluster, request, catalog, clock.now(), signal, await measuredEstimates(store, name));
    // The precheck report belongs to the plan: what would block or warn, before anything moves.
    const report = request.to
      ? await runChecks(cluster.conn, {
          target: request.to,
          phase: 'precheck',
          catalog,
          signal,
          ...(request.acknowledgements ? { acknowledgements: request.acknowledgements } : {}),
          ...(request.allowExpired ? { allowExpired: true } : {}),
          ...(request.allowPreview ? { allowPreview: true } : {}),
          ...(request.workerStrategy ? { workerStrategy: request.workerStrategy } : {}),
          ...(request.implicitBudget === false ? { implicitBudget: false } : {}),
          ...(request.poolOptions?.strategy ? { nodeStrategy: request.poolOptions.strategy } : {}),
          images: replacementImages(plan),
          undrainedNodes: undrainedNodes(plan),
          providerVersions: providerVersions(cluster.provider),
        }).then((r) => withProviderFindings(r, cluster.provider, signal, request.acknowledgements ?? []))
      : undefined;
    if (values['output'] === 'json') {
      io.stdout.write(JSON.stringify({ plan, ...(report ? { precheck: reportDocument(report) } : {}) }, null, 2) + '\n');
    } else {
      io.stdout.write(formatPlan(plan));
      if (report) io.stdout.write(`\n${formatReportTable(report)}`);
    }
    return report && report.findings.some((f) => f.severity === 'blocker' && !f.acknowledged) ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** `kup plan`'s arguments for the service (`--server`): the cluster and the request, checked as locally. */
export function planArguments(args: string[]): { name: string; request: UpgradeRequest; json: boolean } {
  const { values, positionals } = parse(args, PLAN_FLAGS);
  const name = positionals[0];
  if (!name) throw new UsageError(`kup plan needs a CLUSTER\n\n${RUN_USAGE}`);
  if (values['data-dir'] !== undefined || values['db'] !== undefined) throw new UsageError("with --server, the service's data is used: --data-dir and --db do not apply");
  return { name, request: upgradeRequest(values), json: values['output'] === 'json' };
}

/** `kup upgrade`. */
export async function runUpgradeCommand(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, UPGRADE_FLAGS);
  const name = positionals[0];
  if (!name) throw new UsageError(`kup upgrade needs a CLUSTER\n\n${RUN_USAGE}`);
  const request = upgradeRequest(values);
  refuseUnconfirmed(values);
  const { activeCatalog, createRun, measuredEstimates, openCluster, planUpgrade, providers, refuseBusyCluster } = await loadEngine();
  const dir = dataDir(values['data-dir'] as string | undefined);
  const store = await openStore(values);
  let runId: string;
  try {
    const cluster = await openCluster(store, name, { providers, clock });
    const { catalog } = await activeCatalog(dir);
    if (!values['yes']) {
      await refuseBusyCluster(store, name, clock.now());
      const { plan } = await planUpgrade(cluster, request, catalog, clock.now(), signal, await measuredEstimates(store, name), clock);
      io.stdout.write(formatPlan(plan));
      const verb = planDirection(plan) === 'downgrade' ? 'Downgrade' : 'Upgrade';
      if (!(await confirm(io, `${verb} cluster ${name}? [y/N] `))) {
        io.stdout.write('not started\n');
        return 1;
      }
    }
    const state = await createRun(store, cluster, request, catalog, clock, signal);
    runId = state.runId;
    io.stdout.write(createdLine(runId, name, state.plan));
    if (values['wait']) return await work(store, dir, [runId], io, signal, { verbose: true, returnWhenPaused: true });
  } finally {
    if (!values['wait']) await store.close();
  }
  const child = spawnWorker(dir, runId, dbOf(values));
  io.stdout.write(`executing in the background (pid ${child}); follow it with: kup status ${runId} --watch\n`);
  return 0;
}

/** `kup upgrade`'s arguments for the service (`--server`): the cluster, the request and the switches, checked as locally. */
export function upgradeArguments(args: string[]): { name: string; request: UpgradeRequest; yes: boolean; wait: boolean } {
  const { values, positionals } = parse(args, UPGRADE_FLAGS);
  const name = positionals[0];
  if (!name) throw new UsageError(`kup upgrade needs a CLUSTER\n\n${RUN_USAGE}`);
  if (values['data-dir'] !== undefined || values['db'] !== undefined) throw new UsageError("with --server, the service's data is used: --data-dir and --db do not apply");
  const request = upgradeRequest(values);
  refuseUnconfirmed(values);
  return { name, request, yes: values['yes'] === true, wait: values['wait'] === true };
}

function refuseUnconfirmed(values: Values): void {
  if (!values['yes'] && !process.stdin.isTTY) throw new UsageError('kup upgrade changes the cluster: confirm with --yes (no terminal to ask on)');
}

/** The line `kup upgrade` prints when it created a run. */
export function createdLine(runId: string, cluster: string, plan: RolloutPlan): string {
  const downgrade = planDirection(plan) === 'downgrade' ? ' (downgrade)' : '';
  return `run ${runId} created: ${cluster} ${plan.from} -> ${plan.to}${downgrade}, expected ${formatDuration(plan.expectedDurationMs)}\n`;
}

/** `kup work`: step the given run, or every active run whose executor is gone. */
export async function runWorkCommand(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values } = parse(args, { run: { type: 'string', multiple: true }, 'data-dir': { type: 'string' }, db: { type: 'string' }, quiet: { type: 'boolean' } });
  const dir = dataDir(values['data-dir'] as string | undefined);
  const store = await openStore(values);
  let ids = values['run'] as string[] | undefined;
  if (ids === undefined) {
    // Every run that has not ended, but the paused ones: they wait for an operator, and an executor would wait with
    // them forever. A run another kup holds is taken over once its lease expires (its executor died) or left to it.
    const active = await store.runs.list({ active: true });
    ids = [];
    for (const run of active) {
      if (run.phase === 'paused') {
        io.stdout.write(`${run.id} (cluster ${run.cluster}) is paused: passed by (kup status ${run.id}; kup resume ${run.id})\n`);
        continue;
      }
      if (run.lease !== undefined && run.lease.expiresAt > clock.now()) {
        io.stdout.write(`${run.id} (cluster ${run.cluster}) is held by ${run.lease.owner} until ${new Date(run.lease.expiresAt).toISOString()}: taken over if that executor stops\n`);
      }
      ids.push(run.id);
    }
  }
  if (ids.length === 0) {
    io.stdout.write('no run to execute\n');
    await store.close();
    return 0;
  }
  return work(store, dir, ids, io, signal, { verbose: !values['quiet'], returnWhenPaused: false });
}

/** Options of {@link work}. */
interface WorkOptions {
  /** Print each run's progress. */
  readonly verbose: boolean;
  /**
   * Return once a run is paused with nothing of it in flight (`kup upgrade --wait`): the operator is told why and how
   * to resume, instead of a command that waits, silent, for as long as the pause lasts.
   */
  readonly returnWhenPaused: boolean;
}

async function work(store: KupStore, dir: string, ids: readonly string[], io: CliIo, signal: AbortSignal, options: WorkOptions): Promise<number> {
  const { verbose, returnWhenPaused } = options;
  const { RunLeaseHeldError, SessionPool, actionSettings, activeCatalog, engineContext, executeRun, executorId, openCluster, providers, runRequest } = await loadEngine();
  const owner = executorId();
  const leaseTtlMs = Number(process.env['KUP_LEASE_TTL_MS'] ?? 15_000);
  // One session per run, all in one pool: whatever path ends the command, every watch is closed.
  const sessions = new SessionPool(clock);
  try {
    const finals = await Promise.all(
      ids.map(async (runId) => {
        const row = await store.runs.get(runId);
        if (!row) throw new Error(`KUP-RUN-404: run ${runId} does not exist`);
        const cluster = await openCluster(store, row.cluster, { providers, clock });
        const request = await runRequest(store, runId);
        const { catalog } = await activeCatalog(dir);
        const settings = actionSettings(request, request, (await loadRun(store, runId)).state.plan);
        // The run's session lives across waits for another kup's lease, and closes with the command (closeAll).
        const session = sessions.open(row.cluster, cluster.conn);
        let last = '';
        let lastState: RunState | undefined;
        let lastAt = 0;
        const paused = new AbortController();
        const runSignal = AbortSignal.any([signal, paused.signal]);
        setMaxListeners(0, runSignal);
        for (;;) {
          try {
            const final = await executeRun({
              store,
              runId,
              owner,
              leaseTtlMs,
              signal: runSignal,
              ctx: engineContext(cluster, catalog, session, settings),
              // Progress reads every node of the plan, and a large run commits a new state for every step: it is
              // worked out for a new phase at once, else at most every PROGRESS_MS (the executor offers the latest
              // state again at least every poll, so the last one is printed too).
              onState: (state) => {
                if (returnWhenPaused && state.status.phase === 'paused' && pendingEffects(state).length === 0) {
                  paused.abort(new Error(`run ${runId} paused`));
                }
                if (!verbose || state === lastState) return;
                const samePhase = state.status.phase === lastState?.status.phase;
                if (samePhase && clock.now() - lastAt < PROGRESS_MS) return;
                lastState = state;
                lastAt = clock.now();
                const line = progressLine(state, clock.now());
                if (line !== last) io.stdout.write(`${new Date(clock.now()).toISOString().slice(11, 19)} ${runId} ${line}\n`);
                last = line;
              },
            });
            if (paused.signal.aborted) io.stdout.write(pausedNotice(final));
            return final;
          } catch (err) {
            // A dead executor's lease has to expire before this one can take over: wait for it.
            if (err instanceof RunLeaseHeldError && !signal.aborted) {
              if (verbose) io.stdout.write(`${runId}: executed by ${err.holder}; waiting for its lease (until ${new Date(err.expiresAt).toISOString()}) to take it over\n`);
              await clock.sleep(Math.max(100, err.expiresAt - clock.now() + 50), signal).catch(() => undefined);
              if (signal.aborted) return (await loadRun(store, runId)).state;
              continue;
            }
            // This kup stalled past its lease and another took the run over (its commit was refused, nothing of it
            // written): the run is in good hands; wait for that kup's lease as for any other, in case it dies too.
            if (err instanceof LeaseLostError && !signal.aborted) {
              if (verbose) io.stdout.write(`${runId}: lost its lease to ${err.holder ?? 'nobody'}; waiting to take it over if that executor stops\n`);
              continue;
            }
            throw err;
          }
        }
      }),
    );
    if (finals.every((s) => s.status.phase === 'succeeded' || s.status.phase === 'rolled-back' || s.status.phase === 'cancelled')) return 0;
    return returnWhenPaused && finals.some((s) => s.status.phase === 'paused') ? EXIT_PAUSED : 1;
  } finally {
    await sessions.closeAll();
    await store.close();
  }
}

/** `kup pause|resume|cancel|rollback RUN`. */
export async function runControlCommand(command: RunCommand, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    'data-dir': { type: 'string' },
    db: { type: 'string' },
    message: { type: 'string' },
    'replace-node': { type: 'boolean' },
  });
  const runId = positionals[0];
  if (!runId) throw new UsageError(`kup ${command} needs a RUN id\n\n${RUN_USAGE}`);
  const replaceNode = values['replace-node'] === true;
  if (replaceNode && command !== 'resume') throw new UsageError(`--replace-node is an option of kup resume, not of kup ${command}`);
  const { commandRun } = await import('../../engine/runs.ts');
  const store = await openStore(values);
  try {
    const message = values['message'] as string | undefined;
    const state = await commandRun(store, runId, command, clock.now(), { ...(message !== undefined ? { message } : {}), replaceNode });
    io.stdout.write(`run ${runId}: ${progressLine(state, clock.now())}\n`);
    // What the command asked for is done by an executor: a run whose executor is gone (a 'kup upgrade --wait' that
    // returned at the pause) gets one, as 'kup upgrade' starts one.
    const lease = (await store.runs.get(runId))?.lease;
    if (command !== 'pause' && !isTerminal(state) && (lease === undefined || lease.expiresAt <= clock.now())) {
      const pid = spawnWorker(dataDir(values['data-dir'] as string | undefined), runId, dbOf(values));
      io.stdout.write(`executing in the background (pid ${pid}); follow it with: kup status ${runId} --watch\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `kup status RUN|CLUSTER [--watch]`. */
export async function runStatusCommand(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, db: { type: 'string' }, watch: { type: 'boolean', short: 'w' }, output: { type: 'string', short: 'o' } });
  const target = positionals[0];
  if (!target) throw new UsageError(`kup status needs a RUN id or a CLUSTER\n\n${RUN_USAGE}`);
  const store = await openStore(values);
  try {
    let runId = target;
    if (!target.startsWith('run-')) {
      const latest = (await store.runs.list({ cluster: target, limit: 1 }))[0];
      if (!latest) throw new UsageError(`no run for cluster "${target}"`);
      runId = latest.id;
    }
    let lastSeq = 0;
    const tty = (io.stdout as NodeJS.WriteStream).isTTY === true;
    for (;;) {
      // As of now: a run paused past its limit has ended, though no executor was there to see the time pass.
      const state = asOf((await loadRun(store, runId)).state, clock.now());
      if (values['output'] === 'json') {
        io.stdout.write(JSON.stringify({ runId, status: state.status, progress: progressOf(state, state.plan, clock.now()) }, null, 2) + '\n');
        return 0;
      }
      const events = await store.events.list(runId, { afterSeq: lastSeq });
      for (const e of events) {
        io.stdout.write(`${new Date(e.at).toISOString().slice(11, 19)} ${e.outcome.padEnd(10)} ${e.step}${e.node ? ` ${e.node}` : ''}: ${e.message}\n`);
        lastSeq = e.seq;
      }
      io.stdout.write(tty ? `\r${progressBar(state, clock.now())} ${progressLine(state, clock.now())}\x1b[K` : `${progressLine(state, clock.now())}\n`);
      if (!values['watch'] || isTerminal(state) || signal.aborted) {
        if (tty) io.stdout.write('\n');
        // A paused run waits for an operator: say where, and which commands go on (the first line is the one above).
        if (state.status.phase === 'paused') io.stdout.write(pausedNotice(state).split('\n').slice(1).join('\n'));
        return 0;
      }
      await clock.sleep(500, signal).catch(() => undefined);
    }
  } finally {
    await store.close();
  }
}

/**
 * A stored run as it stands at `now`: time passes for it (the machine's `tick`) without anything written, so reading
 * shows a pause that outlived its limit as the end it is. Commands commit the same tick before they act.
 */
function asOf(state: RunState, now: number): RunState {
  return isTerminal(state) ? state : transition(state, { type: 'tick' }, now).state;
}

/** Asks `question` on the terminal; true for y or yes. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stdout.write(question);
  const answer = await new Promise<string>((resolve) => process.stdin.once('data', (d: Buffer) => resolve(d.toString().trim())));
  process.stdin.pause();
  return /^y(es)?$/i.test(answer);
}

function spawnWorker(dir: string, runId: string, db: string | undefined): number {
  const logs = join(dir, 'logs');
  ensurePrivateDir(logs);
  const out = openPrivateAppend(join(logs, `${runId}.log`));
  const child = spawn(process.execPath, [kupBin(), 'work', '--run', runId, '--data-dir', dir], {
    detached: true,
    stdio: ['ignore', out, out],
    env: db === undefined ? process.env : { ...process.env, KUP_DB: db },
  });
  child.unref();
  return child.pid ?? 0;
}

/**
 * bin/kup.mjs, looked up from this module: it runs from src/cli/commands/ through tsx, or from a chunk of dist/ once
 * built, and the two sit at different depths below the package.
 */
function kupBin(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const bin = join(dir, 'bin', 'kup.mjs');
    if (existsSync(bin)) return bin;
    if (dirname(dir) === dir) throw new Error(`bin/kup.mjs not found above ${import.meta.dirname}`);
  }
}
