/**
 * kube-sim's command-line entry: start one simulated cluster in the foreground, write its kubeconfig, print the
 * server URL when it is ready, and stop cleanly on SIGINT/SIGTERM. `kup sim start` and the standalone
 * `kube-sim start` both come here.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultMachineImage } from './scenario/defaults.ts';
import { generateScenario, defaultDemoScenario } from './scenario/generate.ts';
import { parseScenario } from './scenario/parse.ts';
import type { Scenario } from './scenario/types.ts';
import type { SimCluster } from './sim-cluster.ts';
import { startSimCluster } from './sim-cluster.ts';

/** A command-line mistake: exit code 2, message for the user. */
export class SimUsageError extends Error {
  override readonly name = 'SimUsageError';
  /** Stable code for logs and exit-code mapping (kup's CLI runs kube-sim in-process and reads it). */
  readonly code = 'KUP-SIM-USAGE';
}

/** The usage text of `sim start`. */
export const SIM_START_USAGE = `Usage: kup sim start [--scenario FILE] [--nodes N] [--pods N] [--version V] [--port P] --kubeconfig OUT

Starts a simulated Kubernetes cluster on 127.0.0.1 and serves it until SIGINT/SIGTERM.
  --scenario FILE   YAML scenario (see src/kube-sim/scenario/SCHEMA.md); default: the demo cluster
  --nodes N         generate a cluster of N worker nodes instead (10 pods per node unless --pods)
  --pods N          pods for a generated cluster
  --version V       control-plane (and default kubelet) version, e.g. 1.30.4
  --port P          port on 127.0.0.1 (default: any free port)
  --kubeconfig OUT  where to write the kubeconfig (required)`;

/** Parses `sim start` arguments into a scenario and options. Throws SimUsageError on bad input. */
export async function simStartOptions(args: string[]): Promise<{ scenario: Scenario; port: number; kubeconfigPath: string }> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        scenario: { type: 'string' },
        nodes: { type: 'string' },
        pods: { type: 'string' },
        version: { type: 'string' },
        port: { type: 'string' },
        kubeconfig: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new SimUsageError(`${(err as Error).message}\n\n${SIM_START_USAGE}`);
  }
  const v = parsed.values;
  if (!v.kubeconfig) throw new SimUsageError(`--kubeconfig OUT is required\n\n${SIM_START_USAGE}`);
  if (v.scenario && v.nodes) throw new SimUsageError('--scenario and --nodes exclude each other: a scenario file fixes its nodes');
  const port = v.port === undefined ? 0 : wholeNumber('--port', v.port, 0, 65535);
  if (v.version !== undefined && !/^v?\d+\.\d+\.\d+$/.test(v.version)) {
    throw new SimUsageError(`--version: "${v.version}" is not a Kubernetes version like 1.30.4`);
  }
  const version = v.version?.replace(/^v/, '');
  let scenario: Scenario;
  if (v.scenario) {
    let text: string;
    try {
      text = await readFile(v.scenario, 'utf8');
    } catch (err) {
      throw new SimUsageError(`--scenario: cannot read ${v.scenario}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    scenario = parseScenario(text, v.scenario);
  } else if (v.nodes) {
    const nodes = wholeNumber('--nodes', v.nodes, 1, 20_000);
    const pods = v.pods === undefined ? nodes * 10 : wholeNumber('--pods', v.pods, 0, 500_000);
    scenario = generateScenario({ nodes, pods, ...(version ? { version } : {}) });
  } else {
    scenario = defaultDemoScenario();
  }
  if (version && !v.nodes) scenario = withVersion(scenario, version);
  return { scenario, port, kubeconfigPath: v.kubeconfig };
}

/**
 * Moves a scenario to another version: the control plane, and the pools that were at the control plane's version.
 * Machines that ran the old version's default image run the new version's (a node at 1.35 booted from an image named
 * for 1.30 would tell the operator a falsehood); an image the scenario names stays.
 */
export function withVersion(scenario: Scenario, version: string): Scenario {
  const from = scenario.kubernetesVersion;
  const image = (machineImage: string) => (machineImage === defaultMachineImage(from) ? defaultMachineImage(version) : machineImage);
  return {
    ...scenario,
    kubernetesVersion: version,
    controlPlane: { ...scenario.controlPlane, machineImage: image(scenario.controlPlane.machineImage) },
    pools: scenario.pools.map((p) => (p.kubeletVersion === from ? { ...p, kubeletVersion: version, machineImage: image(p.machineImage) } : p)),
  };
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new SimUsageError(`${flag}: must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

/** Runs `sim start` in the foreground; resolves when a signal stopped the cluster. */
export async function runSimStart(
  args: string[],
  out: NodeJS.WritableStream = process.stdout,
  onReady: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const { scenario, port, kubeconfigPath } = await simStartOptions(args);
  const started = Date.now();
  const cluster: SimCluster = await startSimCluster({ scenario, port, kubeconfigPath });
  const nodes = cluster.runtime.store.count('core/nodes');
  const pods = cluster.runtime.store.count('core/pods');
  out.write(
    `kube-sim: cluster "${cluster.name}" (Kubernetes ${cluster.version().gitVersion}, ${nodes} nodes, ${pods} pods) ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
      `kube-sim: serving ${cluster.url}\n` +
      `kube-sim: kubeconfig written to ${kubeconfigPath}\n` +
      `  kubectl --kubeconfig ${kubeconfigPath} get nodes\n`,
  );
  await onReady();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      out.write(`kube-sim: ${signal}: stopping\n`);
      cluster.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** `kube-sim <command>`: the standalone entry point. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'start') {
      await runSimStart(rest);
      return 0;
    }
    process.stderr.write(`kube-sim: unknown command "${command ?? ''}"\n\n${SIM_START_USAGE.replace('kup sim start', 'kube-sim start')}\n`);
    return 2;
  } catch (err) {
    if (err instanceof SimUsageError || (err as Error).name === 'ScenarioError') {
      process.stderr.write(`kube-sim: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
}
