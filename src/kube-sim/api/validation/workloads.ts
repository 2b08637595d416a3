/**
 * Validation of the workload kinds (k8s.io/kubernetes `pkg/apis/apps/validation`, `batch/validation`,
 * `policy/validation`, `autoscaling/validation`): selectors against templates, replica counts, strategies, Job and
 * CronJob specs, disruption budgets and autoscalers.
 */
import type { KubeObject } from '../../model/wire.ts';
import { isRecord } from '../../model/wire.ts';
import type { StatusCause } from '../status.ts';
import { pvcSpecCauses } from './core.ts';
import { enumCause, forbidden, invalidValue, minimumCause, notSupported, required } from './field-errors.ts';
import { labelCauses } from './names.ts';
import { podSpecCauses } from './pod-spec.ts';
import { isEmptySelector, labelSelectorCauses, selectorMatchesTemplateCauses } from './selector.ts';

const PERCENT = /^[0-9]+%$/;
const PERCENT_SYNTAX =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

type Spec = Record<string, unknown>;

function specOf(obj: KubeObject): Spec {
  return obj.spec ?? {};
}

/** Selector present, valid, non-empty, and matching the template; the template's pod spec valid. */
function selectorAndTemplateCauses(kind: string, spec: Spec, restartPolicies: readonly string[]): StatusCause[] {
  const causes: StatusCause[] = [];
  const selector = spec['selector'];
  if (!isRecord(selector)) causes.push(required('spec.selector'));
  else {
    causes.push(...labelSelectorCauses(selector, 'spec.selector'));
    if (isEmptySelector(selector))
      causes.push(invalidValue('spec.selector', selector, `empty selector is invalid for ${kind.toLowerCase()}`));
  }
  const template = spec['template'];
  if (!isRecord(template)) return [...causes, required('spec.template')];
  const labels = isRecord(template['metadata']) ? template['metadata']['labels'] : undefined;
  causes.push(...labelCauses('spec.template.metadata.labels', labels));
  causes.push(...selectorMatchesTemplateCauses(selector, labels, 'spec.template.metadata.labels'));
  causes.push(...podSpecCauses(template['spec'], { path: 'spec.template.spec', restartPolicies }));
  return causes;
}

/** An int-or-percent (`maxUnavailable: 1`, `"25%"`): non-negative, percentages at most 100%. */
export function intOrPercentCauses(field: string, value: unknown): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return minimumCause(field, value, 0);
  if (typeof value !== 'string' || !PERCENT.test(value)) return [invalidValue(field, value, PERCENT_SYNTAX)];
  return Number.parseInt(value, 10) > 100 ? [invalidValue(field, value, 'must not be greater than 100%')] : [];
}

function isZero(value: unknown): boolean {
  return value === 0 || value === '0%';
}

/** maxUnavailable and maxSurge of a rolling update: valid, and not both zero. */
function rollingUpdateCauses(rolling: unknown, path: string, defaultSurge: unknown): StatusCause[] {
  if (!isRecord(rolling)) return [];
  const causes = [
    ...intOrPercentCauses(`${path}.maxUnavailable`, rolling['maxUnavailable']),
    ...intOrPercentCauses(`${path}.maxSurge`, rolling['maxSurge']),
  ];
  const surge = rolling['maxSurge'] ?? defaultSurge;
  if (isZero(rolling['maxUnavailable']) && isZero(surge)) {
    causes.push(invalidValue(`${path}.maxUnavailable`, rolling['maxUnavailable'], 'may not be 0 when `maxSurge` is 0'));
  }
  return causes;
}

/** apps/v1 Deployment. */
export function deploymentCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  const causes = selectorAndTemplateCauses('Deployment', spec, ['Always']);
  causes.push(...minimumCause('spec.replicas', spec['replicas'], 0));
  causes.push(...minimumCause('spec.minReadySeconds', spec['minReadySeconds'], 0));
  causes.push(...minimumCause('spec.revisionHistoryLimit', spec['revisionHistoryLimit'], 0));
  const deadline = spec['progressDeadlineSeconds'];
  const minReady = typeof spec['minReadySeconds'] === 'number' ? spec['minReadySeconds'] : 0;
  if (deadline !== undefined && deadline !== null) {
    causes.push(...minimumCause('spec.progressDeadlineSeconds', deadline, 0));
    if (typeof deadline === 'number' && deadline <= minReady) {
      causes.push(invalidValue('spec.progressDeadlineSeconds', deadline, 'must be greater than minReadySeconds'));
    }
  }
  const strategy = spec['strategy'];
  if (isRecord(strategy)) {
    const type = strategy['type'];
    if (type !== 'Recreate' && type !== 'RollingUpdate') {
      causes.push(
        type === undefined
          ? required('spec.strategy.type')
          : notSupported('spec.strategy.type', type, ['Recreate', 'RollingUpdate']),
      );
    }
    if (type === 'Recreate' && strategy['rollingUpdate'] !== undefined && strategy['rollingUpdate'] !== null) {
      causes.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    }
    causes.push(...rollingUpdateCauses(strategy['rollingUpdate'], 'spec.strategy.rollingUpdate', 0));
  }
  return causes;
}

/** apps/v1 ReplicaSet. */
export function replicaSetCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  const causes = selectorAndTemplateCauses('ReplicaSet', spec, ['Always']);
  causes.push(...minimumCause('spec.replicas', spec['replicas'], 0));
  causes.push(...minimumCause('spec.minReadySeconds', spec['minReadySeconds'], 0));
  return causes;
}

/** apps/v1 DaemonSet. */
export function daemonSetCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  const causes = selectorAndTemplateCauses('DaemonSet', spec, ['Always']);
  causes.push(...minimumCause('spec.minReadySeconds', spec['minReadySeconds'], 0));
  causes.push(...minimumCause('spec.revisionHistoryLimit', spec['revisionHistoryLimit'], 0));
  const strategy = spec['updateStrategy'];
  if (isRecord(strategy)) {
    const type = strategy['type'];
    if (type === undefined) causes.push(required('spec.updateStrategy.type'));
    else causes.push(...enumCause('spec.updateStrategy.type', type, ['OnDelete', 'RollingUpdate']));
    if (type === 'RollingUpdate')
      causes.push(...rollingUpdateCauses(strategy['rollingUpdate'], 'spec.updateStrategy.rollingUpdate', 0));
  }
  return causes;
}

/** apps/v1 StatefulSet. */
export function statefulSetCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  const causes = selectorAndTemplateCauses('StatefulSet', spec, ['Always']);
  causes.push(...minimumCause('spec.replicas', spec['replicas'], 0));
  causes.push(...minimumCause('spec.minReadySeconds', spec['minReadySeconds'], 0));
  const policy = spec['podManagementPolicy'];
  if (policy !== undefined && policy !== 'OrderedReady' && policy !== 'Parallel') {
    causes.push(invalidValue('spec.podManagementPolicy', policy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const strategy = spec['updateStrategy'];
  if (isRecord(strategy)) {
    const type = strategy['type'];
    if (type !== 'RollingUpdate' && type !== 'OnDelete') {
      causes.push(invalidValue('spec.updateStrategy.type', type ?? '', "must be 'RollingUpdate' or 'OnDelete'"));
    }
    const rolling = strategy['rollingUpdate'];
    if (type === 'OnDelete' && rolling !== undefined && rolling !== null) {
      causes.push(
        invalidValue('spec.updateStrategy.rollingUpdate', rolling, "only allowed for updateStrategy 'RollingUpdate'"),
      );
    }
    if (isRecord(rolling)) {
      causes.push(...minimumCause('spec.updateStrategy.rollingUpdate.partition', rolling['partition'], 0));
      if (rolling['maxUnavailable'] !== undefined) {
        causes.push(
          ...intOrPercentCauses('spec.updateStrategy.rollingUpdate.maxUnavailable', rolling['maxUnavailable']),
        );
        if (isZero(rolling['maxUnavailable']))
          causes.push(
            invalidValue(
              'spec.updateStrategy.rollingUpdate.maxUnavailable',
              rolling['maxUnavailable'],
              'must be greater than 0',
            ),
          );
      }
    }
  }
  const retention = spec['persistentVolumeClaimRetentionPolicy'];
  if (isRecord(retention)) {
    causes.push(
      ...enumCause('spec.persistentVolumeClaimRetentionPolicy.whenDeleted', retention['whenDeleted'], [
        'Retain',
        'Delete',
      ]),
    );
    causes.push(
      ...enumCause('spec.persistentVolumeClaimRetentionPolicy.whenScaled', retention['whenScaled'], [
        'Retain',
        'Delete',
      ]),
    );
  }
  const claims = spec['volumeClaimTemplates'];
  if (Array.isArray(claims)) {
    claims.forEach((c: unknown, i) => {
      const name = isRecord(c) && isRecord(c['metadata']) ? c['metadata']['name'] : undefined;
      if (typeof name !== 'string' || name === '')
        causes.push(required(`spec.volumeClaimTemplates[${i}].metadata.name`));
      causes.push(...pvcSpecCauses(isRecord(c) ? c['spec'] : undefined, `spec.volumeClaimTemplates[${i}].spec`));
    });
  }
  return causes;
}

/** The spec of a Job, at `path` (`spec`, or `spec.jobTemplate.spec` in a CronJob). */
function jobSpecCauses(spec: unknown, path: string, generatedSelector: boolean): StatusCause[] {
  if (!isRecord(spec)) return [required(path)];
  const causes: StatusCause[] = [];
  for (const field of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished']) {
    causes.push(...minimumCause(`${path}.${field}`, spec[field], 0));
  }
  const deadline = spec['activeDeadlineSeconds'];
  if (deadline !== undefined && deadline !== null && (typeof deadline !== 'number' || deadline <= 0)) {
    causes.push(invalidValue(`${path}.activeDeadlineSeconds`, deadline, 'must be greater than or equal to 1'));
  }
  const mode = spec['completionMode'];
  causes.push(...enumCause(`${path}.completionMode`, mode, ['NonIndexed', 'Indexed']));
  if (mode === 'Indexed' && (spec['completions'] === undefined || spec['completions'] === null)) {
    causes.push(required(`${path}.completions`, 'when completion mode is Indexed'));
  }
  causes.push(
    ...enumCause(`${path}.podReplacementPolicy`, spec['podReplacementPolicy'], ['TerminatingOrFailed', 'Failed']),
  );
  const selector = spec['selector'];
  const template = spec['template'];
  if (spec['manualSelector'] === true && !isRecord(selector)) causes.push(required(`${path}.selector`));
  causes.push(...labelSelectorCauses(selector, `${path}.selector`));
  if (!isRecord(template)) return [...causes, required(`${path}.template`)];
  const labels = isRecord(template['metadata']) ? template['metadata']['labels'] : undefined;
  causes.push(...labelCauses(`${path}.template.metadata.labels`, labels));
  if (generatedSelector || spec['manualSelector'] === true) {
    causes.push(...selectorMatchesTemplateCauses(selector, labels, `${path}.template.metadata.labels`));
  }
  // SetDefaults_PodSpec makes an unset restartPolicy Always, which a Job may not have: manifests must say which.
  const restart = isRecord(template['spec']) ? template['spec']['restartPolicy'] : undefined;
  if (restart !== 'OnFailure' && restart !== 'Never') {
    causes.push(notSupported(`${path}.template.spec.restartPolicy`, restart ?? '', ['OnFailure', 'Never']));
  }
  causes.push(
    ...podSpecCauses(template['spec'], {
      path: `${path}.template.spec`,
      restartPolicies: ['OnFailure', 'Never', 'Always'],
    }),
  );
  return causes;
}

/** batch/v1 Job. */
export function jobCauses(obj: KubeObject): StatusCause[] {
  return jobSpecCauses(obj.spec, 'spec', true);
}

/** batch/v1 CronJob: schedule, policies, and the Job it makes. */
export function cronJobCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  const causes: StatusCause[] = [];
  if (obj.metadata.name.length > 52)
    causes.push(invalidValue('metadata.name', obj.metadata.name, 'must be no more than 52 characters'));
  const schedule = spec['schedule'];
  if (typeof schedule !== 'string' || schedule === '') causes.push(required('spec.schedule'));
  else {
    const problem = cronScheduleProblem(schedule);
    if (problem) causes.push(invalidValue('spec.schedule', schedule, problem));
  }
  causes.push(...enumCause('spec.concurrencyPolicy', spec['concurrencyPolicy'], ['Allow', 'Forbid', 'Replace']));
  for (const field of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
    causes.push(...minimumCause(`spec.${field}`, spec[field], 0));
  }
  const jobTemplate = spec['jobTemplate'];
  if (!isRecord(jobTemplate)) causes.push(required('spec.jobTemplate'));
  else causes.push(...jobSpecCauses(jobTemplate['spec'], 'spec.jobTemplate.spec', false));
  return causes;
}

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?)*$/;

/** What robfig/cron's standard parser would say about `schedule`, or nothing when it parses. */
function cronScheduleProblem(schedule: string): string | undefined {
  if (/^(CRON_)?TZ=/.test(schedule.trim())) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead';
  if (schedule.startsWith('@'))
    return CRON_MACROS.has(schedule) || /^@every /.test(schedule) ? undefined : `unrecognized descriptor: ${schedule}`;
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) return `Expected exactly 5 fields, found ${fields.length}: ${schedule}`;
  const bad = fields.find((f) => !CRON_FIELD.test(f));
  return bad === undefined ? undefined : `failed to parse int from ${bad}`;
}

/** policy/v1 PodDisruptionBudget. */
export function pdbCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  if (spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined) {
    return [invalidValue('spec', spec, 'minAvailable and maxUnavailable cannot be both set')];
  }
  return [
    ...intOrPercentCauses('spec.minAvailable', spec['minAvailable']),
    ...intOrPercentCauses('spec.maxUnavailable', spec['maxUnavailable']),
    ...labelSelectorCauses(spec['selector'], 'spec.selector'),
    ...enumCause('spec.unhealthyPodEvictionPolicy', spec['unhealthyPodEvictionPolicy'], [
      'AlwaysAllow',
      'IfHealthyBudget',
    ]),
  ];
}

/** autoscaling/v2 HorizontalPodAutoscaler: a target, and replica bounds that make sense. */
export function hpaCauses(obj: KubeObject): StatusCause[] {
  const spec = specOf(obj);
  const causes: StatusCause[] = [];
  const target = spec['scaleTargetRef'];
  if (!isRecord(target)) causes.push(required('spec.scaleTargetRef'));
  else {
    if (typeof target['kind'] !== 'string' || target['kind'] === '') causes.push(required('spec.scaleTargetRef.kind'));
    if (typeof target['name'] !== 'string' || target['name'] === '') causes.push(required('spec.scaleTargetRef.name'));
  }
  const max = spec['maxReplicas'];
  causes.push(...minimumCause('spec.maxReplicas', max ?? 0, 1));
  const min = spec['minReplicas'];
  causes.push(...minimumCause('spec.minReplicas', min, 1));
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    causes.push(invalidValue('spec.minReplicas', min, 'must be less than or equal to maxReplicas'));
  }
  return causes;
}
