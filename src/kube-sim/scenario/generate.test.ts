import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioError } from './errors.ts';
import { defaultDemoScenario, generateScenario } from './generate.ts';
import { podFitsNode, scenarioNodes } from './nodes.ts';
import { scenarioFromObject } from './parse.ts';
import { cpuMillis, memoryBytes } from '../../k8s/quantity.ts';
import { scenarioTotals } from './totals.ts';
import type { IntOrPercent, Scenario, WorkloadSpec } from './types.ts';

/**
 * Places every pod the way a simple scheduler would (DaemonSet pods on their nodes, pinned pods on theirs, the rest
 * first-fit from a rotating start) and fails if one does not fit CPU, memory, pod count, selectors and taints.
 */
function placeAll(scenario: Scenario): { placed: number; maxCpuShare: number } {
  const nodes = scenarioNodes(scenario).map((node) => ({
    node,
    cpu: cpuMillis(node.capacity.cpu),
    memory: memoryBytes(node.capacity.memory),
    pods: node.capacity.pods,
  }));
  const byName = new Map(nodes.map((n) => [n.node.name, n]));
  let placed = 0;
  const take = (slot: (typeof nodes)[number], w: WorkloadSpec): boolean => {
    const cpu = cpuMillis(w.requests.cpu);
    const memory = memoryBytes(w.requests.memory);
    if (slot.cpu < cpu || slot.memory < memory || slot.pods < 1) return false;
    slot.cpu -= cpu;
    slot.memory -= memory;
    slot.pods -= 1;
    placed++;
    return true;
  };
  for (const w of scenario.workloads) {
    if (w.kind !== 'DaemonSet') continue;
    for (const slot of nodes) {
      if (podFitsNode(w, slot.node)) assert.ok(take(slot, w), `DaemonSet ${w.name} does not fit on ${slot.node.name}`);
    }
  }
  let cursor = 0;
  for (const w of scenario.workloads) {
    if (w.kind === 'DaemonSet') continue;
    if (w.kind === 'Pod' && w.node !== undefined) {
      const slot = byName.get(w.node);
      assert.ok(slot, `pod ${w.name} pinned to unknown node ${w.node}`);
      assert.ok(take(slot, w), `pod ${w.name} does not fit on ${w.node}`);
      continue;
    }
    const count = w.kind === 'Pod' ? 1 : w.replicas;
    for (let i = 0; i < count; i++) {
      let done = false;
      for (let tries = 0; tries < nodes.length && !done; tries++) {
        const slot = nodes[(cursor + tries) % nodes.length];
        if (slot !== undefined && podFitsNode(w, slot.node) && take(slot, w)) {
          done = true;
          cursor = (cursor + tries + 1) % nodes.length;
        }
      }
      assert.ok(done, `no node fits pod ${i} of ${w.kind} ${w.namespace}/${w.name}`);
    }
  }
  const workers = nodes.filter((n) => n.node.role === 'worker');
  const used = workers.reduce((sum, n) => sum + cpuMillis(n.node.capacity.cpu) - n.cpu, 0);
  const total = workers.reduce((sum, n) => sum + cpuMillis(n.node.capacity.cpu), 0);
  return { placed, maxCpuShare: used / total };
}

/** Pods a PDB lets be disrupted when all `replicas` are healthy (the disruption controller's arithmetic). */
function disruptionsAllowed(
  pdb: { minAvailable?: IntOrPercent; maxUnavailable?: IntOrPercent },
  replicas: number,
): number {
  const scaled = (v: IntOrPercent, roundUp: boolean): number => {
    if (typeof v === 'number') return v;
    const exact = (Number(v.slice(0, -1)) / 100) * replicas;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  };
  const desiredHealthy =
    pdb.minAvailable !== undefined
      ? scaled(pdb.minAvailable, true)
      : Math.max(0, replicas - scaled(pdb.maxUnavailable ?? 0, true));
  return Math.max(0, replicas - desiredHealthy);
}

describe('generateScenario', () => {
  it('makes 5,000 nodes in 10 pools and exactly 50,000 pods that all fit', () => {
    const s = generateScenario({ nodes: 5_000, pods: 50_000 });
    const totals = scenarioTotals(s);
    assert.equal(totals.workerNodes, 5_000);
    assert.equal(totals.controlPlaneNodes, 3);
    assert.equal(totals.pods, 50_000);
    assert.equal(s.pools.length, 10);
    assert.ok(s.pools.every((p) => p.nodes > 0));
    assert.equal(new Set(s.pools.map((p) => p.nodes)).size > 1, true, 'pools have varied sizes');
    assert.ok(totals.podsByKind.DaemonSet > 0 && totals.podsByKind.StatefulSet > 0 && totals.podsByKind.Pod > 0);
    assert.ok(totals.podsByKind.Deployment > totals.podsByKind.DaemonSet);
    const { placed, maxCpuShare } = placeAll(s);
    assert.equal(placed, 50_000);
    assert.ok(maxCpuShare <= 0.5, `workers are ${Math.round(maxCpuShare * 100)}% requested`);
  });

  it('varies Deployment sizes and puts PDBs on many, each allowing a disruption', () => {
    const s = generateScenario({ nodes: 500, pods: 10_000, seed: 3 });
    const deployments = s.workloads.filter((w) => w.kind === 'Deployment');
    const sizes = new Set(deployments.map((d) => d.replicas));
    assert.ok(sizes.size >= 20, `only ${sizes.size} distinct Deployment sizes`);
    const multi = deployments.filter((d) => d.replicas >= 2);
    const withPdb = multi.filter((d) => d.pdb !== undefined);
    assert.ok(withPdb.length / multi.length > 0.5, 'most multi-replica Deployments have a PDB');
    for (const w of s.workloads) {
      if (w.pdb === undefined || (w.kind !== 'Deployment' && w.kind !== 'StatefulSet')) continue;
      assert.ok(disruptionsAllowed(w.pdb, w.replicas) >= 1, `${w.namespace}/${w.name} PDB blocks every eviction`);
    }
    assert.ok(deployments.some((d) => d.emptyDir));
    assert.ok(new Set(deployments.map((d) => d.namespace)).size > 1);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateScenario({ nodes: 200, pods: 3_000, seed: 42 });
    const b = generateScenario({ nodes: 200, pods: 3_000, seed: 42 });
    const c = generateScenario({ nodes: 200, pods: 3_000, seed: 43 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.workloads, c.workloads);
    assert.equal(scenarioTotals(c).pods, 3_000);
  });

  it('hits the asked totals at the edges, raising capacity for dense clusters', () => {
    for (const [nodes, pods] of [
      [1, 0],
      [1, 1],
      [3, 19],
      [3, 25],
      [2, 1_000],
      [10, 10],
      [7, 333],
      [50, 50_000],
    ] as const) {
      const s = generateScenario({ nodes, pods, seed: nodes + pods });
      const totals = scenarioTotals(s);
      assert.equal(totals.workerNodes, nodes, `workers for ${nodes}/${pods}`);
      assert.equal(totals.pods, pods, `pods for ${nodes}/${pods}`);
      assert.equal(placeAll(s).placed, pods, `placement for ${nodes}/${pods}`);
    }
  });

  it('needs its capacity: the same pods on default-sized nodes do not fit', () => {
    const s = generateScenario({ nodes: 2, pods: 1_000 });
    for (const pool of s.pools) pool.capacity = { cpu: '8', memory: '32Gi', pods: 110 };
    assert.throws(() => placeAll(s), { name: 'AssertionError', message: /^no node fits pod/ });
  });

  it('honours pools, control-plane nodes, version and name', () => {
    const s = generateScenario({
      nodes: 12,
      pods: 100,
      pools: 5,
      controlPlaneNodes: 1,
      version: '1.28.9',
      name: 'bench',
    });
    assert.equal(s.name, 'bench');
    assert.equal(s.pools.length, 5);
    assert.deepEqual(
      s.pools.map((p) => p.name),
      ['general-1', 'compute-1', 'memory-1', 'batch-1', 'general-2'],
    );
    assert.equal(s.controlPlane.nodes, 1);
    assert.equal(s.kubernetesVersion, '1.28.9');
    assert.ok(s.pools.every((p) => p.kubeletVersion === '1.28.9' && p.machineImage === 'ubuntu-2204-kube-v1.28.9'));
  });

  it('produces a valid, fully defaulted scenario', () => {
    const s = generateScenario({ nodes: 300, pods: 4_000, seed: 9 });
    assert.deepEqual(scenarioFromObject(s), s);
  });

  it('rejects options out of range with ScenarioError', () => {
    assert.throws(() => generateScenario({ nodes: 0, pods: 10 }), {
      name: 'ScenarioError',
      message: 'generateScenario: nodes: must be a whole number >= 1, got 0',
    });
    assert.throws(
      () => generateScenario({ nodes: 3, pods: 1.5, pools: 4, version: 'v1.30.0' }),
      (err: unknown) => {
        assert.ok(err instanceof ScenarioError);
        assert.deepEqual(err.message.split('\n'), [
          'generateScenario: pods: must be a whole number >= 0, got 1.5',
          'generateScenario: version: must be "x.y.z" without the leading "v": write "1.30.0", got "v1.30.0"',
          'generateScenario: pools: must be a whole number from 1 to 3, got 4',
        ]);
        return true;
      },
    );
  });
});

describe('defaultDemoScenario', () => {
  it('is the small cluster npm start shows', () => {
    const s = defaultDemoScenario();
    assert.match(s.kubernetesVersion, /^1\.30\.\d+$/);
    assert.equal(s.controlPlane.nodes, 1);
    assert.deepEqual(
      s.pools.map((p) => p.nodes),
      [3, 3],
    );
    const kinds = (kind: WorkloadSpec['kind']): WorkloadSpec[] => s.workloads.filter((w) => w.kind === kind);
    assert.ok(kinds('Deployment').filter((w) => w.pdb !== undefined).length >= 2);
    assert.equal(kinds('StatefulSet').length, 1);
    assert.equal(kinds('DaemonSet').length, 1);
    assert.equal(kinds('Pod').length, 1);
    assert.ok(s.workloads.some((w) => w.emptyDir));
    assert.deepEqual(
      s.legacyObjects.map((o) => `${o.apiVersion} ${o.kind}`),
      ['policy/v1beta1 PodDisruptionBudget'],
    );
  });

  it('is valid, fits, and lets every PDB allow a disruption', () => {
    const s = defaultDemoScenario();
    assert.deepEqual(scenarioFromObject(s), s);
    assert.equal(placeAll(s).placed, scenarioTotals(s).pods);
    for (const w of s.workloads) {
      if (w.pdb !== undefined && (w.kind === 'Deployment' || w.kind === 'StatefulSet')) {
        assert.ok(disruptionsAllowed(w.pdb, w.replicas) >= 1, w.name);
      }
    }
  });

  it('returns a fresh object each time', () => {
    const a = defaultDemoScenario();
    a.pools[0]!.nodes = 99;
    assert.equal(defaultDemoScenario().pools[0]?.nodes, 3);
  });
});
