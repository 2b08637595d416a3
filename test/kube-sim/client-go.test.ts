/**
 * client-go's typed clients (v0.36) against kube-sim, through a small Go program built in the test run: create and
 * update, get, strategic merge patch, the scale subresource (GetScale/UpdateScale), server-side apply with apply
 * configurations, and a Job created and watched to completion. Bodies go in client-go's default media types
 * (protobuf for typed writes), which kube-sim's own body counter in /metrics shows; the cluster is read back through
 * the API after each write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { buildGoHarness, runGoHarness } from '../helpers/go-harness.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { api, bodyCount, startFromYaml } from '../helpers/sim.ts';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

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
  const run = (args: string[]) => runGoHarness(harness, kubeconfig, args);
  /** Writes of `resource` kube-sim answered with `code` whose body was in `contentType`. */
  const bodies = (verb: string, resource: string, subresource: string, contentType: string, code: number) =>
    bodyCount(cluster, { verb, resource, subresource, content_type: contentType, code: String(code) });

  before(async () => {
    harness = await buildGoHarness();
    cluster = await startFromYaml(scenario);
    kubeconfig = kubectlFor(cluster.kubeconfig).kubeconfigPath;
  });
  after(async () => cluster?.stop());

  it('creates and updates a ConfigMap in protobuf, with its field manager recorded', async () => {
    const r = await run(['create-configmap', 'settings', 'mode=fast']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.['data'], { mode: 'fast' });
    assert.deepEqual(r.json?.['managers'], ['kup-harness/Update']);
    const updated = await run(['update-configmap', 'settings', 'level=3']);
    assert.equal(updated.code, 0, updated.stderr);
    const stored = await api(cluster, 'GET', '/api/v1/namespaces/default/configmaps/settings');
    assert.deepEqual((stored.body as { data: unknown }).data, { mode: 'fast', level: '3' });
    assert.equal(await bodies('CREATE', 'configmaps', '', PROTOBUF, 201), 1, 'the typed Create sent protobuf');
    assert.equal(await bodies('UPDATE', 'configmaps', '', PROTOBUF, 200), 1, 'the typed Update sent protobuf');
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
    assert.equal(
      await bodies('PATCH', 'deployments', '', 'application/strategic-merge-patch+json', 200),
      1,
      'Patch sent the strategic merge patch type it was given',
    );
    const scaled = await run(['scale-deployment', 'web', '3']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.deepEqual(scaled.json, { before: 2, replicas: 3, selector: 'app=web' });
    assert.ok(
      (await bodies('UPDATE', 'deployments', 'scale', PROTOBUF, 200)) >= 1,
      'UpdateScale sent an autoscaling/v1 Scale in protobuf',
    );
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
    const managed = (stored.body as { metadata: { managedFields?: { manager: string; operation: string }[] } }).metadata
      .managedFields;
    assert.deepEqual(
      managed?.map((m) => `${m.manager}/${m.operation}`),
      ['kup-harness/Apply'],
      'the stored object names the applying manager',
    );
    assert.equal(await bodies('PATCH', 'deployments', '', 'application/apply-patch+yaml', 201), 1, 'the first apply created');
    assert.equal(await bodies('PATCH', 'deployments', '', 'application/apply-patch+yaml', 200), 1);
  });

  it('creates a Job in protobuf and watches it to Complete', async () => {
    const created = await run(['create-job', 'report', '2', '2']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.json?.['completions'], 2);
    assert.equal(created.json?.['backoffLimit'], 6, 'the API server defaults backoffLimit');
    const selector = created.json?.['selectorLabels'] as Record<string, string> | undefined;
    assert.ok(selector?.['batch.kubernetes.io/controller-uid'], 'the API server generates the selector');
    assert.equal(await bodies('CREATE', 'jobs', '', PROTOBUF, 201), 1, 'the typed Create sent protobuf');
    const waited = await run(['wait-job', 'report', '60']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.deepEqual(waited.json, { name: 'report', succeeded: 2, completionTime: true });
    const job = (await api(cluster, 'GET', '/apis/batch/v1/namespaces/default/jobs/report')).body as {
      status: { succeeded?: number; conditions?: { type: string; status: string }[] };
    };
    assert.equal(job.status.succeeded, 2);
    assert.ok(job.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
  });
});
