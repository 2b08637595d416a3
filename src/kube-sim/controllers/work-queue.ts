/**
 * A deduplicating work queue, as client-go's workqueue: a key added many times before it is processed is processed
 * once; processing happens in batches off the store's write path (store listeners are synchronous, so a controller
 * must never write from inside one); a key whose processing throws is retried later with backoff. A queue with work
 * counts as work of the runtime, so `runtime.idle()` waits until every queue is empty.
 */
import type { Cancel, SimRuntime } from '../runtime.ts';

/** Options of a work queue. */
export interface WorkQueueOptions {
  /** Controller name, for error messages. */
  name: string;
  /**
   * Keys processed per batch before yielding to the event loop. Small batches let the other controllers' queues and
   * the API's requests in between: a burst of a few hundred pods becoming Ready at once then reaches the disruption
   * controller, and the clients watching budgets, after the first fifty rather than after all of them. @default 50
   */
  batchSize?: number;
  /** First retry delay after an error, doubled per failure, capped at 5 s. @default 50 */
  retryBaseMs?: number;
}

/** A deduplicating, batching work queue. */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly failures = new Map<string, number>();
  private scheduled = false;
  private draining = false;
  /** Ends this queue's share of the runtime's work; set while a drain is scheduled or running. */
  private workDone: Cancel | undefined;
  private readonly batchSize: number;
  private readonly retryBaseMs: number;

  constructor(
    private readonly runtime: SimRuntime,
    private readonly process: (key: string) => void,
    private readonly options: WorkQueueOptions,
  ) {
    this.batchSize = options.batchSize ?? 50;
    this.retryBaseMs = options.retryBaseMs ?? 50;
  }

  /** Queues a key for processing. */
  add(key: string): void {
    this.pending.add(key);
    this.schedule();
  }

  /** Queues a key after a delay (a requeue, e.g. to re-check when a timer would fire). */
  addAfter(key: string, ms: number): void {
    this.runtime.after(ms, () => this.add(key));
  }

  /** Keys waiting. */
  get length(): number {
    return this.pending.size;
  }

  private schedule(): void {
    if (this.scheduled || this.runtime.stopped()) return;
    this.scheduled = true;
    this.workDone ??= this.runtime.beginWork();
    // An idle queue reacts as soon as the write that woke it is done (a replacement pod created as the eviction's
    // request returns, bound as the ReplicaSet's sync returns); a queue with a backlog yields to the event loop
    // between batches, so requests and timers get in.
    if (this.draining) setImmediate(() => this.drain());
    else queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    if (this.runtime.stopped()) {
      this.endWork();
      return;
    }
    this.draining = true;
    try {
      this.drainBatch();
      if (this.pending.size > 0) this.schedule();
    } finally {
      this.draining = false;
      // A key processed here may have queued another one on this queue: then the queue is still at work.
      if (!this.scheduled) this.endWork();
    }
  }

  private endWork(): void {
    this.workDone?.();
    this.workDone = undefined;
  }

  private drainBatch(): void {
    let n = 0;
    for (const key of this.pending) {
      if (n++ >= this.batchSize) break;
      this.pending.delete(key);
      try {
        this.process(key);
        this.failures.delete(key);
      } catch (err) {
        const count = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, count);
        const delay = Math.min(5_000, this.retryBaseMs * 2 ** (count - 1));
        if (count === 1 || count % 20 === 0) {
          console.error(`kube-sim ${this.options.name}: ${key}: ${(err as Error).message} (retry in ${delay} ms)`);
        }
        this.addAfter(key, delay);
      }
    }
  }
}
