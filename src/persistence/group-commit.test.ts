import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { GroupCommit } from './group-commit.ts';

const pending = Symbol('pending');
/** Whether `promise` is still pending after the writes committed in this turn. */
async function settledNow(promise: Promise<unknown>): Promise<boolean> {
  return (
    (await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      Promise.resolve(pending),
    ])) !== pending
  );
}

function openPair() {
  const path = join(mkdtempSync(join(tmpdir(), 'kup-group-commit-')), 'db');
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  // Another connection sees only what is committed.
  const other = new BetterSqlite3(path, { readonly: true });
  const committed = () =>
    other
      .prepare<[], { k: string }>('SELECT k FROM t ORDER BY k')
      .all()
      .map((r) => r.k);
  return { db, other, committed };
}

describe('group commit', () => {
  it('commits the writes of one turn together: each resolves once all are committed; a failing one rejects and rolls back alone', async () => {
    const { db, other, committed } = openPair();
    const commits = new GroupCommit(db);
    const insert = db.prepare<[string]>('INSERT INTO t (k) VALUES (?)');
    const seenByOthers: string[][] = [];
    const a = commits.run(() => insert.run('a').changes);
    const b = commits.run(() => {
      insert.run('b1');
      insert.run('a'); // a duplicate: this write fails, and its first insert goes with it
    });
    // A failed write rejects at the commit, without waiting for the disk: its handler goes on at once.
    const bRejected = assert.rejects(b, (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
    const c = commits.run(() => {
      seenByOthers.push(committed());
      insert.run('c');
      return 'c done';
    });
    assert.deepEqual(committed(), [], 'nothing is written before the group commits');
    assert.equal(await settledNow(a), false);
    assert.equal(await a, 1);
    await bRejected;
    assert.equal(await c, 'c done');
    // While the group ran, the first write was not yet visible to another connection: one transaction for the three.
    assert.deepEqual(seenByOthers, [[]]);
    assert.deepEqual(committed(), ['a', 'c']);
    other.close();
    db.close();
  });

  it('takes the flush out of the commit, and close commits and flushes what waits (a store closing)', async () => {
    const { db, other, committed } = openPair();
    const commits = new GroupCommit(db);
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'writes made outside the group commit keep FULL');
    const write = commits.run(() => db.prepare('INSERT INTO t (k) VALUES (?)').run('x').changes);
    commits.close();
    assert.deepEqual(committed(), ['x']);
    assert.equal(await write, 1);
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    db.close();
    await assert.rejects(
      commits.run(() => 1),
      /the database is closed/,
    );
    other.close();
  });
});
