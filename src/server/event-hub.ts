/**
 * Live events for the service's streams. Each subscriber keeps a cursor (the last global event id it was sent). The
 * hub reads what was committed after the last event it holds, once, whenever it is told something may have been
 * committed, and keeps the latest events in memory: every subscriber at the head is sent its events from there, so
 * a commit costs one read of the store whatever the number of open streams (200 streams each reading the store
 * after every commit held the service's event loop). A subscriber further behind (a stream resumed with an old
 * `Last-Event-ID`) reads the store after its cursor, page by page, until it reaches what the hub holds: it replays
 * what it missed and then follows, with no gap and no duplicate (ids are handed out in commit order, so nothing can
 * appear behind a cursor later). The hub is poked at once by what this process commits (the supervisor's states,
 * the API's commands), and looks at the store's last id every `pollMs` for what other replicas commit.
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
  /** How many of the latest events are kept for the streams at the head. @default 2000 */
  readonly keep?: number;
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
  /** The latest events, in id order: every event with an id above `#floor` and up to `#head`. */
  #recent: RunEvent[] = [];
  /** Below `#recent`: undefined until the first read (or after a failed one), when nothing is held. */
  #floor: number | undefined;
  #head = 0;
  /** The read of new events in progress; `#again` when it must read once more after. */
  #pulling: Promise<void> | undefined;
  #again = false;
  /** How many times the hub read the store for new events (for tests: once per batch of commits). */
  #reads = 0;

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
      void this.#pull();
    });
  }

  /** How many times the hub read the store for new events. */
  get reads(): number {
    return this.#reads;
  }

  /** Reads what was committed after `#head` into `#recent`, then wakes the subscribers. */
  #pull(): Promise<void> {
    if (this.#pulling !== undefined) {
      this.#again = true;
      return this.#pulling;
    }
    this.#pulling = (async () => {
      do {
        this.#again = false;
        try {
          const { events } = this.#options.store;
          if (this.#floor === undefined) {
            // What was committed before is the store's to replay: the hub holds what comes after.
            this.#head = await events.lastId();
            this.#floor = this.#head;
          }
          for (;;) {
            this.#reads++;
            const page = await events.listAll({ afterId: this.#head, limit: PAGE });
            this.#recent.push(...page);
            this.#head = page.at(-1)?.id ?? this.#head;
            if (page.length < PAGE) break;
          }
          const over = this.#recent.length - (this.#options.keep ?? 2000);
          if (over > 0) this.#floor = this.#recent.splice(0, over).at(-1)?.id ?? this.#floor;
        } catch {
          // Nothing held: each subscriber reads the store itself, and ends its stream if the store fails it.
          this.#floor = undefined;
          this.#recent = [];
        }
        for (const wake of this.#subscribers) wake();
      } while (this.#again && !this.#closed);
    })().finally(() => (this.#pulling = undefined));
    return this.#pulling;
  }

  /**
   * The events after `cursor` (of `runId` only, when given) if the hub holds every one of them, else undefined.
   */
  #held(cursor: number, runId: string | undefined): RunEvent[] | undefined {
    if (this.#floor === undefined || cursor < this.#floor) return undefined;
    const recent = this.#recent;
    // The first event after the cursor: by bisection, ids increase.
    let lo = 0;
    let hi = recent.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((recent[mid]?.id ?? 0) > cursor) hi = mid;
      else lo = mid + 1;
    }
    const after = recent.slice(lo);
    return runId === undefined ? after : after.filter((e) => e.runId === runId);
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
        if (ended) return;
        const held = this.#held(cursor, subscription.runId);
        if (held !== undefined) {
          if (held.length === 0) return;
          cursor = held.at(-1)?.id ?? cursor;
          await subscription.send(held);
          continue;
        }
        // Behind what the hub holds: the store has it. Whatever the store did not have when this read began was
        // committed after it, so after the floor seen now.
        const floor = this.#floor;
        const page =
          subscription.runId !== undefined
            ? await store.events.list(subscription.runId, { afterId: cursor, limit: PAGE })
            : await store.events.listAll({ afterId: cursor, limit: PAGE });
        if (ended) return;
        const last = page.at(-1)?.id ?? cursor;
        if (page.length > 0) {
          cursor = last;
          await subscription.send(page);
        }
        if (page.length < PAGE) {
          if (floor === undefined) return;
          cursor = Math.max(cursor, floor);
        }
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
    if (this.#floor === undefined) void this.#pull();
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
