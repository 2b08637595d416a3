/**
 * Chart.js, loaded by the run page only (a chunk of its own, so the fleet page does not ship it), with only the
 * controllers and scales the console draws.
 *
 * @module
 */
import type * as ChartJs from 'chart.js';

let loading: Promise<typeof ChartJs> | undefined;

/** Chart.js with bar and line charts registered. */
export function loadCharts(): Promise<typeof ChartJs> {
  loading ??= import('chart.js').then((m) => {
    m.Chart.register(
      m.BarController,
      m.BarElement,
      m.LineController,
      m.LineElement,
      m.PointElement,
      m.LinearScale,
      m.CategoryScale,
      m.Legend,
      m.Tooltip,
    );
    return m;
  });
  return loading;
}
