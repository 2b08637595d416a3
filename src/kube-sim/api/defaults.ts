/**
 * Defaulting as the apiserver applies it on create (the fields kubectl and controllers read back).
 */
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';

/** Returns `obj` with the defaults of its kind filled in. */
export function applyDefaults(obj: KubeObject): KubeObject {
  switch (obj.kind) {
    case 'Pod':
      return {
        ...obj,
        spec: withServiceAccount(withDefaultTolerationSeconds(podSpecDefaults(obj.spec ?? {}))),
        status: { phase: 'Pending', ...(obj.status ?? {}) },
      };
    case 'Deployment':
      return {
        ...obj,
        spec: withTemplateDefaults({
          replicas: 1,
          revisionHistoryLimit: 10,
          progressDeadlineSeconds: 600,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
          ...(obj.spec ?? {}),
        }),
      };
    case 'ReplicaSet':
      return { ...obj, spec: withTemplateDefaults({ replicas: 1, ...(obj.spec ?? {}) }) };
    case 'StatefulSet':
      return {
        ...obj,
        spec: withTemplateDefaults({
          replicas: 1,
          podManagementPolicy: 'OrderedReady',
          revisionHistoryLimit: 10,
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
          ...(obj.spec ?? {}),
        }),
      };
    case 'DaemonSet':
      return {
        ...obj,
        spec: withTemplateDefaults({
          revisionHistoryLimit: 10,
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
          ...(obj.spec ?? {}),
        }),
      };
    case 'Namespace':
      return {
        ...obj,
        metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name } },
        spec: { finalizers: ['kubernetes'], ...(obj.spec ?? {}) },
        status: { phase: 'Active' },
      };
    case 'Service':
      return { ...obj, spec: { type: 'ClusterIP', sessionAffinity: 'None', ...(obj.spec ?? {}) } };
    case 'PersistentVolumeClaim':
      return { ...obj, status: { phase: 'Pending', ...(obj.status ?? {}) } };
    default:
      return obj;
  }
}

function withTemplateDefaults(spec: Record<string, unknown>): Record<string, unknown> {
  const template = spec['template'];
  if (!isRecord(template) || !isRecord(template['spec'])) return spec;
  return { ...spec, template: { ...template, spec: podSpecDefaults(template['spec']) } };
}

function podSpecDefaults(spec: Record<string, unknown>): Record<string, unknown> {
  const containers = Array.isArray(spec['containers']) ? spec['containers'] : [];
  return {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
    ...spec,
    containers: containers.map((c: unknown) =>
      isRecord(c)
        ? {
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: typeof c['image'] === 'string' && c['image'].endsWith(':latest') ? 'Always' : 'IfNotPresent',
            resources: {},
            ...c,
          }
        : c,
    ),
  };
}

/**
 * The ServiceAccount admission plugin: a pod that names no service account runs as `default` (the v1 wire form
 * repeats it in the deprecated `serviceAccount` field). The token volume it also mounts is not simulated.
 */
function withServiceAccount(spec: Record<string, unknown>): Record<string, unknown> {
  const named = spec['serviceAccountName'] ?? spec['serviceAccount'];
  const name = typeof named === 'string' && named !== '' ? named : 'default';
  return { ...spec, serviceAccountName: name, serviceAccount: name };
}

/**
 * The DefaultTolerationSeconds admission plugin (on in every real apiserver): a pod that does not tolerate the
 * not-ready and unreachable NoExecute taints gets tolerations for 300 s, which is how long its pods stay bound to a
 * node that stopped reporting before the taint manager evicts them.
 */
function withDefaultTolerationSeconds(spec: Record<string, unknown>): Record<string, unknown> {
  const tolerations = Array.isArray(spec['tolerations']) ? (spec['tolerations'] as unknown[]) : [];
  const tolerates = (key: string) =>
    tolerations.some(
      (t) =>
        isRecord(t) &&
        (t['key'] === key || t['key'] === undefined || t['key'] === '') &&
        (t['effect'] === 'NoExecute' || t['effect'] === undefined || t['effect'] === ''),
    );
  const added = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']
    .filter((key) => !tolerates(key))
    .map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }));
  return added.length === 0 ? spec : { ...spec, tolerations: [...tolerations, ...added] };
}
