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
    location: db.name,
    close: () => {
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}
