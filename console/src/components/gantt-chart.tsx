import { useEffect, useRef } from 'react';
import type { Chart as ChartType } from 'chart.js';
import { ganttHeight } from '../run-timeline.ts';
import type { TimelineBar } from '../run-timeline.ts';
import { loadCharts } from './charts.ts';

const COLORS: Readonly<Record<string, string>> = {
  cordon: '#8a5a00',
  drain: '#b54708',
  'replace-node': '#175cd3',
  'upgrade-node-in-place': '#175cd3',
  'upgrade-cp-node': '#6941c6',
  'rollback-node': '#c11574',
  'wait-node-ready': '#0e7c86',
  uncordon: '#067647',
  'delete-old-node': '#667085',
};

/** Props of {@link GanttChart}. */
export interface GanttChartProps {
  readonly bars: readonly TimelineBar[];
  /** Time 0 of the x axis (the run's start), ms since the epoch. */
  readonly origin: number;
  /** The time a running bar reaches. */
  readonly now: number;
}

/** A Gantt of steps per node (Chart.js floating bars), growing as the run goes. */
export function GanttChart({ bars, origin, now }: GanttChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ChartType<'bar', { x: [number, number]; y: string }[]> | null>(null);
  const nodes = [...new Set(bars.map((b) => b.node))];
  const actions = [...new Set(bars.map((b) => b.action))];
  const datasets = actions.map((action) => ({
    label: action,
    data: bars
      .filter((b) => b.action === action)
      .map((b) => ({
        x: [(b.start - origin) / 1000, ((b.end ?? now) - origin) / 1000] as [number, number],
        y: b.node,
      })),
    backgroundColor: COLORS[action] ?? '#475467',
    borderSkipped: false,
    grouped: false,
    barPercentage: 0.9,
    categoryPercentage: 0.8,
  }));

  useEffect(() => {
    let cancelled = false;
    void loadCharts().then(({ Chart }) => {
      if (cancelled || !canvas.current) return;
      chart.current = new Chart(canvas.current, {
        type: 'bar',
        data: { labels: [], datasets: [] },
        options: {
          indexAxis: 'y',
          animation: false,
          maintainAspectRatio: false,
          parsing: { xAxisKey: 'x', yAxisKey: 'y' },
          scales: {
            x: { type: 'linear', min: 0, title: { display: true, text: 'seconds since the run started' } },
            y: { type: 'category', ticks: { autoSkip: false } },
          },
          plugins: { legend: { position: 'bottom' } },
        },
      });
    });
    return () => {
      cancelled = true;
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = nodes;
    c.data.datasets = datasets;
    c.update('none');
  });

  // Fixed height per node, so rows do not jump as bars arrive.
  return (
    <div className="chart" style={{ height: ganttHeight(nodes.length) }}>
      <canvas ref={canvas} role="img" aria-label={`Timeline of ${nodes.length} nodes: ${bars.length} steps`} />
    </div>
  );
}
