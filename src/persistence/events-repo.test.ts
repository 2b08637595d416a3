import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { databasePath } from './database.ts';
import { StoreError } from './errors.ts';
import type { KupStore } from './store.ts';
import { openSqliteStore } from './store.ts';

let store: KupStore;
let dataDir: string;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kup-events-'));
  store = openSqliteStore({ dataDir });
  // One run per cluster at a time: the two runs are on two clusters.
  for (const [id, cluster] of [['run-a', 'prod'], ['run-b', 'stage']] as const) {
    await store.clusters.add({ name: cluster, kubeconfigPath: `/k/${cluster}`, provider: 'sim', providerSettings: {}, addedAt: 1 });
    await store.runs.create({ id, cluster, target: '1.31.5', plan: {}, state: {}, phase: 'pending', createdAt: 1 });
  }
});

afterEach(async () => {
  await store.close();
});

describe('run events', () => {
  it('numbers each run’s events from 1 without gaps, and lists them after a seq, in pages', async () => {
    const first = await store.events.append('run-a', [
      { at: 10, step: 'precheck', outcome: 'started', message: 'prechecks started' },
      { at: 20, step: 'precheck', outcome: 'succeeded', message: 'no blockers', data: { warnings: 2 } },
    ]);
    await store.events.append('run-b', [{ at: 15, step: 'precheck', outcome: 'started', message: 'b' }]);
    const second = await store.events.append('run-a', [
      { at: 30, step: 'drain', node: 'app-0', outcome: 'failed', message: 'eviction blocked', data: { pod: 'shop/cart-1', pdb: 'shop/cart' } },
    ]);
    assert.deepEqual(first.map((e) => e.seq), [1, 2]);
    assert.deepEqual(second, [
      { runId: 'run-a', seq: 3, id: 4, at: 30, step: 'drain', node: 'app-0', outcome: 'failed', message: 'eviction blocked', data: { pod: 'shop/cart-1', pdb: 'shop/cart' } },
    ]);
    assert.deepEqual(await store.events.list('run-a'), [...first, ...second]);
    assert.deepEqual((await store.events.list('run-a', { afterSeq: 1 })).map((e) => e.seq), [2, 3]);
    assert.deepEqual((await store.events.list('run-a', { afterSeq: 0, limit: 2 })).map((e) => e.seq), [1, 2]);
    assert.deepEqual(await store.events.list('run-a', { afterSeq: 3 }), []);
    assert.equal(await store.events.lastSeq('run-a'), 3);
    assert.equal(await store.events.lastSeq('run-b'), 1);
    assert.equal(await store.events.lastSeq('run-none'), 0);
  });

  it('refuses events of a missing run, and appends none of a batch that fails', async () => {
    await assert.rejects(
      store.events.append('run-none', [{ at: 1, step: 'x', outcome: 'info', message: 'x' }]),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-004' && err.message.includes('run run-none'),
    );
    await assert.rejects(
      store.events.append('run-a', [
        { at: 1, step: 'ok', outcome: 'info', message: 'fine' },
        { at: 2, step: 'bad', outcome: 'info', message: 'no JSON', data: () => 1 },
      ]),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-009',
    );
    assert.deepEqual(await store.events.list('run-a'), []);
  });

  it('is append-only in the database itself', async () => {
    await store.events.append('run-a', [{ at: 1, step: 'snapshot', outcome: 'succeeded', message: 'taken' }]);
    const db = new BetterSqlite3(databasePath(dataDir));
    try {
      assert.throws(() => db.prepare("UPDATE run_events SET message = 'rewritten'").run(), /run events are append-only/);
    } finally {
      db.close();
    }
    assert.equal((await store.events.list('run-a'))[0]?.message, 'taken');
  });

  it('gives every event a global id in commit order across runs, resumable after any id, never given out twice after a purge', async () => {
    await store.events.append('run-a', [{ at: 1, step: 'a1', outcome: 'info', message: 'a1' }]);
    await store.events.append('run-b', [
      { at: 2, step: 'b1', outcome: 'info', message: 'b1' },
      { at: 3, step: 'b2', outcome: 'info', message: 'b2' },
    ]);
    await store.events.append('run-a', [{ at: 4, step: 'a2', outcome: 'info', message: 'a2' }]);
    assert.deepEqual((await store.events.listAll()).map((e) => [e.id, e.runId, e.seq]), [
      [1, 'run-a', 1],
      [2, 'run-b', 1],
      [3, 'run-b', 2],
      [4, 'run-a', 2],
    ]);
    assert.deepEqual((await store.events.listAll({ afterId: 2, limit: 1 })).map((e) => e.step), ['b2']);
    assert.deepEqual((await store.events.list('run-a', { afterId: 1 })).map((e) => e.step), ['a2']);
    assert.equal(await store.events.lastId(), 4);
    // The newest events go with their runs: the next id is still 5, not 4 again.
    const db = new BetterSqlite3(databasePath(dataDir));
    try {
      db.pragma('foreign_keys = ON');
      db.prepare("DELETE FROM runs WHERE id = 'run-a'").run();
    } finally {
      db.close();
    }
    await store.events.append('run-b', [{ at: 5, step: 'b3', outcome: 'info', message: 'b3' }]);
    assert.deepEqual((await store.events.listAll({ afterId: 3 })).map((e) => [e.id, e.step]), [[5, 'b3']]);
  });
});
