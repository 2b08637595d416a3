/**
 * client-go's typed clients (v0.36) against kube-sim, through a small Go program built in the test run: create, get,
 * strategic merge patch, the scale subresource (GetScale/UpdateScale) and server-side apply with apply
 * configurations. The cluster is read back through the API after each write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { buildGoHarness, runGoHarness } from '../helpers/go-harness.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

const scenario = `
name: client-go
kubernetesVersion: 1.33.1
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 1
workloads:
  - kind: Deployment
    name: web
    replicas: 2
timings:
  podStart: 50
  podTermination: 50
  nodeBoot: 50
`;

describe('client-go typed clients against kube-sim', () => {
  let cluster: SimCluster;
  let harness: string;
  let kubeconfig: string;
  const run = (args: string[], options: { json?: boolean } = {}) => runGoHarness(harness, kubeconfig, args, options);

  before(async () => {
    harness = await buildGoHarness();
    cluster = await startFromYaml(scenario);
    kubeconfig = kubectlFor(cluster.kubeconfig).kubeconfigPath;
  });
  after(async () => cluster?.stop());

  it('creates a ConfigMap (JSON body) with its field manager recorded', async () => {
    // client-go's default protobuf bodies wait for kube-sim's protobuf decoding (another part of issue 15).
    const r = await run(['create-configmap', 'settings', 'mode=fast'], { json: true });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.['data'], { mode: 'fast' });
    assert.deepEqual(r.json?.['managers'], ['kup-harness/Update']);
    const stored = await api(cluster, 'GET', '/api/v1/namespaces/default/configmaps/settings');
    assert.deepEqual((stored.body as { data: unknown }).data, { mode: 'fast' });
  });

  it('gets, strategic-patches and scales a Deployment through GetScale/UpdateScale', async () => {
    const got = await run(['get-deployment', 'web']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.json?.['replicas'], 2);
    const patched = await run(['patch-deployment', 'web', 'release=blue']);
    assert.equal(patched.code, 0, patched.stderr);
    assert.equal((patched.json?.['templateLabels'] as Record<string, string>)['release'], 'blue');
    assert.equal(
      (patched.json?.['templateLabels'] as Record<string, string>)['app'],
      'web',
      'a strategic patch merges labels',
    );
    const scaled = await run(['scale-deployment', 'web', '3'], { json: true });
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.deepEqual(scaled.json, { before: 2, replicas: 3, selector: 'app=web' });
    await waitFor(
      async () => {
        const d = await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/web');
        return (d.body as { status: { readyReplicas?: number } }).status.readyReplicas === 3 ? true : undefined;
      },
      { message: 'web at 3 Ready replicas', timeoutMs: 20_000 },
    );
  });

  it('applies a Deployment with apply configurations, then changes it by applying again', async () => {
    const first = await run(['apply-deployment', 'api', 'nginx:1.27', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json?.['managers'], ['kup-harness/Apply']);
    const second = await run(['apply-deployment', 'api', 'nginx:1.28', '3']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json?.['image'], 'nginx:1.28');
    const stored = await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/api');
    const spec = (
      stored.body as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } }
    ).spec;
    assert.equal(spec.replicas, 3);
    assert.deepEqual(
      spec.template.spec.containers.map((c) => c.image),
      ['nginx:1.28'],
    );
  });
});
