import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchPolicyError,
  batchSizes,
  formatBatchPolicy,
  parseBatchPolicy,
  planBatches,
  poolBatchSizes,
} from './batches.ts';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`);

describe('planBatches', () => {
  it('exponential: one node first, then doubling, capped at 10 % of the pool', () => {
    assert.deepEqual(batchSizes(100, { kind: 'exponential' }), [1, 2, 4, 8, ...Array<number>(8).fill(10), 5]);
    assert.deepEqual(batchSizes(1000, { kind: 'exponential' }).slice(0, 9), [1, 2, 4, 8, 16, 32, 64, 100, 100]);
  });

  it('exponential: small pools go one node at a time (10 % rounds down, at least one)', () => {
    assert.deepEqual(batchSizes(5, { kind: 'exponential' }), [1, 1, 1, 1, 1]);
    assert.deepEqual(batchSizes(25, { kind: 'exponential' }), [1, ...Array<number>(12).fill(2)]);
  });

  it('fixed and percent', () => {
    assert.deepEqual(batchSizes(7, { kind: 'fixed', size: 3 }), [3, 3, 1]);
    assert.deepEqual(batchSizes(10, { kind: 'percent', percent: 25 }), [3, 3, 3, 1]);
    assert.deepEqual(batchSizes(3, { kind: 'percent', percent: 1 }), [1, 1, 1]);
    assert.deepEqual(batchSizes(4, { kind: 'percent', percent: 100 }), [4]);
  });

  it('keeps every node once, in order', () => {
    const nodes = names(37);
    for (const policy of [
      { kind: 'exponential' } as const,
      { kind: 'fixed', size: 4 } as const,
      { kind: 'percent', percent: 30 } as const,
    ]) {
      const batches = planBatches(nodes, policy);
      assert.deepEqual(batches.flat(), nodes);
      assert.ok(batches.every((b) => b.length > 0));
    }
    assert.deepEqual(planBatches([], { kind: 'exponential' }), []);
    assert.deepEqual(planBatches(['a', 'b', 'c']), [['a'], ['b'], ['c']]);
  });
});

describe('batch sizes of the nodes left in a pool', () => {
  it('exponential: the 10 % cap is taken of the whole pool, so the rest of a pool starts at one node again', () => {
    assert.deepEqual(batchSizes(30, { kind: 'exponential' }, 100), [1, 2, 4, 8, 10, 5]);
    assert.deepEqual(batchSizes(30, { kind: 'exponential' }), [1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    // A pool size below the count (nodes added since the plan) never lowers the cap.
    assert.deepEqual(batchSizes(30, { kind: 'exponential' }, 10), batchSizes(30, { kind: 'exponential' }));
  });

  it('fixed and percent take their size of the nodes left, whatever the pool size', () => {
    assert.deepEqual(batchSizes(7, { kind: 'fixed', size: 3 }, 100), [3, 3, 1]);
    assert.deepEqual(batchSizes(10, { kind: 'percent', percent: 25 }, 100), [3, 3, 3, 1]);
  });

  it('cuts each batch to maxSurge + maxUnavailable (replace) or maxUnavailable (in place)', () => {
    const fixed = { kind: 'fixed', size: 5 } as const;
    assert.deepEqual(
      poolBatchSizes(7, 7, fixed, { strategy: 'replace', maxSurge: null, maxUnavailable: null }),
      [5, 2],
    );
    assert.deepEqual(
      poolBatchSizes(7, 7, fixed, { strategy: 'replace', maxSurge: 1, maxUnavailable: 1 }),
      [2, 2, 1, 2],
    );
    assert.deepEqual(
      poolBatchSizes(7, 7, fixed, { strategy: 'in-place', maxSurge: null, maxUnavailable: 3 }),
      [3, 2, 2],
    );
    assert.deepEqual(
      poolBatchSizes(7, 7, fixed, { strategy: 'in-place', maxSurge: null, maxUnavailable: null }),
      [5, 2],
    );
    assert.deepEqual(
      poolBatchSizes(30, 100, { kind: 'exponential' }, { strategy: 'replace', maxSurge: 3, maxUnavailable: 0 }),
      [1, 2, 3, 1, 3, 3, 2, 3, 3, 3, 1, 3, 2],
    );
  });
});

describe('parseBatchPolicy', () => {
  it('reads the three policies and formats them back', () => {
    for (const text of ['exponential', 'fixed:3', 'percent:20'])
      assert.equal(formatBatchPolicy(parseBatchPolicy(text)), text);
    assert.deepEqual(parseBatchPolicy('percent:12.5%'), { kind: 'percent', percent: 12.5 });
  });

  it('refuses anything else with a message that names the input', () => {
    for (const [text, detail] of [
      ['linear', 'is not a known policy'],
      ['fixed:0', 'not a whole number >= 1'],
      ['fixed:two', 'not a whole number >= 1'],
      ['percent:0', 'outside 0 < P <= 100'],
      ['percent:150', 'outside 0 < P <= 100'],
      ['percent:', 'outside 0 < P <= 100'],
    ] as const) {
      assert.throws(
        () => parseBatchPolicy(text),
        (err: unknown) =>
          err instanceof BatchPolicyError &&
          err.message.startsWith(`KUP-BATCH-001: batch policy "${text}"`) &&
          err.message.includes(detail),
        text,
      );
    }
  });
});
