/**
 * Reading the API server's refusals: the budget named in a 429's cause, and the most telling message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdFromStatus, messageOf } from './evict.ts';

/** A client-node ApiException's shape: the Status body as text. */
function apiException(code: number, status: Record<string, unknown>) {
  return Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: JSON.stringify(status), headers: {} });
}

const TOO_MANY = apiException(429, {
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: "Cannot evict pod as it would violate the pod's disruption budget.",
  reason: 'TooManyRequests',
  details: {
    causes: [
      {
        reason: 'DisruptionBudget',
        message: 'The disruption budget cart-pdb needs 3 healthy pods and has 3 currently',
      },
    ],
  },
  code: 429,
});

describe('holdFromStatus', () => {
  it("reads the budget and its numbers from a 429's DisruptionBudget cause", () => {
    assert.deepEqual(holdFromStatus(TOO_MANY, 'shop'), {
      pdb: { namespace: 'shop', name: 'cart-pdb' },
      desiredHealthy: 3,
      currentHealthy: 3,
    });
  });
  it('is undefined when the server names no budget (the "still being processed" 429, any other error)', () => {
    const processing = apiException(429, {
      kind: 'Status',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: {
        causes: [
          {
            reason: 'DisruptionBudget',
            message: 'The disruption budget cart-pdb is still being processed by the server.',
          },
        ],
      },
    });
    assert.equal(holdFromStatus(processing, 'shop'), undefined);
    assert.equal(holdFromStatus(new Error('socket hang up'), 'shop'), undefined);
  });
});

describe('messageOf', () => {
  it('prefers the cause, then the Status message, then the error text', () => {
    assert.equal(messageOf(TOO_MANY), 'The disruption budget cart-pdb needs 3 healthy pods and has 3 currently');
    assert.equal(
      messageOf(
        apiException(500, {
          kind: 'Status',
          message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        }),
      ),
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    );
    assert.equal(messageOf(new Error('connect ECONNREFUSED')), 'connect ECONNREFUSED');
  });
});
