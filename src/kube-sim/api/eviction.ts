/**
 * The Eviction subresource, `POST /api/v1/namespaces/<ns>/pods/<name>/eviction`, as kube-apiserver's
 * `pkg/registry/core/pod/storage/eviction.go` answers it: pods that cannot disrupt anything any more (finished,
 * pending, already terminating) are deleted at once; otherwise the one PodDisruptionBudget selecting the pod must
 * allow a disruption, which the eviction consumes (disruptionsAllowed - 1, the pod recorded in disruptedPods) before
 * the pod is marked DisruptionTarget and deleted gracefully. The PDB's status is the disruption controller's
 * (`controllers/disruption.ts`); this handler only reads it and writes its decrement, as upstream does.
 */
import {
  isPodReady,
  pdbSelector,
  pdbStatusJson,
  pdbStatusOf,
  withDisruptionAllowedCondition,
} from '../controllers/disruption.ts';
import { podWorkload } from '../controllers/availability.ts';
import { matchesLabels } from '../../k8s/label-selector.ts';
import { rfc3339 } from './registry.ts';
import type { DeleteOptions } from './registry.ts';
import { StatusError, badRequest, notFound, successStatus } from './status.ts';
import type { StatusBody } from './status.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';

/**
 * More entries than this in a PDB's disruptedPods and the eviction is refused (403): evictions were admitted that the
 * disruption controller has not seen through yet (upstream `MaxDisruptedPodSize`).
 */
export const MAX_DISRUPTED_POD_SIZE = 2000;

/** The validating webhook kube-sim pretends refuses evictions under the `evictionRefused` fault. */
export const EVICTION_REFUSAL_WEBHOOK = 'eviction-guard.kube-sim.kup.dev';

/** The message of every refusal for a broken budget (HTTP 429). */
export const PDB_VIOLATION_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

/** The message of the 500 for a pod selected by several PDBs. */
export const MULTIPLE_PDBS_MESSAGE =
  'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';

/** Options the request carries outside the body. */
export interface EvictOptions {
  /** `?dryRun=All` on the POST: merged into deleteOptions.dryRun, as upstream `propagateDryRun` does. */
  dryRun?: boolean;
}

/** The reply of an eviction that was answered with an object rather than an error. */
export interface EvictionReply {
  code: number;
  body: StatusBody | FailureStatusBody;
}

/** A `kind: Status` failure returned as a result, not as an error (no reason), as the >1-PDB answer is. */
export interface FailureStatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  code: number;
}

/** The DeleteOptions of an eviction, parsed. */
interface EvictionDeleteOptions extends DeleteOptions {
  dryRun: boolean;
}

const POD_STORAGE = 'core/pods';
const PDB_STORAGE = 'policy/poddisruptionbudgets';
const ACCEPTED_VERSIONS = new Set(['policy/v1', 'policy/v1beta1']);

/**
 * Handles an eviction request for pod `namespace/name` with the request body `body` (an Eviction, policy/v1 or
 * v1beta1). Returns the reply (201 Success, or the 500 of a pod with several PDBs); throws a StatusError for every
 * refusal (400, 403, 404, 409, 429 with `retryAfterSeconds` where the real server sends Retry-After).
 */
export function evictPod(
  runtime: SimRuntime,
  namespace: string,
  name: string,
  body: unknown,
  options: EvictOptions = {},
): EvictionReply {
  const deleteOptions = parseEviction(namespace, name, body, options);
  const { store } = runtime;

  const pod = store.get(POD_STORAGE, namespace, name);
  if (!pod) throw notFound('', 'pods', name);
  refuseIfFaulted(runtime, pod);

  if (canIgnorePdb(pod)) {
    // A finished or pending pod disrupts nothing any more; a terminating one is going anyway. Still guard against
    // deleting a pod that changed since we looked, unless it is finished or terminating.
    const opts =
      shouldEnforceResourceVersion(pod) && deleteOptions.preconditions?.resourceVersion === undefined
        ? withResourceVersion(deleteOptions, pod.metadata.resourceVersion)
        : deleteOptions;
    addConditionAndDelete(runtime, pod, opts);
    return { code: 201, body: successStatus(201) };
  }

  const pdbs = pdbsSelecting(runtime, pod);
  if (pdbs.length > 1) {
    return {
      code: 500,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: MULTIPLE_PDBS_MESSAGE,
        code: 500,
      },
    };
  }
  let guardedByReadiness = false;
  const pdb = pdbs[0];
  if (pdb) {
    const status = pdbStatusOf(pdb);
    let decide = true;
    if (!isPodReady(pod)) {
      // An unready pod does not count as healthy: deleting it takes nothing from the budget, when the policy says
      // so or the application is not disrupted now. Otherwise it is the budget's call.
      if (pdb.spec?.['unhealthyPodEvictionPolicy'] === 'AlwaysAllow') decide = false;
      else if (status.currentHealthy >= status.desiredHealthy && status.desiredHealthy > 0) decide = false;
      guardedByReadiness = !decide;
    }
    if (decide) checkAndDecrement(runtime, pod, pdb, deleteOptions.dryRun);
  }

  // The pod must still be the unready pod we judged: were it Ready now, deleting it would break the budget.
  const opts = guardedByReadiness ? withResourceVersion(deleteOptions, pod.metadata.resourceVersion) : deleteOptions;
  try {
    addConditionAndDelete(runtime, pod, opts);
  } catch (err) {
    if (
      err instanceof StatusError &&
      err.code === 409 &&
      guardedByReadiness &&
      deleteOptions.preconditions?.resourceVersion === undefined
    ) {
      throw stillProcessing(pdb?.metadata.name ?? '');
    }
    throw err;
  }
  return { code: 201, body: successStatus(201) };
}

/** Validates the request as the create handler and the start of `EvictionREST.Create` do; returns the delete options. */
function parseEviction(namespace: string, name: string, body: unknown, options: EvictOptions): EvictionDeleteOptions {
  if (!isRecord(body)) throw badRequest('not a Eviction object: the body is not a JSON object');
  const apiVersion = body['apiVersion'];
  if (
    apiVersion !== undefined &&
    apiVersion !== '' &&
    !(typeof apiVersion === 'string' && ACCEPTED_VERSIONS.has(apiVersion))
  ) {
    throw badRequest(
      `the API version in the data (${typeof apiVersion === 'string' ? apiVersion : JSON.stringify(apiVersion)}) does not match the expected API version (policy/v1)`,
    );
  }
  const kind = body['kind'];
  if (kind !== undefined && kind !== '' && kind !== 'Eviction') {
    throw badRequest(`not a Eviction object: ${typeof kind === 'string' ? kind : JSON.stringify(kind)}`);
  }
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  if (typeof meta['namespace'] === 'string' && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if ((typeof meta['name'] === 'string' ? meta['name'] : '') !== name) {
    throw badRequest('name in URL does not match name in Eviction object');
  }
  const raw = isRecord(body['deleteOptions']) ? body['deleteOptions'] : {};
  const out: EvictionDeleteOptions = { dryRun: options.dryRun === true };
  const grace = raw['gracePeriodSeconds'];
  if (grace !== undefined && grace !== null) {
    if (typeof grace !== 'number' || !Number.isInteger(grace))
      throw badRequest('gracePeriodSeconds: must be an integer');
    out.gracePeriodSeconds = grace;
  }
  const policy = raw['propagationPolicy'];
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Foreground' && policy !== 'Background' && policy !== 'Orphan') {
      throw badRequest(
        `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`,
      );
    }
    out.propagationPolicy = policy;
  }
  const pre = raw['preconditions'];
  if (isRecord(pre)) {
    out.preconditions = {
      ...(typeof pre['uid'] === 'string' ? { uid: pre['uid'] } : {}),
      ...(typeof pre['resourceVersion'] === 'string' ? { resourceVersion: pre['resourceVersion'] } : {}),
    };
  }
  const dryRun = raw['dryRun'];
  if (Array.isArray(dryRun) && dryRun.length > 0) {
    const bad: unknown = (dryRun as unknown[]).find((v) => v !== 'All');
    if (bad !== undefined)
      throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(bad)}: supported values: "All"`);
    out.dryRun = true;
  }
  return out;
}

/** The `evictionRefused` fault: answered as a validating admission webhook that denies the request would be. */
function refuseIfFaulted(runtime: SimRuntime, pod: KubeObject): void {
  if (runtime.faults.evictionRefused.length === 0) return;
  const workload = podWorkload(runtime, pod);
  const refused = runtime.faults.evictionRefused.some(
    (w) => w.namespace === workload.namespace && w.name === workload.name,
  );
  if (!refused) return;
  // apiserver `webhook/errors.ToStatusErr`: the webhook's code and reason (403 Forbidden, as controller-runtime's
  // admission.Denied answers), its message prefixed with who denied it.
  throw new StatusError(
    403,
    'Forbidden',
    `admission webhook "${EVICTION_REFUSAL_WEBHOOK}" denied the request: kube-sim fault evictionRefused: evictions of the pods of ${workload.kind} ${workload.namespace}/${workload.name} are refused`,
  );
}

/** Pods whose eviction needs no budget check (upstream `canIgnorePDB`). */
function canIgnorePdb(pod: KubeObject): boolean {
  const phase = pod.status?.['phase'];
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || Boolean(pod.metadata.deletionTimestamp);
}

/** Upstream `shouldEnforceResourceVersion`: not for finished or terminating pods. */
function shouldEnforceResourceVersion(pod: KubeObject): boolean {
  const phase = pod.status?.['phase'];
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata.deletionTimestamp);
}

function withResourceVersion(options: EvictionDeleteOptions, resourceVersion: string): EvictionDeleteOptions {
  return { ...options, preconditions: { ...options.preconditions, resourceVersion } };
}

/** The PDBs of the pod's namespace whose selector matches it (policy/v1: `{}` selects all, null nothing). */
function pdbsSelecting(runtime: SimRuntime, pod: KubeObject): KubeObject[] {
  const out: KubeObject[] = [];
  for (const pdb of runtime.store.list(PDB_STORAGE, { namespace: pod.metadata.namespace ?? '' }).items) {
    const selector = pdbSelector(pdb);
    // An invalid selector does not match the pod.
    if (selector instanceof Error || !matchesLabels(selector, pod.metadata.labels)) continue;
    out.push(pdb);
  }
  return out;
}

/** 429 for a budget whose status the controller has not caught up with; clients retry after 10 s. */
function stillProcessing(pdbName: string): StatusError {
  return new StatusError(
    429,
    'TooManyRequests',
    PDB_VIOLATION_MESSAGE,
    {
      causes: [
        {
          reason: 'DisruptionBudget',
          message: `The disruption budget ${pdbName} is still being processed by the server.`,
        },
      ],
      retryAfterSeconds: 10,
    },
    10,
  );
}

/** Upstream `checkAndDecrement`: refuse, or take one disruption from the budget and remember the pod. */
function checkAndDecrement(runtime: SimRuntime, pod: KubeObject, pdb: KubeObject, dryRun: boolean): void {
  const status = pdbStatusOf(pdb);
  const name = pdb.metadata.name;
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw stillProcessing(name);
  const forbidden = (reason: string) =>
    new StatusError(403, 'Forbidden', `poddisruptionbudget.policy "${name}" is forbidden: ${reason}`, {
      name,
      group: 'policy',
      kind: 'poddisruptionbudget',
    });
  if (status.disruptionsAllowed < 0) throw forbidden('pdb disruptions allowed is negative');
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) {
    throw forbidden('DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (status.disruptionsAllowed === 0) {
    // No Retry-After here: a client-go client would otherwise retry silently instead of reporting the refusal.
    throw new StatusError(429, 'TooManyRequests', PDB_VIOLATION_MESSAGE, {
      causes: [
        {
          reason: 'DisruptionBudget',
          message: `The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
        },
      ],
    });
  }
  if (dryRun) return;
  const now = runtime.now();
  let next = { ...status, disruptionsAllowed: status.disruptionsAllowed - 1 };
  if (next.disruptionsAllowed === 0) next = withDisruptionAllowedCondition(next, now);
  next.disruptedPods = { ...status.disruptedPods, [pod.metadata.name]: rfc3339(now) };
  runtime.registry.update(
    kindDef('PodDisruptionBudget'),
    pdb.metadata.namespace,
    name,
    { metadata: { resourceVersion: pdb.metadata.resourceVersion }, status: pdbStatusJson(next) },
    { subresource: 'status' },
  );
}

/**
 * Upstream `addConditionAndDeletePod`: unless dry run, check the preconditions against the pod as stored, add the
 * DisruptionTarget condition (status write), move a resourceVersion precondition on to the pod just written, then
 * delete with the eviction's options.
 */
function addConditionAndDelete(runtime: SimRuntime, pod: KubeObject, options: EvictionDeleteOptions): void {
  const podDef = kindDef('Pod');
  const { dryRun, ...deleteOptions } = options;
  if (!dryRun) {
    const pre = options.preconditions;
    const conflict = (detail: string) =>
      new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on Pod ${JSON.stringify(pod.metadata.name)}: ${detail}`,
        {
          name: pod.metadata.name,
          kind: 'Pod',
        },
      );
    if (pre?.uid && pre.uid !== pod.metadata.uid) {
      throw conflict(
        `the UID in the precondition (${pre.uid}) does not match the UID in record (${pod.metadata.uid}). The object might have been deleted and then recreated`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata.resourceVersion) {
      throw conflict(
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${pod.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    const updated = runtime.registry.update(
      podDef,
      pod.metadata.namespace,
      pod.metadata.name,
      { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: withDisruptionTarget(pod, runtime.now()) },
      { subresource: 'status' },
    );
    if (pre?.resourceVersion !== undefined) {
      deleteOptions.preconditions = { ...pre, resourceVersion: updated.metadata.resourceVersion };
    }
  }
  runtime.registry.delete(podDef, pod.metadata.namespace, pod.metadata.name, {
    ...deleteOptions,
    ...(dryRun ? { dryRun: true } : {}),
  });
}

/** The pod's status with DisruptionTarget=True (upstream `podutil.UpdatePodCondition`). */
function withDisruptionTarget(pod: KubeObject, now: number): Record<string, unknown> {
  const status = pod.status ?? {};
  const conditions: unknown[] = Array.isArray(status['conditions']) ? status['conditions'] : [];
  const next = {
    type: 'DisruptionTarget',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: rfc3339(now),
    reason: 'EvictionByEvictionAPI',
    message: 'Eviction API: evicting',
  };
  const at = conditions.findIndex((c) => isRecord(c) && c['type'] === 'DisruptionTarget');
  if (at < 0) return { ...status, conditions: [...conditions, next] };
  const old = conditions[at] as Record<string, unknown>;
  const kept = old['status'] === 'True' ? { ...next, lastTransitionTime: old['lastTransitionTime'] } : next;
  return { ...status, conditions: conditions.map((c, i) => (i === at ? kept : c)) };
}
