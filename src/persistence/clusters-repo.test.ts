import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ClusterRow } from './clusters-repo.ts';
import { StoreError } from './errors.ts';
import type { KupStore } from './store.ts';
import { storeBackends } from '../../test/helpers/store-backends.ts';
import type { TestDatabase } from '../../test/helpers/store-backends.ts';

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    let store: KupStore;
    let database: TestDatabase;

    beforeEach(async () => {
      database = await backend.fresh();
      store = await database.open();
    });

    afterEach(async () => {
      await store.close();
    });

    const prod: ClusterRow = {
      name: 'prod',
      kubeconfigPath: '/etc/kup/prod.kubeconfig',
      context: 'prod-admin',
      provider: 'sim',
      providerSettings: { region: 'eu-1', zones: ['a', 'b'] },
      addedAt: 1000,
    };

    describe('clusters', () => {
      it('adds, reads and lists clusters by name', async () => {
        assert.deepEqual(await store.clusters.add(prod), prod);
        const noContext: ClusterRow = { name: 'dev', kubeconfigPath: '/k/dev', provider: 'sim', providerSettings: {}, addedAt: 2000 };
        await store.clusters.add(noContext);
        assert.deepEqual(await store.clusters.get('prod'), prod);
        assert.deepEqual(await store.clusters.get('dev'), noContext);
        assert.equal(await store.clusters.get('nope'), undefined);
        assert.deepEqual((await store.clusters.list()).map((c) => c.name), ['dev', 'prod']);
      });

      it('refuses a second cluster of the same name', async () => {
        await store.clusters.add(prod);
        await assert.rejects(store.clusters.add({ ...prod, kubeconfigPath: '/other' }), (err: unknown) => {
          assert.ok(err instanceof StoreError);
          assert.equal(err.message, 'KUP-STORE-007: a cluster named prod is already registered');
          return true;
        });
        assert.equal((await store.clusters.get('prod'))?.kubeconfigPath, prod.kubeconfigPath);
      });

      it('refuses to remove a cluster with an active run, naming it; removes it keeping its finished runs otherwise', async () => {
        await store.clusters.add(prod);
        const run = (id: string, active: boolean) => ({ id, cluster: 'prod', target: '1.31.5', plan: {}, state: {}, phase: active ? 'paused' : 'succeeded', active, createdAt: 1 });
        await store.runs.create(run('run-old', false), [{ at: 1, step: 'created', outcome: 'info', message: 'created' }]);
        await store.runs.create(run('run-live', true));
        assert.deepEqual(await store.clusters.remove('prod', 5), { status: 'busy', activeRuns: ['run-live'] });
        assert.ok(await store.clusters.get('prod'), 'a busy cluster stays');

        await store.runs.saveState('run-live', 1, { state: {}, phase: 'cancelled', active: false, at: 2 });
        assert.deepEqual(await store.clusters.remove('prod', 5), { status: 'removed', cluster: prod, runsKept: 2, runsRemoved: 0 });
        assert.equal(await store.clusters.get('prod'), undefined);
        assert.deepEqual(await store.clusters.list(), []);
        // The history stays: the runs and their events, listed by the cluster's name.
        assert.equal((await store.runs.get('run-old'))?.phase, 'succeeded');
        assert.deepEqual((await store.events.list('run-old')).map((e) => e.message), ['created']);
        assert.deepEqual((await store.runs.list({ cluster: 'prod' })).map((r) => r.id).sort(), ['run-live', 'run-old']);
        assert.deepEqual(await store.clusters.remove('prod', 6), { status: 'not-found' });
        // A removed cluster takes no new run.
        await assert.rejects(store.runs.create(run('run-new', true)), (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-008');
      });

      it('takes a removed name back with its history; purging removes the runs and their events', async () => {
        await store.clusters.add(prod);
        await store.runs.create({ id: 'run-old', cluster: 'prod', target: '1.31.5', plan: {}, state: {}, phase: 'succeeded', active: false, createdAt: 1 });
        await store.clusters.remove('prod', 5);
        const again = { ...prod, kubeconfigPath: '/k/prod-2', addedAt: 9 };
        assert.deepEqual(await store.clusters.add(again), again);
        assert.deepEqual((await store.runs.list({ cluster: 'prod' })).map((r) => r.id), ['run-old']);
        assert.deepEqual(await store.clusters.remove('prod', 10, { purgeHistory: true }), { status: 'removed', cluster: again, runsKept: 0, runsRemoved: 1 });
        assert.equal(await store.runs.get('run-old'), undefined);
        assert.deepEqual(await store.events.list('run-old'), []);
      });
    });
  });
}
