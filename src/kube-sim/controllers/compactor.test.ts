import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { StatusError } from '../api/status.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { createNamespace, createTestRuntime } from '../testing/runtime.ts';
import { startCompactor } from './compactor.ts';

describe('watch history compaction by time', () => {
  let rt: TestRuntime;
  let stop: () => void = () => undefined;

  afterEach(() => {
    stop();
    rt.stop();
  });

  function write(name: string): number {
    const cm = rt.registry.create(kindDef('ConfigMap'), 'default', { metadata: { name }, data: { a: '1' } });
    return Number(cm.metadata.resourceVersion);
  }

  function watchFrom(revision: number): number {
    const { replay, stop: end } = rt.store.watch('core/configmaps', revision, () => undefined);
    end();
    return replay.length;
  }

  it('keeps history between one and two periods, then answers 410 Expired for older revisions', async () => {
    const clock = new ManualClock();
    rt = createTestRuntime({ clock, timings: { watchHistory: 300_000 } });
    createNamespace(rt, 'default');
    stop = startCompactor(rt);
    const first = write('one');
    await clock.advance(300_000);
    const second = write('two');
    assert.equal(watchFrom(first - 1), 2, 'nothing compacted at the first tick');
    await clock.advance(300_000);
    assert.throws(
      () => watchFrom(first - 1),
      (err: unknown) =>
        err instanceof StatusError && err.code === 410 && /^too old resource version: \d+ \(\d+\)$/.test(err.message),
    );
    assert.equal(watchFrom(second - 1), 1, 'what came after the previous tick is kept');
    await clock.advance(300_000);
    assert.throws(
      () => watchFrom(second - 1),
      (err: unknown) => err instanceof StatusError && err.code === 410,
    );
    assert.equal(watchFrom(rt.store.currentRevision()), 0, 'a watch from now still starts');
  });

  it('compacts nothing when watchHistory is 0', async () => {
    const clock = new ManualClock();
    rt = createTestRuntime({ clock, timings: { watchHistory: 0 } });
    createNamespace(rt, 'default');
    stop = startCompactor(rt);
    const first = write('one');
    await clock.advance(3_600_000);
    assert.equal(watchFrom(first - 1), 1);
  });
});
