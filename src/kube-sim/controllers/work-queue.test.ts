import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestRuntime, settle } from '../testing/runtime.ts';
import { WorkQueue } from './work-queue.ts';

describe('WorkQueue', () => {
  it('processes a key added many times once, and again when added after it was processed', async () => {
    const rt = createTestRuntime();
    const seen: string[] = [];
    const queue = new WorkQueue(rt, (key) => seen.push(key), { name: 'test' });
    queue.add('a');
    queue.add('b');
    queue.add('a');
    await settle();
    queue.add('a');
    await settle();
    assert.deepEqual(seen, ['a', 'b', 'a']);
    rt.stop();
  });

  it("ignoreOwnWrites: a key its own processing adds is not processed again; other keys are, and later adds are", async () => {
    for (const ignoreOwnWrites of [false, true]) {
      const rt = createTestRuntime();
      const seen: string[] = [];
      const queue: WorkQueue = new WorkQueue(
        rt,
        (key) => {
          seen.push(key);
          // What a sync's own writes do through the store's listeners: queue the key being synced, and another.
          if (seen.length === 1) {
            queue.add(key);
            queue.add('other');
          }
        },
        { name: 'test', ignoreOwnWrites },
      );
      queue.add('rs');
      await settle();
      assert.deepEqual(seen, ignoreOwnWrites ? ['rs', 'other'] : ['rs', 'rs', 'other'], `ignoreOwnWrites: ${ignoreOwnWrites}`);
      queue.add('rs');
      await settle();
      assert.equal(seen.at(-1), 'rs', 'an add after the sync is processed');
      rt.stop();
    }
  });
});
