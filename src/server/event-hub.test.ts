import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import { waitFor } from '../clock/wait-for.ts';
import type { EventsRepo, RunEvent } from '../persistence/events-repo.ts';
import type { KupStore } from '../persistence/store.ts';
import { openSqliteStore } from '../persistence/store.ts';
import { EventHub } from './event-hub.ts';

/** The store with its event reads counted. */
function counted(store: KupStore): { store: KupStore; reads: () => number } {
  let reads = 0;
  const events: EventsRepo = {
    append: (runId, batch) => store.events.append(runId, batch),
    lastSeq: (runId) => store.events.lastSeq(runId),
    lastId: () => store.events.lastId(),
    list: (runId, options) => {
      reads++;
      return store.events.list(runId, options);
    },
    listAll: (options) => {
      reads++;
      return store.events.listAll(options);
    },
  };
  return { store: { ...store, events, close: () => store.close() }, reads: () => reads };
}

const event = (i: number) => ({ at: i, step: `step-${i}`, outcome: 'info', message: `event ${i}` });

describe('event hub', () => {
  it('reads the store once per batch of commits whatever the number of streams; each resumes with no gap or duplicate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kup-hub-'));
    const raw = openSqliteStore({ dataDir: dir });
    try {
      for (const [id, cluster] of [
        ['run-a', 'prod'],
        ['run-b', 'stage'],
      ] as const) {
        await raw.clusters.add({
          name: cluster,
          kubeconfigPath: `/k/${cluster}`,
          provider: 'sim',
          providerSettings: {},
          addedAt: 1,
        });
        await raw.runs.create({ id, cluster, target: '1.31.5', plan: {}, state: {}, phase: 'pending', createdAt: 1 });
      }
      // A backlog longer than a page of the store's reads.
      for (let i = 0; i < 140; i++)
        await raw.events.append(
          i % 2 ? 'run-b' : 'run-a',
          [0, 1, 2, 3, 4].map((k) => event(i * 5 + k)),
        );
      const { store, reads } = counted(raw);
      const hub = new EventHub({ store, clock: new ManualClock(), keep: 50 });
      hub.start();
      const subscribers = [
        ...Array.from({ length: 40 }, () => ({ afterId: 0 })),
        ...Array.from({ length: 20 }, () => ({ afterId: 650 })),
        ...Array.from({ length: 20 }, () => ({ runId: 'run-a', afterId: 0 })),
        ...Array.from({ length: 20 }, () => ({ runId: 'run-b', afterId: 690 })),
      ].map((from) => {
        const got: RunEvent[] = [];
        hub.subscribe({ ...from, send: (events) => void got.push(...events), fail: (err) => assert.fail(String(err)) });
        return { from, got };
      });
      const wanted = (from: { runId?: string; afterId: number }, events: readonly RunEvent[]) =>
        events.filter((e) => e.id > from.afterId && (from.runId ?? e.runId) === e.runId).map((e) => e.id);
      const complete = async (what: string) => {
        const events = await raw.events.listAll({ limit: 100_000 });
        await waitFor(() => subscribers.every((s) => s.got.length === wanted(s.from, events).length), {
          message: what,
        });
      };
      await complete('every subscriber to replay its backlog');
      assert.equal(hub.subscribers, 100);

      // Live: 30 commits, each poked. The streams at the head are sent from what the hub read once.
      const before = reads();
      for (let i = 0; i < 30; i++) {
        await raw.events.append(i % 3 ? 'run-a' : 'run-b', [event(1000 + i), event(2000 + i)]);
        hub.poke();
        await complete(`commit ${i} to reach every stream`);
      }
      const live = reads() - before;
      assert.ok(live <= 2 * 30, `${live} reads of the store for 30 commits to 100 streams`);
      const events = await raw.events.listAll({ limit: 100_000 });
      for (const s of subscribers)
        assert.deepEqual(
          s.got.map((e) => e.id),
          wanted(s.from, events),
          'in order, no gap, no duplicate',
        );
      hub.close();
    } finally {
      await raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
