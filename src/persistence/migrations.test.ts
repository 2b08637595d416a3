import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { databasePath, openDatabase } from './database.ts';
import { StoreError } from './errors.ts';
import type { Migration } from './migrations.ts';
import { MIGRATIONS, migrate, schemaVersion } from './migrations.ts';
import { openSqliteStore } from './store.ts';

const freshDir = (): string => mkdtempSync(join(tmpdir(), 'kup-migrations-'));
const tables = (db: ReturnType<typeof openDatabase>): string[] =>
  db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);

describe('openDatabase', () => {
  it('creates <dataDir>/kup.db in WAL mode, synchronous=FULL, with foreign keys and a busy timeout, at the latest schema', () => {
    const dir = join(freshDir(), 'nested', 'data');
    const db = openDatabase({ dataDir: dir, busyTimeoutMs: 1234 });
    try {
      assert.equal(db.name, databasePath(dir));
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 1234);
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      assert.deepEqual(tables(db), [
        'api_tokens',
        'audit_log',
        'cluster_credentials',
        'cluster_lifecycle',
        'clusters',
        'counters',
        'precheck_reports',
        'rollout_events',
        'rollouts',
        'run_event_ids',
        'run_events',
        'run_plans',
        'run_state_entries',
        'runs',
        'schema_migrations',
        'step_outcomes',
        'webhook_cursors',
        'webhook_outbox',
        'webhooks',
      ]);
      const recorded = db.prepare<[], { version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(recorded, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      db.close();
    }
  });

  it('applies nothing when reopened at the latest version', () => {
    const dir = freshDir();
    openDatabase({ dataDir: dir }).close();
    const db = openDatabase({ dataDir: dir });
    try {
      assert.deepEqual(migrate(db), { from: MIGRATIONS.length, to: MIGRATIONS.length, applied: [] });
    } finally {
      db.close();
    }
  });

  it('backs a database with data up before migrating it, readable by its owner only; a new one needs no backup', () => {
    const dir = freshDir();
    const old = openDatabase({ dataDir: dir, migrations: MIGRATIONS.slice(0, 1) });
    old
      .prepare('INSERT INTO clusters (name, kubeconfig_path, context, provider, provider_settings, added_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('prod', '/k/prod', null, 'sim', '{}', 1000);
    old.close();
    const db = openDatabase({ dataDir: dir, migrations: MIGRATIONS.slice(0, 1) });
    const result = migrate(db, { now: () => Date.UTC(2026, 11, 7, 18, 30, 5) });
    db.close();
    const backup = join(dir, 'kup.db.backup-v1-20261207T183005Z');
    assert.equal(result.backup, backup);
    assert.deepEqual(result.applied, MIGRATIONS.slice(1).map((m) => m.version));
    assert.equal(statSync(backup).mode & 0o777, 0o600);
    const copy = new BetterSqlite3(backup, { readonly: true });
    try {
      assert.equal(schemaVersion(copy), 1, 'the copy is the file as it was before migrating');
      assert.deepEqual(copy.prepare('SELECT name FROM clusters').all(), [{ name: 'prod' }]);
    } finally {
      copy.close();
    }
    const fresh = freshDir();
    openDatabase({ dataDir: fresh }).close();
    assert.deepEqual(readdirSync(fresh).filter((f) => f.includes('backup')), []);
  });

  it('names a damaged file, and the backup to restore, instead of failing with a stack trace', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'kup.db'), Buffer.alloc(8192, 7));
    writeFileSync(join(dir, 'kup.db.backup-v3-20261101T000000Z'), '');
    writeFileSync(join(dir, 'kup.db.backup-v3-20261201T000000Z'), '');
    assert.throws(
      () => openDatabase({ dataDir: dir }),
      (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'KUP-STORE-013');
        assert.equal(err.details.path, databasePath(dir));
        const newest = join(dir, 'kup.db.backup-v3-20261201T000000Z');
        assert.ok(
          err.message.startsWith(`KUP-STORE-013: ${databasePath(dir)} is not a kup database or is damaged (file is not a database): restore kup's newest backup (cp ${newest} ${databasePath(dir)})`),
          err.message,
        );
        return true;
      },
    );
  });

  it('migrates a file written at schema version 1, keeping its clusters, runs and events', async () => {
    const dir = freshDir();
    // A kup of schema version 1 wrote this file.
    const old = openDatabase({ dataDir: dir, migrations: MIGRATIONS.slice(0, 1), now: () => 1000 });
    assert.equal(schemaVersion(old), 1);
    assert.ok(!tables(old).includes('step_outcomes'));
    old
      .prepare('INSERT INTO clusters (name, kubeconfig_path, context, provider, provider_settings, added_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('prod', '/etc/kup/prod.kubeconfig', 'prod-admin', 'sim', '{}', 1000);
    old
      .prepare(
        `INSERT INTO runs (id, cluster, created_at, updated_at, target, phase, active, plan, state, version)
         VALUES ('run-1', 'prod', 1000, 2000, '1.31.4', 'paused', 1, '{"hops":["1.31.4"]}', '{"phase":"paused"}', 7)`,
      )
      .run();
    // Before version 3 the engine kept a run's request beside its plan, in the plan column.
    old
      .prepare(
        `INSERT INTO runs (id, cluster, created_at, updated_at, target, phase, active, plan, state, version)
         VALUES ('run-2', 'prod', 1100, 2100, '1.31.4', 'paused', 1, '{"plan":{"schema":1},"request":{"to":"1.31.4"}}', '{"phase":"paused"}', 3)`,
      )
      .run();
    old
      .prepare(`INSERT INTO run_events (run_id, seq, at, step, node, outcome, message, data) VALUES ('run-1', 1, 1500, 'snapshot', NULL, 'succeeded', 'snapshot taken', '{"id":"snap-1"}')`)
      .run();
    old.close();

    const store = openSqliteStore({ dataDir: dir, now: () => 5000 });
    try {
      const run = await store.runs.get('run-1');
      assert.ok(run);
      assert.equal(run.version, 7);
      assert.deepEqual(run.plan, { hops: ['1.31.4'] });
      assert.deepEqual(run.state, { phase: 'paused' });
      assert.equal(run.lease, undefined, 'the new lease columns start empty');
      assert.equal(run.request, undefined);
      const split = await store.runs.get('run-2');
      assert.deepEqual([split?.plan, split?.request], [{ schema: 1 }, { to: '1.31.4' }], 'the request has a column of its own');
      assert.deepEqual(await store.events.list('run-1'), [
        { runId: 'run-1', seq: 1, id: 1, at: 1500, step: 'snapshot', outcome: 'succeeded', message: 'snapshot taken', data: { id: 'snap-1' } },
      ]);
      assert.deepEqual(await store.clusters.get('prod'), {
        name: 'prod',
        kubeconfigPath: '/etc/kup/prod.kubeconfig',
        context: 'prod-admin',
        provider: 'sim',
        providerSettings: {},
        addedAt: 1000,
      });
      // What version 2 added works on the old run.
      const lease = await store.runs.acquireLease('run-1', 'kup-a', 30_000, 6000);
      assert.equal(lease.acquired, true);
      assert.equal((await store.stepOutcomes.begin('run-1', 'replace/app/app-0', 6000)).firstAttempt, true);
    } finally {
      await store.close();
    }
    const db = openDatabase({ dataDir: dir });
    try {
      assert.deepEqual(
        db.prepare<[], { version: number; applied_at: number }>('SELECT version, applied_at FROM schema_migrations ORDER BY version').all(),
        [
          { version: 1, applied_at: 1000 },
          { version: 2, applied_at: 5000 },
          { version: 3, applied_at: 5000 },
          { version: 4, applied_at: 5000 },
          { version: 5, applied_at: 5000 },
          { version: 6, applied_at: 5000 },
          { version: 7, applied_at: 5000 },
          { version: 8, applied_at: 5000 },
          { version: 9, applied_at: 5000 },
        ],
      );
    } finally {
      db.close();
    }
  });

  it('migrates a file written at schema version 3: plans to their own table, the state maps to a row per entry', async () => {
    const dir = freshDir();
    const old = openDatabase({ dataDir: dir, migrations: MIGRATIONS.slice(0, 3), now: () => 1000 });
    old
      .prepare('INSERT INTO clusters (name, kubeconfig_path, context, provider, provider_settings, added_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('prod', '/k/prod', null, 'sim', '{}', 1000);
    const state = {
      schema: 1,
      planRevision: 1,
      status: { phase: 'paused', reason: 'drain timed out' },
      units: { 'app/app-0': { key: 'app/app-0', stage: 'replaced', inFlight: null, attempts: [1, true, null] }, 'app/app-1': { key: 'app/app-1' } },
      lineage: { 'app-0': 'app-0-r1', 'odd "slot".x': 'n' },
      quarantined: ['app-9'],
    };
    old
      .prepare(
        `INSERT INTO runs (id, cluster, created_at, updated_at, target, phase, active, plan, state, request, version)
         VALUES ('run-1', 'prod', 1000, 2000, '1.31.4', 'paused', 1, '{"schema":1,"revision":1}', ?, '{"to":"1.31.4"}', 7)`,
      )
      .run(JSON.stringify(state));
    old.close();

    const db = openDatabase({ dataDir: dir });
    try {
      assert.ok(!db.prepare<[], { name: string }>('PRAGMA table_info(runs)').all().some((c) => c.name === 'plan'), 'runs has no plan column');
      const stored = db.prepare<[], { state: string }>("SELECT state FROM runs WHERE id = 'run-1'").get();
      assert.deepEqual(JSON.parse(stored?.state ?? ''), { ...state, units: {}, lineage: {} }, 'the state row keeps the rest, its maps empty');
      assert.equal(db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM run_state_entries').get()?.n, 4);
    } finally {
      db.close();
    }
    const store = openSqliteStore({ dataDir: dir });
    try {
      const run = await store.runs.get('run-1');
      assert.deepEqual([run?.plan, run?.state, run?.request, run?.version], [{ schema: 1, revision: 1 }, state, { to: '1.31.4' }, 7]);
      assert.deepEqual((await store.runs.readState('run-1'))?.state, state);
    } finally {
      await store.close();
    }
  });

  it('refuses a file written by a newer kup, and leaves it as it is', () => {
    const dir = freshDir();
    const future: Migration = { version: MIGRATIONS.length + 1, name: 'from the future', sql: 'CREATE TABLE future (x INTEGER) STRICT' };
    openDatabase({ dataDir: dir, migrations: [...MIGRATIONS, future] }).close();
    assert.throws(
      () => openDatabase({ dataDir: dir }),
      (err: unknown) =>
        err instanceof StoreError &&
        err.code === 'KUP-STORE-002' &&
        err.message.includes(`schema version ${MIGRATIONS.length + 1}`) &&
        err.message.includes('newer kup'),
    );
    const db = openDatabase({ dataDir: dir, migrations: [...MIGRATIONS, future] });
    try {
      assert.ok(tables(db).includes('future'));
    } finally {
      db.close();
    }
  });

  it('rolls a failing migration back whole: the file stays at the last version that applied', () => {
    const dir = freshDir();
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'half-written',
      sql: 'CREATE TABLE first_half (x INTEGER) STRICT; INSERT INTO no_such_table VALUES (1);',
    };
    assert.throws(
      () => openDatabase({ dataDir: dir, migrations: [...MIGRATIONS, broken] }),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-003' && err.message.includes(`migration ${MIGRATIONS.length + 1} (half-written) failed: no such table`),
    );
    const db = openDatabase({ dataDir: dir });
    try {
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      assert.ok(!tables(db).includes('first_half'), 'the failed migration left nothing behind');
    } finally {
      db.close();
    }
  });

  it('refuses a migration list with a gap', () => {
    const gap: Migration[] = [MIGRATIONS[0] as Migration, { version: 3, name: 'skips 2', sql: 'SELECT 1' }];
    assert.throws(
      () => openDatabase({ dataDir: freshDir(), migrations: gap }),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-003' && err.message.includes('position 2 holds version 3'),
    );
  });
});
