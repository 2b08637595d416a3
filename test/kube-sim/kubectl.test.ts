/**
 * The real kubectl against kube-sim. The kubectl on the PATH dispatches to a binary of the server's minor, so a
 * 1.29 and a 1.32 cluster exercise two client generations (1.32 asks protobuf and aggregated discovery v2).
 * Every test checks the cluster state afterwards through the API, not only kubectl's exit code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { Kubectl } from '../helpers/kubectl.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

function scenario(version: string): string {
  return `
name: kubectl-${version.replace(/\./g, '-')}
kubernetesVersion: ${version}
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 2
workloads:
  - kind: Deployment
    name: web
    replicas: 4
    pdb:
      minAvailable: 3
  - kind: Deployment
    name: cache
    replicas: 2
    emptyDir: true
  - kind: DaemonSet
    name: log-agent
timings:
  podStart: 300
  podTermination: 200
  nodeBoot: 200
  nodeHeartbeat: 500
  nodeMonitorGrace: 5000
`;
}

interface PodLite {
  name: string;
  node: string | undefined;
  ready: boolean;
  terminating: boolean;
  owner: string | undefined;
}

/** The fields of pods and nodes these tests read. */
interface WirePod {
  metadata: { name: string; deletionTimestamp?: string; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string };
  status: { conditions?: { type: string; status: string }[] };
}
interface WireNode {
  spec: { unschedulable?: boolean; taints?: { key: string }[] };
}

async function pods(cluster: SimCluster, namespace = 'default'): Promise<PodLite[]> {
  const res = await api(cluster, 'GET', `/api/v1/namespaces/${namespace}/pods`);
  const items = (res.body as { items: WirePod[] }).items;
  return items.map((p) => ({
    name: p.metadata.name,
    node: p.spec.nodeName,
    ready: (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    terminating: p.metadata.deletionTimestamp !== undefined,
    owner: p.metadata.ownerReferences?.[0]?.kind,
  }));
}

async function node(cluster: SimCluster, name: string): Promise<WireNode> {
  const res = await api(cluster, 'GET', `/api/v1/nodes/${name}`);
  assert.equal(res.status, 200);
  return res.body as WireNode;
}

function hasTaint(n: WireNode, key: string): boolean {
  return (n.spec.taints ?? []).some((t) => t.key === key);
}

for (const version of ['1.29.10', '1.32.2']) {
  describe(`kubectl ${version.split('.').slice(0, 2).join('.')} against a ${version} kube-sim cluster`, () => {
    let cluster: SimCluster;
    let kubectl: Kubectl;

    before(async () => {
      cluster = await startFromYaml(scenario(version));
      kubectl = kubectlFor(cluster.kubeconfig);
      await waitFor(async () => {
        const all = await pods(cluster);
        return all.length === 6 + 2 && all.every((p) => p.ready) ? all : undefined;
      }, { message: 'workload pods Ready', timeoutMs: 20_000 });
    });
    after(async () => cluster?.stop());

    it('version reports the simulated server', async () => {
      const out = JSON.parse(await ok(kubectl(['version', '-o', 'json']))) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
      assert.equal(out.serverVersion.gitVersion, `v${version}`);
      assert.match(out.clientVersion.gitVersion, new RegExp(`^v${version.split('.').slice(0, 2).join('\\.')}\\.`));
    });

    it('get nodes -o wide prints STATUS, ROLES, VERSION and the wide columns', async () => {
      const out = await ok(kubectl(['get', 'nodes', '-o', 'wide']));
      const lines = out.trim().split('\n');
      assert.match(lines[0] ?? '', /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME/);
      assert.equal(lines.length, 1 + 3);
      const cp = lines.find((l) => /control-plane/.test(l));
      assert.ok(cp, out);
      assert.match(cp, new RegExp(`\\sReady\\s+control-plane\\s+\\S+\\s+v${version.replace(/\./g, '\\.')}\\s`));
      assert.equal(lines.filter((l) => /\sReady\s+<none>\s/.test(l)).length, 2, out);
    });

    it('get pods -A lists every namespace with READY and STATUS', async () => {
      const out = await ok(kubectl(['get', 'pods', '-A']));
      assert.match(out.split('\n')[0] ?? '', /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
      assert.match(out, /kube-system\s+kube-apiserver-\S+\s+1\/1\s+Running/);
      assert.match(out, /kube-system\s+etcd-\S+\s+1\/1\s+Running/);
      assert.match(out, /default\s+web-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running/);
      const json = JSON.parse(await ok(kubectl(['get', 'pods', '-A', '-o', 'json']))) as { items: unknown[] };
      const viaApi = await api(cluster, 'GET', '/api/v1/pods');
      assert.equal(json.items.length, (viaApi.body as { items: unknown[] }).items.length);
    });

    it('get pdb -A shows ALLOWED DISRUPTIONS from the disruption controller', async () => {
      const out = await ok(kubectl(['get', 'pdb', '-A']));
      assert.match(out.split('\n')[0] ?? '', /^NAMESPACE\s+NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE/);
      assert.match(out, /default\s+web\S*\s+3\s+N\/A\s+1\s/);
    });

    it('create -f --validate=false and delete', async () => {
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'default' },
        data: { mode: 'fast' },
      });
      assert.match(await ok(kubectl(['create', '--validate=false', '-f', '-'], { input: manifest })), /configmap\/settings created/);
      const created = await api(cluster, 'GET', '/api/v1/namespaces/default/configmaps/settings');
      assert.equal(created.status, 200);
      assert.deepEqual((created.body as { data?: unknown }).data, { mode: 'fast' });
      const again = await kubectl(['create', '--validate=false', '-f', '-'], { input: manifest });
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /AlreadyExists|already exists/);
      assert.match(await ok(kubectl(['delete', 'configmap', 'settings'])), /configmap "settings" deleted/);
      assert.equal((await api(cluster, 'GET', '/api/v1/namespaces/default/configmaps/settings')).status, 404);
      const missing = await kubectl(['delete', 'configmap', 'settings']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /configmaps "settings" not found/);
    });

    it('create of an invalid object is refused with the API server\'s message, and nothing is stored', async () => {
      const manifest = JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'bad', namespace: 'default' },
        spec: {
          replicas: -1,
          selector: { matchLabels: { app: 'bad' } },
          template: { metadata: { labels: { app: 'bad' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
        },
      });
      const r = await kubectl(['create', '--validate=false', '-f', '-'], { input: manifest });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The Deployment "bad" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
      assert.equal((await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/bad')).status, 404);
    });

    it('patch of an immutable field is refused, and the object keeps it', async () => {
      const r = await kubectl(['patch', 'deployment', 'web', '--type=merge', '-p', JSON.stringify({ spec: { selector: { matchLabels: { app: 'web', tier: 'x' } } } })]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The Deployment "web" is invalid: .*spec\.selector: Invalid value: .*: field is immutable/s);
      const web = await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/web');
      assert.deepEqual((web.body as { spec: { selector: unknown } }).spec.selector, { matchLabels: { app: 'web' } });
    });

    it('get -o yaml shows the defaults the API server set', async () => {
      const manifest = JSON.stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'defaults', namespace: 'default' },
        spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'busybox', ports: [{ containerPort: 8080 }] }] } } },
      });
      await ok(kubectl(['create', '--validate=false', '-f', '-'], { input: manifest }));
      const yaml = await ok(kubectl(['get', 'job', 'defaults', '-o', 'yaml']));
      for (const line of ['backoffLimit: 6', 'completionMode: NonIndexed', 'completions: 1', 'parallelism: 1', 'imagePullPolicy: Always', 'protocol: TCP', 'terminationMessagePath: /dev/termination-log', 'dnsPolicy: ClusterFirst', 'schedulerName: default-scheduler']) {
        assert.ok(yaml.includes(line), `${line} in\n${yaml}`);
      }
      assert.match(yaml, /selector:\s+matchLabels:\s+batch\.kubernetes\.io\/controller-uid: [0-9a-f-]{36}/);
      await ok(kubectl(['delete', 'job', 'defaults']));
    });

    it('cordon and uncordon set spec.unschedulable and the unschedulable taint', async () => {
      const name = 'workers-1';
      assert.match(await ok(kubectl(['cordon', name])), new RegExp(`node/${name} cordoned`));
      const cordoned = await node(cluster, name);
      assert.equal(cordoned.spec.unschedulable, true);
      await waitFor(async () => (hasTaint(await node(cluster, name), 'node.kubernetes.io/unschedulable') ? true : undefined), { message: 'unschedulable taint', timeoutMs: 20_000 });
      assert.match(await ok(kubectl(['get', 'node', name])), /Ready,SchedulingDisabled/);
      assert.match(await ok(kubectl(['uncordon', name])), new RegExp(`node/${name} uncordoned`));
      assert.equal((await node(cluster, name)).spec.unschedulable, undefined);
      await waitFor(async () => (hasTaint(await node(cluster, name), 'node.kubernetes.io/unschedulable') ? undefined : true), { message: 'taint removed', timeoutMs: 20_000 });
    });

    it('drain waits on a blocking PDB, then completes as replacements come up elsewhere', async () => {
      const before = await pods(cluster);
      // Drain the worker holding the most web pods, so that the PDB (minAvailable 3 of 4) blocks the second eviction.
      const counts = new Map<string, number>();
      for (const p of before) if (p.name.startsWith('web-') && p.node) counts.set(p.node, (counts.get(p.node) ?? 0) + 1);
      const [target, webOnTarget] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      assert.ok(webOnTarget >= 2, `expected two web pods on one worker, got ${JSON.stringify([...counts])}`);
      const r = await kubectl(['drain', target, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=90s'], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
      assert.match(r.stdout, new RegExp(`node/${target} drained`));
      const drained = await node(cluster, target);
      assert.equal(drained.spec.unschedulable, true);
      const after = await pods(cluster);
      const left = after.filter((p) => p.node === target && p.owner !== 'DaemonSet');
      assert.deepEqual(left, [], 'only DaemonSet pods stay on a drained node');
      const web = after.filter((p) => p.name.startsWith('web-'));
      await waitFor(async () => {
        const now = (await pods(cluster)).filter((p) => p.name.startsWith('web-') && p.ready && !p.terminating);
        return now.length === 4 ? now : undefined;
      }, { message: 'web back to 4 Ready replicas', timeoutMs: 20_000 });
      assert.ok(web.every((p) => p.node !== target));
      await ok(kubectl(['uncordon', target]));
    });
  });
}
