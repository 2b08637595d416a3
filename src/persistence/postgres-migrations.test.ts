import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { PostgresServer } from '../../test/helpers/postgres.ts';
import { startPostgres } from '../../test/helpers/postgres.ts';
import { StoreError } from './errors.ts';
import type { Migration } from './migrations.ts';
import { MIGRATIONS } from './migrations.ts';
import { migratePostgres, postgresText } from './postgres-migrations.ts';
import { postgresSql } from './postgres-sql.ts';
import { openStore } from './store.ts';

let server: PostgresServer;
let databases = 0;

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server.stop();
});

const fresh = (): Promise<string> => server.createDatabase(`kup_migrations_${++databases}`);

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL migrations', () => {
  it('translates portable SQL: INTEGER as BIGINT, SQLite table options dropped', () => {
    const text = postgresText({
      version: 9,
      name: 'x',
      sql: 'CREATE TABLE a (n INTEGER NOT NULL, t TEXT) STRICT;\nCREATE TABLE b (k TEXT PRIMARY KEY, v integer) STRICT, WITHOUT ROWID;',
    });
    assert.equal(text, 'CREATE TABLE a (n BIGINT NOT NULL, t TEXT);\nCREATE TABLE b (k TEXT PRIMARY KEY, v BIGINT);');
    assert.equal(
      postgresText({ version: 1, name: 'own', sql: 'SELECT json_valid(1)', postgres: 'SELECT 1' }),
      'SELECT 1',
    );
  });

  it('brings a new database to the last version once, when three replicas open it at the same time', async () => {
    const url = await fresh();
    const stores = await Promise.all([
      openStore({ url, now: () => 7000 }),
      openStore({ url, now: () => 7000 }),
      openStore({ url, now: () => 7000 }),
    ]);
    try {
      const recorded = await query<{ version: string; name: string; applied_at: string }>(
        url,
        'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(
        recorded.map((r) => ({ version: Number(r.version), name: r.name, appliedAt: Number(r.applied_at) })),
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: 7000 })),
      );
      // Every integer column is 64-bit: a time in ms round-trips.
      const ints = await query<{ table_name: string; column_name: string }>(
        url,
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'integer'",
      );
      assert.deepEqual(ints, []);
      await stores[0].clusters.add({
        name: 'prod',
        kubeconfigPath: '/k',
        provider: 'sim',
        providerSettings: {},
        addedAt: 8_640_000_000_000,
      });
      assert.equal((await stores[1].clusters.get('prod'))?.addedAt, 8_640_000_000_000);
    } finally {
      for (const s of stores) await s.close();
    }
    const db = postgresSql({ url });
    try {
      assert.deepEqual(await migratePostgres(db), { from: MIGRATIONS.length, to: MIGRATIONS.length, applied: [] });
    } finally {
      await db.close();
    }
  });

  it('migrates an older database forward, keeping its rows', async () => {
    const url = await fresh();
    const db = postgresSql({ url });
    try {
      assert.deepEqual(await migratePostgres(db, { migrations: MIGRATIONS.slice(0, 2) }), {
        from: 0,
        to: 2,
        applied: [1, 2],
      });
      await db.run("INSERT INTO clusters (name, kubeconfig_path, provider, added_at) VALUES ('prod', '/k', 'sim', 1)");
      await db.run(
        `INSERT INTO runs (id, cluster, created_at, updated_at, target, phase, active, plan, state, version)
         VALUES ('run-1', 'prod', 1, 1, '1.31.4', 'upgrading-pools', 1, '{"plan":{"schema":1},"request":{"to":"1.31.4"}}', '{"phase":"x","units":{"a":{"n":1}},"lineage":{}}', 1)`,
      );
      const result = await migratePostgres(db);
      assert.deepEqual(
        result.applied,
        MIGRATIONS.slice(2).map((m) => m.version),
      );
    } finally {
      await db.close();
    }
    const store = await openStore({ url });
    try {
      const run = await store.runs.get('run-1');
      assert.deepEqual(
        [run?.plan, run?.request, run?.state],
        [{ schema: 1 }, { to: '1.31.4' }, { phase: 'x', units: { a: { n: 1 } }, lineage: {} }],
      );
    } finally {
      await store.close();
    }
  });

  it('refuses a database ahead of this kup, and rolls a failed migration back whole', async () => {
    const url = await fresh();
    const future: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'from a newer kup',
      sql: 'CREATE TABLE future (x TEXT);',
    };
    const db = postgresSql({ url });
    try {
      await migratePostgres(db, { migrations: [...MIGRATIONS, future] });
      await assert.rejects(
        migratePostgres(db),
        (err: unknown) =>
          err instanceof StoreError && err.code === 'KUP-STORE-002' && /written by a newer kup/.test(err.message),
      );
    } finally {
      await db.close();
    }
    const other = await fresh();
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      sql: 'CREATE TABLE half (x TEXT); SELECT * FROM missing_table;',
    };
    await assert.rejects(
      openStore({ url: other }).then(async (s) => {
        await s.close();
        const db2 = postgresSql({ url: other });
        try {
          await migratePostgres(db2, { migrations: [...MIGRATIONS, broken] });
        } finally {
          await db2.close();
        }
      }),
      (err: unknown) =>
        err instanceof StoreError &&
        err.code === 'KUP-STORE-003' &&
        /migration \d+ \(broken\) failed: relation "missing_table" does not exist/.test(err.message),
    );
    assert.deepEqual(
      await query(other, "SELECT table_name FROM information_schema.tables WHERE table_name = 'half'"),
      [],
      'nothing of the failed migration is left',
    );
  });

  it('names a database it cannot reach without its password, and shows the URL without it', async () => {
    await assert.rejects(
      openStore({ url: 'postgres://kup:s3cret@127.0.0.1:1/kup' }),
      (err: unknown) =>
        err instanceof StoreError &&
        err.code === 'KUP-STORE-001' &&
        err.message.includes('postgres://kup:***@127.0.0.1:1/kup') &&
        !err.message.includes('s3cret'),
    );
    await assert.rejects(
      openStore({ url: 'mysql://kup:s3cret@h/kup' }),
      (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-001' && !err.message.includes('s3cret'),
    );
    // The throwaway server trusts loopback: any password is accepted, and the store's location hides it.
    const url = (await fresh()).replace('postgres://kup@', 'postgres://kup:s3cret@');
    const store = await openStore({ url });
    try {
      assert.equal(store.kind, 'postgres');
      assert.match(store.location, /^postgres:\/\/kup:\*\*\*@127\.0\.0\.1:\d+\/kup_migrations_\d+$/);
    } finally {
      await store.close();
    }
  });
});
