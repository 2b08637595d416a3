/**
 * Scenarios built in code: large generated clusters for benchmarks (5,000 nodes, 50,000 pods) and the small demo
 * cluster behind `npm start`. Generation is deterministic for a seed, and sizes node capacity so the simulated
 * scheduler can place every pod.
 */
import { Checker, readVersion, readWholeNumber } from './checker.ts';
import {
  DEFAULT_CONTROL_PLANE_CAPACITY,
  DEFAULT_IMAGE,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_REQUESTS,
  DEFAULT_SYSTEM_COMPONENTS,
  DEFAULT_TERMINATION_GRACE_SECONDS,
  DEFAULT_TIMINGS,
  defaultMachineImage,
  noFaults,
} from './defaults.ts';
import { ScenarioError } from './errors.ts';
import { nodeName, podFitsNode, scenarioNodes } from './nodes.ts';
import { cpuMillis, memoryBytes } from '../../k8s/quantity.ts';
import type {
  DaemonSetWorkload,
  DeploymentWorkload,
  PdbSpec,
  PodWorkload,
  PoolSpec,
  Scenario,
  StatefulSetWorkload,
  WorkloadCommon,
  WorkloadSpec,
} from './types.ts';

/** What to generate. */
export interface GenerateScenarioOptions {
  /** Worker nodes across all pools (control-plane nodes come in addition). */
  nodes: number;
  /** Pods of all workloads, DaemonSet pods included (system add-ons the simulator runs are not counted). */
  pods: number;
  /**
   * Kubernetes version of the control plane and every kubelet.
   * @default "1.30.4"
   */
  version?: string;
  /**
   * Worker pools.
   * @default one per 500 nodes, from 1 to 10, never more than `nodes`
   */
  pools?: number;
  /**
   * Control-plane nodes.
   * @default 3
   */
  controlPlaneNodes?: number;
  /**
   * Seed of the pseudo-random choices: the same options give the same scenario.
   * @default 1
   */
  seed?: number;
  /**
   * Scenario name.
   * @default "generated-<nodes>n-<pods>p"
   */
  name?: string;
}

/** mulberry32: small, fast, and good enough to vary workload shapes. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** A workload's common fields with the scenario defaults; `labels` are added to `app: <name>`. */
function common(name: string, namespace: string, extra: Partial<WorkloadCommon> = {}): WorkloadCommon {
  const { labels, ...rest } = extra;
  return {
    name,
    namespace,
    labels: { app: name, ...labels },
    requests: { ...DEFAULT_REQUESTS },
    emptyDir: false,
    nodeSelector: {},
    tolerations: [],
    terminationGracePeriodSeconds: DEFAULT_TERMINATION_GRACE_SECONDS,
    image: DEFAULT_IMAGE,
    ...rest,
  };
}

function scenarioShell(name: string, version: string): Scenario {
  return {
    name,
    kubernetesVersion: version,
    controlPlane: {
      nodes: 1,
      machineImage: defaultMachineImage(version),
      capacity: { ...DEFAULT_CONTROL_PLANE_CAPACITY },
    },
    pools: [],
    workloads: [],
    legacyObjects: [],
    timings: { ...DEFAULT_TIMINGS },
    faults: noFaults(),
    systemComponents: { ...DEFAULT_SYSTEM_COMPONENTS, cni: { ...DEFAULT_SYSTEM_COMPONENTS.cni } },
  };
}

/** Node shapes of the generated pools, cycled: `general-1`, `compute-1`, `memory-1`, `batch-1`, `general-2`, ... */
const FAMILIES = [
  { family: 'general', cpu: 8, memoryGi: 32 },
  { family: 'compute', cpu: 16, memoryGi: 32 },
  { family: 'memory', cpu: 8, memoryGi: 64 },
  { family: 'batch', cpu: 16, memoryGi: 64 },
] as const;

const NODE_CLASS_LABEL = 'node-class';

const TEAMS = [
  'shop',
  'payments',
  'search',
  'identity',
  'media',
  'analytics',
  'ads',
  'platform',
  'growth',
  'support',
  'catalog',
  'checkout',
  'billing',
  'notifications',
  'recommendations',
  'inventory',
  'shipping',
  'reviews',
  'auth',
  'gateway',
] as const;

const APPS = [
  'frontend',
  'api',
  'worker',
  'cart',
  'orders',
  'users',
  'sessions',
  'images',
  'thumbnails',
  'indexer',
  'crawler',
  'mailer',
  'scheduler',
  'reports',
  'exporter',
  'webhooks',
  'ledger',
  'pricing',
  'quotes',
  'feeds',
  'uploader',
  'renderer',
  'tracker',
  'profiles',
  'graphql',
  'proxy',
  'cache-warmer',
  'sync',
  'audit',
  'events',
] as const;

const STATEFUL = ['postgres', 'redis', 'kafka', 'zookeeper', 'elasticsearch', 'rabbitmq', 'cassandra', 'nats'] as const;
const STATEFUL_REPLICAS = [3, 5, 3, 7, 3, 5, 3, 3] as const;

const CPU_REQUESTS = ['25m', '50m', '100m', '250m', '500m'] as const;
const MEMORY_REQUESTS = ['64Mi', '128Mi', '256Mi', '512Mi', '1Gi'] as const;

/** The largest Deployment the generator makes. */
const MAX_DEPLOYMENT = 200;

/** Share of node CPU and memory the generated pods may request: headroom for surge nodes and drains. */
const TARGET_UTILISATION = 0.5;

/** Splits `total` into `parts` whole numbers >= 1 in proportion to `weights` (largest remainder). */
function apportion(total: number, weights: readonly number[]): number[] {
  const parts = weights.length;
  const spare = total - parts;
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * spare);
  const out = exact.map((x) => 1 + Math.floor(x));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}

function checkOptions(
  options: GenerateScenarioOptions,
): Required<Omit<GenerateScenarioOptions, 'name'>> & { name: string } {
  const c = new Checker();
  const nodes = readWholeNumber(c, options.nodes, ['nodes'], 1) ?? 1;
  const pods = readWholeNumber(c, options.pods, ['pods'], 0) ?? 0;
  const version = readVersion(c, options.version, ['version']) ?? DEFAULT_KUBERNETES_VERSION;
  const pools =
    readWholeNumber(c, options.pools, ['pools'], 1, nodes) ??
    Math.min(nodes, Math.max(1, Math.min(10, Math.ceil(nodes / 500))));
  const controlPlaneNodes = readWholeNumber(c, options.controlPlaneNodes, ['controlPlaneNodes'], 1) ?? 3;
  const seed = readWholeNumber(c, options.seed, ['seed'], 0, 0xffff_ffff) ?? 1;
  if (c.issues.length > 0) throw new ScenarioError(c.issues, { source: 'generateScenario' });
  return { nodes, pods, version, pools, controlPlaneNodes, seed, name: options.name ?? `generated-${nodes}n-${pods}p` };
}

/**
 * A large, realistic cluster: `nodes` workers in pools of four node shapes and varied sizes, and exactly `pods` pods
 * in DaemonSets (node agents), a few StatefulSets, Deployments from 1 to 200 replicas across team namespaces (most
 * with PodDisruptionBudgets that allow at least one disruption, some with emptyDir), and a few bare pods. Node
 * capacity is raised when needed so that the pods request at most half of it.
 * @throws ScenarioError when an option is out of range (source `generateScenario`).
 */
export function generateScenario(options: GenerateScenarioOptions): Scenario {
  const o = checkOptions(options);
  const random = prng(o.seed);
  const scenario = scenarioShell(o.name, o.version);
  scenario.controlPlane.nodes = o.controlPlaneNodes;

  const sizes = apportion(
    o.nodes,
    Array.from({ length: o.pools }, () => 0.5 + random()),
  );
  scenario.pools = sizes.map((size, i): PoolSpec => {
    const shape = FAMILIES[i % FAMILIES.length] ?? FAMILIES[0];
    return {
      name: `${shape.family}-${Math.floor(i / FAMILIES.length) + 1}`,
      nodes: size,
      kubeletVersion: o.version,
      machineImage: defaultMachineImage(o.version),
      capacity: { cpu: String(shape.cpu), memory: `${shape.memoryGi}Gi`, pods: 110 },
      labels: { [NODE_CLASS_LABEL]: shape.family },
      taints: [],
    };
  });
  const nodes = scenarioNodes(scenario);

  // DaemonSets first: their pod count follows from the nodes. Node agents take at most a quarter of the pods.
  const daemonSets: DaemonSetWorkload[] = [
    {
      kind: 'DaemonSet',
      ...common('node-exporter', 'monitoring', {
        requests: { cpu: '50m', memory: '64Mi' },
        tolerations: [{ operator: 'Exists' }],
      }),
    },
    {
      kind: 'DaemonSet',
      ...common('log-agent', 'logging', { requests: { cpu: '100m', memory: '128Mi' }, emptyDir: true }),
    },
    {
      kind: 'DaemonSet',
      ...common('csi-node', 'storage', {
        requests: { cpu: '20m', memory: '32Mi' },
        nodeSelector: { [NODE_CLASS_LABEL]: 'general' },
      }),
    },
  ];
  const workloads: WorkloadSpec[] = [];
  let daemonPods = 0;
  for (const ds of daemonSets) {
    const count = nodes.filter((node) => podFitsNode(ds, node)).length;
    if (count > 0 && daemonPods + count <= Math.floor(o.pods / 4)) {
      workloads.push(ds);
      daemonPods += count;
    }
  }
  let remaining = o.pods - daemonPods;

  const bare = remaining >= 20 ? Math.min(5, Math.max(1, Math.floor(remaining / 10_000))) : 0;
  remaining -= bare;

  let statefulCount = remaining >= 10 ? Math.min(STATEFUL.length, Math.max(1, Math.floor(remaining / 5_000))) : 0;
  const statefulPods = (n: number): number => STATEFUL_REPLICAS.slice(0, n).reduce((a, b) => a + b, 0);
  while (statefulCount > 0 && statefulPods(statefulCount) > remaining / 2) statefulCount--;
  for (let i = 0; i < statefulCount; i++) {
    const sts: StatefulSetWorkload = {
      kind: 'StatefulSet',
      replicas: STATEFUL_REPLICAS[i] ?? 3,
      ...common(STATEFUL[i] ?? `store-${i}`, 'data', {
        requests: { cpu: '500m', memory: '1Gi' },
        pdb: { maxUnavailable: 1 },
        terminationGracePeriodSeconds: 60,
      }),
    };
    workloads.push(sts);
  }
  remaining -= statefulPods(statefulCount);

  // Deployment sizes are log-uniform: many small services, a few large ones.
  const deploymentSizes: number[] = [];
  while (remaining > 0) {
    const size = Math.min(remaining, Math.max(1, Math.round(Math.exp(random() * Math.log(MAX_DEPLOYMENT)))));
    deploymentSizes.push(size);
    remaining -= size;
  }
  const namespaceCount = Math.min(100, Math.max(1, Math.ceil(deploymentSizes.length / 30)));
  const namespaces = Array.from({ length: namespaceCount }, (_, i) => {
    const team = TEAMS[i % TEAMS.length] ?? 'team';
    return i < TEAMS.length ? team : `${team}-${Math.floor(i / TEAMS.length) + 1}`;
  });
  deploymentSizes.forEach((replicas, i) => {
    const app = APPS[i % APPS.length] ?? 'app';
    const name = i < APPS.length ? app : `${app}-${Math.floor(i / APPS.length) + 1}`;
    const namespace = pick(random, namespaces);
    const extra: Partial<WorkloadCommon> = {
      requests: { cpu: pick(random, CPU_REQUESTS), memory: pick(random, MEMORY_REQUESTS) },
      emptyDir: random() < 0.15,
      terminationGracePeriodSeconds: random() < 0.8 ? 30 : pick(random, [10, 60, 120]),
    };
    if (replicas >= 2 && random() < 0.65) extra.pdb = generatedPdb(random, replicas);
    const deployment: DeploymentWorkload = { kind: 'Deployment', replicas, ...common(name, namespace, extra) };
    workloads.push(deployment);
  });

  const firstWorker = scenario.pools[0];
  for (let i = 0; i < bare; i++) {
    const pod: PodWorkload = {
      kind: 'Pod',
      ...common(`debug-${i + 1}`, 'default', { terminationGracePeriodSeconds: 0 }),
    };
    // One bare pod is bound to a node, as `kubectl debug node/...` does.
    if (i === 0 && firstWorker !== undefined) pod.node = nodeName(firstWorker.name, 0);
    workloads.push(pod);
  }
  scenario.workloads = workloads;
  fitCapacity(scenario);
  return scenario;
}

/** A budget that always allows at least one disruption, so generated clusters drain. */
function generatedPdb(random: () => number, replicas: number): PdbSpec {
  const choice = Math.floor(random() * 4);
  const pdb: PdbSpec =
    choice === 0
      ? { maxUnavailable: 1 }
      : choice === 1
        ? { minAvailable: '50%' }
        : choice === 2
          ? { maxUnavailable: '25%' }
          : { minAvailable: replicas - 1 };
  if (random() < 0.1) pdb.unhealthyPodEvictionPolicy = 'AlwaysAllow';
  return pdb;
}

/** Raises worker CPU, memory and pod capacity so the workloads request at most TARGET_UTILISATION of each. */
function fitCapacity(scenario: Scenario): void {
  const nodes = scenarioNodes(scenario);
  const workers = nodes.filter((node) => node.role === 'worker');
  let cpu = 0;
  let memory = 0;
  let pods = 0;
  let daemonPodsPerWorker = 0;
  for (const w of scenario.workloads) {
    const count =
      w.kind === 'DaemonSet'
        ? workers.filter((node) => podFitsNode(w, node)).length
        : w.kind === 'Pod'
          ? 1
          : w.replicas;
    cpu += count * cpuMillis(w.requests.cpu);
    memory += count * memoryBytes(w.requests.memory);
    if (w.kind === 'DaemonSet') daemonPodsPerWorker++;
    else pods += count;
  }
  const cpuCapacity = workers.reduce((sum, node) => sum + cpuMillis(node.capacity.cpu), 0);
  const memoryCapacity = workers.reduce((sum, node) => sum + memoryBytes(node.capacity.memory), 0);
  const cpuFactor = Math.max(1, cpu / (TARGET_UTILISATION * cpuCapacity));
  const memoryFactor = Math.max(1, memory / (TARGET_UTILISATION * memoryCapacity));
  // Schedulers do not spread evenly: allow three times the average pods per node.
  const maxPods = Math.max(110, Math.ceil((3 * pods) / Math.max(1, workers.length)) + daemonPodsPerWorker);
  for (const pool of scenario.pools) {
    pool.capacity = {
      cpu: String(Math.ceil((cpuMillis(pool.capacity.cpu) / 1000) * cpuFactor)),
      memory: `${Math.ceil((memoryBytes(pool.capacity.memory) / 2 ** 30) * memoryFactor)}Gi`,
      pods: maxPods,
    };
  }
}

/**
 * The cluster `npm start` shows: Kubernetes 1.30.4, one control-plane node, two pools of three workers, a shop with
 * Deployments under PodDisruptionBudgets, a cache on emptyDir, a StatefulSet database, a log-agent DaemonSet, a bare
 * debug pod, and a PodDisruptionBudget last applied as policy/v1beta1.
 */
export function defaultDemoScenario(): Scenario {
  const version = DEFAULT_KUBERNETES_VERSION;
  const scenario = scenarioShell('demo', version);
  scenario.pools = [
    {
      name: 'general',
      nodes: 3,
      kubeletVersion: version,
      machineImage: defaultMachineImage(version),
      capacity: { cpu: '4', memory: '16Gi', pods: 110 },
      labels: { [NODE_CLASS_LABEL]: 'general' },
      taints: [],
    },
    {
      name: 'highmem',
      nodes: 3,
      kubeletVersion: version,
      machineImage: defaultMachineImage(version),
      capacity: { cpu: '4', memory: '32Gi', pods: 110 },
      labels: { [NODE_CLASS_LABEL]: 'highmem' },
      taints: [],
    },
  ];
  const small = { cpu: '100m', memory: '128Mi' };
  scenario.workloads = [
    { kind: 'Deployment', replicas: 3, ...common('frontend', 'shop', { requests: small, pdb: { maxUnavailable: 1 } }) },
    { kind: 'Deployment', replicas: 2, ...common('cart', 'shop', { requests: small, pdb: { minAvailable: 1 } }) },
    {
      kind: 'Deployment',
      replicas: 4,
      ...common('checkout', 'shop', { requests: small, pdb: { minAvailable: '50%' } }),
    },
    {
      kind: 'Deployment',
      replicas: 2,
      ...common('cache', 'shop', { requests: { cpu: '100m', memory: '512Mi' }, emptyDir: true }),
    },
    {
      kind: 'StatefulSet',
      replicas: 3,
      ...common('orders-db', 'shop', {
        requests: { cpu: '250m', memory: '1Gi' },
        pdb: { maxUnavailable: 1 },
        nodeSelector: { [NODE_CLASS_LABEL]: 'highmem' },
        terminationGracePeriodSeconds: 60,
      }),
    },
    {
      kind: 'DaemonSet',
      ...common('log-agent', 'logging', {
        requests: { cpu: '50m', memory: '64Mi' },
        tolerations: [{ operator: 'Exists' }],
      }),
    },
    { kind: 'Pod', node: nodeName('general', 0), ...common('debug', 'default', { terminationGracePeriodSeconds: 0 }) },
  ];
  scenario.legacyObjects = [
    {
      apiVersion: 'policy/v1beta1',
      kind: 'PodDisruptionBudget',
      namespace: 'shop',
      name: 'legacy-frontend-pdb',
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'frontend', track: 'canary' } } },
    },
  ];
  return scenario;
}
