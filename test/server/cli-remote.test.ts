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
import type { KupProcessResult, RolloutFixture } from '../helpers/rollout.ts';
import { FAST_TIMINGS, kupProcess, startRolloutFixture } from '../helpers/rollout.ts';
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

/** Two workers moved one at a time with a soak between: the run is still going for a while after its first batch. */
const SMALL = `
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
${FAST_TIMINGS}
`;

/** bank/ledger on pool guarded under a PDB that never allows a disruption: its drain times out and the run pauses. */
const BLOCKED = `
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 1 }
  - { name: guarded, nodes: 1 }
workloads:
  - { kind: Deployment, name: ledger, namespace: bank, replicas: 2, pdb: { minAvailable: 2 }, nodeSelector: { kup.dev/pool: guarded } }
${FAST_TIMINGS}
`;

/** What differs between two runs of one command on two equal clusters: the run's id, the clock, a pod's hash. */
function runMasked(out: KupProcessResult) {
  const mask = (text: string) =>
    text
      .replace(/run-[0-9a-z-]+/g, 'RUN')
      .replace(/^\d\d:\d\d:\d\d /gm, 'T ')
      .replace(/ledger-[0-9a-z]+-[0-9a-z]+/g, 'ledger-POD');
  return { code: out.code, stdout: mask(out.stdout), stderr: mask(out.stderr) };
}

/** The lines a run's progress gives (how many depends on timing), and the others. */
function progressSplit(stdout: string): { progress: string[]; others: string[] } {
  const lines = stdout.split('\n');
  return {
    progress: lines.filter((l) => /^T RUN /.test(l)),
    others: lines.filter((l) => !/^T RUN /.test(l)),
  };
}

describe('KUP_SERVER', () => {
  it('stands for --server in every command that talks to a service; the commands of local data refuse, naming it', async () => {
    const byFlag = await kupProcess(svc.dataDir, ['cluster', 'list', '--server', svc.url]);
    process.env['KUP_SERVER'] = svc.url;
    try {
      // The service's own data directory would print the same list: a local one that is empty shows the difference.
      const empty = join(svc.dataDir, 'elsewhere');
      const byEnv = await kupProcess(empty, ['cluster', 'list']);
      assert.deepEqual(byEnv, byFlag);
      assert.match(byEnv.stdout, /^NAME/);
      for (const args of [['work'], ['catalog', 'update', '--from', 'x.json'], ['maintenance', 'show', 'shop'], ['rollout', 'list']]) {
        const refused = await kupProcess(empty, args);
        assert.equal(refused.code, 2, `kup ${args.join(' ')}: ${refused.stderr}`);
        assert.equal(
          refused.stderr,
          `kup: kup ${args[0]} does not talk to a service yet, and KUP_SERVER is set (${svc.url}): unset it to work on the local data directory (env -u KUP_SERVER kup ${args[0]} ...)\n`,
        );
      }
      const add = await kupProcess(empty, ['cluster', 'remove', 'x']);
      assert.equal(add.code, 2);
      assert.match(add.stderr, /with --server, kup cluster does list only\n\(KUP_SERVER is set: kup cluster asked http/);
      // Commands with no data of kup's to read ignore it.
      const help = await kupProcess(empty, ['serve', '--help']);
      assert.equal(help.code, 0, help.stderr);
    } finally {
      delete process.env['KUP_SERVER'];
    }
    const flagged = await kupProcess(svc.dataDir, ['work', '--server', svc.url]);
    assert.equal(flagged.code, 2);
    assert.match(flagged.stderr, /kup work does not talk to a service yet: run it without --server/);
  });
});

describe('kup upgrade --server', { timeout: 300_000 }, () => {
  /** The same scenario twice: one cluster in a data directory of its own for the local kup, one for the service. */
  async function clusters(name: string, yaml: string): Promise<{ local: RolloutFixture; remote: RolloutFixture }> {
    const local = await startRolloutFixture(name, yaml);
    const remote = await startRolloutFixture(name, yaml, { register: false });
    const added = await svc.call('POST', '/api/v1/clusters', {
      body: { name, provider: 'sim', kubeconfigPath: remote.kubeconfigPath },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    return { local, remote };
  }

  it('--wait prints what the local one prints and exits 0, following the run across a dropped event stream', async () => {
    const { local, remote } = await clusters('small', SMALL);
    try {
      const args = ['upgrade', 'small', '--to', '1.36.1', '--batch-policy', 'fixed:1', '--soak', '8s', '--yes', '--wait'];
      const here = await kupProcess(local.dataDir, args);
      assert.equal(here.code, 0, `${here.stdout}${here.stderr}`);

      const following = kupProcess(remote.dataDir, [...args, '--server', svc.url]);
      // Once the CLI follows the run's stream and the run is in its pools (a soak of 8 s after each node), every
      // connection of the service is dropped: the CLI opens the stream again after the last event it read.
      const run = await waitFor(
        async () => {
          const latest = (await svc.call('GET', '/api/v1/runs?cluster=small&limit=1')).body.items[0] as
            | { id: string; phase: string }
            | undefined;
          if (latest?.phase !== 'upgrading-pools') return undefined;
          return streamsOpened(latest.id) > 0 ? latest.id : undefined;
        },
        { timeoutMs: 120_000, message: 'the CLI following the run in its pools' },
      );
      // kup status --watch follows it too, from another process, to its end.
      const watching = kupProcess(remote.dataDir, ['status', run, '--watch', '--server', svc.url]);
      await waitFor(() => streamsOpened(run) > 1, { timeoutMs: 60_000, message: 'kup status --watch following' });
      svc.app.server.closeAllConnections();
      // This test's own pooled connections were dropped too: the first request may meet a closed socket.
      const dropped = await waitFor(
        async () => (await svc.call('GET', `/api/v1/runs/${run}`).catch(() => undefined))?.body as
          | { active: boolean }
          | undefined,
        { timeoutMs: 10_000, message: 'the run read after the drop' },
      );
      assert.equal(dropped.active, true, 'the drop landed mid-run');
      const there = await following;
      assert.ok(streamsOpened(run) >= 4, 'both followers opened the stream again');
      const watched = await watching;
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(watched.stdout, /succeeded[^\n]*\n$/);
      // Every event once, in order: the lines of the run's whole log, as kup status prints it at the end.
      const eventLines = (text: string) => text.split('\n').filter((l) => /^\d\d:\d\d:\d\d /.test(l));
      const final = await kupProcess(remote.dataDir, ['status', run, '--server', svc.url]);
      assert.deepEqual(eventLines(watched.stdout), eventLines(final.stdout));

      const [a, b] = [runMasked(here), runMasked(there)];
      assert.equal(b.code, a.code, `${there.stdout}${there.stderr}`);
      assert.equal(b.stderr, a.stderr);
      const [mine, theirs] = [progressSplit(a.stdout), progressSplit(b.stdout)];
      assert.deepEqual(theirs.others, mine.others, 'the created line, and nothing else but progress');
      assert.equal(theirs.progress.at(-1), mine.progress.at(-1), 'the last progress line');
      assert.match(theirs.progress.at(-1) ?? '', /succeeded/);
      assert.equal(new Set(theirs.progress).size, theirs.progress.length, 'no line twice after the reconnect');
    } finally {
      await local.close();
      await remote.close();
    }
  });

  it('--wait returns at a pause as the local one does: exit 3, the cause and how to go on', async () => {
    const { local, remote } = await clusters('blocked', BLOCKED);
    try {
      const args = [
        'upgrade',
        'blocked',
        '--image',
        'ubuntu-2404-kube-v1.35.2',
        '--pool',
        'guarded',
        '--drain-timeout',
        '2s',
        '--acknowledge',
        'pdb-blockers/bank/ledger=testing the pause',
        '--acknowledge',
        'drain-simulation/bank/ledger=testing the pause',
        '--yes',
        '--wait',
      ];
      const here = runMasked(await kupProcess(local.dataDir, args));
      const there = runMasked(await kupProcess(remote.dataDir, [...args, '--server', svc.url]));
      assert.equal(here.code, 3, here.stdout + here.stderr);
      assert.equal(there.code, 3, there.stdout + there.stderr);
      assert.equal(there.stderr, here.stderr);
      const [mine, theirs] = [progressSplit(here.stdout), progressSplit(there.stdout)];
      assert.deepEqual(theirs.others, mine.others, 'the created line and the pause\'s notice');
      assert.match(theirs.others.join('\n'), /^run RUN paused \(drain-timed-out\): drain of guarded-0 timed out/m);
      assert.equal(theirs.progress.at(-1), mine.progress.at(-1));
      const run = (await svc.call('GET', '/api/v1/runs?cluster=blocked&limit=1')).body.items[0];
      assert.equal(run.phase, 'paused');
    } finally {
      await local.close();
      await remote.close();
    }
  });

  it('without --wait the service drives the run, and bad input is refused as locally', async () => {
    for (const args of [
      ['upgrade', 'small'],
      ['upgrade', '--to', '1.36.1', '--yes'],
      ['upgrade', 'small', '--to', '1.36.1', '--strategy', 'sideways', '--yes'],
      ['upgrade', 'small', '--to', '1.36.1'],
      ['upgrade', 'nowhere', '--to', '1.36.1', '--yes'],
    ]) {
      const here = await kupProcess(svc.dataDir, args);
      const there = await kupProcess(svc.dataDir, [...args, '--server', svc.url]);
      assert.deepEqual(there, here, `kup ${args.join(' ')}`);
    }
  });
});

/** How many times the service was asked for run `id`'s event stream (its request log). */
function streamsOpened(id: string): number {
  return svc.logs.filter((l) => l.includes('incoming request') && l.includes(`/api/v1/runs/${id}/events`)).length;
}
