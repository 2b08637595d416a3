/**
 * The registered clusters: how to reach each (kubeconfig file and context) and which provider changes its
 * infrastructure, with that provider's settings. Validation (names, files, providers) is the registry's job
 * (`src/clusters/registry.ts`); this layer stores what it is given and keeps one rule that needs a transaction:
 * a cluster with an active run is not removed.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isUniqueViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';

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
  | { readonly status: 'removed'; readonly cluster: ClusterRow; /** Its finished runs, removed with their events. */ readonly runsRemoved: number }
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
  /** Removes a cluster with its finished runs, unless a run of it is active. */
  remove(name: string): Promise<ClusterRemoval>;
}

interface ClusterRecord {
  name: string;
  kubeconfig_path: string;
  context: string | null;
  provider: string;
  provider_settings: string;
  added_at: number;
}

/** {@link ClustersRepo} on SQLite. */
export class SqliteClustersRepo implements ClustersRepo {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[string, string, string | null, string, string, number]>;
  readonly #get: Statement<[string], ClusterRecord>;
  readonly #list: Statement<[], ClusterRecord>;
  readonly #activeRuns: Statement<[string], { id: string }>;
  readonly #countRuns: Statement<[string], { n: number }>;
  readonly #delete: Statement<[string]>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO clusters (name, kubeconfig_path, context, provider, provider_settings, added_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#get = db.prepare('SELECT * FROM clusters WHERE name = ?');
    this.#list = db.prepare('SELECT * FROM clusters ORDER BY name');
    this.#activeRuns = db.prepare('SELECT id FROM runs WHERE cluster = ? AND active = 1 ORDER BY created_at, id');
    this.#countRuns = db.prepare('SELECT COUNT(*) AS n FROM runs WHERE cluster = ?');
    this.#delete = db.prepare('DELETE FROM clusters WHERE name = ?');
  }

  add(cluster: ClusterRow): Promise<ClusterRow> {
    return promised(() => {
      const settings = toJson(cluster.providerSettings ?? {}, `provider settings of cluster ${cluster.name}`);
      try {
        this.#insert.run(cluster.name, cluster.kubeconfigPath, cluster.context ?? null, cluster.provider, settings, cluster.addedAt);
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new StoreError(StoreErrorCode.clusterExists, `a cluster named ${cluster.name} is already registered`, { cluster: cluster.name }, { cause: err });
        }
        throw err;
      }
      return this.#require(cluster.name);
    });
  }

  get(name: string): Promise<ClusterRow | undefined> {
    return promised(() => {
      const row = this.#get.get(name);
      return row === undefined ? undefined : toRow(row);
    });
  }

  list(): Promise<readonly ClusterRow[]> {
    return promised(() => this.#list.all().map(toRow));
  }

  remove(name: string): Promise<ClusterRemoval> {
    // One write transaction: no run can start between the check and the delete.
    const remove = this.#db.transaction((): ClusterRemoval => {
      const row = this.#get.get(name);
      if (row === undefined) return { status: 'not-found' };
      const active = this.#activeRuns.all(name).map((r) => r.id);
      if (active.length > 0) return { status: 'busy', activeRuns: active };
      const runsRemoved = this.#countRuns.get(name)?.n ?? 0;
      this.#delete.run(name);
      return { status: 'removed', cluster: toRow(row), runsRemoved };
    });
    return promised(() => remove.immediate());
  }

  #require(name: string): ClusterRow {
    const row = this.#get.get(name);
    if (row === undefined) throw new StoreError(StoreErrorCode.clusterNotFound, `cluster ${name} is not registered`, { cluster: name });
    return toRow(row);
  }
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
