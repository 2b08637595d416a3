/**
 * The webhook outbox: notifications (CloudEvents, as JSON) waiting for delivery to a webhook, with their attempts and
 * next try, and the cursors of the feeds they are read from (the run events' global id, each rollout's log). Enqueuing
 * and moving a cursor happen in one transaction, and a notification is keyed by its webhook and event id, so a crash
 * between reading and enqueuing loses nothing and sends nothing twice.
 *
 * @module
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, promised, toJson } from './database.ts';

/** A notification to deliver. */
export interface OutboxItem {
  readonly webhook: string;
  readonly eventId: string;
  /** The CloudEvent, as sent. */
  readonly event: unknown;
  readonly attempts: number;
  readonly nextAt: number;
  readonly lastError?: string;
  readonly createdAt: number;
}

/** A configured webhook. */
export interface WebhookRow {
  readonly name: string;
  readonly url: string;
  /** The signing secret as the service stores it (sealed). */
  readonly secret: string;
  /** CloudEvent type prefixes it gets (`dev.kup.run.`, `dev.kup.rollout.paused`); empty: all. */
  readonly types: readonly string[];
  readonly createdAt: number;
}

/** The outbox store. */
export interface WebhookOutboxRepo {
  /** Adds or replaces a webhook. */
  putWebhook(row: WebhookRow): Promise<void>;
  /** The webhooks, by name. */
  webhooks(): Promise<readonly WebhookRow[]>;
  /** Removes a webhook and its undelivered notifications; false when there was none. */
  removeWebhook(name: string): Promise<boolean>;
  /** A feed's position (0 when never read). */
  cursor(feed: string): Promise<number>;
  /** Adds the items not there yet and moves the feed's cursor, in one transaction. */
  enqueue(
    items: readonly { webhook: string; eventId: string; event: unknown }[],
    feed: string,
    position: number,
    now: number,
  ): Promise<void>;
  /** Undelivered, live items due at `now`, oldest first. */
  due(now: number, limit: number): Promise<readonly OutboxItem[]>;
  /** The earliest next try of an undelivered, live item. */
  nextDue(): Promise<number | undefined>;
  delivered(webhook: string, eventId: string, at: number): Promise<void>;
  /** Records a failed attempt: tried again at `nextAt`, or never (`dead`). */
  failed(webhook: string, eventId: string, error: string, nextAt: number, dead: boolean): Promise<void>;
  /** Every item of a webhook (delivered or not), oldest first: what an operator reads to see what was sent. */
  list(webhook: string): Promise<readonly (OutboxItem & { readonly deliveredAt?: number; readonly dead: boolean })[]>;
}

interface OutboxRecord {
  webhook: string;
  event_id: string;
  event: string;
  attempts: number;
  next_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  dead: number;
}

/** {@link WebhookOutboxRepo} on SQLite. */
export class SqliteWebhookOutboxRepo implements WebhookOutboxRepo {
  readonly #db: SqliteDatabase;
  readonly #cursor: Statement<[string], { position: number }>;
  readonly #setCursor: Statement<[string, number]>;
  readonly #insert: Statement<[string, string, string, number, number]>;
  readonly #due: Statement<[number, number], OutboxRecord>;
  readonly #nextDue: Statement<[], { next: number | null }>;
  readonly #delivered: Statement<[number, string, string]>;
  readonly #failed: Statement<[string, number, number, string, string]>;
  readonly #list: Statement<[string], OutboxRecord>;
  readonly #putWebhook: Statement<[string, string, string, string, number]>;
  readonly #webhooks: Statement<[], { name: string; url: string; secret: string; types: string; created_at: number }>;
  readonly #removeWebhook: Statement<[string]>;
  readonly #dropPending: Statement<[string]>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#putWebhook = db.prepare(
      `INSERT INTO webhooks (name, url, secret, types, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET url = excluded.url, secret = excluded.secret, types = excluded.types`,
    );
    this.#webhooks = db.prepare('SELECT * FROM webhooks ORDER BY name');
    this.#removeWebhook = db.prepare('DELETE FROM webhooks WHERE name = ?');
    this.#dropPending = db.prepare('DELETE FROM webhook_outbox WHERE webhook = ? AND delivered_at IS NULL');
    this.#cursor = db.prepare('SELECT position FROM webhook_cursors WHERE feed = ?');
    this.#setCursor = db.prepare(
      'INSERT INTO webhook_cursors (feed, position) VALUES (?, ?) ON CONFLICT (feed) DO UPDATE SET position = excluded.position',
    );
    this.#insert = db.prepare(
      `INSERT INTO webhook_outbox (webhook, event_id, event, attempts, next_at, created_at, dead)
       VALUES (?, ?, ?, 0, ?, ?, 0) ON CONFLICT (webhook, event_id) DO NOTHING`,
    );
    this.#due = db.prepare(
      `SELECT * FROM webhook_outbox WHERE delivered_at IS NULL AND dead = 0 AND next_at <= ?
       ORDER BY next_at, created_at, event_id LIMIT ?`,
    );
    this.#nextDue = db.prepare(
      'SELECT MIN(next_at) AS next FROM webhook_outbox WHERE delivered_at IS NULL AND dead = 0',
    );
    this.#delivered = db.prepare(
      'UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE webhook = ? AND event_id = ?',
    );
    this.#failed = db.prepare(
      `UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, dead = ?
       WHERE webhook = ? AND event_id = ?`,
    );
    this.#list = db.prepare('SELECT * FROM webhook_outbox WHERE webhook = ? ORDER BY created_at, event_id');
  }

  putWebhook(row: WebhookRow): Promise<void> {
    return promised(
      () =>
        void this.#putWebhook.run(
          row.name,
          row.url,
          row.secret,
          toJson(row.types, `types of webhook ${row.name}`),
          row.createdAt,
        ),
    );
  }

  webhooks(): Promise<readonly WebhookRow[]> {
    return promised(() =>
      this.#webhooks.all().map((r) => ({
        name: r.name,
        url: r.url,
        secret: r.secret,
        types: fromJson(r.types) as string[],
        createdAt: r.created_at,
      })),
    );
  }

  removeWebhook(name: string): Promise<boolean> {
    return promised(() =>
      this.#db.transaction(() => {
        this.#dropPending.run(name);
        return this.#removeWebhook.run(name).changes > 0;
      })(),
    );
  }

  cursor(feed: string): Promise<number> {
    return promised(() => this.#cursor.get(feed)?.position ?? 0);
  }

  enqueue(
    items: readonly { webhook: string; eventId: string; event: unknown }[],
    feed: string,
    position: number,
    now: number,
  ): Promise<void> {
    return promised(() =>
      this.#db.transaction(() => {
        for (const i of items)
          this.#insert.run(i.webhook, i.eventId, toJson(i.event, `notification ${i.eventId}`), now, now);
        this.#setCursor.run(feed, position);
      })(),
    );
  }

  due(now: number, limit: number): Promise<readonly OutboxItem[]> {
    return promised(() => this.#due.all(now, limit).map(toItem));
  }

  nextDue(): Promise<number | undefined> {
    return promised(() => this.#nextDue.get()?.next ?? undefined);
  }

  delivered(webhook: string, eventId: string, at: number): Promise<void> {
    return promised(() => void this.#delivered.run(at, webhook, eventId));
  }

  failed(webhook: string, eventId: string, error: string, nextAt: number, dead: boolean): Promise<void> {
    return promised(() => void this.#failed.run(error, nextAt, dead ? 1 : 0, webhook, eventId));
  }

  list(webhook: string): Promise<readonly (OutboxItem & { readonly deliveredAt?: number; readonly dead: boolean })[]> {
    return promised(() =>
      this.#list.all(webhook).map((r) => ({
        ...toItem(r),
        ...(r.delivered_at !== null ? { deliveredAt: r.delivered_at } : {}),
        dead: r.dead === 1,
      })),
    );
  }
}

function toItem(r: OutboxRecord): OutboxItem {
  return {
    webhook: r.webhook,
    eventId: r.event_id,
    event: fromJson(r.event),
    attempts: r.attempts,
    nextAt: r.next_at,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    createdAt: r.created_at,
  };
}
