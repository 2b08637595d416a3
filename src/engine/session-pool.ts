/**
 * The cluster sessions of a process, in one place.
 */
import type { Clock } from '../clock/clock.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import type { SessionDescription } from './cluster-session.ts';
import { ClusterSession } from './cluster-session.ts';

/**
 * The sessions a process has open, one per executing run: what a service running many runs counts, shows and
 * closes (on shutdown) in one place. A session leaves the pool when it closes.
 */
export class SessionPool {
  readonly #clock: Clock;
  readonly #open = new Set<ClusterSession>();

  /** @param clock - the clock of every session the pool opens. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Opens a session for a run on `cluster`, over the run's connection. */
  open(cluster: string, conn: ClusterConnection): ClusterSession {
    const session = new ClusterSession({ cluster, conn, clock: this.#clock, onClose: (s) => this.#open.delete(s) });
    this.#open.add(session);
    return session;
  }

  /** How many sessions are open. */
  get size(): number {
    return this.#open.size;
  }

  /** What each open session holds. */
  describe(): SessionDescription[] {
    return [...this.#open].map((s) => s.describe());
  }

  /** Closes every open session. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((s) => s.close()));
  }
}
