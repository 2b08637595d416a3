import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import { waitFor } from '../clock/wait-for.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import type { RunSummary } from '../persistence/runs-repo.ts';
import { ClusterStatusCache } from './cluster-status.ts';
import { FleetList } from './fleet-list.ts';

const row = (name: string): ClusterRow => ({
  name,
  kubeconfigPath: `/k/${name}`,
  provider: 'sim',
  providerSettings: {},
  addedAt: 0,
});

const run = (cluster: string, phase: string): RunSummary => ({
  id: `run-${cluster}`,
  cluster,
  createdAt: 0,
  updatedAt: 0,
  target: '1.31.2',
  phase,
  active: true,
  version: 1,
});

/** A fleet list over a registry and runs kept in arrays, counting the reads the list makes of them. */
function harness(names: readonly string[]) {
  const clock = new ManualClock();
  const rows = names.map(row);
  const runs: RunSummary[] = [];
  const reads = { clusters: 0, runs: 0, inspections: 0 };
  const status = new ClusterStatusCache({
    clock,
    clusters: () => Promise.resolve([...rows]),
    inspect: (r) => {
      reads.inspections++;
      return Promise.resolve({
        inspection: { reachable: false, error: `${r.name} is not there` },
        pools: null,
        inspectedAt: clock.now(),
      });
    },
  });
  const fleet = new FleetList({
    clock,
    clusters: () => {
      reads.clusters++;
      return Promise.resolve([...rows]);
    },
    activeRuns: () => {
      reads.runs++;
      return Promise.resolve([...runs]);
    },
    status,
    pollMs: 1000,
  });
  fleet.start();
  const list = async (options: { after?: string; limit?: number } = {}) =>
    JSON.parse((await fleet.page(options)).toString()) as {
      items: { name: string; activeRun: { phase: string } | null; health: { inspectedAt: string } }[];
      continue?: string;
    };
  return { clock, rows, runs, reads, status, fleet, list };
}

describe('fleet list', () => {
  it('answers from memory: the registry and the runs are read once, whatever the number of requests', async () => {
    const h = harness(['b', 'a', 'c']);
    const first = await h.list();
    assert.deepEqual(
      first.items.map((i) => i.name),
      ['a', 'b', 'c'],
    );
    assert.equal(h.reads.inspections, 3, 'a cold list inspects each cluster once');
    for (let i = 0; i < 50; i++) await h.list();
    const page = await h.list({ after: 'a', limit: 1 });
    assert.deepEqual(
      page.items.map((i) => i.name),
      ['b'],
    );
    assert.equal(page.continue, Buffer.from('b').toString('base64url'));
    assert.equal((await h.list({ after: 'b', limit: 5 })).continue, undefined, 'the last page has no continue');
    assert.deepEqual(h.reads, { clusters: 1, runs: 1, inspections: 3 });
  });

  it("shows a registration, a run's phase and a new status to the next request, each after one read", async () => {
    const h = harness(['a', 'b']);
    await h.list();
    h.rows.push(row('aa'));
    h.fleet.registryChanged();
    assert.deepEqual(
      (await h.list()).items.map((i) => i.name),
      ['a', 'aa', 'b'],
    );
    assert.equal(h.reads.clusters, 2);

    h.runs.push(run('b', 'upgrading-pools'));
    // A burst of commits (the hub pokes on each) is read once or twice, not once per request or per commit.
    for (let i = 0; i < 20; i++) h.fleet.runsChanged();
    const listed = await h.list();
    assert.equal(listed.items.find((i) => i.name === 'b')?.activeRun?.phase, 'upgrading-pools');
    assert.ok(h.reads.runs <= 3, `${h.reads.runs} reads of the active runs for one burst`);
    h.runs.length = 0;
    h.fleet.runsChanged();
    assert.equal((await h.list()).items.find((i) => i.name === 'b')?.activeRun, null, 'an ended run is gone');

    const before = (await h.list()).items.find((i) => i.name === 'a')?.health.inspectedAt;
    await h.clock.advance(1000);
    await h.status.refresh(row('a'));
    const after = (await h.list()).items.find((i) => i.name === 'a')?.health.inspectedAt;
    assert.notEqual(after, before, "a new inspection is in the cluster's line");
  });

  it("sees another process's registration and removal within its poll", async () => {
    const h = harness(['a', 'b']);
    await h.list();
    h.rows.splice(0, 1, row('z'));
    assert.deepEqual(
      (await h.list()).items.map((i) => i.name),
      ['a', 'b'],
      'served from memory until the poll',
    );
    await h.clock.advance(1000);
    assert.deepEqual(
      (await h.list()).items.map((i) => i.name),
      ['b', 'z'],
    );
    h.fleet.close();
    h.status.close();
  });

  it('keeps a request waiting for two reads at most, however often commits come', async () => {
    const clock = new ManualClock();
    const pending: (() => void)[] = [];
    const status = new ClusterStatusCache({
      clock,
      clusters: () => Promise.resolve([row('a')]),
      inspect: () => Promise.resolve({ inspection: { reachable: false, error: 'x' }, pools: null, inspectedAt: 0 }),
    });
    const fleet = new FleetList({
      clock,
      clusters: () => Promise.resolve([row('a')]),
      // Each read of the runs waits until the test lets it answer.
      activeRuns: () => new Promise((resolve) => pending.push(() => resolve([]))),
      status,
    });
    const first = fleet.page();
    await waitFor(() => pending.length === 1, { message: 'the first read' });
    pending.shift()?.();
    await first;

    fleet.runsChanged();
    await waitFor(() => pending.length === 1, { message: 'a read to start' });
    fleet.runsChanged();
    let answered = false;
    const asked = fleet.page().then(() => (answered = true));
    // The read in progress started before the last commit: the request waits for the next one too.
    pending.shift()?.();
    await waitFor(() => pending.length === 1, { message: 'the next read to start' });
    assert.equal(answered, false);
    // Commits keep coming while that read runs: the request does not wait for the reads they ask for.
    fleet.runsChanged();
    pending.shift()?.();
    await asked;
    await waitFor(() => pending.length === 1, { message: 'the read of the last commit' });
    pending.shift()?.();
    fleet.close();
  });
});
