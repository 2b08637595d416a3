/**
 * What the service (`kup serve`) stores beside clusters and runs: API tokens (hashed), the audit log of mutating
 * calls, uploaded cluster credentials (sealed: the store never sees them in clear), and precheck reports. Written
 * once over the SQL layer (SQLite and PostgreSQL); ids of the audit log come from a counter row, as
 * event ids do, so a reader pages through it by id.
 */
import { fromJson, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { SqlDatabase } from './sql.ts';

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

const TOKEN_COLUMNS = 'id, name, role, token_hash, created_at, created_by, revoked_at';

/** {@link TokensRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlTokensRepo implements TokensRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async create(token: TokenRow): Promise<TokenRow> {
    try {
      await this.#db.run('INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)', [
        token.id,
        token.name,
        token.role,
        token.tokenHash,
        token.createdAt,
        token.createdBy ?? null,
      ]);
    } catch (err) {
      if (this.#db.dialect.isUniqueViolation(err)) throw new StoreError(StoreErrorCode.runExists, `token ${token.id} already exists`, {}, { cause: err });
      throw err;
    }
    return token;
  }

  async findByHash(tokenHash: string): Promise<TokenRow | undefined> {
    return toToken(await this.#db.get<TokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`, [tokenHash]));
  }

  async get(id: string): Promise<TokenRow | undefined> {
    return toToken(await this.#db.get<TokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`, [id]));
  }

  async list(): Promise<readonly TokenRow[]> {
    return (await this.#db.all<TokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id`)).map((r) => toToken(r) as TokenRow);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return (await this.#db.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) === 1;
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

/** {@link AuditRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlAuditRepo implements AuditRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  append(entry: NewAuditEntry): Promise<AuditEntry> {
    return this.#db.transaction(async (tx) => {
      // The counter row's lock, held to the commit, hands ids out in commit order.
      const id = (await tx.get<{ value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'audit_id' RETURNING value"))?.value;
      if (id === undefined) throw new StoreError(StoreErrorCode.migration, 'the audit_id counter is missing: the schema is not migrated');
      await tx.run('INSERT INTO audit_log (id, at, actor, role, method, action, target, status, outcome, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
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
      ]);
      return { ...entry, id };
    });
  }

  async list(options: { readonly beforeId?: number; readonly limit?: number } = {}): Promise<readonly AuditEntry[]> {
    const rows = await this.#db.all<AuditRecord>(
      'SELECT id, at, actor, role, method, action, target, status, outcome, code FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?',
      [options.beforeId ?? Number.MAX_SAFE_INTEGER, options.limit ?? 100],
    );
    return rows.map((r) => ({
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
    }));
  }
}

/** {@link CredentialsRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlCredentialsRepo implements CredentialsRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async put(cluster: string, sealed: string, at: number): Promise<void> {
    await this.#db.run(
      'INSERT INTO cluster_credentials (cluster, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (cluster) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at',
      [cluster, sealed, at],
    );
  }

  async get(cluster: string): Promise<string | undefined> {
    return (await this.#db.get<{ sealed: string }>('SELECT sealed FROM cluster_credentials WHERE cluster = ?', [cluster]))?.sealed;
  }

  async remove(cluster: string): Promise<void> {
    await this.#db.run('DELETE FROM cluster_credentials WHERE cluster = ?', [cluster]);
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

const PRECHECK_COLUMNS = 'id, cluster, target, created_at, blockers, warnings, report';

/** {@link PrecheckReportsRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlPrecheckReportsRepo implements PrecheckReportsRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async add(row: PrecheckReportRow): Promise<PrecheckReportRow> {
    const report = toJson(row.report, `precheck report ${row.id}`);
    await this.#db.run('INSERT INTO precheck_reports (id, cluster, target, created_at, blockers, warnings, report) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      row.id,
      row.cluster,
      row.target,
      row.createdAt,
      row.blockers,
      row.warnings,
      report,
    ]);
    return row;
  }

  async get(id: string): Promise<PrecheckReportRow | undefined> {
    const r = await this.#db.get<PrecheckRecord>(`SELECT ${PRECHECK_COLUMNS} FROM precheck_reports WHERE id = ?`, [id]);
    return r === undefined ? undefined : toReport(r);
  }

  async list(options: { readonly cluster?: string; readonly limit?: number } = {}): Promise<readonly PrecheckReportRow[]> {
    const limit = options.limit ?? 100;
    const rows =
      options.cluster !== undefined
        ? await this.#db.all<PrecheckRecord>(`SELECT ${PRECHECK_COLUMNS} FROM precheck_reports WHERE cluster = ? ORDER BY created_at DESC, id DESC LIMIT ?`, [options.cluster, limit])
        : await this.#db.all<PrecheckRecord>(`SELECT ${PRECHECK_COLUMNS} FROM precheck_reports ORDER BY created_at DESC, id DESC LIMIT ?`, [limit]);
    return rows.map(toReport);
  }
}

function toReport(r: PrecheckRecord): PrecheckReportRow {
  return { id: r.id, cluster: r.cluster, target: r.target, createdAt: r.created_at, blockers: r.blockers, warnings: r.warnings, report: fromJson(r.report) };
}
