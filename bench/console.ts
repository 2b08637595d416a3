/**
 * Web console benchmark (issue 18), measured in Debian's chromium against a real `kup serve`:
 * - the fleet page with `--clusters` registered clusters (default 1,000): first contentful paint, and time to
 *   interactive (its rows on screen and no long task of the main thread after them), from navigation start; then the
 *   time a search keystroke takes to show its result;
 * - the run page during a run of a kube-sim cluster: for every event of the run, the delay from the engine's time of
 *   the event (`at`) to the moment its line was added to the page (a MutationObserver), p50 / p95 / max;
 * - the JavaScript shipped: what the fleet page loads, and all of it, gzipped.
 * Goals: first paint at most 1 s, p95 event to screen at most 0.5 s, JavaScript at most 300 KB gzipped.
 *
 *   npm run bench:console -- [--clusters 1000] [--workers 8]
 *
 * The clusters of the fleet are registrations of one kube-sim cluster under many names: the page's cost is the
 * service's answer and the browser's work, which do not depend on how many API servers answer behind it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { waitFor } from '../src/clock/wait-for.ts';
import { launchBrowser, openPage, startService } from '../test/console/harness.ts';
import { FAST_TIMINGS } from '../test/helpers/rollout.ts';
import { startFromYaml } from '../test/helpers/sim.ts';

const { values } = parseArgs({
  options: { clusters: { type: 'string', default: '1000' }, workers: { type: 'string', default: '8' } },
});
const CLUSTERS = Number(values.clusters);
const WORKERS = Number(values.workers);
const ROOT = join(import.meta.dirname, '..');

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Gzipped bytes of the fleet page's scripts (index.html's module and its preloads) and of every script built. */
function shippedJs(): { fleet: number; all: number; files: number } {
  const dir = join(ROOT, 'dist', 'console');
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const initial = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? '');
  const gz = (file: string) => gzipSync(readFileSync(join(dir, file)), { level: 9 }).length;
  const all = readdirSync(join(dir, 'assets')).filter((f) => f.endsWith('.js'));
  return {
    fleet: initial.reduce((n, f) => n + gz(f), 0),
    all: all.reduce((n, f) => n + gz(`assets/${f}`), 0),
    files: all.length,
  };
}

const scenario = (name: string, workers: number) => `
name: ${name}
kubernetesVersion: '1.35.5'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: ${workers} }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: ${Math.max(2, workers)}, pdb: { minAvailable: 1 } }
${FAST_TIMINGS}
`;

const service = await startService({ demo: false });
const browser = await launchBrowser();
const fleetSim = await startFromYaml(scenario('fleet', 2));
const runSim = await startFromYaml(scenario('bench-run', WORKERS));
try {
  // ---- the fleet page ----------------------------------------------------------------------------------------------
  const registerStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < CLUSTERS; i = next++) {
        const name = `c-${String(i).padStart(4, '0')}`;
        const added = await service.api('POST', '/clusters', {
          name,
          provider: 'sim',
          kubeconfig: fleetSim.kubeconfig,
        });
        if (added.status !== 201) throw new Error(`registering ${name}: ${added.status} ${JSON.stringify(added.body)}`);
      }
    }),
  );
  const registered = await service.api('POST', '/clusters', {
    name: 'bench-run',
    provider: 'sim',
    kubeconfig: runSim.kubeconfig,
  });
  if (registered.status !== 201) throw new Error(JSON.stringify(registered.body));
  console.log(`registered ${CLUSTERS} clusters in ${((performance.now() - registerStarted) / 1000).toFixed(1)} s`);

  const fleetTimes: { fcp: number; rows: number; tti: number; search: number }[] = [];
  for (let round = 0; round < 3; round++) {
    const { page, context } = await openPage(browser);
    // In the page (a string: this program is type checked without the DOM's types).
    await context.addInitScript(`
      sessionStorage.setItem('kup.token', ${JSON.stringify(service.adminToken)});
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push(e.startTime + e.duration);
      }).observe({ type: 'longtask', buffered: true });
      const look = () => {
        if (document.querySelector('[role=row] a')) window.__rowsAt = performance.now();
        else requestAnimationFrame(look);
      };
      requestAnimationFrame(look);
    `);
    await page.goto(`${service.url}/console/`);
    await page.locator('[role=row] a').first().waitFor({ timeout: 60_000 });
    // Quiet for a second after the rows: no long task left to come from the first load.
    await page.waitForTimeout(1000);
    const measured = await page.evaluate<{ fcp: number; rows: number; tti: number }>(`(() => {
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
      const rows = window.__rowsAt ?? NaN;
      return { fcp, rows, tti: Math.max(rows, ...window.__longTasks) };
    })()`);
    const typed = performance.now();
    await page.getByLabel('Search').fill('c-0999');
    await page.getByText(/^1 of \d+ clusters$/).waitFor();
    fleetTimes.push({ ...measured, search: performance.now() - typed });
    await context.close();
  }
  const best = [...fleetTimes].sort((a, b) => a.tti - b.tti)[Math.floor(fleetTimes.length / 2)] ?? fleetTimes[0];
  console.log(`fleet page, ${CLUSTERS + 1} clusters (median of ${fleetTimes.length} loads):`);
  console.log(
    `  first contentful paint ${best?.fcp.toFixed(0)} ms (goal <= 1000), rows on screen ${best?.rows.toFixed(0)} ms, time to interactive ${best?.tti.toFixed(0)} ms`,
  );
  console.log(`  a search keystroke to its result: ${best?.search.toFixed(0)} ms (as the test driver sees it)`);

  // ---- the run page ------------------------------------------------------------------------------------------------
  const { page, context } = await openPage(browser);
  await context.addInitScript(`
    sessionStorage.setItem('kup.token', ${JSON.stringify(service.adminToken)});
    window.__seen = {};
    new MutationObserver((records) => {
      const at = performance.timeOrigin + performance.now();
      for (const r of records)
        for (const n of r.addedNodes) {
          const id = n instanceof HTMLElement ? n.dataset.eventId : undefined;
          if (id !== undefined && window.__seen[id] === undefined) window.__seen[id] = at;
        }
    }).observe(document, { childList: true, subtree: true });
  `);
  const created = await service.api('POST', '/runs', {
    cluster: 'bench-run',
    to: '1.36.1',
    poolOptions: { batchPolicy: 'fixed:1' },
    acknowledgements: [],
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  const runId = (created.body as { id: string }).id;
  await page.goto(`${service.url}/console/#/runs/${runId}`);
  await page.getByTestId('run-phase').waitFor();
  // Events before the page was open are not live; the ones after it are what the page shows as they come.
  const openedAt = Date.now();
  await waitFor(async () => (await page.getByTestId('run-phase').textContent()) === 'Succeeded', {
    message: 'the run to succeed',
    timeoutMs: 600_000,
    intervalMs: 200,
  });
  await page.waitForTimeout(1000);
  const seen = await page.evaluate<Record<string, number>>('window.__seen');
  const events: { id: number; at: string; step: string }[] = [];
  for (let after = 0; ;) {
    const pageOf = await service.api('GET', `/runs/${runId}/events?after=${after}&limit=1000`);
    const body = pageOf.body as { items: { id: number; at: string; step: string }[]; next: number };
    events.push(...body.items);
    if (body.items.length === 0) break;
    after = body.next;
  }
  // Availability samples are points on the chart, not rows of the log: the log's rows are what is timed.
  const live = events.filter((e) => Date.parse(e.at) > openedAt && e.step !== 'availability');
  const delays = live
    .flatMap((e) => (seen[String(e.id)] !== undefined ? [(seen[String(e.id)] ?? 0) - Date.parse(e.at)] : []))
    .sort((a, b) => a - b);
  console.log(
    `run page, ${WORKERS} workers: ${events.length} events, ${live.length} while the page was open, ${delays.length} of them seen on screen`,
  );
  console.log(
    `  event to screen: p50 ${percentile(delays, 50).toFixed(0)} ms, p95 ${percentile(delays, 95).toFixed(0)} ms (goal <= 500), max ${percentile(delays, 100).toFixed(0)} ms`,
  );
  await context.close();

  // ---- the JavaScript shipped --------------------------------------------------------------------------------------
  const js = shippedJs();
  console.log(
    `JavaScript, gzipped: the fleet page loads ${(js.fleet / 1024).toFixed(1)} KB; all ${js.files} files ${(js.all / 1024).toFixed(1)} KB (goal <= 300 KB)`,
  );
} finally {
  await browser.close();
  await service.stop();
  await fleetSim.stop();
  await runSim.stop();
}
