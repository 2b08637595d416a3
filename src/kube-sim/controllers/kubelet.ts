/**
 * The simulated kubelets: one event-driven loop for every node, keyed by node name, acting only for nodes whose
 * Machine runs. What a kubelet does that an upgrade can see:
 *
 * - node status: Ready (True for a healthy running machine, False for a not-ready one) and the pressure conditions,
 *   capacity and allocatable, nodeInfo (versions, OS image, IDs), addresses; the Lease in kube-node-lease renewed every
 *   `timings.nodeHeartbeat`. A change of status is posted at once; an unchanged one (a new lastHeartbeatTime only) as
 *   rarely as upstream's kubelet does with leases, every 5 minutes scaled (7.5 x `nodeMonitorGrace`), and never more
 *   often than `nodeMonitorGrace / 2`: node writes are the expensive ones at 5,000 nodes. A stopped machine, or one
 *   whose kubelet is down (health `kubelet-down`), posts nothing: the node lifecycle controller notices the silence.
 * - pods: a pod bound to a node whose machine runs and is healthy goes Running and Ready after `timings.podStart`,
 *   with the status a real kubelet posts (conditions, container statuses, IPs from the node's pod CIDR, QoS class);
 *   a pod marked for deletion is finished after min(its grace period, `timings.podTermination`) by the kubelet's
 *   final delete (grace period 0). Pods on a machine that is down or unhealthy are left as they are, as a real
 *   kubelet that cannot run leaves them: the node lifecycle controller and the pod GC decide their fate.
 *
 * `nodeObjectFor` builds the Node a new machine's kubelet registers; `kubeletSync` nudges a node's kubelet when the
 * infrastructure changed its machine (the kubelets also poll every machine each heartbeat).
 */
import { createHash } from 'node:crypto';
import { rfc3339 } from '../api/registry.ts';
import { StatusError } from '../api/status.ts';
import type { KubeObject, ObjectInput } from '../model/wire.ts';
import { isRecord, objectKey } from '../model/wire.ts';
import type { Cancel, Machine, SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { cpuMillis, memoryBytes } from '../../k8s/quantity.ts';
import { imageIdFor, normalizeImage } from './container-images.ts';
import type { ContainerEvent, PodLife } from './container-faults.ts';
import { advancePodLife, beginPodLife, failingPodStatus, podLifeAwaitsRules, podLifeRecovered } from './container-faults.ts';
import { WorkQueue } from './work-queue.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';

/** The namespace of node Leases. */
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/**
 * Lease renewal period in zero-delay mode (`nodeHeartbeat` 0): a timer cannot fire continuously, so the kubelets
 * renew at upstream's own period (10 s); the node lifecycle controller does not wait on it in that mode.
 */
const ZERO_MODE_HEARTBEAT_MS = 10_000;


/** Upstream's node lease duration (seconds): what `spec.leaseDurationSeconds` says. */
const NODE_LEASE_DURATION_SECONDS = 40;

/** The Node object of a machine, as its kubelet registers it (metadata, spec and status). */
export interface NodeRegistration extends ObjectInput {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}

// --- nudges ------------------------------------------------------------------------------------

const nudgeListeners = new WeakMap<SimRuntime, Set<(nodeName: string) => void>>();

/**
 * Tells the simulated kubelet of `nodeName` (and the node lifecycle controller) that its machine changed: state,
 * health, versions. Safe to call for any name, before or after the controllers start.
 */
export function kubeletSync(runtime: SimRuntime, nodeName: string): void {
  for (const listener of nudgeListeners.get(runtime) ?? []) listener(nodeName);
}

/** Registers a listener for `kubeletSync` nudges (the kubelets and the node lifecycle controller); returns its removal. */
export function onKubeletSync(runtime: SimRuntime, listener: (nodeName: string) => void): () => void {
  let set = nudgeListeners.get(runtime);
  if (!set) nudgeListeners.set(runtime, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

// --- node identity -------------------------------------------------------------------------------

interface NodeNumbering {
  byName: Map<string, number>;
  used: Set<number>;
  next: number;
}

const numberings = new WeakMap<SimRuntime, NodeNumbering>();

/** The /24 of the `index`th node: 10.244.0.0/24 up to 10.244.255.0/24, then on into 10.245.0.0 and beyond. */
function podCidrFor(index: number): string {
  return `10.${(244 + (index >> 8)) % 256}.${index & 255}.0/24`;
}

function indexOfPodCidr(cidr: unknown): number | undefined {
  if (typeof cidr !== 'string') return undefined;
  const m = /^10\.(\d+)\.(\d+)\.0\/24$/.exec(cidr);
  if (!m) return undefined;
  return (((Number(m[1]) - 244 + 256) % 256) << 8) + Number(m[2]);
}

/** The node's InternalIP, from the same number as its pod CIDR (172.16.0.0/12). */
function nodeIpFor(index: number): string {
  const i = index + 10;
  return `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

/** A stable number per node name (its pod CIDR and address), taking over the numbers of existing Nodes. */
function nodeNumber(runtime: SimRuntime, name: string): number {
  let numbering = numberings.get(runtime);
  if (!numbering) {
    numbering = { byName: new Map(), used: new Set(), next: 0 };
    for (const node of runtime.store.all('core/nodes')) {
      const index = indexOfPodCidr(node.spec?.['podCIDR']);
      if (index === undefined) continue;
      numbering.byName.set(node.metadata.name, index);
      numbering.used.add(index);
    }
    numberings.set(runtime, numbering);
  }
  const known = numbering.byName.get(name);
  if (known !== undefined) return known;
  while (numbering.used.has(numbering.next)) numbering.next += 1;
  const index = numbering.next;
  numbering.used.add(index);
  numbering.byName.set(name, index);
  return index;
}

function hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function uuidFrom(text: string): string {
  const h = hex(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function minorOf(version: string): number {
  return Number(version.replace(/^v/, '').split('.')[1] ?? 0);
}

/** Kernel a machine image ships, for `nodeInfo.kernelVersion` (kubectl get nodes -o wide shows it). */
function kernelFor(machineImage: string): string {
  if (/ubuntu-?24/i.test(machineImage)) return '6.8.0-1015-aws';
  if (/ubuntu-?22/i.test(machineImage)) return '5.15.0-1068-aws';
  if (/ubuntu-?20/i.test(machineImage)) return '5.4.0-1103-aws';
  if (/bottlerocket/i.test(machineImage)) return '6.1.102';
  return '6.1.0-25-cloud-amd64';
}

/**
 * The container runtime a machine image ships, for `nodeInfo.containerRuntimeVersion`, as images built for
 * Kubernetes do (GKE's node images moved to containerd 2.0 with 1.33): an image that names its containerd
 * (`ubuntu-2204-containerd-1.7.22`) ships that one; one built for a Kubernetes version (`...-kube-v1.32.9`) ships
 * containerd 1.7 before 1.33 and 2.1 from it; any other image ships containerd 2.1.
 */
export function containerRuntimeFor(machineImage: string): string {
  const named = /containerd-?v?(\d+\.\d+(?:\.\d+)?)/i.exec(machineImage)?.[1];
  if (named !== undefined) return `containerd://${named}`;
  const kube = /kube-v?1\.(\d+)/i.exec(machineImage)?.[1];
  if (kube !== undefined && Number(kube) < 33) return 'containerd://1.7.22';
  return 'containerd://2.1.4';
}

/** CPU the kubelet keeps for the system, as GKE and EKS reserve it: 6% of the first core, 1% of the second, ... */
function reservedCpuMillis(capacity: number): number {
  const tiers: [number, number][] = [
    [1000, 0.06],
    [1000, 0.01],
    [2000, 0.005],
    [Infinity, 0.0025],
  ];
  let left = capacity;
  let reserved = 0;
  for (const [size, share] of tiers) {
    const part = Math.min(left, size);
    reserved += part * share;
    left -= part;
    if (left <= 0) break;
  }
  return Math.ceil(reserved);
}

function cpuText(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** An instance type for a capacity, when the pool does not name one (`kup.4cpu-16gi`). */
function instanceTypeFor(machine: Machine): string {
  const cpu = cpuText(safe(() => cpuMillis(machine.capacity.cpu), 0)).replace('m', 'm-');
  const memory = Math.round(safe(() => memoryBytes(machine.capacity.memory), 0) / 2 ** 30);
  return `kup.${cpu}cpu-${memory}gi`;
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** Whether a machine's kubelet runs and is healthy: it starts and finishes pods, and reports Ready. */
function kubeletReady(machine: Machine): boolean {
  return machine.state === 'running' && machine.health === 'healthy';
}

/** Whether a machine's kubelet process runs: it renews the Lease and posts node status (Ready or not). */
function kubeletPosts(machine: Machine): boolean {
  return machine.state === 'running' && machine.health !== 'kubelet-down';
}

/** The parts of a node's status a kubelet reports besides conditions (compared and shared between writes). */
const STATIC_STATUS_KEYS = ['addresses', 'allocatable', 'capacity', 'daemonEndpoints', 'nodeInfo'] as const;

function staticStatusFor(machine: Machine, index: number): Record<(typeof STATIC_STATUS_KEYS)[number], unknown> {
  const cpu = safe(() => cpuMillis(machine.capacity.cpu), 0);
  const memoryKi = Math.floor(safe(() => memoryBytes(machine.capacity.memory), 0) / 1024);
  // Allocatable is capacity minus the system reservation and the 100Mi hard-eviction threshold, as kubelets report.
  const allocatableMemoryKi = Math.max(0, memoryKi - 100 * 1024);
  const pods = String(machine.capacity.pods);
  const storageKi = 101_430_960;
  return {
    addresses: [
      { type: 'InternalIP', address: nodeIpFor(index) },
      { type: 'Hostname', address: machine.name },
    ],
    allocatable: {
      cpu: cpuText(cpu - reservedCpuMillis(cpu)),
      'ephemeral-storage': '93478772582',
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: `${allocatableMemoryKi}Ki`,
      pods,
    },
    capacity: {
      cpu: cpuText(cpu),
      'ephemeral-storage': `${storageKi}Ki`,
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: `${memoryKi}Ki`,
      pods,
    },
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: hex(`machine-id/${machine.name}`).slice(0, 32),
      systemUUID: uuidFrom(`system-uuid/${machine.name}`),
      // A new boot ID per boot: readyAt moves when the machine boots again.
      bootID: uuidFrom(`boot-id/${machine.name}/${machine.readyAt}`),
      kernelVersion: kernelFor(machine.machineImage),
      osImage: machine.machineImage,
      containerRuntimeVersion: containerRuntimeFor(machine.machineImage),
      kubeletVersion: `v${machine.kubeletVersion.replace(/^v/, '')}`,
      // kube-proxy stopped reporting its version in 1.33 (the field was never reliable).
      kubeProxyVersion: minorOf(machine.kubeletVersion) >= 33 ? '' : `v${machine.kubeletVersion.replace(/^v/, '')}`,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/** The conditions a kubelet owns, in the order it posts them, with the statuses a machine's health gives. */
function kubeletConditions(ready: boolean): { type: string; status: string; reason: string; message: string }[] {
  return [
    {
      type: 'MemoryPressure',
      status: 'False',
      reason: 'KubeletHasSufficientMemory',
      message: 'kubelet has sufficient memory available',
    },
    {
      type: 'DiskPressure',
      status: 'False',
      reason: 'KubeletHasNoDiskPressure',
      message: 'kubelet has no disk pressure',
    },
    {
      type: 'PIDPressure',
      status: 'False',
      reason: 'KubeletHasSufficientPID',
      message: 'kubelet has sufficient PID available',
    },
    ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message:
            'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
        },
  ];
}

/**
 * The Node a machine's kubelet registers: standard and role labels, the machine's own labels and taints, the pod
 * CIDR, and the status the kubelet posts first. A machine that is not (yet) a healthy running one registers NotReady
 * with the `node.kubernetes.io/not-ready:NoSchedule` taint, as a real kubelet registers.
 */
export function nodeObjectFor(machine: Machine, runtime: SimRuntime): NodeRegistration {
  const name = machine.name;
  const index = nodeNumber(runtime, name);
  const controlPlane = machine.role === 'control-plane';
  // A kubelet that is down now registered the node earlier, healthy: the node lifecycle controller notices the silence.
  const ready = kubeletReady(machine) || (machine.state === 'running' && machine.health === 'kubelet-down');
  const labels: Record<string, string> = {
    ...machine.labels,
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': machine.labels['node.kubernetes.io/instance-type'] ?? instanceTypeFor(machine),
    ...(machine.pool !== undefined ? { 'kup.dev/pool': machine.pool } : {}),
    ...(controlPlane
      ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }
      : {}),
  };
  const taints: { key: string; value?: string; effect: string }[] = [];
  const addTaint = (t: { key: string; value?: string; effect: string }) => {
    if (!taints.some((x) => x.key === t.key && x.effect === t.effect)) taints.push({ ...t });
  };
  if (controlPlane) addTaint({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' });
  for (const t of machine.taints) addTaint(t);
  if (!ready) addTaint({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
  const now = rfc3339(runtime.now());
  const cidr = podCidrFor(index);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels,
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: cidr,
      podCIDRs: [cidr],
      providerID: `kup://${name}`,
      ...(taints.length > 0 ? { taints } : {}),
    },
    status: {
      conditions: [
        {
          type: 'NetworkUnavailable',
          status: 'False',
          reason: 'RouteCreated',
          message: 'RouteController created a route',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
        ...kubeletConditions(ready).map((c) => ({ ...c, lastHeartbeatTime: now, lastTransitionTime: now })),
      ],
      ...staticStatusFor(machine, index),
    },
  };
}

// --- pod status ------------------------------------------------------------------------------------

function containersOf(
  spec: Record<string, unknown>,
  field: 'containers' | 'initContainers',
): Record<string, unknown>[] {
  const list = spec[field];
  return Array.isArray(list) ? (list as unknown[]).filter(isRecord) : [];
}

/** Upstream's QoS class: Guaranteed when every container's requests equal its cpu and memory limits, BestEffort when none has any. */
function qosClassOf(spec: Record<string, unknown>): string {
  const all = [...containersOf(spec, 'containers'), ...containersOf(spec, 'initContainers')];
  let any = false;
  let guaranteed = all.length > 0;
  for (const c of all) {
    const resources = isRecord(c['resources']) ? c['resources'] : {};
    const requests = isRecord(resources['requests']) ? resources['requests'] : {};
    const limits = isRecord(resources['limits']) ? resources['limits'] : {};
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) any = true;
    for (const [r, parse] of [
      ['cpu', cpuMillis],
      ['memory', memoryBytes],
    ] as const) {
      const limit = quantityText(limits[r]);
      const request = quantityText(requests[r]) ?? limit;
      if (limit === undefined || request === undefined || safe(() => parse(request) !== parse(limit), true))
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** A quantity as the API carries it (a string, or a number in JSON). */
function quantityText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

function podConditions(pod: KubeObject): Record<string, unknown>[] {
  const raw = pod.status?.['conditions'];
  return Array.isArray(raw) ? (raw as unknown[]).filter(isRecord) : [];
}

/**
 * The pod's conditions with the given types True (lastTransitionTime kept when already True), in the kubelet's
 * order, other conditions (DisruptionTarget, readiness gates) kept after them.
 */
function trueConditions(pod: KubeObject, types: readonly string[], time: string): Record<string, unknown>[] {
  const current = podConditions(pod);
  const set = types.map((type) => {
    const existing = current.find((c) => c['type'] === type);
    return existing?.['status'] === 'True'
      ? existing
      : { type, status: 'True', lastProbeTime: null, lastTransitionTime: time };
  });
  return [...set, ...current.filter((c) => !types.includes(String(c['type'])))];
}

function runningStatus(
  pod: KubeObject,
  machine: Machine,
  hostIp: string,
  podIp: string,
  now: number,
): Record<string, unknown> {
  const spec = pod.spec ?? {};
  const time = rfc3339(now);
  const uid = pod.metadata.uid;
  const types = [
    // PodReadyToStartContainers is on by default from 1.29 (beta).
    ...(minorOf(machine.kubeletVersion) >= 29 ? ['PodReadyToStartContainers'] : []),
    'Initialized',
    'Ready',
    'ContainersReady',
    'PodScheduled',
  ];
  const containerStatuses = containersOf(spec, 'containers').map((c) => {
    const image = normalizeImage(typeof c['image'] === 'string' ? c['image'] : '');
    return {
      containerID: `containerd://${hex(`container/${uid}/${String(c['name'])}/${now}`)}`,
      image,
      imageID: imageIdFor(image),
      lastState: {},
      name: c['name'],
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: time } },
    };
  });
  const initContainers = containersOf(spec, 'initContainers');
  const status: Record<string, unknown> = {
    ...pod.status,
    phase: 'Running',
    conditions: trueConditions(pod, types, time),
    hostIP: hostIp,
    hostIPs: [{ ip: hostIp }],
    podIP: podIp,
    podIPs: [{ ip: podIp }],
    startTime: typeof pod.status?.['startTime'] === 'string' ? pod.status['startTime'] : time,
    containerStatuses,
    qosClass: qosClassOf(spec),
  };
  if (initContainers.length > 0) {
    status['initContainerStatuses'] = initContainers.map((c) => {
      const image = normalizeImage(typeof c['image'] === 'string' ? c['image'] : '');
      const containerID = `containerd://${hex(`init/${uid}/${String(c['name'])}/${now}`)}`;
      return {
        containerID,
        image,
        imageID: imageIdFor(image),
        lastState: {},
        name: c['name'],
        ready: true,
        restartCount: 0,
        started: false,
        state: { terminated: { containerID, exitCode: 0, finishedAt: time, reason: 'Completed', startedAt: time } },
      };
    });
  }
  delete status['nominatedNodeName'];
  return status;
}

// --- the kubelets ------------------------------------------------------------------------------------

/** Pod IPs in use on one node's /24. */
interface IpPool {
  /** `10.244.3` for 10.244.3.0/24. */
  prefix: string;
  /** Host number -> pod key. */
  used: Map<number, string>;
  next: number;
}

/** What one node's kubelet remembers. */
interface Agent {
  leaseRenewedAt: number;
  statusPostedAt: number;
  /** The status object this kubelet last stored: unchanged since when the node's status is still this object. */
  postedStatus: unknown;
  /** The machine facts the posted status was built from. */
  postedFingerprint: string;
  /** Whether the machine ran healthy at the last sync: a change to true starts and finishes the node's pods. */
  runsPods: boolean;
  ips?: IpPool;
}

/** Starts the simulated kubelets of every machine; returns their stop function. */
export function startKubelets(runtime: SimRuntime): () => void {
  const kubelets = new Kubelets(runtime);
  kubelets.start();
  return () => kubelets.stop();
}

/**
 * The kubelets of every machine: what each remembers (its {@link Agent}), and their parts: the node's status and
 * lease, the pods (start, readiness, termination, addresses), and the store's events and the heartbeat that drive them.
 */
class Kubelets {
  private readonly store: ObjectStore;
  private readonly registry: SimRuntime['registry'];
  private readonly timings: SimRuntime['timings'];
  private readonly nodeDef = kindDef('Node');
  private readonly podDef = kindDef('Pod');
  private readonly leaseDef = kindDef('Lease');
  private readonly agents = new Map<string, Agent>();
  /** Pods waiting out `podStart` before they run. */
  private readonly starting = new Set<string>();
  /** Pods with failing containers (a container fault matched when they started), by pod key. */
  private readonly failing = new Map<string, PodLife>();
  /** When the kubelet began terminating each pod, ms. */
  private readonly terminatingSince = new Map<string, number>();
  private readonly nodes: WorkQueue;
  private readonly pods: WorkQueue;
  private cancelTick: Cancel = () => undefined;
  private stopWatching: (() => void)[] = [];

  constructor(private readonly runtime: SimRuntime) {
    const { store, registry, timings } = runtime;
    this.store = store;
    this.registry = registry;
    this.timings = timings;
    this.nodes = new WorkQueue(runtime, (name) => this.syncNode(name), { name: 'kubelet' });
    this.pods = new WorkQueue(runtime, (key) => this.syncPod(key), { name: 'kubelet-pods' });
  }

  start(): void {
    const { runtime } = this;
    const unsubscribe = this.store.subscribe((event) => this.onStoreEvent(event));
    const unsubscribeNudges = onKubeletSync(runtime, (name) => this.nodes.add(name));
    this.stopWatching = [unsubscribe, unsubscribeNudges];
    this.cancelTick = runtime.after(0, () => this.tick());
  }

  stop(): void {
    for (const stop of this.stopWatching) stop();
    this.cancelTick();
  }

  private heartbeatMs(): number {
    return this.timings.nodeHeartbeat > 0 ? this.timings.nodeHeartbeat : ZERO_MODE_HEARTBEAT_MS;
  }

  // An unchanged status is re-posted every nodeStatusReportFrequency (upstream: 5 min, scaled as the node timeouts
  // are: 300 s of 40 s grace); liveness comes from the Lease. Changes are posted at once.
  private statusMs(): number {
    const { timings } = this;
    return Math.max(this.heartbeatMs(), timings.nodeMonitorGrace / 2, (timings.nodeMonitorGrace * 300) / 40);
  }

  private agentOf(name: string): Agent {
    let agent = this.agents.get(name);
    if (!agent) {
      agent = {
        leaseRenewedAt: -Infinity,
        statusPostedAt: -Infinity,
        postedStatus: undefined,
        postedFingerprint: '',
        runsPods: false,
      };
      this.agents.set(name, agent);
    }
    return agent;
  }

  // --- node status and lease ---

  private syncNode(name: string): void {
    const machine = this.runtime.machines.get(name);
    const node = this.store.get('core/nodes', undefined, name);
    const agent = this.agentOf(name);
    // No kubelet process (stopped, still booting, kubelet down) or nothing registered: nothing is posted.
    if (!machine || !kubeletPosts(machine) || !node) {
      agent.runsPods = false;
      if (!machine && !node) this.agents.delete(name);
      return;
    }
    const now = this.runtime.now();
    if (now - agent.leaseRenewedAt >= this.heartbeatMs() / 2) this.renewLease(node, agent, now);
    this.postStatus(node, machine, agent, now);
    const runs = kubeletReady(machine);
    if (runs && !agent.runsPods) {
      for (const pod of this.store.byIndex('core/pods', 'spec.nodeName', name)) this.podNeedsWork(pod);
    }
    agent.runsPods = runs;
  }

  private renewLease(node: KubeObject, agent: Agent, now: number): void {
    const name = node.metadata.name;
    const renewTime = microTime(now);
    const ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }];
    const lease = this.store.get('coordination.k8s.io/leases', NODE_LEASE_NAMESPACE, name);
    if (!lease) {
      if (!this.store.get('core/namespaces', undefined, NODE_LEASE_NAMESPACE)) {
        // The apiserver creates kube-node-lease at start; a bare test runtime may not have it yet.
        this.registry.create(kindDef('Namespace'), undefined, { metadata: { name: NODE_LEASE_NAMESPACE } });
      }
      this.registry.create(this.leaseDef, NODE_LEASE_NAMESPACE, {
        metadata: { name, namespace: NODE_LEASE_NAMESPACE, ownerReferences },
        spec: { holderIdentity: name, leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS, renewTime },
      });
    } else {
      const owned = lease.metadata.ownerReferences?.[0]?.uid === node.metadata.uid;
      this.registry.update(this.leaseDef, NODE_LEASE_NAMESPACE, name, {
        ...lease,
        metadata: owned ? lease.metadata : { ...lease.metadata, ownerReferences },
        spec: { ...lease.spec, holderIdentity: name, renewTime },
      });
    }
    agent.leaseRenewedAt = now;
  }

  private postStatus(node: KubeObject, machine: Machine, agent: Agent, now: number): void {
    const index = nodeNumber(this.runtime, machine.name);
    const ready = kubeletReady(machine);
    const fingerprint = `${ready}|${machine.kubeletVersion}|${machine.machineImage}|${machine.capacity.cpu}|${machine.capacity.memory}|${machine.capacity.pods}|${machine.readyAt}|${index}`;
    const status = node.status ?? {};
    const untouched = status === agent.postedStatus && fingerprint === agent.postedFingerprint;
    const wanted = kubeletConditions(ready);
    const current = Array.isArray(status['conditions']) ? (status['conditions'] as unknown[]) : [];
    const statusChanged = wanted.some((w) => {
      const c = current.find((x) => isRecord(x) && x['type'] === w.type);
      return !isRecord(c) || c['status'] !== w.status || c['reason'] !== w.reason;
    });
    const heartbeatDue = now - agent.statusPostedAt >= this.statusMs() - this.heartbeatMs() / 2;
    if (untouched && !statusChanged && !heartbeatDue) return;

    const time = rfc3339(now);
    const conditions: unknown[] = [...current];
    for (const w of wanted) {
      const at = conditions.findIndex((x) => isRecord(x) && x['type'] === w.type);
      const existing = at >= 0 ? conditions[at] : undefined;
      const lastTransitionTime =
        isRecord(existing) && existing['status'] === w.status ? existing['lastTransitionTime'] : time;
      const next = {
        type: w.type,
        status: w.status,
        lastHeartbeatTime: time,
        lastTransitionTime,
        reason: w.reason,
        message: w.message,
      };
      if (at >= 0) conditions[at] = next;
      else conditions.push(next);
    }
    const nextStatus: Record<string, unknown> = { ...status, conditions };
    const fresh = staticStatusFor(machine, index);
    for (const key of STATIC_STATUS_KEYS) {
      // Keep the stored object when nothing changed: old versions in the watch history then share it.
      if (JSON.stringify(status[key]) !== JSON.stringify(fresh[key])) nextStatus[key] = fresh[key];
    }
    const stored = this.registry.update(
      this.nodeDef,
      undefined,
      node.metadata.name,
      { ...node, status: nextStatus },
      { subresource: 'status' },
    );
    agent.statusPostedAt = now;
    agent.postedStatus = stored.status;
    agent.postedFingerprint = fingerprint;
  }

  // --- pods ---

  /** Queues what a pod on a node that runs pods needs: a start after podStart, or a termination, or readiness back. */
  private podNeedsWork(pod: KubeObject): void {
    const key = objectKey(pod.metadata.namespace, pod.metadata.name);
    const phase = pod.status?.['phase'];
    if (pod.metadata.deletionTimestamp) {
      this.pods.add(key);
    } else if (this.failing.get(key)?.uid === pod.metadata.uid) {
      // A failing pod moves on its own timer; a nudge (its kubelet back) syncs it once.
      this.pods.add(key);
    } else if (phase === 'Pending' || phase === undefined) {
      if (this.starting.has(key)) return;
      const delay = this.timings.podStart;
      if (delay <= 0) {
        this.pods.add(key);
        return;
      }
      this.starting.add(key);
      this.runtime.after(delay, () => {
        this.starting.delete(key);
        // Started when podStart says, not after the keys queued ahead: a batch of new nodes starts hundreds of
        // pods at once, and through the queue the last of them came up 100 to 200 ms late. A timer is not a store
        // listener, so writing here is safe; anything that fails goes through the queue and its retries.
        try {
          this.syncPod(key);
        } catch {
          this.pods.add(key);
        }
      });
    } else if (phase === 'Running' && !podReady(pod)) {
      this.pods.add(key);
    }
  }

  private syncPod(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.store.get('core/pods', namespace, name);
    if (!pod) return;
    const nodeName = pod.spec?.['nodeName'];
    if (typeof nodeName !== 'string' || nodeName === '') return;
    const machine = this.runtime.machines.get(nodeName);
    const node = this.store.get('core/nodes', undefined, nodeName);
    if (!machine || !kubeletReady(machine) || !node) return;
    const now = this.runtime.now();
    try {
      if (pod.metadata.deletionTimestamp) {
        let since = this.terminatingSince.get(key);
        if (since === undefined) this.terminatingSince.set(key, (since = now));
        const graceMs = Math.min((pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000, this.timings.podTermination);
        const due = since + graceMs;
        if (now < due) {
          this.pods.addAfter(key, due - now);
          return;
        }
        // The kubelet's final delete: the containers are gone, the API object may go.
        this.registry.delete(this.podDef, namespace, name, {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
        return;
      }
      const phase = pod.status?.['phase'];
      let life = this.failing.get(key);
      if (life && life.uid !== pod.metadata.uid) {
        this.failing.delete(key);
        life = undefined;
      }
      if (!life && (phase === 'Pending' || phase === undefined)) {
        const begun = beginPodLife(pod, this.runtime.faults.containerFaults, machine.kubeletVersion, now);
        if (begun) {
          this.failing.set(key, (life = begun.life));
          this.recordContainerEvents(pod, begun.events);
        }
      }
      if (life) {
        this.syncFailingPod(key, pod, life, machine, node, now);
        return;
      }
      if (phase === 'Pending' || phase === undefined) {
        const hostIp = nodeIpFor(nodeNumber(this.runtime, nodeName));
        const podIp = pod.spec?.['hostNetwork'] === true ? hostIp : this.allocateIp(node, key);
        this.registry.update(
          this.podDef,
          namespace,
          name,
          { ...pod, status: runningStatus(pod, machine, hostIp, podIp, now) },
          { subresource: 'status' },
        );
      } else if (phase === 'Running' && !podReady(pod)) {
        const time = rfc3339(now);
        const statuses = Array.isArray(pod.status?.['containerStatuses'])
          ? (pod.status['containerStatuses'] as unknown[]).map((c) => (isRecord(c) ? { ...c, ready: true } : c))
          : [];
        // Readiness comes back in place: the conditions keep their order.
        const conditions = podConditions(pod).map((c) =>
          (c['type'] === 'Ready' || c['type'] === 'ContainersReady') && c['status'] !== 'True'
            ? { ...c, status: 'True', lastTransitionTime: time }
            : c,
        );
        this.registry.update(
          this.podDef,
          namespace,
          name,
          { ...pod, status: { ...pod.status, conditions, containerStatuses: statuses } },
          { subresource: 'status' },
        );
      }
    } catch (err) {
      // Deleted or replaced (new UID) meanwhile: the event for that will bring the pod back if it needs anything.
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  /**
   * A pod with failing containers: its containers move through their lives (pull, back-off, crash, restart) and the
   * status is posted when a step changed it; the queue comes back when the next step is due. Once every failing
   * container recovered, the pod is forgotten and runs as any other.
   */
  private syncFailingPod(key: string, pod: KubeObject, life: PodLife, machine: Machine, node: KubeObject, now: number): void {
    const fresh = pod.status?.['phase'] === 'Pending' || pod.status?.['phase'] === undefined;
    const { changed, events, next } = advancePodLife(life, pod, this.runtime.faults.containerFaults, machine.kubeletVersion, now);
    this.recordContainerEvents(pod, events);
    const unposted = fresh && !Array.isArray(pod.status?.['containerStatuses']);
    if (changed || unposted) {
      const nodeName = node.metadata.name;
      const hostIp = nodeIpFor(nodeNumber(this.runtime, nodeName));
      const existingIp = pod.status?.['podIP'];
      const podIp =
        pod.spec?.['hostNetwork'] === true ? hostIp : typeof existingIp === 'string' ? existingIp : this.allocateIp(node, key);
      const running = runningStatus(pod, machine, hostIp, podIp, now);
      // Containers that run on keep their start; only the failing ones' statuses change.
      const previous = Array.isArray(pod.status?.['containerStatuses']) ? (pod.status['containerStatuses'] as unknown[]).filter(isRecord) : [];
      if (previous.length > 0 && Array.isArray(running['containerStatuses']))
        running['containerStatuses'] = (running['containerStatuses'] as unknown[]).map((s) => {
          const before = isRecord(s) ? previous.find((p) => p['name'] === s['name'] && isRecord(p['state']) && isRecord(p['state']['running'])) : undefined;
          return before && before['ready'] === true ? before : s;
        });
      this.registry.update(this.podDef, pod.metadata.namespace, pod.metadata.name, { ...pod, status: failingPodStatus(life, pod, running) }, { subresource: 'status' });
    }
    if (podLifeRecovered(life)) {
      this.failing.delete(key);
      return;
    }
    if (next !== undefined && (life.wakeAt === undefined || life.wakeAt <= now || next < life.wakeAt)) {
      life.wakeAt = next;
      this.pods.addAfter(key, next - now);
    }
  }

  private recordContainerEvents(pod: KubeObject, events: readonly ContainerEvent[]): void {
    for (const e of events) this.runtime.recordEvent(pod, e.type, e.reason, e.message, 'kubelet');
  }

  private ipPool(node: KubeObject): IpPool {
    const agent = this.agentOf(node.metadata.name);
    const cidr = node.spec?.['podCIDR'];
    const prefix =
      typeof cidr === 'string' && /^\d+\.\d+\.\d+\.0\/24$/.test(cidr)
        ? cidr.slice(0, cidr.lastIndexOf('.'))
        : podCidrFor(nodeNumber(this.runtime, node.metadata.name)).replace(/\.0\/24$/, '');
    if (agent.ips?.prefix === prefix) return agent.ips;
    const pool: IpPool = { prefix, used: new Map(), next: 2 };
    for (const pod of this.store.byIndex('core/pods', 'spec.nodeName', node.metadata.name)) {
      const ip = pod.status?.['podIP'];
      if (typeof ip === 'string' && ip.startsWith(`${prefix}.`))
        pool.used.set(Number(ip.slice(prefix.length + 1)), objectKey(pod.metadata.namespace, pod.metadata.name));
    }
    agent.ips = pool;
    return pool;
  }

  /** The next free address of the node's /24 (.1 is the bridge); reused once all 253 are taken. */
  private allocateIp(node: KubeObject, key: string): string {
    const pool = this.ipPool(node);
    for (let tries = 0; tries < 253; tries++) {
      const host = pool.next;
      pool.next = host >= 254 ? 2 : host + 1;
      if (!pool.used.has(host)) {
        pool.used.set(host, key);
        return `${pool.prefix}.${host}`;
      }
    }
    return `${pool.prefix}.${pool.next}`;
  }

  private releaseIp(pod: KubeObject): void {
    const nodeName = pod.spec?.['nodeName'];
    const ip = pod.status?.['podIP'];
    if (typeof nodeName !== 'string' || typeof ip !== 'string') return;
    const pool = this.agents.get(nodeName)?.ips;
    if (!pool || !ip.startsWith(`${pool.prefix}.`)) return;
    const host = Number(ip.slice(pool.prefix.length + 1));
    if (pool.used.get(host) === objectKey(pod.metadata.namespace, pod.metadata.name)) pool.used.delete(host);
  }

  // --- events and the heartbeat ---

  private onStoreEvent(event: StoreEvent): void {
    if (event.storage === 'core/nodes') {
      // A node registered (or re-registered) for a machine: post its status and renew its lease now.
      if (event.type === 'ADDED' && this.runtime.machines.has(event.object.metadata.name))
        this.nodes.add(event.object.metadata.name);
      return;
    }
    if (event.storage !== 'core/pods') return;
    const pod = event.object;
    const key = objectKey(pod.metadata.namespace, pod.metadata.name);
    if (event.type === 'DELETED') {
      this.terminatingSince.delete(key);
      if (this.failing.get(key)?.uid === pod.metadata.uid) this.failing.delete(key);
      this.releaseIp(pod);
      return;
    }
    const nodeName = pod.spec?.['nodeName'];
    if (typeof nodeName !== 'string' || nodeName === '') return;
    const machine = this.runtime.machines.get(nodeName);
    if (!machine || !kubeletReady(machine)) return;
    const previous = event.previous;
    const relevant =
      event.type === 'ADDED' ||
      previous?.spec?.['nodeName'] !== nodeName ||
      previous.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp ||
      previous.metadata.deletionGracePeriodSeconds !== pod.metadata.deletionGracePeriodSeconds ||
      (pod.status?.['phase'] === 'Running' && !podReady(pod) && this.failing.get(key)?.uid !== pod.metadata.uid);
    if (relevant) this.podNeedsWork(pod);
  }

  private tick(): void {
    if (this.runtime.stopped()) return;
    // Lease renewals happen here, not behind queued pod work: real kubelets are separate processes that heartbeat
    // however busy the rest of the cluster is, so a busy simulation must not look like silent nodes.
    const now = this.runtime.now();
    for (const [name, machine] of this.runtime.machines) {
      const node = kubeletPosts(machine) ? this.store.get('core/nodes', undefined, name) : undefined;
      if (node) {
        try {
          this.renewLease(node, this.agentOf(name), now);
        } catch (err) {
          console.error(`kube-sim kubelet: ${name}: lease renewal failed: ${(err as Error).message}`);
        }
      }
      this.nodes.add(name);
    }
    // Readiness that fails only by a rule passes again at the next probe once the rule is gone.
    for (const [key, life] of this.failing) if (podLifeAwaitsRules(life)) this.pods.add(key);
    // Forget kubelets whose machine and node are both gone (syncNode drops them; names no longer polled stay here).
    for (const name of this.agents.keys()) if (!this.runtime.machines.has(name)) this.nodes.add(name);
    this.cancelTick = this.runtime.after(this.heartbeatMs(), () => this.tick());
  }
}

function podReady(pod: KubeObject): boolean {
  return podConditions(pod).some((c) => c['type'] === 'Ready' && c['status'] === 'True');
}

/** metav1.MicroTime: RFC 3339 with microseconds, as Lease renewTime is serialised. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
