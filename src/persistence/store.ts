/**
 * kup's store: the repositories the engine, the registry, the CLI and the server use, behind one small interface.
 * SQLite (embedded, one file in the data directory) implements it now; a PostgreSQL implementation for several
 * kup replicas can implement the same interface later (docs/adr/002-persistence.md).
 */
import type { ClustersRepo } from './clusters-repo.ts';
import { SqliteClustersRepo } from './clusters-repo.ts';
import type { OpenDatabaseOptions } from './database.ts';
import { openDatabase } from './database.ts';
import type { EventsRepo } from './events-repo.ts';
import { SqliteEventsRepo } from './events-repo.ts';
import type { RunsRepo } from './runs-repo.ts';
import { SqliteRunsRepo } from './runs-repo.ts';
import type { AuditRepo, CredentialsRepo, PrecheckReportsRepo, TokensRepo } from './service-repos.ts';
import { SqliteAuditRepo, SqliteCredentialsRepo, SqlitePrecheckReportsRepo, SqliteTokensRepo } from './service-repos.ts';
import type { StepOutcomesRepo } from './step-outcomes-repo.ts';
import { SqliteStepOutcomesRepo } from './step-outcomes-repo.ts';
import type { LifecycleRepo } from './lifecycle-repo.ts';
import { SqliteLifecycleRepo } from './lifecycle-repo.ts';
import type { RolloutsRepo } from './rollouts-repo.ts';
import { SqliteRolloutsRepo } from './rollouts-repo.ts';
import type { WebhookOutboxRepo } from './webhook-outbox-repo.ts';
import { SqliteWebhookOutboxRepo } from './webhook-outbox-repo.ts';

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
  /** Where the data lives (a file path, or a database URL without credentials). */
  readonly location: string;
  /** Closes the store; its repositories must not be used after. */
  close(): Promise<void>;
}

/** Opens the SQLite store in a data directory (`<dataDir>/kup.db`), migrating it. Throws what openDatabase throws. */
export function openSqliteStore(options: OpenDatabaseOptions): KupStore {
  const db = openDatabase(options);
  const events = new SqliteEventsRepo(db);
  const stepOutcomes = new SqliteStepOutcomesRepo(db);
  return {
    clusters: new SqliteClustersRepo(db),
    runs: new SqliteRunsRepo(db, events, stepOutcomes),
    events,
    stepOutcomes,
    tokens: new SqliteTokensRepo(db),
    audit: new SqliteAuditRepo(db),
    credentials: new SqliteCredentialsRepo(db),
    prechecks: new SqlitePrecheckReportsRepo(db),
    lifecycle: new SqliteLifecycleRepo(db),
    rollouts: new SqliteRolloutsRepo(db),
    webhookOutbox: new SqliteWebhookOutboxRepo(db),
    location: db.name,
    close: () => {
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}
