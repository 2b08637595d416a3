/**
 * From API objects (the typed models of @kubernetes/client-node) to the snapshot's compact records. Pure. A
 * {@link RecordConverter} interns label sets, selectors and scheduling constraints, so that the pods of one template
 * share one object each: that is what keeps a 50,000-pod snapshot small.
 *
 * Timestamps may be `Date`s (typed client) or RFC 3339 strings (raw JSON): both are read.
 *
 * @module
 */
import type {
  V1DaemonSet,
  V1Deployment,
  V1Node,
  V1NodeSelectorRequirement,
  V1ObjectMeta,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { containerFailures } from './container-failures.ts';
import { poolOf, isControlPlaneNode } from './pools.ts';
import { cpuMilli, memoryBytes } from './quantity.ts';
import type {
  IntOrPercent,
  LabelSelector,
  Labels,
  LastAppliedRecord,
  NodeRecord,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PdbRecord,
  PodRecord,
  PvcRecord,
  SchedulingConstraints,
  Taint,
  Toleration,
  WorkloadRecord,
} from './snapshot-types.ts';

/** The annotation `kubectl apply` keeps the applied object in. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** The annotation the kubelet puts on the API copy of a static pod. */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

const PRESSURE_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

/** A timestamp as ms since the epoch. */
export function timeOf(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const t = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

function intOrPercent(value: unknown): IntOrPercent | undefined {
  return typeof value === 'number' || typeof value === 'string' ? value : undefined;
}

/** Reads the apiVersion and kind of a last-applied configuration; `undefined` when absent or unreadable. */
export function lastAppliedOf(meta: V1ObjectMeta | undefined): { apiVersion: string; kind: string } | undefined {
  const text = meta?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { apiVersion, kind } = parsed as { apiVersion?: unknown; kind?: unknown };
    return typeof apiVersion === 'string' && typeof kind === 'string' ? { apiVersion, kind } : undefined;
  } catch {
    return undefined;
  }
}

/** Converts API objects to records, sharing identical label sets and constraints between records. */
export class RecordConverter {
  private readonly labelSets = new Map<string, Labels>();
  private readonly constraints = new Map<string, SchedulingConstraints>();
  private readonly strings = new Map<string, string>();

  /** One shared object per distinct label set. */
  labels(labels: Record<string, string> | undefined): Labels {
    const key = labels === undefined ? '{}' : JSON.stringify(labels);
    let shared = this.labelSets.get(key);
    if (shared === undefined) {
      shared = Object.freeze({ ...(labels ?? {}) });
      this.labelSets.set(key, shared);
    }
    return shared;
  }

  private str(s: string): string {
    const shared = this.strings.get(s);
    if (shared !== undefined) return shared;
    this.strings.set(s, s);
    return s;
  }

  /** A node. */
  node(node: V1Node): NodeRecord {
    const labels = this.labels(node.metadata?.labels);
    const readyCondition = node.status?.conditions?.find((c) => c.type === 'Ready');
    const status = readyCondition?.status;
    const ready: NodeRecord['ready'] = status === 'True' || status === 'False' ? status : 'Unknown';
    const allocatable = node.status?.allocatable ?? node.status?.capacity ?? {};
    const taints: Taint[] = (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      effect: t.effect,
      ...(t.value !== undefined && t.value !== null ? { value: t.value } : {}),
    }));
    const readySince = timeOf(readyCondition?.lastTransitionTime);
    const info = node.status?.nodeInfo;
    const kubeProxyVersion = info?.kubeProxyVersion;
    return {
      name: node.metadata?.name ?? '',
      labels,
      pool: poolOf(labels),
      role: isControlPlaneNode(labels) ? 'control-plane' : 'worker',
      unschedulable: node.spec?.unschedulable === true,
      ready,
      ...(readyCondition?.reason ? { readyReason: readyCondition.reason } : {}),
      ...(readySince !== undefined ? { readySince } : {}),
      pressure: (node.status?.conditions ?? [])
        .filter((c) => PRESSURE_CONDITIONS.includes(c.type) && c.status === 'True')
        .map((c) => c.type),
      taints,
      kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
      ...(kubeProxyVersion ? { kubeProxyVersion } : {}),
      ...(info?.containerRuntimeVersion ? { containerRuntimeVersion: info.containerRuntimeVersion } : {}),
      ...(info?.kernelVersion ? { kernelVersion: info.kernelVersion } : {}),
      ...(info?.osImage ? { osImage: info.osImage } : {}),
      allocatable: {
        cpuMilli: cpuMilli(allocatable['cpu']),
        memoryBytes: memoryBytes(allocatable['memory']),
        pods: Math.floor(Number(allocatable['pods'] ?? 110)) || 0,
      },
    };
  }

  private scheduling(pod: V1Pod): SchedulingConstraints | undefined {
    const spec = pod.spec;
    const nodeSelector = spec?.nodeSelector;
    const tolerations = spec?.tolerations;
    const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    const hasSelector = nodeSelector !== undefined && Object.keys(nodeSelector).length > 0;
    const hasTolerations = tolerations !== undefined && tolerations.length > 0;
    const hasAffinity = terms !== undefined && terms.length > 0;
    if (!hasSelector && !hasTolerations && !hasAffinity) return undefined;
    const value: SchedulingConstraints = {
      ...(hasSelector ? { nodeSelector: this.labels(nodeSelector) } : {}),
      ...(hasTolerations
        ? {
            tolerations: tolerations.map((t): Toleration => ({
              ...(t.key ? { key: t.key } : {}),
              ...(t.operator ? { operator: t.operator } : {}),
              ...(t.value ? { value: t.value } : {}),
              ...(t.effect ? { effect: t.effect } : {}),
            })),
          }
        : {}),
      ...(hasAffinity
        ? {
            nodeAffinity: terms.map((term): NodeSelectorTerm => ({
              ...(term.matchExpressions?.length ? { matchExpressions: term.matchExpressions.map(requirement) } : {}),
              ...(term.matchFields?.length ? { matchFields: term.matchFields.map(requirement) } : {}),
            })),
          }
        : {}),
    };
    const key = JSON.stringify(value);
    let shared = this.constraints.get(key);
    if (shared === undefined) {
      shared = value;
      this.constraints.set(key, shared);
    }
    return shared;
  }

  /** A pod. Images are kept only for kube-system pods (the control plane's versions come from them). */
  pod(pod: V1Pod): PodRecord {
    const meta = pod.metadata;
    const spec = pod.spec;
    const status = pod.status;
    let cpu = 0;
    let memory = 0;
    for (const c of spec?.containers ?? []) {
      cpu += cpuMilli(c.resources?.requests?.['cpu']);
      memory += memoryBytes(c.resources?.requests?.['memory']);
    }
    for (const c of spec?.initContainers ?? []) {
      cpu = Math.max(cpu, cpuMilli(c.resources?.requests?.['cpu']));
      memory = Math.max(memory, memoryBytes(c.resources?.requests?.['memory']));
    }
    cpu += cpuMilli(spec?.overhead?.['cpu']);
    memory += memoryBytes(spec?.overhead?.['memory']);
    const controller = meta?.ownerReferences?.find((r) => r.controller === true);
    const namespace = this.str(meta?.namespace ?? '');
    const deletingAt = timeOf(meta?.deletionTimestamp);
    const createdAt = timeOf(meta?.creationTimestamp);
    const pvcs = (spec?.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
    );
    const waiting = status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
    const failures = containerFailures([...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])]);
    const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
    const scheduling = this.scheduling(pod);
    return {
      namespace,
      name: meta?.name ?? '',
      ...(spec?.nodeName ? { node: this.str(spec.nodeName) } : {}),
      phase: this.str(status?.phase ?? 'Unknown'),
      ready: status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      ...(deletingAt !== undefined ? { deletingAt } : {}),
      ...(createdAt !== undefined ? { createdAt } : {}),
      ...(controller ? { owner: { kind: this.str(controller.kind), name: this.str(controller.name) } } : {}),
      labels: this.labels(meta?.labels),
      requests: { cpuMilli: cpu, memoryBytes: memory },
      emptyDir: (spec?.volumes ?? []).some((v) => v.emptyDir !== undefined && v.emptyDir !== null),
      mirror: meta?.annotations?.[MIRROR_ANNOTATION] !== undefined,
      ...(scheduling ? { scheduling } : {}),
      ...(pvcs.length > 0 ? { pvcs } : {}),
      ...(namespace === 'kube-system' ? { images: (spec?.containers ?? []).map((c) => c.image ?? '') } : {}),
      ...(waiting ? { waitingReason: waiting } : {}),
      ...(failures.length > 0 ? { failures } : {}),
      ...(scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' && scheduled.message
        ? { unschedulableMessage: scheduled.message }
        : {}),
    };
  }

  /** A Deployment, StatefulSet, DaemonSet or ReplicaSet. */
  workload(
    kind: WorkloadRecord['kind'],
    obj: V1Deployment | V1StatefulSet | V1DaemonSet | V1ReplicaSet,
  ): WorkloadRecord {
    const meta = obj.metadata;
    const spec = obj.spec;
    const owner = meta?.ownerReferences?.find((r) => r.controller === true);
    const replicas =
      spec !== undefined && 'replicas' in spec && typeof spec.replicas === 'number'
        ? spec.replicas
        : kind === 'DaemonSet'
          ? undefined
          : 1;
    const status = obj.status;
    const readyReplicas =
      status !== undefined && 'readyReplicas' in status && typeof status.readyReplicas === 'number'
        ? status.readyReplicas
        : status !== undefined && 'numberReady' in status && typeof status.numberReady === 'number'
          ? status.numberReady
          : undefined;
    const selector = this.selector(spec?.selector);
    return {
      kind,
      namespace: this.str(meta?.namespace ?? ''),
      name: meta?.name ?? '',
      ...(replicas !== undefined ? { replicas } : {}),
      ...(readyReplicas !== undefined ? { readyReplicas } : {}),
      ...(owner ? { owner: { kind: this.str(owner.kind), name: owner.name } } : {}),
      ...(selector ? { selector } : {}),
      templateLabels: this.labels(spec?.template?.metadata?.labels),
      images: kind === 'ReplicaSet' ? [] : (spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
    };
  }

  private selector(
    selector:
      | {
          matchLabels?: Record<string, string>;
          matchExpressions?: { key: string; operator: string; values?: string[] }[];
        }
      | undefined,
  ): LabelSelector | undefined {
    if (selector === undefined || selector === null) return undefined;
    return {
      ...(selector.matchLabels ? { matchLabels: this.labels(selector.matchLabels) } : {}),
      ...(selector.matchExpressions
        ? {
            matchExpressions: selector.matchExpressions.map((e) => ({
              key: e.key,
              operator: e.operator,
              ...(e.values ? { values: [...e.values] } : {}),
            })),
          }
        : {}),
    };
  }

  /** A PodDisruptionBudget. */
  pdb(pdb: V1PodDisruptionBudget): PdbRecord {
    const spec = pdb.spec;
    const status = pdb.status;
    const selector = this.selector(spec?.selector);
    const minAvailable = intOrPercent(spec?.minAvailable);
    const maxUnavailable = intOrPercent(spec?.maxUnavailable);
    const generation = pdb.metadata?.generation;
    const observedGeneration = status?.observedGeneration;
    return {
      namespace: this.str(pdb.metadata?.namespace ?? ''),
      name: pdb.metadata?.name ?? '',
      ...(selector ? { selector } : {}),
      ...(minAvailable !== undefined ? { minAvailable } : {}),
      ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
      ...(spec?.unhealthyPodEvictionPolicy ? { unhealthyPodEvictionPolicy: spec.unhealthyPodEvictionPolicy } : {}),
      ...(typeof generation === 'number' ? { generation } : {}),
      status: {
        currentHealthy: status?.currentHealthy ?? 0,
        desiredHealthy: status?.desiredHealthy ?? 0,
        expectedPods: status?.expectedPods ?? 0,
        disruptionsAllowed: status?.disruptionsAllowed ?? 0,
        ...(typeof observedGeneration === 'number' ? { observedGeneration } : {}),
      },
    };
  }

  /** A PersistentVolumeClaim. */
  pvc(pvc: V1PersistentVolumeClaim): PvcRecord {
    const createdAt = timeOf(pvc.metadata?.creationTimestamp);
    return {
      namespace: this.str(pvc.metadata?.namespace ?? ''),
      name: pvc.metadata?.name ?? '',
      phase: pvc.status?.phase ?? 'Pending',
      ...(pvc.spec?.storageClassName ? { storageClass: pvc.spec.storageClassName } : {}),
      ...(createdAt !== undefined ? { createdAt } : {}),
    };
  }

  /** The last-applied record of an object, when its annotation names an apiVersion `keep` accepts. */
  lastApplied(
    kind: string,
    meta: V1ObjectMeta | undefined,
    keep: (apiVersion: string, kind: string) => boolean,
  ): LastAppliedRecord | undefined {
    const applied = lastAppliedOf(meta);
    if (applied === undefined || !keep(applied.apiVersion, applied.kind || kind)) return undefined;
    return {
      kind: applied.kind || kind,
      ...(meta?.namespace ? { namespace: meta.namespace } : {}),
      name: meta?.name ?? '',
      apiVersion: applied.apiVersion,
    };
  }
}

/** A node selector requirement, copied so the record holds no part of the API object. */
function requirement(e: V1NodeSelectorRequirement): NodeSelectorRequirement {
  return { key: e.key, operator: e.operator, ...(e.values ? { values: [...e.values] } : {}) };
}
