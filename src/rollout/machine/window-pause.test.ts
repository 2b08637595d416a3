import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../plan.ts';
import { createRunState, reviveRunState } from './state.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath, phaseOf } from './test-driver.ts';
import { transition } from './transition.ts';
import type { RunState } from './types.ts';

const T0 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

function setup(): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: 9 }, version: '1.30.4' });
  const plan = buildPlan({
    cluster: 'test',
    topology,
    change: { kind: 'version', path: oneMinorPath(['w']) },
    pools: { w: { batchPolicy: 'fixed:3' } },
  });
  return new Driver(createRunState(plan, { runId: 'run-1', now: T0, maxPauseMs: 15 * DAY }), new FakeCluster(topology));
}

const unitsOf = (state: RunState, prefix: string) => Object.values(state.units).filter((u) => u.key.startsWith(prefix));
const batchStarted = (n: number) => (state: RunState) =>
  unitsOf(state, `pool/w/1.31.4/batch-${n}/`).some((u) => u.inFlight !== null);

describe("a maintenance window's end", () => {
  it('pauses at the next safe point: the started nodes finish their drain and replacement, the next batch waits', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    const resumesAt = d.now + 7 * DAY;
    d.send({ type: 'window-closed', resumesAt });
    const s0 = d.state.status;
    assert.equal(s0.phase, 'paused');
    assert.equal(s0.phase === 'paused' && s0.reason, 'window-closed');
    assert.equal(s0.phase === 'paused' && s0.resumesAt, resumesAt);
    assert.match(
      s0.phase === 'paused' ? s0.message : '',
      /maintenance window ended; resumes when the next window opens, /,
    );
    assert.ok(d.queue.length > 0, 'the started nodes still have work');
    d.run();
    const s = d.state;
    assert.equal(
      unitsOf(s, 'pool/w/1.31.4/batch-2/').filter((u) => u.stage === 'done').length,
      3,
      'no node left mid-drain',
    );
    assert.equal(unitsOf(s, 'pool/w/1.31.4/batch-3/').length, 0, 'no node of the next batch started');
    assert.deepEqual(d.cluster.cordoned(), []);
    // Round trip through JSON, as the store keeps it.
    assert.deepEqual(reviveRunState(JSON.parse(JSON.stringify(s))), s);
  });

  it('does not count against the pause limit, and resumes in the next window', () => {
    const d = setup();
    d.send({ type: 'started' });
    d.run(batchStarted(2));
    d.send({ type: 'window-closed', resumesAt: d.now + 30 * DAY });
    d.run();
    // Thirty days later (twice the limit) the run is still waiting for its window.
    const waiting = transition(d.state, { type: 'tick' }, d.now + 30 * DAY);
    assert.equal(waiting.state, d.state, 'a tick changes nothing');
    d.now += 30 * DAY;
    d.send({ type: 'resume-requested' });
    assert.equal(phaseOf(d), 'upgrading-pools');
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.ok(d.cluster.pool('w').every((n) => n.version === '1.31.4'));
  });

  it("leaves an operator's pause, a cancel and a finished run as they are", () => {
    const paused = setup();
    paused.send({ type: 'started' });
    paused.run(batchStarted(2));
    paused.send({ type: 'pause-requested', message: 'looking at something' });
    const before = paused.state;
    assert.equal(transition(before, { type: 'window-closed' }, paused.now).state, before);
    // An operator's pause still ends at the limit.
    const pausedAt = before.status.phase === 'paused' ? before.status.pausedAt : 0;
    assert.equal(transition(before, { type: 'tick' }, pausedAt + 15 * DAY).state.status.phase, 'failed');

    const cancelling = setup();
    cancelling.send({ type: 'started' });
    cancelling.run(batchStarted(2));
    cancelling.send({ type: 'cancel-requested' });
    assert.equal(transition(cancelling.state, { type: 'window-closed' }, cancelling.now).state, cancelling.state);
  });
});
