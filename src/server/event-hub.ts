/**
 * Live events for the service's streams. Each subscriber keeps a cursor (the last global event id it was sent) and
 * reads the store after it whenever the hub says something may have been committed: so a stream resumed with
 * `Last-Event-ID` replays what it missed and then follows, from the one query, with no gap and no duplicate (ids are
 * handed out in commit order, so nothing can appear behind a cursor later). The hub is poked at once by what this
 * process commits (the supervisor's states, the API's commands), and looks at the store's last id every `pollMs` for
 * what other replicas commit.
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type { RunEvent } from '../persistence/events-repo.ts';
import type { KupStore } from '../persistence/store.ts';

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  readonly store: KupStore;
  readonly clock: Clock;
  /** How often the store is asked whether another process committed events. @default 1000 */
  readonly pollMs?: number;
}

/** What a subscriber follows. */
export interface EventSubscription {
  /** Only this run's events. @default every run's */
  readonly runId?: string;
  /** The last id the subscriber has (its Last-Event-ID). @default 0: from the first event */
  readonly afterId?: number;
  /** Called with each page of new events, in id order. */
  readonly send: (events: readonly RunEvent[]) => void | Promise<void>;
  /** Called when reading failed; the subscription is over. */
  readonly fail: (err: unknown) => void;
}

const PAGE = 500;

/** See the module comment. */
export class EventHub {
  readonly #options: EventHubOptions;
  readonly #subscribers = new Set<() => void>();
  readonly #commitListeners = new Set<() => void>();
  #lastSeen = -1;
  #cancelPoll: Cancel = () => undefined;
  #scheduled = false;
  #closed = false;

  constructor(options: EventHubOptions) {
    this.#options = options;
  }

  /** Starts watching the store for other processes' events. */
  start(): void {
    const every = this.#options.pollMs ?? 1000;
    const poll = (): void => {
      if (this.#closed) return;
      this.#options.store.events.lastId().then(
        (last) => {
          if (last !== this.#lastSeen) {
            this.#lastSeen = last;
            this.poke();
          }
          this.#cancelPoll = this.#options.clock.after(every, poll);
        },
        () => {
          this.#cancelPoll = this.#options.clock.after(every, poll);
        },
      );
    };
    poll();
  }

  /** Something may have been committed: every subscriber reads after its cursor (coalesced into one turn). */
  poke(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const listener of this.#commitListeners) listener();
      for (const wake of this.#subscribers) wake();
    });
  }

  /** Calls `listener` whenever something may have been committed (as subscribers are woken); returns the off. */
  onCommit(listener: () => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Follows events after `afterId`; returns the unsubscribe. Replays the backlog first. */
  subscribe(subscription: EventSubscription): () => void {
    const { store } = this.#options;
    let cursor = subscription.afterId ?? 0;
    let reading = false;
    let again = false;
    let ended = false;
    const read = async (): Promise<void> => {
      for (;;) {
        const page =
          subscription.runId !== undefined
            ? await store.events.list(subscription.runId, { afterId: cursor, limit: PAGE })
            : await store.events.listAll({ afterId: cursor, limit: PAGE });
        if (ended || page.length === 0) return;
        cursor = page[page.length - 1]?.id ?? cursor;
        await subscription.send(page);
        if (page.length < PAGE) return;
      }
    };
    const wake = (): void => {
      if (ended) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      read().then(
        () => {
          reading = false;
          if (again) {
            again = false;
            wake();
          }
        },
        (err: unknown) => {
          reading = false;
          unsubscribe();
          subscription.fail(err);
        },
      );
    };
    const unsubscribe = (): void => {
      ended = true;
      this.#subscribers.delete(wake);
    };
    this.#subscribers.add(wake);
    wake();
    return unsubscribe;
  }

  /** How many streams follow events now. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Stops polling; subscribers are ended by their streams closing. */
  close(): void {
    this.#closed = true;
    this.#cancelPoll();
  }
}
