/**
 * The transition being built, and its undo log.
 *
 * Why the undo log: a run's state holds one unit per node slot (a thousand and more), and a transition must not change
 * the state it was given: the caller persists the new state, and keeps the old one when the event throws. Copying the
 * units map on every event cost about 0.3 ms for 1,040 units, so the reports of a 69-node batch, committed together,
 * held kup's event loop for 20 ms while the drains' evictions waited. `transitionAll` therefore lets the events of one
 * batch share a single copy that no one else holds, and each {@link Draft} writes units in place in it. An event that
 * throws part way (a refused command, a report the machine cannot use) must still leave the units as the events
 * before it left them, as a throwing `transition` would: the draft remembers what each unit held before its first
 * write, and {@link Draft.rollBack} puts it back. Run-level fields need no log: they are written to the draft's own
 * shallow copy of the state, which a throw drops.
 *
 * @module
 */
import type { Effect, RunLogEntry, RunState, RunStatus, TransitionResult, UnitProgress } from './types.ts';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A transition being built: a shallow copy of the state, copy-on-write units, and the effects so far. Given `owned`
 * (the units of the state it starts from, which nobody else holds), it writes units in place instead, remembering
 * what each held before so that a transition that throws can be undone.
 */
export class Draft {
  readonly s: Writable<RunState>;
  private units: Record<string, UnitProgress> | null = null;
  /** In place: each unit set, as it was before (undefined: absent). */
  private readonly undo: Map<string, UnitProgress | undefined> | null;
  readonly effects: Effect[] = [];
  changed = false;

  constructor(
    readonly original: RunState,
    readonly now: number,
    owned?: Record<string, UnitProgress>,
  ) {
    this.s = { ...original };
    const inPlace = owned !== undefined && owned === original.units;
    this.units = inPlace ? owned : null;
    this.undo = inPlace ? new Map() : null;
  }

  /** The units this draft wrote to, when it copied or owned them. */
  ownedUnits(): Record<string, UnitProgress> | undefined {
    return this.units ?? undefined;
  }

  /** Puts back, in owned units, what this draft changed. */
  rollBack(): void {
    if (!this.units || !this.undo) return;
    for (const [key, unit] of this.undo) {
      if (unit === undefined) delete this.units[key];
      else this.units[key] = unit;
    }
  }

  unit(key: string): UnitProgress | undefined {
    return (this.units ?? this.s.units)[key];
  }

  allUnits(): UnitProgress[] {
    return Object.values(this.units ?? this.s.units);
  }

  setUnit(unit: UnitProgress): void {
    if (this.units === null) {
      this.units = { ...this.s.units };
      this.s.units = this.units;
    }
    if (this.undo && !this.undo.has(unit.key)) this.undo.set(unit.key, this.units[unit.key]);
    this.units[unit.key] = unit;
    this.changed = true;
  }

  set<K extends keyof RunState>(field: K, value: RunState[K]): void {
    (this.s as Record<K, RunState[K]>)[field] = value;
    this.changed = true;
  }

  /** The state as it is now (cheap: shares everything). */
  view(): RunState {
    return this.s;
  }

  log(
    outcome: RunLogEntry['outcome'],
    message: string,
    extra: Pick<RunLogEntry, 'key' | 'node' | 'action'> = {},
  ): void {
    const seq = this.s.seq + 1;
    this.set('seq', seq);
    this.effects.push({ type: 'emit-event', entry: { seq, at: this.now, outcome, ...extra, message } });
  }

  setStatus(status: RunStatus): void {
    this.set('status', status);
  }

  result(): TransitionResult {
    if (!this.changed) return { state: this.original, effects: [] };
    this.s.updatedAt = this.now;
    return { state: this.s, effects: this.effects };
  }
}
