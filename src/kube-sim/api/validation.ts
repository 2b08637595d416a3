/**
 * The validation the apiserver does before storing an object: per served kind on create and update, and what an
 * update may not change. Failures are 422 Invalid with one cause per field, worded as the real server words them
 * (`Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`). The
 * rules per kind live in `validation/`.
 */
import type { ResourceDef } from './resources.ts';
import type { StatusCause } from './status.ts';
import { invalid } from './status.ts';
import type { KubeObject } from '../model/wire.ts';
import { configMapCauses, nodeCauses, pvcCauses, secretCauses, serviceCauses } from './validation/core.ts';
import { required } from './validation/field-errors.ts';
import { updateCauses } from './validation/immutable.ts';
import { annotationCauses, causesFor, dns1035LabelProblems, dns1123LabelProblems, dns1123SubdomainProblems, labelCauses } from './validation/names.ts';
import { ALL_RESTART_POLICIES, podSpecCauses } from './validation/pod-spec.ts';
import {
  cronJobCauses,
  daemonSetCauses,
  deploymentCauses,
  hpaCauses,
  jobCauses,
  pdbCauses,
  replicaSetCauses,
  statefulSetCauses,
} from './validation/workloads.ts';

/** What a write is, for the rules that differ between create, update and a status write. */
export interface ValidationOptions {
  /** The stored object an update replaces; absent on create. */
  old?: KubeObject;
  /**
   * Only metadata can have changed: a write of the status subresource, or an update that carried the stored spec
   * over untouched (a controller adding a finalizer). The spec passed when it was stored; it is not judged again.
   */
  metadataOnly?: boolean;
  /** The Kubernetes minor the server is at (rules that changed between minors follow it). */
  minor: number;
}

/** Throws 422 Invalid when the object may not be stored. */
export function validateObject(def: ResourceDef, obj: KubeObject, options: ValidationOptions): void {
  const causes = metadataCauses(def, obj);
  if (!options.metadataOnly) {
    causes.push(...kindCauses(def.kind, obj));
    if (options.old) causes.push(...updateCauses(obj, options.old, options.minor));
  }
  if (causes.length > 0) throw invalid(def.kind, def.group, obj.metadata.name || obj.metadata.generateName || '', causes);
}

/** Kinds whose names must be DNS labels (they become DNS names or hostnames), not subdomains. */
const NAME_RULES: Readonly<Record<string, (name: string) => string[]>> = {
  Namespace: dns1123LabelProblems,
  Service: dns1035LabelProblems,
};

function metadataCauses(def: ResourceDef, obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata.name;
  if (!name) causes.push(required('metadata.name', 'name or generateName is required'));
  else causes.push(...causesFor('metadata.name', name, (NAME_RULES[def.kind] ?? dns1123SubdomainProblems)(name)));
  causes.push(...labelCauses('metadata.labels', obj.metadata.labels));
  causes.push(...annotationCauses('metadata.annotations', obj.metadata.annotations));
  return causes;
}

function kindCauses(kind: string, obj: KubeObject): StatusCause[] {
  switch (kind) {
    case 'Pod':
      return podSpecCauses(obj.spec, { path: 'spec', restartPolicies: ALL_RESTART_POLICIES });
    case 'Deployment':
      return deploymentCauses(obj);
    case 'ReplicaSet':
      return replicaSetCauses(obj);
    case 'DaemonSet':
      return daemonSetCauses(obj);
    case 'StatefulSet':
      return statefulSetCauses(obj);
    case 'Job':
      return jobCauses(obj);
    case 'CronJob':
      return cronJobCauses(obj);
    case 'PodDisruptionBudget':
      return pdbCauses(obj);
    case 'HorizontalPodAutoscaler':
      return hpaCauses(obj);
    case 'Service':
      return serviceCauses(obj);
    case 'PersistentVolumeClaim':
      return pvcCauses(obj);
    case 'ConfigMap':
      return configMapCauses(obj);
    case 'Secret':
      return secretCauses(obj);
    case 'Node':
      return nodeCauses(obj);
    default:
      return [];
  }
}
