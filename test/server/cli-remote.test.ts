/**
 * The CLI with `--server URL` prints what it prints locally: the same commands run against the service and against
 * its data directory give the same stdout, the same stderr and the same exit code (a refused command included).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { FAST_TIMINGS, kupProcess } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';

const SCENARIO = `
kubernetesVersion: '1.35.5'
pools:
  - name: workers
    nodes: 2
${FAST_TIMINGS}
`;

/** When the precheck ran and how long it took ("in 0.3 s", startedAt, durationMs) differ between any two runs. */
function checkTimeMasked(out: { code: number | null; stdout: string; stderr: string }) {
  const mask = (text: string) =>
    text
      .replace(/ in \d+(\.\d+)? s:/g, ' in N s:')
      .replace(/"durationMs": \d+/g, '"durationMs": N')
      .replace(/"startedAt": "[^"]+"/g, '"startedAt": T');
  return { ...out, stdout: mask(out.stdout), stderr: mask(out.stderr) };
}

let sim: SimCluster;
let svc: TestService;

before(async () => {
  sim = await startFromYaml(SCENARIO);
  svc = await startService();
  process.env['KUP_TOKEN'] = svc.adminToken;
});

after(async () => {
  await svc?.close();
  await sim?.stop();
});

describe('kup --server', () => {
  it('prints the same as the local command for plan, versions, precheck, cluster list, status, and a refused pause', async () => {
    const kubeconfigPath = join(svc.dataDir, 'shop.kubeconfig');
    writeFileSync(kubeconfigPath, sim.kubeconfig, { mode: 0o600 });
    assert.equal(
      (await svc.call('POST', '/api/v1/clusters', { body: { name: 'shop', provider: 'sim', kubeconfigPath } })).status,
      201,
    );
    // kup plan, versions and precheck: text, JSON, and refusals (no target, no such cluster) the same both ways.
    for (const args of [
      ['plan', 'shop', '--to', '1.36.1'],
      ['plan', 'shop', '--to', 'v1.36.1', '-o', 'json'],
      ['plan', 'shop'],
      ['plan', 'nowhere', '--to', '1.36.1'],
      ['versions'],
      ['versions', '--all', '-o', 'json'],
      ['versions', '--cluster', 'shop'],
      ['versions', '--cluster', 'shop', '-o', 'json'],
      ['versions', '--cluster', 'nowhere'],
      ['precheck', '--cluster', 'shop', '--to', '1.36.1'],
      ['precheck', '--cluster', 'shop', '--to', '1.36.1', '--batch-policy', 'fixed:1', '-o', 'json'],
      ['precheck', '--cluster', 'nowhere', '--to', '1.36.1'],
    ]) {
      const local = await kupProcess(svc.dataDir, args);
      const remote = await kupProcess(svc.dataDir, [...args, '--server', svc.url]);
      assert.deepEqual(checkTimeMasked(remote), checkTimeMasked(local), `kup ${args.join(' ')}`);
    }
    const planned = await kupProcess(svc.dataDir, ['plan', 'shop', '--to', '1.36.1', '--server', svc.url]);
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /1\.35\.5.*1\.36\.1/s);
    const shop = await kupProcess(svc.dataDir, ['versions', '--cluster', 'shop', '--server', svc.url]);
    assert.match(shop.stdout, /Cluster shop runs v1\.35\.5\./);
    const nowhere = await kupProcess(svc.dataDir, ['versions', '--cluster', 'nowhere', '--server', svc.url]);
    assert.equal(nowhere.code, 2, nowhere.stderr);
    const checked = await kupProcess(svc.dataDir, [
      'precheck',
      '--cluster',
      'shop',
      '--to',
      '1.36.1',
      '--server',
      svc.url,
    ]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /Result: 0 blockers/);
    assert.equal(
      (await svc.call('GET', '/api/v1/prechecks?cluster=shop')).body.items.length,
      3,
      'the service keeps its reports',
    );
    const byFile = await kupProcess(svc.dataDir, [
      'precheck',
      '--kubeconfig',
      kubeconfigPath,
      '--to',
      '1.36.1',
      '--server',
      svc.url,
    ]);
    assert.equal(byFile.code, 2);
    assert.match(byFile.stderr, /with --server, name a cluster the service knows: --cluster NAME/);
    const created = await svc.call('POST', '/api/v1/runs', { body: { cluster: 'shop', to: '1.36.1' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id as string;
    await waitFor(async () => (await svc.call('GET', `/api/v1/runs/${runId}`)).body.active === false, {
      timeoutMs: 90_000,
      message: 'the run to end',
    });
    for (const args of [
      ['cluster', 'list'],
      ['status', runId],
      ['status', 'shop'],
      ['pause', runId],
    ]) {
      const local = await kupProcess(svc.dataDir, args);
      const remote = await kupProcess(svc.dataDir, [...args, '--server', svc.url]);
      assert.deepEqual(remote, local, `kup ${args.join(' ')}`);
    }
    const paused = await kupProcess(svc.dataDir, ['pause', runId, '--server', svc.url]);
    assert.equal(paused.code, 1);
    assert.match(paused.stderr, /KUP-RUN-001/);
    const status = await kupProcess(svc.dataDir, ['status', runId, '--server', svc.url]);
    assert.match(status.stdout, /succeeded/);
  });

  it('refuses a flag it does not take (exit 2) and a token the service refuses (exit 1)', async () => {
    const unknown = await kupProcess(svc.dataDir, ['status', 'shop', '--server', svc.url, '--data-dir', '/x']);
    assert.equal(unknown.code, 2, unknown.stderr);
    const saved = process.env['KUP_TOKEN'];
    process.env['KUP_TOKEN'] = 'kup_wrong';
    try {
      const refused = await kupProcess(svc.dataDir, ['status', 'shop', '--server', svc.url]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /KUP-AUTH-001/);
    } finally {
      process.env['KUP_TOKEN'] = saved;
    }
  });
});
