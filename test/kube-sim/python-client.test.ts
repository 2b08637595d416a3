/**
 * The official Python client (`kubernetes` on PyPI, pinned in scripts/ensure-python-client.mjs) against kube-sim:
 * create, strategic and JSON merge patches, the scale subresource (patched and replaced), server-side apply through
 * the dynamic client, and a Job created and watched to completion with the client's own watch. Each write is read
 * back through the API. The script installs the client into .cache/python when it is missing.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { api, bodyCount, startFromYaml } from '../helpers/sim.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const scenario = `
name: python-client
kubernetesVersion: 1.31.4
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

describe('the official Python client against kube-sim', () => {
  let cluster: SimCluster;
  let python: string;
  let kubeconfig: string;
  const run = (args: string[]) =>
    new Promise<{ code: number; stderr: string; json: Record<string, unknown> | undefined }>((done) => {
      execFile(
        python,
        [join(root, 'test/clients/python/harness.py'), kubeconfig, ...args],
        { timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          done({ code, stderr, json: code === 0 ? (JSON.parse(stdout) as Record<string, unknown>) : undefined });
        },
      );
    });

  before(async () => {
    const ensured = spawnSync(process.execPath, [join(root, 'scripts/ensure-python-client.mjs')], {
      encoding: 'utf8',
      timeout: 10 * 60_000,
    });
    assert.equal(ensured.status, 0, ensured.stderr);
    const lines = ensured.stdout.trim().split('\n');
    if (lines.length > 1) console.log(lines.slice(0, -1).join('\n'));
    python = lines[lines.length - 1] ?? '';
    cluster = await startFromYaml(scenario);
    kubeconfig = kubectlFor(cluster.kubeconfig).kubeconfigPath;
  });
  after(async () => cluster?.stop());

  it('creates a ConfigMap', async () => {
    const r = await run(['create-configmap', 'settings', 'mode=fast']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.['data'], { mode: 'fast' });
    const stored = await api(cluster, 'GET', '/api/v1/namespaces/default/configmaps/settings');
    assert.deepEqual((stored.body as { data: unknown }).data, { mode: 'fast' });
  });

  it('strategic-patches and scales a Deployment', async () => {
    const patched = await run(['patch-deployment', 'web', 'release=blue']);
    assert.equal(patched.code, 0, patched.stderr);
    assert.deepEqual(patched.json?.['templateLabels'], { app: 'web', release: 'blue' });
    const scaled = await run(['scale-deployment', 'web', '4']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.deepEqual(scaled.json, { kind: 'Scale', replicas: 4, selector: 'app=web' });
    const stored = await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/web');
    assert.equal((stored.body as { spec: { replicas: number } }).spec.replicas, 4);
  });

  it('merge-patches a Deployment, replacing its containers, and replaces its Scale with PUT', async () => {
    const merged = await run(['merge-patch-deployment', 'web', 'nginx:1.28']);
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual(merged.json, { containers: [['main', 'nginx:1.28']] });
    assert.equal(
      await bodyCount(cluster, { verb: 'PATCH', resource: 'deployments', content_type: 'application/merge-patch+json' }),
      1,
    );
    const replaced = await run(['replace-scale', 'web', '2']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.deepEqual(replaced.json, { kind: 'Scale', before: 4, replicas: 2, selector: 'app=web' });
    const stored = (await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/web')).body as {
      spec: { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } };
    };
    assert.equal(stored.spec.replicas, 2);
    assert.deepEqual(
      stored.spec.template.spec.containers.map((c) => [c.name, c.image]),
      [['main', 'nginx:1.28']],
    );
    assert.ok(
      (await bodyCount(cluster, { verb: 'UPDATE', resource: 'deployments', subresource: 'scale', code: '200' })) >= 1,
      'the Scale was written with PUT',
    );
  });

  it('applies server-side through the dynamic client, twice', async () => {
    const first = await run(['apply-deployment', 'api', 'nginx:1.27', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json?.['managers'], ['kup-python/Apply']);
    const second = await run(['apply-deployment', 'api', 'nginx:1.28', '1']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.json, { replicas: 1, image: 'nginx:1.28', managers: ['kup-python/Apply'] });
    const stored = (await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/api')).body as {
      spec: { replicas: number };
      metadata: { managedFields?: { manager: string; operation: string }[] };
    };
    assert.equal(stored.spec.replicas, 1);
    assert.deepEqual(
      stored.metadata.managedFields?.map((m) => `${m.manager}/${m.operation}`),
      ['kup-python/Apply'],
    );
  });

  it('creates a Job and watches it to Complete', async () => {
    const created = await run(['create-job', 'report', '2', '2']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.json?.['completions'], 2);
    assert.equal(created.json?.['backoffLimit'], 6, 'the API server defaults backoffLimit');
    const selector = created.json?.['selectorLabels'] as Record<string, string> | null | undefined;
    assert.ok(selector?.['batch.kubernetes.io/controller-uid'], 'the API server generates the selector');
    const waited = await run(['wait-job', 'report', '60']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.deepEqual(waited.json, {
      name: 'report',
      succeeded: 2,
      completionTime: true,
      podPhases: ['Succeeded', 'Succeeded'],
    });
    const job = (await api(cluster, 'GET', '/apis/batch/v1/namespaces/default/jobs/report')).body as {
      status: { succeeded?: number; conditions?: { type: string; status: string }[] };
    };
    assert.equal(job.status.succeeded, 2);
    assert.ok(job.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
  });
});
