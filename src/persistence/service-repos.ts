/**
 * What the service (`kup serve`) stores beside clusters and runs: API tokens (hashed), the audit log of mutating
 * calls, uploaded cluster credentials (sealed: the store never sees them in clear), and precheck reports. Portable
 * SQL only (the PostgreSQL store implements the same interfaces); ids of the audit log come from a counter row, as
 * event ids do, so a reader pages through it by id.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isUniqueViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';

/** An API token as stored: never the token itself, only its hash. */
export interface TokenRow {
  /** A public id (`tok-...`), shown in lists and the audit log. */
  readonly id: string;
  /** What the token is for, in the creator's words. */
  readonly name: string;
  /** `viewer`, `operator` or `admin`. */
  readonly role: string;
  /** Hex SHA-256 of the token. */
  readonly tokenHash: string;
  readonly createdAt: number;
  /** The id of the token that created it (absent for the first admin token). */
  readonly createdBy?: string;
  /** When it was revoked; a revoked token authenticates nothing. */
  readonly revokedAt?: number;
}

/** The tokens store. */
export interface TokensRepo {
  /** @throws {StoreError} KUP-STORE-011 when the id or hash exists. */
  create(token: TokenRow): Promise<TokenRow>;
  /** The token whose hash this is, revoked or not. */
  findByHash(tokenHash: string): Promise<TokenRow | undefined>;
  get(id: string): Promise<TokenRow | undefined>;
  /** Every token, oldest first. */
  list(): Promise<readonly TokenRow[]>;
  /** Revokes a token; false when it does not exist or already was. */
  revoke(id: string, at: number): Promise<boolean>;
}

/** One audited call. */
export interface NewAuditEntry {
  readonly at: number;
  /** The token id, or `anonymous` for a call refused before one was known. */
  readonly actor: string;
  readonly role?: string;
  /** The HTTP method. */
  readonly method: string;
  /** The route, e.g. `POST /api/v1/runs/:id/pause`. */
  readonly action: string;
  /** What it acted on (a cluster, a run id, a token id). */
  readonly target?: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** `succeeded`, `refused` (4xx) or `failed` (5xx). */
  readonly outcome: string;
  /** The KUP code of a refusal or failure. */
  readonly code?: string;
}

/** A stored audit entry. */
export interface AuditEntry extends NewAuditEntry {
  readonly id: number;
}

/** The audit log. */
export interface AuditRepo {
  append(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Newest first; `beforeId` pages back. */
  list(options?: { readonly beforeId?: number; readonly limit?: number }): Promise<readonly AuditEntry[]>;
}

/** Sealed (encrypted) cluster credentials: the store keeps the envelope, the service holds the key. */
export interface CredentialsRepo {
  put(cluster: string, sealed: string, at: number): Promise<void>;
  get(cluster: string): Promise<string | undefined>;
  remove(cluster: string): Promise<void>;
}

/** A stored precheck report. */
export interface PrecheckReportRow {
  /** `pre-...`. */
  readonly id: string;
  readonly cluster: string;
  readonly target: string;
  readonly createdAt: number;
  readonly blockers: number;
  readonly warnings: number;
  /** The report document (checks/report.ts `reportDocument`). */
  readonly report: unknown;
}

/** Precheck reports, kept so that an operator can read again what a check found. */
export interface PrecheckReportsRepo {
  add(row: PrecheckReportRow): Promise<PrecheckReportRow>;
  get(id: string): Promise<PrecheckReportRow | undefined>;
  /** Newest first. */
  list(options?: { readonly cluster?: string; readonly limit?: number }): Promise<readonly PrecheckReportRow[]>;
}

interface TokenRecord {
  id: string;
  name: string;
  role: string;
  token_hash: string;
  created_at: number;
  created_by: string | null;
  revoked_at: number | null;
}

/** {@link TokensRepo} on SQLite. */
export class SqliteTokensRepo implements TokensRepo {
  readonly #insert: Statement<[string, string, string, string, number, string | null]>;
  readonly #byHash: Statement<[string], TokenRecord>;
  readonly #byId: Statement<[string], TokenRecord>;
  readonly #all: Statement<[], TokenRecord>;
  readonly #revoke: Statement<[number, string]>;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare(
      'INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#byHash = db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?');
    this.#byId = db.prepare('SELECT * FROM api_tokens WHERE id = ?');
    this.#all = db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id');
    this.#revoke = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  create(token: TokenRow): Promise<TokenRow> {
    return promised(() => {
      try {
        this.#insert.run(token.id, token.name, token.role, token.tokenHash, token.createdAt, token.createdBy ?? null);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new StoreError(StoreErrorCode.runExists, `token ${token.id} already exists`, {}, { cause: err });
        throw err;
      }
      return token;
    });
  }

  findByHash(tokenHash: string): Promise<TokenRow | undefined> {
    return promised(() => toToken(this.#byHash.get(tokenHash)));
  }

  get(id: string): Promise<TokenRow | undefined> {
    return promised(() => toToken(this.#byId.get(id)));
  }

  list(): Promise<readonly TokenRow[]> {
    return promised(() => this.#all.all().map((r) => toToken(r) as TokenRow));
  }

  revoke(id: string, at: number): Promise<boolean> {
    return promised(() => this.#revoke.run(at, id).changes === 1);
  }
}

function toToken(r: TokenRecord | undefined): TokenRow | undefined {
  if (r === undefined) return undefined;
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    ...(r.created_by !== null ? { createdBy: r.created_by } : {}),
    ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}),
  };
}

interface AuditRecord {
  id: number;
  at: number;
  actor: string;
  role: string | null;
  method: string;
  action: string;
  target: string | null;
  status: number;
  outcome: string;
  code: string | null;
}

/** {@link AuditRepo} on SQLite. */
export class SqliteAuditRepo implements AuditRepo {
  readonly #db: SqliteDatabase;
  readonly #takeId: Statement<[], { value: number }>;
  readonly #insert: Statement<
    [number, number, string, string | null, string, string, string | null, number, string, string | null]
  >;
  readonly #list: Statement<[number, number], AuditRecord>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#takeId = db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'audit_id' RETURNING value");
    this.#insert = db.prepare(
      'INSERT INTO audit_log (id, at, actor, role, method, action, target, status, outcome, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#list = db.prepare('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?');
  }

  append(entry: NewAuditEntry): Promise<AuditEntry> {
    return promised(() =>
      this.#db
        .transaction(() => {
          const id = this.#takeId.get()?.value;
          if (id === undefined)
            throw new StoreError(
              StoreErrorCode.migration,
              'the audit_id counter is missing: the schema is not migrated',
            );
          this.#insert.run(
            id,
            entry.at,
            entry.actor,
            entry.role ?? null,
            entry.method,
            entry.action,
            entry.target ?? null,
            entry.status,
            entry.outcome,
            entry.code ?? null,
          );
          return { ...entry, id };
        })
        .immediate(),
    );
  }

  list(options: { readonly beforeId?: number; readonly limit?: number } = {}): Promise<readonly AuditEntry[]> {
    return promised(() =>
      this.#list.all(options.beforeId ?? Number.MAX_SAFE_INTEGER, options.limit ?? 100).map((r) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        ...(r.role !== null ? { role: r.role } : {}),
        method: r.method,
        action: r.action,
        ...(r.target !== null ? { target: r.target } : {}),
        status: r.status,
        outcome: r.outcome,
        ...(r.code !== null ? { code: r.code } : {}),
      })),
    );
  }
}

/** {@link CredentialsRepo} on SQLite. */
export class SqliteCredentialsRepo implements CredentialsRepo {
  readonly #put: Statement<[string, string, number]>;
  readonly #get: Statement<[string], { sealed: string }>;
  readonly #remove: Statement<[string]>;

  constructor(db: SqliteDatabase) {
    this.#put = db.prepare(
      'INSERT INTO cluster_credentials (cluster, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (cluster) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at',
    );
    this.#get = db.prepare('SELECT sealed FROM cluster_credentials WHERE cluster = ?');
    this.#remove = db.prepare('DELETE FROM cluster_credentials WHERE cluster = ?');
  }

  put(cluster: string, sealed: string, at: number): Promise<void> {
    return promised(() => void this.#put.run(cluster, sealed, at));
  }

  get(cluster: string): Promise<string | undefined> {
    return promised(() => this.#get.get(cluster)?.sealed);
  }

  remove(cluster: string): Promise<void> {
    return promised(() => void this.#remove.run(cluster));
  }
}

interface PrecheckRecord {
  id: string;
  cluster: string;
  target: string;
  created_at: number;
  blockers: number;
  warnings: number;
  report: string;
}

/** {@link PrecheckReportsRepo} on SQLite. */
export class SqlitePrecheckReportsRepo implements PrecheckReportsRepo {
  readonly #insert: Statement<[string, string, string, number, number, number, string]>;
  readonly #get: Statement<[string], PrecheckRecord>;
  readonly #list: Statement<[number], PrecheckRecord>;
  readonly #listOf: Statement<[string, number], PrecheckRecord>;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare(
      'INSERT INTO precheck_reports (id, cluster, target, created_at, blockers, warnings, report) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#get = db.prepare('SELECT * FROM precheck_reports WHERE id = ?');
    this.#list = db.prepare('SELECT * FROM precheck_reports ORDER BY created_at DESC, id DESC LIMIT ?');
    this.#listOf = db.prepare(
      'SELECT * FROM precheck_reports WHERE cluster = ? ORDER BY created_at DESC, id DESC LIMIT ?',
    );
  }

  add(row: PrecheckReportRow): Promise<PrecheckReportRow> {
    return promised(() => {
      this.#insert.run(
        row.id,
        row.cluster,
        row.target,
        row.createdAt,
        row.blockers,
        row.warnings,
        toJson(row.report, `precheck report ${row.id}`),
      );
      return row;
    });
  }

  get(id: string): Promise<PrecheckReportRow | undefined> {
    return promised(() => {
      const r = this.#get.get(id);
      return r === undefined ? undefined : toReport(r);
    });
  }

  list(options: { readonly cluster?: string; readonly limit?: number } = {}): Promise<readonly PrecheckReportRow[]> {
    const limit = options.limit ?? 100;
    return promised(() =>
      (options.cluster !== undefined ? this.#listOf.all(options.cluster, limit) : this.#list.all(limit)).map(toReport),
    );
  }
}

function toReport(r: PrecheckRecord): PrecheckReportRow {
  return {
    id: r.id,
    cluster: r.cluster,
    target: r.target,
    createdAt: r.created_at,
    blockers: r.blockers,
    warnings: r.warnings,
    report: fromJson(r.report),
  };
}
