import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore } from './semaphore.ts';

describe('Semaphore', () => {
  it('never lets more than the limit run at once, and runs everything', async () => {
    const s = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 1 + (i % 3)));
          running -= 1;
          return i;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('releases the slot when the task throws', async () => {
    const s = new Semaphore(1);
    await assert.rejects(
      s.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await s.run(() => Promise.resolve('next')), 'next');
  });

  it('a waiter whose signal aborts leaves the queue without taking a slot', async () => {
    const s = new Semaphore(1);
    let release!: () => void;
    const holder = s.run(() => new Promise<void>((r) => (release = r)));
    const ctl = new AbortController();
    const waiter = s.run(() => Promise.resolve('never'), ctl.signal);
    ctl.abort(new Error('stop'));
    await assert.rejects(waiter, /stop/);
    release();
    await holder;
    assert.equal(await s.run(() => Promise.resolve('free')), 'free');
  });

  it('refuses a limit below 1', () => {
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
