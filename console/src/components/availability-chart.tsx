import { useEffect, useRef } from 'react';
import type { Chart as ChartType } from 'chart.js';
import type { AvailabilitySeries } from '../api/types.ts';
import { loadCharts } from './charts.ts';

const PALETTE = ['#175cd3', '#067647', '#6941c6', '#b54708', '#0e7c86', '#c11574'];

/** Props of {@link AvailabilityChart}. */
export interface AvailabilityChartProps {
  readonly series: readonly AvailabilitySeries[];
  readonly origin: number;
}

/** Ready replicas of each PDB-guarded workload against the PDB's floor (minAvailable), through the run. */
export function AvailabilityChart({ series, origin }: AvailabilityChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ChartType<'line', { x: number; y: number }[]> | null>(null);
  const datasets = series.flatMap((s, i) => {
    const color = PALETTE[i % PALETTE.length] ?? '#475467';
    return [
      {
        label: `${s.pdb} ready`,
        data: s.points.map((p) => ({ x: (p.at - origin) / 1000, y: p.healthy })),
        borderColor: color,
        backgroundColor: color,
        stepped: true as const,
        pointRadius: 0,
      },
      {
        label: `${s.pdb} floor`,
        data: s.points.map((p) => ({ x: (p.at - origin) / 1000, y: p.floor })),
        borderColor: color,
        borderDash: [6, 4],
        backgroundColor: color,
        stepped: true as const,
        pointRadius: 0,
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
          scales: {
            x: { type: 'linear', min: 0, title: { display: true, text: 'seconds since the run started' } },
            y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'pods' } },
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
    c.data.datasets = datasets;
    c.update('none');
  });

  const breaches = series.filter((s) => s.points.some((p) => p.healthy < p.floor)).map((s) => s.pdb);
  return (
    <>
      <div className="chart" style={{ height: 240 }}>
        <canvas
          ref={canvas}
          role="img"
          aria-label={`Ready pods against PodDisruptionBudget floors for ${series.length} budgets${breaches.length ? `; below the floor: ${breaches.join(', ')}` : ''}`}
        />
      </div>
      {breaches.length > 0 && <p className="bad">Below the floor at some point: {breaches.join(', ')}</p>}
    </>
  );
}
