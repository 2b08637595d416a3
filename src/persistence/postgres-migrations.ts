/**
 * The migrations of `migrations.ts` applied to PostgreSQL: the same list, the same `schema_migrations` record, one
 * transaction per migration (PostgreSQL's DDL is transactional, so a failed migration leaves nothing behind), and a
 * database ahead of this kup refused. Several replicas starting together queue on a session advisory lock: one
 * migrates, the others find the work done.
 *
 * A portable migration's SQL is translated here, the one place that knows both dialects: INTEGER becomes BIGINT
 * (SQLite's INTEGER is 64-bit; kup's times in ms do not fit PostgreSQL's 32-bit INTEGER), and SQLite's table options
 * (`STRICT`, `WITHOUT ROWID`) are dropped.
 *
 * Unlike SQLite's, no copy is made before migrating: a PostgreSQL database is backed up by its operator's own means
 * (pg_dump, base backups), which kup cannot know.
 */
import type { PoolClient } from 'pg';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { Migration, MigrateOptions, MigrationResult } from './migrations.ts';
import { MIGRATIONS, checkList } from './migrations.ts';
import { postgresSession } from './postgres-sql.ts';
import type { SqlDatabase } from './sql.ts';

/** The key of the advisory lock replicas migrate under (any constant: it names kup's schema among other users'). */
const MIGRATION_LOCK = 0x6b75705f6d6967; // "kup_mig"

/** PostgreSQL's text of a migration. */
export function postgresText(migration: Migration): string {
  if (migration.postgres !== undefined) return migration.postgres;
  return migration.sql
    .replace(/\bINTEGER\b/gi, 'BIGINT')
    .replace(/\)\s*STRICT\s*,\s*WITHOUT\s+ROWID\s*;/gi, ');')
    .replace(/\)\s*WITHOUT\s+ROWID\s*,\s*STRICT\s*;/gi, ');')
    .replace(/\)\s*(STRICT|WITHOUT\s+ROWID)\s*;/gi, ');');
}

/**
 * Brings a PostgreSQL database to the last version of `migrations`, one transaction per migration.
 *
 * @throws {StoreError} KUP-STORE-002 when the database is ahead of the list; KUP-STORE-003 when a migration fails
 *   (that migration is rolled back; those before it stay applied).
 */
export async function migratePostgres(db: SqlDatabase, options: Omit<MigrateOptions, 'backup'> = {}): Promise<MigrationResult> {
  const session = postgresSession(db);
  if (session === undefined) throw new TypeError('migratePostgres needs a database opened with postgresSql');
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? Date.now;
  checkList(migrations);
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  return session(async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    BIGINT PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
      const from = await postgresSchemaVersion(client);
      if (from > latest) {
        throw new StoreError(
          StoreErrorCode.schemaTooNew,
          `the database is at schema version ${from}, this kup knows versions up to ${latest}: it was written by a newer kup`,
          { path: db.location },
        );
      }
      const applied: number[] = [];
      for (const migration of migrations) {
        if (migration.version <= from) continue;
        await apply(client, migration, now(), db.location);
        applied.push(migration.version);
      }
      return { from, to: Math.max(from, latest), applied };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  });
}

async function apply(client: PoolClient, migration: Migration, at: number, location: string): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(postgresText(migration));
    await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, at]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new StoreError(
      StoreErrorCode.migration,
      `migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`,
      { path: location },
      { cause: err },
    );
  }
}

async function postgresSchemaVersion(client: PoolClient): Promise<number> {
  const result = await client.query<{ version: string | number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
  return Number(result.rows[0]?.version ?? 0);
}
