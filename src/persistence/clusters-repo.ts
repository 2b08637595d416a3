/**
 * The registered clusters: how to reach each (kubeconfig file and context) and which provider changes its
 * infrastructure, with that provider's settings. Validation (names, files, providers) is the registry's job
 * (`src/clusters/registry.ts`); this layer stores what it is given and keeps one rule that needs a transaction:
 * a cluster with an active run is not removed. A removed cluster's row stays, marked removed, so that its runs and
 * their events stay readable (the history of what was done to it); registering the name again takes that row back.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isUniqueViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import { GroupCommit } from './group-commit.ts';

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

/** {@link ClustersRepo} on SQLite. */
export class SqliteClustersRepo implements ClustersRepo {
  readonly #db: SqliteDatabase;
  readonly #commits: GroupCommit;
  readonly #insert: Statement<[string, string, string | null, string, string, number]>;
  readonly #readd: Statement<[string, string | null, string, string, number, string]>;
  readonly #get: Statement<[string], ClusterRecord>;
  readonly #getAny: Statement<[string], ClusterRecord>;
  readonly #list: Statement<[], ClusterRecord>;
  readonly #activeRuns: Statement<[string], { id: string }>;
  readonly #countRuns: Statement<[string], { n: number }>;
  readonly #delete: Statement<[string]>;
  readonly #markRemoved: Statement<[number, string]>;

  /** `commits`: the store's group commit (@default one of this repository's own). */
  constructor(db: SqliteDatabase, commits: GroupCommit = new GroupCommit(db)) {
    this.#db = db;
    this.#commits = commits;
    this.#insert = db.prepare(
      'INSERT INTO clusters (name, kubeconfig_path, context, provider, provider_settings, added_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#readd = db.prepare(
      'UPDATE clusters SET kubeconfig_path = ?, context = ?, provider = ?, provider_settings = ?, added_at = ?, removed_at = NULL WHERE name = ?',
    );
    this.#get = db.prepare('SELECT * FROM clusters WHERE name = ? AND removed_at IS NULL');
    this.#getAny = db.prepare('SELECT * FROM clusters WHERE name = ?');
    this.#list = db.prepare('SELECT * FROM clusters WHERE removed_at IS NULL ORDER BY name');
    this.#activeRuns = db.prepare('SELECT id FROM runs WHERE cluster = ? AND active = 1 ORDER BY created_at, id');
    this.#countRuns = db.prepare('SELECT COUNT(*) AS n FROM runs WHERE cluster = ?');
    this.#delete = db.prepare('DELETE FROM clusters WHERE name = ?');
    this.#markRemoved = db.prepare('UPDATE clusters SET removed_at = ? WHERE name = ?');
  }

  add(cluster: ClusterRow): Promise<ClusterRow> {
    return this.#commits.run(() => {
      const settings = toJson(cluster.providerSettings ?? {}, `provider settings of cluster ${cluster.name}`);
      // A name registered again after its removal takes its old row back: its history goes on under the name.
      if (this.#getAny.get(cluster.name)?.removed_at != null) {
        this.#readd.run(cluster.kubeconfigPath, cluster.context ?? null, cluster.provider, settings, cluster.addedAt, cluster.name);
        return this.#require(cluster.name);
      }
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

  remove(name: string, at: number, options: RemoveClusterOptions = {}): Promise<ClusterRemoval> {
    // One write transaction: no run can start between the check and the removal.
    const remove = this.#db.transaction((): ClusterRemoval => {
      const row = this.#get.get(name);
      if (row === undefined) return { status: 'not-found' };
      const active = this.#activeRuns.all(name).map((r) => r.id);
      if (active.length > 0) return { status: 'busy', activeRuns: active };
      const runs = this.#countRuns.get(name)?.n ?? 0;
      if (options.purgeHistory === true) {
        this.#delete.run(name);
        return { status: 'removed', cluster: toRow(row), runsKept: 0, runsRemoved: runs };
      }
      this.#markRemoved.run(at, name);
      return { status: 'removed', cluster: toRow(row), runsKept: runs, runsRemoved: 0 };
    });
    return this.#commits.run(() => remove());
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
