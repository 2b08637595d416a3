/**
 * Defaulting as the apiserver applies it (k8s.io/kubernetes `pkg/apis/*\/v1/defaults.go`, run on every decode, so on
 * create, update and patch alike), plus what create alone adds: the admission plugins' fields on pods (priority,
 * DefaultTolerationSeconds) and a Job's generated selector and labels. Fields are only ever filled in, never changed,
 * so defaulting an object twice changes nothing.
 */
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';

type Spec = Record<string, unknown>;

/** What the defaulting of one write depends on. */
export interface DefaultingOptions {
  /** The Kubernetes minor the server is at: defaults that arrived with a minor follow it. */
  minor: number;
  /** A create (admission defaults, generated selectors, initial status) rather than an update. */
  create: boolean;
}

/** Returns `obj` with the defaults of its kind filled in. */
export function applyDefaults(obj: KubeObject, options: DefaultingOptions): KubeObject {
  const spec = obj.spec ?? {};
  switch (obj.kind) {
    case 'Pod':
      return podDefaults(obj, options);
    case 'Deployment':
      return { ...obj, spec: withTemplateDefaults(deploymentSpecDefaults(spec)) };
    case 'ReplicaSet':
      return { ...obj, spec: withTemplateDefaults({ replicas: 1, ...spec }) };
    case 'StatefulSet':
      return { ...obj, spec: withTemplateDefaults(statefulSetSpecDefaults(spec, options.minor)) };
    case 'DaemonSet':
      return { ...obj, spec: withTemplateDefaults(daemonSetSpecDefaults(spec)) };
    case 'Job':
      return jobDefaults(obj, options);
    case 'CronJob':
      return { ...obj, spec: cronJobSpecDefaults(spec) };
    case 'HorizontalPodAutoscaler':
      return { ...obj, spec: hpaSpecDefaults(spec) };
    case 'Namespace':
      return {
        ...obj,
        metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name } },
        spec: { finalizers: ['kubernetes'], ...spec },
        status: { phase: 'Active', ...(options.create ? {} : (obj.status ?? {})) },
      };
    case 'Service':
      return { ...obj, spec: serviceSpecDefaults(spec) };
    case 'PersistentVolumeClaim':
      return { ...obj, spec: pvcSpecDefaults(spec), ...(options.create ? { status: { phase: 'Pending', ...(obj.status ?? {}) } } : {}) };
    case 'Secret':
      return (obj as unknown as Spec)['type'] ? obj : { ...obj, type: 'Opaque' };
    case 'Node':
      return nodeDefaults(obj);
    default:
      return obj;
  }
}

/** A pod template with the defaults of a pod spec (what controllers compare templates in). */
export function podTemplateDefaults(template: Spec): Spec {
  if (!isRecord(template['spec'])) return template;
  const spec = podSpecDefaults(template['spec']);
  return spec === template['spec'] ? template : { ...template, spec };
}

function withTemplateDefaults(spec: Spec): Spec {
  if (!isRecord(spec['template'])) return spec;
  const template = podTemplateDefaults(spec['template']);
  return template === spec['template'] ? spec : { ...spec, template };
}

/**
 * `obj` with `defaults` under it, or `obj` itself when it has every default already: defaulting an object that was
 * defaulted before allocates nothing, and unchanged parts keep their identity (cheap to compare on update).
 */
function fill(obj: Spec, defaults: Spec): Spec {
  for (const key in defaults) if (obj[key] === undefined) return { ...defaults, ...obj };
  return obj;
}

/** `list` mapped by `fn`, or `list` itself when `fn` returned every element unchanged. */
function mapSame(list: unknown[], fn: (item: unknown) => unknown): unknown[] {
  let out: unknown[] | undefined;
  list.forEach((item, i) => {
    const next = fn(item);
    if (next !== item && !out) out = list.slice(0, i);
    if (out) out.push(next);
  });
  return out ?? list;
}

/** `value` as a record, or an empty one. */
function rec(value: unknown): Spec {
  return isRecord(value) ? value : {};
}

function deploymentSpecDefaults(spec: Spec): Spec {
  const strategy: Spec = { type: 'RollingUpdate', ...rec(spec['strategy']) };
  if (strategy.type === 'RollingUpdate') {
    strategy['rollingUpdate'] = { maxUnavailable: '25%', maxSurge: '25%', ...rec(strategy['rollingUpdate']) };
  }
  return { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, ...spec, strategy };
}

function statefulSetSpecDefaults(spec: Spec, minor: number): Spec {
  const updateStrategy: Spec = { type: 'RollingUpdate', ...rec(spec['updateStrategy']) };
  if (updateStrategy.type === 'RollingUpdate') updateStrategy['rollingUpdate'] = { partition: 0, ...rec(updateStrategy['rollingUpdate']) };
  const claims = Array.isArray(spec['volumeClaimTemplates'])
    ? spec['volumeClaimTemplates'].map((c: unknown) => (isRecord(c) ? { ...c, spec: pvcSpecDefaults(rec(c['spec'])) } : c))
    : undefined;
  return {
    replicas: 1,
    podManagementPolicy: 'OrderedReady',
    revisionHistoryLimit: 10,
    // StatefulSetAutoDeletePVC is beta, on by default, from 1.27.
    ...(minor >= 27 ? { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain', ...rec(spec['persistentVolumeClaimRetentionPolicy']) } } : {}),
    ...spec,
    updateStrategy,
    ...(claims ? { volumeClaimTemplates: claims } : {}),
  };
}

function daemonSetSpecDefaults(spec: Spec): Spec {
  const updateStrategy: Spec = { type: 'RollingUpdate', ...rec(spec['updateStrategy']) };
  if (updateStrategy.type === 'RollingUpdate') {
    updateStrategy['rollingUpdate'] = { maxUnavailable: 1, maxSurge: 0, ...rec(updateStrategy['rollingUpdate']) };
  }
  return { revisionHistoryLimit: 10, ...spec, updateStrategy };
}

/**
 * SetDefaults_Job, and on create the selector the job strategy generates unless `manualSelector` is set: the
 * template is labelled with the job's uid and name (the `batch.kubernetes.io/` labels from 1.27, beside the legacy
 * ones) and the selector matches the uid, so a Job's pods are its own. Template labels the job defaults its own
 * labels from are the same map upstream, so those get the generated labels too.
 */
function jobDefaults(obj: KubeObject, options: DefaultingOptions): KubeObject {
  const given = obj.spec ?? {};
  const spec: Spec = withTemplateDefaults({
    ...(given['completions'] === undefined && given['parallelism'] === undefined ? { completions: 1 } : {}),
    parallelism: 1,
    backoffLimit: 6,
    completionMode: 'NonIndexed',
    suspend: false,
    // JobPodReplacementPolicy is beta, on by default, from 1.29.
    ...(options.minor >= 29 ? { podReplacementPolicy: given['podFailurePolicy'] ? 'Failed' : 'TerminatingOrFailed' } : {}),
    ...given,
  });
  const template = rec(spec['template']);
  const templateMeta = rec(template['metadata']);
  const templateLabels = isRecord(templateMeta['labels']) ? (templateMeta['labels'] as Record<string, string>) : undefined;
  let labels = templateLabels;
  let next = spec;
  if (options.create && given['manualSelector'] !== true) {
    const { uid, name } = obj.metadata;
    const generated: Record<string, string> =
      options.minor >= 27
        ? { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name }
        : { 'controller-uid': uid, 'job-name': name };
    const selectorKey = options.minor >= 27 ? 'batch.kubernetes.io/controller-uid' : 'controller-uid';
    labels = { ...generated, ...(templateLabels ?? {}) };
    const selector = rec(spec['selector']);
    next = {
      ...spec,
      selector: { ...selector, matchLabels: { [selectorKey]: uid, ...rec(selector['matchLabels']) } },
      template: { ...template, metadata: { ...templateMeta, labels } },
    };
  }
  const ownLabels = obj.metadata.labels ?? {};
  const metadata = templateLabels && Object.keys(ownLabels).length === 0 ? { ...obj.metadata, labels: { ...labels } } : obj.metadata;
  return { ...obj, metadata, spec: next };
}

function cronJobSpecDefaults(spec: Spec): Spec {
  const jobTemplate = rec(spec['jobTemplate']);
  const jobSpec = rec(jobTemplate['spec']);
  return {
    concurrencyPolicy: 'Allow',
    suspend: false,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
    ...spec,
    ...(isRecord(spec['jobTemplate']) ? { jobTemplate: { ...jobTemplate, spec: withTemplateDefaults(jobSpec) } } : {}),
  };
}

function hpaSpecDefaults(spec: Spec): Spec {
  const metrics = Array.isArray(spec['metrics']) && spec['metrics'].length > 0
    ? spec['metrics']
    : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  return { minReplicas: 1, ...spec, metrics };
}

/** SetDefaults_Service. Cluster IPs, IP families and node ports are the allocator's (see service-allocation.ts). */
function serviceSpecDefaults(given: Spec): Spec {
  const spec: Spec = { type: 'ClusterIP', sessionAffinity: 'None', ...given };
  const type = spec['type'];
  if (Array.isArray(spec['ports'])) {
    spec['ports'] = spec['ports'].map((p: unknown) =>
      isRecord(p)
        ? { protocol: 'TCP', ...p, ...(p['targetPort'] === undefined || p['targetPort'] === 0 || p['targetPort'] === '' ? { targetPort: p['port'] } : {}) }
        : p,
    );
  }
  if (spec['sessionAffinity'] === 'ClientIP') {
    const config = rec(spec['sessionAffinityConfig']);
    const clientIP = rec(config['clientIP']);
    spec['sessionAffinityConfig'] = { ...config, clientIP: { timeoutSeconds: 10800, ...clientIP } };
  } else delete spec['sessionAffinityConfig'];
  const external = type === 'NodePort' || type === 'LoadBalancer';
  if (external && !spec['externalTrafficPolicy']) spec['externalTrafficPolicy'] = 'Cluster';
  if ((external || type === 'ClusterIP') && !spec['internalTrafficPolicy']) spec['internalTrafficPolicy'] = 'Cluster';
  if (type === 'LoadBalancer' && spec['allocateLoadBalancerNodePorts'] === undefined) spec['allocateLoadBalancerNodePorts'] = true;
  return spec;
}

function pvcSpecDefaults(spec: Spec): Spec {
  return { volumeMode: 'Filesystem', ...spec };
}

function nodeDefaults(obj: KubeObject): KubeObject {
  const status = obj.status;
  if (!status || status['allocatable'] !== undefined || status['capacity'] === undefined) return obj;
  return { ...obj, status: { ...status, allocatable: status['capacity'] } };
}

/** The priority of the built-in classes (the Priority admission plugin resolves priorityClassName to these). */
const SYSTEM_PRIORITIES: Readonly<Record<string, number>> = {
  'system-node-critical': 2000001000,
  'system-cluster-critical': 2000000000,
};

/** SetDefaults_Pod and SetDefaults_PodSpec; on create the admission plugins' fields and the initial status. */
function podDefaults(obj: KubeObject, options: DefaultingOptions): KubeObject {
  const given = obj.spec ?? {};
  let spec = fill(podSpecDefaults(given), { enableServiceLinks: true });
  const containers = Array.isArray(spec['containers']) ? mapSame(spec['containers'], requestsFromLimits) : spec['containers'];
  const init = Array.isArray(spec['initContainers']) ? mapSame(spec['initContainers'], requestsFromLimits) : spec['initContainers'];
  if (containers !== spec['containers'] || init !== spec['initContainers']) {
    spec = { ...spec, containers, ...(init !== undefined ? { initContainers: init } : {}) };
  }
  if (!options.create) return spec === given ? obj : { ...obj, spec };
  const className = spec['priorityClassName'];
  const priority = typeof className === 'string' && className !== '' ? SYSTEM_PRIORITIES[className] : 0;
  if (spec['priority'] === undefined && priority !== undefined) spec = { ...spec, priority, preemptionPolicy: spec['preemptionPolicy'] ?? 'PreemptLowerPriority' };
  return { ...obj, spec: withServiceAccount(withDefaultTolerationSeconds(spec)), status: { phase: 'Pending', ...(obj.status ?? {}) } };
}

/** A pod's container without requests gets its limits as requests (SetDefaults_Pod; not in templates). */
function requestsFromLimits(c: unknown): unknown {
  if (!isRecord(c) || !isRecord(c['resources']) || !isRecord(c['resources']['limits'])) return c;
  const resources = c['resources'];
  const limits = rec(resources['limits']);
  const requests = rec(resources['requests']);
  if (Object.keys(limits).every((k) => requests[k] !== undefined)) return c;
  return { ...c, resources: { ...resources, requests: { ...limits, ...requests } } };
}

const POD_SPEC_DEFAULTS: Spec = {
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 30,
  dnsPolicy: 'ClusterFirst',
  schedulerName: 'default-scheduler',
  securityContext: {},
};

function podSpecDefaults(given: Spec): Spec {
  let spec = fill(given, POD_SPEC_DEFAULTS);
  const containers = Array.isArray(spec['containers']) ? mapSame(spec['containers'], containerDefaults) : [];
  const init = Array.isArray(spec['initContainers']) ? mapSame(spec['initContainers'], containerDefaults) : undefined;
  const volumes = Array.isArray(spec['volumes']) ? mapSame(spec['volumes'], volumeDefaults) : undefined;
  if (containers !== spec['containers'] || init !== spec['initContainers'] || volumes !== spec['volumes']) {
    spec = { ...spec, containers, ...(init ? { initContainers: init } : {}), ...(volumes ? { volumes } : {}) };
  }
  return spec;
}

/** Always for an image tagged `latest` or not tagged at all, IfNotPresent otherwise (a digest counts as pinned). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  if (tag === '' && at < 0) return 'Always';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function containerDefaults(c: unknown): unknown {
  if (!isRecord(c)) return c;
  let next = fill(c, {
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: typeof c['image'] === 'string' ? defaultPullPolicy(c['image']) : 'IfNotPresent',
    resources: {},
  });
  const set = (key: string, value: unknown) => {
    if (value !== next[key]) next = next === c ? { ...c, [key]: value } : { ...next, [key]: value };
  };
  if (Array.isArray(c['ports'])) set('ports', mapSame(c['ports'], (p) => (isRecord(p) ? fill(p, { protocol: 'TCP' }) : p)));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const given = c[probe];
    if (isRecord(given)) set(probe, probeDefaults(given));
  }
  return next;
}

function probeDefaults(probe: Spec): Spec {
  const next = fill(probe, { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  if (!isRecord(probe['httpGet'])) return next;
  const httpGet = fill(probe['httpGet'], { path: '/', scheme: 'HTTP' });
  return httpGet === probe['httpGet'] ? next : { ...next, httpGet };
}

function volumeDefaults(v: unknown): unknown {
  if (!isRecord(v)) return v;
  let source: string | undefined;
  for (const key in v) if (key !== 'name' && v[key] !== undefined) source = key;
  if (source === undefined) return { ...v, emptyDir: {} };
  const given = v[source];
  if (!isRecord(given)) return v;
  const filled = ['secret', 'configMap', 'downwardAPI', 'projected'].includes(source)
    ? fill(given, { defaultMode: 420 })
    : source === 'hostPath'
      ? fill(given, { type: '' })
      : given;
  return filled === given ? v : { ...v, [source]: filled };
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
function withDefaultTolerationSeconds(spec: Spec): Spec {
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
