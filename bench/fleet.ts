/**
 * Fleet benchmark (issue 17): many simulated clusters of 50 nodes upgraded at once by one kup process, against one
 * such cluster alone. kup's engine runs in this process as `kup serve` runs it (an executor per run, each with its
 * cluster session, the default 250 ms poll and 15 s lease, one SQLite store); the clusters run in `--sim-processes`
 * host processes (`bench/fleet-sims.ts`), so their CPU is not kup's. Prints each phase's wall time, their ratio (goal
 * <= 1.1), and the CPU kup and the sims used (goal for kup: at most one core on average).
 *
 *   npm run bench:fleet -- [--clusters 100] [--nodes 50] [--sim-processes 4] [--keep]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock/clock.ts';
import { ClusterSession } from '../src/engine/cluster-session.ts';
import { executeRun } from '../src/engine/executor.ts';
import { actionSettings, createRun, engineContext, executorId, openCluster } from '../src/engine/runs.ts';
import type { KupStore } from '../src/persistence/store.ts';
import { openSqliteStore } from '../src/persistence/store.ts';
import { builtInProviders } from '../src/providers/registry.ts';
import { catalogOverview, defaultCatalog } from '../src/versions/index.ts';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '100' },
    nodes: { type: 'string', default: '50' },
    'sim-processes': { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
  },
});
const clusters = Number(values.clusters);
const nodes = Number(values.nodes);
const hosts = Math.max(1, Math.min(clusters, Number(values['sim-processes'])));
const catalog = defaultCatalog();
const supported = catalogOverview(catalog, new Date()).filter(
  (m) => m.classification === 'supported' && m.latest !== undefined,
);
const from = supported.at(-1)?.latest;
const to = supported.at(-2)?.latest;
if (from === undefined || to === undefined) throw new Error('the catalog needs two supported minors');
const providers = builtInProviders();
const TICKS = 100; // /proc's clock ticks a second on Linux

/** CPU seconds a process used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

interface Hosted {
  readonly children: readonly ChildProcess[];
  readonly kubeconfigs: ReadonlyMap<string, string>;
}

async function startHosts(dir: string, count: number, processes: number, prefix: string): Promise<Hosted> {
  const kubeconfigs = new Map<string, string>();
  const children: ChildProcess[] = [];
  const per = Math.ceil(count / processes);
  await Promise.all(
    Array.from({ length: processes }, (_, i) => {
      const n = Math.min(per, count - i * per);
      if (n <= 0) return Promise.resolve();
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'fleet-sims.ts'),
          '--clusters',
          String(n),
          '--nodes',
          String(nodes),
          '--version',
          from ?? '',
          '--prefix',
          `${prefix}${i}`,
          '--dir',
          dir,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      return new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const lines = out.split('\n');
          out = lines.pop() ?? '';
          for (const line of lines) {
            if (line === 'ready') return resolve();
            const c = JSON.parse(line) as { name: string; kubeconfigPath: string };
            kubeconfigs.set(c.name, c.kubeconfigPath);
          }
        });
        child.on('exit', (code) => reject(new Error(`a sim host exited ${code ?? '?'} before it was ready`)));
      });
    }),
  );
  return { children, kubeconfigs };
}

async function stopHosts(hosted: Hosted): Promise<void> {
  await Promise.all(
    hosted.children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** One cluster's upgrade, created and executed as `kup serve` drives a run. */
async function upgrade(store: KupStore, name: string): Promise<{ ms: number; phase: string }> {
  const started = Date.now();
  const signal = AbortSignal.timeout(30 * 60_000);
  const cluster = await openCluster(store, name, { providers, clock: systemClock });
  const request = { to };
  const created = await createRun(store, cluster, request, catalog, systemClock, signal);
  const session = new ClusterSession({ cluster: name, conn: cluster.conn, clock: systemClock });
  try {
    const state = await executeRun({
      store,
      runId: created.runId,
      owner: executorId(),
      signal,
      ctx: engineContext(cluster, catalog, session, actionSettings(request, {}, created.plan)),
    });
    return { ms: Date.now() - started, phase: state.status.phase };
  } finally {
    await session.close();
  }
}

interface Phase {
  readonly wallMs: number;
  readonly runMs: readonly number[];
  readonly kupCores: number;
  readonly simCores: number;
  /** kup's event-loop delay, ms: p50, p99, max. */
  readonly loopDelayMs: readonly [number, number, number];
  readonly failed: readonly string[];
}

async function phase(label: string, count: number, processes: number): Promise<Phase> {
  const dir = mkdtempSync(join(tmpdir(), `kup-bench-fleet-${label}-`));
  process.stdout.write(
    `${label}: starting ${count} cluster(s) of ${nodes} workers at ${from} in ${processes} sim process(es)...\n`,
  );
  const hosted = await startHosts(dir, count, processes, label);
  const store = openSqliteStore({ dataDir: join(dir, 'data') });
  try {
    for (const [name, kubeconfigPath] of hosted.kubeconfigs) {
      await store.clusters.add({ name, kubeconfigPath, provider: 'sim', providerSettings: {}, addedAt: Date.now() });
    }
    process.stdout.write(`${label}: upgrading ${count} cluster(s) to ${to} at once...\n`);
    const simPids = hosted.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
    const simCpu0 = simPids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const results = await Promise.all(
      [...hosted.kubeconfigs.keys()].map((name) => upgrade(store, name).then((r) => ({ name, ...r }))),
    );
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    loop.disable();
    const simCpu = simPids.reduce((s, pid) => s + cpuSeconds(pid), 0) - simCpu0;
    return {
      wallMs,
      runMs: results.map((r) => r.ms),
      kupCores: (cpu.user + cpu.system) / 1e6 / (wallMs / 1000),
      simCores: simCpu / (wallMs / 1000),
      loopDelayMs: [loop.percentile(50) / 1e6, loop.percentile(99) / 1e6, loop.max / 1e6],
      failed: results.filter((r) => r.phase !== 'succeeded').map((r) => `${r.name}: ${r.phase}`),
    };
  } finally {
    await store.close();
    await stopHosts(hosted);
    if (values.keep) process.stdout.write(`${label}: kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const lag = (p: Phase) =>
  `event-loop delay p50 ${p.loopDelayMs[0].toFixed(0)} ms, p99 ${p.loopDelayMs[1].toFixed(0)} ms, max ${p.loopDelayMs[2].toFixed(0)} ms`;
const alone = await phase('alone', 1, 1);
const fleet = await phase('fleet', clusters, hosts);
const sorted = [...fleet.runMs].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
process.stdout.write(
  `\none cluster alone:      ${s(alone.wallMs)} wall, kup ${alone.kupCores.toFixed(2)} cores, sims ${alone.simCores.toFixed(2)} cores; kup ${lag(alone)}\n` +
    `${clusters} clusters at once: ${s(fleet.wallMs)} wall (runs: median ${s(pct(50))}, p90 ${s(pct(90))}, max ${s(pct(100))}), ` +
    `kup ${fleet.kupCores.toFixed(2)} cores on average, sims ${fleet.simCores.toFixed(2)} cores; kup ${lag(fleet)}\n` +
    `ratio: ${(fleet.wallMs / alone.wallMs).toFixed(3)}x the single cluster (goal <= 1.1); kup CPU goal <= 1 core\n` +
    (alone.failed.length + fleet.failed.length > 0
      ? `NOT SUCCEEDED: ${[...alone.failed, ...fleet.failed].join(', ')}\n`
      : ''),
);
process.exitCode = alone.failed.length + fleet.failed.length > 0 ? 1 : 0;
