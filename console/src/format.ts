/** Formatting shared by the pages: dates, durations, phases. */
import type { RunPhase } from './api/types.ts';

/** A date as YYYY-MM-DD (ISO strings and epoch ms). */
export function day(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().slice(0, 10);
}

/** A time as YYYY-MM-DD HH:MM:SS UTC. */
export function dateTime(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A time of day, HH:MM:SS.mmm UTC, for the event log. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** A duration: 45 s, 3 min 20 s, 2 h 5 min. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

const PHASE_LABEL: Readonly<Record<RunPhase, string>> = {
  pending: 'Pending',
  prechecking: 'Prechecking',
  snapshotting: 'Taking a snapshot',
  'upgrading-control-plane': 'Upgrading the control plane',
  'upgrading-pools': 'Upgrading node pools',
  validating: 'Validating',
  succeeded: 'Succeeded',
  paused: 'Paused',
  cancelling: 'Cancelling',
  cancelled: 'Cancelled',
  failed: 'Failed',
  'rolling-back': 'Rolling back',
  'rolled-back': 'Rolled back',
};

/** A phase in words. */
export function phaseLabel(phase: RunPhase): string {
  return PHASE_LABEL[phase] ?? phase;
}

/** Whether a run in this phase is over. */
export function isFinished(phase: RunPhase): boolean {
  return phase === 'succeeded' || phase === 'cancelled' || phase === 'failed' || phase === 'rolled-back';
}
