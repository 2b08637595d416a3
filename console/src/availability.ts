/**
 * The run's availability, read off its `availability` events (the service samples each PodDisruptionBudget of the
 * run's cluster while it drives the run): per budget, its healthy pods and its floor over time.
 *
 * @module
 */
import type { RunEvent } from './api/types.ts';

/** The step of a sample in a run's events. */
export const AVAILABILITY_STEP = 'availability';

/** One budget's samples, in time order. */
export interface AvailabilitySeries {
  /** `namespace/name` of the PodDisruptionBudget. */
  readonly pdb: string;
  /** Healthy pods: `at` in ms since the epoch. */
  readonly healthy: readonly { readonly at: number; readonly value: number }[];
  /** The floor (desiredHealthy) at the same moments. */
  readonly floor: readonly { readonly at: number; readonly value: number }[];
  /** Samples where healthy pods were below the floor. */
  readonly below: number;
}

interface Sample {
  readonly pdb: string;
  readonly currentHealthy: number;
  readonly desiredHealthy: number;
}

function samplesOf(event: RunEvent): readonly Sample[] {
  const pdbs = event.data?.['pdbs'];
  if (!Array.isArray(pdbs)) return [];
  return pdbs.filter(
    (p): p is Sample =>
      typeof p === 'object' &&
      p !== null &&
      typeof (p as Sample).pdb === 'string' &&
      typeof (p as Sample).currentHealthy === 'number' &&
      typeof (p as Sample).desiredHealthy === 'number',
  );
}

/** Whether an event is an availability sample (the event log leaves them to the chart). */
export function isAvailabilitySample(event: RunEvent): boolean {
  return event.step === AVAILABILITY_STEP;
}

/** Each budget's series, sorted by name. */
export function availabilitySeries(events: readonly RunEvent[]): AvailabilitySeries[] {
  const byPdb = new Map<
    string,
    { healthy: { at: number; value: number }[]; floor: { at: number; value: number }[]; below: number }
  >();
  for (const event of events) {
    if (!isAvailabilitySample(event)) continue;
    for (const s of samplesOf(event)) {
      let series = byPdb.get(s.pdb);
      if (!series) byPdb.set(s.pdb, (series = { healthy: [], floor: [], below: 0 }));
      series.healthy.push({ at: event.at, value: s.currentHealthy });
      series.floor.push({ at: event.at, value: s.desiredHealthy });
      if (s.currentHealthy < s.desiredHealthy) series.below += 1;
    }
  }
  return [...byPdb.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([pdb, series]) => ({ pdb, ...series }));
}
