/**
 * The schema of kup's store, SQLite and PostgreSQL alike, as numbered, forward-only migrations (one list: a
 * migration's `sql` is portable, and PostgreSQL runs it with the translations of postgres-migrations.ts; the first
 * ones, written for SQLite alone, carry a `postgres` text of their own). Each migration is applied in its own
 * transaction and recorded in `schema_migrations`, so a database is always at exactly one version of the list:
 * a crash during a migration leaves it at the previous one, and the next open applies it again. A database written
 * by a newer kup (a version this list does not have) is refused rather than guessed at.
 *
 * Never edit a migration that has shipped: add the next one.
 */
import { chmodSync, existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.ts';

/** One schema change. */
export interface Migration {
  /** 1, 2, 3...: the list is contiguous. */
  readonly version: number;
  /** What it does, recorded beside the version. */
  readonly name: string;
  /**
   * The statements, run in one transaction. Portable SQL (TEXT, INTEGER, no SQLite-only function): PostgreSQL
   * runs it with INTEGER read as BIGINT and SQLite's table options (STRICT, WITHOUT ROWID) dropped.
   */
  readonly sql: string;
  /** PostgreSQL's statements, for a migration whose `sql` uses what only SQLite has. @default sql, translated */
  readonly postgres?: string;
}

/** kup's migrations, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'clusters, runs and run events',
    sql: `
      CREATE TABLE clusters (
        name              TEXT PRIMARY KEY,
        kubeconfig_path   TEXT NOT NULL,
        context           TEXT,
        provider          TEXT NOT NULL,
        provider_settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(provider_settings)),
        added_at          INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE runs (
        id         TEXT PRIMARY KEY,
        cluster    TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        target     TEXT NOT NULL,
        phase      TEXT NOT NULL,
        active     INTEGER NOT NULL CHECK (active IN (0, 1)),
        plan       TEXT NOT NULL CHECK (json_valid(plan)),
        state      TEXT NOT NULL CHECK (json_valid(state)),
        version    INTEGER NOT NULL CHECK (version >= 1)
      ) STRICT;
      CREATE INDEX runs_by_cluster ON runs (cluster, created_at);
      CREATE INDEX runs_active ON runs (created_at) WHERE active = 1;

      CREATE TABLE run_events (
        run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq     INTEGER NOT NULL CHECK (seq >= 1),
        at      INTEGER NOT NULL,
        step    TEXT NOT NULL,
        node    TEXT,
        outcome TEXT NOT NULL,
        message TEXT NOT NULL,
        data    TEXT CHECK (data IS NULL OR json_valid(data)),
        PRIMARY KEY (run_id, seq)
      ) STRICT;
      -- Events are a record of what happened: they are appended, never rewritten (removing a cluster removes its
      -- runs and their events with it).
      CREATE TRIGGER run_events_append_only BEFORE UPDATE ON run_events
      BEGIN
        SELECT RAISE(ABORT, 'run events are append-only');
      END;
    `,
    postgres: `
      CREATE TABLE clusters (
        name              TEXT PRIMARY KEY,
        kubeconfig_path   TEXT NOT NULL,
        context           TEXT,
        provider          TEXT NOT NULL,
        provider_settings TEXT NOT NULL DEFAULT '{}' CHECK (provider_settings::jsonb IS NOT NULL),
        added_at          BIGINT NOT NULL
      );

      CREATE TABLE runs (
        id         TEXT PRIMARY KEY,
        cluster    TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        target     TEXT NOT NULL,
        phase      TEXT NOT NULL,
        active     BIGINT NOT NULL CHECK (active IN (0, 1)),
        plan       TEXT NOT NULL CHECK (plan::jsonb IS NOT NULL),
        state      TEXT NOT NULL CHECK (state::jsonb IS NOT NULL),
        version    BIGINT NOT NULL CHECK (version >= 1)
      );
      CREATE INDEX runs_by_cluster ON runs (cluster, created_at);
      CREATE INDEX runs_active ON runs (created_at) WHERE active = 1;

      CREATE TABLE run_events (
        run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq     BIGINT NOT NULL CHECK (seq >= 1),
        at      BIGINT NOT NULL,
        step    TEXT NOT NULL,
        node    TEXT,
        outcome TEXT NOT NULL,
        message TEXT NOT NULL,
        data    TEXT CHECK (data IS NULL OR data::jsonb IS NOT NULL),
        PRIMARY KEY (run_id, seq)
      );
      CREATE FUNCTION run_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'run events are append-only';
      END
      $$;
      CREATE TRIGGER run_events_append_only BEFORE UPDATE ON run_events
        FOR EACH ROW EXECUTE FUNCTION run_events_append_only();
    `,
  },
  {
    version: 2,
    name: 'run leases and step idempotency records',
    sql: `
      ALTER TABLE runs ADD COLUMN lease_owner TEXT;
      ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;

      CREATE TABLE step_outcomes (
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step_key    TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        outcome     TEXT CHECK (outcome IS NULL OR json_valid(outcome)),
        PRIMARY KEY (run_id, step_key)
      ) STRICT;
    `,
    // rowid: the order in which steps began, which SQLite's rowid gives for free.
    postgres: `
      ALTER TABLE runs ADD COLUMN lease_owner TEXT;
      ALTER TABLE runs ADD COLUMN lease_expires_at BIGINT;

      CREATE TABLE step_outcomes (
        rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step_key    TEXT NOT NULL,
        started_at  BIGINT NOT NULL,
        finished_at BIGINT,
        outcome     TEXT CHECK (outcome IS NULL OR outcome::jsonb IS NOT NULL),
        PRIMARY KEY (run_id, step_key)
      );
    `,
  },
  {
    version: 3,
    name: 'run requests in a column of their own',
    // The plan column held {plan, request}: the request moves to its own column and the plan column keeps the plan
    // alone, so that the engine can store the plan once instead of inside every state it commits.
    sql: `
      ALTER TABLE runs ADD COLUMN request TEXT CHECK (request IS NULL OR json_valid(request));
      UPDATE runs SET request = json_extract(plan, '$.request'), plan = json_extract(plan, '$.plan')
        WHERE json_type(plan, '$.plan') = 'object' AND json_type(plan, '$.request') = 'object';
    `,
    postgres: `
      ALTER TABLE runs ADD COLUMN request TEXT CHECK (request IS NULL OR request::jsonb IS NOT NULL);
      UPDATE runs SET request = (plan::jsonb -> 'request')::text, plan = (plan::jsonb -> 'plan')::text
        WHERE jsonb_typeof(plan::jsonb -> 'plan') = 'object' AND jsonb_typeof(plan::jsonb -> 'request') = 'object';
    `,
  },
  {
    version: 4,
    name: 'run plans in a table of their own, run state maps in rows',
    // SQLite rewrites a whole record on UPDATE, so a plan in the runs row was written again with every state, and a
    // state was written whole after every step of every node. The plan moves to its own table; the state's maps keyed
    // by unit and by node slot (units, lineage) move to one row per entry, so that a commit writes the entries that
    // changed. The state column keeps the rest, with those maps empty.
    sql: `
      CREATE TABLE run_plans (
        run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        plan   TEXT NOT NULL CHECK (json_valid(plan))
      ) STRICT;
      INSERT INTO run_plans (run_id, plan) SELECT id, plan FROM runs;
      ALTER TABLE runs DROP COLUMN plan;

      CREATE TABLE run_state_entries (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        map    TEXT NOT NULL,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL CHECK (json_valid(value)),
        PRIMARY KEY (run_id, map, key)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO run_state_entries (run_id, map, key, value)
        SELECT r.id, m.key, e.key, m.value -> e.fullkey
        FROM runs r, json_each(r.state) m, json_each(m.value) e
        WHERE m.key IN ('units', 'lineage') AND m.type = 'object';
      UPDATE runs SET state = json_set(state, '$.units', json('{}')) WHERE json_type(state, '$.units') = 'object';
      UPDATE runs SET state = json_set(state, '$.lineage', json('{}')) WHERE json_type(state, '$.lineage') = 'object';
    `,
    postgres: `
      CREATE TABLE run_plans (
        run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        plan   TEXT NOT NULL CHECK (plan::jsonb IS NOT NULL)
      );
      INSERT INTO run_plans (run_id, plan) SELECT id, plan FROM runs;
      ALTER TABLE runs DROP COLUMN plan;

      CREATE TABLE run_state_entries (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        map    TEXT NOT NULL,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL CHECK (value::jsonb IS NOT NULL),
        PRIMARY KEY (run_id, map, key)
      );
      INSERT INTO run_state_entries (run_id, map, key, value)
        SELECT r.id, m.key, e.key, e.value::text
        FROM runs r,
          jsonb_each(r.state::jsonb) m,
          jsonb_each(CASE WHEN jsonb_typeof(m.value) = 'object' THEN m.value ELSE '{}'::jsonb END) e
        WHERE m.key IN ('units', 'lineage');
      UPDATE runs SET state = jsonb_set(state::jsonb, '{units}', '{}'::jsonb)::text
        WHERE jsonb_typeof(state::jsonb -> 'units') = 'object';
      UPDATE runs SET state = jsonb_set(state::jsonb, '{lineage}', '{}'::jsonb)::text
        WHERE jsonb_typeof(state::jsonb -> 'lineage') = 'object';
    `,
  },
  {
    version: 5,
    name: 'removed clusters keep their history',
    // Removing a cluster deleted its runs and events with it (ON DELETE CASCADE): the record of what was done to a
    // cluster went with the cluster. A removed cluster's row now stays, marked, so its runs keep their reference.
    sql: `ALTER TABLE clusters ADD COLUMN removed_at INTEGER;`,
  },
  {
    version: 6,
    name: 'global event ids; the service: API tokens, audit log, uploaded credentials, precheck reports',
    // Portable SQL (SQLite and PostgreSQL): no STRICT, no json functions, no AUTOINCREMENT. Global event ids live in
    // a table of their own rather than a column of run_events, whose append-only trigger refuses the UPDATE a
    // backfill would be. Ids come from a counter row, never from MAX(id) + 1: purging a cluster's history deletes
    // events, and an id given out twice would let a reader resuming after it skip the second event.
    sql: `
      CREATE TABLE run_event_ids (
        id     BIGINT PRIMARY KEY,
        run_id TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        UNIQUE (run_id, seq),
        FOREIGN KEY (run_id, seq) REFERENCES run_events (run_id, seq) ON DELETE CASCADE
      );
      INSERT INTO run_event_ids (id, run_id, seq)
        SELECT ROW_NUMBER() OVER (ORDER BY at, run_id, seq), run_id, seq FROM run_events;
      CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value BIGINT NOT NULL
      );
      INSERT INTO counters (name, value) SELECT 'run_event_id', COUNT(*) FROM run_events;
      INSERT INTO counters (name, value) VALUES ('audit_id', 0);

      CREATE TABLE api_tokens (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   BIGINT NOT NULL,
        created_by   TEXT,
        revoked_at   BIGINT
      );

      CREATE TABLE audit_log (
        id      BIGINT PRIMARY KEY,
        at      BIGINT NOT NULL,
        actor   TEXT NOT NULL,
        role    TEXT,
        method  TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT,
        status  INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        code    TEXT
      );

      CREATE TABLE cluster_credentials (
        cluster    TEXT PRIMARY KEY,
        sealed     TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE precheck_reports (
        id         TEXT PRIMARY KEY,
        cluster    TEXT NOT NULL,
        target     TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        blockers   INTEGER NOT NULL,
        warnings   INTEGER NOT NULL,
        report     TEXT NOT NULL
      );
      CREATE INDEX precheck_reports_by_cluster ON precheck_reports (cluster, created_at);
    `,
  },
  {
    version: 7,
    name: 'maintenance settings and labels per cluster, fleet rollouts and their events, webhook outbox',
    // Portable SQL (SQLite and PostgreSQL). A cluster's labels, maintenance schedule and auto-upgrade policy live in a
    // table of their own (JSON text, validated by the domain on the way in), so that the clusters table keeps what
    // reaches a cluster. Rollouts are persisted like runs: the whole state, a version for optimistic concurrency, and
    // append-only events numbered per rollout.
    sql: `
      CREATE TABLE cluster_lifecycle (
        cluster    TEXT PRIMARY KEY REFERENCES clusters(name) ON DELETE CASCADE,
        labels     TEXT NOT NULL,
        schedule   TEXT NOT NULL,
        policy     TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE rollouts (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        phase      TEXT NOT NULL,
        active     INTEGER NOT NULL,
        state      TEXT NOT NULL,
        version    INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX rollouts_by_activity ON rollouts (active, created_at);

      CREATE TABLE rollout_events (
        rollout_id TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        at         BIGINT NOT NULL,
        outcome    TEXT NOT NULL,
        stage      TEXT,
        cluster    TEXT,
        message    TEXT NOT NULL,
        PRIMARY KEY (rollout_id, seq)
      );
    `,
  },
  {
    version: 8,
    name: 'run events name the lease owner that wrote them',
    // Several kups on one database step runs in turn (a lease each): an event committed under a lease names its
    // holder, so the log shows which executor did what, and that no two stepped a run at once.
    sql: `ALTER TABLE run_events ADD COLUMN lease_owner TEXT;`,
  },
  {
    version: 9,
    name: 'webhooks, their outbox of run and rollout events waiting for delivery, and the feed cursors',
    // Portable SQL (SQLite and PostgreSQL). One row per notification and webhook, keyed by the CloudEvent id so that
    // reading the same events again enqueues nothing twice; attempts and the next try are kept for the backoff.
    sql: `
      CREATE TABLE webhooks (
        name       TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        secret     TEXT NOT NULL,
        types      TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE webhook_outbox (
        webhook      TEXT NOT NULL,
        event_id     TEXT NOT NULL,
        event        TEXT NOT NULL,
        attempts     INTEGER NOT NULL,
        next_at      BIGINT NOT NULL,
        last_error   TEXT,
        created_at   BIGINT NOT NULL,
        delivered_at BIGINT,
        dead         INTEGER NOT NULL,
        PRIMARY KEY (webhook, event_id)
      );
      CREATE INDEX webhook_outbox_due ON webhook_outbox (delivered_at, dead, next_at);

      CREATE TABLE webhook_cursors (
        feed     TEXT PRIMARY KEY,
        position BIGINT NOT NULL
      );
    `,
  },
];

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The migrations to apply. @default MIGRATIONS */
  readonly migrations?: readonly Migration[];
  /** The clock `applied_at` is read from. @default Date.now */
  readonly now?: () => number;
  /**
   * Copy a database that has data (schema version > 0) to `<file>.backup-v<from>-<time>` before migrating it, so a
   * migration that goes wrong, or a kup downgrade, can go back to the file as it was. In-memory databases have none.
   * @default true
   */
  readonly backup?: boolean;
}

/** What {@link migrate} did. */
export interface MigrationResult {
  /** The version the database was at. */
  readonly from: number;
  /** The version it is at now. */
  readonly to: number;
  /** The versions applied by this call, in order. */
  readonly applied: readonly number[];
  /** The copy made before migrating, when one was. */
  readonly backup?: string;
}

/** The schema version of a database: the highest recorded migration, 0 for a new database. */
export function schemaVersion(db: Database): number {
  ensureMigrationsTable(db);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

/**
 * Brings a database to the last version of `migrations`, one transaction per migration.
 *
 * @throws {StoreError} KUP-STORE-002 when the database is ahead of the list; KUP-STORE-003 when a migration fails
 *   (that migration is rolled back; those before it stay applied).
 */
export function migrate(db: Database, options: MigrateOptions = {}): MigrationResult {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? Date.now;
  checkList(migrations);
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new StoreError(
      StoreErrorCode.schemaTooNew,
      `the database is at schema version ${from}, this kup knows versions up to ${latest}: it was written by a newer kup`,
      { path: db.name },
    );
  }
  const backup = from > 0 && from < latest && options.backup !== false ? backupBeforeMigrating(db, from, now()) : undefined;
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    // IMMEDIATE: two kups opening the same file at once queue here; the second sees the migration recorded.
    const apply = db.transaction(() => {
      const done = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version);
      if (done !== undefined) return false;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        now(),
      );
      return true;
    });
    try {
      if (apply.immediate()) applied.push(migration.version);
    } catch (err) {
      throw new StoreError(
        StoreErrorCode.migration,
        `migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`,
        { path: db.name },
        { cause: err },
      );
    }
  }
  return { from, to: Math.max(from, latest), applied, ...(backup !== undefined ? { backup } : {}) };
}

/**
 * A consistent copy of the database (`VACUUM INTO`: other processes' readers and writers are not stopped, and the copy
 * is a whole database, not a torn file), readable by its owner only. Undefined for an in-memory database, or when
 * another kup opening the same file made its copy in the same second.
 *
 * @throws {StoreError} KUP-STORE-003 when the copy cannot be written: no migration runs without its backup.
 */
function backupBeforeMigrating(db: Database, from: number, at: number): string | undefined {
  if (db.memory || db.name === '') return undefined;
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const path = `${db.name}.backup-v${from}-${stamp}`;
  if (existsSync(path)) return undefined;
  try {
    db.prepare('VACUUM INTO ?').run(path);
    chmodSync(path, 0o600);
  } catch (err) {
    throw new StoreError(
      StoreErrorCode.migration,
      `cannot back up the database to ${path} before migrating it from version ${from}: ${(err as Error).message}`,
      { path: db.name },
      { cause: err },
    );
  }
  return path;
}

function ensureMigrationsTable(db: Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
}

/**
 * Refuses a list that is not 1, 2, 3... in order.
 *
 * @throws {StoreError} KUP-STORE-003 naming the first position out of order.
 */
export function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new StoreError(
        StoreErrorCode.migration,
        `migration list is not contiguous: position ${i + 1} holds version ${m.version} (${m.name})`,
      );
    }
  });
}
