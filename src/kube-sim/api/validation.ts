/**
 * The validation the apiserver does before storing an object, for the fields kube-sim's clients can get wrong.
 * Failures are 422 Invalid with one cause per field, as the real server reports them.
 */
import type { ResourceDef } from './resources.ts';
import type { StatusCause } from './status.ts';
import { invalid } from './status.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { LabelSelector, NothingSelector } from '../../k8s/label-selector.ts';
import { SelectorParseError, fromLabelSelectorObject, matchesLabels } from '../../k8s/label-selector.ts';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kinds whose names must be DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service']);

/** Throws 422 Invalid when the object may not be stored. */
export function validateObject(def: ResourceDef, obj: KubeObject): void {
  const causes: StatusCause[] = [];
  const name = obj.metadata.name;
  if (!name) {
    causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
  } else if (LABEL_NAMED.has(def.kind) ? !DNS1123_LABEL.test(name) || name.length > 63 : !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 ${LABEL_NAMED.has(def.kind) ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    });
  }
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || (v !== '' && !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v))) {
      causes.push({ reason: 'FieldValueInvalid', field: `metadata.labels`, message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    }
    if (k.length === 0) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: 'Invalid value: "": name part must be non-empty' });
  }
  causes.push(...kindCauses(def.kind, obj));
  if (causes.length > 0) throw invalid(def.kind, def.group, name || obj.metadata.generateName || '', causes);
}

function kindCauses(kind: string, obj: KubeObject): StatusCause[] {
  switch (kind) {
    case 'Pod':
      return podSpecCauses(obj.spec, 'spec');
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
    case 'StatefulSet':
      return workloadCauses(obj);
    case 'PodDisruptionBudget':
      return pdbCauses(obj);
    default:
      return [];
  }
}

function podSpecCauses(spec: unknown, path: string): StatusCause[] {
  if (!isRecord(spec)) return [{ reason: 'FieldValueRequired', field: path, message: 'Required value' }];
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0) {
    return [{ reason: 'FieldValueRequired', field: `${path}.containers`, message: 'Required value' }];
  }
  const causes: StatusCause[] = [];
  containers.forEach((c: unknown, i) => {
    if (!isRecord(c) || typeof c['name'] !== 'string' || c['name'] === '') {
      causes.push({ reason: 'FieldValueRequired', field: `${path}.containers[${i}].name`, message: 'Required value' });
    }
    if (!isRecord(c) || typeof c['image'] !== 'string' || c['image'] === '') {
      causes.push({ reason: 'FieldValueRequired', field: `${path}.containers[${i}].image`, message: 'Required value' });
    }
  });
  return causes;
}

function workloadCauses(obj: KubeObject): StatusCause[] {
  const spec = obj.spec ?? {};
  const causes: StatusCause[] = [];
  const template = spec['template'];
  const selector = spec['selector'];
  if (!isRecord(selector)) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
  }
  if (!isRecord(template)) return [...causes, { reason: 'FieldValueRequired', field: 'spec.template', message: 'Required value' }];
  causes.push(...podSpecCauses(template['spec'], 'spec.template.spec'));
  const labels = isRecord(template['metadata']) && isRecord(template['metadata']['labels']) ? template['metadata']['labels'] : {};
  // Upstream converts the selector (LabelSelectorAsSelector) and, unless it is empty, matches the template's labels.
  let parsed: LabelSelector | NothingSelector = 'nothing';
  if (isRecord(selector)) {
    try {
      parsed = fromLabelSelectorObject(selector);
    } catch (err) {
      if (!(err instanceof SelectorParseError)) throw err;
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.selector', message: `Invalid value: ${JSON.stringify(selector)}: invalid label selector` });
    }
  }
  if (parsed !== 'nothing' && parsed.requirements.length > 0 && !matchesLabels(parsed, labels as Record<string, string>)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.template.metadata.labels',
      message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
    });
  }
  const replicas = spec['replicas'];
  if (replicas !== undefined && (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas))) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` });
  }
  return causes;
}

function pdbCauses(obj: KubeObject): StatusCause[] {
  const spec = obj.spec ?? {};
  if (spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined) {
    return [{ reason: 'FieldValueInvalid', field: 'spec', message: `Invalid value: ${JSON.stringify(spec)}: minAvailable and maxUnavailable cannot be both set` }];
  }
  return [];
}
