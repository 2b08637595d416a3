import { useState } from 'react';
import type { ClusterDetail, RunHistoryItem, Snapshot, StoredPrecheck } from '../api/types.ts';
import { FindingList } from '../components/finding-list.tsx';
import { Problem } from '../components/problem.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';
import { VersionChip } from '../components/version-chip.tsx';
import { dateTime, day, phaseLabel } from '../format.ts';
import { href } from '../route.ts';
import type { ClusterTab } from '../route.ts';
import { may, useSession } from '../session.ts';
import { useApi } from '../use-api.ts';
import { UpgradeDialog } from './upgrade-dialog.tsx';

/** Props of {@link ClusterPage}. */
export interface ClusterPageProps {
  readonly cluster: string;
  readonly tab: ClusterTab;
}

const TAB_LABEL: Readonly<Record<ClusterTab, string>> = {
  overview: 'Overview',
  insights: 'Upgrade insights',
  history: 'Run history',
  snapshots: 'Snapshots',
};

/** One cluster: its version, pools and nodes, upgrade information, insights, history and snapshots. */
export function ClusterPage({ cluster, tab }: ClusterPageProps) {
  const { api, identity } = useSession();
  const [detail, reload] = useApi((signal) => api.cluster(cluster, signal), [api, cluster]);
  const [dialog, setDialog] = useState<'version' | 'image' | null>(null);

  if (detail.state === 'failed') return <Problem error={detail.error} />;
  if (detail.state === 'loading') return <p className="muted page">Loading {cluster}…</p>;
  const c = detail.value;
  const options = c.versions;
  const eligible = options.filter((v) => v.eligible && v.kind !== 'downgrade');
  const canUpgrade = may(identity.role, 'upgrade') && !c.activeRun;

  return (
    <section className="page" aria-labelledby="cluster-title">
      <nav aria-label="Breadcrumb" className="crumbs">
        <a href={href({ page: 'fleet' })}>Fleet</a> / <span>{c.name}</span>
      </nav>
      <div className="page-head">
        <h1 id="cluster-title">{c.name}</h1>
        <span className={`health health-${c.health}`}>{c.health}</span>
      </div>
      <dl className="facts">
        <div>
          <dt>Kubernetes version</dt>
          <dd>
            <VersionChip version={c.version} classification={c.classification} endOfSupport={c.endOfSupport} />
            {canUpgrade && eligible.length > 0 && (
              <button type="button" className="link" onClick={() => setDialog('version')}>
                Change
              </button>
            )}
          </dd>
        </div>
        <div>
          <dt>End of support</dt>
          <dd>{day(c.endOfSupport)}</dd>
        </div>
        {c.server && (
          <div>
            <dt>API server</dt>
            <dd className="mono">{c.server}</dd>
          </div>
        )}
        {c.activeRun && (
          <div>
            <dt>Upgrade in progress</dt>
            <dd>
              <a href={href({ page: 'run', runId: c.activeRun.id })}>
                <ProgressBar percent={c.activeRun.percent} label={`${c.name} upgrade`} />{' '}
                {phaseLabel(c.activeRun.phase)}
              </a>
            </dd>
          </div>
        )}
      </dl>

      <div role="tablist" aria-label="Cluster sections" className="tabs">
        {(Object.keys(TAB_LABEL) as ClusterTab[]).map((t) => (
          <a
            key={t}
            role="tab"
            aria-selected={t === tab}
            aria-controls="cluster-tab"
            href={href({ page: 'cluster', cluster: c.name, tab: t })}
          >
            {TAB_LABEL[t]}
          </a>
        ))}
      </div>
      <div id="cluster-tab" role="tabpanel">
        {tab === 'overview' && <Overview cluster={c} canUpgradeImage={canUpgrade} onImage={() => setDialog('image')} />}
        {tab === 'insights' && <Insights cluster={c} />}
        {tab === 'history' && <RunHistory runs={c.runs} />}
        {tab === 'snapshots' && <Snapshots cluster={c.name} />}
      </div>
      {dialog && (
        <UpgradeDialog
          cluster={c}
          options={options}
          mode={dialog}
          onClose={(started) => {
            setDialog(null);
            if (started) window.location.hash = href({ page: 'run', runId: started });
            else reload();
          }}
        />
      )}
    </section>
  );
}

function Overview({
  cluster: c,
  canUpgradeImage,
  onImage,
}: {
  readonly cluster: ClusterDetail;
  readonly canUpgradeImage: boolean;
  readonly onImage: () => void;
}) {
  const { api } = useSession();
  const runId = c.activeRun?.id;
  const [run] = useApi((signal) => (runId ? api.run(runId, signal) : Promise.resolve(null)), [api, runId]);
  const active = run.state === 'ready' ? run.value : null;
  const nodeState = new Map(
    (active?.nodes ?? []).flatMap((n) => [
      [n.node, n.state] as const,
      ...(n.newNode ? [[n.newNode, n.state] as const] : []),
    ]),
  );
  const eligible = c.versions.filter((v) => v.eligible && v.kind !== 'downgrade');
  const blocked = c.versions.filter((v) => !v.eligible);
  const next = eligible[eligible.length - 1];
  const nextPatch = eligible.filter((v) => v.kind === 'patch').pop();
  return (
    <>
      <section aria-labelledby="upgrade-info" className="panel">
        <h2 id="upgrade-info">Upgrade information</h2>
        {next ? (
          <p>
            kup would upgrade to <strong>{next.version}</strong> ({next.classification}, end of support{' '}
            {day(next.endOfSupport)})
            {nextPatch && nextPatch !== next && (
              <>
                ; the newest patch of this minor is <strong>{nextPatch.version}</strong>
              </>
            )}
            .
          </p>
        ) : (
          <p>No newer version is available to this cluster.</p>
        )}
        <p className="small muted">{c.versionsHint}</p>
        {c.classification === 'expired' && (
          <p className="bad">
            {c.version} is past its end of support ({day(c.endOfSupport)}): upgrade it.
          </p>
        )}
        {blocked.length > 0 && (
          <details>
            <summary>Versions not offered ({blocked.length})</summary>
            <ul>
              {blocked.map((v) => (
                <li key={v.version}>
                  {v.version}: {v.reason ?? 'not eligible'}
                </li>
              ))}
            </ul>
          </details>
        )}
        {next && next.upgradeNotes.length > 0 && (
          <details>
            <summary>Upgrade notes for {next.version}</summary>
            <ul>
              {next.upgradeNotes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          </details>
        )}
      </section>

      <section aria-labelledby="pools-title">
        <h2 id="pools-title">Node pools</h2>
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Node pools table">
          <table>
            <thead>
              <tr>
                <th scope="col">Pool</th>
                <th scope="col">Kubelet</th>
                <th scope="col">Machine image</th>
                <th scope="col">Nodes</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {c.pools.map((p) => (
                <tr key={p.name}>
                  <th scope="row">{p.name}</th>
                  <td>{p.kubeletVersions.join(', ')}</td>
                  <td>
                    {p.image ?? '—'}
                    {p.imageUpgrade && (
                      <span className="upgrade-marker" aria-label={`image upgrade available to ${p.imageUpgrade}`}>
                        ↑ {p.imageUpgrade}
                      </span>
                    )}
                  </td>
                  <td>{p.nodes}</td>
                  <td>
                    {canUpgradeImage && p.imageUpgrade && (
                      <button type="button" className="link" onClick={onImage}>
                        Update image
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="nodes-title">
        <h2 id="nodes-title">Nodes</h2>
        {c.nodesError && <p className="bad">The nodes could not be read: {c.nodesError}</p>}
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Nodes table">
          <table>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Pool</th>
                <th scope="col">Version</th>
                <th scope="col">Image</th>
                <th scope="col">Ready</th>
                <th scope="col">Schedulable</th>
                {active && <th scope="col">Upgrade</th>}
              </tr>
            </thead>
            <tbody>
              {c.nodes.map((n) => (
                <tr key={n.name}>
                  <th scope="row" className="mono">
                    {n.name}
                    {n.controlPlane && <span className="muted small"> control plane</span>}
                  </th>
                  <td>{n.pool ?? '—'}</td>
                  <td>{n.kubeletVersion}</td>
                  <td>{n.image ?? '—'}</td>
                  <td>{n.ready ? 'Ready' : <strong className="bad">NotReady</strong>}</td>
                  <td>{n.cordoned ? <strong className="warn">Cordoned</strong> : 'Yes'}</td>
                  {active && (
                    <td>
                      <span className={`node-state node-${nodeState.get(n.name) ?? 'waiting'}`}>
                        {nodeState.get(n.name) ?? 'waiting'}
                      </span>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

function Insights({ cluster }: { readonly cluster: ClusterDetail }) {
  const { api, identity } = useSession();
  const [report, reload] = useApi((signal) => api.latestPrecheck(cluster.name, signal), [api, cluster.name]);
  const [running, setRunning] = useState<Error | 'running' | null>(null);
  const target = cluster.versions.filter((v) => v.eligible && v.kind !== 'downgrade').pop()?.version;
  const runNow = () => {
    if (!target) return;
    setRunning('running');
    api.precheck(cluster.name, target).then(
      () => {
        setRunning(null);
        reload();
      },
      (err: unknown) => setRunning(err instanceof Error ? err : new Error(String(err))),
    );
  };
  return (
    <>
      {may(identity.role, 'precheck') && target && (
        <p>
          <button type="button" onClick={runNow} disabled={running === 'running'}>
            {running === 'running' ? `Checking against ${target}…` : `Run the precheck for ${target}`}
          </button>
        </p>
      )}
      {running instanceof Error && <Problem error={running} title="The precheck could not run" />}
      {report.state === 'failed' && <Problem error={report.error} />}
      {report.state === 'loading' && <p className="muted">Loading the latest precheck…</p>}
      {report.state === 'ready' && <InsightsReport stored={report.value} />}
    </>
  );
}

function InsightsReport({ stored }: { readonly stored: StoredPrecheck | null }) {
  if (!stored) return <p>No precheck has run on this cluster yet.</p>;
  return (
    <section aria-labelledby="insights-title">
      <h2 id="insights-title">Upgrade insights for {stored.target}</h2>
      <p className="muted">Last refreshed {dateTime(Date.parse(stored.createdAt))}</p>
      <FindingList findings={stored.report.findings} />
    </section>
  );
}

function RunHistory({ runs }: { readonly runs: readonly RunHistoryItem[] }) {
  if (runs.length === 0) return <p>No upgrade has run on this cluster.</p>;
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Run history">
      <table>
        <caption className="visually-hidden">Runs of this cluster</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col">Outcome</th>
            <th scope="col">Started</th>
            <th scope="col">Ended</th>
            <th scope="col">Trigger</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                <a href={href({ page: 'run', runId: r.id })} className="mono">
                  {r.id}
                </a>
              </th>
              <td>{r.from}</td>
              <td>{r.to}</td>
              <td>{phaseLabel(r.phase)}</td>
              <td>{dateTime(r.createdAt)}</td>
              <td>{dateTime(r.endedAt)}</td>
              <td>{r.trigger}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Snapshots({ cluster }: { readonly cluster: string }) {
  const { api } = useSession();
  const [snapshots] = useApi((signal) => api.snapshots(cluster, signal), [api, cluster]);
  if (snapshots.state === 'failed') return <Problem error={snapshots.error} />;
  if (snapshots.state === 'loading') return <p className="muted">Loading snapshots…</p>;
  return <SnapshotList snapshots={snapshots.value} />;
}

function SnapshotList({ snapshots }: { readonly snapshots: readonly Snapshot[] }) {
  if (snapshots.length === 0) return <p>No snapshot yet: every upgrade takes one before its first change.</p>;
  return (
    <ul className="plain">
      {snapshots.map((s) => (
        <li key={s.id}>
          <span className="mono">{s.id}</span> · {dateTime(Date.parse(s.takenAt))} · taken by the run to {s.target} (
          <a href={href({ page: 'run', runId: s.run })}>{s.runPhase}</a>)
        </li>
      ))}
    </ul>
  );
}
