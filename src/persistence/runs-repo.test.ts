import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ClusterBusyError, LeaseLostError, RunConflictError, StoreError } from './errors.ts';
import type { NewRunEvent } from './events-repo.ts';
import type { NewRun } from './runs-repo.ts';
import { newRunId } from './runs-repo.ts';
import type { KupStore } from './store.ts';
import { openSqliteStore } from './store.ts';

let store: KupStore;
let dataDir: string;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kup-runs-'));
  store = openSqliteStore({ dataDir });
  await store.clusters.add({ name: 'prod', kubeconfigPath: '/k/prod', provider: 'sim', providerSettings: {}, addedAt: 1 });
  await store.clusters.add({ name: 'stage', kubeconfigPath: '/k/stage', provider: 'sim', providerSettings: {}, addedAt: 1 });
  await store.clusters.add({ name: 'dev', kubeconfigPath: '/k/dev', provider: 'sim', providerSettings: {}, addedAt: 1 });
});

afterEach(async () => {
  await store.close();
});

const plan = { hops: ['1.30.9', '1.31.5'], pools: [{ name: 'app', batches: [['app-0'], ['app-1', 'app-2']] }] };

function newRun(id: string, overrides: Partial<NewRun> = {}): NewRun {
  return { id, cluster: 'prod', target: '1.31.5', plan, state: { phase: 'pending' }, phase: 'pending', createdAt: 1000, ...overrides };
}

const event = (step: string, outcome = 'succeeded', extra: Partial<NewRunEvent> = {}): NewRunEvent => ({
  at: 2000,
  step,
  outcome,
  message: `${step} ${outcome}`,
  ...extra,
});

describe('runs: create, get, list', () => {
  it('creates a run at version 1 with its first events, and reads plan and state back as the JSON they were', async () => {
    const state = { phase: 'pending', nested: { list: [1, 'two', null, true], empty: {} }, text: 'ü ✓ "quoted"' };
    const created = await store.runs.create(newRun('run-a', { state }), [event('created', 'info', { data: { by: 'cli' } })]);
    assert.deepEqual(created, {
      id: 'run-a',
      cluster: 'prod',
      createdAt: 1000,
      updatedAt: 1000,
      target: '1.31.5',
      phase: 'pending',
      active: true,
      version: 1,
      plan,
      state,
    });
    assert.deepEqual(await store.runs.get('run-a'), created);
    assert.deepEqual(await store.events.list('run-a'), [
      { runId: 'run-a', seq: 1, id: 1, at: 2000, step: 'created', outcome: 'info', message: 'created info', data: { by: 'cli' } },
    ]);
    assert.equal(await store.runs.get('run-missing'), undefined);
  });

  it('refuses a run of an unregistered cluster, and a taken id', async () => {
    await assert.rejects(store.runs.create(newRun('run-x', { cluster: 'nope' })), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'KUP-STORE-008');
      assert.match(err.message, /^KUP-STORE-008: cannot create run run-x: cluster nope is not registered$/);
      return true;
    });
    await store.runs.create(newRun('run-x'));
    await assert.rejects(store.runs.create(newRun('run-x')), (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-011');
  });

  it('refuses a state without a JSON form, writing nothing', async () => {
    await assert.rejects(
      store.runs.create(newRun('run-u', { state: undefined })),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-009' && err.message.includes('state of run run-u'),
    );
    assert.equal(await store.runs.get('run-u'), undefined);
  });

  it('lists by cluster, active ones, and those whose lease can be taken, newest first', async () => {
    await store.runs.create(newRun('run-1', { createdAt: 100, cluster: 'dev' }));
    await store.runs.create(newRun('run-2', { createdAt: 200, active: false, phase: 'succeeded' }));
    await store.runs.create(newRun('run-3', { createdAt: 300, cluster: 'stage' }));
    await store.runs.create(newRun('run-4', { createdAt: 400 }));
    const ids = async (filter?: Parameters<KupStore['runs']['list']>[0]) => (await store.runs.list(filter)).map((r) => r.id);
    assert.deepEqual(await ids(), ['run-4', 'run-3', 'run-2', 'run-1']);
    assert.deepEqual(await ids({ cluster: 'prod' }), ['run-4', 'run-2']);
    assert.deepEqual(await ids({ active: true }), ['run-4', 'run-3', 'run-1']);
    assert.deepEqual(await ids({ active: false }), ['run-2']);
    assert.deepEqual(await ids({ cluster: 'prod', active: true, limit: 1 }), ['run-4']);
    await store.runs.acquireLease('run-1', 'kup-a', 1000, 5000); // held until 6000
    await store.runs.acquireLease('run-4', 'kup-a', 10, 5000); // expired at 5010
    assert.deepEqual(await ids({ active: true, claimableAt: 5500 }), ['run-4', 'run-3']);
    assert.deepEqual(await ids({ active: true, claimableAt: 6000 }), ['run-4', 'run-3', 'run-1']);
    const summary = (await store.runs.list({ cluster: 'prod', active: true, limit: 1 }))[0];
    assert.deepEqual(summary, {
      id: 'run-4',
      cluster: 'prod',
      createdAt: 400,
      updatedAt: 400,
      target: '1.31.5',
      phase: 'pending',
      active: true,
      version: 1,
      lease: { owner: 'kup-a', expiresAt: 5010 },
    });
  });

  it('refuses a second run on a cluster while one has not ended, paused ones included, and names it', async () => {
    await store.runs.create(newRun('run-old', { createdAt: 50, active: false, phase: 'succeeded' }));
    await store.runs.create(newRun('run-1', { createdAt: 100 }));
    await store.runs.saveState('run-1', 1, { state: { phase: 'paused' }, phase: 'paused', active: true, at: 150 });
    await assert.rejects(store.runs.create(newRun('run-2', { createdAt: 200 })), (err: unknown) => {
      assert.ok(err instanceof ClusterBusyError);
      assert.equal(err.code, 'KUP-STORE-012');
      assert.deepEqual(err.activeRun, { id: 'run-1', phase: 'paused' });
      assert.match(err.message, /^KUP-STORE-012: cluster prod already has run run-1 \(paused\): one run per cluster; .*kup cancel run-1/);
      return true;
    });
    assert.equal(await store.runs.get('run-2'), undefined, 'nothing of the refused run is written');
    // Another cluster is not affected; once run-1 ends, prod takes a new run.
    await store.runs.create(newRun('run-3', { createdAt: 300, cluster: 'stage' }));
    await store.runs.saveState('run-1', 2, { state: { phase: 'cancelled' }, phase: 'cancelled', active: false, at: 400 });
    await store.runs.create(newRun('run-4', { createdAt: 500 }));
  });

  it('refuses to start an ended run again while another run has the cluster (a rollback of an old run)', async () => {
    await store.runs.create(newRun('run-1', { createdAt: 100, active: false, phase: 'succeeded' }));
    await store.runs.create(newRun('run-2', { createdAt: 200 }));
    await assert.rejects(
      store.runs.saveState('run-1', 1, { state: { phase: 'rolling-back' }, phase: 'rolling-back', active: true, at: 300 }),
      (err: unknown) => err instanceof ClusterBusyError && err.activeRun.id === 'run-2',
    );
    assert.equal((await store.runs.get('run-1'))?.phase, 'succeeded');
  });

  it('makes sortable ids from the clock', () => {
    assert.equal(newRunId(Date.UTC(2025, 0, 15, 9, 30, 12, 345), '4f1a2b'), 'run-20250115-093012-4f1a2b');
    assert.match(newRunId(0), /^run-19700101-000000-[0-9a-f]{6}$/);
    assert.ok(newRunId(Date.UTC(2025, 0, 2), 'aaaaaa') < newRunId(Date.UTC(2025, 0, 10), '000000'));
  });
});

describe('runs: optimistic concurrency', () => {
  it('saves over the version read and bumps it; a save over a newer version fails with RunConflictError', async () => {
    await store.runs.create(newRun('run-c'));
    // Two writers read version 1.
    const first = await store.runs.saveState('run-c', 1, { state: { phase: 'prechecking' }, phase: 'prechecking', active: true, at: 3000 });
    assert.equal(first, 2);
    await assert.rejects(
      store.runs.saveState('run-c', 1, { state: { phase: 'snapshotting' }, phase: 'snapshotting', active: true, at: 3001 }),
      (err: unknown) => {
        assert.ok(err instanceof RunConflictError);
        assert.equal(err.code, 'KUP-STORE-005');
        assert.equal(err.expectedVersion, 1);
        assert.equal(err.actualVersion, 2);
        assert.equal(err.message, 'KUP-STORE-005: run run-c was saved by another writer: expected version 1, it is at 2');
        return true;
      },
    );
    const run = await store.runs.get('run-c');
    assert.deepEqual([run?.version, run?.phase, run?.state, run?.updatedAt], [2, 'prechecking', { phase: 'prechecking' }, 3000]);
    assert.equal(await store.runs.saveState('run-c', 2, { state: { phase: 'succeeded' }, phase: 'succeeded', active: false, at: 4000 }), 3);
    assert.deepEqual(
      (await store.runs.list({ active: false })).map((r) => r.id),
      ['run-c'],
    );
  });

  it('reads the state alone, and nothing but the version while the run is still at the version the caller knows', async () => {
    await store.runs.create(newRun('run-r', { request: { to: '1.31.5' } }));
    assert.deepEqual(await store.runs.readState('run-r'), { version: 1, state: { phase: 'pending' } });
    assert.deepEqual(await store.runs.readState('run-r', 1), { version: 1 });
    await store.runs.saveState('run-r', 1, { state: { phase: 'prechecking' }, phase: 'prechecking', active: true, at: 3000 });
    assert.deepEqual(await store.runs.readState('run-r', 1), { version: 2, state: { phase: 'prechecking' } });
    assert.equal(await store.runs.readState('run-none', 1), undefined);
    // A commit with a plan replaces the plan column too; one without leaves it, and the request, as they were.
    const replanned = { ...plan, revision: 1 };
    await store.runs.saveState('run-r', 2, { state: { phase: 'paused' }, plan: replanned, phase: 'paused', active: true, at: 3001 });
    await store.runs.saveState('run-r', 3, { state: { phase: 'upgrading-pools' }, phase: 'upgrading-pools', active: true, at: 3002 });
    const run = await store.runs.get('run-r');
    assert.deepEqual([run?.version, run?.plan, run?.request], [4, replanned, { to: '1.31.5' }]);
  });

  it('stores a state’s map entries row by row: a commit sets or removes the ones it names, reads merge them all', async () => {
    const entry = (key: string, value?: unknown) => ({ map: 'units', key, ...(value !== undefined ? { value } : {}) });
    await store.runs.create(
      newRun('run-e', {
        state: { phase: 'pending', units: {}, lineage: {} },
        entries: [entry('a', { stage: 'pending' }), entry('b', { stage: 'pending' }), { map: 'lineage', key: 'n-0', value: 'n-0-r1' }],
      }),
    );
    const whole = (units: object) => ({ phase: 'upgrading-pools', units, lineage: { 'n-0': 'n-0-r1' } });
    await store.runs.saveState('run-e', 1, {
      state: { phase: 'upgrading-pools', units: {}, lineage: {} },
      entries: [entry('a', { stage: 'drained' }), entry('b'), entry('c', { stage: 'cordoned' })],
      phase: 'upgrading-pools',
      active: true,
      at: 3000,
    });
    const expected = whole({ a: { stage: 'drained' }, c: { stage: 'cordoned' } });
    assert.deepEqual((await store.runs.get('run-e'))?.state, expected);
    assert.deepEqual(await store.runs.readState('run-e', 1), { version: 2, state: expected });
    // A commit that names no entry leaves them as they were.
    await store.runs.saveState('run-e', 2, { state: { phase: 'upgrading-pools', units: {}, lineage: {} }, phase: 'upgrading-pools', active: true, at: 3001 });
    assert.deepEqual((await store.runs.get('run-e'))?.state, expected);
    // A failed commit writes none of its entries.
    await assert.rejects(
      store.runs.saveState('run-e', 2, { state: { phase: 'x' }, entries: [entry('z', { stage: 'pending' })], phase: 'x', active: true, at: 3002 }),
      RunConflictError,
    );
    await assert.rejects(
      store.runs.saveState('run-e', 3, { state: { phase: 'x' }, entries: [entry('z', 1n)], phase: 'x', active: true, at: 3002 }),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-009' && err.message.includes('entry units.z of the state of run run-e'),
    );
    assert.deepEqual((await store.runs.get('run-e'))?.state, expected);
  });

  it('names a missing run', async () => {
    await assert.rejects(
      store.runs.saveState('run-none', 1, { state: {}, phase: 'x', active: true, at: 1 }),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-004' && err.message === 'KUP-STORE-004: run run-none does not exist',
    );
  });
});

describe('runs: commitStep writes state, events and step outcomes together', () => {
  it('commits all three and numbers the events after the ones already there', async () => {
    await store.runs.create(newRun('run-s'), [event('created', 'info')]);
    const begun = await store.stepOutcomes.begin('run-s', 'replace/app/app-0', 2500);
    assert.equal(begun.firstAttempt, true);
    const result = await store.runs.commitStep(
      'run-s',
      1,
      { state: { phase: 'upgrading-pools', done: ['app-0'] }, phase: 'upgrading-pools', active: true, at: 3000 },
      [event('replace', 'succeeded', { node: 'app-0', data: { newNode: 'app-7f3a1' } }), event('uncordon', 'succeeded', { node: 'app-7f3a1' })],
      { finishSteps: [{ stepKey: 'replace/app/app-0', finishedAt: 2900, outcome: { newNode: 'app-7f3a1' } }] },
    );
    assert.equal(result.version, 2);
    assert.deepEqual(result.events.map((e) => [e.seq, e.step, e.node]), [
      [2, 'replace', 'app-0'],
      [3, 'uncordon', 'app-7f3a1'],
    ]);
    assert.deepEqual(result.steps, [
      { runId: 'run-s', stepKey: 'replace/app/app-0', startedAt: 2500, finishedAt: 2900, outcome: { newNode: 'app-7f3a1' } },
    ]);
    assert.deepEqual(await store.events.list('run-s', { afterSeq: 1 }), result.events);
    assert.deepEqual((await store.runs.get('run-s'))?.state, { phase: 'upgrading-pools', done: ['app-0'] });
  });

  const nothingMoved = async (id: string): Promise<void> => {
    const run = await store.runs.get(id);
    assert.equal(run?.version, 1, 'the state was not saved');
    assert.deepEqual(run?.state, { phase: 'pending' });
    assert.deepEqual((await store.events.list(id)).map((e) => e.step), ['created'], 'no event of the failed step was kept');
  };

  it('writes nothing when an event cannot be stored (its data has no JSON form)', async () => {
    await store.runs.create(newRun('run-e'), [event('created', 'info')]);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await assert.rejects(
      store.runs.commitStep('run-e', 1, { state: { phase: 'snapshotting' }, phase: 'snapshotting', active: true, at: 3000 }, [
        event('snapshot', 'started'),
        event('snapshot', 'succeeded', { data: cyclic }),
      ]),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-009',
    );
    await nothingMoved('run-e');
  });

  it('writes nothing when a step outcome fails after the state and the events were written', async () => {
    await store.runs.create(newRun('run-f'), [event('created', 'info')]);
    await assert.rejects(
      store.runs.commitStep(
        'run-f',
        1,
        { state: { phase: 'snapshotting' }, phase: 'snapshotting', active: true, at: 3000 },
        [event('snapshot', 'succeeded')],
        { finishSteps: [{ stepKey: 'snapshot', finishedAt: 3000, outcome: { id: 'snap-1' } }] },
      ),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-010' && err.message.includes('step snapshot of run run-f was never begun'),
    );
    await nothingMoved('run-f');
    assert.equal(await store.stepOutcomes.get('run-f', 'snapshot'), undefined);
  });

  it('writes nothing on a version conflict', async () => {
    await store.runs.create(newRun('run-v'), [event('created', 'info')]);
    await assert.rejects(
      store.runs.commitStep('run-v', 7, { state: { phase: 'x' }, phase: 'x', active: true, at: 3000 }, [event('x')]),
      RunConflictError,
    );
    await nothingMoved('run-v');
  });

  it('fences a writer that lost the lease: nothing it commits lands', async () => {
    await store.runs.create(newRun('run-l'), [event('created', 'info')]);
    await store.runs.acquireLease('run-l', 'kup-a', 1000, 0);
    // kup-a stalls past its lease; kup-b takes the run over.
    const takeover = await store.runs.acquireLease('run-l', 'kup-b', 1000, 1500);
    assert.deepEqual(takeover, { acquired: true, lease: { owner: 'kup-b', expiresAt: 2500 }, takenOverFrom: 'kup-a' });
    await assert.rejects(
      store.runs.commitStep('run-l', 1, { state: { phase: 'x' }, phase: 'x', active: true, at: 1600 }, [event('x')], { leaseOwner: 'kup-a' }),
      (err: unknown) => {
        assert.ok(err instanceof LeaseLostError);
        assert.equal(err.message, 'KUP-STORE-006: kup-a does not hold the lease of run run-l: kup-b does');
        assert.equal(err.holder, 'kup-b');
        return true;
      },
    );
    await nothingMoved('run-l');
    const ok = await store.runs.commitStep('run-l', 1, { state: { phase: 'x' }, phase: 'x', active: true, at: 1600 }, [], { leaseOwner: 'kup-b' });
    assert.equal(ok.version, 2);
  });
});

describe('runs: leases', () => {
  it('grants a free lease, refuses a held one, and lets another owner take it over once it has expired', async () => {
    await store.runs.create(newRun('run-h'));
    assert.deepEqual(await store.runs.acquireLease('run-h', 'kup-a', 30_000, 10_000), { acquired: true, lease: { owner: 'kup-a', expiresAt: 40_000 } });
    // Held: kup-b is told who holds it and until when.
    assert.deepEqual(await store.runs.acquireLease('run-h', 'kup-b', 30_000, 39_999), {
      acquired: false,
      holder: { owner: 'kup-a', expiresAt: 40_000 },
    });
    // The holder acquiring again extends it (a restarted kup with the same identity).
    assert.deepEqual(await store.runs.acquireLease('run-h', 'kup-a', 30_000, 20_000), { acquired: true, lease: { owner: 'kup-a', expiresAt: 50_000 } });
    // kup-a dies; at expiry kup-b takes over.
    assert.deepEqual(await store.runs.acquireLease('run-h', 'kup-b', 30_000, 50_000), {
      acquired: true,
      lease: { owner: 'kup-b', expiresAt: 80_000 },
      takenOverFrom: 'kup-a',
    });
    assert.deepEqual((await store.runs.get('run-h'))?.lease, { owner: 'kup-b', expiresAt: 80_000 });
    // The old holder can neither renew nor release it.
    await assert.rejects(store.runs.renewLease('run-h', 'kup-a', 30_000, 50_001), LeaseLostError);
    assert.equal(await store.runs.releaseLease('run-h', 'kup-a'), false);
    assert.deepEqual((await store.runs.get('run-h'))?.lease, { owner: 'kup-b', expiresAt: 80_000 });
  });

  it('renews the holder’s lease (even past expiry when nobody took it) and releases it', async () => {
    await store.runs.create(newRun('run-r'));
    await store.runs.acquireLease('run-r', 'kup-a', 1000, 0);
    assert.deepEqual(await store.runs.renewLease('run-r', 'kup-a', 1000, 500), { owner: 'kup-a', expiresAt: 1500 });
    assert.deepEqual(await store.runs.renewLease('run-r', 'kup-a', 1000, 9000), { owner: 'kup-a', expiresAt: 10_000 });
    assert.equal(await store.runs.releaseLease('run-r', 'kup-a'), true);
    assert.equal((await store.runs.get('run-r'))?.lease, undefined);
    await assert.rejects(store.runs.renewLease('run-r', 'kup-a', 1000, 9500), (err: unknown) => err instanceof LeaseLostError && err.message.endsWith('(nobody does)'));
    // Released: anyone may take it at once.
    assert.deepEqual(await store.runs.acquireLease('run-r', 'kup-b', 1000, 9500), { acquired: true, lease: { owner: 'kup-b', expiresAt: 10_500 } });
  });

  it('refuses a lease on a missing run and a non-positive ttl', async () => {
    await assert.rejects(store.runs.acquireLease('run-none', 'kup-a', 1000, 0), (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-004');
    await store.runs.create(newRun('run-t'));
    await assert.rejects(store.runs.acquireLease('run-t', 'kup-a', 0, 0), RangeError);
  });

  it('gives the lease to exactly one of two stores racing on the same file', async () => {
    await store.runs.create(newRun('run-race'));
    const other = openSqliteStore({ dataDir });
    try {
      const [a, b] = await Promise.all([
        store.runs.acquireLease('run-race', 'kup-a', 1000, 0),
        other.runs.acquireLease('run-race', 'kup-b', 1000, 0),
      ]);
      assert.deepEqual([a.acquired, b.acquired].sort(), [false, true]);
    } finally {
      await other.close();
    }
  });
});
