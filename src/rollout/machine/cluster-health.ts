/**
 * What the run says when its cluster's API server goes away and comes back: the executor watches the connection and
 * reports it, and the run logs it at once (an operator must not wonder for minutes why nothing moves), then pauses
 * with its own reason once the outage outlasts the run's limit. Steps in flight are not stopped: they fail or finish
 * on their own, and a resume goes on from there.
 *
 * @module
 */
import type { Draft } from './draft.ts';
import { isTerminal } from './state.ts';
import { pauseForError } from './step-reports.ts';
import type { RunEvent } from './types.ts';

/** The API server did not answer: log it, or pause the run once the outage has lasted past the limit. */
export function onApiUnreachable(d: Draft, event: Extract<RunEvent, { type: 'api-unreachable' }>): void {
  if (isTerminal(d.s)) return;
  const since = clockTime(event.since);
  const lasted = Math.round(Math.max(0, d.now - event.since) / 1000);
  if (event.pause === true && d.s.status.phase !== 'paused' && d.s.status.phase !== 'pending') {
    const message = `the cluster API has been unreachable for ${lasted}s (since ${since}): ${event.message}`;
    pauseForError(d, 'cluster-unreachable', { code: 'KUP-ENGINE-007', message }, message);
    return;
  }
  d.log('unreachable', `cluster API unreachable since ${since} (${event.message}), retrying`);
}

/** The API server answers again. */
export function onApiReachable(d: Draft, event: Extract<RunEvent, { type: 'api-reachable' }>): void {
  if (isTerminal(d.s)) return;
  const lasted = Math.round(Math.max(0, d.now - event.since) / 1000);
  d.log('reachable', `cluster API reachable again after ${lasted}s (unreachable since ${clockTime(event.since)})`);
}

/** `HH:MM:SS` (UTC) of a time, as the run's log shows times. */
function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
