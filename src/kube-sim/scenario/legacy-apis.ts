/**
 * API versions that Kubernetes releases removed, as scenario `legacyObjects` may use them. Data, from the Kubernetes
 * deprecated API migration guide; add a row to support another.
 */

/** One removed group/version of a kind. */
export interface LegacyApi {
  /** `group/version` (`policy/v1beta1`). */
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  /** The first minor (`1.25`) that no longer serves this version. */
  removedIn: string;
  /** The version to migrate to; absent when the API is gone (PodSecurityPolicy). */
  replacement?: string;
}

function rows(
  removedIn: string,
  apiVersions: string[],
  kinds: string[],
  namespaced: boolean,
  replacement?: string,
): LegacyApi[] {
  return apiVersions.flatMap((apiVersion) =>
    kinds.map((kind) =>
      replacement === undefined
        ? { apiVersion, kind, namespaced, removedIn }
        : { apiVersion, kind, namespaced, removedIn, replacement },
    ),
  );
}

/** Every removed API a legacy object may be written at. */
export const LEGACY_APIS: readonly LegacyApi[] = Object.freeze([
  // 1.16
  ...rows('1.16', ['extensions/v1beta1'], ['NetworkPolicy'], true, 'networking.k8s.io/v1'),
  ...rows('1.16', ['extensions/v1beta1', 'apps/v1beta2'], ['DaemonSet'], true, 'apps/v1'),
  ...rows(
    '1.16',
    ['extensions/v1beta1', 'apps/v1beta1', 'apps/v1beta2'],
    ['Deployment', 'ReplicaSet'],
    true,
    'apps/v1',
  ),
  ...rows('1.16', ['apps/v1beta1', 'apps/v1beta2'], ['StatefulSet'], true, 'apps/v1'),
  ...rows('1.16', ['extensions/v1beta1'], ['PodSecurityPolicy'], false, 'policy/v1beta1'),
  // 1.22
  ...rows(
    '1.22',
    ['admissionregistration.k8s.io/v1beta1'],
    ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'],
    false,
    'admissionregistration.k8s.io/v1',
  ),
  ...rows('1.22', ['apiextensions.k8s.io/v1beta1'], ['CustomResourceDefinition'], false, 'apiextensions.k8s.io/v1'),
  ...rows('1.22', ['apiregistration.k8s.io/v1beta1'], ['APIService'], false, 'apiregistration.k8s.io/v1'),
  ...rows('1.22', ['certificates.k8s.io/v1beta1'], ['CertificateSigningRequest'], false, 'certificates.k8s.io/v1'),
  ...rows('1.22', ['coordination.k8s.io/v1beta1'], ['Lease'], true, 'coordination.k8s.io/v1'),
  ...rows('1.22', ['extensions/v1beta1', 'networking.k8s.io/v1beta1'], ['Ingress'], true, 'networking.k8s.io/v1'),
  ...rows('1.22', ['networking.k8s.io/v1beta1'], ['IngressClass'], false, 'networking.k8s.io/v1'),
  ...rows(
    '1.22',
    ['rbac.authorization.k8s.io/v1beta1'],
    ['ClusterRole', 'ClusterRoleBinding'],
    false,
    'rbac.authorization.k8s.io/v1',
  ),
  ...rows('1.22', ['rbac.authorization.k8s.io/v1beta1'], ['Role', 'RoleBinding'], true, 'rbac.authorization.k8s.io/v1'),
  ...rows('1.22', ['scheduling.k8s.io/v1beta1'], ['PriorityClass'], false, 'scheduling.k8s.io/v1'),
  ...rows(
    '1.22',
    ['storage.k8s.io/v1beta1'],
    ['CSIDriver', 'CSINode', 'StorageClass', 'VolumeAttachment'],
    false,
    'storage.k8s.io/v1',
  ),
  // 1.25
  ...rows('1.25', ['batch/v1beta1'], ['CronJob'], true, 'batch/v1'),
  ...rows('1.25', ['discovery.k8s.io/v1beta1'], ['EndpointSlice'], true, 'discovery.k8s.io/v1'),
  ...rows('1.25', ['events.k8s.io/v1beta1'], ['Event'], true, 'events.k8s.io/v1'),
  ...rows('1.25', ['autoscaling/v2beta1'], ['HorizontalPodAutoscaler'], true, 'autoscaling/v2'),
  ...rows('1.25', ['policy/v1beta1'], ['PodDisruptionBudget'], true, 'policy/v1'),
  ...rows('1.25', ['policy/v1beta1'], ['PodSecurityPolicy'], false),
  ...rows('1.25', ['node.k8s.io/v1beta1'], ['RuntimeClass'], false, 'node.k8s.io/v1'),
  // 1.26
  ...rows(
    '1.26',
    ['flowcontrol.apiserver.k8s.io/v1beta1'],
    ['FlowSchema', 'PriorityLevelConfiguration'],
    false,
    'flowcontrol.apiserver.k8s.io/v1beta3',
  ),
  ...rows('1.26', ['autoscaling/v2beta2'], ['HorizontalPodAutoscaler'], true, 'autoscaling/v2'),
  // 1.27
  ...rows('1.27', ['storage.k8s.io/v1beta1'], ['CSIStorageCapacity'], true, 'storage.k8s.io/v1'),
  // 1.29
  ...rows(
    '1.29',
    ['flowcontrol.apiserver.k8s.io/v1beta2'],
    ['FlowSchema', 'PriorityLevelConfiguration'],
    false,
    'flowcontrol.apiserver.k8s.io/v1',
  ),
  // 1.32
  ...rows(
    '1.32',
    ['flowcontrol.apiserver.k8s.io/v1beta3'],
    ['FlowSchema', 'PriorityLevelConfiguration'],
    false,
    'flowcontrol.apiserver.k8s.io/v1',
  ),
]);

/** The removed API for an apiVersion and kind, if Kubernetes had one. */
export function findLegacyApi(apiVersion: string, kind: string): LegacyApi | undefined {
  return LEGACY_APIS.find((api) => api.apiVersion === apiVersion && api.kind === kind);
}
