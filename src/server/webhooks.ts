/**
 * The webhook worker of `kup serve`: on the service's clock it reads the run events (after the outbox's cursor, by
 * global id) and every rollout's log (after its cursor), enqueues a CloudEvent per webhook that wants its type (the
 * enqueue and the cursor move in one transaction), and delivers what is due, signed, retrying with exponential
 * backoff and jitter until `maxAttempts`. It runs beside the engine and is never awaited by it: a dead receiver only
 * grows the outbox. Several replicas on one database each run one: enqueuing is idempotent, and an item is claimed in
 * the database before it is sent, so it is sent by one of them.
 *
 * @module
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type { CloudEvent } from '../notifications/cloudevents.ts';
import { deliverOnce, retryDelayMs, rolloutCloudEvent, runCloudEvent } from '../notifications/cloudevents.ts';
import type { KupStore } from '../persistence/store.ts';
import type { WebhookRow } from '../persistence/webhook-outbox-repo.ts';

/** Options of {@link WebhookWorker}. */
export interface WebhookWorkerOptions {
  readonly store: KupStore;
  readonly clock: Clock;
  /** The CloudEvents `source` of this kup (a URI reference). */
  readonly source: string;
  /** The signing secret of a webhook from its stored (sealed) form. */
  readonly secretOf: (webhook: WebhookRow) => string;
  /** How often it looks for new events and due deliveries. @default 1000 */
  readonly pollMs?: number;
  /** Attempts before a notification is given up. @default 12 (about 3 hours of backoff) */
  readonly maxAttempts?: number;
  /** Each attempt's time limit. @default 10000 */
  readonly timeoutMs?: number;
  /** The wait before the first retry; it doubles with each attempt, capped at an hour. @default 5000 */
  readonly retryBaseMs?: number;
  /** [0, 1): the jitter. @default Math.random */
  readonly random?: () => number;
  /** Told of a notification given up, or of a failed pass (the service logs it). */
  readonly onProblem?: (message: string) => void;
}

const RUNS_FEED = 'runs';
const BATCH = 500;

/** See the module comment. */
export class WebhookWorker {
  readonly #o: WebhookWorkerOptions;
  #timer: Cancel = () => undefined;
  #stopped = false;
  #pass: Promise<void> | undefined;

  constructor(options: WebhookWorkerOptions) {
    this.#o = options;
  }

  /** Starts the passes on the clock. */
  start(): void {
    this.#schedule();
  }

  /** Stops: no new pass; resolves when the running one ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer();
    await this.#pass;
  }

  /** One pass: enqueue what is new, deliver what is due. Passes never overlap. */
  pass(): Promise<void> {
    this.#pass ??= (async () => {
      try {
        await this.#collect();
        await this.#deliverDue();
      } catch (err) {
        this.#o.onProblem?.(`webhook pass failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        this.#pass = undefined;
      }
    })();
    return this.#pass;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.after(this.#o.pollMs ?? 1_000, () => void this.pass().then(() => this.#schedule()), {
      keepAlive: false,
    });
  }

  async #collect(): Promise<void> {
    const { store, source } = this.#o;
    const hooks = await store.webhookOutbox.webhooks();
    const now = this.#o.clock.now();
    const itemsOf = (events: readonly CloudEvent[]) =>
      hooks.flatMap((h) =>
        events
          .filter((e) => h.types.length === 0 || h.types.some((t) => e.type.startsWith(t)))
          .map((e) => ({ webhook: h.name, eventId: e.id, event: e })),
      );
    for (;;) {
      const after = await store.webhookOutbox.cursor(RUNS_FEED);
      const events = await store.events.listAll({ afterId: after, limit: BATCH });
      const last = events.at(-1);
      if (last === undefined) break;
      await store.webhookOutbox.enqueue(itemsOf(events.map((e) => runCloudEvent(source, e))), RUNS_FEED, last.id, now);
      if (events.length < BATCH) break;
    }
    for (const rollout of await store.rollouts.list()) {
      const feed = `rollout:${rollout.id}`;
      const after = await store.webhookOutbox.cursor(feed);
      const events = await store.rollouts.events(rollout.id, after);
      const last = events.at(-1);
      if (last === undefined) continue;
      const cloud = events.map((e) => rolloutCloudEvent(source, rollout.id, e));
      await store.webhookOutbox.enqueue(itemsOf(cloud), feed, last.seq, now);
    }
  }

  async #deliverDue(): Promise<void> {
    const { store, clock } = this.#o;
    const hooks = new Map((await store.webhookOutbox.webhooks()).map((h) => [h.name, h]));
    const due = await store.webhookOutbox.due(clock.now(), 50);
    const maxAttempts = this.#o.maxAttempts ?? 12;
    await Promise.all(
      due.map(async (item) => {
        const hook = hooks.get(item.webhook);
        if (hook === undefined) {
          // Enqueued by a pass that read the webhook just before it was removed: never sent, never picked again.
          await store.webhookOutbox.failed(item.webhook, item.eventId, 'the webhook was removed', clock.now(), true);
          return;
        }
        const timeoutMs = this.#o.timeoutMs ?? 10_000;
        // Replicas on one database each run a worker: the one that claims the item sends it.
        if (!(await store.webhookOutbox.claim(item.webhook, item.eventId, item.nextAt, clock.now() + 2 * timeoutMs)))
          return;
        let secret: string;
        try {
          secret = this.#o.secretOf(hook);
        } catch (err) {
          // The service's key changed since the webhook was added: no attempt can sign it.
          const reason = `its signing secret does not open: ${err instanceof Error ? err.message : String(err)}`;
          await store.webhookOutbox.failed(item.webhook, item.eventId, reason, clock.now(), true);
          this.#o.onProblem?.(`webhook ${hook.name}: notification ${item.eventId} given up: ${reason}`);
          return;
        }
        const outcome = await deliverOnce({ url: hook.url, secret }, item.event as CloudEvent, clock.now(), timeoutMs);
        if (outcome.delivered) {
          await store.webhookOutbox.delivered(item.webhook, item.eventId, clock.now());
          return;
        }
        const attempts = item.attempts + 1;
        const dead = !outcome.retry || attempts >= maxAttempts;
        const nextAt = clock.now() + retryDelayMs(attempts, (this.#o.random ?? Math.random)(), this.#o.retryBaseMs);
        await store.webhookOutbox.failed(item.webhook, item.eventId, outcome.reason, nextAt, dead);
        if (dead)
          this.#o.onProblem?.(
            `webhook ${hook.name}: notification ${item.eventId} given up after ${attempts} attempt(s): ${outcome.reason}`,
          );
      }),
    );
  }
}
