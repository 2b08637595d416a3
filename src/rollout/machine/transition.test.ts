import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalog, planUpgradePath } from '../../versions/index.ts';
import type { PlanInput, RolloutPlan } from '../plan-types.ts';
import { buildPlan } from '../plan.ts';
import { RunTransitionError } from './errors.ts';
import { createRunState } from './state.ts';
import type { Intercept } from './test-driver.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath, phaseOf } from './test-driver.ts';
import { pendingEffects } from './effects.ts';
import { transition, transitionAll } from './transition.ts';
import type { ActionEffect, RunEvent, RunOptions, RunPhase, RunState } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;


interface Setup {
  readonly cp?: number;
  readonly pools?: Record<string, number>;
  readonly plan?: Partial<PlanInput>;
  readonly run?: RunOptions;
  readonly intercept?: Intercept;
}

function setup(options: Setup = {}): Driver {
  const topology = fakeTopology({ cp: options.cp ?? 1, pools: options.pools ?? { w: 3 }, version: '1.30.4' });
  const plan = buildPlan({
    cluster: 'test',
    topology,
    change: { kind: 'version', path: oneMinorPath(Object.keys(options.pools ?? { w: 3 })) },
    ...options.plan,
  });
  const state = createRunState(plan, { runId: 'run-1', now: T0, ...options.run });
  return new Driver(state, new FakeCluster(topology), options.intercept ? { intercept: options.intercept } : {});
}

const phasesSeen = (d: Driver): RunPhase[] => {
  const out: RunPhase[] = [];
  for (const json of d.persisted) {
    const phase = (JSON.parse(json) as RunState).status.phase;
    if (out[out.length - 1] !== phase) out.push(phase);
  }
  return out;
};

const unitsOf = (state: RunState, prefix: string) => Object.values(state.units).filter((u) => u.key.startsWith(prefix));

function assertActedOnce(d: Driver): void {
  assert.equal(new Set(d.cluster.acted).size, d.cluster.acted.length, 'an idempotency key acted twice');
}

describe('a happy run', () => {
  it('1 control-plane node + 3 workers: snapshot, control plane, pool, validation, succeeded', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(phasesSeen(d), [
      'prechecking',
      'snapshotting',
      'upgrading-control-plane',
      'upgrading-pools',
      'validating',
      'succeeded',
    ]);
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.31.4');
    const workers = d.cluster.pool('w');
    assert.equal(workers.length, 3);
    assert.ok(
      workers.every((n) => n.version === '1.31.4' && /^w-r\d+$/.test(n.name)),
      JSON.stringify(workers),
    );
    assert.deepEqual(d.cluster.cordoned(), []);
    assertActedOnce(d);
    assert.equal(d.state.snapshot?.id, 'snap-1');
    assert.notEqual(d.state.pointOfNoReturnPassedAt, null);
    // Lineage: every slot points at its replacement.
    assert.deepEqual(Object.keys(d.state.lineage).sort(), ['w-0', 'w-1', 'w-2']);
    // The event log is strictly ordered and names steps and nodes.
    assert.ok(d.events.every((e, i) => e.seq === i + 1));
    assert.ok(d.events.some((e) => e.key === 'pool/w/1.31.4/batch-2/w-1' && e.action === 'drain' && e.node === 'w-1'));
  });

  it('a surge node is created before the old node is cordoned, and Ready before it is drained', () => {
    const d = setup({ pools: { w: 1 } });
    d.send({ type: 'started' });
    const waits: ActionEffect[] = [];
    d.run((_, driver) => {
      waits.push(...driver.queue.filter((e) => e.type === 'wait-node-ready'));
      return false;
    });
    const order = d.cluster.acted
      .filter((k) => k.startsWith('pool/w/1.31.4/batch-1/w-0/'))
      .map((k) => k.split('/').pop());
    assert.deepEqual(order, ['replace-node', 'cordon', 'wait-node-ready', 'drain', 'delete-old-node']);
    // The wait for the new node names the node drained next, so its drain can be prepared meanwhile.
    const wait = waits.find((e) => e.key === 'pool/w/1.31.4/batch-1/w-0');
    assert.ok(wait?.type === 'wait-node-ready' && wait.node !== 'w-0' && wait.thenDrains === 'w-0', JSON.stringify(wait));
  });

  it("a pool's turn taints the nodes it will replace before its second batch; none is left tainted at the end", () => {
    const d = setup({ pools: { w: 3 } });
    d.send({ type: 'started' });
    d.run((s) => s.units['pool/w/1.31.4/batch-2/w-1'] !== undefined);
    assert.equal(d.state.units['pool/w/1.31.4/taint']?.stage, 'done');
    assert.deepEqual(d.cluster.tainted(), ['w-1', 'w-2'], 'the nodes of the later batches carry the taint (w-0 is gone)');
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(d.cluster.tainted(), []);
    // In place, the uncordon takes it off the node that stays.
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.30.4' });
    const plan = buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinorPath(['w']) }, defaults: { strategy: 'in-place' } });
    const inPlace = new Driver(createRunState(plan, { runId: 'r', now: T0 }), new FakeCluster(topology));
    inPlace.send({ type: 'started' });
    inPlace.run();
    assert.equal(phaseOf(inPlace), 'succeeded');
    assert.deepEqual(inPlace.cluster.tainted(), []);
    assert.ok(inPlace.cluster.acted.includes('pool/w/1.31.4/taint/taint-nodes'));
  });

  it('node soak: each worker step ends with a soak until its node has run that long; the next batch waits for it', () => {
    const d = setup({ pools: { w: 3 }, plan: { pools: { w: { nodeSoakMs: 60_000 } } } });
    d.send({ type: 'started' });
    const soaks: ActionEffect[] = [];
    d.run((_, driver) => {
      for (const e of driver.queue) if (e.type === 'soak' && !soaks.includes(e)) soaks.push(e);
      return false;
    });
    assert.equal(phaseOf(d), 'succeeded');
    // One soak per worker step (w-0; w-1 and w-2 together), each lasting the node soak from its issue.
    const bySlot = soaks.filter((e) => e.type === 'soak').map((e) => [e.key.split('/').pop(), e.type === 'soak' ? e.durationMs : 0]);
    assert.deepEqual(bySlot, [
      ['w-0', 60_000],
      ['w-1', 60_000],
      ['w-2', 60_000],
    ]);
    for (const e of soaks) {
      assert.ok(e.type === 'soak');
      const finished = d.state.units[e.key]?.finishedAt ?? 0;
      assert.ok(finished >= e.until, `${e.key} finished after its soak ended`);
    }
    // Batch 2 started only after w-0's soak ended.
    const w0 = soaks[0];
    const batch2 = d.state.units['pool/w/1.31.4/batch-2/w-1'];
    assert.ok(w0?.type === 'soak' && batch2 && batch2.startedAt >= w0.until);
    assert.equal(d.state.units['pool/w/1.31.4/batch-1/w-0']?.stage, 'done');
  });

  it('node soak: a pause while a node soaks lets the soak finish, and a restart re-issues the soak with its end', () => {
    const d = setup({ pools: { w: 3 }, plan: { pools: { w: { nodeSoakMs: 60_000 } } } });
    d.send({ type: 'started' });
    d.run((s) => s.units['pool/w/1.31.4/batch-1/w-0']?.inFlight?.action === 'soak');
    const until = d.state.units['pool/w/1.31.4/batch-1/w-0']?.inFlight?.until;
    assert.ok(typeof until === 'number' && until > d.now);
    const pending = d.restart();
    assert.deepEqual(
      pending.map((e) => [e.type, e.type === 'soak' ? e.until : null]),
      [['soak', until]],
      'the soak is re-issued with the same end, not a new one',
    );
    d.send({ type: 'pause-requested' });
    d.run();
    assert.equal(d.state.status.phase, 'paused');
    assert.equal(d.state.units['pool/w/1.31.4/batch-1/w-0']?.stage, 'done');
    assert.equal(d.state.units['pool/w/1.31.4/batch-2/w-1'], undefined, 'nothing new started');
    d.send({ type: 'resume-requested' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
  });

  it('3 control-plane nodes + 2 pools x 10 through two minors with minimal workers', () => {
    const topology = fakeTopology({ cp: 3, pools: { a: 10, b: 10 }, version: '1.29.10' });
    const path = planUpgradePath(
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
    const plan = buildPlan({
      cluster: 'ha',
      topology,
      change: { kind: 'version', path },
      pools: { b: { strategy: 'in-place', batchPolicy: 'fixed:4' } },
    });
    const d = new Driver(createRunState(plan, { runId: 'run-ha', now: T0 }), new FakeCluster(topology));
    d.send({ type: 'started' });
    let maxCpInFlight = 0;
    const inPlaceWaits: ActionEffect[] = [];
    d.run((state, driver) => {
      const flying = unitsOf(state, 'cp/').filter((u) => u.inFlight !== null).length;
      maxCpInFlight = Math.max(maxCpInFlight, flying);
      inPlaceWaits.push(...driver.queue.filter((e) => e.type === 'wait-node-ready' && e.key.startsWith('pool/b/')));
      return false;
    });
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(maxCpInFlight, 1, 'control-plane nodes go one at a time');
    // An in-place node is drained before it restarts: its wait has no drain after it.
    assert.ok(inPlaceWaits.length > 0 && inPlaceWaits.every((e) => e.type === 'wait-node-ready' && e.thenDrains === undefined));
    const cpOrder = d.cluster.acted.filter((k) => k.endsWith('/upgrade-cp-node'));
    const hop1 = path.steps[0]?.to ?? '';
    assert.deepEqual(cpOrder, [
      `cp/${hop1}/cp-1/upgrade-cp-node`,
      `cp/${hop1}/cp-2/upgrade-cp-node`,
      `cp/${hop1}/cp-3/upgrade-cp-node`,
      'cp/1.31.4/cp-1/upgrade-cp-node',
      'cp/1.31.4/cp-2/upgrade-cp-node',
      'cp/1.31.4/cp-3/upgrade-cp-node',
    ]);
    for (const cp of ['cp-1', 'cp-2', 'cp-3']) assert.equal(d.cluster.nodes.get(cp)?.version, '1.31.4');
    const a = d.cluster.pool('a');
    const b = d.cluster.pool('b');
    assert.equal(a.length, 10);
    assert.ok(a.every((n) => n.version === '1.31.4' && n.name.startsWith('a-r')));
    assert.deepEqual(
      b.map((n) => [n.name, n.version]).sort(),
      Array.from({ length: 10 }, (_, i) => [`b-${i}`, '1.31.4']).sort(),
    );
    assert.deepEqual(d.cluster.cordoned(), []);
    assertActedOnce(d);
  });

  it('a pool that follows two hops by replacement moves the replacement the second time', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.29.10' });
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: {
        kind: 'version',
        path: {
          kind: 'upgrade',
          from: '1.29.10',
          to: '1.31.4',
          workerStrategy: 'follow',
          notes: [],
          steps: [
            { kind: 'control-plane', from: '1.29.10', to: '1.30.8' },
            { kind: 'pool', pool: 'w', from: '1.29.10', to: '1.30.8', reason: 'follow' },
            { kind: 'control-plane', from: '1.30.8', to: '1.31.4' },
            { kind: 'pool', pool: 'w', from: '1.30.8', to: '1.31.4', reason: 'target' },
          ],
        },
      },
    });
    const d = new Driver(createRunState(plan, { runId: 'r', now: T0 }), new FakeCluster(topology));
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    const first = d.state.units['pool/w/1.30.8/batch-1/w-0'];
    const second = d.state.units['pool/w/1.31.4/batch-1/w-0'];
    assert.equal(second?.node, first?.newNode);
    assert.equal(d.cluster.pool('w').length, 2);
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.31.4'));
  });
});

describe('pause, resume, cancel', () => {
  const nineFixed3: Setup = { pools: { w: 9 }, plan: { pools: { w: { batchPolicy: 'fixed:3' } } } };
  const batchStarted = (n: number) => (state: RunState) =>
    unitsOf(state, `pool/w/1.31.4/batch-${n}/`).some((u) => u.inFlight !== null);

  it('pause mid-batch: the started nodes finish, no new one starts; resume continues', () => {
    const d = setup(nineFixed3);
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    d.send({ type: 'pause-requested', message: 'change freeze' });
    assert.equal(phaseOf(d), 'paused');
    assert.ok(d.queue.length > 0, 'started nodes still have work queued');
    d.run();
    const s = d.state;
    assert.equal(s.status.phase, 'paused');
    if (s.status.phase === 'paused') {
      assert.equal(s.status.reason, 'requested');
      assert.equal(s.status.message, 'change freeze');
      assert.equal(s.status.resumeTo, 'upgrading-pools');
    }
    assert.equal(unitsOf(s, 'pool/w/1.31.4/batch-2/').filter((u) => u.stage === 'done').length, 3);
    assert.equal(unitsOf(s, 'pool/w/1.31.4/batch-3/').length, 0, 'no node of the next batch started');
    assert.equal(s.units['pool/w/1.31.4/batch-2'], undefined, 'the batch gate waits for resume');
    const pool = d.cluster.pool('w');
    assert.equal(pool.filter((n) => n.version === '1.31.4').length, 6);
    assert.equal(pool.filter((n) => n.version === '1.30.4').length, 3);
    assert.deepEqual(d.cluster.cordoned(), []);

    d.now += 3_600_000;
    d.send({ type: 'resume-requested' });
    assert.equal(phaseOf(d), 'upgrading-pools');
    assert.equal(d.state.pausedTotalMs > 3_600_000, true);
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.31.4'));
    assertActedOnce(d);
  });

  it('resume in an exponential pool starts again with a one-node batch (ACK)', () => {
    const d = setup({ pools: { w: 30 } });
    const before = d.plan.phases.find((p) => p.kind === 'pool')?.batches.map((b) => b.steps.length);
    assert.deepEqual(before, [1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    d.send({ type: 'started' });
    d.run(batchStarted(4));
    d.send({ type: 'pause-requested' });
    d.run();
    d.send({ type: 'resume-requested' });
    const after = d.state.plan.phases.find((p) => p.kind === 'pool')?.batches.map((b) => b.steps.length);
    assert.deepEqual(after, [1, 2, 3, 3, 1, 2, 3, 3, 3, 3, 3, 3]);
    assert.equal(d.state.plan.revision, 1);
    assert.ok(d.events.some((e) => e.outcome === 'replanned'));
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(d.cluster.pool('w').length, 30);
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.31.4'));
    assertActedOnce(d);
  });

  it('a rollback takes the replacement taint off every node before it moves any back', () => {
    const d = setup(nineFixed3);
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    d.send({ type: 'pause-requested' });
    d.run();
    assert.deepEqual(d.cluster.tainted(), ['w-6', 'w-7', 'w-8']);
    d.send({ type: 'rollback-requested' });
    assert.deepEqual(d.queue.map((e) => e.type), ['taint-nodes']);
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.deepEqual(d.cluster.tainted(), []);
  });

  it('cancel from paused: nodes done stay upgraded, the others are not touched', () => {
    const d = setup(nineFixed3);
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    d.send({ type: 'pause-requested' });
    d.run();
    d.send({ type: 'cancel-requested' });
    // The cancel takes kup's replacement taint off the nodes the pool's turn tainted, then ends.
    assert.equal(phaseOf(d), 'cancelling');
    assert.deepEqual(d.cluster.tainted(), ['w-6', 'w-7', 'w-8']);
    assert.deepEqual(d.queue.map((e) => [e.type, e.key, e.type === 'taint-nodes' ? e.nodes : undefined]), [['taint-nodes', 'untaint', null]]);
    d.run();
    assert.equal(phaseOf(d), 'cancelled');
    assert.deepEqual(d.cluster.tainted(), []);
    const pool = d.cluster.pool('w');
    assert.equal(pool.filter((n) => n.version === '1.31.4').length, 6);
    assert.deepEqual(
      pool.filter((n) => n.version === '1.30.4').map((n) => n.name),
      ['w-6', 'w-7', 'w-8'],
    );
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('cancel of a run paused on a step that can never succeed ends the run, naming what the step left behind', () => {
    // w-4's replacement never becomes Ready: every wait for it fails, however often it is tried.
    const d = setup({
      ...nineFixed3,
      intercept: (effect) =>
        effect.type === 'wait-node-ready' && effect.key.endsWith('/w-4')
          ? { type: 'step-failed', key: effect.key, action: effect.type, error: { message: 'node w-4-r was not ready after 900s' }, retryable: false }
          : undefined,
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    d.send({ type: 'cancel-requested' });
    d.run();
    const s = d.state;
    assert.equal(s.status.phase, 'cancelled', 'the cancel ends the run instead of retrying the step and pausing again');
    const left = s.status.phase === 'cancelled' ? (s.status.leftBehind ?? []) : [];
    assert.equal(left.length, 1, JSON.stringify(left));
    assert.match(left[0] ?? '', /^node w-4 \(cordoned, surge node \S+ beside it\): wait-node-ready failed: node w-4-r was not ready after 900s$/);
    assert.ok(d.events.some((e) => e.outcome === 'cancelled' && e.message.includes('left behind: node w-4')));
    assert.equal(d.fed.filter((e) => e.type === 'step-failed').length, 1, 'the failed step was not tried again');
    assert.deepEqual(d.cluster.cordoned(), ['w-4'], 'what the run says it left is what the cluster shows');
  });

  it('a step that fails while the run is cancelling pauses it; resume retries it and goes on cancelling', () => {
    let failed = 0;
    const d = setup({
      ...nineFixed3,
      intercept: (effect) => {
        if (effect.type !== 'drain' || !effect.key.endsWith('/w-3') || failed > 0) return undefined;
        failed += 1;
        return { type: 'step-failed', key: effect.key, action: effect.type, error: { message: 'eviction refused' }, retryable: false };
      },
    });
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    d.send({ type: 'cancel-requested' });
    assert.equal(phaseOf(d), 'cancelling');
    d.run();
    const paused = d.state.status;
    assert.equal(paused.phase, 'paused');
    assert.equal(paused.phase === 'paused' ? paused.cancelling : undefined, true);
    d.send({ type: 'resume-requested' });
    assert.equal(phaseOf(d), 'cancelling', 'the cancel stands');
    d.run();
    assert.equal(phaseOf(d), 'cancelled');
    assert.equal(unitsOf(d.state, 'pool/w/1.31.4/batch-3/').length, 0, 'no node of the next batch started');
    assert.equal(d.cluster.pool('w').filter((n) => n.version === '1.31.4').length, 6, 'the started batch finished');
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('resume --replace-node removes a replacement that never became Ready and makes a new one under a new key', () => {
    // w-4's first replacement never becomes Ready; a second one would.
    let broken: string | undefined;
    const d = setup({
      ...nineFixed3,
      intercept: (effect) => {
        if (effect.type !== 'wait-node-ready' || !effect.key.endsWith('/w-4')) return undefined;
        if (broken !== undefined && effect.node !== broken) return undefined;
        broken = effect.node;
        return { type: 'step-failed', key: effect.key, action: effect.type, error: { message: `node ${effect.node} was not ready after 900s` }, retryable: false };
      },
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.ok(broken !== undefined);
    const key = 'pool/w/1.31.4/batch-2/w-4';

    d.send({ type: 'resume-requested', replaceNode: true });
    assert.equal(phaseOf(d), 'upgrading-pools');
    const discard = d.queue.find((e) => e.key === key);
    assert.deepEqual(
      discard && { type: discard.type, node: discard.type === 'discard-replacement' ? discard.node : '', id: discard.idempotencyKey },
      { type: 'discard-replacement', node: broken, id: `${key}/discard-replacement` },
    );
    // Crash-safe: the state alone gives the same effect, under the same key.
    assert.deepEqual(
      pendingEffects(d.state).find((e) => e.key === key),
      discard,
    );
    d.step();
    const second = d.queue.find((e) => e.key === key);
    assert.equal(second?.type, 'replace-node');
    assert.equal(second?.idempotencyKey, `${key}/replace-node~2`, 'a key of its own: the provider makes a new machine');
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    const unit = d.state.units[key];
    assert.deepEqual(unit?.discarded, [broken]);
    assert.notEqual(d.state.lineage['w-4'], broken);
    assert.equal(d.cluster.nodes.has(broken), false, 'the broken replacement is gone');
    assert.equal(d.cluster.pool('w').length, 9);
    assert.deepEqual(d.cluster.cordoned(), []);
    assertActedOnce(d);
    assert.ok(d.events.some((e) => e.outcome === 'resumed' && e.message.startsWith(`${broken} never became Ready: removing it`)));
  });

  it('resume --replace-node is refused when no failed step waits for a replacement, naming what failed', () => {
    const d = setup({
      intercept: (e) =>
        e.type === 'replace-node' && e.node === 'w-1'
          ? { type: 'step-failed', key: e.key, action: e.type, error: { message: 'quota exceeded' }, retryable: false }
          : undefined,
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.throws(
      () => transition(d.state, { type: 'resume-requested', replaceNode: true }, T0 + 1),
      (err: unknown) =>
        err instanceof RunTransitionError &&
        /resume --replace-node is not allowed while the run is paused: no failed step is waiting for a replacement node to become Ready \(failed: pool\/w\/1\.31\.4\/batch-2\/w-1 at replace-node; resume without --replace-node retries them\)/.test(err.message),
    );
  });

  it('a rollback after a discarded replacement leaves neither replacement behind', () => {
    let broken: string | undefined;
    const d = setup({
      ...nineFixed3,
      intercept: (effect) => {
        if (effect.type !== 'wait-node-ready' || !effect.key.endsWith('/w-4')) return undefined;
        broken ??= effect.node;
        return { type: 'step-failed', key: effect.key, action: effect.type, error: { message: 'not ready' }, retryable: false };
      },
    });
    d.send({ type: 'started' });
    d.run();
    d.send({ type: 'resume-requested', replaceNode: true });
    d.run();
    assert.equal(phaseOf(d), 'paused', 'the second replacement never became Ready either');
    const second = d.state.units['pool/w/1.31.4/batch-2/w-4']?.newNode;
    assert.ok(second !== undefined && second !== broken);
    d.send({ type: 'rollback-requested' });
    d.run();
    assert.equal(phaseOf(d), 'rolled-back');
    assert.equal(d.cluster.nodes.has(broken ?? ''), false);
    assert.equal(d.cluster.nodes.has(second), false, 'the second replacement is removed by the rollback');
    assert.ok(d.cluster.nodes.has('w-4'), 'the old node stays');
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('cancel from running: cancelling until the current nodes finish, then cancelled', () => {
    const d = setup(nineFixed3);
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    d.send({ type: 'cancel-requested' });
    assert.equal(phaseOf(d), 'cancelling');
    d.run();
    assert.equal(phaseOf(d), 'cancelled');
    assert.equal(d.cluster.pool('w').filter((n) => n.version === '1.31.4').length, 6);
    assert.deepEqual(d.cluster.cordoned(), []);
    assert.ok(d.events.some((e) => e.outcome === 'cancelled'));
  });

  it('cancel before anything changed ends the run at once', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.send({ type: 'cancel-requested' });
    assert.equal(phaseOf(d), 'cancelled');
    d.run();
    assert.equal(phaseOf(d), 'cancelled', 'the late precheck report is ignored');
    assert.equal(d.cluster.nodes.get('cp-1')?.version, '1.30.4');
  });

  it('refuses operator events the run cannot take, naming the status', () => {
    const d = setup();
    const refuses = (event: Parameters<typeof transition>[1], pattern: RegExp) =>
      assert.throws(
        () => transition(d.state, event, d.now),
        (err: unknown) => err instanceof RunTransitionError && err.code === 'KUP-RUN-001' && pattern.test(err.message),
      );
    refuses({ type: 'pause-requested' }, /pause is not allowed while the run is pending/);
    refuses({ type: 'resume-requested' }, /only a paused run resumes/);
    d.send({ type: 'started' });
    refuses({ type: 'started' }, /started already/);
    d.run();
    refuses({ type: 'cancel-requested' }, /cancel is not allowed while the run is succeeded/);
    // Pausing twice is not an error.
    const p = setup();
    p.send({ type: 'started' });
    p.send({ type: 'pause-requested' });
    const again = transition(p.state, { type: 'pause-requested' }, p.now);
    assert.equal(again.state, p.state);
  });
});

describe('errors', () => {
  const failOnce = (match: (e: ActionEffect) => boolean, retryable = false): Intercept => {
    let failed = false;
    return (effect) => {
      if (failed || !match(effect)) return undefined;
      failed = true;
      return {
        type: 'step-failed',
        key: effect.key,
        action: effect.type,
        error: { code: 'KUP-PROVIDER-007', message: 'operation op-1 failed: machine did not boot' },
        retryable,
        cause: { pool: 'w' },
      };
    };
  };

  it('an error pauses the run with the cause named; resume retries the failed step', () => {
    const d = setup({ intercept: failOnce((e) => e.type === 'replace-node' && e.node === 'w-1') });
    d.send({ type: 'started' });
    d.run();
    const s = d.state.status;
    assert.equal(s.phase, 'paused');
    if (s.phase !== 'paused') return;
    assert.equal(s.reason, 'step-failed');
    assert.equal(s.cause?.node, 'w-1');
    assert.equal(s.cause?.key, 'pool/w/1.31.4/batch-2/w-1');
    assert.equal(s.cause?.code, 'KUP-PROVIDER-007');
    assert.match(s.message, /replace-node of w-1 failed: operation op-1 failed/);
    assert.equal(d.state.units['pool/w/1.31.4/batch-3/w-2'], undefined);

    d.send({ type: 'resume-requested' });
    const retry = d.queue.find((e) => e.key === 'pool/w/1.31.4/batch-2/w-1');
    assert.equal(retry?.type, 'replace-node');
    assert.equal(retry?.attempt, 2);
    assert.equal(retry?.idempotencyKey, 'pool/w/1.31.4/batch-2/w-1/replace-node#2');
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.31.4'));
  });

  it('a retryable error is retried with backoff before it pauses the run', () => {
    let failures = 0;
    const d = setup({
      pools: { w: 1 },
      intercept: (effect) => {
        if (effect.type !== 'check-api-health' || failures >= 2) return undefined;
        failures += 1;
        return {
          type: 'step-failed',
          key: effect.key,
          action: effect.type,
          error: { message: '503' },
          retryable: true,
        };
      },
    });
    d.send({ type: 'started' });
    d.run((state) => {
      const u = state.units['cp/1.31.4/cp-1'];
      return u?.inFlight?.action === 'check-api-health' && u.inFlight.attempt === 2;
    });
    const retry = d.queue.find((e) => e.key === 'cp/1.31.4/cp-1');
    assert.equal(retry?.notBefore, d.now + 5_000);
    // A transient failure may have taken effect: the retry keeps the idempotency key.
    assert.equal(retry?.idempotencyKey, 'cp/1.31.4/cp-1/check-api-health');
    assert.equal(retry?.attempt, 2);
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(d.events.filter((e) => e.outcome === 'retrying').length, 2);
  });

  it('a retryable error past the retry budget pauses', () => {
    const d = setup({
      pools: { w: 1 },
      run: { maxAutoRetries: 1 },
      intercept: (effect) =>
        effect.type === 'check-api-health'
          ? {
              type: 'step-failed',
              key: effect.key,
              action: effect.type,
              error: { message: '503 Service Unavailable' },
              retryable: true,
            }
          : undefined,
    });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'paused');
    assert.equal(d.state.units['cp/1.31.4/cp-1']?.failure?.attempt, 2);
    d.send({ type: 'resume-requested' });
    const retry = d.queue.find((e) => e.key === 'cp/1.31.4/cp-1');
    assert.deepEqual([retry?.attempt, retry?.idempotencyKey], [3, 'cp/1.31.4/cp-1/check-api-health']);
  });

  it('a run paused longer than 15 days ends', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-pools');
    d.send({ type: 'pause-requested' });
    d.run();
    const pausedAt = d.state.status.phase === 'paused' ? d.state.status.pausedAt : 0;
    const still = transition(d.state, { type: 'tick' }, pausedAt + 15 * DAY - 1);
    assert.equal(still.state, d.state);
    const ended = transition(d.state, { type: 'tick' }, pausedAt + 15 * DAY);
    assert.equal(ended.state.status.phase, 'failed');
    if (ended.state.status.phase === 'failed') {
      assert.equal(ended.state.status.code, 'pause-expired');
      assert.match(ended.state.status.reason, /paused for more than 15 days/);
    }
    assert.ok(ended.effects.some((e) => e.type === 'emit-event' && e.entry.outcome === 'expired'));
  });

  it('the pause limit is configurable', () => {
    const d = setup({ run: { maxPauseMs: 60_000 } });
    d.send({ type: 'started' });
    d.send({ type: 'pause-requested' });
    assert.equal(transition(d.state, { type: 'tick' }, d.now + 60_000).state.status.phase, 'failed');
  });

  it('a failed precheck ends the run with the blockers; acknowledged blockers are kept', () => {
    const failing = setup({
      intercept: (e) =>
        e.type === 'precheck'
          ? {
              type: 'precheck-failed',
              blockers: [{ rule: 'pdb-blockers', message: 'PDB shop/web allows no disruption' }],
            }
          : undefined,
    });
    failing.send({ type: 'started' });
    failing.run();
    assert.equal(phaseOf(failing), 'failed');
    if (failing.state.status.phase === 'failed')
      assert.match(failing.state.status.reason, /pdb-blockers: PDB shop\/web/);
    assert.equal(failing.cluster.acted.length, 0);

    const ack = setup({
      intercept: (e) =>
        e.type === 'precheck'
          ? {
              type: 'precheck-passed',
              acknowledged: [{ rule: 'single-replica', object: 'shop/cache', reason: 'owner agreed' }],
            }
          : undefined,
    });
    ack.send({ type: 'started' });
    ack.run();
    assert.equal(phaseOf(ack), 'succeeded');
    assert.deepEqual(ack.state.acknowledged, [
      { rule: 'single-replica', object: 'shop/cache', reason: 'owner agreed' },
    ]);
  });

  it('ignores a report for an action that is not in flight (a duplicate after a restart)', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-pools');
    const late = transition(
      d.state,
      { type: 'step-succeeded', key: 'cp/1.31.4/cp-1', action: 'upgrade-cp-node' },
      d.now,
    );
    assert.equal(late.state, d.state);
    assert.deepEqual(late.effects, []);
  });

  it('refuses a replacement reported without the new node', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run((s) => Object.values(s.units).some((u) => u.inFlight?.action === 'replace-node'));
    const unit = Object.values(d.state.units).find((u) => u.inFlight?.action === 'replace-node');
    assert.throws(
      () =>
        transition(
          d.state,
          { type: 'step-succeeded', key: unit?.key ?? '', action: 'replace-node', result: {} },
          d.now,
        ),
      (err: unknown) => err instanceof RunTransitionError && err.code === 'KUP-RUN-004',
    );
  });
});

describe('drain timeouts', () => {
  const blocked = [{ pod: 'shop/cart-7d9', pdb: 'shop/cart-pdb', reason: 'needs 3 healthy pods and has 3' }];
  const blockDrainOf = (node: string, times = 1): Intercept => {
    let left = times;
    return (effect) => {
      if (effect.type !== 'drain' || effect.node !== node || effect.force || left <= 0) return undefined;
      left -= 1;
      return { type: 'drain-timed-out', key: effect.key, pods: blocked };
    };
  };

  it('pause (default): the run pauses naming the node, pod and PDB; resume retries the drain', () => {
    const d = setup({ intercept: blockDrainOf('w-1') });
    d.send({ type: 'started' });
    d.run();
    const s = d.state.status;
    assert.equal(s.phase, 'paused');
    if (s.phase !== 'paused') return;
    assert.equal(s.reason, 'drain-timed-out');
    assert.equal(s.cause?.node, 'w-1');
    assert.equal(s.cause?.pod, 'shop/cart-7d9');
    assert.equal(s.cause?.pdb, 'shop/cart-pdb');
    assert.match(s.message, /drain of w-1 timed out: shop\/cart-7d9 blocked by PDB shop\/cart-pdb/);
    assert.deepEqual(d.cluster.cordoned(), ['w-1']);
    d.send({ type: 'resume-requested' });
    const retry = d.queue.find((e) => e.type === 'drain');
    assert.equal(retry?.type === 'drain' && retry.force, false);
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('quarantine: the node stays cordoned and labelled, the run goes on', () => {
    const d = setup({ run: { drainTimeoutPolicy: 'quarantine' }, intercept: blockDrainOf('w-1') });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(d.cluster.cordoned(), ['w-1']);
    assert.deepEqual(d.cluster.nodes.get('w-1')?.labels, { 'kup.dev/quarantined': 'true' });
    assert.deepEqual(
      d.state.quarantined.map((q) => [q.node, q.pods[0]?.pdb]),
      [['w-1', 'shop/cart-pdb']],
    );
    assert.equal(d.state.units['pool/w/1.31.4/batch-2/w-1']?.stage, 'quarantined');
    // Its surge replacement joined the pool; the other two slots were replaced normally.
    const pool = d.cluster.pool('w');
    assert.equal(pool.filter((n) => n.version === '1.31.4').length, 3);
    assert.ok(d.events.some((e) => e.outcome === 'quarantined' && e.node === 'w-1'));
  });

  it('quarantine with --max-blocked-nodes: past the bound the run pauses naming every blocked node, pod and PDB', () => {
    // Batches of w: [w-0], [w-1, w-2], [w-3, w-4]. w-1 is quarantined; w-3's drain would be the second: it pauses.
    const w1 = blockDrainOf('w-1');
    const w3 = blockDrainOf('w-3');
    const d = setup({
      pools: { w: 5 },
      run: { drainTimeoutPolicy: 'quarantine', maxBlockedNodes: 1 },
      intercept: (e, c) => w1(e, c) ?? w3(e, c),
    });
    d.send({ type: 'started' });
    d.run();
    const s = d.state.status;
    assert.equal(s.phase, 'paused');
    if (s.phase !== 'paused') return;
    assert.equal(s.reason, 'drain-timed-out');
    assert.equal(s.cause?.node, 'w-3');
    assert.equal(s.cause?.pdb, 'shop/cart-pdb');
    assert.match(
      s.message,
      /^drain of w-3 timed out: shop\/cart-7d9 blocked by PDB shop\/cart-pdb .*; 1 node\(s\) may be quarantined \(--max-blocked-nodes\) and 1 are: w-1 \(shop\/cart-7d9 blocked by PDB shop\/cart-pdb/,
    );
    assert.deepEqual(d.state.quarantined.map((q) => q.node), ['w-1']);
    assert.deepEqual(d.cluster.cordoned(), ['w-1', 'w-3']);
    assert.equal(d.cluster.nodes.get('w-3')?.labels['kup.dev/quarantined'], undefined, 'the second node is not labelled');
    // The budget that blocked w-3 lets go: resume retries its drain and the run finishes with w-1 alone quarantined.
    d.send({ type: 'resume-requested' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(d.cluster.cordoned(), ['w-1']);
    assert.deepEqual(d.state.quarantined.map((q) => q.node), ['w-1']);
  });

  it('--max-blocked-nodes 0 pauses at the first blocked drain; it needs the quarantine policy', () => {
    const d = setup({ run: { drainTimeoutPolicy: 'quarantine', maxBlockedNodes: 0 }, intercept: blockDrainOf('w-1') });
    d.send({ type: 'started' });
    d.run();
    assert.equal(d.state.status.phase, 'paused');
    assert.match(d.state.status.phase === 'paused' ? d.state.status.message : '', /0 node\(s\) may be quarantined \(--max-blocked-nodes\) and none may be$/);
    assert.deepEqual(d.state.quarantined, []);
    const plan = d.state.plan;
    assert.throws(
      () => createRunState(plan, { runId: 'r', now: T0, maxBlockedNodes: 2 }),
      (err: unknown) => err instanceof RunTransitionError && /maxBlockedNodes bounds the quarantine drain-timeout policy, not "pause"/.test(err.message),
    );
    assert.throws(
      () => createRunState(plan, { runId: 'r', now: T0, drainTimeoutPolicy: 'quarantine', maxBlockedNodes: 1.5 }),
      /maxBlockedNodes must be a whole number >= 0, not 1.5/,
    );
  });

  it("quarantine in place: the slot is skipped by the pool's later moves", () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.29.10' });
    const plan = buildPlan({
      cluster: 'c',
      topology,
      defaults: { strategy: 'in-place' },
      change: {
        kind: 'version',
        path: {
          kind: 'upgrade',
          from: '1.29.10',
          to: '1.31.4',
          workerStrategy: 'follow',
          notes: [],
          steps: [
            { kind: 'control-plane', from: '1.29.10', to: '1.30.8' },
            { kind: 'pool', pool: 'w', from: '1.29.10', to: '1.30.8', reason: 'follow' },
            { kind: 'control-plane', from: '1.30.8', to: '1.31.4' },
            { kind: 'pool', pool: 'w', from: '1.30.8', to: '1.31.4', reason: 'target' },
          ],
        },
      },
    });
    const d = new Driver(
      createRunState(plan, { runId: 'r', now: T0, drainTimeoutPolicy: 'quarantine' }),
      new FakeCluster(topology),
      {
        intercept: blockDrainOf('w-0'),
      },
    );
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.equal(d.state.units['pool/w/1.31.4/batch-1/w-0']?.stage, 'skipped');
    assert.equal(d.cluster.nodes.get('w-0')?.version, '1.29.10');
    assert.equal(d.cluster.nodes.get('w-1')?.version, '1.31.4');
  });

  it('force: the drain is repeated past the PDB and recorded', () => {
    const d = setup({ run: { drainTimeoutPolicy: 'force' }, intercept: blockDrainOf('w-1') });
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.ok(!phasesSeen(d).includes('paused'));
    assert.deepEqual(
      d.state.forcedDrains.map((f) => [f.node, f.pods[0]?.pod]),
      [['w-1', 'shop/cart-7d9']],
    );
    assert.ok(d.cluster.acted.includes('pool/w/1.31.4/batch-2/w-1/drain#2'));
    assert.ok(d.events.some((e) => e.outcome === 'forced' && /past the PodDisruptionBudgets/.test(e.message)));
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('force: a forced drain that times out again pauses', () => {
    const d = setup({ run: { drainTimeoutPolicy: 'force' }, intercept: blockDrainOf('w-1', 1) });
    // Make the forced drain time out too.
    const inner = d.options.intercept;
    const forcedToo = new Driver(d.state, d.cluster, {
      intercept: (e, c) =>
        e.type === 'drain' && e.node === 'w-1' && e.force
          ? { type: 'drain-timed-out', key: e.key, pods: blocked }
          : inner?.(e, c),
    });
    forcedToo.send({ type: 'started' });
    forcedToo.run();
    assert.equal(phaseOf(forcedToo), 'paused');
  });
});

describe('plans without a control plane', () => {
  it('runs an image-only plan: only pool steps', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.31.4', image: 'gl-1443' });
    const plan: RolloutPlan = buildPlan({
      cluster: 'g',
      topology,
      change: { kind: 'image', images: { w: 'gl-1592' } },
      defaults: { strategy: 'in-place' },
    });
    const d = new Driver(createRunState(plan, { runId: 'img', now: T0 }), new FakeCluster(topology));
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.ok(!phasesSeen(d).includes('upgrading-control-plane'));
    assert.deepEqual(
      d.cluster.pool('w').map((n) => [n.name, n.version, n.image]),
      [
        ['w-0', '1.31.4', 'gl-1592'],
        ['w-1', '1.31.4', 'gl-1592'],
        ['w-2', '1.31.4', 'gl-1592'],
      ],
    );
    assert.equal(d.state.pointOfNoReturnPassedAt, null);
    assert.deepEqual(d.cluster.cordoned(), []);
  });

  it('a plan with nothing to do succeeds after the precheck', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 1 }, version: '1.31.4' });
    const plan = buildPlan({
      cluster: 'c',
      topology,
      change: {
        kind: 'version',
        path: { kind: 'nothing-to-do', from: '1.31.4', to: '1.31.4', workerStrategy: 'follow', steps: [], notes: [] },
      },
    });
    const d = new Driver(createRunState(plan, { runId: 'n', now: T0 }), new FakeCluster(topology));
    d.send({ type: 'started' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
  });
});

describe('a batch of events (transitionAll)', () => {
  it('ends where the events one by one end, leaves the state it started from as it was, and skips a refused event', () => {
    const d = setup({ pools: { w: 8 }, plan: { defaults: { batchPolicy: 'fixed:4' } } });
    d.send({ type: 'started' });
    const inFlight = (s: RunState) => Object.values(s.units).filter((u) => u.inFlight !== null && u.key.includes('/w/'));
    d.run((s) => inFlight(s).length === 4);
    const before = d.state;
    const json = JSON.stringify(before);
    const flying = inFlight(before);
    const events: RunEvent[] = [
      ...flying.map((u): RunEvent => ({ type: 'step-started', key: u.key, action: u.inFlight!.action })),
      { type: 'resume-requested' },
      ...flying.map((u, i): RunEvent => ({ type: 'step-succeeded', key: u.key, action: u.inFlight!.action, result: { newNode: `new-${i}` } })),
    ];
    const batch = transitionAll(before, events, d.now + 1_000);

    let expected = before;
    const refused: number[] = [];
    events.forEach((event, i) => {
      try {
        expected = transition(expected, event, d.now + 1_000).state;
      } catch {
        refused.push(i);
      }
    });
    assert.deepEqual(refused, [flying.length], 'resuming a run that is not paused is refused');
    assert.deepEqual(batch.results.map((r) => r.ok), events.map((_, i) => i !== flying.length));
    assert.deepEqual(batch.state, expected);
    assert.equal(JSON.stringify(before), json, 'the state the batch started from is unchanged');
    assert.notEqual(batch.state.units, before.units);
    for (const u of flying) assert.notDeepEqual(batch.state.units[u.key], before.units[u.key]);
  });
});
