/**
 * Run safety end to end: what keeps two runs from colliding on one cluster, through the real command line in
 * separate processes (the race is decided by the database, not by one process's memory).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { loadRun } from '../../src/engine/apply-event.ts';
import { FAST_TIMINGS, kupProcess, setFaults, startRolloutFixture, steerRun } from '../helpers/rollout.ts';
import { api } from '../helpers/sim.ts';


const SMALL = `
name: small
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 1 }
${FAST_TIMINGS}
`;

/** bank/ledger: two replicas on the only node of pool `guarded`, under a PDB that never allows a disruption. */
const BLOCKED = `
name: blocked
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 1 }
  - { name: guarded, nodes: 1 }
workloads:
  - { kind: Deployment, name: ledger, namespace: bank, replicas: 2, pdb: { minAvailable: 2 }, nodeSelector: { kup.dev/pool: guarded } }
${FAST_TIMINGS}
`;

/** An image upgrade of pool `guarded` whose drain times out on bank/ledger's budget, and so pauses the run. */
function blockedUpgrade(cluster: string, image = 'ubuntu-2404-kube-v1.35.2'): string[] {
  return [
    'upgrade',
    cluster,
    '--image',
    image,
    '--pool',
    'guarded',
    '--drain-timeout',
    '2s',
    '--acknowledge',
    'pdb-blockers/bank/ledger=testing the pause',
    '--acknowledge',
    'drain-simulation/bank/ledger=testing the pause',
    '--yes',
  ];
}

describe('run safety', { timeout: 300_000 }, () => {
  it('an upgrade to the version the cluster runs is refused, and creates no run', async () => {
    const fx = await startRolloutFixture('small', SMALL);
    try {
      for (const args of [['upgrade', '--yes'], ['plan']]) {
        const refused = await kupProcess(fx.dataDir, [...args, 'small', '--to', '1.35.2']);
        assert.equal(refused.code, 1, `${args.join(' ')}: ${refused.stdout}${refused.stderr}`);
        assert.match(refused.stderr, /KUP-RUN-010: cluster small is already at 1\.35\.2: nothing to upgrade/);
      }
      assert.deepEqual(await fx.store.runs.list({ cluster: 'small' }), []);
    } finally {
      await fx.close();
    }
  });

  it('two kup upgrade of one cluster started together: one run is created and finishes, the other is refused naming it', async () => {
    const fx = await startRolloutFixture(
      'busy',
      `
name: busy
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { maxUnavailable: 1 } }
${FAST_TIMINGS}
`,
    );
    try {
      const upgrade = ['upgrade', 'busy', '--to', '1.36.1', '--yes', '--wait'];
      const results = await Promise.all([kupProcess(fx.dataDir, upgrade), kupProcess(fx.dataDir, upgrade)]);
      const describe = results.map((r, i) => `process ${i}: exit ${r.code}\n${r.stdout}\n${r.stderr}`).join('\n');
      const winner = results.find((r) => r.code === 0);
      const loser = results.find((r) => r.code !== 0);
      assert.ok(winner && loser, `exactly one upgrade must succeed:\n${describe}`);
      assert.equal(loser.code, 1, describe);
      const runId = /^run (run-\S+) created/m.exec(winner.stdout)?.[1];
      assert.ok(runId, describe);
      assert.doesNotMatch(loser.stdout, /created/, 'the refused process created no run');
      assert.match(
        loser.stderr,
        new RegExp(`KUP-STORE-012: cluster busy already has run ${runId} \\(\\w[\\w-]*\\): one run per cluster`),
      );

      const runs = await fx.store.runs.list({ cluster: 'busy' });
      assert.deepEqual(
        runs.map((r) => [r.id, r.phase]),
        [[runId, 'succeeded']],
      );
    } finally {
      await fx.close();
    }
  });

  it('kup upgrade --wait returns when its run pauses (exit 3, the cause and how to go on); kup resume gets it an executor', async () => {
    const fx = await startRolloutFixture('blocked', BLOCKED);
    try {
      const started = Date.now();
      const upgraded = await kupProcess(fx.dataDir, [...blockedUpgrade('blocked'), '--wait']);
      const out = `${upgraded.stdout}\n${upgraded.stderr}`;
      assert.equal(upgraded.code, 3, out);
      assert.ok(Date.now() - started < 60_000, 'it returned at the pause, not at a timeout');
      const runId = /^run (run-\S+) created/m.exec(upgraded.stdout)?.[1] ?? '';
      assert.match(upgraded.stdout, new RegExp(`^run ${runId} paused \\(drain-timed-out\\): drain of guarded-0 timed out`, 'm'));
      assert.match(upgraded.stdout, /^ {2}at: node guarded-0, pod bank\/ledger-\S+, PodDisruptionBudget bank\/ledger$/m);
      assert.match(upgraded.stdout, new RegExp(`kup resume ${runId}`));
      assert.equal((await fx.store.runs.get(runId))?.lease, undefined, 'the executor let the run go');

      const relaxed = await api(fx.sim, 'PATCH', '/apis/policy/v1/namespaces/bank/poddisruptionbudgets/ledger', { spec: { minAvailable: 1 } }, {
        'Content-Type': 'application/merge-patch+json',
      });
      assert.equal(relaxed.status, 200);
      const resumed = await kupProcess(fx.dataDir, ['resume', runId]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /executing in the background \(pid \d+\)/);
      const final = await waitFor(
        async () => {
          const { state } = await loadRun(fx.store, runId);
          return state.status.phase === 'succeeded' ? state : undefined;
        },
        { message: `run ${runId} to succeed after the resume`, timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.equal(final.status.phase, 'succeeded');
    } finally {
      await fx.close();
    }
  });

  it('kup work started within the lease of an executor that just died waits for the lease and takes the run over', async () => {
    const fx = await startRolloutFixture('orphan', SMALL.replace('name: small', 'name: orphan'));
    const ttl = process.env['KUP_LEASE_TTL_MS'];
    process.env['KUP_LEASE_TTL_MS'] = '4000';
    try {
      const started = await kupProcess(fx.dataDir, ['upgrade', 'orphan', '--to', '1.36.1', '--yes']);
      assert.equal(started.code, 0, started.stderr);
      const pid = Number(/executing in the background \(pid (\d+)\)/.exec(started.stdout)?.[1]);
      const runId = /^run (run-\S+) created/m.exec(started.stdout)?.[1] ?? '';
      const held = await waitFor(async () => (await fx.store.runs.get(runId))?.lease, { message: 'the background executor to take the lease', timeoutMs: 30_000 });
      process.kill(pid, 'SIGKILL');
      assert.ok(held.expiresAt > Date.now(), 'the dead executor lease has not expired yet');

      const worked = await kupProcess(fx.dataDir, ['work']);
      assert.equal(worked.code, 0, `${worked.stdout}\n${worked.stderr}`);
      assert.match(worked.stdout, new RegExp(`^${runId} \\(cluster orphan\\) is held by \\S+ until .*: taken over if that executor stops$`, 'm'));
      assert.match(worked.stdout, new RegExp(`${runId}: executed by \\S+; waiting for its lease`));
      assert.equal((await loadRun(fx.store, runId)).state.status.phase, 'succeeded');
    } finally {
      if (ttl === undefined) delete process.env['KUP_LEASE_TTL_MS'];
      else process.env['KUP_LEASE_TTL_MS'] = ttl;
      await fx.close();
    }
  });

  it('a run paused past its limit does not hold the cluster: a new upgrade ends it and starts', async () => {
    const fx = await startRolloutFixture('expired', BLOCKED.replace('name: blocked', 'name: expired'));
    try {
      const first = await kupProcess(fx.dataDir, [...blockedUpgrade('expired'), '--max-pause', '2s', '--wait']);
      assert.equal(first.code, 3, `${first.stdout}\n${first.stderr}`);
      const firstId = /^run (run-\S+) created/m.exec(first.stdout)?.[1] ?? '';
      // No executor is there to see the limit pass; reading the status shows it, and a new upgrade commits it.
      await waitFor(async () => /^failed \|/m.test((await kupProcess(fx.dataDir, ['status', firstId])).stdout), {
        message: `run ${firstId} to show as ended once paused past its 2 s limit`,
        timeoutMs: 30_000,
        intervalMs: 250,
      });
      const second = await kupProcess(fx.dataDir, [...blockedUpgrade('expired', 'ubuntu-2404-kube-v1.35.2-b'), '--max-pause', '2s']);
      assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
      const { state } = await loadRun(fx.store, firstId);
      assert.deepEqual(state.status.phase === 'failed' ? [state.status.phase, state.status.code] : [state.status.phase], ['failed', 'pause-expired']);
      const secondId = /^run (run-\S+) created/m.exec(second.stdout)?.[1] ?? '';
      await kupProcess(fx.dataDir, ['cancel', secondId]);
    } finally {
      await fx.close();
    }
  });

  it('a cluster that stops answering: an event within seconds, a pause of its own past the outage limit, and back', async () => {
    // Nodes boot in 3 s: the outage lands while the run waits for replacements.
    const fx = await startRolloutFixture('outage', SMALL.replace('name: small', 'name: outage').replace('nodeBoot: 500', 'nodeBoot: 3000'));
    const run = await steerRun(fx, { to: '1.36.1' }, { settings: { apiProbeMs: 500, unreachableTimeoutMs: 3_000 }, timeoutMs: 120_000 });
    try {
      await run.waitFor('the pool upgrade to start', (s) => s.status.phase === 'upgrading-pools', 60_000);
      const lost = Date.now();
      fx.sim.outage(7_000);
      const unreachable = await waitFor(
        async () => (await run.events()).find((e) => e.outcome === 'unreachable'),
        { message: 'the run to tell the API server is unreachable', timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.ok(unreachable.at - lost < 30_000, `told after ${unreachable.at - lost} ms`);
      assert.match(unreachable.message, /^cluster API unreachable since \d\d:\d\d:\d\d \(.*ECONNREFUSED.*\), retrying$/);
      const paused = await run.waitFor('the outage to pause the run', (s) => s.status.phase === 'paused', 30_000);
      assert.ok(paused.status.phase === 'paused');
      assert.equal(paused.status.reason, 'cluster-unreachable');
      assert.equal(paused.status.cause?.code, 'KUP-ENGINE-007');
      assert.match(paused.status.message, /^the cluster API has been unreachable for \d+s \(since \d\d:\d\d:\d\d\): .*ECONNREFUSED/);
      const back = await waitFor(
        async () => (await run.events()).find((e) => e.outcome === 'reachable'),
        { message: 'the run to tell the API server answers again', timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.match(back.message, /^cluster API reachable again after \d+s/);
      await run.command('resume');
      const final = await run.done;
      assert.equal(final.status.phase, 'succeeded', JSON.stringify(final.status));
    } finally {
      await run.stop().catch(() => undefined);
      await fx.close();
    }
  });

  it("kube-sim's outage fault: POST /sim/v1/faults/outage takes the server off the network, then it serves again", async () => {
    const fx = await startRolloutFixture('offline', SMALL.replace('name: small', 'name: offline'));
    try {
      const asked = await api(fx.sim, 'POST', '/sim/v1/faults/outage', { durationMs: 1_500 });
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      const refused = await waitFor(
        // A request on a connection the outage cut is reset; a new one is refused, as by a host that is down.
        () => api(fx.sim, 'GET', '/version').then(() => undefined, (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? err.code : undefined)),
        { message: 'the server to go off the network', timeoutMs: 5_000 },
      );
      assert.equal(refused, 'ECONNREFUSED');
      const back = await waitFor(() => api(fx.sim, 'GET', '/version').then((r) => r.status, () => undefined), {
        message: 'the server to listen again',
        timeoutMs: 10_000,
        intervalMs: 100,
      });
      assert.equal(back, 200);
      const bad = await api(fx.sim, 'POST', '/sim/v1/faults/outage', { durationMs: 0 });
      assert.equal(bad.status, 400);
    } finally {
      await fx.close();
    }
  });

  it('a step slower than expected says what it waits for, long before its timeout', async () => {
    const fx = await startRolloutFixture('silent', SMALL.replace('name: small', 'name: silent'));
    await setFaults(fx.sim, { nodesNeverReady: ['workers/*'] });
    const run = await steerRun(
      fx,
      { image: 'ubuntu-2404-kube-v1.35.2', run: { maxAutoRetries: 0 } },
      { settings: { slowStepNoticeMs: 1_000, nodeReadyTimeoutMs: 8_000 } },
    );
    try {
      const waiting = await waitFor(
        async () => (await run.events()).find((e) => e.outcome === 'waiting'),
        { message: 'a notice that the node wait is slow', timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.match(
        waiting.message,
        /^wait-node-ready of (workers-\S+) is taking longer than expected: \d+s so far \(expected 1s\); node \1 (not registered|Ready=\S+)/,
      );
      const paused = await run.waitFor('the wait to time out and pause the run', (s) => s.status.phase === 'paused', 30_000);
      assert.ok(paused.status.phase === 'paused' && paused.status.reason === 'step-failed');
      const notices = (await run.events()).filter((e) => e.outcome === 'waiting');
      assert.ok(notices.length >= 3, `a notice each second of an 8 s wait, got ${notices.length}`);
    } finally {
      await run.stop().catch(() => undefined);
      await fx.close();
    }
  });
});
