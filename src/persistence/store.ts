/**
 * kup's store: the repositories the engine, the registry, the CLI and the server use, behind one small interface.
 * The repositories are written once against a small SQL layer (`sql.ts`); SQLite (embedded, one file in the data
 * directory) and PostgreSQL (several kup replicas on one database) implement it (docs/adr/002-persistence.md,
 * docs/adr/014-one-sql-layer-for-sqlite-and-postgresql.md).
 */
import type { ClustersRepo } from './clusters-repo.ts';
import { SqlClustersRepo } from './clusters-repo.ts';
import type { OpenDatabaseOptions } from './database.ts';
import { openDatabase } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { EventsRepo } from './events-repo.ts';
import { SqlEventsRepo } from './events-repo.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { postgresSql, redactUrl } from './postgres-sql.ts';
import type { LifecycleRepo } from './lifecycle-repo.ts';
import { SqlLifecycleRepo } from './lifecycle-repo.ts';
import type { RolloutsRepo } from './rollouts-repo.ts';
import { SqlRolloutsRepo } from './rollouts-repo.ts';
import type { RunsRepo } from './runs-repo.ts';
import { SqlRunsRepo } from './runs-repo.ts';
import type { AuditRepo, CredentialsRepo, PrecheckReportsRepo, TokensRepo } from './service-repos.ts';
import { SqlAuditRepo, SqlCredentialsRepo, SqlPrecheckReportsRepo, SqlTokensRepo } from './service-repos.ts';
import type { SqlDatabase } from './sql.ts';
import { sqliteSql } from './sqlite-sql.ts';
import type { StepOutcomesRepo } from './step-outcomes-repo.ts';
import { SqlStepOutcomesRepo } from './step-outcomes-repo.ts';
import type { WebhookOutboxRepo } from './webhook-outbox-repo.ts';
import { SqlWebhookOutboxRepo } from './webhook-outbox-repo.ts';

export type { ClusterLifecycleRow, LifecycleRepo } from './lifecycle-repo.ts';
export type { RolloutEventRow, RolloutRow, RolloutsRepo, RolloutWrite } from './rollouts-repo.ts';

/** The repositories of one store. */
export interface KupStore {
  readonly clusters: ClustersRepo;
  readonly runs: RunsRepo;
  readonly events: EventsRepo;
  readonly stepOutcomes: StepOutcomesRepo;
  /** The service's API tokens (hashed). */
  readonly tokens: TokensRepo;
  /** The service's audit log of mutating calls. */
  readonly audit: AuditRepo;
  /** Uploaded cluster credentials, sealed by the service. */
  readonly credentials: CredentialsRepo;
  /** Precheck reports the service ran. */
  readonly prechecks: PrecheckReportsRepo;
  /** Each cluster's labels, maintenance schedule and auto-upgrade policy. */
  readonly lifecycle: LifecycleRepo;
  /** Fleet rollouts and their logs. */
  readonly rollouts: RolloutsRepo;
  /** Webhook notifications waiting for delivery, and the cursors of the feeds they come from. */
  readonly webhookOutbox: WebhookOutboxRepo;
  /** Which database: `sqlite` (one file, one host) or `postgres` (shared by several kup replicas). */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data lives (a file path, or a database URL without its password). */
  readonly location: string;
  /** Closes the store; its repositories must not be used after. */
  close(): Promise<void>;
}

/** Where {@link openStore} opens the store: a data directory (SQLite) or a PostgreSQL URL. */
export type StoreLocation =
  | (OpenDatabaseOptions & { readonly url?: undefined })
  | {
      /** `postgres://user:password@host:port/database` (`postgresql://` too). */
      readonly url: string;
      /** The clock migrations record their time with. @default Date.now */
      readonly now?: () => number;
      /** Connections at most. @default 10 */
      readonly maxConnections?: number;
    };

/**
 * Opens kup's store where `location` says, migrating it: the one factory the CLI and `kup serve` use.
 *
 * @throws {StoreError} KUP-STORE-001 when the URL is not a PostgreSQL one or the database cannot be reached; the
 *   errors of the migrations (KUP-STORE-002, KUP-STORE-003).
 */
export async function openStore(location: StoreLocation): Promise<KupStore> {
  if (location.url === undefined) return openSqliteStore(location);
  return openPostgresStore(location.url, location);
}

/** Opens the SQLite store in a data directory (`<dataDir>/kup.db`), migrating it. Throws what openDatabase throws. */
export function openSqliteStore(options: OpenDatabaseOptions): KupStore {
  return storeOn(sqliteSql(openDatabase(options)));
}

/**
 * Opens the PostgreSQL store at `url`, migrating it (replicas starting together migrate once).
 *
 * @throws {StoreError} as {@link openStore}.
 */
export async function openPostgresStore(url: string, options: { now?: () => number; maxConnections?: number } = {}): Promise<KupStore> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new StoreError(StoreErrorCode.open, `${redactUrl(url)} is not a PostgreSQL URL: expected postgres://user:password@host:port/database`, { path: redactUrl(url) });
  }
  const db = postgresSql({ url, ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}) });
  try {
    await migratePostgres(db, options.now ? { now: options.now } : {});
  } catch (err) {
    await db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(StoreErrorCode.open, `cannot open ${db.location}: ${(err as Error).message}`, { path: db.location }, { cause: err });
  }
  return storeOn(db);
}

function storeOn(db: SqlDatabase): KupStore {
  const events = new SqlEventsRepo(db);
  const stepOutcomes = new SqlStepOutcomesRepo(db);
  return {
    clusters: new SqlClustersRepo(db),
    runs: new SqlRunsRepo(db, events, stepOutcomes),
    events,
    stepOutcomes,
    tokens: new SqlTokensRepo(db),
    audit: new SqlAuditRepo(db),
    credentials: new SqlCredentialsRepo(db),
    prechecks: new SqlPrecheckReportsRepo(db),
    lifecycle: new SqlLifecycleRepo(db),
    rollouts: new SqlRolloutsRepo(db),
    webhookOutbox: new SqlWebhookOutboxRepo(db),
    kind: db.dialect.name,
    location: db.location,
    close: () => db.close(),
  };
}
