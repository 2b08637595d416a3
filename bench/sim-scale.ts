/**
 * kube-sim at scale: starts a generated cluster (default 5,000 nodes / 50,000 pods) in its own process and reports
 * load time, RSS, the wall time of `kubectl get pods -A -o json`, and a full list + watch by @kubernetes/client-node,
 * side by side. Goals (issue 2): load <= 30 s, RSS <= 2 GiB.
 *
 *   node --import tsx bench/sim-scale.ts [--nodes 5000] [--pods 50000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { kubectlFor } from '../test/helpers/kubectl.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '5000' }, pods: { type: 'string', default: '50000' } } });
const nodes = Number(values.nodes);
const pods = Number(values.pods);
const dir = mkdtempSync(join(tmpdir(), 'kup-bench-'));
const kubeconfigPath = join(dir, 'kubeconfig');

function rss(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

const started = Date.now();
const sim = spawn(process.execPath, ['bin/kube-sim.mjs', 'start', '--nodes', String(nodes), '--pods', String(pods), '--kubeconfig', kubeconfigPath], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const loadMs = await new Promise<number>((resolve, reject) => {
  let out = '';
  sim.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('serving https://')) resolve(Date.now() - started);
  });
  sim.on('exit', (code) => reject(new Error(`kube-sim exited ${code}: ${out}`)));
});
const afterLoad = rss(sim.pid as number);

try {
  const kubectl = kubectlFor(readFileSync(kubeconfigPath, 'utf8'));
  await kubectl(['get', 'nodes', '--request-timeout=60s']); // warm the discovery cache, as a user's shell would have
  const t0 = Date.now();
  const r = await kubectl(['get', 'pods', '-A', '-o', 'json'], { timeoutMs: 600_000 });
  const kubectlMs = Date.now() - t0;
  if (r.code !== 0) throw new Error(`kubectl failed: ${r.stderr}`);
  const kubectlPods = (JSON.parse(r.stdout) as { items: unknown[] }).items.length;

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const t1 = Date.now();
  let listed = 0;
  let token: string | undefined;
  let rv = '';
  do {
    const page = await core.listPodForAllNamespaces({ limit: 500, ...(token ? { _continue: token } : {}) });
    listed += page.items.length;
    token = page.metadata?._continue;
    rv = page.metadata?.resourceVersion ?? rv;
  } while (token);
  const listMs = Date.now() - t1;
  // The watch: from the list's resourceVersion, until the stream is established and a first event arrives.
  const t2 = Date.now();
  const watch = new k8s.Watch(kc);
  let firstEvent = 0;
  const req = await watch.watch('/api/v1/pods', { resourceVersion: rv, allowWatchBookmarks: true }, () => {
    firstEvent ||= Date.now() - t2;
  }, () => {});
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'bench-touch' } } });
  await core.deleteCollectionNamespacedPod({ namespace: 'default', limit: 1, labelSelector: 'app' }).catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (!firstEvent && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  req.abort();
  const afterQueries = rss(sim.pid as number);

  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`kube-sim scale benchmark: ${nodes} worker nodes, ${pods} pods requested`);
  console.log(`  load (start to serving)            ${fmt(loadMs)}   goal <= 30 s   ${loadMs <= 30_000 ? 'OK' : 'MISSED'}`);
  console.log(`  RSS after load                     ${afterLoad.rssMiB.toFixed(0)} MiB`);
  console.log(`  RSS peak (after the queries)       ${afterQueries.peakMiB.toFixed(0)} MiB   goal <= 2048 MiB   ${afterQueries.peakMiB <= 2048 ? 'OK' : 'MISSED'}`);
  console.log(`  kubectl get pods -A -o json        ${fmt(kubectlMs)}   (${kubectlPods} pods)`);
  console.log(`  client-node full list (500/page)   ${fmt(listMs)}   (${listed} pods)   ${(listMs / kubectlMs).toFixed(2)}x kubectl`);
  console.log(`  client-node watch to first event   ${firstEvent ? fmt(firstEvent) : 'no event in 30 s'}`);
} finally {
  sim.kill('SIGTERM');
}
