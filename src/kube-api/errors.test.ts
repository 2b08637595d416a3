import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DrainError, DrainErrorCode } from '../drain/errors.ts';
import { ClusterError, ClusterErrorCode, healsByRetry, isCertificateError } from './errors.ts';

/** An error as Node gives it, with a string code. */
const nodeError = (code: string, message = code): Error => Object.assign(new Error(message), { code });
/** An answer of the API server as client-node's ApiException has it. */
const answered = (code: number): Error => Object.assign(new Error(`HTTP-Code: ${code}`), { code });

describe('healsByRetry: the one decision whether trying again may help', () => {
  it('retries what may heal: 429, 5xx, a connection refused or cut', () => {
    for (const err of [answered(429), answered(500), answered(503), nodeError('ECONNREFUSED'), nodeError('ECONNRESET')]) {
      assert.equal(healsByRetry(err), true, err.message);
    }
    const wrapped = new ClusterError(ClusterErrorCode.unreachable, 'cannot reach https://127.0.0.1:6443/livez', {}, { cause: nodeError('ECONNREFUSED') });
    assert.equal(healsByRetry(wrapped), true);
  });

  it('does not retry what cannot heal: 401, 403, other 4xx, a certificate that does not verify', () => {
    for (const err of [answered(401), answered(403), answered(404), answered(422)]) assert.equal(healsByRetry(err), false, err.message);
    const cert = nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate');
    const wrapped = new ClusterError(ClusterErrorCode.unreachable, 'cannot reach https://127.0.0.1:6443/livez', {}, { cause: cert });
    assert.equal(isCertificateError(wrapped), true);
    assert.equal(wrapped.retryable, false);
    assert.equal(healsByRetry(wrapped), false);
    assert.equal(healsByRetry(new Error('a bug')), false);
  });

  it("a drain's failed API request is retryable only when the request may heal", () => {
    const drainFailed = (cause: unknown) => new DrainError(DrainErrorCode.apiFailure, 'drain of node w-1: cordon: failed', 'w-1', false, [], { cause });
    assert.equal(drainFailed(answered(503)).retryable, true);
    assert.equal(drainFailed(nodeError('ECONNRESET')).retryable, true);
    assert.equal(drainFailed(answered(401)).retryable, false, 'a revoked token pauses the run at once');
    assert.equal(drainFailed(answered(403)).retryable, false);
    assert.equal(drainFailed(nodeError('CERT_HAS_EXPIRED')).retryable, false);
  });
});
