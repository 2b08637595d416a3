/**
 * The registered clusters: how to reach each (kubeconfig file and context) and which provider changes its
 * infrastructure, with that provider's settings. Validation (names, files, providers) is the registry's job
 * (`src/clusters/registry.ts`); this layer stores what it is given and keeps one rule that needs a transaction:
 * a cluster with an active run is not removed. A removed cluster's row stays, marked removed, so that its runs and
 * their events stay readable (the history of what was done to it); registering the name again takes that row back.
 */
import { fromJson, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { SqlDatabase, SqlExecutor } from './sql.ts';

/** A registered cluster. */
export interface ClusterRow {
  /** A DNS label, unique. */
  readonly name: string;
  /** Absolute path of its kubeconfig. */
  readonly kubeconfigPath: string;
  /** The kubeconfig context; absent means the file's current context. */
  readonly context?: string;
  /** The provider's name (`sim`, ...). */
  readonly provider: string;
  /** The provider's settings (the provider owns their shape). */
  readonly providerSettings: unknown;
  /** When it was added (ms since the epoch). */
  readonly addedAt: number;
}

/** What removing a cluster did. */
export type ClusterRemoval =
  | {
      readonly status: 'removed';
      readonly cluster: ClusterRow;
      /** Its finished runs, kept with their events. */
      readonly runsKept: number;
      /** Its finished runs, removed with their events (`purgeHistory`). */
      readonly runsRemoved: number;
    }
  | { readonly status: 'not-found' }
  | { readonly status: 'busy'; /** Its active runs, oldest first: nothing was removed. */ readonly activeRuns: readonly string[] };

/** The clusters store. */
export interface ClustersRepo {
  /**
   * Registers a cluster.
   *
   * @throws {StoreError} KUP-STORE-007 when one of that name exists.
   */
  add(cluster: ClusterRow): Promise<ClusterRow>;
  get(name: string): Promise<ClusterRow | undefined>;
  /** Every cluster, by name. */
  list(): Promise<readonly ClusterRow[]>;
  /**
   * Removes a cluster at `at` (ms since the epoch), unless a run of it is active. Its finished runs and their events
   * are kept, unless `purgeHistory`.
   */
  remove(name: string, at: number, options?: RemoveClusterOptions): Promise<ClusterRemoval>;
}

/** Options of {@link ClustersRepo.remove}. */
export interface RemoveClusterOptions {
  /** Also delete the cluster's finished runs and their events. @default false */
  readonly purgeHistory?: boolean;
}

interface ClusterRecord {
  name: string;
  kubeconfig_path: string;
  context: string | null;
  provider: string;
  provider_settings: string;
  added_at: number;
  removed_at: number | null;
}

/** {@link ClustersRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlClustersRepo implements ClustersRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async add(cluster: ClusterRow): Promise<ClusterRow> {
    const settings = toJson(cluster.providerSettings ?? {}, `provider settings of cluster ${cluster.name}`);
    return this.#db.transaction(async (tx) => {
      // A name registered again after its removal takes its old row back: its history goes on under the name.
      const readded = await tx.run(
        'UPDATE clusters SET kubeconfig_path = ?, context = ?, provider = ?, provider_settings = ?, added_at = ?, removed_at = NULL WHERE name = ? AND removed_at IS NOT NULL',
        [cluster.kubeconfigPath, cluster.context ?? null, cluster.provider, settings, cluster.addedAt, cluster.name],
      );
      if (readded === 0) {
        try {
          await tx.run('INSERT INTO clusters (name, kubeconfig_path, context, provider, provider_settings, added_at) VALUES (?, ?, ?, ?, ?, ?)', [
            cluster.name,
            cluster.kubeconfigPath,
            cluster.context ?? null,
            cluster.provider,
            settings,
            cluster.addedAt,
          ]);
        } catch (err) {
          if (tx.dialect.isUniqueViolation(err)) {
            throw new StoreError(StoreErrorCode.clusterExists, `a cluster named ${cluster.name} is already registered`, { cluster: cluster.name }, { cause: err });
          }
          throw err;
        }
      }
      const row = await registered(tx, cluster.name);
      if (row === undefined) throw new StoreError(StoreErrorCode.clusterNotFound, `cluster ${cluster.name} is not registered`, { cluster: cluster.name });
      return toRow(row);
    });
  }

  async get(name: string): Promise<ClusterRow | undefined> {
    const row = await registered(this.#db, name);
    return row === undefined ? undefined : toRow(row);
  }

  async list(): Promise<readonly ClusterRow[]> {
    return (await this.#db.all<ClusterRecord>('SELECT * FROM clusters WHERE removed_at IS NULL ORDER BY name')).map(toRow);
  }

  remove(name: string, at: number, options: RemoveClusterOptions = {}): Promise<ClusterRemoval> {
    // One write transaction, the cluster's row locked: no run can start between the check and the removal (a run's
    // creation locks the same row).
    return this.#db.transaction(async (tx): Promise<ClusterRemoval> => {
      const row = await registered(tx, name, tx.dialect.forUpdate);
      if (row === undefined) return { status: 'not-found' };
      const active = (await tx.all<{ id: string }>('SELECT id FROM runs WHERE cluster = ? AND active = 1 ORDER BY created_at, id', [name])).map((r) => r.id);
      if (active.length > 0) return { status: 'busy', activeRuns: active };
      const runs = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM runs WHERE cluster = ?', [name]))?.n ?? 0;
      if (options.purgeHistory === true) {
        await tx.run('DELETE FROM clusters WHERE name = ?', [name]);
        return { status: 'removed', cluster: toRow(row), runsKept: 0, runsRemoved: runs };
      }
      await tx.run('UPDATE clusters SET removed_at = ? WHERE name = ?', [at, name]);
      return { status: 'removed', cluster: toRow(row), runsKept: runs, runsRemoved: 0 };
    });
  }
}

/** A registered (not removed) cluster's row; `lock` is the dialect's `forUpdate` inside a write transaction. */
function registered(db: SqlExecutor, name: string, lock = ''): Promise<ClusterRecord | undefined> {
  return db.get<ClusterRecord>(`SELECT * FROM clusters WHERE name = ? AND removed_at IS NULL${lock}`, [name]);
}

function toRow(r: ClusterRecord): ClusterRow {
  return {
    name: r.name,
    kubeconfigPath: r.kubeconfig_path,
    ...(r.context !== null ? { context: r.context } : {}),
    provider: r.provider,
    providerSettings: fromJson(r.provider_settings),
    addedAt: r.added_at,
  };
}
