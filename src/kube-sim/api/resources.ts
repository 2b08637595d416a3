/**
 * The resources kube-sim serves, with their discovery facts and the Kubernetes minors that serve each version.
 * Several served versions can share one storage (policy/v1 and policy/v1beta1 PodDisruptionBudgets): objects are
 * stored once, at the storage version, and converted on the way out by rewriting apiVersion.
 */

/** A subresource kube-sim implements. */
export type Subresource = 'status' | 'eviction' | 'scale' | 'binding';

/** One served group/version/resource. */
export interface ResourceDef {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: Subresource[];
  /** Where objects of this resource live: shared by every served version of it. */
  storage: string;
  /** The storage version (the version objects are stored at). */
  storageVersion: string;
  /** The first minor that removes this version (not served from it on), if any. */
  removedIn?: number;
  /** The minor that deprecated it: requests to it count in apiserver_requested_deprecated_apis. */
  deprecatedIn?: number;
  /** The first minor that serves it, if not all. */
  introducedIn?: number;
  /** The verbs it answers, when not all of {@link RESOURCE_VERBS} (the create-only reviews). */
  verbs?: readonly string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The verbs every kube-sim resource answers. */
export const RESOURCE_VERBS: readonly string[] = VERBS;

type Def = Omit<ResourceDef, 'storage' | 'storageVersion' | 'shortNames' | 'categories' | 'subresources'> &
  Partial<Pick<ResourceDef, 'shortNames' | 'categories' | 'subresources' | 'storageVersion'>>;

function def(d: Def): ResourceDef {
  return {
    shortNames: [],
    categories: [],
    subresources: [],
    ...d,
    storage: `${d.group || 'core'}/${d.plural}`,
    storageVersion: d.storageVersion ?? d.version,
  };
}

/** Every resource kube-sim knows, at every version it may serve. */
export const ALL_RESOURCES: readonly ResourceDef[] = [
  def({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'] }),
  def({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  def({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'eviction', 'binding'] }),
  def({ group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'] }),
  def({ group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', namespaced: true, shortNames: ['pvc'], subresources: ['status'] }),
  def({ group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  def({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] }),
  def({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true }),
  def({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'] }),
  def({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  def({ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  def({ group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', singular: 'daemonset', namespaced: true, shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  def({ group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', namespaced: true, shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  def({ group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true }),
  def({ group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', singular: 'job', namespaced: true, categories: ['all'], subresources: ['status'] }),
  def({ group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', singular: 'cronjob', namespaced: true, shortNames: ['cj'], categories: ['all'], subresources: ['status'], introducedIn: 21 }),
  def({ group: 'batch', version: 'v1beta1', kind: 'CronJob', plural: 'cronjobs', singular: 'cronjob', namespaced: true, shortNames: ['cj'], categories: ['all'], subresources: ['status'], storageVersion: 'v1', deprecatedIn: 21, removedIn: 25 }),
  def({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', namespaced: true, shortNames: ['pdb'], subresources: ['status'], introducedIn: 21 }),
  def({ group: 'policy', version: 'v1beta1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', namespaced: true, shortNames: ['pdb'], subresources: ['status'], storageVersion: 'v1', deprecatedIn: 21, removedIn: 25 }),
  def({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true }),
  def({ group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', singular: 'horizontalpodautoscaler', namespaced: true, shortNames: ['hpa'], categories: ['all'], subresources: ['status'], introducedIn: 23 }),
  def({ group: 'autoscaling', version: 'v2beta2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', singular: 'horizontalpodautoscaler', namespaced: true, shortNames: ['hpa'], categories: ['all'], subresources: ['status'], storageVersion: 'v2', deprecatedIn: 23, removedIn: 26 }),
  def({ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', singular: 'ingress', namespaced: true, shortNames: ['ing'], subresources: ['status'], introducedIn: 19 }),
  def({ group: 'networking.k8s.io', version: 'v1beta1', kind: 'Ingress', plural: 'ingresses', singular: 'ingress', namespaced: true, shortNames: ['ing'], subresources: ['status'], storageVersion: 'v1', deprecatedIn: 19, removedIn: 22 }),
  def({ group: 'networking.k8s.io', version: 'v1', kind: 'IngressClass', plural: 'ingressclasses', singular: 'ingressclass', namespaced: false, introducedIn: 19 }),
  def({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', namespaced: false }),
  def({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', namespaced: false }),
  def({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', singular: 'role', namespaced: true }),
  def({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', namespaced: true }),
  def({ group: 'policy', version: 'v1beta1', kind: 'PodSecurityPolicy', plural: 'podsecuritypolicies', singular: 'podsecuritypolicy', namespaced: false, shortNames: ['psp'], deprecatedIn: 21, removedIn: 25 }),
  def({ group: 'flowcontrol.apiserver.k8s.io', version: 'v1', kind: 'FlowSchema', plural: 'flowschemas', singular: 'flowschema', namespaced: false, subresources: ['status'], introducedIn: 29 }),
  def({ group: 'flowcontrol.apiserver.k8s.io', version: 'v1beta3', kind: 'FlowSchema', plural: 'flowschemas', singular: 'flowschema', namespaced: false, subresources: ['status'], storageVersion: 'v1', introducedIn: 26, deprecatedIn: 29, removedIn: 32 }),
  def({ group: 'flowcontrol.apiserver.k8s.io', version: 'v1beta2', kind: 'FlowSchema', plural: 'flowschemas', singular: 'flowschema', namespaced: false, subresources: ['status'], storageVersion: 'v1', deprecatedIn: 26, removedIn: 29 }),
  def({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', namespaced: false, verbs: ['create'] }),
  def({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', namespaced: false, verbs: ['create'] }),
  // SelfSubjectReview: beta (on by default) in 1.27, GA in 1.28; beta APIs are off by default from 1.28 on.
  def({ group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', singular: 'selfsubjectreview', namespaced: false, verbs: ['create'], introducedIn: 28 }),
  def({ group: 'authentication.k8s.io', version: 'v1beta1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', singular: 'selfsubjectreview', namespaced: false, verbs: ['create'], introducedIn: 27, removedIn: 28 }),
];

/** The resources a cluster at Kubernetes minor `minor` (1.minor) serves. */
export function servedResources(minor: number): ResourceDef[] {
  const served = ALL_RESOURCES.filter(
    (r) => (r.introducedIn === undefined || minor >= r.introducedIn) && (r.removedIn === undefined || minor < r.removedIn),
  );
  // A storage must have its storage version served, or nothing could be read back; fall back to the newest served.
  return served.map((r) =>
    served.some((s) => s.storage === r.storage && s.version === r.storageVersion)
      ? r
      : { ...r, storageVersion: r.version },
  );
}

/** The group/version string of a resource (`v1`, `apps/v1`). */
export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
