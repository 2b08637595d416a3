import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { applyEvent, loadRun, newRunColumns } from '../../engine/apply-event.ts';
import { commandRun } from '../../engine/runs.ts';
import { openSqliteStore } from '../../persistence/store.ts';
import { createRunState } from '../../rollout/machine/state.ts';
import { buildPlan } from '../../rollout/plan.ts';
import { Driver, FakeCluster, fakeTopology } from '../../rollout/machine/test-driver.ts';
import { pausedNotice } from '../../rollout/run-text.ts';
import { runStatusCommand } from './runs.ts';

const DAY = 86_400_000;

/** A data directory with one run of cluster prod, paused at `pausedAt`. */
async function pausedRun(pausedAt: number): Promise<{ dataDir: string; runId: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kup-status-'));
  const store = openSqliteStore({ dataDir });
  try {
    await store.clusters.add({ name: 'prod', kubeconfigPath: '/k/prod', provider: 'sim', providerSettings: {}, addedAt: 1 });
    const plan = buildPlan({
      cluster: 'prod',
      topology: fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.31.4' }),
      change: { kind: 'image', images: { w: 'img-2' } },
      defaults: { strategy: 'in-place' },
      snapshot: false,
    });
    const state = createRunState(plan, { runId: 'run-1', now: pausedAt });
    await store.runs.create({ id: 'run-1', cluster: 'prod', target: 'img-2', ...newRunColumns(state), phase: state.status.phase, createdAt: pausedAt });
    await applyEvent(store, 'run-1', { type: 'started' }, pausedAt);
    await commandRun(store, 'run-1', 'pause', pausedAt);
    assert.equal((await loadRun(store, 'run-1')).state.status.phase, 'paused');
  } finally {
    await store.close();
  }
  return { dataDir, runId: 'run-1' };
}

async function status(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      stdout += chunk.toString();
      done();
    },
  });
  const code = await runStatusCommand(args, { stdout: sink, stderr: sink }, new AbortController().signal);
  return { code, stdout };
}

describe('kup status', () => {
  it('shows a run paused past its limit as ended, though no executor was there to see it, and writes nothing', async () => {
    const { dataDir, runId } = await pausedRun(Date.now() - 16 * DAY);
    const json = await status([runId, '-o', 'json', '--data-dir', dataDir]);
    assert.equal(json.code, 0);
    const shown = JSON.parse(json.stdout) as { status: { phase: string; code?: string } };
    assert.deepEqual([shown.status.phase, shown.status.code], ['failed', 'pause-expired']);
    const line = await status([runId, '--data-dir', dataDir]);
    assert.match(line.stdout, /^failed \| .*paused for more than 15 days \(since .*\): the run ended$/m);
    const store = openSqliteStore({ dataDir });
    try {
      assert.equal((await loadRun(store, runId)).state.status.phase, 'paused', 'reading a status commits nothing');
    } finally {
      await store.close();
    }
  });

  it('shows a run paused within its limit as paused', async () => {
    const { dataDir, runId } = await pausedRun(Date.now() - DAY);
    const shown = JSON.parse((await status([runId, '-o', 'json', '--data-dir', dataDir])).stdout) as { status: { phase: string } };
    assert.equal(shown.status.phase, 'paused');
  });
});

describe('the notice of a paused run', () => {
  function pausedAt(action: 'wait-node-ready' | 'drain'): string {
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.31.4' });
    const plan = buildPlan({ cluster: 'prod', topology, change: { kind: 'image', images: { w: 'img-2' } }, snapshot: false });
    const d = new Driver(createRunState(plan, { runId: 'run-1', now: 1 }), new FakeCluster(topology), {
      intercept: (e) =>
        e.type === action ? { type: 'step-failed', key: e.key, action: e.type, error: { message: 'no luck' }, retryable: false } : undefined,
    });
    d.send({ type: 'started' });
    d.run();
    return pausedNotice(d.state);
  }

  it('offers to replace a replacement that never became Ready', () => {
    const text = pausedAt('wait-node-ready');
    assert.match(text, /^run run-1 paused \(step-failed\): wait-node-ready of w-r1 failed: no luck/);
    assert.match(text, /when the cause is fixed: kup resume run-1 /);
    assert.match(text, /to replace the node that never became Ready with a new one: kup resume run-1 --replace-node\n$/);
  });

  it('does not offer it for other failures', () => {
    const text = pausedAt('drain');
    assert.match(text, /when the cause is fixed: kup resume run-1 /);
    assert.doesNotMatch(text, /--replace-node/);
  });
});
