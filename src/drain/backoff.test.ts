import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, retryAfterMs, retryDelay } from './backoff.ts';

const middle = () => 0.5; // no jitter either way

describe('backoffDelay', () => {
  it('starts at 100 ms and doubles up to 2 s', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, {}, middle)),
      [100, 200, 400, 800, 1600, 2000, 2000, 2000],
    );
  });

  it('spreads each delay by the jitter, both ways', () => {
    assert.equal(
      backoffDelay(3, {}, () => 0),
      640,
    ); // 800 - 20%
    assert.equal(
      backoffDelay(3, {}, () => 0.999999),
      960,
    ); // 800 + 20%
    assert.equal(
      backoffDelay(10, { jitter: 0.5 }, () => 0),
      1000,
    );
  });

  it('takes its shape from the options', () => {
    assert.equal(backoffDelay(2, { initialMs: 10, factor: 3, maxMs: 50, jitter: 0 }), 50);
    assert.equal(backoffDelay(1, { initialMs: 10, factor: 3, maxMs: 50, jitter: 0 }), 30);
  });

  it('never goes negative', () => {
    assert.equal(
      backoffDelay(0, { jitter: 5 }, () => 0),
      0,
    );
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates', () => {
    assert.equal(retryAfterMs('10'), 10_000);
    assert.equal(retryAfterMs(' 0 '), 0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
  });

  it('is undefined when absent or unreadable', () => {
    assert.equal(retryAfterMs(undefined), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });
});

describe('retryDelay', () => {
  it("honours the server's Retry-After over the backoff", () => {
    assert.equal(retryDelay(0, '10', {}, middle), 10_000);
    assert.equal(retryDelay(0, undefined, {}, middle), 100);
    assert.equal(retryDelay(2, 'garbage', {}, middle), 400);
  });
});
