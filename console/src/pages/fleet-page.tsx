import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useEffect, useId, useMemo, useState } from 'react';
import { followEvents } from '../api/event-stream.ts';
import type { Classification, ClusterSummary, Health } from '../api/types.ts';
import { Problem } from '../components/problem.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';
import { VersionChip } from '../components/version-chip.tsx';
import { day, phaseLabel } from '../format.ts';
import { href } from '../route.ts';
import { useSession } from '../session.ts';
import { useApi } from '../use-api.ts';
import { DEFAULT_QUERY, applyQuery } from './fleet-filter.ts';
import type { FleetQuery, FleetSort } from './fleet-filter.ts';
import { useMediaQuery } from '../use-media-query.ts';

/** Rows have one height per layout, so the list never jumps while data streams in. */
const ROW_HEIGHT = { wide: 64, narrow: 132 } as const;

const NO_CLUSTERS: readonly ClusterSummary[] = [];

/** Every cluster of the fleet: version, pools, health, end of support, the active run. */
export function FleetPage() {
  const { api } = useSession();
  const [loaded, reload] = useApi((signal) => api.clusters(signal), [api]);
  const [query, setQuery] = useState<FleetQuery>(DEFAULT_QUERY);
  const deferred = useDeferredValue(query);

  // Runs change versions and progress: follow the fleet's events and reload, at most once a second.
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    void followEvents(api, '/events', {
      signal: controller.signal,
      onEvents: () => {
        timer ??= setTimeout(() => {
          timer = undefined;
          reload();
        }, 1000);
      },
    });
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api, reload]);

  const clusters = loaded.state === 'ready' ? loaded.value : NO_CLUSTERS;
  const shown = useMemo(() => applyQuery(clusters, deferred), [clusters, deferred]);

  return (
    <section aria-labelledby="fleet-title" className="page">
      <div className="page-head">
        <h1 id="fleet-title">Fleet</h1>
        <p className="muted" aria-live="polite">
          {loaded.state === 'ready' ? `${shown.length} of ${clusters.length} clusters` : ' '}
        </p>
      </div>
      <FleetFilters query={query} onChange={setQuery} />
      {loaded.state === 'failed' && <Problem error={loaded.error} />}
      {loaded.state === 'loading' && <p className="muted">Loading clusters…</p>}
      {loaded.state === 'ready' && (
        <FleetTable clusters={shown} query={query} onSort={(sort) => setQuery(sortBy(query, sort))} />
      )}
    </section>
  );
}

function sortBy(q: FleetQuery, sort: FleetSort): FleetQuery {
  return { ...q, sort, descending: q.sort === sort ? !q.descending : false };
}

function FleetFilters({ query, onChange }: { readonly query: FleetQuery; readonly onChange: (q: FleetQuery) => void }) {
  const id = useId();
  return (
    <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <label htmlFor={`${id}-search`}>Search</label>
      <input
        id={`${id}-search`}
        type="search"
        placeholder="name or version"
        value={query.search}
        onChange={(e) => onChange({ ...query, search: e.target.value })}
      />
      <label htmlFor={`${id}-class`}>Version</label>
      <select
        id={`${id}-class`}
        value={query.classification}
        onChange={(e) => onChange({ ...query, classification: e.target.value as Classification | 'all' })}
      >
        <option value="all">any</option>
        <option value="supported">supported</option>
        <option value="deprecated">deprecated</option>
        <option value="expired">expired</option>
        <option value="preview">preview</option>
      </select>
      <label htmlFor={`${id}-health`}>Health</label>
      <select
        id={`${id}-health`}
        value={query.health}
        onChange={(e) => onChange({ ...query, health: e.target.value as Health | 'all' })}
      >
        <option value="all">any</option>
        <option value="healthy">healthy</option>
        <option value="unreachable">unreachable</option>
      </select>
      <label htmlFor={`${id}-only`}>Show</label>
      <select
        id={`${id}-only`}
        value={query.only}
        onChange={(e) => onChange({ ...query, only: e.target.value as FleetQuery['only'] })}
      >
        <option value="all">all clusters</option>
        <option value="upgradable">upgrade available</option>
        <option value="running">upgrading now</option>
      </select>
    </form>
  );
}

const COLUMNS: readonly { readonly key: FleetSort | null; readonly label: string }[] = [
  { key: 'name', label: 'Cluster' },
  { key: 'version', label: 'Version' },
  { key: null, label: 'Node pools' },
  { key: 'health', label: 'Health' },
  { key: 'end-of-support', label: 'End of support' },
  { key: null, label: 'Upgrade' },
];

function FleetTable({
  clusters,
  query,
  onSort,
}: {
  readonly clusters: readonly ClusterSummary[];
  readonly query: FleetQuery;
  readonly onSort: (sort: FleetSort) => void;
}) {
  const narrow = useMediaQuery('(max-width: 720px)');
  const rowHeight = narrow ? ROW_HEIGHT.narrow : ROW_HEIGHT.wide;
  const virtualizer = useWindowVirtualizer({ count: clusters.length, estimateSize: () => rowHeight, overscan: 8 });
  useEffect(() => virtualizer.measure(), [rowHeight, virtualizer]);
  const items = virtualizer.getVirtualItems();
  return (
    <div className="fleet" role="table" aria-label="Clusters" aria-rowcount={clusters.length + 1}>
      <div className="fleet-row fleet-head" role="row" aria-rowindex={1}>
        {COLUMNS.map((c) => (
          <span
            key={c.label}
            role="columnheader"
            aria-sort={c.key && query.sort === c.key ? (query.descending ? 'descending' : 'ascending') : undefined}
          >
            {c.key ? (
              <button type="button" className="sort" onClick={() => onSort(c.key as FleetSort)}>
                {c.label}
                {query.sort === c.key ? (query.descending ? ' ▼' : ' ▲') : ''}
              </button>
            ) : (
              c.label
            )}
          </span>
        ))}
      </div>
      {clusters.length === 0 && <p className="muted empty">No cluster matches.</p>}
      <div className="fleet-body" role="rowgroup" style={{ height: virtualizer.getTotalSize() }}>
        {items.map((item) => {
          const c = clusters[item.index];
          return c ? (
            <FleetRow key={c.name} cluster={c} index={item.index} top={item.start} height={rowHeight} />
          ) : null;
        })}
      </div>
    </div>
  );
}

function FleetRow({
  cluster: c,
  index,
  top,
  height,
}: {
  readonly cluster: ClusterSummary;
  readonly index: number;
  readonly top: number;
  readonly height: number;
}) {
  const newest = c.availableUpgrades[c.availableUpgrades.length - 1];
  return (
    <div
      className="fleet-row"
      role="row"
      aria-rowindex={index + 2}
      style={{ transform: `translateY(${top}px)`, height }}
    >
      <span role="cell" className="cell-name">
        <a href={href({ page: 'cluster', cluster: c.name, tab: 'overview' })}>{c.name}</a>
        {c.provider && <span className="muted small"> {c.provider}</span>}
      </span>
      <span role="cell">
        <VersionChip
          version={c.version}
          classification={c.classification}
          endOfSupport={c.endOfSupport}
          upgradeTo={newest}
        />
      </span>
      <span role="cell" className="pools">
        {c.pools.slice(0, 2).map((p) => (
          <span
            key={p.name}
            className="pool-line"
            title={`${p.name}: kubelet ${p.kubeletVersions.join(', ')}, image ${p.image ?? '—'}`}
          >
            <strong>{p.name}</strong> {p.kubeletVersions.join(', ')} · {p.image ?? '—'}
            {p.imageUpgrade && (
              <span className="upgrade-marker" aria-label={`image upgrade available to ${p.imageUpgrade}`}>
                ↑
              </span>
            )}
          </span>
        ))}
        {c.pools.length > 2 && <span className="muted small">+{c.pools.length - 2} more</span>}
      </span>
      <span role="cell">
        <span className={`health health-${c.health}`} title={c.healthMessage ?? undefined}>
          {c.health}
        </span>
      </span>
      <span role="cell" className="small">
        <span className="narrow-label">End of support </span>
        {day(c.endOfSupport)}
      </span>
      <span role="cell" className="cell-run">
        {c.activeRun ? (
          <a href={href({ page: 'run', runId: c.activeRun.id })} className="run-link">
            <ProgressBar percent={c.activeRun.percent} label={`${c.name}: ${phaseLabel(c.activeRun.phase)}`} />
            <span className="small">{phaseLabel(c.activeRun.phase)}</span>
          </a>
        ) : newest ? (
          <span className="small">to {newest}</span>
        ) : (
          <span className="muted small">up to date</span>
        )}
      </span>
    </div>
  );
}
