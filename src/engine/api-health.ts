/**
 * Whether the run's cluster answers: a probe of the API server on the executor's clock, so that an outage is told to
 * the operator within seconds (with the error that shows why) and pauses the run once it outlasts its limit, instead of
 * surfacing minutes later as a node that "was not ready after 900s".
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import type { RunEvent } from '../rollout/machine/types.ts';

/** Options of {@link watchApiHealth}. */
export interface ApiHealthOptions {
  readonly conn: ClusterConnection;
  readonly clock: Clock;
  /** How often the API server is asked. @default 10000 */
  readonly probeEveryMs?: number;
  /** How long one probe may take before it counts as unanswered. @default 5000 */
  readonly probeTimeoutMs?: number;
  /** Failed probes in a row before the outage is reported (one lost request is not an outage). @default 2 */
  readonly failuresToReport?: number;
  /** How long an outage may last before the run pauses. @default 300000 */
  readonly unreachableTimeoutMs?: number;
  /** Receives the run events the outage makes (`api-unreachable`, `api-reachable`). */
  readonly report: (event: RunEvent) => void;
}

/**
 * Probes `GET /livez` every `probeEveryMs` until the returned stop is called. Any HTTP answer counts as reachable
 * (a 401 or a 500 is the server speaking; those are other errors' business); a network error or no answer in time
 * counts as a failure.
 */
export function watchApiHealth(options: ApiHealthOptions): { readonly stop: () => void } {
  const { conn, clock, report } = options;
  const every = options.probeEveryMs ?? 10_000;
  const timeout = options.probeTimeoutMs ?? 5_000;
  const toReport = options.failuresToReport ?? 2;
  const limit = options.unreachableTimeoutMs ?? 300_000;
  let failures = 0;
  let outage: { since: number; message: string; reported: boolean; paused: boolean } | undefined;
  let stopped = false;
  let cancelNext: Cancel = () => undefined;
  const stopProbe = new AbortController();

  const probe = async (): Promise<void> => {
    const attempt = new AbortController();
    const cancelTimeout = clock.after(timeout, () => attempt.abort(new Error(`no answer within ${Math.round(timeout / 1000)}s`)));
    try {
      await conn.getText('/livez', AbortSignal.any([attempt.signal, stopProbe.signal]));
      failures = 0;
      if (outage?.reported === true) report({ type: 'api-reachable', since: outage.since });
      outage = undefined;
    } catch (err) {
      if (stopped) return;
      failures += 1;
      const message = attempt.signal.aborted ? `${String((attempt.signal.reason as Error).message)}` : rootMessage(err);
      outage ??= { since: clock.now(), message, reported: false, paused: false };
      outage.message = message;
      if (!outage.reported && failures >= toReport) {
        outage.reported = true;
        report({ type: 'api-unreachable', since: outage.since, message });
      }
      if (outage.reported && !outage.paused && clock.now() - outage.since >= limit) {
        outage.paused = true;
        report({ type: 'api-unreachable', since: outage.since, message, pause: true });
      }
    } finally {
      cancelTimeout();
    }
  };
  const loop = (): void => {
    cancelNext = clock.after(every, () => {
      void probe().finally(() => {
        if (!stopped) loop();
      });
    });
  };
  loop();
  return {
    stop() {
      stopped = true;
      cancelNext();
      stopProbe.abort(new Error('the run is no longer executed here'));
    },
  };
}

/** The innermost cause's message: `connect ECONNREFUSED 127.0.0.1:6443` rather than a wrapper's sentence. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
