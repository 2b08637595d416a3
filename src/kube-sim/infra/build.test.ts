import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { generateScenario } from '../scenario/generate.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { createTestRuntime } from '../testing/runtime.ts';
import { buildCluster } from './build.ts';
import { LAST_APPLIED_ANNOTATION } from './objects.ts';
import { condition, runningAndReady, smallScenario, startAllControllers } from './test-fixtures.ts';

function podsOf(runtime: TestRuntime, namespace: string): KubeObject[] {
  return runtime.store.list('core/pods', { namespace }).items;
}

describe('buildCluster', () => {
  let runtime: TestRuntime;
  let stop: () => void;

  before(async () => {
    runtime = createTestRuntime();
    stop = startAllControllers(runtime);
    const result = await buildCluster(runtime, smallScenario(), { settleTimeoutMs: 10_000 });
    assert.equal(result?.settled, true, `not settled: ${result?.unsettled.join(', ')}`);
  });
  after(() => stop());

  it('creates the system namespaces and the workload namespaces', () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'shop', 'monitoring']) {
      assert.ok(runtime.store.get('core/namespaces', undefined, ns), `namespace ${ns}`);
    }
  });

  it('creates a running machine and a Node per scenario node, NotReady where the scenario says so', () => {
    const names = [...runtime.machines.keys()].sort();
    assert.deepEqual(names, ['control-plane-0', 'general-0', 'general-1', 'general-2']);
    for (const name of names) assert.ok(runtime.store.get('core/nodes', undefined, name), `node ${name}`);
    const cp = runtime.machines.get('control-plane-0');
    assert.equal(cp?.role, 'control-plane');
    assert.deepEqual(cp?.components, { etcd: '3.5.15', 'kube-apiserver': '1.30.4', 'kube-controller-manager': '1.30.4', 'kube-scheduler': '1.30.4' });
    assert.equal(runtime.machines.get('general-0')?.state, 'running');
    assert.equal(runtime.machines.get('general-0')?.health, 'healthy');
    assert.equal(runtime.machines.get('general-2')?.health, 'not-ready');
    assert.equal(condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['status'], 'True');
    const cpNode = runtime.store.get('core/nodes', undefined, 'control-plane-0');
    assert.equal(cpNode?.metadata.labels?.['node-role.kubernetes.io/control-plane'], '');
  });

  it('creates the control-plane mirror pods, owned by their Node, Running', () => {
    const node = runtime.store.mustGet('core/nodes', undefined, 'control-plane-0');
    const expected: Record<string, string> = {
      etcd: 'registry.k8s.io/etcd:3.5.15-0',
      'kube-apiserver': 'registry.k8s.io/kube-apiserver:v1.30.4',
      'kube-controller-manager': 'registry.k8s.io/kube-controller-manager:v1.30.4',
      'kube-scheduler': 'registry.k8s.io/kube-scheduler:v1.30.4',
    };
    for (const [component, image] of Object.entries(expected)) {
      const pod = runtime.store.mustGet('core/pods', 'kube-system', `${component}-control-plane-0`);
      assert.ok(pod.metadata.annotations?.['kubernetes.io/config.mirror'], `${component} is a mirror pod`);
      assert.deepEqual(pod.metadata.labels, { component, tier: 'control-plane' });
      assert.equal(pod.metadata.ownerReferences?.[0]?.kind, 'Node');
      assert.equal(pod.metadata.ownerReferences?.[0]?.uid, node.metadata.uid);
      assert.equal(pod.spec?.['nodeName'], 'control-plane-0');
      const containers = pod.spec?.['containers'] as { image: string }[];
      assert.equal(containers[0]?.image, image);
      assert.ok(runningAndReady(pod), `${component} Running and Ready`);
    }
  });

  it('runs kube-proxy and the CNI on every node, and CoreDNS with two replicas', () => {
    const system = podsOf(runtime, 'kube-system');
    const proxies = system.filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-proxy');
    assert.equal(proxies.length, 4);
    const proxyDs = runtime.store.mustGet('apps/daemonsets', 'kube-system', 'kube-proxy');
    const template = proxyDs.spec?.['template'] as { spec: { containers: { image: string }[] } };
    assert.equal(template.spec.containers[0]?.image, 'registry.k8s.io/kube-proxy:v1.30.4');
    assert.ok(runtime.store.get('apps/daemonsets', 'kube-system', 'calico-node'));
    assert.equal(system.filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node').length, 4);
    const dns = system.filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns');
    assert.equal(dns.length, 2);
    assert.ok(dns.every(runningAndReady));
    assert.equal(runtime.store.list('policy/poddisruptionbudgets', { namespace: 'kube-system' }).items.length, 0);
  });

  it('runs the workloads: pods Running and Ready except on the NotReady node', () => {
    const shop = podsOf(runtime, 'shop');
    const web = shop.filter((p) => p.metadata.labels?.['app'] === 'web');
    assert.equal(web.length, 3);
    assert.ok(web.every((p) => runningAndReady(p) || p.spec?.['nodeName'] === 'general-2'));
    assert.ok(web.every((p) => p.spec?.['nodeName'] !== 'general-2' || !runningAndReady(p)));
    const db = shop.filter((p) => p.metadata.labels?.['app'] === 'db').map((p) => p.metadata.name).sort();
    assert.ok(db.length >= 1 && db[0] === 'db-0');
    const dbPod = runtime.store.mustGet('core/pods', 'shop', 'db-0');
    const volumes = dbPod.spec?.['volumes'] as { emptyDir?: unknown }[];
    assert.ok(volumes.some((v) => v.emptyDir !== undefined), 'emptyDir volume');
    const agents = podsOf(runtime, 'monitoring');
    assert.equal(agents.length, 4, 'the DaemonSet tolerates everything: one pod per node');
    const debug = runtime.store.mustGet('core/pods', 'default', 'debug');
    assert.equal(debug.spec?.['nodeName'], 'general-0');
    assert.ok(runningAndReady(debug));
    assert.equal(debug.spec?.['terminationGracePeriodSeconds'], 0);
  });

  it('creates the PodDisruptionBudgets at policy/v1, named after the workload', () => {
    const pdb = runtime.store.mustGet('policy/poddisruptionbudgets', 'shop', 'web');
    assert.equal(pdb.apiVersion, 'policy/v1');
    assert.deepEqual(pdb.spec?.['selector'], { matchLabels: { app: 'web' } });
    assert.equal(pdb.spec?.['maxUnavailable'], 1);
  });

  it('stores legacy objects at the current version with the old one in last-applied-configuration', () => {
    const legacy = runtime.store.mustGet('policy/poddisruptionbudgets', 'shop', 'legacy-web-pdb');
    assert.equal(legacy.apiVersion, 'policy/v1');
    const applied = legacy.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
    assert.ok(applied?.endsWith('\n'));
    const parsed = JSON.parse(applied ?? '{}') as Record<string, unknown>;
    assert.equal(parsed['apiVersion'], 'policy/v1beta1');
    assert.equal(parsed['kind'], 'PodDisruptionBudget');
    assert.deepEqual(parsed['metadata'], { annotations: {}, name: 'legacy-web-pdb', namespace: 'shop' });
    assert.equal((parsed['spec'] as Record<string, unknown>)['minAvailable'], 1);
  });
});

describe('buildCluster at scale', () => {
  // CPU time is asserted, wall time only reported: tests share this machine, and wall time measures the neighbours too.
  it('builds a generated 5,000-node / 50,000-pod cluster and settles in under 30 s of CPU', { timeout: 180_000 }, async () => {
    const runtime = createTestRuntime();
    const stop = startAllControllers(runtime);
    try {
      const scenario = generateScenario({ nodes: 5_000, pods: 50_000 });
      const started = Date.now();
      const cpuBefore = process.cpuUsage();
      const result = await buildCluster(runtime, scenario, { settleTimeoutMs: 120_000 });
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
      const elapsed = Date.now() - started;
      assert.equal(result?.settled, true, `not settled: ${result?.unsettled.join(', ')}`);
      assert.equal(runtime.store.count('core/nodes'), 5_003);
      let running = 0;
      for (const pod of runtime.store.all('core/pods')) if (runningAndReady(pod)) running++;
      // 50,000 workload pods, plus kube-proxy and the CNI on every node, CoreDNS and the static pods.
      assert.ok(running >= 50_000 + 2 * 5_003, `running pods: ${running}`);
      const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
      console.log(`5,000 nodes / ${running} pods built and settled in ${elapsed} ms (${cpuMs} ms CPU), RSS ${rssMiB} MiB`);
      assert.ok(cpuMs < 30_000, `build took ${cpuMs} ms of CPU (${elapsed} ms wall)`);
      assert.ok(rssMiB < 2_048, `RSS ${rssMiB} MiB`);
    } finally {
      stop();
    }
  });
});
