/**
 * Drain benchmark (issue 3): the real `kubectl drain` against kup's drain on the same kube-sim node holding 110 pods
 * (ReplicaSet pods, the DaemonSet pods every node runs, CoreDNS), same flags, on two identical fresh clusters (kube-sim
 * runs in its own process, so neither tool shares an event loop with the simulator). Measures wall time and the API
 * requests each made (kube-sim's /metrics: apiserver_request_total for resource requests, kubesim_http_requests_total
 * for every HTTP request, discovery included). Then the same with every Deployment under a PDB that allows one
 * disruption at a time. Goals: kup <= 0.2x kubectl's wall time, <= 0.5x its requests, in process and as a process.
 *
 *   node --import tsx bench/drain.ts [--pods 110] [--skip-pdb]
 *
 * `kup drain` is also timed as a whole process (`node bin/kup.mjs drain ...`, Node's start-up and the build's loading
 * included, as a user runs it) on a third cluster, beside kubectl, which is a whole process too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { connect } from '../src/kube-api/connect.ts';
import { drainNode } from '../src/drain/drain.ts';
import { kubectlFor } from '../test/helpers/kubectl.ts';
import { api } from '../test/helpers/sim.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '110' },
    'skip-pdb': { type: 'boolean', default: false },
  },
});
const PODS_ON_NODE = Number(values.pods);
const TARGET = 'workers-0';
const FLAGS = ['--ignore-daemonsets', '--delete-emptydir-data'];
const RUN_TIMEOUT_S = 300;
const dir = mkdtempSync(join(tmpdir(), 'kup-bench-drain-'));

/** The system pods kube-sim puts on a worker besides the workloads: calico-node and kube-proxy (DaemonSets), CoreDNS. */
const SYSTEM_PODS_ON_TARGET = 4;

function scenario(withPdb: boolean): string {
  const replicas = PODS_ON_NODE - SYSTEM_PODS_ON_TARGET;
  const deployments = 10;
  const lines: string[] = [];
  for (let i = 0; i < deployments; i++) {
    const n = Math.floor(replicas / deployments) + (i < replicas % deployments ? 1 : 0);
    lines.push(
      `  - { kind: Deployment, name: app-${i}, replicas: ${n}${withPdb ? ', pdb: { maxUnavailable: 1 }' : ''}${i % 3 === 0 ? ', emptyDir: true' : ''} }`,
    );
  }
  return `
name: bench-drain
kubernetesVersion: '1.30.4'
pools:
  - name: workers
    nodes: 1
    capacity: { cpu: '64', memory: 256Gi, pods: 130 }
  - name: spare
    nodes: 2
    capacity: { cpu: '64', memory: 256Gi, pods: 130 }
    taints: [{ key: kup.dev/spare, effect: NoSchedule }]
workloads:
${lines.join('\n')}
timings: { nodeBoot: 200 }
`;
}

interface Sim {
  kubeconfig: string;
  kubeconfigPath: string;
  cluster: { url: string; token: string; caCertPem: string };
  stop(): Promise<void>;
}

/** Starts kube-sim in its own process and waits until every pod is Running and Ready. */
async function startSim(yaml: string, label: string): Promise<Sim> {
  const scenarioPath = join(dir, `${label}.yaml`);
  const kubeconfigPath = join(dir, `${label}.kubeconfig`);
  writeFileSync(scenarioPath, yaml);
  const child = spawn(
    process.execPath,
    ['bin/kube-sim.mjs', 'start', '--scenario', scenarioPath, '--kubeconfig', kubeconfigPath],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((res, rej) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('serving https://')) res();
    });
    child.once('exit', (code) => rej(new Error(`kube-sim exited ${code}: ${out}`)));
  });
  const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
  const conn = connect({ kubeconfig });
  const cluster = {
    url: conn.server,
    token: String(conn.kubeConfig.getCurrentUser()?.token ?? ''),
    caCertPem: Buffer.from(conn.kubeConfig.getCurrentCluster()?.caData ?? '', 'base64').toString('utf8'),
  };
  const stop = () =>
    new Promise<void>((res) => {
      if (child.exitCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
    });
  // Polling here is the bench's own set-up (once per cluster, before anything is measured), not part of a drain.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await api(cluster, 'GET', '/api/v1/pods');
    const items = (res.body as { items?: V1Pod[] }).items ?? [];
    const onTarget = items.filter((p) => p.spec?.nodeName === TARGET);
    const ready = items.every((p) =>
      (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (ready && onTarget.length >= PODS_ON_NODE && items.every((p) => p.spec?.nodeName)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${label}: pods not Ready on ${TARGET} in time (${onTarget.length} there)`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Open the spare nodes so replacements have somewhere to go (the same for both tools).
  for (const n of ['spare-0', 'spare-1']) {
    await api(
      cluster,
      'PATCH',
      `/api/v1/nodes/${n}`,
      { spec: { taints: null } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
  }
  return { kubeconfig, kubeconfigPath, cluster, stop };
}

async function podsOnTarget(sim: Sim): Promise<{ total: number; daemonSet: number }> {
  const res = await api(sim.cluster, 'GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${TARGET}`);
  const items = (res.body as { items?: V1Pod[] }).items ?? [];
  const live = items.filter((p) => !p.metadata?.deletionTimestamp);
  return {
    total: live.length,
    daemonSet: live.filter((p) => p.metadata?.ownerReferences?.[0]?.kind === 'DaemonSet').length,
  };
}

/** Resource requests (apiserver_request_total) and every HTTP request (kubesim_http_requests_total) so far. */
async function counters(sim: Sim): Promise<{ resource: number; http: number }> {
  const res = await api(sim.cluster, 'GET', '/metrics', undefined, { Accept: 'text/plain' });
  let resource = 0;
  let http = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.startsWith('apiserver_request_total{')) resource += Number(line.split(' ').pop());
    if (line.startsWith('kubesim_http_requests_total ')) http = Number(line.split(' ').pop());
  }
  return { resource, http };
}

interface Measure {
  ms: number;
  resource: number;
  http: number;
  ok: boolean;
  podsBefore: number;
  daemonSetPods: number;
  note: string;
}

async function measure(sim: Sim, run: () => Promise<{ ok: boolean; note: string }>): Promise<Measure> {
  const pods = await podsOnTarget(sim);
  const before = await counters(sim);
  const t0 = performance.now();
  const r = await run();
  const ms = performance.now() - t0;
  const after = await counters(sim);
  // The "before" /metrics read is counted in the HTTP total; nothing else but the tool talks to the sim meanwhile.
  return {
    ms,
    resource: after.resource - before.resource,
    http: after.http - before.http - 1,
    ok: r.ok,
    podsBefore: pods.total,
    daemonSetPods: pods.daemonSet,
    note: r.note,
  };
}

async function runKubectl(sim: Sim): Promise<Measure> {
  const kubectl = kubectlFor(sim.kubeconfig);
  await kubectl(['get', 'nodes']); // a warm discovery cache, as a user's shell would have
  return measure(sim, async () => {
    const r = await kubectl(['drain', TARGET, ...FLAGS, `--timeout=${RUN_TIMEOUT_S}s`], {
      timeoutMs: (RUN_TIMEOUT_S + 60) * 1000,
    });
    return { ok: r.code === 0, note: r.code === 0 ? '' : r.stderr.split('\n').slice(-3).join(' ') };
  });
}

async function runKup(sim: Sim): Promise<Measure> {
  return measure(sim, async () => {
    const conn = connect({ kubeconfigPath: sim.kubeconfigPath, rate: { qps: 100, burst: 200 } });
    const r = await drainNode(conn, TARGET, {
      ignoreDaemonSets: true,
      deleteEmptyDirData: true,
      timeoutMs: RUN_TIMEOUT_S * 1000,
      // Like for like with kubectl, which knows no budget a PDB does not set (kup's default keeps all but one replica
      // of a workload without a PDB Ready: a different, slower drain).
      implicitBudget: false,
    });
    return { ok: r.status === 'drained', note: r.status === 'failed' ? r.error.message : '' };
  });
}

async function runKupCli(sim: Sim): Promise<Measure> {
  return measure(sim, async () => {
    const code = await new Promise<number>((res) => {
      const child = spawn(
        process.execPath,
        [
          resolve('bin/kup.mjs'),
          'drain',
          TARGET,
          '--kubeconfig',
          sim.kubeconfigPath,
          ...FLAGS,
          `--timeout=${RUN_TIMEOUT_S}s`,
          // Like for like with kubectl (see runKup).
          '--implicit-budget',
          'off',
        ],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      child.once('exit', (c) => res(c ?? 1));
    });
    return { ok: code === 0, note: code === 0 ? '' : `exit ${code}` };
  });
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(9);
const pad = (s: string | number, n: number) => String(s).padStart(n);

function report(title: string, kubectl: Measure, kup: Measure, cli: Measure): void {
  console.log(`\n${title}`);
  console.log(
    `  node ${TARGET}: ${kubectl.podsBefore} pods (${kubectl.daemonSetPods} DaemonSet) for kubectl, ${kup.podsBefore} (${kup.daemonSetPods} DaemonSet) for kup; flags ${FLAGS.join(' ')}`,
  );
  console.log(
    `  ${'tool'.padEnd(26)} ${'wall'.padStart(9)} ${'API requests'.padStart(13)} ${'HTTP requests'.padStart(14)}  result`,
  );
  const row = (name: string, m: Measure) =>
    console.log(
      `  ${name.padEnd(26)} ${fmtS(m.ms)} ${pad(m.resource, 13)} ${pad(m.http, 14)}  ${m.ok ? 'drained' : `FAILED ${m.note}`}`,
    );
  row('kubectl drain', kubectl);
  row('kup drainNode (in-process)', kup);
  row('kup drain (CLI process)', cli);
  const wall = kup.ms / kubectl.ms;
  const req = kup.resource / kubectl.resource;
  const http = kup.http / kubectl.http;
  console.log(
    `  kup/kubectl: wall ${wall.toFixed(3)}x (goal <= 0.2x: ${wall <= 0.2 ? 'OK' : 'MISSED'}), API requests ${req.toFixed(3)}x (goal <= 0.5x: ${req <= 0.5 ? 'OK' : 'MISSED'}), HTTP ${http.toFixed(3)}x`,
  );
  const cliWall = cli.ms / kubectl.ms;
  console.log(
    `  kup CLI process/kubectl: wall ${cliWall.toFixed(3)}x (goal <= 0.2x: ${cliWall <= 0.2 ? 'OK' : 'MISSED'}), API requests ${(cli.resource / kubectl.resource).toFixed(3)}x`,
  );
}

async function benchCase(title: string, withPdb: boolean): Promise<void> {
  const yaml = scenario(withPdb);
  const a = await startSim(yaml, `${withPdb ? 'pdb' : 'plain'}-kubectl`);
  let k: Measure;
  try {
    k = await runKubectl(a);
  } finally {
    await a.stop();
  }
  const b = await startSim(yaml, `${withPdb ? 'pdb' : 'plain'}-kup`);
  let u: Measure;
  try {
    u = await runKup(b);
  } finally {
    await b.stop();
  }
  const c = await startSim(yaml, `${withPdb ? 'pdb' : 'plain'}-cli`);
  let cli: Measure;
  try {
    cli = await runKupCli(c);
  } finally {
    await c.stop();
  }
  report(title, k, u, cli);
}

console.log(
  `drain benchmark: kube-sim default timings (pod start 500 ms, termination 1 s), kup at 100 QPS / burst 200, 50 evictions in flight`,
);
await benchCase(`1. ${PODS_ON_NODE} pods, no PDB`, false);
if (!values['skip-pdb'])
  await benchCase(`2. ${PODS_ON_NODE} pods, every Deployment under a PDB allowing 1 disruption`, true);
