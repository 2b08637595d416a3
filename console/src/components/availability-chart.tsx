import { useEffect, useRef } from 'react';
import type { Chart as ChartType } from 'chart.js';
import type { AvailabilitySeries } from '../availability.ts';
import { loadCharts } from './charts.ts';

const PALETTE = ['#175cd3', '#067647', '#b54708', '#6941c6', '#c11574', '#0e7c86', '#8a5a00', '#475467'];

/** Props of {@link AvailabilityChart}. */
export interface AvailabilityChartProps {
  readonly series: readonly AvailabilitySeries[];
  /** Time 0 of the x axis (the run's start), ms since the epoch. */
  readonly origin: number;
}

/** Ready replicas of each PDB (solid) against its floor (dashed, same colour), as sampled during the run. */
export function AvailabilityChart({ series, origin }: AvailabilityChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ChartType<'line', { x: number; y: number }[]> | null>(null);
  /** The datasets of the last render, for the chart once Chart.js has loaded. */
  const latest = useRef<ChartType<'line', { x: number; y: number }[]>['data']['datasets']>([]);
  const samples = series.reduce((n, s) => n + s.healthy.length, 0);
  const datasets = series.flatMap((s, i) => {
    const color = PALETTE[i % PALETTE.length] ?? '#475467';
    const points = (list: AvailabilitySeries['healthy']) =>
      list.map((p) => ({ x: (p.at - origin) / 1000, y: p.value }));
    return [
      { label: `${s.pdb} healthy`, data: points(s.healthy), borderColor: color, backgroundColor: color, stepped: true },
      {
        label: `${s.pdb} floor`,
        data: points(s.floor),
        borderColor: color,
        backgroundColor: color,
        borderDash: [6, 4],
        pointRadius: 0,
        stepped: true,
      },
    ];
  });

  useEffect(() => {
    let cancelled = false;
    void loadCharts().then(({ Chart }) => {
      if (cancelled || !canvas.current) return;
      chart.current = new Chart(canvas.current, {
        type: 'line',
        data: { datasets: [] },
        options: {
          animation: false,
          maintainAspectRatio: false,
          parsing: false,
          scales: {
            x: { type: 'linear', min: 0, title: { display: true, text: 'seconds since the run started' } },
            y: { type: 'linear', min: 0, ticks: { precision: 0 }, title: { display: true, text: 'healthy pods' } },
          },
          plugins: { legend: { position: 'bottom' } },
        },
      });
      chart.current.data.datasets = latest.current;
      chart.current.update('none');
    });
    return () => {
      cancelled = true;
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    latest.current = datasets;
    const c = chart.current;
    if (!c) return;
    c.data.datasets = datasets;
    c.update('none');
  });

  const below = series.filter((s) => s.below > 0).map((s) => s.pdb);
  return (
    <div className="chart" style={{ height: 260 }}>
      <canvas
        ref={canvas}
        role="img"
        data-samples={samples}
        aria-label={`Healthy pods of ${series.length} PodDisruptionBudgets against their floors: ${samples} samples${
          below.length > 0 ? `; below the floor at times: ${below.join(', ')}` : '; never below the floor'
        }`}
      />
    </div>
  );
}
