import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRolloutState } from './create.ts';
import { RolloutError } from './errors.ts';
import { baselineOf, failingGates } from './health-gates.ts';
import { pendingRolloutEffects, reviveRolloutState, transitionRollout } from './transition.ts';
import type { ClusterLabels, RolloutEffect, RolloutEvent, RolloutLogEntry, RolloutState } from './types.ts';

const T0 = Date.UTC(2026, 11, 7, 9);
const MIN = 60_000;

const fleet: ClusterLabels[] = [
  { name: 'dev-1', labels: { env: 'dev' } },
  { name: 'dev-2', labels: { env: 'dev' } },
  { name: 'stg-1', labels: { env: 'staging' } },
  { name: 'stg-2', labels: { env: 'staging' } },
  { name: 'prod-1', labels: { env: 'prod' } },
];

const spec = {
  name: 'to-1-31',
  target: { to: '1.31.4' },
  stages: [
    { name: 'dev', clusters: { labels: { env: 'dev' } }, maxConcurrency: 2, soakMinutes: 10 },
    { name: 'staging', clusters: { labels: { env: 'staging' } }, soakMinutes: 30 },
    { name: 'prod', clusters: { names: ['prod-1'] }, approval: true },
  ],
};

/** Feeds a rollout, persisting every state through JSON as the store does. */
class Feeder {
  state: RolloutState;
  now = T0;
  effects: RolloutEffect[] = [];
  log: RolloutLogEntry[] = [];
  constructor(state: RolloutState) {
    this.state = state;
  }
  send(event: RolloutEvent): RolloutEffect[] {
    const { state, effects } = transitionRollout(this.state, event, this.now);
    const back = reviveRolloutState(JSON.parse(JSON.stringify(state)));
    assert.deepEqual(back, state, 'the state survives a JSON round trip');
    this.state = back;
    const acts = effects.filter((e) => e.type !== 'emit-event');
    for (const e of effects) if (e.type === 'emit-event') this.log.push(e.entry);
    this.effects.push(...acts);
    return acts;
  }
  take<T extends RolloutEffect['type']>(type: T): Extract<RolloutEffect, { type: T }>[] {
    const out = this.effects.filter((e): e is Extract<RolloutEffect, { type: T }> => e.type === type);
    this.effects = this.effects.filter((e) => e.type !== type);
    return out;
  }
  /** Starts every asked run and reports it created. */
  createRuns(): string[] {
    return this.take('start-cluster-run').map((e) => {
      this.send({
        type: 'cluster-run-created',
        cluster: e.cluster,
        runId: `run-${e.cluster}-${e.idempotencyKey.split('/').pop()}`,
      });
      return e.cluster;
    });
  }
  finish(cluster: string, outcome: 'succeeded' | 'failed' = 'succeeded'): void {
    const runId = this.state.clusters[cluster]?.runId ?? '';
    this.now += MIN;
    this.send({
      type: 'cluster-run-finished',
      cluster,
      runId,
      outcome,
      ...(outcome === 'failed' ? { message: 'node w-2 never became Ready' } : {}),
    });
  }
  baselines(): void {
    for (const e of this.take('record-baselines'))
      this.send({
        type: 'baselines-recorded',
        stage: e.stage,
        baselines: Object.fromEntries(
          e.clusters.map((c) => [c, { crashLooping: ['Deployment/shop/legacy'], pending: [] }]),
        ),
      });
  }
}

const paused = (s: RolloutState) => (s.status.phase === 'paused' ? s.status : undefined);

describe('a fleet rollout', () => {
  it('goes stage by stage: concurrency, soak, a paused run that holds, a failing gate, an approval, a retried failure', () => {
    const f = new Feeder(createRolloutState(spec, fleet, { id: 'ro-1', now: T0 }));
    assert.deepEqual(
      f.state.stages.map((s) => s.clusters),
      [['dev-1', 'dev-2'], ['stg-1', 'stg-2'], ['prod-1']],
    );
    f.send({ type: 'started' });
    assert.deepEqual(f.take('start-cluster-run'), [], 'no run before the baselines');
    f.baselines();

    // dev: both at once (maxConcurrency 2), then a 10-minute soak.
    assert.deepEqual(f.createRuns(), ['dev-1', 'dev-2']);
    f.finish('dev-1');
    assert.deepEqual(f.take('soak'), [], 'no soak until every cluster of the stage is done');
    f.finish('dev-2');
    const [soak] = f.take('soak');
    assert.equal(soak?.until, f.now + 10 * MIN);
    f.send({ type: 'soak-elapsed', stage: 0 });
    assert.equal(f.state.stages[0]?.phase, 'soaking', 'a soak reported early does not end it');
    f.now = soak.until;
    f.send({ type: 'soak-elapsed', stage: 0 });
    assert.equal(f.state.stages[0]?.phase, 'succeeded');
    f.baselines();

    // staging: one at a time; a paused run holds the rollout until it goes again.
    assert.deepEqual(f.createRuns(), ['stg-1']);
    f.send({ type: 'cluster-run-paused', cluster: 'stg-1', runId: 'run-stg-1-1', message: 'drain of w-0 timed out' });
    assert.equal(paused(f.state)?.reason, 'cluster-run-paused');
    assert.equal(paused(f.state)?.cause?.cluster, 'stg-1');
    assert.throws(
      () => f.send({ type: 'resume-requested' }),
      (e: unknown) =>
        e instanceof RolloutError &&
        /the run of cluster stg-1 \(run-stg-1-1\) is paused: resume or cancel it first/.test(e.message),
    );
    f.send({ type: 'cluster-run-resumed', cluster: 'stg-1', runId: 'run-stg-1-1' });
    assert.equal(f.state.status.phase, 'running');
    f.finish('stg-1');
    assert.deepEqual(f.createRuns(), ['stg-2']);
    f.finish('stg-2');
    const [stagingSoak] = f.take('soak');
    assert.deepEqual(stagingSoak?.baselines['stg-2'], { crashLooping: ['Deployment/shop/legacy'], pending: [] });

    // A gate fails during the soak: paused, naming cluster and signal; the soak's end no longer counts.
    f.now += 5 * MIN;
    f.send({
      type: 'gate-failed',
      stage: 1,
      cluster: 'stg-2',
      signal: 'crash-looping-pods',
      objects: ['Deployment/shop/cart'],
      message: 'pods crash-looping that were not before: Deployment/shop/cart',
    });
    assert.equal(paused(f.state)?.reason, 'health-gate');
    assert.deepEqual(paused(f.state)?.cause, {
      cluster: 'stg-2',
      signal: 'crash-looping-pods',
      objects: ['Deployment/shop/cart'],
      message: 'pods crash-looping that were not before: Deployment/shop/cart',
    });
    assert.match(
      paused(f.state)?.message ?? '',
      /health gate crash-looping-pods failed on cluster stg-2 during the soak of stage staging/,
    );
    f.now = stagingSoak.until;
    f.send({ type: 'soak-elapsed', stage: 1 });
    assert.equal(f.state.stages[1]?.phase, 'soaking', 'paused: the stage does not finish');
    // Fixed; resumed: the whole soak again, from now.
    f.now += 60 * MIN;
    f.send({ type: 'resume-requested' });
    const [again] = f.take('soak');
    assert.equal(again?.until, f.now + 30 * MIN);
    f.now = again.until;
    f.send({ type: 'soak-elapsed', stage: 1 });

    // prod waits for approval; nothing starts before it.
    assert.equal(f.state.stages[2]?.phase, 'awaiting-approval');
    assert.deepEqual(f.effects, []);
    f.send({ type: 'approved', stage: 2, by: 'alice' });
    f.baselines();
    assert.deepEqual(f.createRuns(), ['prod-1']);
    f.finish('prod-1', 'failed');
    assert.equal(paused(f.state)?.reason, 'cluster-run-failed');
    assert.match(
      paused(f.state)?.message ?? '',
      /cluster prod-1: run run-prod-1-1 failed: node w-2 never became Ready/,
    );
    // Resume retries with a new run (a new idempotency key).
    f.send({ type: 'resume-requested' });
    const retry = f.take('start-cluster-run');
    assert.deepEqual(
      retry.map((e) => e.idempotencyKey),
      ['ro-1/prod-1/2'],
    );
    f.send({ type: 'cluster-run-created', cluster: 'prod-1', runId: 'run-prod-1-2' });
    f.finish('prod-1');
    assert.equal(f.state.status.phase, 'succeeded');
    assert.deepEqual(
      f.log.filter((e) => e.outcome === 'stage-succeeded' || e.outcome === 'succeeded').map((e) => e.message),
      [
        'stage dev finished healthy',
        'stage staging finished healthy',
        'stage prod finished healthy',
        'rollout to-1-31 succeeded: 5 cluster(s) at Kubernetes 1.31.4',
      ],
    );
    const seqs = f.log.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      'log entries numbered without gaps',
    );
  });

  it('performs again after a restart what was asked and not reported, with the same keys', () => {
    const f = new Feeder(createRolloutState(spec, fleet, { id: 'ro-2', now: T0 }));
    f.send({ type: 'started' });
    assert.deepEqual(pendingRolloutEffects(f.state), [
      { type: 'record-baselines', stage: 0, clusters: ['dev-1', 'dev-2'] },
    ]);
    f.baselines();
    assert.deepEqual(
      pendingRolloutEffects(f.state).map((e) => e.type === 'start-cluster-run' && e.idempotencyKey),
      ['ro-2/dev-1/1', 'ro-2/dev-2/1'],
    );
    f.createRuns();
    assert.deepEqual(pendingRolloutEffects(f.state), []);
  });

  it('pause stops new runs; cancel names the runs still going', () => {
    const f = new Feeder(
      createRolloutState({ ...spec, stages: [{ name: 'all', clusters: { labels: {} }, maxConcurrency: 2 }] }, fleet, {
        id: 'ro-3',
        now: T0,
      }),
    );
    f.send({ type: 'started' });
    f.baselines();
    f.createRuns();
    f.send({ type: 'pause-requested', message: 'incident' });
    f.finish('dev-1');
    assert.deepEqual(f.take('start-cluster-run'), [], 'no new run while paused');
    f.send({ type: 'cancel-requested' });
    assert.deepEqual(f.state.status, { phase: 'cancelled', at: f.now, runsLeft: ['dev-2: run-dev-2-1'] });
    assert.throws(() => f.send({ type: 'resume-requested' }), /only a paused rollout resumes/);
  });

  it('refuses a spec naming the field, and an approval of a stage without a gate', () => {
    const cases: [unknown, RegExp][] = [
      [
        { ...spec, stages: [{ name: 'a', clusters: { names: ['nope'] } }] },
        /stages\[0\]\.clusters\.names\[0\]: cluster nope is not registered/,
      ],
      [
        { ...spec, stages: [{ name: 'a', clusters: { labels: { env: 'qa' } } }] },
        /stages\[0\]\.clusters: stage a selects no cluster/,
      ],
      [
        {
          ...spec,
          stages: [
            { name: 'a', clusters: { names: ['dev-1'] } },
            { name: 'b', clusters: { names: ['dev-1'] } },
          ],
        },
        /stages\[1\]\.clusters: stage b selects no cluster that an earlier stage did not take/,
      ],
      [
        { ...spec, stages: [{ name: 'a', clusters: { names: ['dev-1'] }, maxConcurrency: 0 }] },
        /stages\[0\]\.maxConcurrency: 0 is not a whole number from 1/,
      ],
      [{ ...spec, target: {} }, /target: give a Kubernetes version/],
      [
        {
          ...spec,
          stages: [
            { name: 'a', clusters: { names: ['dev-1'] } },
            { name: 'a', clusters: { names: ['dev-2'] } },
          ],
        },
        /stages\[1\]\.name: a is used twice/,
      ],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => createRolloutState(input, fleet, { id: 'x', now: T0 }),
        (e: unknown) => e instanceof RolloutError && e.code === 'KUP-ROLLOUT-001' && message.test(e.message),
        String(message),
      );
    }
    const f = new Feeder(createRolloutState(spec, fleet, { id: 'ro-4', now: T0 }));
    assert.throws(() => f.send({ type: 'approved', stage: 0, by: 'bob' }), /stage dev has no approval gate/);
    // Approving ahead of time is allowed: prod then starts without waiting.
    f.send({ type: 'approved', stage: 2, by: 'bob' });
    assert.deepEqual(f.state.stages[2]?.approved, { by: 'bob', at: T0 });
  });
});

describe('soak health gates', () => {
  const before = baselineOf({
    crashLooping: ['Deployment/shop/legacy'],
    pending: [],
    unhealthyPdbs: [],
    notReadyNodes: [],
  });
  it('pass for a cluster as healthy as before, failing workloads it had before included', () => {
    assert.deepEqual(
      failingGates(before, {
        crashLooping: ['Deployment/shop/legacy'],
        pending: [],
        unhealthyPdbs: [],
        notReadyNodes: [],
      }),
      [],
    );
  });
  it('name each new signal and its objects', () => {
    const failures = failingGates(before, {
      crashLooping: ['Deployment/shop/legacy', 'Deployment/shop/cart'],
      pending: ['StatefulSet/db/pg'],
      unhealthyPdbs: ['shop/cart-pdb'],
      notReadyNodes: ['w-3'],
    });
    assert.deepEqual(
      failures.map((g) => [g.signal, g.objects]),
      [
        ['crash-looping-pods', ['Deployment/shop/cart']],
        ['pending-pods', ['StatefulSet/db/pg']],
        ['pdb-unhealthy', ['shop/cart-pdb']],
        ['node-not-ready', ['w-3']],
      ],
    );
  });
});
