/**
 * `kup upgrade --server URL`: the run is created by the service (`POST /api/v1/runs`, every `kup upgrade` option) and
 * driven by it. With `--wait` the CLI follows the run's live events and prints what the local `kup upgrade --wait`
 * prints as the run moves (the progress lines, the pause's notice), and exits as it does: 0 when the run succeeded,
 * was rolled back or cancelled, 1 when it failed, 3 when it paused and waits for an operator. Ctrl-C stops following,
 * not the run.
 *
 * @module
 */
import { systemClock } from '../clock/clock.ts';
import type { RolloutPlan } from '../rollout/plan-types.ts';
import type { CliIo } from './io.ts';
import { followRunEvents } from './remote-events.ts';
import type { RemoteClient } from './remote.ts';
import { RemoteError } from './remote.ts';

/** A run as `GET /api/v1/runs/{id}` shows it (the fields the CLI reads). */
export interface RemoteRunDetail {
  readonly id: string;
  readonly cluster: string;
  readonly phase: string;
  readonly active: boolean;
  /** `kup status`'s line. */
  readonly summary: string;
  /** A paused run's notice (its first line is the summary). */
  readonly notice: string;
  /** Steps under way. */
  readonly inFlight: number;
  readonly plan: RolloutPlan;
}

/** How often a progress line of the same phase may be printed (as the local executor's). */
const PROGRESS_MS = 500;

const clock = systemClock;

/** `kup upgrade` against the service; resolves to its exit code. */
export async function remoteUpgrade(
  client: RemoteClient,
  args: string[],
  io: CliIo,
  signal: () => AbortSignal,
): Promise<number> {
  const runs = await import('./commands/runs.ts');
  const { name, request, yes, wait } = runs.upgradeArguments(args);
  if (!yes) {
    const { planDirection } = await import('../rollout/plan-direction.ts');
    const { plan, text } = await client.call<{ plan: RolloutPlan; text: string }>(
      'POST',
      `/api/v1/clusters/${encodeURIComponent(name)}/plans`,
      request,
    );
    io.stdout.write(text);
    const verb = planDirection(plan) === 'downgrade' ? 'Downgrade' : 'Upgrade';
    if (!(await runs.confirm(io, `${verb} cluster ${name}? [y/N] `))) {
      io.stdout.write('not started\n');
      return 1;
    }
  }
  const created = await client.call<RemoteRunDetail>('POST', '/api/v1/runs', { cluster: name, ...request });
  io.stdout.write(runs.createdLine(created.id, name, created.plan));
  if (!wait) {
    io.stdout.write(`executing in the service; follow it with: kup status ${created.id} --watch\n`);
    return 0;
  }
  return followToRest(client, created.id, io, signal());
}

/**
 * Follows a run until it ends or pauses with nothing in flight, printing a progress line when it changes; resolves to
 * `kup upgrade --wait`'s exit code. The run's detail is read when the stream opens (again: what the run did while
 * it was down) and after each batch of events (every step writes one).
 */
export async function followToRest(
  client: RemoteClient,
  runId: string,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  const done = new AbortController();
  const following = AbortSignal.any([signal, done.signal]);
  let last = '';
  let lastPhase: string | undefined;
  let lastAt = 0;
  let code: number | undefined;
  const look = async (): Promise<void> => {
    const detail = await client.call<RemoteRunDetail>('GET', `/api/v1/runs/${encodeURIComponent(runId)}`);
    const resting = !detail.active || (detail.phase === 'paused' && detail.inFlight === 0);
    const samePhase = detail.phase === lastPhase;
    if (detail.summary !== last && (!samePhase || resting || clock.now() - lastAt >= PROGRESS_MS)) {
      io.stdout.write(`${new Date(clock.now()).toISOString().slice(11, 19)} ${runId} ${detail.summary}\n`);
      last = detail.summary;
      lastPhase = detail.phase;
      lastAt = clock.now();
    }
    if (!resting) return;
    if (detail.active) {
      io.stdout.write(detail.notice);
      code = 3;
    } else code = ['succeeded', 'rolled-back', 'cancelled'].includes(detail.phase) ? 0 : 1;
    done.abort();
  };
  try {
    for await (const _item of followRunEvents(client, runId, { clock, signal: following })) {
      try {
        await look();
      } catch (err) {
        // The service went away between the event and the read: the stream is opened again, and read then.
        if (!(err instanceof RemoteError && err.kind === 'unavailable')) throw err;
      }
      if (code !== undefined) return code;
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  if (code !== undefined) return code;
  io.stdout.write(`run ${runId} goes on in the service; follow it with: kup status ${runId} --watch\n`);
  return 1;
}
