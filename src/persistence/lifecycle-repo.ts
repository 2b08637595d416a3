/**
 * Each cluster's lifecycle settings: its labels (which fleet rollout stages select), its maintenance schedule
 * (windows and exclusions) and its auto-upgrade policy. Stored as the domain validated them (`src/maintenance`);
 * this layer keeps the JSON text and the time of the last change.
 */
import { fromJson, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { SqlDatabase } from './sql.ts';

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

/** {@link LifecycleRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlLifecycleRepo implements LifecycleRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async get(cluster: string): Promise<ClusterLifecycleRow | undefined> {
    const r = await this.#db.get<LifecycleRecord>('SELECT cluster, labels, schedule, policy, updated_at FROM cluster_lifecycle WHERE cluster = ?', [cluster]);
    return r === undefined ? undefined : toRow(r);
  }

  async list(): Promise<readonly ClusterLifecycleRow[]> {
    const rows = await this.#db.all<LifecycleRecord>(
      `SELECT l.cluster, l.labels, l.schedule, l.policy, l.updated_at FROM cluster_lifecycle l JOIN clusters c ON c.name = l.cluster
       WHERE c.removed_at IS NULL ORDER BY l.cluster`,
    );
    return rows.map(toRow);
  }

  async put(row: ClusterLifecycleRow): Promise<ClusterLifecycleRow> {
    const labels = toJson(row.labels, `labels of cluster ${row.cluster}`);
    const schedule = toJson(row.schedule, `maintenance schedule of cluster ${row.cluster}`);
    const policy = toJson(row.policy, `auto-upgrade policy of cluster ${row.cluster}`);
    const notFound = (cause?: unknown) =>
      new StoreError(StoreErrorCode.clusterNotFound, `cluster ${row.cluster} is not registered`, { cluster: row.cluster }, cause === undefined ? undefined : { cause });
    return this.#db.transaction(async (tx) => {
      // The cluster's row, locked: it cannot be removed between the check and the write.
      const registered = await tx.get(`SELECT name FROM clusters WHERE name = ? AND removed_at IS NULL${tx.dialect.forUpdate}`, [row.cluster]);
      if (registered === undefined) throw notFound();
      try {
        await tx.run(
          `INSERT INTO cluster_lifecycle (cluster, labels, schedule, policy, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (cluster) DO UPDATE SET labels = excluded.labels, schedule = excluded.schedule,
             policy = excluded.policy, updated_at = excluded.updated_at`,
          [row.cluster, labels, schedule, policy, row.updatedAt],
        );
      } catch (err) {
        if (tx.dialect.isForeignKeyViolation(err)) throw notFound(err);
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
