/**
 * The `kup` command line. Each command maps its failures to exit codes here, in one place:
 * 0 success, 1 the operation failed (or found blockers), 2 bad input; and 3 from `kup upgrade --wait` when its run
 * paused and waits for an operator (EXIT_PAUSED in commands/runs.ts: not an error, so not in src/errors/codes.ts).
 */
import { setMaxListeners } from 'node:events';
import { join, resolve } from 'node:path';
import { exitCodeOf, kindOf } from '../errors/codes.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './io.ts';

const USAGE = `kup: upgrade Kubernetes clusters safely.

Usage:
  kup demo                       start a simulated demo cluster and show how to use it
  kup versions [--kubeconfig F]  the Kubernetes releases kup knows, and what a cluster can move to
  kup precheck --kubeconfig F --to V   is the cluster ready for an upgrade to V (exit 1 on blockers)
  kup drain NODE --kubeconfig F  cordon and drain a node, kubectl-compatible flags, PDBs honoured
  kup cluster add|list|show|remove   the clusters kup manages
  kup maintenance show|set CLUSTER   maintenance windows, exclusions, auto-upgrade policy, upgrade information
  kup rollout create|list|show|approve|pause|resume|cancel   fleet rollouts in stages
  kup plan CLUSTER --to V        what an upgrade would do, before anything moves
  kup upgrade CLUSTER --to V     create a run (--wait to follow it in the foreground)
  kup status RUN|CLUSTER [--watch]   a run's progress and events
  kup pause|resume|cancel|rollback RUN
  kup work [--run RUN]           execute runs (resumes runs whose executor died)
  kup catalog update --from SRC  install a newer version catalog (file or URL)
  kup serve [--listen H:P] [--demo]  kup as a service: REST API, live events, metrics; see 'kup serve --help'
  kup webhook add|list|show|remove   a service's webhooks: signed CloudEvents of runs and rollouts
  kup sim start [flags]          start a simulated cluster (kube-sim); see 'kup sim start --help'
  kup local start --version V    start a real control plane with kwok nodes on this host; see 'kup local start --help'
  kup help                       this text

versions, precheck, plan, upgrade, status, pause, resume, cancel, rollback, cluster list and webhook take --server URL to ask
a running kup serve instead of the local data directory; KUP_SERVER=URL does the same for every one of them, and the
other commands of kup's data (work, catalog, maintenance, rollout) refuse to run while it is set rather than read
the local data behind its back. The token comes from KUP_TOKEN or ~/.config/kup/config.json.`;

/** The commands that can talk to a running service (`--server URL`, or KUP_SERVER). */
const REMOTE_COMMANDS = new Set(['versions', 'precheck', 'plan', 'upgrade', 'status', 'pause', 'resume', 'cancel', 'rollback', 'cluster', 'webhook']);

/**
 * The commands of kup's data (the data directory or the database) that do not talk to a service yet: told one, by
 * `--server` or KUP_SERVER, they refuse rather than work on the local data the user did not mean. The others (help,
 * demo, drain, serve, sim, local) have no data of kup's to read and ignore KUP_SERVER.
 */
const LOCAL_ONLY_COMMANDS = new Set(['work', 'catalog', 'maintenance', 'rollout']);

/** Runs kup with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  try {
    if (command !== undefined && (REMOTE_COMMANDS.has(command) || LOCAL_ONLY_COMMANDS.has(command)) && !wantsHelp) {
      // `--server URL` (or KUP_SERVER): the command asks a running kup service instead of the local data directory.
      const { remoteServer, runRemoteCommand } = await import('./remote.ts');
      const remote = remoteServer(rest);
      if (remote !== undefined) {
        const fromEnv = remote.from === 'KUP_SERVER';
        if (!REMOTE_COMMANDS.has(command)) {
          throw new UsageError(
            fromEnv
              ? `kup ${command} does not talk to a service yet, and KUP_SERVER is set (${remote.url}): unset it to work on the local data directory (env -u KUP_SERVER kup ${command} ...)`
              : `kup ${command} does not talk to a service yet: run it without --server, on the data directory or database of the service`,
          );
        }
        try {
          return await runRemoteCommand(command, remote.args, remote.url, io, () => interruptSignal(io));
        } catch (err) {
          // Told by the environment, the user may not know a service was asked: say so.
          if (err instanceof UsageError && fromEnv)
            throw new UsageError(`${err.message}\n(KUP_SERVER is set: kup ${command} asked ${remote.url}; unset it to use the local data directory)`);
          throw err;
        }
      }
    }
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      case 'versions': {
        // Commands load their modules on use: `kup versions` should not load the simulator.
        const { VERSIONS_USAGE, runVersionsCommand } = await import('./commands/versions.ts');
        if (wantsHelp) return help(io, VERSIONS_USAGE);
        return await runVersionsCommand(rest, io);
      }
      case 'catalog': {
        const { CATALOG_USAGE, runCatalogCommand } = await import('./commands/versions.ts');
        if (wantsHelp) return help(io, CATALOG_USAGE);
        return await runCatalogCommand(rest, io);
      }
      case 'precheck': {
        const { runPrecheckCommand } = await import('./commands/precheck.ts');
        return await runPrecheckCommand(rest, io, { signal: interruptSignal(io) });
      }
      case 'drain': {
        const { runDrainCommand } = await import('./commands/drain.ts');
        return await runDrainCommand(rest, io, { signal: interruptSignal(io) });
      }
      case 'maintenance': {
        const { runMaintenanceCommand } = await import('./commands/maintenance.ts');
        return await runMaintenanceCommand(rest, io);
      }
      case 'rollout': {
        const { runRolloutCommand } = await import('./commands/rollouts.ts');
        return await runRolloutCommand(rest, io);
      }
      case 'cluster': {
        const { CLUSTER_USAGE, runClusterCommand } = await import('./commands/cluster.ts');
        if (wantsHelp) return help(io, CLUSTER_USAGE);
        return await runClusterCommand(rest, io, { signal: interruptSignal(io) });
      }
      case 'plan':
      case 'upgrade':
      case 'work':
      case 'status':
      case 'pause':
      case 'resume':
      case 'cancel':
      case 'rollback': {
        const runs = await import('./commands/runs.ts');
        if (wantsHelp) return help(io, runs.RUN_USAGE);
        if (command === 'plan') return await runs.runPlanCommand(rest, io, interruptSignal(io));
        if (command === 'upgrade') return await runs.runUpgradeCommand(rest, io, interruptSignal(io));
        if (command === 'work') return await runs.runWorkCommand(rest, io, interruptSignal(io));
        if (command === 'status') return await runs.runStatusCommand(rest, io, interruptSignal(io));
        return await runs.runControlCommand(command, rest, io);
      }
      case 'webhook': {
        const { WEBHOOK_USAGE } = await import('./commands/webhooks.ts');
        if (wantsHelp) return help(io, WEBHOOK_USAGE);
        throw new UsageError('kup webhook configures the webhooks of a service: give --server URL or set KUP_SERVER (kup serve delivers them)');
      }
      case 'serve': {
        const { SERVE_USAGE, runServeCommand } = await import('./commands/serve.ts');
        if (wantsHelp) return help(io, SERVE_USAGE);
        return await runServeCommand(rest, io);
      }
      case 'demo':
        return await demo(rest, io);
      case 'sim': {
        const { SIM_START_USAGE, runSimStart } = await import('../kube-sim/main.ts');
        if (rest[0] === 'start') {
          if (rest.includes('--help') || rest.includes('-h')) {
            process.stdout.write(`${SIM_START_USAGE}\n`);
            return 0;
          }
          await runSimStart(rest.slice(1));
          return 0;
        }
        throw new UsageError(`unknown sim command "${rest[0] ?? ''}"\n\n${SIM_START_USAGE}`);
      }
      case 'local': {
        const { LOCAL_START_USAGE, runLocalStart } = await import('../local/main.ts');
        if (rest[0] === 'start') {
          if (wantsHelp) return help(io, LOCAL_START_USAGE);
          await runLocalStart(rest.slice(1), io.stdout);
          return 0;
        }
        throw new UsageError(`unknown local command "${rest[0] ?? ''}"\n\n${LOCAL_START_USAGE}`);
      }
      default:
            throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (err) {
    return exitCodeFor(err, io);
  }
}

/**
 * An AbortSignal that the first SIGINT/SIGTERM aborts, so a command can stop cleanly (a drain prints the node's
 * state, a precheck stops reading); a second signal exits at once.
 */
function interruptSignal(io: CliIo): AbortSignal {
  const controller = new AbortController();
  // Every concurrent request listens on this one signal: many listeners is the design, not a leak.
  setMaxListeners(0, controller.signal);
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    io.stderr.write(`kup: ${signal}: stopping (again to exit at once)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

function help(io: CliIo, usage: string): number {
  io.stdout.write(`${usage}\n`);
  return 0;
}

/** Where a command's error becomes its message and exit code; the code comes from the one map, `errors/codes.ts`. */
function exitCodeFor(err: unknown, io: CliIo): number {
  const e = err instanceof Error ? err : new Error(String(err));
  // kup's errors say what went wrong, with their code: no stack trace for the user. Anything else is a bug: the stack
  // is what the report needs.
  io.stderr.write(`kup: ${kindOf(err) !== undefined ? e.message : (e.stack ?? e.message)}\n`);
  return exitCodeOf(err);
}

/**
 * The demo's upgrade commands. The default demo scenario runs a pod no controller owns (default/debug), which the
 * precheck blocks on as it would on a real cluster: the commands say so, and how to go on past it.
 */
function upgradeCommands(kubeconfig: string, to: string, defaultScenario: boolean): string {
  const ack = defaultScenario ? ` --acknowledge 'drain-refusals/Pod/default/debug=a scratch pod'` : '';
  return (
    `  npx kup precheck --kubeconfig ${kubeconfig} --to ${to}${defaultScenario ? '   # one blocker: pod default/debug has no controller' : ''}\n` +
    `  npx kup plan demo --to ${to}\n` +
    `  npx kup upgrade demo --to ${to} --yes --wait${ack}\n` +
    (defaultScenario ? `    (or delete the pod first: kubectl --kubeconfig ${kubeconfig} -n default delete pod debug)\n` : '')
  );
}

/**
 * `kup demo`: the embedded default. A simulated cluster at a supported version one minor behind the newest, registered
 * as `demo` in the data directory, and the commands to try on it. Runs in the foreground until Ctrl-C.
 */
async function demo(args: string[], io: CliIo): Promise<number> {
  const dataDir = resolve(process.env['KUP_DATA_DIR'] ?? '.kup');
  const dir = join(dataDir, 'demo');
  const { ensurePrivateDir } = await import('../persistence/private-files.ts');
  ensurePrivateDir(dir);
  const kubeconfig = join(dir, 'kubeconfig');
  const { activeCatalog } = await import('../catalog/catalog-file.ts');
  const { catalogOverview } = await import('../versions/index.ts');
  const { catalog } = await activeCatalog(dataDir);
  const supported = catalogOverview(catalog, new Date()).filter((m) => m.classification === 'supported' && m.latest);
  const from = supported[1] ?? supported[0];
  const version = from?.releases.find((r) => r.classification !== 'preview')?.version;
  const to = supported[0]?.latest;
  io.stdout.write(`kup demo: starting a simulated cluster (kube-sim)${version ? ` at Kubernetes ${version}` : ''}...\n`);
  const { runSimStart } = await import('../kube-sim/main.ts');
  const { openSqliteStore } = await import('../persistence/store.ts');
  const register = async () => {
    const store = openSqliteStore({ dataDir });
    try {
      // Each demo starts a new simulated cluster: the runs of the previous one describe a cluster that is gone.
      if (await store.clusters.get('demo')) await store.clusters.remove('demo', Date.now(), { purgeHistory: true });
      await store.clusters.add({ name: 'demo', kubeconfigPath: kubeconfig, provider: 'sim', providerSettings: {}, addedAt: Date.now() });
    } finally {
      await store.close();
    }
    io.stdout.write(
      `kup demo: registered as cluster "demo" (data dir ${dataDir}). In another terminal:\n` +
        `  npx kup cluster list\n  npx kup versions --cluster demo\n` +
        (to ? upgradeCommands(kubeconfig, to, args.length === 0) : '') +
        `  kubectl --kubeconfig ${kubeconfig} get nodes -o wide\nCtrl-C stops the cluster.\n`,
    );
  };
  await runSimStart(['--kubeconfig', kubeconfig, ...(version && !args.includes('--version') ? ['--version', version] : []), ...args], io.stdout, register);
  return 0;
}
