/**
 * Each cluster's lifecycle settings: its labels (which fleet rollout stages select), its maintenance schedule
 * (windows and exclusions) and its auto-upgrade policy. Stored as the domain validated them (`src/maintenance`);
 * this layer keeps the JSON text and the time of the last change.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isForeignKeyViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';

/** One cluster's lifecycle settings (shapes owned by the maintenance domain: `unknown` here). */
export interface ClusterLifecycleRow {
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
  /** A MaintenanceSchedule. */
  readonly schedule: unknown;
  /** An AutoUpgradePolicy. */
  readonly policy: unknown;
  readonly updatedAt: number;
}

/** The lifecycle settings store. */
export interface LifecycleRepo {
  /** The settings of a cluster, or undefined when none were ever set. */
  get(cluster: string): Promise<ClusterLifecycleRow | undefined>;
  /** Every cluster's settings, by cluster name (registered, not removed clusters only). */
  list(): Promise<readonly ClusterLifecycleRow[]>;
  /**
   * Sets a cluster's settings (all of them: read, change, write).
   * @throws {StoreError} KUP-STORE-008 when the cluster is not registered.
   */
  put(row: ClusterLifecycleRow): Promise<ClusterLifecycleRow>;
}

interface LifecycleRecord {
  cluster: string;
  labels: string;
  schedule: string;
  policy: string;
  updated_at: number;
}

/** {@link LifecycleRepo} on SQLite. */
export class SqliteLifecycleRepo implements LifecycleRepo {
  readonly #get: Statement<[string], LifecycleRecord>;
  readonly #list: Statement<[], LifecycleRecord>;
  readonly #upsert: Statement<[string, string, string, string, number]>;
  readonly #registered: Statement<[string], { name: string }>;

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare('SELECT * FROM cluster_lifecycle WHERE cluster = ?');
    this.#list = db.prepare(
      'SELECT l.* FROM cluster_lifecycle l JOIN clusters c ON c.name = l.cluster WHERE c.removed_at IS NULL ORDER BY l.cluster',
    );
    this.#upsert = db.prepare(
      `INSERT INTO cluster_lifecycle (cluster, labels, schedule, policy, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (cluster) DO UPDATE SET labels = excluded.labels, schedule = excluded.schedule,
         policy = excluded.policy, updated_at = excluded.updated_at`,
    );
    this.#registered = db.prepare('SELECT name FROM clusters WHERE name = ? AND removed_at IS NULL');
  }

  get(cluster: string): Promise<ClusterLifecycleRow | undefined> {
    return promised(() => {
      const r = this.#get.get(cluster);
      return r === undefined ? undefined : toRow(r);
    });
  }

  list(): Promise<readonly ClusterLifecycleRow[]> {
    return promised(() => this.#list.all().map(toRow));
  }

  put(row: ClusterLifecycleRow): Promise<ClusterLifecycleRow> {
    return promised(() => {
      const notFound = () =>
        new StoreError(StoreErrorCode.clusterNotFound, `cluster ${row.cluster} is not registered`, {
          cluster: row.cluster,
        });
      if (this.#registered.get(row.cluster) === undefined) throw notFound();
      try {
        this.#upsert.run(
          row.cluster,
          toJson(row.labels, `labels of cluster ${row.cluster}`),
          toJson(row.schedule, `maintenance schedule of cluster ${row.cluster}`),
          toJson(row.policy, `auto-upgrade policy of cluster ${row.cluster}`),
          row.updatedAt,
        );
      } catch (err) {
        if (isForeignKeyViolation(err)) throw notFound();
        throw err;
      }
      return row;
    });
  }
}

function toRow(r: LifecycleRecord): ClusterLifecycleRow {
  return {
    cluster: r.cluster,
    labels: fromJson(r.labels) as Record<string, string>,
    schedule: fromJson(r.schedule),
    policy: fromJson(r.policy),
    updatedAt: r.updated_at,
  };
}
