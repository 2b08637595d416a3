import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import { waitFor } from '../clock/wait-for.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import type { ClusterStatus } from './cluster-status.ts';
import { ClusterStatusCache } from './cluster-status.ts';

const row = (name: string): ClusterRow => ({
  name,
  kubeconfigPath: `/k/${name}`,
  provider: 'sim',
  providerSettings: {},
  addedAt: 0,
});

const status = (at: number): ClusterStatus => ({
  inspection: { reachable: false, error: 'not asked' },
  pools: null,
  inspectedAt: at,
});

/** A cache whose inspections wait until the test answers them; it records which ran, in order, and how many at once. */
function harness(rows: readonly ClusterRow[], concurrency: number) {
  const clock = new ManualClock();
  const waiting = new Map<string, () => void>();
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const cache = new ClusterStatusCache({
    clock,
    clusters: () => Promise.resolve(rows),
    concurrency,
    refreshEveryMs: 15_000,
    inspect: (r) => {
      started.push(r.name);
      most = Math.max(most, ++running);
      return new Promise((resolve) =>
        waiting.set(r.name, () => {
          waiting.delete(r.name);
          running--;
          resolve(status(clock.now()));
        }),
      );
    },
  });
  const answer = async (name: string): Promise<void> => {
    const done = await waitFor(() => waiting.get(name), { message: `the inspection of ${name} to start` });
    done();
  };
  return { clock, cache, waiting, started, answer, most: () => most };
}

describe('cluster status cache', () => {
  it('inspects every cluster as it starts, a bounded number at once, and the clusters a request waits for first', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(`c-${String(i).padStart(2, '0')}`));
    const h = harness(rows, 4);
    const changed: string[] = [];
    h.cache.onChange((name) => changed.push(name));
    h.cache.start();
    await waitFor(() => h.started.length === 4, { message: 'the first round to start without waiting for its period' });
    assert.deepEqual(h.started, ['c-00', 'c-01', 'c-02', 'c-03']);
    assert.equal(h.cache.pending, 40, 'every cluster is queued, four run');

    // A request for a cluster at the back of the round's queue (a cold list) goes before the rest of the round.
    const asked = h.cache.get(row('c-39'));
    await h.answer('c-00');
    await h.answer('c-39');
    const got = await asked;
    assert.equal(got.inspectedAt, h.clock.now());
    assert.equal(h.started[4], 'c-39', 'the waited-for cluster took the first free slot');
    assert.equal(h.cache.peek('c-39'), got);

    for (let i = 1; i < 39; i++) await h.answer(`c-${String(i).padStart(2, '0')}`);
    await waitFor(() => h.cache.pending === 0, { message: 'the first round to end' });
    assert.equal(h.most(), 4, 'never more than the bound at once');
    assert.equal(h.started.length, 40, 'each cluster inspected once in the round, the waited-for one included');
    assert.deepEqual([...changed].sort(), rows.map((r) => r.name).sort(), 'each change is told to the listeners');

    // The next round comes a period after the last one ended, not before.
    await h.clock.advance(14_999);
    assert.equal(h.started.length, 40);
    await h.clock.advance(1);
    await waitFor(() => h.started.length === 44, { message: 'the second round to start' });
    h.cache.close();
  });

  it('forgets a cluster that is no longer registered and tells its listeners', async () => {
    const rows = [row('a'), row('b')];
    const h = harness(rows, 2);
    const told: [string, boolean][] = [];
    h.cache.onChange((name, s) => told.push([name, s !== undefined]));
    const round = h.cache.refreshAll();
    await h.answer('a');
    await h.answer('b');
    await round;
    rows.pop();
    const next = h.cache.refreshAll();
    await h.answer('a');
    await next;
    assert.equal(h.cache.peek('b'), undefined);
    assert.deepEqual(told.slice(2).sort(), [
      ['a', true],
      ['b', false],
    ]);
  });
});
