/**
 * The webhook outbox: notifications (CloudEvents, as JSON) waiting for delivery to a webhook, with their attempts and
 * next try, and the cursors of the feeds they are read from (the run events' global id, each rollout's log). Enqueuing
 * and moving a cursor happen in one transaction, and a notification is keyed by its webhook and event id, so a crash
 * between reading and enqueuing loses nothing and sends nothing twice.
 *
 * @module
 */
import { fromJson, toJson } from './database.ts';
import type { SqlDatabase } from './sql.ts';

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
  /**
   * Takes a due item for one delivery attempt: moves its next try to `until` if it still is `nextAt` (as read by
   * {@link due}). False when another replica's worker took it first; a worker that dies mid-attempt leaves it to be
   * taken again at `until`.
   */
  claim(webhook: string, eventId: string, nextAt: number, until: number): Promise<boolean>;
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

/** {@link WebhookOutboxRepo} over the SQL layer: SQLite and PostgreSQL alike. */
export class SqlWebhookOutboxRepo implements WebhookOutboxRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async putWebhook(row: WebhookRow): Promise<void> {
    await this.#db.run(
      `INSERT INTO webhooks (name, url, secret, types, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET url = excluded.url, secret = excluded.secret, types = excluded.types`,
      [row.name, row.url, row.secret, toJson(row.types, `types of webhook ${row.name}`), row.createdAt],
    );
  }

  async webhooks(): Promise<readonly WebhookRow[]> {
    const rows = await this.#db.all<{ name: string; url: string; secret: string; types: string; created_at: number }>(
      'SELECT name, url, secret, types, created_at FROM webhooks ORDER BY name',
    );
    return rows.map((r) => ({
      name: r.name,
      url: r.url,
      secret: r.secret,
      types: fromJson(r.types) as string[],
      createdAt: r.created_at,
    }));
  }

  removeWebhook(name: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM webhook_outbox WHERE webhook = ? AND delivered_at IS NULL', [name]);
      return (await tx.run('DELETE FROM webhooks WHERE name = ?', [name])) > 0;
    });
  }

  async cursor(feed: string): Promise<number> {
    const row = await this.#db.get<{ position: number }>('SELECT position FROM webhook_cursors WHERE feed = ?', [feed]);
    return row?.position ?? 0;
  }

  enqueue(
    items: readonly { webhook: string; eventId: string; event: unknown }[],
    feed: string,
    position: number,
    now: number,
  ): Promise<void> {
    const rows = items.map((i) => [i.webhook, i.eventId, toJson(i.event, `notification ${i.eventId}`)] as const);
    return this.#db.transaction(async (tx) => {
      for (const [webhook, eventId, event] of rows) {
        await tx.run(
          `INSERT INTO webhook_outbox (webhook, event_id, event, attempts, next_at, created_at, dead)
           VALUES (?, ?, ?, 0, ?, ?, 0) ON CONFLICT (webhook, event_id) DO NOTHING`,
          [webhook, eventId, event, now, now],
        );
      }
      await tx.run(
        'INSERT INTO webhook_cursors (feed, position) VALUES (?, ?) ON CONFLICT (feed) DO UPDATE SET position = excluded.position',
        [feed, position],
      );
    });
  }

  async due(now: number, limit: number): Promise<readonly OutboxItem[]> {
    const rows = await this.#db.all<OutboxRecord>(
      `SELECT * FROM webhook_outbox WHERE delivered_at IS NULL AND dead = 0 AND next_at <= ?
       ORDER BY next_at, created_at, event_id LIMIT ?`,
      [now, limit],
    );
    return rows.map(toItem);
  }

  async nextDue(): Promise<number | undefined> {
    const row = await this.#db.get<{ next: number | null }>(
      'SELECT MIN(next_at) AS next FROM webhook_outbox WHERE delivered_at IS NULL AND dead = 0',
    );
    return row?.next ?? undefined;
  }

  async claim(webhook: string, eventId: string, nextAt: number, until: number): Promise<boolean> {
    const changed = await this.#db.run(
      `UPDATE webhook_outbox SET next_at = ?
       WHERE webhook = ? AND event_id = ? AND next_at = ? AND delivered_at IS NULL AND dead = 0`,
      [until, webhook, eventId, nextAt],
    );
    return changed === 1;
  }

  async delivered(webhook: string, eventId: string, at: number): Promise<void> {
    await this.#db.run(
      'UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE webhook = ? AND event_id = ?',
      [at, webhook, eventId],
    );
  }

  async failed(webhook: string, eventId: string, error: string, nextAt: number, dead: boolean): Promise<void> {
    await this.#db.run(
      `UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, dead = ?
       WHERE webhook = ? AND event_id = ?`,
      [error, nextAt, dead ? 1 : 0, webhook, eventId],
    );
  }

  async list(
    webhook: string,
  ): Promise<readonly (OutboxItem & { readonly deliveredAt?: number; readonly dead: boolean })[]> {
    const rows = await this.#db.all<OutboxRecord>(
      'SELECT * FROM webhook_outbox WHERE webhook = ? ORDER BY created_at, event_id',
      [webhook],
    );
    return rows.map((r) => ({
      ...toItem(r),
      ...(r.delivered_at !== null ? { deliveredAt: r.delivered_at } : {}),
      dead: r.dead === 1,
    }));
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
