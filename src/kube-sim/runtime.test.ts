import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import { WorkQueue } from './controllers/work-queue.ts';
import { createTestRuntime } from './testing/runtime.ts';
import type { TestRuntime } from './testing/runtime.ts';

describe('runtime.idle()', () => {
  let rt: TestRuntime | undefined;
  afterEach(() => rt?.stop());

  it('waits for a work queue to drain a backlog that takes many turns of the event loop', async () => {
    rt = createTestRuntime();
    const seen: string[] = [];
    // 50 keys a batch and a setImmediate between batches: 100 turns, far more than a fixed settle() waited.
    const queue = new WorkQueue(rt, (key) => seen.push(key), { name: 'test' });
    for (let i = 0; i < 5_000; i++) queue.add(`k${i}`);
    await rt.idle();
    assert.equal(seen.length, 5_000);
    assert.equal(queue.length, 0);
  });

  it('waits for chains of 0-ms timers and the queue work they start', async () => {
    rt = createTestRuntime();
    const seen: number[] = [];
    const queue = new WorkQueue(rt, (key) => seen.push(Number(key)), { name: 'test' });
    const step = (n: number): void => {
      queue.add(String(n));
      if (n < 40) rt?.after(0, () => step(n + 1));
    };
    rt.after(0, () => step(1));
    await rt.idle();
    assert.equal(seen.length, 40);
  });

  it('does not wait for timers set for later: under a ManualClock they run as the test advances it', async () => {
    const clock = new ManualClock();
    rt = createTestRuntime({ clock });
    const seen: string[] = [];
    const queue = new WorkQueue(rt, (key) => seen.push(key), { name: 'test' });
    rt.after(60_000, () => {
      // What the timer starts (0-ms timers, queue work) is done before advance() returns: it waits on idle().
      rt?.after(0, () => rt?.after(0, () => queue.add('late')));
    });
    await rt.idle();
    assert.deepEqual(seen, [], 'nothing ran before the clock moved');
    await clock.advance(59_999);
    assert.deepEqual(seen, []);
    await clock.advance(1);
    assert.deepEqual(seen, ['late']);
  });

  it('resolves once the runtime stops, and a stopped runtime starts nothing', async () => {
    rt = createTestRuntime();
    let ran = false;
    rt.after(0, () => (ran = true));
    rt.stop();
    await rt.idle();
    rt.after(0, () => (ran = true));
    await rt.idle();
    assert.equal(ran, false);
  });
});
