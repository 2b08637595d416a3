import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { StoreError } from './errors.ts';
import type { KupStore } from './store.ts';
import { storeBackends } from '../../test/helpers/store-backends.ts';

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    let store: KupStore;

    beforeEach(async () => {
      store = await (await backend.fresh()).open();
      for (const name of ['dev', 'prod'])
        await store.clusters.add({ name, kubeconfigPath: `/k/${name}`, provider: 'sim', providerSettings: {}, addedAt: 1 });
    });

    afterEach(async () => {
      await store.close();
    });

    describe('cluster lifecycle settings', () => {
      it('stores, replaces and lists each cluster’s labels, schedule and policy; a removed cluster drops out', async () => {
        const schedule = {
          windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
          exclusions: [],
        };
        await store.lifecycle.put({
          cluster: 'dev',
          labels: { env: 'dev' },
          schedule,
          policy: { kubernetes: 'rapid' },
          updatedAt: 5,
        });
        await store.lifecycle.put({
          cluster: 'prod',
          labels: { env: 'prod' },
          schedule,
          policy: { kubernetes: 'stable' },
          updatedAt: 6,
        });
        await store.lifecycle.put({
          cluster: 'dev',
          labels: { env: 'dev', team: 'a' },
          schedule,
          policy: { kubernetes: 'patch' },
          updatedAt: 7,
        });
        assert.deepEqual(await store.lifecycle.get('dev'), {
          cluster: 'dev',
          labels: { env: 'dev', team: 'a' },
          schedule,
          policy: { kubernetes: 'patch' },
          updatedAt: 7,
        });
        assert.deepEqual(
          (await store.lifecycle.list()).map((r) => r.cluster),
          ['dev', 'prod'],
        );
        await store.clusters.remove('prod', 9);
        assert.deepEqual(
          (await store.lifecycle.list()).map((r) => r.cluster),
          ['dev'],
        );
        assert.equal(await store.lifecycle.get('nope'), undefined);
      });

      it('refuses settings of a cluster that is not registered', async () => {
        await assert.rejects(
          store.lifecycle.put({ cluster: 'nope', labels: {}, schedule: {}, policy: {}, updatedAt: 1 }),
          (e: unknown) =>
            e instanceof StoreError && e.code === 'KUP-STORE-008' && /cluster nope is not registered/.test(e.message),
        );
      });
    });

    describe('rollouts', () => {
      it('creates, commits with optimistic concurrency, lists active ones and keeps the log in order', async () => {
        const created = await store.rollouts.create(
          { id: 'ro-1', name: 'to-1-31', phase: 'pending', active: true, state: { a: 1 }, createdAt: 10, updatedAt: 10 },
          [{ seq: 1, at: 10, outcome: 'created', message: 'created' }],
        );
        assert.equal(created.version, 1);
        const v2 = await store.rollouts.commit(
          'ro-1',
          1,
          { phase: 'running', active: true, state: { a: 2 }, updatedAt: 11 },
          [
            { seq: 2, at: 11, outcome: 'started', stage: 'dev', message: 'started' },
            { seq: 3, at: 11, outcome: 'cluster-started', stage: 'dev', cluster: 'dev', message: 'dev started' },
          ],
        );
        assert.equal(v2, 2);
        await assert.rejects(
          store.rollouts.commit('ro-1', 1, { phase: 'paused', active: true, state: {}, updatedAt: 12 }, [
            { seq: 4, at: 12, outcome: 'paused', message: 'x' },
          ]),
          (e: unknown) => e instanceof StoreError && e.code === 'KUP-STORE-014' && e.retryable,
        );
        assert.deepEqual(
          (await store.rollouts.events('ro-1')).map((e) => e.seq),
          [1, 2, 3],
          'the refused commit appended nothing',
        );
        assert.deepEqual(await store.rollouts.events('ro-1', 2), [
          { seq: 3, at: 11, outcome: 'cluster-started', stage: 'dev', cluster: 'dev', message: 'dev started' },
        ]);
        await store.rollouts.commit('ro-1', 2, { phase: 'succeeded', active: false, state: { a: 3 }, updatedAt: 13 }, []);
        assert.deepEqual(await store.rollouts.list({ active: true }), []);
        assert.deepEqual((await store.rollouts.get('ro-1'))?.state, { a: 3 });
        await assert.rejects(
          store.rollouts.commit('ro-x', 1, { phase: 'x', active: false, state: {}, updatedAt: 1 }, []),
          /KUP-STORE-015: rollout ro-x does not exist/,
        );
      });
    });
  });
}
