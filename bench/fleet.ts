/**
 * Fleet benchmark (issue 17): many simulated clusters of 50 nodes upgraded at once by one `kup serve`, against one
 * such cluster alone, measured as a user of the service sees it. Each phase starts its own sims (in
 * `--sim-processes` host processes, `bench/fleet-sims.ts`, so that their CPU is not kup's) and its own `kup serve`
 * child process (built code, `bin/kup.mjs`, a fresh SQLite data directory); clusters are registered by uploading
 * their kubeconfigs to `POST /api/v1/clusters`, runs are created with `POST /api/v1/runs` (the same options for every
 * run of both phases), and each run's end is observed on the fleet's event stream (`GET /api/v1/events`, SSE), then
 * confirmed with `GET /api/v1/runs/{id}`. Wall time runs from the first run's creation to the last run's end.
 *
 * Prints each phase's wall time and their ratio (goal <= 1.1), kup serve's CPU (from /proc, goal: at most one core
 * on average) and the sims' CPU apart, the CPU each cluster costs (and so the least wall time the machine's cores
 * allow the fleet, whatever kup does), the machine's load average, and the mean step duration per action from the
 * service's `/metrics` (where the time went when the fleet is slower than one cluster).
 *
 *   npm run bench:fleet -- [--clusters 100] [--nodes 50] [--sim-processes 4] [--max-runs N] [--keep]
 *
 * `--max-runs` is passed to `kup serve` when given; without it the service runs with its default bound.
 * `--cpu-prof DIR` writes a V8 CPU profile of each phase's `kup serve` to DIR (open it in Chrome's DevTools).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { catalogOverview, defaultCatalog } from '../src/versions/index.ts';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '100' },
    nodes: { type: 'string', default: '50' },
    'sim-processes': { type: 'string', default: '4' },
    'max-runs': { type: 'string' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const clusters = Number(values.clusters);
const nodes = Number(values.nodes);
const hosts = Math.max(1, Math.min(clusters, Number(values['sim-processes'])));
const supported = catalogOverview(defaultCatalog(), new Date()).filter(
  (m) => m.classification === 'supported' && m.latest !== undefined,
);
const from = supported.at(-1)?.latest;
const to = supported.at(-2)?.latest;
if (from === undefined || to === undefined) throw new Error('the catalog needs two supported minors');
const ROOT = join(import.meta.dirname, '..');
const TICKS = 100; // /proc's clock ticks a second on Linux
/** A run that has not ended after this long fails the benchmark rather than hold it. */
const RUN_LIMIT_MS = 30 * 60_000;

/** CPU seconds a process used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Starts a node child in the repo and resolves once `ready` matches its stdout so far. */
function startChild(
  args: readonly string[],
  ready: (out: string) => boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready(out)) resolve({ child, out: () => out });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code ?? '?'} before it was ready: ${out}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Starts `count` sim clusters in `processes` hosts; resolves with the hosts and each cluster's kubeconfig file. */
async function startSims(dir: string, count: number, processes: number, prefix: string) {
  const per = Math.ceil(count / processes);
  const started = await Promise.all(
    Array.from({ length: processes }, (_, i) => Math.min(per, count - i * per))
      .filter((n) => n > 0)
      .map((n, i) =>
        startChild(
          [
            '--import',
            'tsx',
            'bench/fleet-sims.ts',
            ...['--clusters', String(n), '--nodes', String(nodes), '--version', from ?? ''],
            ...['--prefix', `${prefix}${i}`, '--dir', dir],
          ],
          (out) => /^ready$/m.test(out),
        ),
      ),
  );
  const kubeconfigs = new Map<string, string>();
  for (const s of started)
    for (const line of s.out().split('\n'))
      if (line.startsWith('{')) {
        const c = JSON.parse(line) as { name: string; kubeconfigPath: string };
        kubeconfigs.set(c.name, c.kubeconfigPath);
      }
  return { children: started.map((s) => s.child), kubeconfigs };
}

/** A client of one `kup serve`. */
class Api {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let reply: { status: number; text: string };
    try {
      reply = await this.#send(method, path, body);
    } catch (err) {
      // A GET on a kept-alive socket the server closed meanwhile (a run's end comes minutes after the last request):
      // asked again, on a new socket.
      if (method !== 'GET' || (err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
      reply = await this.#send(method, path, body);
    }
    const { status, text } = reply;
    if (status >= 300) throw new Error(`${method} ${path}: ${status} ${text.slice(0, 400)}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  #send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${this.base}${path}`,
        {
          method,
          agent: this.#agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body !== undefined ? JSON.stringify(body) : undefined);
    });
  }

  /**
   * Follows the fleet's event stream from `after`; calls `onRunEvent` with each run-level event's run id. Resolves
   * once the stream is open; the returned function closes it.
   */
  follow(after: number, onRunEvent: (runId: string) => void): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.base}/api/v1/events?after=${after}`,
        { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`GET /api/v1/events: ${res.statusCode ?? '?'}`));
          let buffered = '';
          res.on('data', (d: Buffer) => {
            buffered += d.toString();
            const frames = buffered.split('\n\n');
            buffered = frames.pop() ?? '';
            for (const frame of frames) {
              const data = /^data: (.*)$/m.exec(frame)?.[1];
              if (data === undefined) continue;
              const event = JSON.parse(data) as { runId: string; step: string };
              if (event.step === 'run') onRunEvent(event.runId);
            }
          });
          res.on('error', () => undefined);
          resolve(() => req.destroy());
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Mean seconds per action of `kup_step_duration_seconds` in a Prometheus text page. */
function stepMeans(metrics: string): Map<string, { count: number; mean: number }> {
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const m of metrics.matchAll(/^kup_step_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const action = /action="([^"]+)"/.exec(m[2] ?? '')?.[1] ?? '?';
    (m[1] === 'sum' ? sums : counts).set(action, ((m[1] === 'sum' ? sums : counts).get(action) ?? 0) + Number(m[3]));
  }
  return new Map([...counts].map(([a, c]) => [a, { count: c, mean: c > 0 ? (sums.get(a) ?? 0) / c : 0 }]));
}

interface Phase {
  readonly wallMs: number;
  /** CPU seconds used over the phase by kup serve and by the sims together. */
  readonly kupCpuS: number;
  readonly simCpuS: number;
  readonly runMs: readonly number[];
  readonly kupCores: number;
  readonly simCores: number;
  readonly load: readonly number[];
  readonly steps: Map<string, { count: number; mean: number }>;
  /** kup serve's event-loop delay over the phase, seconds: p50, p99, max (prom-client's default metrics). */
  readonly loopDelay: readonly number[];
  readonly failed: readonly string[];
}

async function phase(label: string, count: number, processes: number): Promise<Phase> {
  const dir = mkdtempSync(join(tmpdir(), `kup-bench-fleet-${label}-`));
  process.stdout.write(
    `${label}: starting ${count} cluster(s) of ${nodes} workers at ${from} in ${processes} sim process(es)...\n`,
  );
  const sims = await startSims(dir, count, processes, label);
  const tokenFile = join(dir, 'admin-token');
  let serve: ChildProcess | undefined;
  let api: Api | undefined;
  let unfollow = () => undefined as void;
  try {
    const started = await startChild(
      [
        ...(values['cpu-prof'] === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`, `--cpu-prof-name=${label}.cpuprofile`]),
        'bin/kup.mjs',
        'serve',
        ...['--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--admin-token-file', tokenFile],
        // Warnings are expected by the thousand here (a PDB sample refused while a sim's API server restarts).
        ...['--log-level', 'error'],
        ...(values['max-runs'] !== undefined ? ['--max-runs', values['max-runs']] : []),
      ],
      (out) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(out),
    );
    serve = started.child;
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(started.out())?.[1] ?? '';
    api = new Api(base, readFileSync(tokenFile, 'utf8').trim());
    const client = api;
    for (const [name, kubeconfigPath] of sims.kubeconfigs) {
      await client.call('POST', '/api/v1/clusters', {
        name,
        provider: 'sim',
        kubeconfig: readFileSync(kubeconfigPath, 'utf8'),
      });
    }
    // The data directory is new: every event of this store is this phase's, so the stream is followed from the start
    // and no run's end can pass unseen.
    const created = new Map<string, number>();
    const ended = new Map<string, { at: number; phase: string }>();
    let allEnded: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allEnded = resolve));
    const check = (runId: string) => {
      if (!created.has(runId) || ended.has(runId)) return;
      const seenAt = Date.now();
      client.call<{ phase: string; active: boolean }>('GET', `/api/v1/runs/${runId}`).then(
        (run) => {
          if (run.active || ended.has(runId)) return;
          ended.set(runId, { at: seenAt, phase: run.phase });
          if (ended.size === count) allEnded();
        },
        (err: unknown) => process.stderr.write(`GET run ${runId}: ${String(err)}\n`),
      );
    };
    unfollow = await client.follow(0, check);

    process.stdout.write(`${label}: upgrading ${count} cluster(s) to ${to} at once through ${base}...\n`);
    const serverPid = serve.pid ?? 0;
    const simPids = sims.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
    const kupCpu0 = cpuSeconds(serverPid);
    const simCpu0 = simPids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const t0 = Date.now();
    await Promise.all(
      [...sims.kubeconfigs.keys()].map(async (cluster) => {
        const run = await client.call<{ id: string }>('POST', '/api/v1/runs', { cluster, to });
        created.set(run.id, Date.now());
        // An end that streamed before the reply named the run is caught here.
        check(run.id);
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, RUN_LIMIT_MS))),
    ]);
    clearTimeout(timer);
    const lastEnd = Math.max(t0, ...[...ended.values()].map((e) => e.at));
    const wallMs = lastEnd - t0;
    const kupCpu = cpuSeconds(serverPid) - kupCpu0;
    const simCpu = simPids.reduce((s, pid) => s + cpuSeconds(pid), 0) - simCpu0;
    const metrics = await new Promise<string>((resolve, reject) => {
      request(`${base}/metrics`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    return {
      wallMs,
      kupCpuS: kupCpu,
      simCpuS: simCpu,
      runMs: [...ended].map(([id, e]) => e.at - (created.get(id) ?? t0)),
      kupCores: kupCpu / (wallMs / 1000),
      simCores: simCpu / (wallMs / 1000),
      load: loadavg(),
      steps: stepMeans(metrics),
      loopDelay: ['p50', 'p99', 'max'].map((q) =>
        Number(new RegExp(`^kup_process_nodejs_eventloop_lag_${q}_seconds (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN),
      ),
      failed: [
        ...[...ended].filter(([, e]) => e.phase !== 'succeeded').map(([id, e]) => `${id}: ${e.phase}`),
        ...[...created.keys()].filter((id) => !ended.has(id)).map((id) => `${id}: not ended`),
      ],
    };
  } finally {
    unfollow();
    api?.close();
    if (serve) await stopChild(serve);
    await Promise.all(sims.children.map(stopChild));
    if (values.keep) process.stdout.write(`${label}: kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const cpus = availableParallelism();
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const alone = await phase('alone', 1, 1);
const fleet = await phase('fleet', clusters, hosts);
const sorted = [...fleet.runMs].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const lag = (p: Phase) =>
  `event-loop delay p50 ${(p.loopDelay[0] ?? 0) * 1000 | 0} ms, p99 ${((p.loopDelay[1] ?? 0) * 1000) | 0} ms, max ${((p.loopDelay[2] ?? 0) * 1000) | 0} ms`;
const steps = [...fleet.steps].map(
  ([action, f]) =>
    `  ${action.padEnd(24)} ${f.count.toString().padStart(6)} steps, mean ${f.mean.toFixed(2)} s` +
    ` (alone ${(alone.steps.get(action)?.mean ?? 0).toFixed(2)} s)\n`,
);
process.stdout.write(
  `\none cluster alone:      ${s(alone.wallMs)} wall, kup serve ${alone.kupCores.toFixed(2)} cores, sims ${alone.simCores.toFixed(2)} cores; kup serve ${lag(alone)}\n` +
    `${clusters} clusters at once: ${s(fleet.wallMs)} wall (runs: median ${s(pct(50))}, p90 ${s(pct(90))}, max ${s(pct(100))}), ` +
    `kup serve ${fleet.kupCores.toFixed(2)} cores on average, sims ${fleet.simCores.toFixed(2)} cores; kup serve ${lag(fleet)}\n` +
    `ratio: ${(fleet.wallMs / alone.wallMs).toFixed(3)}x the single cluster (goal <= 1.1); kup CPU goal <= 1 core\n` +
    `CPU per cluster: kup serve ${(fleet.kupCpuS / clusters).toFixed(2)} s (alone ${alone.kupCpuS.toFixed(2)} s), ` +
    `sims ${(fleet.simCpuS / clusters).toFixed(2)} s (alone ${alone.simCpuS.toFixed(2)} s); on ${cpus} cores the fleet's ` +
    `CPU alone takes at least ${s(((fleet.kupCpuS + fleet.simCpuS) / cpus) * 1000)}, ` +
    `${((fleet.kupCpuS + fleet.simCpuS) / cpus / (alone.wallMs / 1000)).toFixed(2)}x the single cluster\n` +
    `load average at the fleet's end: ${fleet.load.map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)\n` +
    `step durations in the fleet (kup_step_duration_seconds):\n${steps.join('')}` +
    (alone.failed.length + fleet.failed.length > 0
      ? `NOT SUCCEEDED: ${[...alone.failed, ...fleet.failed].join(', ')}\n`
      : ''),
);
process.exitCode = alone.failed.length + fleet.failed.length > 0 ? 1 : 0;
