/**
 * Virtual time for tests: a {@link Clock} that stands still until the test moves it, so minutes-long timeouts
 * (a PDB's DeletionTimeout, a drain deadline, a 15-day pause expiry) take no real time.
 */
import type { Cancel, Clock, TimerOptions } from './clock.ts';
import { sleepOn } from './clock.ts';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock tests move by hand with {@link ManualClock.advance}. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();
  private readonly quiescers = new Set<() => Promise<void>>();

  /** @param start ms since the epoch. @default 2025-01-01T00:00:00Z */
  constructor(start: number = Date.UTC(2025, 0, 1)) {
    this.current = start;
  }

  /** The current time, ms since the epoch. */
  readonly now = (): number => this.current;

  /** Runs `fn` once the clock has been advanced `ms` past now (a 0-ms timer runs on the next advance). */
  readonly after = (ms: number, fn: () => void, _options?: TimerOptions): Cancel => {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.current + Math.max(0, ms), seq, fn });
    return () => {
      this.timers.delete(seq);
    };
  };

  /** Resolves once the clock has been advanced `ms` past now. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepOn(this.after, ms, signal);

  /** `schedule` is kube-sim's older name for {@link after}. */
  schedule(ms: number, fn: () => void): Cancel {
    return this.after(ms, fn);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due, or undefined when none waits. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers.values()) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  /**
   * Makes `quiesce` the default wait of {@link advance} between timers, in place of a fixed number of event-loop
   * turns: a simulated cluster on this clock registers its idle signal, so advancing waits exactly until its
   * controllers have done what each timer started. With several registered, each is awaited in turn. Returns the
   * function that removes it.
   */
  quiesceOn(quiesce: () => Promise<void>): Cancel {
    this.quiescers.add(quiesce);
    return () => {
      this.quiescers.delete(quiesce);
    };
  }

  /**
   * Moves time forward by `ms`, running every timer that comes due at its own time, in order (ties in the order they
   * were set), and after each one awaiting `quiesce` (by default what {@link quiesceOn} registered, or else a few
   * turns of the event loop) so that the work it started (promises, 0-ms timers of other clocks) runs before the
   * next timer.
   */
  async advance(ms: number, quiesce: () => Promise<void> = () => this.quiesceDefault()): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers.values()) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.timers.delete(next.seq);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await quiesce();
    }
    this.current = target;
    await quiesce();
  }

  private async quiesceDefault(): Promise<void> {
    if (this.quiescers.size === 0) return turns();
    for (const quiesce of [...this.quiescers]) await quiesce();
  }
}

/** Several turns of the event loop: promise callbacks, setImmediate work and 0-ms timers run. */
async function turns(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}
