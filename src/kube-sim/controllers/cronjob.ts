/**
 * The CronJob controller (`pkg/controller/cronjob`, v2) on the runtime's clock: at each scheduled time (UTC, see
 * cron-schedule.ts) it creates a Job `<name>-<minutes since the epoch>` from `jobTemplate`, owned by the CronJob and
 * annotated with `batch.kubernetes.io/cronjob-scheduled-timestamp`; a time missed by more than
 * `startingDeadlineSeconds` is skipped (MissSchedule); `concurrencyPolicy` Forbid skips a time while a Job runs,
 * Replace deletes the running ones first; `suspend` creates nothing. Status: `active` (references to the running
 * Jobs), `lastScheduleTime`, `lastSuccessfulTime`. Finished Jobs beyond `successfulJobsHistoryLimit` (3) and
 * `failedJobsHistoryLimit` (1) are deleted, oldest first, their pods with them.
 */
import type { KubeObject } from '../model/wire.ts';
import { controllerOf } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { rfc3339 } from '../api/registry.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';
import { mostRecentScheduleTime, nextScheduleTime, parseCronSchedule } from './cron-schedule.ts';
import { jobFinished } from './job.ts';
import { controllerRefTo, delayedRequeue, isGone, keyOf, ownedBy, rec, splitKey } from './replicaset.ts';
import type { Requeue } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

/** Starts the CronJob controller; returns its stop function. */
export function startCronJobController(runtime: SimRuntime): () => void {
  const controller = new CronJobController(runtime);
  controller.start();
  return () => controller.stop();
}

function condition(job: KubeObject, type: string): boolean {
  const raw = rec(job.status)['conditions'];
  return (
    Array.isArray(raw) && (raw as Record<string, unknown>[]).some((c) => c['type'] === type && c['status'] === 'True')
  );
}

class CronJobController {
  private readonly store: ObjectStore;
  private readonly cronDef = kindDef('CronJob');
  private readonly jobDef = kindDef('Job');
  private readonly queue: WorkQueue;
  private readonly requeue: Requeue;
  private stopWatching: () => void = () => undefined;

  constructor(private readonly runtime: SimRuntime) {
    this.store = runtime.store;
    this.queue = new WorkQueue(runtime, (key) => this.sync(key), { name: 'cronjob' });
    this.requeue = delayedRequeue(runtime, this.queue);
  }

  start(): void {
    this.stopWatching = this.store.subscribe((event) => this.onEvent(event));
    for (const cj of this.store.all('batch/cronjobs')) this.queue.add(keyOf(cj));
  }

  stop(): void {
    this.stopWatching();
  }

  private onEvent(event: StoreEvent): void {
    if (event.storage === 'batch/cronjobs') {
      if (event.type !== 'DELETED' && (event.type === 'ADDED' || event.previous?.spec !== event.object.spec))
        this.queue.add(keyOf(event.object));
      return;
    }
    if (event.storage !== 'batch/jobs') return;
    const ref = controllerOf(event.object);
    if (ref?.kind !== 'CronJob') return;
    if (event.type === 'MODIFIED' && event.previous && jobFinished(event.previous) === jobFinished(event.object))
      return;
    this.queue.add(`${event.object.metadata.namespace ?? ''}/${ref.name}`);
  }

  private sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const cj = this.store.get('batch/cronjobs', namespace, name);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const spec = rec(cj.spec);
    const status = rec(cj.status);
    const now = this.runtime.now();
    let jobs = ownedBy(this.store, 'batch/jobs', cj).filter((j) => !j.metadata.deletionTimestamp);
    let schedule;
    try {
      schedule = parseCronSchedule(typeof spec['schedule'] === 'string' ? spec['schedule'] : '');
    } catch (err) {
      this.runtime.recordEvent(
        cj,
        'Warning',
        'UnparseableSchedule',
        `unparseable schedule: ${(err as Error).message}`,
        'cronjob-controller',
      );
      return;
    }
    const next: Record<string, unknown> = { ...status };
    const lastSchedule =
      typeof status['lastScheduleTime'] === 'string'
        ? Date.parse(status['lastScheduleTime'])
        : Date.parse(cj.metadata.creationTimestamp ?? '') || now;

    if (spec['suspend'] !== true) {
      const { time, missed } = mostRecentScheduleTime(schedule, lastSchedule, now);
      if (missed > 100)
        this.runtime.recordEvent(
          cj,
          'Warning',
          'TooManyMissedTimes',
          `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
          'cronjob-controller',
        );
      const deadline =
        typeof spec['startingDeadlineSeconds'] === 'number' ? spec['startingDeadlineSeconds'] : undefined;
      const active = jobs.filter((j) => !jobFinished(j));
      const policy = spec['concurrencyPolicy'] ?? 'Allow';
      if (time !== undefined) {
        if (deadline !== undefined && now > time + deadline * 1000) {
          this.runtime.recordEvent(
            cj,
            'Warning',
            'MissSchedule',
            `Missed scheduled time to start a job: ${rfc3339(time)}`,
            'cronjob-controller',
          );
        } else if (policy === 'Forbid' && active.length > 0) {
          // Tried again when the running Job ends (its event) or the deadline passes.
        } else {
          if (policy === 'Replace')
            for (const j of active) {
              this.deleteJob(j);
              jobs = jobs.filter((x) => x !== j);
            }
          let created: KubeObject | undefined;
          try {
            created = this.createJob(cj, time);
          } catch (err) {
            // A template the API refuses (a legacy CronJob without a jobTemplate): said once per time, as upstream.
            this.runtime.recordEvent(
              cj,
              'Warning',
              'FailedCreate',
              `Error creating job: ${(err as Error).message}`,
              'cronjob-controller',
            );
          }
          if (created) jobs.push(created);
          next['lastScheduleTime'] = rfc3339(time);
        }
      }
      const after = nextScheduleTime(schedule, now);
      if (after !== undefined) this.requeue(key, Math.max(1, after - now));
    }

    const running = jobs.filter((j) => !jobFinished(j));
    next['active'] = running.map((j) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      name: j.metadata.name,
      namespace,
      uid: j.metadata.uid,
      resourceVersion: j.metadata.resourceVersion,
    }));
    if ((next['active'] as unknown[]).length === 0) delete next['active'];
    const succeeded = jobs.filter((j) => condition(j, 'Complete'));
    const lastSuccess = succeeded
      .map((j) => (typeof rec(j.status)['completionTime'] === 'string' ? String(rec(j.status)['completionTime']) : ''))
      .sort()
      .at(-1);
    if (lastSuccess) next['lastSuccessfulTime'] = lastSuccess;
    this.trimHistory(
      jobs.filter((j) => condition(j, 'Complete')),
      typeof spec['successfulJobsHistoryLimit'] === 'number' ? spec['successfulJobsHistoryLimit'] : 3,
    );
    this.trimHistory(
      jobs.filter((j) => condition(j, 'Failed')),
      typeof spec['failedJobsHistoryLimit'] === 'number' ? spec['failedJobsHistoryLimit'] : 1,
    );
    if (JSON.stringify(next) !== JSON.stringify(status)) {
      try {
        this.runtime.registry.update(this.cronDef, namespace, name, { ...cj, status: next }, { subresource: 'status' });
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
  }

  private createJob(cj: KubeObject, time: number): KubeObject | undefined {
    const template = rec(rec(cj.spec)['jobTemplate']);
    const meta = rec(template['metadata']);
    const name = `${cj.metadata.name}-${Math.floor(time / 60_000)}`;
    if (this.store.get('batch/jobs', cj.metadata.namespace, name)) return undefined;
    const job = this.runtime.registry.create(this.jobDef, cj.metadata.namespace, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: { ...(rec(meta['labels']) as Record<string, string>) },
        annotations: {
          ...(rec(meta['annotations']) as Record<string, string>),
          'batch.kubernetes.io/cronjob-scheduled-timestamp': rfc3339(time),
        },
        ownerReferences: [controllerRefTo(cj)],
      },
      spec: rec(template['spec']),
    });
    this.runtime.recordEvent(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`, 'cronjob-controller');
    return job;
  }

  private deleteJob(job: KubeObject): void {
    try {
      this.runtime.registry.delete(this.jobDef, job.metadata.namespace, job.metadata.name, {
        propagationPolicy: 'Background',
      });
      this.runtime.recordEvent(
        job,
        'Normal',
        'SuccessfulDelete',
        `Deleted job ${job.metadata.name}`,
        'cronjob-controller',
      );
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  /** Deletes the oldest finished Jobs beyond `limit`. */
  private trimHistory(finished: KubeObject[], limit: number): void {
    const oldestFirst = [...finished].sort(
      (a, b) =>
        String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
    for (const job of oldestFirst.slice(0, Math.max(0, oldestFirst.length - limit))) this.deleteJob(job);
  }
}
