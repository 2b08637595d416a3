import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterError, ClusterErrorCode } from '../kube-api/errors.ts';
import { ProviderError, ProviderErrorCode } from '../engine/provider.ts';
import { exitCodeOf, httpStatusOf, kindOf } from './codes.ts';
import { KUP_ERROR_KINDS, KupError } from './kup-error.ts';
import type { KupErrorKind } from './kup-error.ts';

/** One error of each kind, from the base class: the maps look at nothing but the kind (and, rarely, the code). */
function ofKind(kind: KupErrorKind): KupError {
  return new KupError('KUP-TEST-001', `a ${kind} error`, { kind });
}

describe('exitCodeOf', () => {
  it('is 2 for bad input and 1 for every other failure', () => {
    const codes = Object.fromEntries(KUP_ERROR_KINDS.map((kind) => [kind, exitCodeOf(ofKind(kind))]));
    assert.deepEqual(codes, {
      'invalid-input': 2,
      'not-found': 1,
      conflict: 1,
      rejected: 1,
      unauthorized: 1,
      forbidden: 1,
      unavailable: 1,
      failed: 1,
      cancelled: 1,
      internal: 1,
    });
  });

  it('is 1 for an error kup does not know, and for a thrown non-error', () => {
    assert.equal(exitCodeOf(new Error('KUP-FAKE-001: looks like ours but is not')), 1);
    assert.equal(exitCodeOf('a string'), 1);
    assert.equal(kindOf(new Error('KUP-FAKE-001: looks like ours but is not')), undefined);
  });

  it("is 2 for the embedded simulator's usage and scenario errors, which are no KupErrors", () => {
    const usage = Object.assign(new Error('--kubeconfig OUT is required'), { code: 'KUP-SIM-USAGE' });
    const scenario = Object.assign(new Error('scenario.yaml: pools[0].nodes: must be a whole number'), {
      code: 'KUP-SIM-SCENARIO',
    });
    assert.equal(exitCodeOf(usage), 2);
    assert.equal(exitCodeOf(scenario), 2);
    // An unknown code on a foreign error is still a bug, not bad input.
    assert.equal(kindOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined);
  });
});

describe('httpStatusOf', () => {
  it('follows the kind', () => {
    const statuses = Object.fromEntries(KUP_ERROR_KINDS.map((kind) => [kind, httpStatusOf(ofKind(kind))]));
    assert.deepEqual(statuses, {
      'invalid-input': 400,
      'not-found': 404,
      conflict: 409,
      rejected: 422,
      unauthorized: 401,
      forbidden: 403,
      unavailable: 503,
      failed: 500,
      cancelled: 503,
      internal: 500,
    });
  });

  it('is 500 for an error kup does not know', () => {
    assert.equal(httpStatusOf(new TypeError('x is undefined')), 500);
  });

  it("answers 502, not 401, when a cluster or a provider refuses kup's credentials", () => {
    const cluster = new ClusterError(ClusterErrorCode.unauthorized, 'the API server refused the token', {
      status: 401,
    });
    const provider = new ProviderError(ProviderErrorCode.unauthorized, 'sim: 403 Forbidden', { status: 403 });
    for (const err of [cluster, provider]) {
      assert.equal(err.kind, 'unauthorized', err.message);
      assert.equal(httpStatusOf(err), 502, err.message);
      assert.equal(exitCodeOf(err), 1, err.message);
    }
    // Any other unauthorized error is the caller's own.
    assert.equal(httpStatusOf(ofKind('unauthorized')), 401);
  });
});
