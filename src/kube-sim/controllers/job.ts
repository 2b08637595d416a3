/**
 * The Job controller of kube-controller-manager (`pkg/controller/job`), for NonIndexed Jobs: it keeps
 * `min(parallelism, completions - succeeded)` pods running (`parallelism` until the first success when `completions`
 * is unset), counts the pods that finish through the `batch.kubernetes.io/job-tracking` finalizer (counted, then
 * released), waits out the pod-failure back-off (10 s doubling, at most 6 minutes) before replacing a failed pod,
 * and ends the Job: Complete once enough pods succeeded, Failed when more than `backoffLimit` failed
 * (BackoffLimitExceeded) or it ran past `activeDeadlineSeconds` (DeadlineExceeded), deleting what still runs. From
 * 1.31 the terminal condition follows SuccessCriteriaMet / FailureTarget once no pod of the Job is left running, as
 * upstream does. `suspend` deletes the active pods and sets Suspended. Status: active, ready, terminating (1.29+),
 * succeeded, failed, startTime, completionTime, uncountedTerminatedPods, conditions.
 *
 * The pods it creates carry the Job's labels (`batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name`
 * and the legacy `controller-uid`, `job-name`) and a controller reference, so the garbage collector removes them with
 * the Job. It reads only what it needs of the spec and does not depend on the API server's defaults.
 */
import type { KubeObject } from '../model/wire.ts';
import { controllerOf, isRecord } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { rfc3339 } from '../api/registry.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';
import {
  createPod,
  delayedRequeue,
  deletePod,
  isGone,
  isPodReady,
  isPodTerminal,
  keyOf,
  ownedPods,
  podFromTemplate,
  rec,
  splitKey,
} from './replicaset.ts';
import type { Requeue } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

/** The finalizer through which the controller counts a finished pod before it may go. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

/** `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`, ms. */
const POD_FAILURE_BACKOFF_MS = 10_000;
const MAX_POD_FAILURE_BACKOFF_MS = 360_000;

type JobCondition = { type: string; status: string; reason?: string; message?: string };

/** Starts the Job controller; returns its stop function. */
export function startJobController(runtime: SimRuntime): () => void {
  const controller = new JobController(runtime);
  controller.start();
  return () => controller.stop();
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function conditionsOf(job: KubeObject): (JobCondition & Record<string, unknown>)[] {
  const raw = rec(job.status)['conditions'];
  return Array.isArray(raw)
    ? (raw as unknown[]).filter(
        (c): c is JobCondition & Record<string, unknown> => isRecord(c) && typeof c['type'] === 'string',
      )
    : [];
}

function hasCondition(job: KubeObject, type: string): boolean {
  return conditionsOf(job).some((c) => c.type === type && c.status === 'True');
}

/** Finished: Complete or Failed. */
export function jobFinished(job: KubeObject): boolean {
  return hasCondition(job, 'Complete') || hasCondition(job, 'Failed');
}

/** The lowest minor the API servers run (the Job API's behaviour follows it); 33 when none says. */
function servedMinor(runtime: SimRuntime): number {
  let minor: number | undefined;
  for (const m of runtime.machines.values()) {
    const v = m.components?.['kube-apiserver'];
    if (!v) continue;
    const n = Number(v.replace(/^v/, '').split('.')[1]);
    if (Number.isFinite(n) && (minor === undefined || n < minor)) minor = n;
  }
  return minor ?? 33;
}

/** What the controller remembers between syncs: pods counted (their finalizer may not be released yet), pods it deleted. */
interface JobMemory {
  counted: Set<string>;
  deletedByUs: Set<string>;
  /** When the last pod failure was seen, ms (the replacement waits out the back-off from it). */
  lastFailureAt?: number;
}

class JobController {
  private readonly store: ObjectStore;
  private readonly jobDef = kindDef('Job');
  private readonly podDef = kindDef('Pod');
  private readonly queue: WorkQueue;
  private readonly orphans: WorkQueue;
  private readonly requeue: Requeue;
  private readonly memory = new Map<string, JobMemory>();
  private stopWatching: () => void = () => undefined;

  constructor(private readonly runtime: SimRuntime) {
    this.store = runtime.store;
    this.queue = new WorkQueue(runtime, (key) => this.sync(key), { name: 'job' });
    this.orphans = new WorkQueue(runtime, (key) => this.releaseOrphan(key), { name: 'job-orphans' });
    this.requeue = delayedRequeue(runtime, this.queue);
  }

  start(): void {
    this.stopWatching = this.store.subscribe((event) => this.onEvent(event));
    for (const job of this.store.all('batch/jobs')) this.queue.add(keyOf(job));
  }

  stop(): void {
    this.stopWatching();
  }

  private onEvent(event: StoreEvent): void {
    if (event.storage === 'batch/jobs') {
      if (event.type === 'DELETED') this.memory.delete(event.object.metadata.uid);
      else if (
        event.type !== 'MODIFIED' ||
        event.previous?.spec !== event.object.spec ||
        event.previous?.metadata.deletionTimestamp !== event.object.metadata.deletionTimestamp
      )
        this.queue.add(keyOf(event.object));
      return;
    }
    if (event.storage !== 'core/pods') return;
    const pod = event.object;
    const ref = controllerOf(pod);
    if (ref?.kind !== 'Job') return;
    const jobKey = `${pod.metadata.namespace ?? ''}/${ref.name}`;
    if (event.type === 'DELETED') {
      // A finishing Job waits for its last pod to go before its terminal condition.
      this.queue.add(jobKey);
      return;
    }
    const before = event.previous;
    if (
      event.type === 'MODIFIED' &&
      before &&
      rec(before.status)['phase'] === rec(pod.status)['phase'] &&
      isPodReady(before) === isPodReady(pod) &&
      before.metadata.deletionTimestamp === pod.metadata.deletionTimestamp &&
      before.metadata.finalizers === pod.metadata.finalizers
    )
      return;
    this.queue.add(jobKey);
    if (pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) this.orphans.add(keyOf(pod));
  }

  /** A pod whose Job is gone keeps nothing to count: its tracking finalizer is released. */
  private releaseOrphan(key: string): void {
    const [namespace, name] = splitKey(key);
    const pod = this.store.get('core/pods', namespace, name);
    if (!pod?.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) return;
    const ref = controllerOf(pod);
    const job = ref ? this.store.get('batch/jobs', namespace, ref.name) : undefined;
    if (job && job.metadata.uid === ref?.uid && !job.metadata.deletionTimestamp) return;
    this.releaseFinalizer(pod);
  }

  private releaseFinalizer(pod: KubeObject): void {
    try {
      this.runtime.registry.update(this.podDef, pod.metadata.namespace, pod.metadata.name, {
        ...pod,
        metadata: {
          ...pod.metadata,
          finalizers: (pod.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER),
        },
      });
    } catch (err) {
      if (!isGone(err) && !(err instanceof Error && /conflict|modified/i.test(err.message))) throw err;
      this.orphans.add(keyOf(pod));
    }
  }

  private memoryOf(job: KubeObject): JobMemory {
    let m = this.memory.get(job.metadata.uid);
    if (!m) this.memory.set(job.metadata.uid, (m = { counted: new Set(), deletedByUs: new Set() }));
    return m;
  }

  private sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const job = this.store.get('batch/jobs', namespace, name);
    if (!job) return;
    const pods = ownedPods(this.store, job);
    const memory = this.memoryOf(job);
    const now = this.runtime.now();
    const spec = rec(job.spec);
    const status = rec(job.status);
    const minor = servedMinor(this.runtime);
    const finished = jobFinished(job);

    // Count what finished: terminal pods still holding the finalizer, and pods deleted before they finished.
    let succeeded = int(status['succeeded']) ?? 0;
    let failed = int(status['failed']) ?? 0;
    const release: KubeObject[] = [];
    for (const pod of pods) {
      if (!pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) continue;
      const phase = rec(pod.status)['phase'];
      const terminal = isPodTerminal(pod);
      if (!terminal && !pod.metadata.deletionTimestamp) continue;
      if (!memory.counted.has(pod.metadata.uid) && !memory.deletedByUs.has(pod.metadata.uid)) {
        if (phase === 'Succeeded') succeeded += 1;
        else {
          failed += 1;
          memory.lastFailureAt = now;
        }
        memory.counted.add(pod.metadata.uid);
      }
      // A pod being deleted keeps its finalizer until the kubelet is done with it (it is terminal or gone).
      if (terminal || finished || !pod.spec?.['nodeName']) release.push(pod);
      else if (memory.deletedByUs.has(pod.metadata.uid) || memory.counted.has(pod.metadata.uid)) release.push(pod);
    }
    const active = pods.filter((p) => !isPodTerminal(p) && !p.metadata.deletionTimestamp);
    const terminating = pods.filter((p) => !isPodTerminal(p) && p.metadata.deletionTimestamp).length;

    const conditions = conditionsOf(job).map((c) => ({ ...c }));
    const set = (type: string, reason: string | undefined, message: string | undefined): void => {
      if (conditions.some((c) => c.type === type && c.status === 'True')) return;
      const next = {
        type,
        status: 'True',
        lastProbeTime: rfc3339(now),
        lastTransitionTime: rfc3339(now),
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
      };
      const at = conditions.findIndex((c) => c.type === type);
      if (at >= 0) conditions[at] = next;
      else conditions.push(next);
    };
    const next: Record<string, unknown> = { ...status };
    let toDelete: KubeObject[] = [];
    let toCreate = 0;

    if (!finished) {
      const completions = int(spec['completions']);
      const parallelism = int(spec['parallelism']) ?? 1;
      const backoffLimit = int(spec['backoffLimit']) ?? 6;
      const deadlineSeconds = int(spec['activeDeadlineSeconds']);
      const suspended = spec['suspend'] === true;
      const startTime = typeof status['startTime'] === 'string' ? Date.parse(status['startTime']) : undefined;
      if (!suspended && startTime === undefined) next['startTime'] = rfc3339(now);
      const started = startTime ?? now;

      let failure: { reason: string; message: string } | undefined;
      if (failed > backoffLimit)
        failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
      else if (!suspended && deadlineSeconds !== undefined && now >= started + deadlineSeconds * 1000)
        failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
      const complete = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;

      if (failure || hasCondition(job, 'FailureTarget')) {
        const f = failure ??
          conditionsOf(job).find((c) => c.type === 'FailureTarget') ?? { reason: 'BackoffLimitExceeded', message: '' };
        toDelete = active;
        if (minor >= 31) set('FailureTarget', f.reason, f.message);
        if (minor < 31 || active.length + terminating === 0) {
          set('Failed', f.reason, f.message);
          this.runtime.recordEvent(job, 'Warning', f.reason ?? 'Failed', f.message ?? '', 'job-controller');
        }
      } else if (complete || hasCondition(job, 'SuccessCriteriaMet')) {
        toDelete = active;
        if (minor >= 31) set('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
        if (minor < 31 || active.length + terminating === 0) {
          set(
            'Complete',
            minor >= 31 ? 'CompletionsReached' : undefined,
            minor >= 31 ? 'Reached expected number of succeeded pods' : undefined,
          );
          next['completionTime'] = rfc3339(now);
          this.runtime.recordEvent(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
        }
      } else if (suspended) {
        toDelete = active;
        set('Suspended', 'JobSuspended', 'Job suspended');
      } else {
        const resumed = conditions.findIndex((c) => c.type === 'Suspended' && c.status === 'True');
        if (resumed >= 0)
          conditions[resumed] = {
            ...conditions[resumed],
            type: 'Suspended',
            status: 'False',
            reason: 'JobResumed',
            message: 'Job resumed',
            lastTransitionTime: rfc3339(now),
          };
        const wanted =
          completions === undefined
            ? succeeded > 0
              ? 0
              : parallelism
            : Math.max(0, Math.min(parallelism, completions - succeeded));
        if (active.length > wanted) toDelete = active.slice(wanted);
        else if (active.length < wanted) {
          // After failures, new pods wait out the back-off (counted from the last failure).
          const backoff =
            failed === 0 ? 0 : Math.min(MAX_POD_FAILURE_BACKOFF_MS, POD_FAILURE_BACKOFF_MS * 2 ** (failed - 1));
          const due = (memory.lastFailureAt ?? 0) + backoff;
          if (now >= due) toCreate = wanted - active.length;
          else this.requeue(key, due - now);
        }
        if (deadlineSeconds !== undefined) this.requeue(key, Math.max(1, started + deadlineSeconds * 1000 - now));
      }
    }

    for (const pod of toDelete) {
      memory.deletedByUs.add(pod.metadata.uid);
      deletePod(this.runtime, pod);
    }
    const created: string[] = [];
    const template = rec(spec['template']);
    for (let i = 0; i < toCreate; i++) {
      const jobLabels = {
        'batch.kubernetes.io/controller-uid': job.metadata.uid,
        'batch.kubernetes.io/job-name': job.metadata.name,
        'controller-uid': job.metadata.uid,
        'job-name': job.metadata.name,
      };
      const input = podFromTemplate(job, template, { generateName: `${job.metadata.name}-`, labels: jobLabels });
      const pod = createPod(this.runtime, {
        ...input,
        metadata: { ...input.metadata, finalizers: [...(input.metadata?.finalizers ?? []), JOB_TRACKING_FINALIZER] },
      });
      created.push(pod.metadata.name);
      this.runtime.recordEvent(
        job,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${pod.metadata.name}`,
        'job-controller',
      );
    }

    const activeNow = active.length - toDelete.filter((p) => active.includes(p)).length + created.length;
    Object.assign(next, {
      active: activeNow,
      ready: active.filter((p) => !toDelete.includes(p) && isPodReady(p)).length,
      succeeded,
      failed,
      uncountedTerminatedPods: {},
      ...(minor >= 29 ? { terminating: terminating + toDelete.length } : {}),
      ...(conditions.length > 0 ? { conditions } : {}),
    });
    for (const field of ['active', 'succeeded', 'failed'] as const) if (next[field] === 0) delete next[field];
    if (JSON.stringify(next) !== JSON.stringify(status)) {
      try {
        this.runtime.registry.update(this.jobDef, namespace, name, { ...job, status: next }, { subresource: 'status' });
      } catch (err) {
        if (isGone(err)) return;
        throw err;
      }
    }
    // Counted: the finished pods may go now.
    for (const pod of release) this.releaseFinalizer(pod);
  }
}
