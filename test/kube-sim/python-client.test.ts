/**
 * The official Python client (`kubernetes` on PyPI, pinned in scripts/ensure-python-client.mjs) against kube-sim:
 * create, strategic merge patch, the scale subresource and server-side apply through the dynamic client. The
 * script installs the client into .cache/python when it is missing.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

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

  it('applies server-side through the dynamic client, twice', async () => {
    const first = await run(['apply-deployment', 'api', 'nginx:1.27', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json?.['managers'], ['kup-python/Apply']);
    const second = await run(['apply-deployment', 'api', 'nginx:1.28', '1']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.json, { replicas: 1, image: 'nginx:1.28', managers: ['kup-python/Apply'] });
  });
});
