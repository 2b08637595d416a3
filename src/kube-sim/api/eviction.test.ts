import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evictPod, EVICTION_REFUSAL_WEBHOOK } from './eviction.ts';
import type { EvictionReply } from './eviction.ts';
import { rfc3339 } from './registry.ts';
import { StatusError } from './status.ts';
import { startDisruptionController } from '../controllers/disruption.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { controllerRef, createPod, createTestRuntime, createWorkload } from '../testing/runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';

const NS = 'shop';

let clock: ManualClock;
let rt: TestRuntime;
let stopController: (() => void) | undefined;

beforeEach(() => {
  clock = new ManualClock();
  rt = createTestRuntime({ clock });
  stopController = undefined;
});

afterEach(() => {
  stopController?.();
  rt.stop();
});

/** A Deployment `web` with its ReplicaSet and `ready` Ready pods (+ `unready` not Ready), all labelled app=web. */
function web(replicas: number, options: { unready?: number; grace?: number } = {}): KubeObject[] {
  const d = createWorkload(rt, 'Deployment', NS, 'web', { replicas });
  const rs = createWorkload(rt, 'ReplicaSet', NS, 'web-7c9f', { replicas, labels: { app: 'web' } }, [controllerRef(d)]);
  const pods: KubeObject[] = [];
  const total = replicas + (options.unready ?? 0);
  for (let i = 0; i < total; i++) {
    pods.push(
      createPod(rt, NS, `web-7c9f-${i}`, {
        labels: { app: 'web' },
        owner: rs,
        ready: i < replicas,
        ...(options.grace !== undefined ? { terminationGracePeriodSeconds: options.grace } : {}),
      }),
    );
  }
  return pods;
}

function createPdb(name: string, spec: Record<string, unknown>): KubeObject {
  return rt.registry.create(kindDef('PodDisruptionBudget'), NS, { metadata: { name }, spec });
}

function pdb(name: string): KubeObject {
  return rt.store.mustGet('policy/poddisruptionbudgets', NS, name);
}

function pod(name: string): KubeObject | undefined {
  return rt.store.get('core/pods', NS, name);
}

/** Writes a PDB status as the disruption controller would have. */
function setPdbStatus(name: string, status: Record<string, unknown>): void {
  const current = pdb(name);
  rt.registry.update(
    kindDef('PodDisruptionBudget'),
    NS,
    name,
    { metadata: { resourceVersion: current.metadata.resourceVersion }, status },
    { subresource: 'status' },
  );
}

function eviction(name: string, deleteOptions?: Record<string, unknown>): Record<string, unknown> {
  return {
    kind: 'Eviction',
    apiVersion: 'policy/v1',
    metadata: { name, namespace: NS, creationTimestamp: null },
    ...(deleteOptions ? { deleteOptions } : {}),
  };
}

function evict(name: string, deleteOptions?: Record<string, unknown>): EvictionReply {
  return evictPod(rt, NS, name, eviction(name, deleteOptions));
}

/** The StatusError an eviction throws. */
function refusal(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the eviction to be refused');
}

function condition(obj: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  const list = obj?.status?.['conditions'];
  if (!Array.isArray(list)) return undefined;
  const found: unknown = (list as unknown[]).find((c) => isRecord(c) && c['type'] === type);
  return isRecord(found) ? found : undefined;
}

const SUCCESS = { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };

function assertEvicted(name: string, graceSeconds = 30): void {
  const p = pod(name);
  assert.ok(p, `${name} should still exist while it terminates`);
  assert.equal(p.metadata.deletionTimestamp, rfc3339(clock.now() + graceSeconds * 1000));
  assert.equal(p.metadata.deletionGracePeriodSeconds, graceSeconds);
  assert.deepEqual(condition(p, 'DisruptionTarget'), {
    type: 'DisruptionTarget',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: rfc3339(clock.now()),
    reason: 'EvictionByEvictionAPI',
    message: 'Eviction API: evicting',
  });
}

describe('evictPod: the request', () => {
  it('answers 400 when the name in the body is not the one in the URL', () => {
    web(1);
    const err = refusal(() => evictPod(rt, NS, 'web-7c9f-0', eviction('other')));
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.equal(err.message, 'name in URL does not match name in Eviction object');
    assert.equal(pod('web-7c9f-0')?.metadata.deletionTimestamp, undefined);
  });

  it('answers 400 for an apiVersion that is not policy/v1 or v1beta1, and accepts v1beta1', () => {
    web(2);
    const err = refusal(() => evictPod(rt, NS, 'web-7c9f-0', { ...eviction('web-7c9f-0'), apiVersion: 'v1' }));
    assert.equal(err.code, 400);
    assert.equal(err.message, 'the API version in the data (v1) does not match the expected API version (policy/v1)');
    assert.deepEqual(
      evictPod(rt, NS, 'web-7c9f-1', { ...eviction('web-7c9f-1'), apiVersion: 'policy/v1beta1' }),
      SUCCESS,
    );
  });

  it('answers 404 pods "x" not found for a missing pod', () => {
    web(1);
    const err = refusal(() => evict('gone'));
    assert.equal(err.code, 404);
    assert.equal(err.reason, 'NotFound');
    assert.equal(err.message, 'pods "gone" not found');
    assert.deepEqual(err.toStatus().details, { name: 'gone', kind: 'pods' });
  });
});

describe('evictPod: pods the budget does not guard', () => {
  it('deletes Pending, Failed and terminating pods without looking at the PDB', () => {
    web(2);
    createPdb('web', { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } });
    setPdbStatus('web', {
      observedGeneration: 1,
      disruptionsAllowed: 0,
      currentHealthy: 2,
      desiredHealthy: 2,
      expectedPods: 2,
    });
    createPod(rt, NS, 'web-pending', { labels: { app: 'web' }, phase: 'Pending', nodeName: '', ready: false });
    createPod(rt, NS, 'web-failed', { labels: { app: 'web' }, phase: 'Failed', ready: false });

    assert.deepEqual(evict('web-pending'), SUCCESS);
    assert.equal(pod('web-pending'), undefined, 'an unscheduled pod goes at once');
    assert.deepEqual(evict('web-failed'), SUCCESS);
    assert.equal(pod('web-failed'), undefined, 'a finished pod goes at once');

    rt.registry.delete(kindDef('Pod'), NS, 'web-7c9f-0', { gracePeriodSeconds: 60 });
    const deadline = pod('web-7c9f-0')?.metadata.deletionTimestamp;
    assert.deepEqual(evict('web-7c9f-0', { gracePeriodSeconds: 10 }), SUCCESS);
    assert.equal(pod('web-7c9f-0')?.metadata.deletionTimestamp, rfc3339(clock.now() + 10_000), 'a shorter grace wins');
    assert.notEqual(pod('web-7c9f-0')?.metadata.deletionTimestamp, deadline);
    assert.equal(condition(pod('web-7c9f-0'), 'DisruptionTarget')?.['status'], 'True');

    const status = pdb('web').status;
    assert.equal(status?.['disruptionsAllowed'], 0);
    assert.equal(status?.['disruptedPods'], undefined, 'the budget was not touched');
  });

  it('deletes a pod no PDB selects, marking it DisruptionTarget first', () => {
    web(1, { grace: 45 });
    createPdb('other', { minAvailable: 1, selector: { matchLabels: { app: 'other' } } });
    assert.deepEqual(evict('web-7c9f-0'), SUCCESS);
    assertEvicted('web-7c9f-0', 45);
  });

  it('answers 500 when several PDBs select the pod, and deletes nothing', () => {
    web(3);
    createPdb('a', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
    createPdb('b', { maxUnavailable: 1, selector: {} });
    assert.deepEqual(evict('web-7c9f-0'), {
      code: 500,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        code: 500,
      },
    });
    assert.equal(pod('web-7c9f-0')?.metadata.deletionTimestamp, undefined);
  });

  it('ignores a PDB with a null selector (it selects nothing)', () => {
    web(1);
    createPdb('null-selector', { minAvailable: 1 });
    setPdbStatus('null-selector', {
      observedGeneration: 1,
      disruptionsAllowed: 0,
      currentHealthy: 0,
      desiredHealthy: 1,
      expectedPods: 0,
    });
    assert.deepEqual(evict('web-7c9f-0'), SUCCESS);
  });
});

describe('evictPod: unready pods', () => {
  it('AlwaysAllow deletes an unready pod even with no disruption allowed, without touching the budget', async () => {
    web(2, { unready: 1 });
    createPdb('web', {
      minAvailable: 3,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      selector: { matchLabels: { app: 'web' } },
    });
    stopController = startDisruptionController(rt);
    await rt.idle();
    const before = pdb('web');
    assert.equal(before.status?.['disruptionsAllowed'], 0);
    assert.equal(before.status?.['currentHealthy'], 2);
    assert.deepEqual(evict('web-7c9f-2'), SUCCESS);
    assertEvicted('web-7c9f-2');
    assert.equal(pdb('web').metadata.resourceVersion, before.metadata.resourceVersion, 'PDB status not written');
  });

  it('IfHealthyBudget (or unset) deletes an unready pod while the application is whole', async () => {
    web(3, { unready: 1 });
    createPdb('web', { minAvailable: 3, selector: { matchLabels: { app: 'web' } } });
    stopController = startDisruptionController(rt);
    await rt.idle();
    assert.deepEqual(pdb('web').status?.['currentHealthy'], 3);
    assert.deepEqual(pdb('web').status?.['disruptionsAllowed'], 0);
    assert.deepEqual(evict('web-7c9f-3'), SUCCESS);
    assertEvicted('web-7c9f-3');
    assert.equal(pdb('web').status?.['disruptedPods'], undefined);
  });

  it('IfHealthyBudget refuses an unready pod while the application is already below its budget', async () => {
    web(2, { unready: 1 });
    createPdb('web', {
      minAvailable: 3,
      unhealthyPodEvictionPolicy: 'IfHealthyBudget',
      selector: { matchLabels: { app: 'web' } },
    });
    stopController = startDisruptionController(rt);
    await rt.idle();
    const err = refusal(() => evict('web-7c9f-2'));
    assert.equal(err.code, 429);
    assert.equal(err.reason, 'TooManyRequests');
    assert.equal(err.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.equal(err.retryAfterSeconds, undefined);
    assert.deepEqual(err.toStatus().details, {
      causes: [
        { reason: 'DisruptionBudget', message: 'The disruption budget web needs 3 healthy pods and has 2 currently' },
      ],
    });
    assert.equal(pod('web-7c9f-2')?.metadata.deletionTimestamp, undefined);
  });
});

describe('evictPod: the budget', () => {
  it('answers 429 with Retry-After 10 while the controller has not observed the PDB generation', async () => {
    web(3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    stopController = startDisruptionController(rt);
    await rt.idle();
    assert.equal(pdb('web').status?.['disruptionsAllowed'], 1);
    // A spec change bumps the generation; the controller has not caught up yet (it runs on a later turn).
    rt.registry.patch(kindDef('PodDisruptionBudget'), NS, 'web', 'merge', { spec: { maxUnavailable: 2 } });
    assert.equal(pdb('web').metadata.generation, 2);
    const err = refusal(() => evict('web-7c9f-0'));
    assert.equal(err.code, 429);
    assert.equal(err.reason, 'TooManyRequests');
    assert.equal(err.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.equal(err.retryAfterSeconds, 10, 'the Retry-After header');
    assert.deepEqual(err.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: 'TooManyRequests',
      details: {
        causes: [
          { reason: 'DisruptionBudget', message: 'The disruption budget web is still being processed by the server.' },
        ],
        retryAfterSeconds: 10,
      },
      code: 429,
    });
    await rt.idle();
    assert.equal(pdb('web').status?.['observedGeneration'], 2);
    assert.equal(pdb('web').status?.['disruptionsAllowed'], 2);
    assert.deepEqual(evict('web-7c9f-0'), SUCCESS);
  });

  it('answers 429 without Retry-After when no disruption is allowed', async () => {
    web(2);
    createPdb('web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } });
    stopController = startDisruptionController(rt);
    await rt.idle();
    const err = refusal(() => evict('web-7c9f-0'));
    assert.equal(err.code, 429);
    assert.equal(err.retryAfterSeconds, undefined);
    assert.deepEqual(err.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: 'TooManyRequests',
      details: {
        causes: [
          { reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' },
        ],
      },
      code: 429,
    });
    assert.equal(pod('web-7c9f-0')?.metadata.deletionTimestamp, undefined);
  });

  it('takes one disruption, records the pod in disruptedPods, then deletes it gracefully', async () => {
    web(3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    stopController = startDisruptionController(rt);
    await rt.idle();
    const before = pdb('web').status;
    assert.equal(before?.['disruptionsAllowed'], 1);

    assert.deepEqual(evict('web-7c9f-1', { gracePeriodSeconds: 5 }), SUCCESS);
    const after = pdb('web').status;
    assert.deepEqual(after, {
      observedGeneration: 1,
      disruptedPods: { 'web-7c9f-1': rfc3339(clock.now()) },
      disruptionsAllowed: 0,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: 'False',
          observedGeneration: 1,
          lastTransitionTime: rfc3339(clock.now()),
          reason: 'InsufficientPods',
          message: '',
        },
      ],
    });
    assertEvicted('web-7c9f-1', 5);

    // The next eviction finds no budget left.
    const err = refusal(() => evict('web-7c9f-2'));
    assert.equal(err.code, 429);
    assert.match(err.toStatus().details?.causes?.[0]?.message ?? '', /needs 2 healthy pods and has 3 currently/);

    // The controller sees the pod terminating, drops it from disruptedPods and counts it out.
    await rt.idle();
    const synced = pdb('web').status;
    assert.equal(synced?.['disruptedPods'], undefined);
    assert.equal(synced?.['currentHealthy'], 2);
    assert.equal(synced?.['disruptionsAllowed'], 0);
  });

  it('changes nothing on a dry run', async () => {
    web(3);
    createPdb('web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } });
    stopController = startDisruptionController(rt);
    await rt.idle();
    const pdbBefore = pdb('web');
    const podBefore = pod('web-7c9f-0');
    assert.deepEqual(evict('web-7c9f-0', { dryRun: ['All'] }), SUCCESS);
    assert.deepEqual(evictPod(rt, NS, 'web-7c9f-0', eviction('web-7c9f-0'), { dryRun: true }), SUCCESS);
    assert.equal(pdb('web'), pdbBefore);
    assert.equal(pod('web-7c9f-0'), podBefore);
  });

  it('honours preconditions: a wrong uid is a 409 Conflict and nothing is deleted', () => {
    web(1);
    const err = refusal(() => evict('web-7c9f-0', { preconditions: { uid: 'not-the-uid' } }));
    assert.equal(err.code, 409);
    assert.equal(err.reason, 'Conflict');
    assert.match(
      err.message,
      /^Operation cannot be fulfilled on Pod "web-7c9f-0": the UID in the precondition \(not-the-uid\) does not match/,
    );
    assert.equal(pod('web-7c9f-0')?.metadata.deletionTimestamp, undefined);
    assert.equal(condition(pod('web-7c9f-0'), 'DisruptionTarget'), undefined);

    const rv = pod('web-7c9f-0')?.metadata.resourceVersion;
    assert.deepEqual(evict('web-7c9f-0', { preconditions: { resourceVersion: rv } }), SUCCESS);
    assertEvicted('web-7c9f-0');
  });

  it('refuses with 403 a PDB whose disruptionsAllowed is negative', () => {
    web(2);
    createPdb('web', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
    setPdbStatus('web', {
      observedGeneration: 1,
      disruptionsAllowed: -1,
      currentHealthy: 2,
      desiredHealthy: 1,
      expectedPods: 2,
    });
    const err = refusal(() => evict('web-7c9f-0'));
    assert.equal(err.code, 403);
    assert.equal(err.message, 'poddisruptionbudget.policy "web" is forbidden: pdb disruptions allowed is negative');
  });

  it('answers as a denying admission webhook for pods of a workload under the evictionRefused fault', () => {
    web(2);
    rt.faults.evictionRefused.push({ namespace: NS, name: 'web' });
    const err = refusal(() => evict('web-7c9f-0'));
    assert.equal(err.code, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(
      err.message,
      `admission webhook "${EVICTION_REFUSAL_WEBHOOK}" denied the request: kube-sim fault evictionRefused: evictions of the pods of Deployment shop/web are refused`,
    );
    assert.equal(pod('web-7c9f-0')?.metadata.deletionTimestamp, undefined);
    // Other workloads are not affected.
    createPod(rt, NS, 'bare', { labels: { app: 'bare' } });
    assert.deepEqual(evict('bare'), SUCCESS);
  });
});
