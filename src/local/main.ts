/**
 * `kup local start`: a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) with kwok
 * nodes on this host, in the foreground like `kup sim start`, until SIGINT or SIGTERM. It builds what is missing
 * first, writes a kubeconfig that also names its control API (for `kup cluster add --provider local`), and stops
 * every process it started when told to.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { LocalCluster } from './cluster.ts';
import type { PoolOptions } from './cluster.ts';
import { LocalControlApi } from './control-api.ts';
import { LocalClusterError } from './errors.ts';
import { LOCAL_CONTROL_EXTENSION } from './protocol.ts';

/** The usage text of `local start`. */
export const LOCAL_START_USAGE = `Usage: kup local start --version V [--workers N | --pools NAME=N,...] [--data-dir D] [--keep-data] --kubeconfig OUT

Starts a real Kubernetes control plane on this host: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler at version V, built from their Go modules (Go 1.26 needed; the first build of a version takes 5 to 15
minutes and about 2.5 GB, later ones seconds; binaries are cached in .cache/real/), with kwok playing the nodes.
Everything listens on 127.0.0.1. Runs in the foreground; Ctrl-C (SIGINT) or SIGTERM stops every process it started.

Flags:
  --version V        Kubernetes version X.Y.Z (required), e.g. 1.35.4
  --workers N        one worker pool "workers" of N nodes (default 2)
  --pools P          worker pools instead, e.g. general=3,batch=2
  --kubeconfig OUT   where to write the kubeconfig (required); register it with
                     kup cluster add NAME --kubeconfig OUT --provider local
  --data-dir D       folder for etcd, certificates, logs and snapshots (default: a new temporary folder)
  --keep-data        keep the data folder when stopping (its logs)`;

/** What `local start` was asked. */
export interface LocalStartOptions {
  readonly version: string;
  readonly pools: readonly PoolOptions[];
  readonly kubeconfigPath: string;
  readonly dataDir?: string;
  readonly keepData: boolean;
}

/** Parses `local start` arguments. @throws LocalClusterError `KUP-LOCAL-001` on bad input. */
export function parseLocalStart(args: readonly string[]): LocalStartOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        version: { type: 'string' },
        workers: { type: 'string' },
        pools: { type: 'string' },
        kubeconfig: { type: 'string' },
        'data-dir': { type: 'string' },
        'keep-data': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new LocalClusterError('invalidInput', `${(err as Error).message}\n\n${LOCAL_START_USAGE}`);
  }
  const { values } = parsed;
  if (values.version === undefined)
    throw new LocalClusterError('invalidInput', `--version V is required\n\n${LOCAL_START_USAGE}`);
  if (!/^\d+\.\d+\.\d+$/.test(values.version)) {
    throw new LocalClusterError(
      'invalidInput',
      `--version: "${values.version}" is not a Kubernetes release X.Y.Z (e.g. 1.35.4)`,
    );
  }
  if (values.kubeconfig === undefined)
    throw new LocalClusterError('invalidInput', `--kubeconfig OUT is required\n\n${LOCAL_START_USAGE}`);
  if (values.workers !== undefined && values.pools !== undefined) {
    throw new LocalClusterError('invalidInput', '--workers and --pools: give one of them');
  }
  const pools: PoolOptions[] = [];
  if (values.pools !== undefined) {
    for (const item of values.pools.split(',')) {
      const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(\d+)$/.exec(item.trim());
      if (!match?.[1] || match[3] === undefined) {
        throw new LocalClusterError(
          'invalidInput',
          `--pools: "${item}" is not NAME=N (a DNS label and a number of nodes)`,
        );
      }
      if (pools.some((p) => p.name === match[1]))
        throw new LocalClusterError('invalidInput', `--pools: pool "${match[1]}" is named twice`);
      pools.push({ name: match[1], size: Number(match[3]) });
    }
  } else {
    const workers = values.workers ?? '2';
    if (!/^\d+$/.test(workers))
      throw new LocalClusterError('invalidInput', `--workers: "${workers}" is not a number of nodes`);
    pools.push({ name: 'workers', size: Number(workers) });
  }
  return {
    version: values.version,
    pools,
    kubeconfigPath: resolve(values.kubeconfig),
    ...(values['data-dir'] !== undefined ? { dataDir: resolve(values['data-dir']) } : {}),
    keepData: values['keep-data'] ?? false,
  };
}

/** A started local cluster with its control API, and the kubeconfig that names both. */
export interface RunningLocalCluster {
  readonly cluster: LocalCluster;
  readonly controlApi: LocalControlApi;
  /** The kubeconfig document written to `kubeconfigPath`. */
  readonly kubeconfig: string;
  /** Stops the control API and the cluster. */
  stop(): Promise<void>;
}

/** Starts a local cluster and its control API, and writes the kubeconfig. Used by `kup local start` and the tests. */
export async function startLocal(
  options: LocalStartOptions,
  log: (line: string) => void = () => {},
  signal?: AbortSignal,
): Promise<RunningLocalCluster> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'kup-local-')));
  const cluster = await LocalCluster.start({
    version: options.version,
    pools: options.pools,
    dataDir,
    keepDataDir: options.keepData,
    log,
    ...(signal !== undefined ? { signal } : {}),
  });
  let controlApi: LocalControlApi;
  try {
    controlApi = await LocalControlApi.listen(cluster);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const kubeconfig = withControlExtension(await cluster.kubeconfig(), controlApi.url);
  await writeFile(options.kubeconfigPath, kubeconfig, { mode: 0o600 });
  return {
    cluster,
    controlApi,
    kubeconfig,
    async stop() {
      await controlApi.close();
      await cluster.stop();
    },
  };
}

/** Adds the control API's URL to the kubeconfig's cluster entry, as an extension kubectl ignores. */
function withControlExtension(kubeconfig: string, url: string): string {
  const doc = parse(kubeconfig) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const entry of doc.clusters)
    entry.cluster['extensions'] = [{ name: LOCAL_CONTROL_EXTENSION, extension: { server: url } }];
  return stringify(doc);
}

/** Runs `local start` in the foreground; resolves when a signal stopped the cluster. */
export async function runLocalStart(
  args: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const options = parseLocalStart(args);
  const started = Date.now();
  const write = (line: string) => out.write(`kup local: ${line}\n`);
  // Listening from the start: a signal during the build or the start stops what was started, nothing is left behind.
  const interrupted = new AbortController();
  let stopping: ((signal: string) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) stopping(signal);
    else if (!interrupted.signal.aborted) {
      write(`${signal}: stopping what was started`);
      interrupted.abort(new LocalClusterError('startFailed', `interrupted by ${signal} while starting`));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const running = await startLocal(options, write, interrupted.signal);
    const { cluster } = running;
    const nodes = await cluster.nodes();
    write(
      `control plane ${cluster.version} ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${nodes.length} nodes (${options.pools.map((p) => `${p.name}=${p.size}`).join(', ')}), data in ${cluster.dataDir}`,
    );
    write(`serving ${cluster.server}; control API ${running.controlApi.url}`);
    write(`kubeconfig written to ${options.kubeconfigPath}`);
    out.write(
      `  kubectl --kubeconfig ${options.kubeconfigPath} get nodes\n  kup cluster add NAME --kubeconfig ${options.kubeconfigPath} --provider local\n`,
    );
    await new Promise<void>((done) => {
      stopping = (signal: string) => {
        stopping = () => {};
        write(`${signal}: stopping kwok, the control plane and etcd`);
        running.stop().then(done, done);
      };
    });
    write('stopped');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
