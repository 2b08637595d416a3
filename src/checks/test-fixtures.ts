/**
 * Hand-built snapshots for the rules' unit tests: small builders with realistic defaults (a 1.30.4 cluster, nodes
 * of 4 CPU / 16 GiB / 110 pods, Ready pods), so that each test states only what it is about. Only tests import this.
 *
 * @module
 */
import { DEFAULT_BATCH_POLICY } from '../rollout/batches.ts';
import type { BatchPolicy } from '../rollout/batches.ts';
import type { Catalog } from '../versions/index.ts';
import { defaultCatalog } from '../versions/index.ts';
import { planChecks } from './plan.ts';
import { poolOf, isControlPlaneNode } from './pools.ts';
import { cpuMilli, memoryBytes } from './quantity.ts';
import type {
  ClusterSnapshot,
  Labels,
  NodeRecord,
  OwnerRef,
  PdbRecord,
  PodRecord,
  SchedulingConstraints,
  WorkloadRecord,
} from './snapshot-types.ts';
import type { CheckBaseline, CheckPhase, Finding, Rule, RuleInput } from './types.ts';

/** The day the fixtures' plans are made for: 1.30 and 1.31 are supported then. */
export const FIXTURE_NOW = Date.parse('2025-03-01T12:00:00Z');

/** A healthy `/readyz?verbose` body. */
export const HEALTHY_READYZ =
  '[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-informers ok\nreadyz check passed\n';

/** Options of {@link testNode}. */
export interface TestNodeOptions {
  readonly pool?: string;
  readonly controlPlane?: boolean;
  readonly kubelet?: string;
  readonly ready?: NodeRecord['ready'];
  readonly unschedulable?: boolean;
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: number;
  readonly labels?: Record<string, string>;
  readonly taints?: NodeRecord['taints'];
  readonly pressure?: readonly string[];
}

/** A node; pool `workers` unless told. */
export function testNode(name: string, o: TestNodeOptions = {}): NodeRecord {
  const labels: Labels = {
    'kubernetes.io/hostname': name,
    ...(o.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : { 'kup.dev/pool': o.pool ?? 'workers' }),
    ...(o.labels ?? {}),
  };
  return {
    name,
    labels,
    pool: poolOf(labels),
    role: isControlPlaneNode(labels) ? 'control-plane' : 'worker',
    unschedulable: o.unschedulable ?? false,
    ready: o.ready ?? 'True',
    pressure: o.pressure ?? [],
    taints:
      o.taints ?? (o.controlPlane ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : []),
    kubeletVersion: o.kubelet ?? 'v1.30.4',
    allocatable: {
      cpuMilli: cpuMilli(o.cpu ?? '4'),
      memoryBytes: memoryBytes(o.memory ?? '16Gi'),
      pods: o.pods ?? 110,
    },
  };
}

/** Options of {@link testPod}. */
export interface TestPodOptions {
  readonly namespace?: string;
  readonly node?: string;
  readonly phase?: string;
  readonly ready?: boolean;
  /** `Kind/name` of the controller, or none for a bare pod. */
  readonly owner?: string;
  readonly labels?: Labels;
  readonly cpu?: string;
  readonly memory?: string;
  readonly emptyDir?: boolean;
  readonly mirror?: boolean;
  readonly images?: readonly string[];
  readonly deletingAt?: number;
  readonly scheduling?: SchedulingConstraints;
  readonly pvcs?: readonly string[];
  readonly waitingReason?: string;
}

function owner(text: string | undefined): OwnerRef | undefined {
  if (text === undefined) return undefined;
  const [kind = '', name = ''] = text.split('/');
  return { kind, name };
}

/** A Running, Ready pod in `default` (labels are kept as given: pass a shared object for pods of one template). */
export function testPod(name: string, o: TestPodOptions = {}): PodRecord {
  const own = owner(o.owner);
  return {
    namespace: o.namespace ?? 'default',
    name,
    ...(o.node !== undefined ? { node: o.node } : {}),
    phase: o.phase ?? 'Running',
    ready: o.ready ?? (o.phase === undefined || o.phase === 'Running'),
    ...(o.deletingAt !== undefined ? { deletingAt: o.deletingAt } : {}),
    ...(own ? { owner: own } : {}),
    labels: o.labels ?? {},
    requests: { cpuMilli: cpuMilli(o.cpu ?? '100m'), memoryBytes: memoryBytes(o.memory ?? '128Mi') },
    emptyDir: o.emptyDir ?? false,
    mirror: o.mirror ?? false,
    ...(o.scheduling ? { scheduling: o.scheduling } : {}),
    ...(o.pvcs ? { pvcs: o.pvcs } : {}),
    ...(o.images ? { images: o.images } : {}),
    ...(o.waitingReason ? { waitingReason: o.waitingReason } : {}),
  };
}

/** Options of {@link testDeployment}. */
export interface TestDeploymentOptions {
  readonly namespace?: string;
  /** One pod per entry, on that node. @default one pod on `workers-0` */
  readonly nodes?: readonly string[];
  readonly replicas?: number;
  readonly cpu?: string;
  readonly memory?: string;
  readonly emptyDir?: boolean;
  readonly images?: readonly string[];
  readonly scheduling?: SchedulingConstraints;
  readonly ready?: boolean;
}

/** A Deployment, its ReplicaSet and its pods (labels `app: <name>`). */
export function testDeployment(
  name: string,
  o: TestDeploymentOptions = {},
): { workloads: WorkloadRecord[]; pods: PodRecord[] } {
  const namespace = o.namespace ?? 'default';
  const labels: Labels = { app: name };
  const nodes = o.nodes ?? ['workers-0'];
  const rs = `${name}-5d4f8`;
  return {
    workloads: [
      {
        kind: 'Deployment',
        namespace,
        name,
        replicas: o.replicas ?? nodes.length,
        readyReplicas: nodes.length,
        selector: { matchLabels: labels },
        templateLabels: labels,
        images: o.images ?? ['registry.example/app:1.0'],
      },
      {
        kind: 'ReplicaSet',
        namespace,
        name: rs,
        replicas: nodes.length,
        owner: { kind: 'Deployment', name },
        selector: { matchLabels: labels },
        templateLabels: labels,
        images: [],
      },
    ],
    pods: nodes.map((node, i) =>
      testPod(`${rs}-${i}`, {
        namespace,
        node,
        owner: `ReplicaSet/${rs}`,
        labels,
        ...(o.cpu ? { cpu: o.cpu } : {}),
        ...(o.memory ? { memory: o.memory } : {}),
        ...(o.emptyDir ? { emptyDir: true } : {}),
        ...(o.scheduling ? { scheduling: o.scheduling } : {}),
        ...(o.ready !== undefined ? { ready: o.ready } : {}),
      }),
    ),
  };
}

/** Options of {@link testPdb}. */
export interface TestPdbOptions {
  readonly namespace?: string;
  readonly selector?: Labels;
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
  readonly status?: Partial<PdbRecord['status']>;
}

/** A PodDisruptionBudget selecting `app: <name>` unless told; status all healthy with one disruption allowed. */
export function testPdb(name: string, o: TestPdbOptions = {}): PdbRecord {
  return {
    namespace: o.namespace ?? 'default',
    name,
    selector: { matchLabels: o.selector ?? { app: name } },
    ...(o.minAvailable !== undefined ? { minAvailable: o.minAvailable } : {}),
    ...(o.maxUnavailable !== undefined ? { maxUnavailable: o.maxUnavailable } : {}),
    status: { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1, ...(o.status ?? {}) },
  };
}

/** A snapshot of a healthy, empty 1.30.4 cluster, with the given parts. */
export function testSnapshot(parts: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    cluster: 'test',
    server: 'https://127.0.0.1:6443',
    takenAt: FIXTURE_NOW,
    gitVersion: 'v1.30.4',
    readyz: { ok: true, status: 200, body: HEALTHY_READYZ },
    metricsRead: true,
    deprecatedApiRequests: [],
    nodes: [],
    pods: [],
    workloads: [],
    pdbs: [],
    pvcs: [],
    terminatingNamespaces: [],
    lastApplied: [],
    problems: [],
    ...parts,
  };
}

/** Options of {@link ruleInput}. */
export interface RuleInputOptions {
  /** @default '1.31.4' */
  readonly target?: string;
  readonly phase?: CheckPhase;
  readonly batchPolicy?: BatchPolicy;
  readonly catalog?: Catalog;
  readonly now?: number;
  readonly allowExpired?: boolean;
  readonly baseline?: CheckBaseline;
  readonly quarantined?: readonly string[];
  readonly pending?: readonly string[];
}

/** A rule's input for a snapshot, with the plan made as the runner makes it. */
export function ruleInput(snapshot: ClusterSnapshot, o: RuleInputOptions = {}): RuleInput {
  const catalog = o.catalog ?? defaultCatalog();
  const phase = o.phase ?? 'precheck';
  const now = o.now ?? FIXTURE_NOW;
  const plan = planChecks(snapshot, {
    target: o.target ?? '1.31.4',
    phase,
    catalog,
    batchPolicy: o.batchPolicy ?? DEFAULT_BATCH_POLICY,
    now: new Date(now),
    ...(o.allowExpired !== undefined ? { allowExpired: o.allowExpired } : {}),
  });
  return {
    snapshot,
    plan,
    catalog,
    phase,
    now,
    ...(o.baseline ? { baseline: o.baseline } : {}),
    ...(o.quarantined ? { quarantined: o.quarantined } : {}),
    ...(o.pending ? { pending: o.pending } : {}),
  };
}

/** Runs a rule and returns its findings. */
export function run(rule: Rule, snapshot: ClusterSnapshot, o: RuleInputOptions = {}): readonly Finding[] {
  return rule.check(ruleInput(snapshot, o));
}

/** `severity rule Kind/ns/name,...` per finding: compact to assert on. */
export function summary(findings: readonly Finding[]): string[] {
  return findings.map((f) =>
    `${f.severity} ${f.rule} ${f.objects.map((o) => (o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`)).join(',')}`.trim(),
  );
}
