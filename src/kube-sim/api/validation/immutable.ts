/**
 * What an update may not change (the `ValidateXUpdate` functions of k8s.io/kubernetes `pkg/apis/*\/validation`):
 * workload selectors, most of a StatefulSet's and a Pod's spec, a Job's template, a Node's pod CIDRs and provider
 * ID once set, a Service's cluster IPs, a bound claim's spec but for growing it, and the data of immutable
 * ConfigMaps and Secrets.
 */
import { quantityValue, tryParseQuantity } from '../../../k8s/quantity.ts';
import { jsonEqual as same } from '../../model/json-equal.ts';
import type { KubeObject } from '../../model/wire.ts';
import { isRecord } from '../../model/wire.ts';
import type { StatusCause } from '../status.ts';
import { forbidden, immutable, invalidValue } from './field-errors.ts';

type Spec = Record<string, unknown>;

/** The causes that forbid updating `old` to `next`; `minor` is the server's Kubernetes minor. */
export function updateCauses(next: KubeObject, old: KubeObject, minor: number): StatusCause[] {
  const spec = next.spec ?? {};
  const was = old.spec ?? {};
  switch (next.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      return same(spec['selector'], was['selector']) ? [] : [immutable('spec.selector', spec['selector'])];
    case 'StatefulSet':
      return statefulSetUpdateCauses(spec, was, minor);
    case 'Job':
      return jobUpdateCauses(spec, was, old, minor);
    case 'Pod':
      return podUpdateCauses(spec, was, minor);
    case 'Node':
      return nodeUpdateCauses(spec, was);
    case 'Service':
      return serviceUpdateCauses(spec, was);
    case 'PersistentVolumeClaim':
      return pvcUpdateCauses(spec, was, old, minor);
    case 'ConfigMap':
      return immutableDataCauses(next, old);
    case 'Secret': {
      const type = (next as unknown as Record<string, unknown>)['type'];
      const oldType = (old as unknown as Record<string, unknown>)['type'];
      return [...(type === oldType ? [] : [immutable('type', type ?? '')]), ...immutableDataCauses(next, old)];
    }
    default:
      return [];
  }
}

/** The fields of a StatefulSet spec an update may change, as the minor's message lists them. */
function statefulSetUpdateCauses(spec: Spec, was: Spec, minor: number): StatusCause[] {
  const mutable = [
    'replicas',
    ...(minor >= 26 ? ['ordinals'] : []),
    'template',
    'updateStrategy',
    'persistentVolumeClaimRetentionPolicy',
    'minReadySeconds',
  ];
  const frozen = (s: Spec) => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
  if (same(frozen(spec), frozen(was))) return [];
  const listed = mutable.map((f) => `'${f}'`);
  const last = listed.pop() ?? '';
  return [
    forbidden(
      'spec',
      `updates to statefulset spec for fields other than ${listed.join(', ')} and ${last} are forbidden`,
    ),
  ];
}

/** The template fields a suspended Job that never started may change (mutable scheduling directives, 1.27+). */
const SUSPENDED_JOB_MUTABLE_POD_FIELDS = ['nodeSelector', 'tolerations', 'affinity', 'schedulingGates'];

function jobUpdateCauses(spec: Spec, was: Spec, old: KubeObject, minor: number): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!same(spec['selector'], was['selector'])) causes.push(immutable('spec.selector', spec['selector']));
  if (!same(spec['completionMode'], was['completionMode']))
    causes.push(immutable('spec.completionMode', spec['completionMode']));
  if (!same(spec['podFailurePolicy'], was['podFailurePolicy']))
    causes.push(immutable('spec.podFailurePolicy', spec['podFailurePolicy']));
  // Elastic Indexed Jobs (1.27+) may change completions together with parallelism.
  const elastic = minor >= 27 && spec['completionMode'] === 'Indexed' && spec['completions'] === spec['parallelism'];
  if (!same(spec['completions'], was['completions']) && !elastic)
    causes.push(immutable('spec.completions', spec['completions']));
  const template = isRecord(spec['template']) ? spec['template'] : {};
  const oldTemplate = isRecord(was['template']) ? was['template'] : {};
  const neverStarted = was['suspend'] === true && !old.status?.['startTime'];
  const comparable = (t: Record<string, unknown>) => {
    if (!(minor >= 27 && neverStarted)) return t;
    const podSpec = isRecord(t['spec']) ? t['spec'] : {};
    const rest = Object.fromEntries(
      Object.entries(podSpec).filter(([k]) => !SUSPENDED_JOB_MUTABLE_POD_FIELDS.includes(k)),
    );
    const meta = isRecord(t['metadata']) ? t['metadata'] : {};
    const { labels: _l, annotations: _a, ...metaRest } = meta;
    return { ...t, metadata: metaRest, spec: rest };
  };
  if (!same(comparable(template), comparable(oldTemplate))) causes.push(immutable('spec.template', template));
  return causes;
}

/** A pod's spec is frozen but for images, a shorter deadline, added tolerations, and removing scheduling gates. */
function podUpdateCauses(spec: Spec, was: Spec, minor: number): StatusCause[] {
  const causes: StatusCause[] = [];
  const oldDeadline = was['activeDeadlineSeconds'];
  const deadline = spec['activeDeadlineSeconds'];
  if (typeof oldDeadline === 'number' && (typeof deadline !== 'number' || deadline > oldDeadline)) {
    causes.push(
      invalidValue('spec.activeDeadlineSeconds', deadline ?? null, 'must be less than or equal to previous value'),
    );
  }
  const oldTolerations = Array.isArray(was['tolerations']) ? (was['tolerations'] as unknown[]) : [];
  const tolerations = Array.isArray(spec['tolerations']) ? (spec['tolerations'] as unknown[]) : [];
  const kept = oldTolerations.every((t) => tolerations.some((n) => same(n, t) || sameTolerationShorterSeconds(n, t)));
  if (!kept)
    causes.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));

  if (!podSpecUnchangedButMutable(spec, was, minor)) {
    causes.push(
      forbidden(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
  const gates = Array.isArray(spec['schedulingGates']) ? (spec['schedulingGates'] as unknown[]) : [];
  const oldGates = Array.isArray(was['schedulingGates']) ? (was['schedulingGates'] as unknown[]) : [];
  if (minor >= 27 && gates.some((g) => !oldGates.some((o) => same(o, g)))) {
    causes.push(forbidden('spec.schedulingGates', 'only deletion is allowed, but found new scheduling gate'));
  }
  return causes;
}

/** The pod spec fields an update may change, judged on their own. */
const POD_MUTABLE = new Set([
  'containers',
  'initContainers',
  'activeDeadlineSeconds',
  'tolerations',
  'terminationGracePeriodSeconds',
  'nodeName',
  'schedulingGates',
]);

/** True when `spec` differs from `was` only where a pod update may change it. */
function podSpecUnchangedButMutable(spec: Spec, was: Spec, minor: number): boolean {
  for (const key of new Set([...Object.keys(spec), ...Object.keys(was)])) {
    if (!POD_MUTABLE.has(key) && !same(spec[key], was[key])) return false;
  }
  // Binding sets nodeName once (kube-sim's scheduler binds through an update); gates may only be removed (1.27+).
  if (was['nodeName'] && spec['nodeName'] !== was['nodeName']) return false;
  if (minor < 27 && !same(spec['schedulingGates'], was['schedulingGates'])) return false;
  // terminationGracePeriodSeconds may go from negative to 1; otherwise it is frozen.
  const grace = was['terminationGracePeriodSeconds'];
  if (
    !same(spec['terminationGracePeriodSeconds'], grace) &&
    !(typeof grace === 'number' && grace < 0 && spec['terminationGracePeriodSeconds'] === 1)
  ) {
    return false;
  }
  return (
    sameButImages(spec['containers'], was['containers']) && sameButImages(spec['initContainers'], was['initContainers'])
  );
}

/** Two container lists equal but for their images. */
function sameButImages(list: unknown, old: unknown): boolean {
  if (list === old) return true;
  if (!Array.isArray(list) || !Array.isArray(old) || list.length !== old.length) return same(list, old);
  return list.every((c: unknown, i) => {
    const o: unknown = old[i];
    return c === o || (isRecord(c) && isRecord(o) ? same({ ...c, image: '' }, { ...o, image: '' }) : same(c, o));
  });
}

function sameTolerationShorterSeconds(next: unknown, old: unknown): boolean {
  if (!isRecord(next) || !isRecord(old)) return false;
  const { tolerationSeconds: a, ...restNext } = next;
  const { tolerationSeconds: b, ...restOld } = old;
  return same(restNext, restOld) && typeof a === 'number' && typeof b === 'number' && a <= b;
}

function nodeUpdateCauses(spec: Spec, was: Spec): StatusCause[] {
  const causes: StatusCause[] = [];
  const oldCidrs = Array.isArray(was['podCIDRs']) ? was['podCIDRs'] : was['podCIDR'] ? [was['podCIDR']] : [];
  const cidrs = Array.isArray(spec['podCIDRs']) ? spec['podCIDRs'] : spec['podCIDR'] ? [spec['podCIDR']] : [];
  if (oldCidrs.length > 0 && !same(oldCidrs, cidrs))
    causes.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  const providerID = was['providerID'];
  if (typeof providerID === 'string' && providerID !== '' && spec['providerID'] !== providerID) {
    causes.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return causes;
}

function serviceUpdateCauses(spec: Spec, was: Spec): StatusCause[] {
  // Only a change to or from ExternalName may drop or set a cluster IP (the allocator then releases or allocates).
  if (spec['type'] === 'ExternalName' || was['type'] === 'ExternalName') return [];
  const causes: StatusCause[] = [];
  if (!same(spec['clusterIPs'], was['clusterIPs']))
    causes.push(invalidValue('spec.clusterIPs[0]', spec['clusterIPs'] ?? [], 'may not change once set'));
  if (spec['clusterIP'] !== was['clusterIP']) causes.push(immutable('spec.clusterIP', spec['clusterIP'] ?? ''));
  return causes;
}

function pvcUpdateCauses(spec: Spec, was: Spec, old: KubeObject, minor: number): StatusCause[] {
  const storage = (s: Spec) =>
    isRecord(s['resources']) && isRecord(s['resources']['requests'])
      ? s['resources']['requests']['storage']
      : undefined;
  const bound = old.status?.['phase'] === 'Bound';
  const withoutResize = (s: Spec) => {
    if (!bound) return s;
    const resources = isRecord(s['resources']) ? s['resources'] : {};
    const requests = isRecord(resources['requests']) ? resources['requests'] : {};
    const { storage: _s, ...restRequests } = requests;
    const { volumeAttributesClassName: _v, ...rest } = s;
    return { ...(minor >= 29 ? rest : s), resources: { ...resources, requests: restRequests } };
  };
  if (!same(withoutResize(spec), withoutResize(was))) {
    const detail =
      minor >= 29
        ? 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'
        : 'spec is immutable after creation except resources.requests for bound claims';
    return [forbidden('spec', detail)];
  }
  const before = storage(was);
  const after = storage(spec);
  if (
    bound &&
    typeof before === 'string' &&
    (typeof after === 'string' || typeof after === 'number') &&
    tryParseQuantity(after)
  ) {
    if (quantityValue(after) < quantityValue(before))
      return [forbidden('spec.resources.requests.storage', 'field can not be less than previous value')];
  }
  return [];
}

function immutableDataCauses(next: KubeObject, old: KubeObject): StatusCause[] {
  const was = old as unknown as Record<string, unknown>;
  const now = next as unknown as Record<string, unknown>;
  if (was['immutable'] !== true) return [];
  const causes: StatusCause[] = [];
  if (now['immutable'] !== true) causes.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  const fields = next.kind === 'ConfigMap' ? ['data', 'binaryData'] : ['data'];
  for (const field of fields) {
    if (!same(now[field] ?? {}, was[field] ?? {}))
      causes.push(forbidden(field, 'field is immutable when `immutable` is set'));
  }
  return causes;
}
