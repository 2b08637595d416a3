/**
 * The fleet list that `GET /api/v1/clusters` serves, kept in memory and kept fresh by what changes it, instead of
 * read and built again by every request: a thousand registry rows, the active runs and a thousand documents
 * serialized per request held a service to ~30 lists a second.
 *
 * It holds each registered cluster's line of the list as JSON text, built once and again only when what it shows
 * changes: its registry row (this process's registrations and removals at once, other processes' within `pollMs`),
 * its status (the status cache tells), or its active run (the event hub's every commit, this replica's or
 * another's, has the active runs read again: one query per batch of commits, not per request). A request that comes
 * after a change waits for the read that change started, so a client reads its own writes; the whole fleet's body
 * is kept too, until the next change.
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import type { RunSummary } from '../persistence/runs-repo.ts';
import type { ActiveRunRef } from './cluster-document.ts';
import { clusterSummary } from './cluster-document.ts';
import type { ClusterStatus, ClusterStatusCache } from './cluster-status.ts';

/** Options of {@link FleetList}. */
export interface FleetListOptions {
  readonly clock: Clock;
  /** The registered clusters. */
  readonly clusters: () => Promise<readonly ClusterRow[]>;
  /** The runs not yet ended, newest first. */
  readonly activeRuns: () => Promise<readonly RunSummary[]>;
  readonly status: ClusterStatusCache;
  /** How often the registry is read again for what other processes registered or removed. @default 1000 */
  readonly pollMs?: number;
}

/** Which part of the fleet a request asks for. */
export interface FleetPageOptions {
  /** Only clusters whose name sorts after this one (by code point). @default from the first */
  readonly after?: string;
  /** At most this many. @default every one */
  readonly limit?: number;
}

interface Line {
  readonly row: ClusterRow;
  active: ActiveRunRef | undefined;
  /** The line's JSON, built when first asked for after a change. */
  json: string | undefined;
}

/** See the module comment. */
export class FleetList {
  readonly #options: FleetListOptions;
  readonly #lines = new Map<string, Line>();
  /** The registered names, by code point (as the continue token compares, whatever the database's collation). */
  #names: string[] = [];
  #whole: Buffer | undefined;
  #active = new Map<string, ActiveRunRef>();
  #wantRows = true;
  #wantRuns = true;
  /** Whether reads are in progress. */
  #reading = false;
  /** The read that starts next: it covers every change asked for until it starts. */
  #next: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** What a request must wait for: the reads that a change started. */
  #fresh: Promise<void> | undefined;
  #cancelPoll: Cancel = () => undefined;
  #offStatus: () => void = () => undefined;
  #closed = false;

  constructor(options: FleetListOptions) {
    this.#options = options;
  }

  /** Follows the status cache and starts reading the registry every `pollMs`. */
  start(): void {
    this.#offStatus = this.#options.status.onChange((name) => this.#statusChanged(name));
    const every = this.#options.pollMs ?? 1000;
    const poll = (): void => {
      if (this.#closed) return;
      // Another process's registrations: read in the background, nobody waits for them.
      this.#wantRows = true;
      this.#read().then(
        () => (this.#cancelPoll = this.#options.clock.after(every, poll)),
        () => (this.#cancelPoll = this.#options.clock.after(every, poll)),
      );
    };
    this.#cancelPoll = this.#options.clock.after(every, poll);
  }

  /** A cluster was registered or removed: the next request sees it. */
  registryChanged(): void {
    this.#wantRows = true;
    this.#fresh = this.#read();
  }

  /** A run may have been created, changed phase or ended: the next request sees it. */
  runsChanged(): void {
    this.#wantRuns = true;
    this.#fresh = this.#read();
  }

  /**
   * A page of the fleet, by name, as the JSON text of `{ items: [...], continue? }` (the whole fleet's as a Buffer,
   * kept until the next change). Clusters never inspected yet (a cold start) are inspected first, within the status
   * cache's bound.
   *
   * @throws what reading the registry or the runs threw.
   */
  async page(options: FleetPageOptions = {}): Promise<string | Buffer> {
    if (this.#fresh === undefined) this.registryChanged();
    await this.#fresh;
    const whole = options.after === undefined && options.limit === undefined;
    for (;;) {
      if (whole && this.#whole !== undefined) return this.#whole;
      const { lines, more } = this.#slice(options);
      const { status } = this.#options;
      const cold = lines.filter((line) => status.peek(line.row.name) === undefined);
      if (cold.length > 0) {
        await Promise.all(cold.map((line) => status.get(line.row)));
        // The fleet may have changed meanwhile: slice it again.
        continue;
      }
      // From here to the return nothing awaits: the page is what memory holds now.
      const items = lines.map((line) => (line.json ??= lineJson(line, status.peek(line.row.name) as ClusterStatus)));
      const last = lines.at(-1)?.row.name;
      const body = `{"items":[${items.join(',')}]${more && last !== undefined ? `,"continue":"${continueToken(last)}"` : ''}}`;
      if (!whole) return body;
      this.#whole = Buffer.from(body);
      return this.#whole;
    }
  }

  /** Stops polling and following the status cache. */
  close(): void {
    this.#closed = true;
    this.#cancelPoll();
    this.#offStatus();
  }

  /** The lines of a page, and whether more clusters follow. */
  #slice(options: FleetPageOptions): { lines: Line[]; more: boolean } {
    const names = this.#names;
    const from = options.after === undefined ? 0 : firstAfter(names, options.after);
    const to = options.limit === undefined ? names.length : Math.min(names.length, from + options.limit);
    const lines: Line[] = [];
    for (let i = from; i < to; i++) {
      const line = this.#lines.get(names[i] ?? '');
      if (line !== undefined) lines.push(line);
    }
    return { lines, more: to < names.length };
  }

  /**
   * Asks for a read: resolves once a read that started after this call is applied. Changes asked for while a read is
   * in progress share the next one, so a request waits for two reads at most, however often commits come.
   */
  #read(): Promise<void> {
    if (this.#next === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      // Whoever asked handles the failure; a poll's is only retried.
      promise.catch(() => undefined);
      this.#next = { promise, resolve, reject };
    }
    const { promise } = this.#next;
    if (!this.#reading) void this.#readAll();
    return promise;
  }

  async #readAll(): Promise<void> {
    this.#reading = true;
    try {
      for (let read = this.#next; read !== undefined; read = this.#next) {
        this.#next = undefined;
        const rows = this.#wantRows;
        const runs = this.#wantRuns;
        this.#wantRows = false;
        this.#wantRuns = false;
        try {
          const [registered, active] = await Promise.all([
            rows ? this.#options.clusters() : undefined,
            runs ? this.#options.activeRuns() : undefined,
          ]);
          if (active !== undefined) this.#applyRuns(active);
          if (registered !== undefined) this.#applyRows(registered);
          read.resolve();
        } catch (err) {
          // Read again by the next change or request (which gets the error if the store still fails).
          this.#wantRows ||= rows;
          this.#wantRuns ||= runs;
          if (this.#fresh === read.promise) this.#fresh = undefined;
          read.reject(err);
        }
      }
    } finally {
      this.#reading = false;
    }
  }

  #applyRows(rows: readonly ClusterRow[]): void {
    const names = rows.map((r) => r.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let changed = names.length !== this.#names.length || names.some((name, i) => name !== this.#names[i]);
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      const line = this.#lines.get(row.name);
      if (line !== undefined && sameRow(line.row, row)) continue;
      this.#lines.set(row.name, { row, active: this.#active.get(row.name), json: undefined });
      changed = true;
    }
    for (const name of this.#lines.keys()) if (!seen.has(name)) this.#lines.delete(name);
    if (changed) {
      this.#names = names;
      this.#whole = undefined;
    }
  }

  #applyRuns(runs: readonly RunSummary[]): void {
    const active = new Map<string, ActiveRunRef>();
    // A cluster has one active run at most; the store lists the newest first, should it ever show two.
    for (const run of runs) if (!active.has(run.cluster)) active.set(run.cluster, { id: run.id, phase: run.phase });
    this.#active = active;
    for (const [name, line] of this.#lines) {
      const now = active.get(name);
      if (now?.id === line.active?.id && now?.phase === line.active?.phase) continue;
      line.active = now;
      line.json = undefined;
      this.#whole = undefined;
    }
  }

  #statusChanged(name: string): void {
    const line = this.#lines.get(name);
    if (line === undefined) return;
    line.json = undefined;
    this.#whole = undefined;
  }
}

/** The continue token of a page that ended at `name`. */
export function continueToken(name: string): string {
  return Buffer.from(name).toString('base64url');
}

function lineJson(line: Line, status: ClusterStatus): string {
  return JSON.stringify(clusterSummary(line.row, status, line.active));
}

/** The index of the first name after `after` in sorted `names`. */
function firstAfter(names: readonly string[], after: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((names[mid] ?? '') > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function sameRow(a: ClusterRow, b: ClusterRow): boolean {
  return (
    a.kubeconfigPath === b.kubeconfigPath &&
    a.context === b.context &&
    a.provider === b.provider &&
    a.addedAt === b.addedAt &&
    JSON.stringify(a.providerSettings) === JSON.stringify(b.providerSettings)
  );
}
