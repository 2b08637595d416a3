/**
 * Precheck at scale: starts kube-sim with a generated cluster (default 5,000 nodes / 50,000 pods) in its own process,
 * times one `kubectl get pods -A -o json` against it, then runs `kup precheck` in a child process of its own (so its
 * peak RSS is measured alone, from /proc/<pid>/status VmHWM) and prints both side by side.
 * Goals (issue 3): precheck wall time <= 2x kubectl's, peak RSS <= 1 GiB.
 *
 *   node --import tsx bench/precheck.ts [--nodes 5000] [--pods 50000] [--runs 1]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { runPrecheckCommand } from '../src/cli/commands/precheck.ts';
import { defaultCatalog, knownMinors, latestPatch, releaseClassification } from '../src/versions/index.ts';
import { kubectlFor } from '../test/helpers/kubectl.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    pods: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '1' },
    child: { type: 'boolean', default: false },
    kubeconfig: { type: 'string' },
    to: { type: 'string' },
  },
});

/** Peak and current RSS of a process, in MiB. */
function memory(pid: number | 'self'): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

if (values.child) {
  // The measured process: kup precheck, its report discarded; its own peak RSS reported last, on stderr.
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done();
    },
  });
  const started = Date.now();
  const code = await runPrecheckCommand(
    ['--kubeconfig', values.kubeconfig ?? '', '--to', values.to ?? '', '-o', 'json'],
    { stdout: sink, stderr: process.stderr },
  );
  process.stderr.write(
    `kup-bench ${JSON.stringify({ code, ms: Date.now() - started, reportBytes: bytes, peakMiB: memory('self').peakMiB })}\n`,
  );
  process.exit(0);
}

/** The newest minor the catalog supports today, and the latest patch of the minor before it. */
function versions(): { from: string; to: string } {
  const catalog = defaultCatalog();
  const minors = [...knownMinors(catalog)].reverse();
  for (let i = 0; i < minors.length - 1; i++) {
    const to = latestPatch(catalog, minors[i] as (typeof minors)[number]);
    const from = latestPatch(catalog, minors[i + 1] as (typeof minors)[number]);
    if (to && from && releaseClassification(catalog, to.version, new Date()) === 'supported')
      return { from: from.version, to: to.version };
  }
  throw new Error('no supported minor in the catalog today');
}

const nodes = Number(values.nodes);
const pods = Number(values.pods);
const runs = Math.max(1, Number(values.runs));
const { from, to } = versions();
const dir = mkdtempSync(join(tmpdir(), 'kup-bench-precheck-'));
const kubeconfigPath = join(dir, 'kubeconfig');

const started = Date.now();
const sim = spawn(
  process.execPath,
  [
    'bin/kube-sim.mjs',
    'start',
    '--nodes',
    String(nodes),
    '--pods',
    String(pods),
    '--version',
    from,
    '--kubeconfig',
    kubeconfigPath,
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const loadMs = await new Promise<number>((resolve, reject) => {
  let out = '';
  sim.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('serving https://')) resolve(Date.now() - started);
  });
  sim.on('exit', (code) => reject(new Error(`kube-sim exited ${code}: ${out}`)));
});

interface ChildResult {
  wallMs: number;
  code: number;
  ms: number;
  reportBytes: number;
  peakMiB: number;
  polledPeakMiB: number;
}

/** Runs the precheck in a child process; its peak RSS comes from the child itself and from polling /proc. */
function precheckInChild(): Promise<ChildResult> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/precheck.ts', '--child', '--kubeconfig', kubeconfigPath, '--to', to],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let polledPeakMiB = 0;
  const poll = setInterval(() => {
    try {
      polledPeakMiB = Math.max(polledPeakMiB, memory(child.pid as number).peakMiB);
    } catch {
      // the child is gone
    }
  }, 20);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', () => {
      clearInterval(poll);
      const line = err.split('\n').find((l) => l.startsWith('kup-bench '));
      if (!line) {
        reject(new Error(`kup precheck child failed: ${err}`));
        return;
      }
      const r = JSON.parse(line.slice('kup-bench '.length)) as Omit<ChildResult, 'wallMs' | 'polledPeakMiB'>;
      resolve({ ...r, wallMs: Date.now() - t0, polledPeakMiB });
    });
  });
}

try {
  const kubectl = kubectlFor(readFileSync(kubeconfigPath, 'utf8'));
  await kubectl(['get', 'nodes', '--request-timeout=60s']); // warm the discovery cache, as a user's shell would have
  const kubectlTimes: number[] = [];
  const precheck: ChildResult[] = [];
  let kubectlPods = 0;
  for (let i = 0; i < runs; i++) {
    const t = Date.now();
    const r = await kubectl(['get', 'pods', '-A', '-o', 'json'], { timeoutMs: 600_000 });
    kubectlTimes.push(Date.now() - t);
    if (r.code !== 0) throw new Error(`kubectl failed: ${r.stderr}`);
    kubectlPods = (JSON.parse(r.stdout) as { items: unknown[] }).items.length;
    precheck.push(await precheckInChild());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const kubectlMs = median(kubectlTimes);
  const wallMs = median(precheck.map((p) => p.wallMs));
  const peakMiB = Math.max(...precheck.map((p) => Math.max(p.peakMiB, p.polledPeakMiB)));
  const last = precheck[precheck.length - 1] as ChildResult;
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `kup precheck at scale: ${nodes} worker nodes, ${pods} pods requested, ${from} -> ${to}, ${runs} run(s), medians`,
  );
  console.log(`  kube-sim load                              ${fmt(loadMs)}`);
  console.log(`  kubectl get pods -A -o json                ${fmt(kubectlMs)}   (${kubectlPods} pods)`);
  console.log(
    `  kup precheck (child process, wall)         ${fmt(wallMs)}   ${(wallMs / kubectlMs).toFixed(2)}x kubectl   goal <= 2x   ${wallMs <= 2 * kubectlMs ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `    of which the checks (read + rules)       ${fmt(median(precheck.map((p) => p.ms)))}   exit code ${last.code}, JSON report ${(last.reportBytes / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `  kup precheck peak RSS (VmHWM)              ${peakMiB.toFixed(0)} MiB   goal <= 1024 MiB   ${peakMiB <= 1024 ? 'OK' : 'MISSED'}`,
  );
} finally {
  sim.kill('SIGTERM');
}
