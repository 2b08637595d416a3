import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Topology } from '../engine/provider.ts';
import type { UpgradePath } from '../versions/index.ts';
import { defaultCatalog, planUpgradePath } from '../versions/index.ts';
import type { ControlPlanePhase, PlanTopology, PoolPhase, RolloutPlan, WorkerNodeStep } from './plan-types.ts';
import { buildPlan, workerStrategyCosts } from './plan.ts';
import { compareNodeNames } from './node-names.ts';
import { PlanError } from './plan-errors.ts';
import { DEFAULT_STEP_ESTIMATES, planSteps, stepActions } from './plan-steps.ts';
import { fakeTopology } from './machine/test-driver.ts';

// The engine's provider topology is accepted as is (structural compatibility, checked by the type checker).
const _compatible = (t: Topology): PlanTopology => t;
void _compatible;

const path = (from: string, to: string, steps: UpgradePath['steps']): UpgradePath => ({
  kind: 'upgrade',
  from,
  to,
  workerStrategy: 'follow',
  steps,
  notes: [],
});

const oneMinor = (pools: string[]): UpgradePath =>
  path('1.30.4', '1.31.4', [
    { kind: 'control-plane', from: '1.30.4', to: '1.31.4' },
    ...pools.map((pool) => ({ kind: 'pool' as const, pool, from: '1.30.4', to: '1.31.4', reason: 'target' as const })),
  ]);

const poolPhases = (plan: RolloutPlan): PoolPhase[] => plan.phases.filter((p): p is PoolPhase => p.kind === 'pool');
const cpPhases = (plan: RolloutPlan): ControlPlanePhase[] =>
  plan.phases.filter((p): p is ControlPlanePhase => p.kind === 'control-plane');

describe('buildPlan: a version upgrade', () => {
  const topology = fakeTopology({ cp: 1, pools: { workers: 3 }, version: '1.30.4' });
  const plan = buildPlan({ cluster: 'dev', topology, change: { kind: 'version', path: oneMinor(['workers']) } });

  it('orders the phases: snapshot, control plane, pools, validation', () => {
    assert.deepEqual(
      plan.phases.map((p) => p.kind),
      ['snapshot', 'control-plane', 'pool', 'validation'],
    );
    assert.equal(plan.from, '1.30.4');
    assert.equal(plan.to, '1.31.4');
    assert.deepEqual(
      planSteps(plan).map((s) => s.key),
      [
        'snapshot',
        'cp/1.31.4/cp-1',
        'pool/workers/1.31.4/batch-1/workers-0',
        'pool/workers/1.31.4/batch-2/workers-1',
        'pool/workers/1.31.4/batch-3/workers-2',
        'postcheck',
      ],
    );
  });

  it('upgrades a control-plane node component by component, then checks the API', () => {
    const step = cpPhases(plan)[0]?.batches[0]?.steps[0];
    assert.equal(step?.kind, 'control-plane-node');
    if (step?.kind !== 'control-plane-node') return;
    assert.deepEqual(
      step.components.map((c) => c.component),
      ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'],
    );
    assert.deepEqual(step.components[1], { component: 'kube-apiserver', from: '1.30.4', to: '1.31.4' });
    // etcd's target is what the release pins: the provider knows it, the plan does not pretend to.
    assert.deepEqual(step.components[0], { component: 'etcd', from: '3.5.15' });
    assert.deepEqual(stepActions(step), ['upgrade-cp-node', 'check-api-health']);
  });

  it('rolls workers by replacement with surge by default', () => {
    const step = poolPhases(plan)[0]?.batches[0]?.steps[0] as WorkerNodeStep;
    assert.equal(step.strategy, 'replace');
    assert.equal(step.surge, true);
    assert.deepEqual(stepActions(step), ['replace-node', 'cordon', 'wait-node-ready', 'drain', 'delete-old-node']);
    assert.deepEqual(step.from, { version: '1.30.4', image: 'img-1.30.4' });
    assert.deepEqual(step.to, { version: '1.31.4' });
  });

  it('places the point of no return on the first control-plane node of the minor hop', () => {
    assert.equal(plan.pointOfNoReturn?.key, 'cp/1.31.4/cp-1');
    assert.equal(plan.pointOfNoReturn?.node, 'cp-1');
    assert.match(plan.pointOfNoReturn?.message ?? '', /must restore the snapshot/);
  });

  it('sums the critical path from the estimates', () => {
    const e = DEFAULT_STEP_ESTIMATES;
    const worker = e['replace-node'] + e['wait-node-ready'] + e.cordon + e.drain + e['delete-old-node'];
    const expected =
      e['take-snapshot'] +
      e['upgrade-cp-node'] +
      e['check-api-health'] +
      3 * (worker + e['validate-batch']) +
      e.postcheck;
    assert.equal(plan.expectedDurationMs, expected);
    assert.deepEqual(plan.measured, []);
  });

  it('survives a JSON round trip', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  });
});

describe('buildPlan: control-plane order and several hops', () => {
  it('takes control-plane nodes one at a time in natural name order', () => {
    const topology = fakeTopology({ cp: 0, pools: {}, version: '1.30.4' });
    const cp = (node: string) => ({
      node,
      kubeletVersion: '1.30.4',
      components: { etcd: '3.5.15', 'kube-apiserver': '1.30.4' },
    });
    const plan = buildPlan({
      cluster: 'ha',
      topology: { ...topology, controlPlane: [cp('master-10'), cp('master-2'), cp('master-1')] },
      change: { kind: 'version', path: oneMinor([]) },
    });
    assert.deepEqual(plan.controlPlaneNodes, ['master-1', 'master-2', 'master-10']);
    const hop = cpPhases(plan)[0];
    assert.deepEqual(
      hop?.batches.map((b) => b.steps.map((s) => s.key)),
      [['cp/1.31.4/master-1'], ['cp/1.31.4/master-2'], ['cp/1.31.4/master-10']],
    );
    assert.deepEqual(
      hop?.batches.map((b) => (b.steps[0]?.kind === 'control-plane-node' ? b.steps[0].ordinal : 0)),
      [1, 2, 3],
    );
  });

  it('plans two minors with minimal workers from the path planner: CP twice, pools once, 10 nodes in 1-node batches', () => {
    const topology = fakeTopology({ cp: 3, pools: { a: 10, b: 10 }, version: '1.29.10' });
    const upgradePath = planUpgradePath(
      {
        controlPlane: '1.29.10',
        pools: [
          { name: 'a', kubelet: '1.29.10' },
          { name: 'b', kubelet: '1.29.10' },
        ],
        target: '1.31.4',
      },
      defaultCatalog(),
      { now: new Date('2025-01-01'), workerStrategy: 'minimal', allowExpired: true },
    );
    const plan = buildPlan({ cluster: 'ha', topology, change: { kind: 'version', path: upgradePath } });
    const hops = cpPhases(plan);
    assert.equal(hops.length, 2);
    assert.ok(hops.every((h) => h.minorChange && h.batches.length === 3));
    assert.equal(hops[1]?.to, '1.31.4');
    assert.deepEqual(
      poolPhases(plan).map((p) => [p.pool, p.to.version, p.batches.map((b) => b.steps.length)]),
      [
        ['a', '1.31.4', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
        ['b', '1.31.4', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
      ],
    );
    assert.equal(plan.pointOfNoReturn?.key, `cp/${hops[0]?.to}/cp-1`);
  });

  it('counts the node moves of each worker strategy, the chosen one first', () => {
    const topology = fakeTopology({ cp: 1, pools: { a: 4, b: 2 }, version: '1.29.10' });
    const pathOf = (workerStrategy: 'minimal' | 'follow') =>
      planUpgradePath(
        {
          controlPlane: '1.29.10',
          pools: [
            { name: 'a', kubelet: '1.29.10' },
            { name: 'b', kubelet: '1.29.10' },
          ],
          target: '1.31.4',
        },
        defaultCatalog(),
        { now: new Date('2025-01-01'), workerStrategy, allowExpired: true },
      );
    const planOf = (workerStrategy: 'minimal' | 'follow') =>
      buildPlan({
        cluster: 'c',
        topology,
        change: { kind: 'version', path: pathOf(workerStrategy) },
        pools: { b: { strategy: 'in-place' } },
      });
    assert.deepEqual(
      workerStrategyCosts('minimal', [
        { workerStrategy: 'follow', plan: planOf('follow') },
        { workerStrategy: 'minimal', plan: planOf('minimal') },
      ]),
      [
        { workerStrategy: 'minimal', replacements: 4, inPlaceUpgrades: 2, chosen: true },
        { workerStrategy: 'follow', replacements: 8, inPlaceUpgrades: 4, chosen: false },
      ],
    );
  });

  it('moves a pool twice with the follow strategy; the second move names the same slots', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.29.10' });
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: {
        kind: 'version',
        path: path('1.29.10', '1.31.4', [
          { kind: 'control-plane', from: '1.29.10', to: '1.30.8' },
          { kind: 'pool', pool: 'w', from: '1.29.10', to: '1.30.8', reason: 'follow' },
          { kind: 'control-plane', from: '1.30.8', to: '1.31.4' },
          { kind: 'pool', pool: 'w', from: '1.30.8', to: '1.31.4', reason: 'target' },
        ]),
      },
    });
    const moves = poolPhases(plan);
    assert.deepEqual(
      moves.map((m) => m.key),
      ['pool/w/1.30.8', 'pool/w/1.31.4'],
    );
    const second = moves[1]?.batches[0]?.steps[0] as WorkerNodeStep;
    assert.equal(second.node, 'w-0');
    assert.deepEqual(second.from, { version: '1.30.8', image: 'img-1.29.10' });
  });

  it('has no point of no return for a one-patch control-plane move, and one for a larger patch jump', () => {
    const topology = fakeTopology({ cp: 1, pools: {}, version: '1.30.4' });
    const patch = (to: string): RolloutPlan =>
      buildPlan({
        cluster: 'c',
        topology,
        change: { kind: 'version', path: path('1.30.4', to, [{ kind: 'control-plane', from: '1.30.4', to }]) },
      });
    assert.equal(patch('1.30.5').pointOfNoReturn, null);
    assert.equal(patch('1.30.8').pointOfNoReturn?.key, 'cp/1.30.8/cp-1');
  });

  it('leaves out nodes already at the target, with a note', () => {
    const base = fakeTopology({ cp: 2, pools: { w: 2 }, version: '1.30.4' });
    const topology: PlanTopology = {
      controlPlane: base.controlPlane.map((c, i) =>
        i === 0 ? { ...c, components: { ...c.components, 'kube-apiserver': '1.31.4' } } : c,
      ),
      pools: base.pools.map((p) => ({
        ...p,
        nodes: p.nodes.map((n, i) => (i === 1 ? { ...n, kubeletVersion: '1.31.4' } : n)),
      })),
    };
    // The path starts from the oldest apiserver.
    const plan = buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinor(['w']) } });
    assert.deepEqual(
      planSteps(plan).map((s) => s.key),
      ['snapshot', 'cp/1.31.4/cp-2', 'pool/w/1.31.4/batch-1/w-0', 'postcheck'],
    );
    assert.ok(plan.notes.some((n) => n.includes('cp-1') && n.includes('left out')));
    assert.ok(plan.notes.some((n) => n.startsWith('w-1 ')));
  });

  it('gives a plan without steps when there is nothing to do', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 1 }, version: '1.31.4' });
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: { ...path('1.31.4', '1.31.4', []), kind: 'nothing-to-do' } },
    });
    assert.deepEqual(plan.phases, []);
    assert.equal(plan.expectedDurationMs, 0);
    assert.ok(plan.notes.some((n) => n.startsWith('nothing to do')));
  });
});

describe('buildPlan: machine images', () => {
  it('plans an image-only upgrade with only pool steps and no point of no return', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 3, gpu: 2 }, version: '1.31.4', image: 'gardenlinux-1443.3' });
    const plan = buildPlan({
      cluster: 'g',
      topology,
      change: { kind: 'image', images: { w: 'gardenlinux/1592.1' } },
      pools: { w: { strategy: 'in-place' } },
    });
    assert.equal(plan.kind, 'image');
    assert.deepEqual(
      plan.phases.map((p) => p.kind),
      ['snapshot', 'pool', 'validation'],
    );
    assert.equal(plan.pointOfNoReturn, null);
    const move = poolPhases(plan)[0];
    assert.equal(move?.reason, 'image');
    assert.equal(move?.key, 'pool/w/image-gardenlinux-1592.1');
    const step = move?.batches[0]?.steps[0] as WorkerNodeStep;
    assert.deepEqual(step.to, { version: '1.31.4', image: 'gardenlinux/1592.1' });
    assert.deepEqual(stepActions(step), ['cordon', 'drain', 'upgrade-node-in-place', 'wait-node-ready', 'uncordon']);
    assert.ok(plan.notes.includes('pool gpu is left as it is (2 nodes)'));
  });

  it('gives a pool its image on its last version move, and an image move to a pool already at the version', () => {
    const topology: PlanTopology = {
      controlPlane: fakeTopology({ cp: 1, pools: {}, version: '1.30.4' }).controlPlane,
      pools: [
        ...fakeTopology({ cp: 0, pools: { w: 1 }, version: '1.30.4' }).pools,
        ...fakeTopology({ cp: 0, pools: { edge: 1 }, version: '1.30.4' }).pools.map((p) => ({ ...p, name: 'edge' })),
      ],
    };
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']), images: { w: 'img-new', edge: 'img-edge' } },
    });
    const moves = poolPhases(plan);
    assert.deepEqual(
      moves.map((m) => [m.key, m.reason, m.to]),
      [
        ['pool/w/1.31.4', 'target', { version: '1.31.4', image: 'img-new' }],
        ['pool/edge/image-img-edge', 'image', { version: '1.30.4', image: 'img-edge' }],
      ],
    );
  });

  it('refuses an image for a pool the cluster does not have', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 1 }, version: '1.31.4' });
    assert.throws(
      () => buildPlan({ cluster: 'g', topology, change: { kind: 'image', images: { nope: 'x' } } }),
      (err: unknown) => err instanceof PlanError && err.code === 'KUP-PLAN-002' && /pool "nope"/.test(err.message),
    );
  });
});

describe('buildPlan: batches, surge and options', () => {
  const topology = fakeTopology({ cp: 1, pools: { w: 10 }, version: '1.30.4' });
  const sizes = (plan: RolloutPlan): number[] => poolPhases(plan)[0]?.batches.map((b) => b.steps.length) ?? [];
  const surges = (plan: RolloutPlan): boolean[][] =>
    poolPhases(plan)[0]?.batches.map((b) => b.steps.map((s) => (s as WorkerNodeStep).surge)) ?? [];

  it('cuts batches to maxSurge + maxUnavailable, surging the first maxSurge nodes of each', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      pools: { w: { batchPolicy: 'fixed:5', maxSurge: 1, maxUnavailable: 1 } },
    });
    assert.deepEqual(sizes(plan), [2, 2, 1, 2, 2, 1]);
    assert.deepEqual(surges(plan)[0], [true, false]);
    const noSurge = poolPhases(plan)[0]?.batches[0]?.steps[1] as WorkerNodeStep;
    assert.deepEqual(stepActions(noSurge), ['cordon', 'drain', 'replace-node', 'wait-node-ready', 'delete-old-node']);
  });

  it('reads percentages as Cluster API does: surge rounds up, unavailable down', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      pools: { w: { batchPolicy: 'percent:50', maxSurge: '25%', maxUnavailable: '25%' } },
    });
    // surge ceil(2.5) = 3, unavailable floor(2.5) = 2: batches of 5.
    assert.deepEqual(sizes(plan), [5, 5]);
    assert.deepEqual(surges(plan)[0], [true, true, true, false, false]);
  });

  it('caps in-place batches at maxUnavailable', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      defaults: { strategy: 'in-place', batchPolicy: 'fixed:4', maxUnavailable: 3 },
    });
    assert.deepEqual(sizes(plan), [3, 1, 3, 1, 2]);
  });

  it('soaks after every batch but the last, and counts measured estimates', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      pools: { w: { batchPolicy: 'fixed:5' } },
      soakMs: 60_000,
      estimates: { drain: 1_000, 'replace-node': 2_000 },
    });
    const batches = poolPhases(plan)[0]?.batches ?? [];
    assert.deepEqual(
      batches.map((b) => [b.gate, b.soakMs]),
      [
        [['validate-batch', 'soak'], 60_000],
        [['validate-batch'], 0],
      ],
    );
    assert.deepEqual([...plan.measured].sort(), ['drain', 'replace-node']);
    assert.equal(plan.estimates.drain, 1_000);
    const e = plan.estimates;
    const worker = e['replace-node'] + e['wait-node-ready'] + e.cordon + e.drain + e['delete-old-node'];
    assert.equal(poolPhases(plan)[0]?.estimateMs, 2 * (worker + e['validate-batch']) + 60_000);
  });

  it('a node soak ends every worker step with a soak of its length, counted in the estimates', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      pools: { w: { batchPolicy: 'fixed:5', nodeSoakMs: 30_000 } },
    });
    const phase = poolPhases(plan)[0];
    assert.equal(phase?.nodeSoakMs, 30_000);
    const steps = phase?.batches.flatMap((b) => b.steps) ?? [];
    assert.equal(steps.length, 10);
    const e = plan.estimates;
    const worker = e['replace-node'] + e['wait-node-ready'] + e.cordon + e.drain + e['delete-old-node'];
    for (const step of steps) {
      assert.ok(step.kind === 'worker-node');
      assert.equal(step.soakMs, 30_000);
      assert.deepEqual(stepActions(step), ['replace-node', 'cordon', 'wait-node-ready', 'drain', 'delete-old-node', 'soak']);
      assert.equal(step.estimateMs, worker + 30_000);
    }
    assert.throws(
      () => buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinor(['w']) }, defaults: { nodeSoakMs: -5 } }),
      /KUP-PLAN-001: pools\.w\.nodeSoakMs must be a number of milliseconds >= 0, not -5/,
    );
  });

  it('a canary moves one node first, gated by the batch validation then the post-upgrade validation', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      pools: { w: { batchPolicy: 'fixed:4', canary: true } },
      soakMs: 60_000,
    });
    const phase = poolPhases(plan)[0];
    assert.equal(phase?.canary, true);
    assert.deepEqual(sizes(plan), [1, 4, 4, 1]);
    assert.deepEqual(
      phase?.batches.map((b) => b.gate),
      [['validate-batch', 'postcheck', 'soak'], ['validate-batch', 'soak'], ['validate-batch', 'soak'], ['validate-batch']],
    );
    const e = plan.estimates;
    const first = phase?.batches[0];
    assert.equal(first?.estimateMs, (first?.steps[0]?.estimateMs ?? 0) + e['validate-batch'] + e.postcheck + 60_000);
    // Without a canary the same pool is cut as before.
    const plain = buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinor(['w']) }, pools: { w: { batchPolicy: 'fixed:4' } } });
    assert.deepEqual(sizes(plain), [4, 4, 2]);
    assert.equal(poolPhases(plain)[0]?.canary, undefined);
  });

  for (const [what, options, code, pattern] of [
    ['an unknown batch policy', { pools: { w: { batchPolicy: 'linear' } } }, 'KUP-PLAN-001', /pool "w": KUP-BATCH-001/],
    [
      'maxSurge in place',
      { pools: { w: { strategy: 'in-place', maxSurge: 1 } } },
      'KUP-PLAN-001',
      /maxSurge needs the replace strategy/,
    ],
    [
      'no surge and no unavailability',
      { pools: { w: { maxSurge: 0, maxUnavailable: 0 } } },
      'KUP-PLAN-001',
      /cannot both be 0/,
    ],
    ['a bad surge', { pools: { w: { maxSurge: '150%' } } }, 'KUP-PLAN-001', /maxSurge "150%"/],
    ['options for a pool that does not exist', { pools: { x: {} } }, 'KUP-PLAN-002', /pool "x"/],
    ['a negative soak', { soakMs: -1 }, 'KUP-PLAN-001', /soakMs/],
    [
      'a canary with blue-green',
      { pools: { w: { strategy: 'blue-green', canary: true } } },
      'KUP-PLAN-001',
      /pool "w": canary does not apply to blue-green/,
    ],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinor(['w']) }, ...options }),
        (err: unknown) =>
          err instanceof PlanError && err.code === code && pattern.test(err.message) && err.message.startsWith(code),
      );
    });
  }

  it('refuses a path that does not start where the control plane is', () => {
    assert.throws(
      () =>
        buildPlan({
          cluster: 'c',
          topology,
          change: {
            kind: 'version',
            path: path('1.29.10', '1.30.4', [{ kind: 'control-plane', from: '1.29.10', to: '1.30.4' }]),
          },
        }),
      (err: unknown) =>
        err instanceof PlanError && err.code === 'KUP-PLAN-002' && /starts at 1\.29\.10/.test(err.message),
    );
  });

  it('turns the snapshot off on request, which leaves the point of no return where it is', () => {
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: { kind: 'version', path: oneMinor(['w']) },
      snapshot: false,
    });
    assert.equal(plan.phases[0]?.kind, 'control-plane');
    assert.notEqual(plan.pointOfNoReturn, null);
    // Without a snapshot, the point of no return says a rollback cannot bring the control plane back.
    assert.match(plan.pointOfNoReturn?.message ?? '', /nothing brings the control plane back: no snapshot is taken/);
    assert.doesNotMatch(plan.pointOfNoReturn?.message ?? '', /restore the snapshot/);
  });
});

describe('compareNodeNames', () => {
  it('sorts numbers inside names by value', () => {
    assert.deepEqual(['n-10', 'n-2', 'n-1', 'm-3'].sort(compareNodeNames), ['m-3', 'n-1', 'n-2', 'n-10']);
  });
});
