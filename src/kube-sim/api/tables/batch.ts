/** batch/v1: upstream printJob and printCronJob. */
import { AGE_COLUMN, column, CONTAINERS_COLUMN, DOCS, IMAGES_COLUMN, NAME_COLUMN } from './columns.ts';
import { isDeleting, list, nameOf, obj, objs, optInt, optStr, int } from './fields.ts';
import { formatLabelSelector, layoutContainerCells } from './labels.ts';
import { ageSince, humanDuration, parseTime } from './time.ts';
import type { Printer, WireObject } from './types.ts';

/** Jobs: NAME STATUS COMPLETIONS DURATION AGE, and wide CONTAINERS IMAGES SELECTOR. */
export const jobPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Status', 'string', 'Status of the job.'),
    column('Completions', 'string', DOCS.job.succeeded),
    column('Duration', 'string', 'Time required to complete the job.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'string', DOCS.job.selector, { priority: 1 }),
  ],
  printRow(job, { now }) {
    const spec = obj(job.spec);
    const [names, images] = layoutContainerCells(obj(obj(spec.template).spec));
    return {
      cells: [
        nameOf(job),
        jobStatus(job),
        jobCompletions(job),
        jobDuration(job, now),
        ageSince(obj(job.metadata).creationTimestamp, now),
        names,
        images,
        formatLabelSelector(spec.selector),
      ],
    };
  },
};

/** hasJobCondition: the first condition of the type decides. */
function hasJobCondition(job: WireObject, type: string): boolean {
  const condition = objs(obj(job.status).conditions).find((c) => c.type === type);
  return condition?.status === 'True';
}

function jobStatus(job: WireObject): string {
  if (hasJobCondition(job, 'Complete')) return 'Complete';
  if (hasJobCondition(job, 'Failed')) return 'Failed';
  if (isDeleting(job)) return 'Terminating';
  if (hasJobCondition(job, 'Suspended')) return 'Suspended';
  if (hasJobCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function jobCompletions(job: WireObject): string {
  const spec = obj(job.spec);
  const succeeded = int(obj(job.status).succeeded);
  const completions = optInt(spec.completions);
  if (completions !== undefined) return `${succeeded}/${completions}`;
  const parallelism = optInt(spec.parallelism) ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(job: WireObject, now: number): string {
  const status = obj(job.status);
  const start = parseTime(status.startTime);
  if (start === undefined) return '';
  const completion = parseTime(status.completionTime);
  return humanDuration((completion ?? now) - start);
}

/** CronJobs: NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE, and wide CONTAINERS IMAGES SELECTOR. */
export const cronJobPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Schedule', 'string', DOCS.cronJob.schedule),
    column('Timezone', 'string', DOCS.cronJob.timeZone),
    column('Suspend', 'boolean', DOCS.cronJob.suspend),
    column('Active', 'integer', DOCS.cronJob.active),
    column('Last Schedule', 'string', DOCS.cronJob.lastScheduleTime),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'string', DOCS.job.selector, { priority: 1 }),
  ],
  printRow(cronJob, { now }) {
    const spec = obj(cronJob.spec);
    const status = obj(cronJob.status);
    const jobSpec = obj(obj(spec.jobTemplate).spec);
    const [names, images] = layoutContainerCells(obj(obj(jobSpec.template).spec));
    const lastSchedule = parseTime(status.lastScheduleTime);
    return {
      cells: [
        nameOf(cronJob),
        optStr(spec.schedule) ?? '',
        optStr(spec.timeZone) ?? '<none>',
        // printBoolPtr: a string cell in a boolean column, as upstream. suspend defaults to false when stored.
        spec.suspend === true ? 'True' : 'False',
        list(status.active).length,
        lastSchedule === undefined ? '<none>' : ageSince(status.lastScheduleTime, now),
        ageSince(obj(cronJob.metadata).creationTimestamp, now),
        names,
        images,
        formatLabelSelector(jobSpec.selector),
      ],
    };
  },
};
