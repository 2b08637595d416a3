/**
 * CLI start-up benchmark (issue 14): kup commands as whole processes (`node bin/kup.mjs ...`, as a user runs them)
 * beside `node -e 0` (the floor: Node itself) and `kubectl version --client` (a native tool), several rounds each,
 * interleaved so that the machine's noise falls on every command alike. Prints the median wall time of each and its
 * ratio to `node -e 0`.
 *
 * For commands that talk to a cluster it also reports the time from the process's start (its spawn) to the first
 * request the cluster receives: kube-sim runs in its own process behind a TCP proxy in this one, and the kubeconfig the
 * commands get points at the proxy; the first connection it accepts is the first request (a client connects when it
 * has a request to send; the TLS handshake and the request follow within a few ms, not counted).
 *
 * Goals: a command that does not talk to a cluster finishes in at most 4x `node -e 0`; one that does reaches its first
 * request within 0.3 s of its start.
 *
 *   node --import tsx bench/cli-start.ts [--rounds 7] [--kup DIR]
 *
 * Runs the build in dist/ (bin/ rebuilds it first when stale; this bench builds once before measuring).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock/clock.ts';
import { createRun, openCluster } from '../src/engine/runs.ts';
import { openSqliteStore } from '../src/persistence/store.ts';
import { catalogOverview, defaultCatalog } from '../src/versions/index.ts';
import { builtInProviders } from '../src/providers/registry.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, kup: { type: 'string', default: '.' } },
});
const ROUNDS = Number(values.rounds);
/** The kup measured: this checkout's, or another's (`--kup DIR`, e.g. an older commit's, for a before and after). */
const KUP = join(values.kup, 'bin', 'kup.mjs');
/** A worker of the generated cluster (`--nodes 3`), drained with client-side dry run so every round finds it alike. */
const NODE = 'general-1-0';
const DRAIN_FLAGS = ['--ignore-daemonsets', '--delete-emptydir-data', '--force'];
const dir = mkdtempSync(join(tmpdir(), 'kup-bench-cli-start-'));

/** One command measured: how to run it, and whether it talks to the cluster (then its first request is timed). */
interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Record<string, string>;
  readonly talks: boolean;
  readonly wallMs: number[];
  readonly cpuMs: number[];
  readonly firstRequestMs: number[];
  failures: number;
}

/** A TCP proxy in front of kube-sim that notes when it accepts its first connection after {@link arm}. */
interface Proxy {
  readonly port: number;
  arm(): void;
  firstAt(): number | undefined;
  close(): Promise<void>;
}

function startProxy(upstreamPort: number): Promise<Proxy> {
  let first: number | undefined;
  const server: Server = createServer((socket) => {
    first ??= performance.now();
    const upstream = tcpConnect(upstreamPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        arm: () => (first = undefined),
        firstAt: () => first,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

/** kube-sim in its own process (as a real API server would be), at `version`, with `--nodes` workers. */
async function startSim(version: string): Promise<{ kubeconfigPath: string; child: ChildProcess; port: number }> {
  const kubeconfigPath = join(dir, 'sim.kubeconfig');
  const child = spawn(
    process.execPath,
    ['bin/kube-sim.mjs', 'start', '--nodes', '3', '--version', version, '--kubeconfig', kubeconfigPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving (https:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`kube-sim exited ${code}: ${out}`)));
  });
  return { kubeconfigPath, child, port: Number(new URL(url).port) };
}

/** GNU time, when installed, reports each process's CPU time: a figure the machine's load inflates far less. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuPath = join(dir, 'cpu.txt');

/** Runs one process to its end; resolves to its wall time, CPU time (user + system) and exit code. */
function timeProcess(c: Case): Promise<{ ms: number; cpuMs: number | undefined; code: number; started: number }> {
  return new Promise((resolve) => {
    const argv = GNU_TIME ? [GNU_TIME, '-f', '%U %S', '-o', cpuPath, ...c.argv] : c.argv;
    const [command = '', ...args] = argv;
    const started = performance.now();
    const child = spawn(command, args, { stdio: 'ignore', env: { ...process.env, ...c.env } });
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      // GNU time's last line (a failing command adds a line before it): "user system" in seconds.
      const last = GNU_TIME ? readFileSync(cpuPath, 'utf8').trim().split('\n').pop() : undefined;
      const [user, sys] = (last ?? '').split(' ').map(Number);
      const cpuMs = last && user !== undefined && sys !== undefined ? (user + sys) * 1000 : undefined;
      resolve({ ms, cpuMs, code: code ?? 1, started });
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

// ---- set-up (nothing measured) ---------------------------------------------------------------------------------------

const build = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);

// The cluster runs a supported minor one behind the newest, as `kup demo` does, so that a run has somewhere to go.
const supported = catalogOverview(defaultCatalog(), new Date()).filter(
  (m) => m.classification === 'supported' && m.latest,
);
const from = (supported[1] ?? supported[0])?.releases.find((r) => r.classification !== 'preview')?.version;
const to = supported[0]?.latest;
if (!from || !to) throw new Error('the shipped catalog has no supported minor');

const sim = await startSim(from);
const proxy = await startProxy(sim.port);
const proxiedKubeconfig = join(dir, 'proxied.kubeconfig');
writeFileSync(
  proxiedKubeconfig,
  readFileSync(sim.kubeconfigPath, 'utf8').replace(`127.0.0.1:${sim.port}`, `127.0.0.1:${proxy.port}`),
);

const emptyDataDir = mkdtempSync(join(dir, 'empty-'));
const runDataDir = mkdtempSync(join(dir, 'run-'));
// A run to show: the cluster registered through kup's command, the run created through the engine and left pending
// (no executor: `kup status` reads it from the store, and the cluster stays as it is for the other commands).
const add = spawnSync(
  process.execPath,
  [KUP, 'cluster', 'add', 'bench', '--kubeconfig', sim.kubeconfigPath, '--provider', 'sim', '--data-dir', runDataDir],
  { encoding: 'utf8' },
);
if (add.status !== 0) throw new Error(`kup cluster add failed: ${add.stderr}`);
const store = openSqliteStore({ dataDir: runDataDir });
let runId: string;
try {
  const cluster = await openCluster(store, 'bench', { providers: builtInProviders(), clock: systemClock });
  const state = await createRun(store, cluster, { to }, defaultCatalog(), systemClock, new AbortController().signal);
  runId = state.runId;
} finally {
  await store.close();
}
// kubectl reads its discovery cache as a user's shell would have it: warm.
spawnSync('kubectl', ['--kubeconfig', proxiedKubeconfig, 'get', 'nodes'], { encoding: 'utf8' });

const kup = (...args: string[]): string[] => [process.execPath, KUP, ...args];
const cases: Case[] = [
  { name: 'node -e 0', argv: [process.execPath, '-e', '0'], talks: false },
  { name: 'kubectl version --client', argv: ['kubectl', 'version', '--client'], talks: false },
  { name: 'kup --help', argv: kup('--help'), talks: false },
  { name: 'kup versions', argv: kup('versions', '--data-dir', emptyDataDir), talks: false },
  { name: 'kup cluster list (none)', argv: kup('cluster', 'list', '--data-dir', emptyDataDir), talks: false },
  { name: 'kup status RUN', argv: kup('status', runId, '--data-dir', runDataDir), talks: false },
  { name: 'kubectl version', argv: ['kubectl', '--kubeconfig', proxiedKubeconfig, 'version'], talks: true },
  {
    name: 'kup versions --kubeconfig',
    argv: kup('versions', '--kubeconfig', proxiedKubeconfig, '--data-dir', emptyDataDir),
    talks: true,
  },
  {
    name: 'kubectl drain --dry-run=client',
    argv: ['kubectl', '--kubeconfig', proxiedKubeconfig, 'drain', NODE, ...DRAIN_FLAGS, '--dry-run=client'],
    talks: true,
  },
  {
    name: 'kup drain --dry-run client',
    argv: kup('drain', NODE, '--kubeconfig', proxiedKubeconfig, ...DRAIN_FLAGS, '--dry-run', 'client'),
    talks: true,
  },
].map((c) => ({ ...c, wallMs: [], cpuMs: [], firstRequestMs: [], failures: 0 }));

// ---- measured --------------------------------------------------------------------------------------------------------

try {
  // One warm-up round (page cache, kubectl's cache), then the measured rounds, every command once per round.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const c of cases) {
      proxy.arm();
      const r = await timeProcess(c);
      if (round === 0) continue;
      if (r.code !== 0) c.failures++;
      c.wallMs.push(r.ms);
      if (r.cpuMs !== undefined) c.cpuMs.push(r.cpuMs);
      const first = proxy.firstAt();
      if (c.talks && first !== undefined) c.firstRequestMs.push(first - r.started);
    }
  }
} finally {
  await proxy.close();
  await new Promise((resolve) => {
    sim.child.once('exit', resolve);
    sim.child.kill('SIGTERM');
  });
  rmSync(dir, { recursive: true, force: true });
}

const floor = median(cases[0]?.wallMs ?? []);
const cpuFloor = median(cases[0]?.cpuMs ?? []);
console.log(
  `CLI start-up: ${ROUNDS} rounds (after one warm-up), medians; node ${process.version}; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `  ${'command'.padEnd(32)} ${'wall'.padStart(8)} ${'/ node -e 0'.padStart(12)} ${'CPU'.padStart(8)} ${'/ node'.padStart(7)} ${'first request'.padStart(14)}  goal (wall)`,
);
for (const c of cases) {
  const wall = median(c.wallMs);
  const ratio = wall / floor;
  const first = median(c.firstRequestMs);
  const cpu = median(c.cpuMs);
  const cpuText = Number.isNaN(cpu) ? '-' : `${cpu.toFixed(0)} ms`;
  const cpuRatio = Number.isNaN(cpu) ? '-' : `${(cpu / cpuFloor).toFixed(2)}x`;
  const isKup = c.name.startsWith('kup');
  const goal = !isKup
    ? ''
    : c.talks
      ? `first request <= 300 ms: ${first <= 300 ? 'OK' : 'MISSED'}`
      : `<= 4x node: ${ratio <= 4 ? 'OK' : 'MISSED'}`;
  console.log(
    `  ${c.name.padEnd(32)} ${`${wall.toFixed(0)} ms`.padStart(8)} ${`${ratio.toFixed(2)}x`.padStart(12)} ${cpuText.padStart(8)} ${cpuRatio.padStart(7)} ${(c.talks ? `${first.toFixed(0)} ms` : '').padStart(14)}  ${goal}${c.failures ? `  (${c.failures} runs FAILED)` : ''}`,
  );
}
