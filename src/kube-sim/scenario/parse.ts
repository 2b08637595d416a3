/**
 * Scenario YAML (documented in SCHEMA.md) to a fully defaulted, validated `Scenario`. Every problem is collected and
 * reported at once, each with its path (`pools[1].nodes`) and, from YAML, its line; unknown keys are errors, with a
 * suggestion when they look like a typo.
 */
import { basename } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import {
  Checker,
  closest,
  didYouMean,
  field,
  isMapping,
  labelValueProblem,
  labelKeyProblem,
  readBoolean,
  readChoice,
  readDnsLabel,
  readDnsSubdomain,
  readLabels,
  readList,
  readMapping,
  readNumber,
  readString,
  readVersion,
  readWholeNumber,
  required,
} from './checker.ts';
import {
  DEFAULT_CONTROL_PLANE_CAPACITY,
  DEFAULT_IMAGE,
  DEFAULT_NAMESPACE,
  DEFAULT_POOL_CAPACITY,
  DEFAULT_REQUESTS,
  DEFAULT_SYSTEM_COMPONENTS,
  DEFAULT_TERMINATION_GRACE_SECONDS,
  DEFAULT_TIMINGS,
  ZERO_DELAY_TIMINGS,
  defaultMachineImage,
} from './defaults.ts';
import { readContainerFaultRule } from './container-fault-rules.ts';
import { describeValue, ScenarioError, type PathSegment, type ScenarioIssue } from './errors.ts';
import { generateScenario } from './generate.ts';
import { findLegacyApi, LEGACY_APIS } from './legacy-apis.ts';
import { CONTROL_PLANE_POOL, nodeName, RESERVED_NODE_LABELS } from './nodes.ts';
import { checkCpuQuantity, checkMemoryQuantity } from './quantity.ts';
import type {
  ContainerFaultRule,
  ControlPlaneSpec,
  FaultSpec,
  IntOrPercent,
  LegacyObjectSpec,
  NodeCapacity,
  PdbSpec,
  PoolSpec,
  ResourceRequests,
  Scenario,
  SystemComponents,
  Taint,
  TaintEffect,
  Timings,
  Toleration,
  UnhealthyPodEvictionPolicy,
  WorkloadCommon,
  WorkloadKind,
  WorkloadRef,
  WorkloadSpec,
} from './types.ts';

// The quantity helpers and the error class are part of this module's surface too: callers that parse scenarios
// usually need them, and the simulated scheduler reads requests with the same rules the parser checks.
export { cpuMillis, memoryBytes, quantityValue as parseQuantity } from '../../k8s/quantity.ts';
export { ScenarioError } from './errors.ts';

type At = readonly PathSegment[];

const SCENARIO_KEYS = [
  'name',
  'kubernetesVersion',
  'controlPlane',
  'pools',
  'workloads',
  'legacyObjects',
  'timings',
  'faults',
  'systemComponents',
  'generate',
] as const;
const GENERATED_KEYS = ['controlPlane', 'pools', 'workloads'] as const;
const GENERATE_KEYS = ['nodes', 'pods', 'pools', 'controlPlaneNodes', 'seed'] as const;
const CONTROL_PLANE_KEYS = ['nodes', 'machineImage', 'capacity'] as const;
const CAPACITY_KEYS = ['cpu', 'memory', 'pods'] as const;
const POOL_KEYS = ['name', 'nodes', 'kubeletVersion', 'machineImage', 'capacity', 'labels', 'taints'] as const;
const TAINT_KEYS = ['key', 'value', 'effect'] as const;
const TOLERATION_KEYS = ['key', 'operator', 'value', 'effect', 'tolerationSeconds'] as const;
const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'Pod'];
const COMMON_WORKLOAD_KEYS = [
  'kind',
  'name',
  'namespace',
  'labels',
  'requests',
  'emptyDir',
  'pdb',
  'nodeSelector',
  'tolerations',
  'terminationGracePeriodSeconds',
  'image',
] as const;
const REQUEST_KEYS = ['cpu', 'memory'] as const;
const PDB_KEYS = ['minAvailable', 'maxUnavailable', 'unhealthyPodEvictionPolicy'] as const;
const LEGACY_KEYS = ['apiVersion', 'kind', 'namespace', 'name', 'spec', 'fields'] as const;
const TIMING_KEYS = [
  'podStart',
  'podTermination',
  'nodeBoot',
  'nodeDrainPoll',
  'componentRestart',
  'apiUnavailable',
  'nodeHeartbeat',
  'nodeMonitorGrace',
  'watchHistory',
] as const satisfies readonly (keyof Timings)[];
const FAULT_KEYS = [
  'apiErrorRate',
  'apiLatencyMs',
  'dropWatchesEveryMs',
  'nodesNeverReady',
  'nodesNotReady',
  'nodesKubeletDown',
  'containerFaults',
  'evictionRefused',
  'snapshotFailure',
] as const;
const WORKLOAD_REF_KEYS = ['namespace', 'name'] as const;
const SYSTEM_KEYS = ['coreDnsVersion', 'cni'] as const;
const CNI_KEYS = ['name', 'version'] as const;
const TAINT_EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const EVICTION_POLICIES: readonly UnhealthyPodEvictionPolicy[] = ['IfHealthyBudget', 'AlwaysAllow'];

/**
 * Parses a scenario written in YAML (see SCHEMA.md).
 * @param source - where the text came from (a file name), used in messages and as the default scenario name.
 * @throws ScenarioError listing every problem, each with its path and line.
 */
export function parseScenario(text: string, source?: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error): ScenarioIssue => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return {
        path: '',
        segments: [],
        problem: `invalid YAML at line ${line}, column ${col}: ${error.message}`,
        line,
        column: col,
      };
    });
    throw new ScenarioError(issues, { source });
  }
  let input: unknown;
  try {
    input = doc.toJS();
  } catch (cause) {
    // Alias bombs ("excessive alias count") surface here.
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ScenarioError([{ path: '', segments: [], problem: `invalid YAML: ${message}` }], { source, cause });
  }
  const c = new Checker();
  const scenario = readScenario(c, input, defaultName(source));
  if (c.issues.length > 0 || scenario === undefined) {
    const issues = c.issues.map((issue) => ({ ...issue, ...locate(doc, lineCounter, issue.segments) }));
    // Checks run section by section; the reader wants them top to bottom (a stable sort keeps ties in check order).
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new ScenarioError(issues, { source });
  }
  return scenario;
}

/**
 * Validates and defaults a scenario given as plain data (parsed JSON or YAML, or an object literal). A `Scenario`
 * passes through unchanged, so this also checks scenarios built in code.
 * @throws ScenarioError listing every problem.
 */
export function scenarioFromObject(obj: unknown, source?: string): Scenario {
  const c = new Checker();
  const scenario = readScenario(c, obj, defaultName(source));
  if (c.issues.length > 0 || scenario === undefined) throw new ScenarioError(c.issues, { source });
  return scenario;
}

/** `examples/ha-two-pools.yaml` -> `ha-two-pools`; `scenario` when the file name is not a DNS label. */
function defaultName(source: string | undefined): string {
  if (source === undefined) return 'scenario';
  const name = basename(source).replace(/\.(ya?ml|json)$/i, '');
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63 ? name : 'scenario';
}

/** The line and column of the key or list item at `segments`, or of the nearest enclosing one that exists. */
function locate(
  doc: Document,
  lineCounter: LineCounter,
  segments: readonly PathSegment[],
): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let offset: number | undefined = isMap(node) || isSeq(node) || isScalar(node) ? node.range?.[0] : undefined;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === segment);
      if (pair === undefined) break;
      offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? offset) : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!(isMap(item) || isSeq(item) || isScalar(item))) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** The parts of a scenario that follow from its nodes and workloads, to check references against. */
interface Topology {
  /** Pool name (and `control-plane`) -> node count. */
  nodeCounts: Map<string, number>;
  workloads: WorkloadSpec[];
}

function readScenario(c: Checker, input: unknown, defaultName: string): Scenario | undefined {
  // `x-` keys hold YAML anchors for reuse (`x-small: &small {...}`), as in Compose files.
  const root = readMapping(c, input, [], SCENARIO_KEYS, {}, /^x-/);
  if (root === undefined) return undefined;
  const name = readDnsLabel(c, field(root, 'name'), ['name']) ?? defaultName;
  const rawVersion = field(root, 'kubernetesVersion');
  const version =
    rawVersion === undefined
      ? required(c, ['kubernetesVersion'], 'the control-plane version, e.g. "1.30.4"')
      : readVersion(c, rawVersion, ['kubernetesVersion']);
  // A placeholder lets the rest be checked; the scenario is discarded anyway.
  const kubernetesVersion = version ?? '0.0.0';

  let controlPlane: ControlPlaneSpec;
  let pools: PoolSpec[];
  let workloads: WorkloadSpec[];
  const rawGenerate = field(root, 'generate');
  if (rawGenerate !== undefined) {
    for (const key of GENERATED_KEYS) {
      if (field(root, key) !== undefined) {
        c.report([key], 'cannot be combined with generate: the generator makes the control plane, pools and workloads');
      }
    }
    const generated = readGenerate(c, rawGenerate, version);
    controlPlane = generated?.controlPlane ?? readControlPlane(c, undefined, kubernetesVersion);
    pools = generated?.pools ?? [];
    workloads = generated?.workloads ?? [];
  } else {
    controlPlane = readControlPlane(c, field(root, 'controlPlane'), kubernetesVersion);
    pools = readPools(c, field(root, 'pools'), kubernetesVersion);
    const nodeCounts = countNodes(controlPlane, pools);
    workloads = readWorkloads(c, field(root, 'workloads'), nodeCounts);
  }
  const topology: Topology = { nodeCounts: countNodes(controlPlane, pools), workloads };
  return {
    name,
    kubernetesVersion,
    controlPlane,
    pools,
    workloads,
    legacyObjects: readLegacyObjects(c, field(root, 'legacyObjects'), workloads),
    timings: readTimings(c, field(root, 'timings')),
    faults: readFaults(c, field(root, 'faults'), topology),
    systemComponents: readSystemComponents(c, field(root, 'systemComponents')),
  };
}

function countNodes(controlPlane: ControlPlaneSpec, pools: readonly PoolSpec[]): Map<string, number> {
  const counts = new Map<string, number>([[CONTROL_PLANE_POOL, controlPlane.nodes]]);
  for (const pool of pools) if (!counts.has(pool.name)) counts.set(pool.name, pool.nodes);
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// generate, controlPlane, pools

function readGenerate(
  c: Checker,
  value: unknown,
  version: string | undefined,
): Pick<Scenario, 'controlPlane' | 'pools' | 'workloads'> | undefined {
  const at = ['generate'];
  const g = readMapping(c, value, at, GENERATE_KEYS);
  if (g === undefined) return undefined;
  const before = c.issues.length;
  const nodes =
    readWholeNumber(c, field(g, 'nodes'), [...at, 'nodes'], 0) ??
    required(c, [...at, 'nodes'], 'worker nodes to generate');
  const pods =
    readWholeNumber(c, field(g, 'pods'), [...at, 'pods'], 0) ?? required(c, [...at, 'pods'], 'pods to generate');
  const pools = readWholeNumber(c, field(g, 'pools'), [...at, 'pools'], 0);
  const controlPlaneNodes = readWholeNumber(c, field(g, 'controlPlaneNodes'), [...at, 'controlPlaneNodes'], 0);
  const seed = readWholeNumber(c, field(g, 'seed'), [...at, 'seed'], 0);
  if (c.issues.length > before || version === undefined || nodes === undefined || pods === undefined) return undefined;
  try {
    const options = { nodes, pods, version, ...(pools === undefined ? {} : { pools }) };
    return generateScenario({
      ...options,
      ...(controlPlaneNodes === undefined ? {} : { controlPlaneNodes }),
      ...(seed === undefined ? {} : { seed }),
    });
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    for (const issue of error.issues) c.report([...at, ...issue.segments], issue.problem);
    return undefined;
  }
}

function readControlPlane(c: Checker, value: unknown, version: string): ControlPlaneSpec {
  const at = ['controlPlane'];
  const cp = value === undefined ? {} : (readMapping(c, value, at, CONTROL_PLANE_KEYS) ?? {});
  return {
    nodes: readWholeNumber(c, field(cp, 'nodes'), [...at, 'nodes'], 1) ?? 1,
    machineImage: readImageName(c, field(cp, 'machineImage'), [...at, 'machineImage']) ?? defaultMachineImage(version),
    capacity: readCapacity(c, field(cp, 'capacity'), [...at, 'capacity'], DEFAULT_CONTROL_PLANE_CAPACITY),
  };
}

/** An image or machine-image name: non-empty, no whitespace. */
function readImageName(c: Checker, value: unknown, at: At): string | undefined {
  const s = readString(c, value, at, 'an image name');
  if (s === undefined) return undefined;
  if (s === '' || /\s/.test(s)) {
    c.report(at, `must be a non-empty image name without spaces, got ${describeValue(s)}`);
    return undefined;
  }
  return s;
}

function readCapacity(c: Checker, value: unknown, at: At, defaults: Readonly<NodeCapacity>): NodeCapacity {
  const cap = value === undefined ? {} : (readMapping(c, value, at, CAPACITY_KEYS) ?? {});
  return {
    cpu: readQuantity(c, field(cap, 'cpu'), [...at, 'cpu'], 'cpu', true) ?? defaults.cpu,
    memory: readQuantity(c, field(cap, 'memory'), [...at, 'memory'], 'memory', true) ?? defaults.memory,
    pods: readWholeNumber(c, field(cap, 'pods'), [...at, 'pods'], 1) ?? defaults.pods,
  };
}

function readQuantity(
  c: Checker,
  value: unknown,
  at: At,
  resource: 'cpu' | 'memory',
  positive: boolean,
): string | undefined {
  if (value === undefined) return undefined;
  const check = resource === 'cpu' ? checkCpuQuantity(value, positive) : checkMemoryQuantity(value, positive);
  if (check.ok) return check.value;
  c.report(at, check.problem);
  return undefined;
}

function readPools(c: Checker, value: unknown, version: string): PoolSpec[] {
  const list = readList(c, value, ['pools']) ?? [];
  const pools: PoolSpec[] = [];
  const seen = new Map<string, number>();
  list.forEach((item, i) => {
    const at = ['pools', i];
    const p = readMapping(c, item, at, POOL_KEYS);
    if (p === undefined) return;
    const rawName = field(p, 'name');
    const name =
      rawName === undefined
        ? required(c, [...at, 'name'], 'a DNS-1123 label')
        : readDnsLabel(c, rawName, [...at, 'name']);
    const rawNodes = field(p, 'nodes');
    const nodes =
      rawNodes === undefined
        ? required(c, [...at, 'nodes'], 'worker nodes in the pool')
        : readWholeNumber(c, rawNodes, [...at, 'nodes'], 0);
    if (name !== undefined) {
      const other = seen.get(name);
      if (name === CONTROL_PLANE_POOL)
        c.report([...at, 'name'], `"${CONTROL_PLANE_POOL}" is reserved for the control-plane nodes`);
      else if (other !== undefined)
        c.report([...at, 'name'], `duplicate pool name ${JSON.stringify(name)} (also pools[${other}])`);
      else seen.set(name, i);
      // Node names are also hostname label values: at most 63 characters.
      if (nodes !== undefined && nodes > 0 && nodeName(name, nodes - 1).length > 63) {
        c.report([...at, 'name'], `is too long: node names "${nodeName(name, nodes - 1)}" must fit in 63 characters`);
      }
    }
    const kubeletVersion = readVersion(c, field(p, 'kubeletVersion'), [...at, 'kubeletVersion']) ?? version;
    const labels = readLabels(c, field(p, 'labels'), [...at, 'labels']) ?? {};
    for (const key of Object.keys(labels)) {
      if (RESERVED_NODE_LABELS.includes(key))
        c.report([...at, 'labels', key], 'is set by the simulator on every node and cannot be set by a pool');
    }
    pools.push({
      name: name ?? `pool-${i}`,
      nodes: nodes ?? 0,
      kubeletVersion,
      machineImage:
        readImageName(c, field(p, 'machineImage'), [...at, 'machineImage']) ?? defaultMachineImage(kubeletVersion),
      capacity: readCapacity(c, field(p, 'capacity'), [...at, 'capacity'], DEFAULT_POOL_CAPACITY),
      labels,
      taints: readTaints(c, field(p, 'taints'), [...at, 'taints']),
    });
  });
  return pools;
}

function readTaints(c: Checker, value: unknown, at: At): Taint[] {
  const list = readList(c, value, at) ?? [];
  const taints: Taint[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const t = readMapping(c, item, [...at, i], TAINT_KEYS);
    if (t === undefined) return;
    const key = readLabelKey(c, field(t, 'key'), [...at, i, 'key']) ?? required(c, [...at, i, 'key'], 'the taint key');
    const value = readTaintValue(c, field(t, 'value'), [...at, i, 'value']);
    const rawEffect = field(t, 'effect');
    const effect =
      rawEffect === undefined
        ? required(c, [...at, i, 'effect'], TAINT_EFFECTS.join(', '))
        : readChoice(c, rawEffect, [...at, i, 'effect'], TAINT_EFFECTS);
    if (key === undefined || effect === undefined) return;
    if (seen.has(`${key}:${effect}`)) c.report([...at, i], `duplicate taint ${key}:${effect}`);
    seen.add(`${key}:${effect}`);
    taints.push(value === undefined ? { key, effect } : { key, value, effect });
  });
  return taints;
}

function readLabelKey(c: Checker, value: unknown, at: At): string | undefined {
  const s = readString(c, value, at, 'a label key');
  if (s === undefined) return undefined;
  const problem = labelKeyProblem(s);
  if (problem !== undefined) {
    c.report(at, problem);
    return undefined;
  }
  return s;
}

/** A taint or toleration value: a label value; YAML numbers and booleans must be quoted. */
function readTaintValue(c: Checker, value: unknown, at: At): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') {
    c.report(at, `must be a string (quote it: "${String(value)}"), got ${String(value)}`);
    return undefined;
  }
  const s = readString(c, value, at, 'a string');
  if (s === undefined) return undefined;
  const problem = labelValueProblem(s);
  if (problem !== undefined) {
    c.report(at, problem);
    return undefined;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// workloads

const MISPLACED: Readonly<Record<WorkloadKind, Readonly<Record<string, string>>>> = {
  Deployment: { node: 'only a bare Pod can name its node; use nodeSelector' },
  StatefulSet: { node: 'only a bare Pod can name its node; use nodeSelector' },
  DaemonSet: {
    replicas: 'not allowed for a DaemonSet: it runs one pod on every node its nodeSelector and tolerations allow',
    node: 'only a bare Pod can name its node; use nodeSelector',
  },
  Pod: { replicas: 'not allowed for a bare Pod: it is one pod (use a Deployment for replicas)' },
};

function workloadKeys(kind: WorkloadKind | undefined): readonly string[] {
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
      return [...COMMON_WORKLOAD_KEYS, 'replicas'];
    case 'DaemonSet':
      return COMMON_WORKLOAD_KEYS;
    case 'Pod':
      return [...COMMON_WORKLOAD_KEYS, 'node'];
    case undefined:
      return [...COMMON_WORKLOAD_KEYS, 'replicas', 'node'];
  }
}

function readWorkloads(c: Checker, value: unknown, nodeCounts: ReadonlyMap<string, number>): WorkloadSpec[] {
  const list = readList(c, value, ['workloads']) ?? [];
  const workloads: WorkloadSpec[] = [];
  const seen = new Map<string, number>();
  const indexes: number[] = [];
  list.forEach((item, i) => {
    const at = ['workloads', i];
    const kindValue = isMapping(item) ? field(item, 'kind') : undefined;
    const kind =
      kindValue === undefined
        ? isMapping(item)
          ? required(c, [...at, 'kind'], WORKLOAD_KINDS.join(', '))
          : undefined
        : readChoice(c, kindValue, [...at, 'kind'], WORKLOAD_KINDS);
    const w = readMapping(c, item, at, workloadKeys(kind), kind === undefined ? {} : MISPLACED[kind]);
    if (w === undefined) return;
    const common = readWorkloadCommon(c, w, at);
    if (common === undefined || kind === undefined) return;
    const key = `${common.namespace}/${common.name}`;
    const other = seen.get(key);
    if (other !== undefined) {
      c.report(
        [...at, 'name'],
        `duplicate workload ${key} (also workloads[${other}]); names must be unique within a namespace`,
      );
    }
    seen.set(key, i);
    let workload: WorkloadSpec;
    switch (kind) {
      case 'Deployment':
      case 'StatefulSet':
        workload = { kind, replicas: readWholeNumber(c, field(w, 'replicas'), [...at, 'replicas'], 0) ?? 1, ...common };
        break;
      case 'DaemonSet':
        workload = { kind, ...common };
        break;
      case 'Pod': {
        const node = readNodeRef(c, field(w, 'node'), [...at, 'node'], nodeCounts);
        workload = node === undefined ? { kind, ...common } : { kind, node, ...common };
        break;
      }
    }
    workloads.push(workload);
    indexes.push(i);
  });
  checkPodNames(c, workloads, indexes);
  return workloads;
}

/** A bare pod named like a StatefulSet's pod (`db-0`) would collide with it. */
function checkPodNames(c: Checker, workloads: readonly WorkloadSpec[], indexes: readonly number[]): void {
  const statefulPods = new Map<string, number>();
  workloads.forEach((w, i) => {
    if (w.kind !== 'StatefulSet') return;
    for (let ordinal = 0; ordinal < w.replicas; ordinal++)
      statefulPods.set(`${w.namespace}/${w.name}-${ordinal}`, indexes[i] ?? i);
  });
  workloads.forEach((w, i) => {
    if (w.kind !== 'Pod') return;
    const owner = statefulPods.get(`${w.namespace}/${w.name}`);
    if (owner !== undefined) {
      c.report(
        ['workloads', indexes[i] ?? i, 'name'],
        `pod name ${w.namespace}/${w.name} is also a pod of the StatefulSet in workloads[${owner}]`,
      );
    }
  });
}

function readWorkloadCommon(c: Checker, w: Record<string, unknown>, at: At): WorkloadCommon | undefined {
  const rawName = field(w, 'name');
  const name =
    rawName === undefined
      ? required(c, [...at, 'name'], 'a DNS-1123 label')
      : readDnsLabel(c, rawName, [...at, 'name']);
  const namespace = readDnsLabel(c, field(w, 'namespace'), [...at, 'namespace']) ?? DEFAULT_NAMESPACE;
  const labels = readLabels(c, field(w, 'labels'), [...at, 'labels']) ?? {};
  const pdb = readPdb(c, field(w, 'pdb'), [...at, 'pdb']);
  const common: WorkloadCommon = {
    name: name ?? '',
    namespace,
    labels: { app: name ?? '', ...labels },
    requests: readRequests(c, field(w, 'requests'), [...at, 'requests']),
    emptyDir: readBoolean(c, field(w, 'emptyDir'), [...at, 'emptyDir']) ?? false,
    nodeSelector: readLabels(c, field(w, 'nodeSelector'), [...at, 'nodeSelector']) ?? {},
    tolerations: readTolerations(c, field(w, 'tolerations'), [...at, 'tolerations']),
    terminationGracePeriodSeconds:
      readWholeNumber(c, field(w, 'terminationGracePeriodSeconds'), [...at, 'terminationGracePeriodSeconds'], 0) ??
      DEFAULT_TERMINATION_GRACE_SECONDS,
    image: readImageName(c, field(w, 'image'), [...at, 'image']) ?? DEFAULT_IMAGE,
  };
  if (pdb !== undefined) common.pdb = pdb;
  return name === undefined ? undefined : common;
}

function readRequests(c: Checker, value: unknown, at: At): ResourceRequests {
  const r = value === undefined ? {} : (readMapping(c, value, at, REQUEST_KEYS) ?? {});
  return {
    cpu: readQuantity(c, field(r, 'cpu'), [...at, 'cpu'], 'cpu', false) ?? DEFAULT_REQUESTS.cpu,
    memory: readQuantity(c, field(r, 'memory'), [...at, 'memory'], 'memory', false) ?? DEFAULT_REQUESTS.memory,
  };
}

function readIntOrPercent(c: Checker, value: unknown, at: At): IntOrPercent | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^(\d+)%$/.exec(value);
    if (m && Number(m[1]) <= 100) return `${Number(m[1])}%`;
    if (/^\d+$/.test(value)) {
      c.report(
        at,
        `must be a whole number or a percentage like "50%", got the string ${JSON.stringify(value)} (write ${value} without quotes)`,
      );
      return undefined;
    }
  }
  c.report(at, `must be a whole number >= 0 or a percentage from "0%" to "100%", got ${describeValue(value)}`);
  return undefined;
}

function readPdb(c: Checker, value: unknown, at: At): PdbSpec | undefined {
  if (value === undefined) return undefined;
  const p = readMapping(c, value, at, PDB_KEYS);
  if (p === undefined) return undefined;
  const rawMin = field(p, 'minAvailable');
  const rawMax = field(p, 'maxUnavailable');
  const minAvailable = readIntOrPercent(c, rawMin, [...at, 'minAvailable']);
  const maxUnavailable = readIntOrPercent(c, rawMax, [...at, 'maxUnavailable']);
  const policy = readChoice(
    c,
    field(p, 'unhealthyPodEvictionPolicy'),
    [...at, 'unhealthyPodEvictionPolicy'],
    EVICTION_POLICIES,
  );
  if (rawMin !== undefined && rawMax !== undefined) {
    c.report(at, 'must set exactly one of minAvailable or maxUnavailable, not both');
    return undefined;
  }
  if (rawMin === undefined && rawMax === undefined) {
    c.report(at, 'must set exactly one of minAvailable or maxUnavailable');
    return undefined;
  }
  const extra = policy === undefined ? {} : { unhealthyPodEvictionPolicy: policy };
  if (minAvailable !== undefined) return { minAvailable, ...extra };
  if (maxUnavailable !== undefined) return { maxUnavailable, ...extra };
  return undefined;
}

function readTolerations(c: Checker, value: unknown, at: At): Toleration[] {
  const list = readList(c, value, at) ?? [];
  const tolerations: Toleration[] = [];
  list.forEach((item, i) => {
    const t = readMapping(c, item, [...at, i], TOLERATION_KEYS);
    if (t === undefined) return;
    const key = readLabelKey(c, field(t, 'key'), [...at, i, 'key']);
    const operator =
      readChoice(c, field(t, 'operator'), [...at, i, 'operator'], ['Equal', 'Exists'] as const) ?? 'Equal';
    const value = readTaintValue(c, field(t, 'value'), [...at, i, 'value']);
    const effect = readChoice(c, field(t, 'effect'), [...at, i, 'effect'], TAINT_EFFECTS);
    const seconds = readWholeNumber(c, field(t, 'tolerationSeconds'), [...at, i, 'tolerationSeconds'], 0);
    if (operator === 'Exists' && value !== undefined && value !== '') {
      c.report([...at, i, 'value'], 'must be empty when operator is Exists');
    }
    if (operator === 'Equal' && field(t, 'key') === undefined) {
      c.report(
        [...at, i, 'key'],
        'is required unless operator is Exists (an empty key with Exists tolerates every taint)',
      );
    }
    if (seconds !== undefined && effect !== 'NoExecute') {
      c.report([...at, i, 'tolerationSeconds'], 'is only allowed with effect NoExecute');
    }
    const toleration: Toleration = { operator };
    if (key !== undefined) toleration.key = key;
    if (value !== undefined) toleration.value = value;
    if (effect !== undefined) toleration.effect = effect;
    if (seconds !== undefined) toleration.tolerationSeconds = seconds;
    tolerations.push(toleration);
  });
  return tolerations;
}

/** How a node reference may point beyond the nodes the scenario starts with. */
interface NodeRefOptions {
  /** `pool/*`: every node of the pool, including machines created later (kept as written). */
  wildcard?: boolean;
  /** `<pool>-<n>` with n past the pool's size: a machine created later under that name (a surge replacement). */
  future?: boolean;
}

/**
 * A node given as its name (`general-2`, `control-plane-0`) or as `pool/index` (`general/2`, `control-plane/0`),
 * resolved to its name.
 */
function readNodeRef(
  c: Checker,
  value: unknown,
  at: At,
  nodeCounts: ReadonlyMap<string, number>,
  options: NodeRefOptions = {},
): string | undefined {
  const ref = readString(c, value, at, 'a node name or pool/index');
  if (ref === undefined) return undefined;
  const wildcard = /^(.+)\/\*$/.exec(ref)?.[1];
  if (options.wildcard === true && wildcard !== undefined && nodeCounts.has(wildcard)) return ref;
  const m = /^(.+)[/-](\d+)$/.exec(ref);
  const pool = m?.[1] ?? wildcard;
  const index = m === null ? NaN : Number(m[2]);
  const count = pool === undefined ? undefined : nodeCounts.get(pool);
  if (pool !== undefined && count !== undefined && m !== null) {
    if (index < count || options.future === true) return nodeName(pool, index);
    c.report(
      at,
      `pool ${JSON.stringify(pool)} has ${count} node${count === 1 ? '' : 's'}${count > 0 ? ` (indexes 0-${count - 1})` : ''}, got ${JSON.stringify(ref)}`,
    );
    return undefined;
  }
  const forms =
    options.wildcard === true ? ', written pool/index, or pool/* for every node of a pool' : ', or written pool/index';
  // Suggest the same index in the pool whose name is closest (`genral-1` -> `general-1`).
  const near = pool === undefined ? undefined : closest(pool, nodeCounts.keys());
  const nearCount = near === undefined ? 0 : (nodeCounts.get(near) ?? 0);
  let hint = '';
  if (near !== undefined && wildcard !== undefined && options.wildcard === true)
    hint = `; did you mean ${JSON.stringify(`${near}/*`)}?`;
  else if (near !== undefined && (index < nearCount || options.future === true))
    hint = `; did you mean ${JSON.stringify(nodeName(near, index))}?`;
  c.report(
    at,
    `unknown node ${JSON.stringify(ref)}: nodes are named <pool>-<index> ("general-0") or control-plane-<index>${forms}${hint}`,
  );
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// legacyObjects

const WORKLOAD_LEGACY_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const LEGACY_RESERVED_FIELDS: readonly string[] = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

function readLegacyObjects(c: Checker, value: unknown, workloads: readonly WorkloadSpec[]): LegacyObjectSpec[] {
  const list = readList(c, value, ['legacyObjects']) ?? [];
  const objects: LegacyObjectSpec[] = [];
  const seen = new Map<string, number>();
  const taken = new Map<string, string>();
  workloads.forEach((w) => {
    taken.set(`${w.kind}/${w.namespace}/${w.name}`, `the ${w.kind} ${w.namespace}/${w.name} in workloads`);
    if (w.pdb !== undefined)
      taken.set(`PodDisruptionBudget/${w.namespace}/${w.name}`, `the PDB of the ${w.kind} ${w.namespace}/${w.name}`);
  });
  const kinds = [...new Set(LEGACY_APIS.map((api) => api.kind))];
  list.forEach((item, i) => {
    const at = ['legacyObjects', i];
    const o = readMapping(c, item, at, LEGACY_KEYS);
    if (o === undefined) return;
    const rawApiVersion = field(o, 'apiVersion');
    const rawKind = field(o, 'kind');
    const apiVersion =
      rawApiVersion === undefined
        ? required(c, [...at, 'apiVersion'], 'a removed group/version such as "policy/v1beta1"')
        : readString(c, rawApiVersion, [...at, 'apiVersion']);
    const kind =
      rawKind === undefined
        ? required(c, [...at, 'kind'], 'e.g. "PodDisruptionBudget"')
        : readString(c, rawKind, [...at, 'kind']);
    const rawName = field(o, 'name');
    const name =
      rawName === undefined
        ? required(c, [...at, 'name'], 'the object name')
        : readDnsSubdomain(c, rawName, [...at, 'name']);
    const spec = readObjectBody(c, field(o, 'spec'), [...at, 'spec']);
    const fields = readObjectBody(c, field(o, 'fields'), [...at, 'fields']);
    for (const key of Object.keys(fields ?? {})) {
      if (LEGACY_RESERVED_FIELDS.includes(key))
        c.report([...at, 'fields', key], `cannot be set in fields${key === 'spec' ? '; use spec' : ''}`);
    }
    if (apiVersion === undefined || kind === undefined) return;
    const api = findLegacyApi(apiVersion, kind);
    if (api === undefined) {
      const versions = LEGACY_APIS.filter((a) => a.kind === kind).map((a) => JSON.stringify(a.apiVersion));
      if (versions.length === 0) {
        c.report(
          [...at, 'kind'],
          `${JSON.stringify(kind)} has no removed API version kube-sim knows${didYouMean(kind, kinds)}`,
        );
      } else {
        c.report(
          [...at, 'apiVersion'],
          `${JSON.stringify(apiVersion)} is not a removed version of ${kind}; use one of ${versions.join(', ')}`,
        );
      }
      return;
    }
    const rawNamespace = field(o, 'namespace');
    let namespace: string | undefined;
    if (api.namespaced) namespace = readDnsLabel(c, rawNamespace, [...at, 'namespace']) ?? DEFAULT_NAMESPACE;
    else if (rawNamespace !== undefined) c.report([...at, 'namespace'], `must not be set: ${kind} is cluster-scoped`);
    if (name === undefined) return;
    const key = `${kind}/${namespace ?? ''}/${name}`;
    const other = seen.get(key);
    if (other !== undefined)
      c.report(
        [...at, 'name'],
        `duplicate ${kind} ${namespace === undefined ? name : `${namespace}/${name}`} (also legacyObjects[${other}])`,
      );
    seen.set(key, i);
    const clash = WORKLOAD_LEGACY_KINDS.has(kind) || kind === 'PodDisruptionBudget' ? taken.get(key) : undefined;
    if (clash !== undefined) c.report([...at, 'name'], `is the same object as ${clash}`);
    const object: LegacyObjectSpec = { apiVersion, kind, name };
    if (namespace !== undefined) object.namespace = namespace;
    if (spec !== undefined) object.spec = spec;
    if (fields !== undefined) object.fields = fields;
    objects.push(object);
  });
  return objects;
}

function readObjectBody(c: Checker, value: unknown, at: At): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isMapping(value)) {
    c.report(at, `must be a mapping, got ${describeValue(value)}`);
    return undefined;
  }
  return structuredClone(value);
}

// ---------------------------------------------------------------------------------------------------------------
// timings, faults, systemComponents

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds, as a number (`500`) or a duration with a unit (`"500ms"`, `"2s"`, `"1m"`). */
function readDuration(c: Checker, value: unknown, at: At): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (m) return Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
  c.report(
    at,
    `must be milliseconds >= 0 (500) or a duration with a unit ("500ms", "2s", "1m"), got ${describeValue(value)}`,
  );
  return undefined;
}

function readTimings(c: Checker, value: unknown): Timings {
  const at = ['timings'];
  const t = value === undefined ? {} : (readMapping(c, value, at, [...TIMING_KEYS, 'zeroDelay']) ?? {});
  const zeroDelay = readBoolean(c, field(t, 'zeroDelay'), [...at, 'zeroDelay']) ?? false;
  const timings: Timings = { ...(zeroDelay ? ZERO_DELAY_TIMINGS : DEFAULT_TIMINGS) };
  for (const key of TIMING_KEYS) {
    const ms = readDuration(c, field(t, key), [...at, key]);
    if (ms !== undefined) timings[key] = ms;
  }
  if (timings.nodeHeartbeat > 0 && timings.nodeMonitorGrace <= timings.nodeHeartbeat) {
    c.report(
      [...at, 'nodeMonitorGrace'],
      `must be longer than nodeHeartbeat (${timings.nodeHeartbeat}ms) or healthy nodes flap to NotReady, got ${timings.nodeMonitorGrace}ms`,
    );
  }
  return timings;
}

function readFaults(c: Checker, value: unknown, topology: Topology): FaultSpec {
  const at = ['faults'];
  const f = value === undefined ? {} : (readMapping(c, value, at, FAULT_KEYS) ?? {});
  const faults: FaultSpec = {
    apiErrorRate: readNumber(c, field(f, 'apiErrorRate'), [...at, 'apiErrorRate'], 0, 1) ?? 0,
    apiLatencyMs: readNumber(c, field(f, 'apiLatencyMs'), [...at, 'apiLatencyMs'], 0) ?? 0,
    nodesNeverReady: readNodeList(c, field(f, 'nodesNeverReady'), [...at, 'nodesNeverReady'], topology.nodeCounts, {
      wildcard: true,
      future: true,
    }),
    nodesNotReady: readNodeList(c, field(f, 'nodesNotReady'), [...at, 'nodesNotReady'], topology.nodeCounts),
    nodesKubeletDown: readNodeList(c, field(f, 'nodesKubeletDown'), [...at, 'nodesKubeletDown'], topology.nodeCounts),
    containerFaults: readContainerFaults(c, field(f, 'containerFaults'), [...at, 'containerFaults']),
    evictionRefused: readWorkloadRefs(c, field(f, 'evictionRefused'), [...at, 'evictionRefused'], topology.workloads),
    snapshotFailure: readBoolean(c, field(f, 'snapshotFailure'), [...at, 'snapshotFailure']) ?? false,
  };
  const drop = readNumber(c, field(f, 'dropWatchesEveryMs'), [...at, 'dropWatchesEveryMs'], 1);
  if (drop !== undefined) faults.dropWatchesEveryMs = drop;
  return faults;
}

function readContainerFaults(c: Checker, value: unknown, at: At): ContainerFaultRule[] {
  const rules: ContainerFaultRule[] = [];
  (readList(c, value, at) ?? []).forEach((item, i) => {
    const rule = readContainerFaultRule(item);
    if (Array.isArray(rule)) for (const p of rule) c.report(p.field ? [...at, i, p.field] : [...at, i], p.message);
    else rules.push(rule);
  });
  return rules;
}

function readNodeList(
  c: Checker,
  value: unknown,
  at: At,
  nodeCounts: ReadonlyMap<string, number>,
  options: NodeRefOptions = {},
): string[] {
  const list = readList(c, value, at) ?? [];
  const names: string[] = [];
  list.forEach((item, i) => {
    const name = readNodeRef(c, item, [...at, i], nodeCounts, options);
    if (name === undefined) return;
    if (names.includes(name)) c.report([...at, i], `lists node ${name} twice`);
    else names.push(name);
  });
  return names;
}

function readWorkloadRefs(c: Checker, value: unknown, at: At, workloads: readonly WorkloadSpec[]): WorkloadRef[] {
  const list = readList(c, value, at) ?? [];
  const refs: WorkloadRef[] = [];
  list.forEach((item, i) => {
    const r = readMapping(c, item, [...at, i], WORKLOAD_REF_KEYS);
    if (r === undefined) return;
    const namespace = readDnsLabel(c, field(r, 'namespace'), [...at, i, 'namespace']) ?? DEFAULT_NAMESPACE;
    const rawName = field(r, 'name');
    const name =
      rawName === undefined
        ? required(c, [...at, i, 'name'], 'a workload name')
        : readDnsLabel(c, rawName, [...at, i, 'name']);
    if (name === undefined) return;
    if (!workloads.some((w) => w.namespace === namespace && w.name === name)) {
      const inNamespace = workloads.filter((w) => w.namespace === namespace).map((w) => w.name);
      c.report([...at, i], `no workload ${namespace}/${name} in workloads${didYouMean(name, inNamespace)}`);
      return;
    }
    refs.push({ namespace, name });
  });
  return refs;
}

const CNI_VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)([-+][0-9A-Za-z.-]+)?$/;

function readSystemComponents(c: Checker, value: unknown): SystemComponents {
  const at = ['systemComponents'];
  const s = value === undefined ? {} : (readMapping(c, value, at, SYSTEM_KEYS) ?? {});
  const rawCni = field(s, 'cni');
  const cni = rawCni === undefined ? {} : (readMapping(c, rawCni, [...at, 'cni'], CNI_KEYS) ?? {});
  let cniVersion = readString(
    c,
    field(cni, 'version'),
    [...at, 'cni', 'version'],
    'a version string such as "v3.28.0"',
  );
  if (cniVersion !== undefined && !CNI_VERSION.test(cniVersion)) {
    c.report(
      [...at, 'cni', 'version'],
      `must be a version such as "v3.28.0" or "1.15.6", got ${describeValue(cniVersion)}`,
    );
    cniVersion = undefined;
  }
  return {
    coreDnsVersion:
      readVersion(c, field(s, 'coreDnsVersion'), [...at, 'coreDnsVersion'], '1.11.3') ??
      DEFAULT_SYSTEM_COMPONENTS.coreDnsVersion,
    cni: {
      name: readDnsLabel(c, field(cni, 'name'), [...at, 'cni', 'name']) ?? DEFAULT_SYSTEM_COMPONENTS.cni.name,
      version: cniVersion ?? DEFAULT_SYSTEM_COMPONENTS.cni.version,
    },
  };
}
