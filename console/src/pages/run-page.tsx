import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { RunCommand } from '../api/client.ts';
import { followEvents } from '../api/event-stream.ts';
import type { Run, RunEvent } from '../api/types.ts';
import { availabilitySeries, isAvailabilitySample } from '../availability.ts';
import { Problem } from '../components/problem.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';
import { clockTime, dateTime, duration, isFinished, phaseLabel } from '../format.ts';
import { href } from '../route.ts';
import { ganttHeight, timeline } from '../run-timeline.ts';
import { may, useSession } from '../session.ts';
import { useApi } from '../use-api.ts';

const GanttChart = lazy(() => import('../components/gantt-chart.tsx').then((m) => ({ default: m.GanttChart })));
const AvailabilityChart = lazy(() =>
  import('../components/availability-chart.tsx').then((m) => ({ default: m.AvailabilityChart })),
);

/** Props of {@link RunPage}. */
export interface RunPageProps {
  readonly runId: string;
}

/** A run, live from its event stream: progress, timeline, availability, the event log and the operator's commands. */
export function RunPage({ runId }: RunPageProps) {
  const { api } = useSession();
  const [loaded, reload] = useApi((signal) => api.run(runId, signal), [api, runId]);
  const [events, setEvents] = useState<readonly RunEvent[]>([]);
  const [connected, setConnected] = useState(false);

  // The log comes from the stream (its first page included); each burst also refreshes the run's progress.
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    void followEvents(api, `/runs/${encodeURIComponent(runId)}/events`, {
      signal: controller.signal,
      onConnection: setConnected,
      onEvents: (batch) => {
        setEvents((prev) => [...prev, ...batch]);
        timer ??= setTimeout(() => {
          timer = undefined;
          reload();
        }, 200);
      },
    });
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api, runId, reload]);

  if (loaded.state === 'failed') return <Problem error={loaded.error} />;
  if (loaded.state === 'loading') return <p className="muted page">Loading run {runId}…</p>;
  const run = loaded.value;
  return (
    <section className="page" aria-labelledby="run-title">
      <nav aria-label="Breadcrumb" className="crumbs">
        <a href={href({ page: 'fleet' })}>Fleet</a> /{' '}
        <a href={href({ page: 'cluster', cluster: run.cluster, tab: 'overview' })}>{run.cluster}</a> / <span>run</span>
      </nav>
      <div className="page-head">
        <h1 id="run-title">
          {run.cluster}: {run.from} → {run.to}
        </h1>
        <span className={`phase phase-${run.status.phase}`} data-testid="run-phase">
          {phaseLabel(run.status.phase)}
        </span>
        <span className="muted small" aria-live="polite">
          {connected ? 'live' : isFinished(run.status.phase) ? '' : 'reconnecting…'}
        </span>
      </div>
      <PauseCause run={run} />
      <RunControls run={run} onDone={reload} />
      <RunProgressView run={run} />
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <Timeline run={run} events={events} />
      </section>
      <section aria-labelledby="availability-title">
        <h2 id="availability-title">Availability</h2>
        <Availability run={run} events={events} />
      </section>
      <EventLog events={events} />
    </section>
  );
}

function PauseCause({ run }: { readonly run: Run }) {
  const s = run.status;
  if (s.phase !== 'paused' && s.phase !== 'failed') return null;
  const cause = s.cause;
  return (
    <div className={s.phase === 'failed' ? 'problem' : 'attention'} role="alert">
      <strong>
        {s.phase === 'paused' ? `Paused${s.reason ? ` (${s.reason})` : ''}` : 'Failed'}: {s.message ?? s.reason ?? ''}
      </strong>
      {cause && (
        <ul className="plain">
          {cause.code && (
            <li>
              <code>{cause.code}</code> {cause.message}
            </li>
          )}
          {cause.node && (
            <li>
              Node: <span className="mono">{cause.node}</span>
            </li>
          )}
          {cause.pod && (
            <li>
              Pod: <span className="mono">{cause.pod}</span>
            </li>
          )}
          {cause.pdb && (
            <li>
              PodDisruptionBudget: <span className="mono">{cause.pdb}</span>
            </li>
          )}
          {cause.pods?.map((p) => (
            <li key={p.pod}>
              Pod <span className="mono">{p.pod}</span>
              {p.pdb && (
                <>
                  {' '}
                  held by <span className="mono">{p.pdb}</span>
                </>
              )}
              {p.reason && <> ({p.reason})</>}
            </li>
          ))}
        </ul>
      )}
      {s.phase === 'paused' && s.reason !== 'requested' && (
        <p>
          Fix the cause (scale the workload, relax the PDB, or make room), then Resume to retry the step; Cancel stops
          the upgrade where it is; Rollback returns the nodes done so far.
        </p>
      )}
    </div>
  );
}

const COMMANDS: readonly { readonly command: RunCommand; readonly label: string }[] = [
  { command: 'pause', label: 'Pause' },
  { command: 'resume', label: 'Resume' },
  { command: 'cancel', label: 'Cancel' },
  { command: 'rollback', label: 'Rollback' },
];

function RunControls({ run, onDone }: { readonly run: Run; readonly onDone: () => void }) {
  const { api, identity } = useSession();
  const [busy, setBusy] = useState<RunCommand | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [confirming, setConfirming] = useState<RunCommand | null>(null);
  const offered = COMMANDS.filter((c) => may(identity.role, c.command));
  if (offered.length === 0) return null;
  const send = (command: RunCommand) => {
    setBusy(command);
    setError(null);
    setConfirming(null);
    api.command(run.id, command).then(
      () => {
        setBusy(null);
        onDone();
      },
      (err: unknown) => {
        setBusy(null);
        setError(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
  return (
    <div className="controls" role="group" aria-label="Run actions">
      {offered.map(({ command, label }) => (
        <button
          key={command}
          type="button"
          className={command === 'cancel' || command === 'rollback' ? 'danger' : ''}
          disabled={!run.allowed[command] || busy !== null}
          onClick={() => (command === 'cancel' || command === 'rollback' ? setConfirming(command) : send(command))}
        >
          {busy === command ? `${label}…` : label}
        </button>
      ))}
      {confirming && (
        <span className="confirm" role="group" aria-label={`Confirm ${confirming}`}>
          {confirming === 'cancel'
            ? 'Stop the upgrade after the steps in flight? Nodes already upgraded stay upgraded.'
            : 'Roll back the nodes this run changed to their previous version?'}{' '}
          <button type="button" className="danger" onClick={() => send(confirming)}>
            Yes, {confirming}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(null)}>
            No
          </button>
        </span>
      )}
      {error && <Problem error={error} title="The run refused" />}
    </div>
  );
}

function RunProgressView({ run }: { readonly run: Run }) {
  const p = run.progress;
  return (
    <section aria-labelledby="progress-title" className="panel">
      <h2 id="progress-title">Progress</h2>
      <ProgressBar percent={run.percent} label="Run progress" />
      <dl className="facts">
        <div>
          <dt>Control plane</dt>
          <dd>
            {p.controlPlane.n === 0
              ? 'no change'
              : `node ${p.controlPlane.i} of ${p.controlPlane.n}${p.controlPlane.hops > 1 ? `, hop ${p.controlPlane.hop} of ${p.controlPlane.hops}` : ''}${p.controlPlane.to ? ` to ${p.controlPlane.to}` : ''}`}
          </dd>
        </div>
        {p.pools.map((pool) => (
          <div key={pool.name}>
            <dt>Pool {pool.name}</dt>
            <dd>
              {pool.upgraded} / {pool.total} nodes · batch {pool.currentBatch} of {pool.batches}
            </dd>
          </div>
        ))}
        <div>
          <dt>Time left</dt>
          <dd>
            {isFinished(run.status.phase)
              ? `ended ${dateTime(run.endedAt)}`
              : `${duration(p.eta.remainingMs)}${p.eta.finishesAt ? ` (about ${clockTime(p.eta.finishesAt).slice(0, 5)} UTC)` : ''}`}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function Timeline({ run, events }: { readonly run: Run; readonly events: readonly RunEvent[] }) {
  const bars = useMemo(() => timeline(events), [events]);
  const now = useNow(!isFinished(run.status.phase));
  if (bars.length === 0) return <p className="muted">No node has been touched yet.</p>;
  return (
    <Suspense
      fallback={<div className="chart" style={{ height: ganttHeight(new Set(bars.map((b) => b.node)).size) }} />}
    >
      <GanttChart bars={bars} origin={run.createdAt} now={now} />
    </Suspense>
  );
}

/** Each PDB's healthy pods against its floor, from the samples the service takes while it drives the run. */
function Availability({ run, events }: { readonly run: Run; readonly events: readonly RunEvent[] }) {
  const series = useMemo(() => availabilitySeries(events), [events]);
  if (series.length === 0)
    return <p className="muted">No PodDisruptionBudget sampled yet (the service samples them while it drives the run).</p>;
  return (
    <Suspense fallback={<div className="chart" style={{ height: 260 }} />}>
      <AvailabilityChart series={series} origin={run.createdAt} />
    </Suspense>
  );
}

/** The time, once a second while `live`. */
function useNow(live: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  return now;
}

type OutcomeFilter = 'all' | 'problems' | 'steps' | 'phases';

function keepEvent(e: RunEvent, filter: OutcomeFilter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'problems':
      return ['failed', 'paused', 'retrying', 'unreachable', 'waiting', 'expired', 'forced', 'quarantined'].includes(
        e.outcome,
      );
    case 'steps':
      return Boolean(e.node);
    case 'phases':
      return [
        'phase',
        'paused',
        'resumed',
        'cancelling',
        'cancelled',
        'rolling-back',
        'rolled-back',
        'created',
        'precheck',
      ].includes(e.outcome);
  }
}

function EventLog({ events }: { readonly events: readonly RunEvent[] }) {
  const [filter, setFilter] = useState<OutcomeFilter>('all');
  const [node, setNode] = useState('');
  const nodes = useMemo(() => [...new Set(events.flatMap((e) => (e.node ? [e.node] : [])))].sort(), [events]);
  // Availability samples are drawn by the chart above, not listed.
  const logged = useMemo(() => events.filter((e) => !isAvailabilitySample(e)), [events]);
  const shown = logged.filter((e) => keepEvent(e, filter) && (node === '' || e.node === node));
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  // Follow the newest event unless the reader scrolled up.
  useEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown.length]);
  const onScroll = useCallback(() => {
    const el = list.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  }, []);
  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">Events</h2>
      <div className="filters">
        <label>
          Show{' '}
          <select value={filter} onChange={(e) => setFilter(e.target.value as OutcomeFilter)}>
            <option value="all">everything</option>
            <option value="problems">problems</option>
            <option value="steps">node steps</option>
            <option value="phases">phases and commands</option>
          </select>
        </label>
        <label>
          Node{' '}
          <select value={node} onChange={(e) => setNode(e.target.value)}>
            <option value="">any</option>
            {nodes.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">
          {shown.length} of {logged.length}
        </span>
      </div>
      <ol className="event-log" ref={list} onScroll={onScroll} aria-label="Run events" tabIndex={0}>
        {shown.map((e) => (
          <li key={e.id} className={`event event-${e.outcome}`} data-event-id={e.id}>
            <time dateTime={new Date(e.at).toISOString()}>{clockTime(e.at)}</time>
            <span className="event-outcome">{e.outcome}</span>
            <span className="event-step mono">{e.node ?? e.step}</span>
            <span className="event-message">{e.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
