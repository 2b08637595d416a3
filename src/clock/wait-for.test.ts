import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from './wait-for.ts';

describe('waitFor', () => {
  it('resolves with the first value that is not undefined, null or false', async () => {
    let n = 0;
    const value = await waitFor(() => (++n >= 3 ? { n } : n === 1 ? false : undefined), {
      message: 'n to reach 3',
      intervalMs: 1,
    });
    assert.deepEqual(value, { n: 3 });
  });

  it('fails saying what it waited for, with the last error of the condition', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { message: () => 'the server to answer', timeoutMs: 30, intervalMs: 5 },
      ),
      (err: Error) => {
        assert.equal(
          err.message,
          'timed out after 30 ms waiting for the server to answer (last error: connection refused)',
        );
        assert.equal((err.cause as Error).message, 'connection refused');
        return true;
      },
    );
  });
});
