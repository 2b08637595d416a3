/**
 * @kubernetes/client-node (1.4, the version that works on Node 20 here) against kube-sim over HTTPS with the CA and
 * token from the kubeconfig: typed list, raw watch, and an informer that survives a dropped watch and a 410.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { api, requestCount, startFromYaml } from '../helpers/sim.ts';

const SCENARIO = `
name: client-node
kubernetesVersion: 1.31.4
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 3
workloads:
  - kind: Deployment
    name: api
    replicas: 3
    pdb:
      maxUnavailable: 1
timings:
  zeroDelay: true
`;

describe('@kubernetes/client-node against kube-sim', () => {
  let cluster: SimCluster;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;

  before(async () => {
    cluster = await startFromYaml(SCENARIO);
    kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  after(async () => cluster?.stop());

  it('lists nodes and pods with typed models', async () => {
    const nodes = await core.listNode();
    assert.equal(nodes.items.length, 4);
    const cp = nodes.items.find((n) => n.metadata?.labels?.['node-role.kubernetes.io/control-plane'] !== undefined);
    assert.equal(cp?.status?.nodeInfo?.kubeletVersion, 'v1.31.4');
    const pods = await waitFor(async () => {
      const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=api' });
      return list.items.length === 3 && list.items.every((p) => p.status?.phase === 'Running') ? list : undefined;
    }, { message: 'api pods Running', timeoutMs: 20_000 });
    assert.ok(pods.metadata?.resourceVersion);
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${pods.items[0]?.spec?.nodeName}` });
    assert.ok(onNode.items.every((p) => p.spec?.nodeName === pods.items[0]?.spec?.nodeName));
    // One object by name (read directly, not scanned): the others' selectors still apply, and a missing name is empty.
    const cpName = cp?.metadata?.name ?? '';
    const one = await core.listNode({ fieldSelector: `metadata.name=${cpName}` });
    assert.deepEqual(one.items.map((n) => n.metadata?.name), [cpName]);
    assert.deepEqual((await core.listNode({ fieldSelector: `metadata.name=${cpName}`, labelSelector: 'no-such-label' })).items, []);
    assert.deepEqual((await core.listNode({ fieldSelector: 'metadata.name=no-such-node' })).items, []);
    const pod = pods.items[0];
    const byName = await core.listNamespacedPod({ namespace: 'default', fieldSelector: `metadata.name=${pod?.metadata?.name},status.phase=Running` });
    assert.deepEqual(byName.items.map((p) => p.metadata?.uid), [pod?.metadata?.uid]);
    assert.deepEqual((await core.listNamespacedPod({ namespace: 'kube-system', fieldSelector: `metadata.name=${pod?.metadata?.name}` })).items, []);
    const bad = await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.color=blue' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(bad instanceof k8s.ApiException);
    assert.equal(bad.code, 400);
    assert.match(String(bad.body), /field label not supported: spec.color/);
  });

  it('pages a list with limit and continue', async () => {
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `page-${i}` }, data: { i: String(i) } } });
    }
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: 'default', limit: 3, ...(token ? { _continue: token } : {}) });
      names.push(...page.items.map((c) => c.metadata?.name ?? ''));
      token = page.metadata?._continue;
      pages += 1;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(names.filter((n) => n.startsWith('page-')), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6']);
  });

  it('watches from a resourceVersion and sees ADDED, MODIFIED, DELETED in order', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata?.resourceVersion },
      (type: string, obj: k8s.V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name}`),
      () => {},
    );
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched' }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'watched', body: { data: { a: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'watched' });
    await waitFor(() => (seen.length >= 3 ? seen : undefined), { message: 'three events', timeoutMs: 5_000 });
    req.abort();
    assert.deepEqual(seen, ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
  });

  it('watches one object by name, without a resourceVersion and from one, and hears of no other', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'named-a' }, data: { a: '1' } } });
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { fieldSelector: 'metadata.name=named-a' },
      (type: string, obj: k8s.V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name} ${obj.data?.['a']}`),
      () => {},
    );
    await waitFor(() => (seen.length >= 1 ? seen : undefined), { message: 'the initial ADDED', timeoutMs: 5_000 });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'named-b' }, data: { a: '1' } } });
    for (const name of ['named-b', 'named-a']) {
      await core.patchNamespacedConfigMap(
        { namespace: 'default', name, body: { data: { a: '2' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'named-a' });
    await waitFor(() => (seen.length >= 3 ? seen : undefined), { message: 'three events', timeoutMs: 5_000 });
    req.abort();
    assert.deepEqual(seen, ['ADDED named-a 1', 'MODIFIED named-a 2', 'DELETED named-a 2']);
  });

  it('keeps an informer in sync across a dropped watch and a 410 Expired', async () => {
    const path = '/api/v1/namespaces/default/configmaps';
    const informer = k8s.makeInformer(kc, path, () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const added = new Set<string>();
    const errors: unknown[] = [];
    informer.on('add', (cm) => added.add(cm.metadata?.name ?? ''));
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before-drop' } } });
    await waitFor(() => (added.has('before-drop') ? true : undefined), { message: 'informer sees before-drop', timeoutMs: 5_000 });

    // The apiserver drops every watch: the informer must re-watch from its resourceVersion and miss nothing.
    const dropped = await api(cluster, 'PUT', '/sim/v1/faults', { dropWatches: true });
    assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-drop' } } });
    await waitFor(() => (added.has('after-drop') ? true : undefined), { message: 'informer sees after-drop', timeoutMs: 10_000 });

    // History compacted past the informer's resourceVersion (a write elsewhere moves the revision on), then the
    // watch dropped: resuming gets 410 Expired, so the informer must relist.
    const listsBefore = await requestCount(cluster, { resource: 'configmaps', verb: 'LIST' });
    await core.createNamespacedConfigMap({ namespace: 'kube-public', body: { metadata: { name: 'elsewhere' } } });
    cluster.runtime.store.compact();
    await api(cluster, 'PUT', '/sim/v1/faults', { dropWatches: true });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-compaction' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-relist' } } });
    await waitFor(() =>
      added.has('after-compaction') && added.has('after-relist') ? true : undefined, { message: 'informer sees objects after the 410', timeoutMs: 10_000 });
    assert.ok((await requestCount(cluster, { resource: 'configmaps', verb: 'LIST' })) > listsBefore, 'the 410 made the informer relist');
    const cached = informer.list('default').map((c) => c.metadata?.name);
    assert.ok(cached.includes('after-relist'));
    assert.deepEqual(errors, []);
    await informer.stop();
  });
});
