import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
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
      await store.clusters.add({ name: 'prod', kubeconfigPath: '/k/prod', provider: 'sim', providerSettings: {}, addedAt: 1 });
      await store.runs.create({ id: 'run-a', cluster: 'prod', target: '1.31.5', plan: {}, state: {}, phase: 'pending', createdAt: 1 });
    });

    afterEach(async () => {
      await store.close();
    });

    describe('step outcomes (idempotency records)', () => {
      it('tells a first attempt from a retry, and keeps the first start time', async () => {
        assert.deepEqual(await store.stepOutcomes.begin('run-a', 'replace/app/app-0', 100), {
          record: { runId: 'run-a', stepKey: 'replace/app/app-0', startedAt: 100 },
          firstAttempt: true,
        });
        // kup crashed after the provider call; the restarted one begins the step again.
        assert.deepEqual(await store.stepOutcomes.begin('run-a', 'replace/app/app-0', 900), {
          record: { runId: 'run-a', stepKey: 'replace/app/app-0', startedAt: 100 },
          firstAttempt: false,
        });
      });

      it('records the first outcome and keeps it', async () => {
        await store.stepOutcomes.begin('run-a', 'cp-upgrade/cp-0', 100);
        const done = await store.stepOutcomes.finish('run-a', { stepKey: 'cp-upgrade/cp-0', finishedAt: 200, outcome: { operation: 'op-1', result: 'ok' } });
        assert.deepEqual(done, { runId: 'run-a', stepKey: 'cp-upgrade/cp-0', startedAt: 100, finishedAt: 200, outcome: { operation: 'op-1', result: 'ok' } });
        const again = await store.stepOutcomes.finish('run-a', { stepKey: 'cp-upgrade/cp-0', finishedAt: 300, outcome: { operation: 'op-2' } });
        assert.deepEqual(again, done);
        assert.deepEqual(await store.stepOutcomes.get('run-a', 'cp-upgrade/cp-0'), done);
        assert.equal(await store.stepOutcomes.get('run-a', 'cp-upgrade/cp-1'), undefined);
      });

      it('lists a run’s records in the order the steps began', async () => {
        await store.stepOutcomes.begin('run-a', 'snapshot', 100);
        await store.stepOutcomes.begin('run-a', 'cp-upgrade/cp-0', 200);
        await store.stepOutcomes.begin('run-a', 'cp-upgrade/cp-1', 200);
        assert.deepEqual((await store.stepOutcomes.list('run-a')).map((r) => r.stepKey), ['snapshot', 'cp-upgrade/cp-0', 'cp-upgrade/cp-1']);
      });

      it('refuses an outcome of a step never begun, and a step of a missing run', async () => {
        await assert.rejects(
          store.stepOutcomes.finish('run-a', { stepKey: 'snapshot', finishedAt: 1, outcome: {} }),
          (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-010' && err.details.stepKey === 'snapshot',
        );
        await assert.rejects(store.stepOutcomes.begin('run-none', 'snapshot', 1), (err: unknown) => err instanceof StoreError && err.code === 'KUP-STORE-004');
      });
    });
  });
}
