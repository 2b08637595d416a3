import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../plan.ts';
import { nodeRunStates } from './node-states.ts';
import { createRunState } from './state.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath } from './test-driver.ts';

const T0 = Date.UTC(2025, 0, 1);

describe('nodeRunStates', () => {
  it('walks each node from waiting through cordoned, draining and replacing to done', () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.30.4' });
    const plan = buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinorPath() } });
    const d = new Driver(createRunState(plan, { runId: 'run', now: T0 }), new FakeCluster(topology));
    const initial = nodeRunStates(d.state);
    assert.ok(initial.length === 3, JSON.stringify(initial));
    assert.ok(initial.every((n) => n.state === 'waiting'));
    assert.deepEqual(
      initial.filter((n) => n.pool).map((n) => n.pool),
      ['w', 'w'],
    );

    d.send({ type: 'started' });
    const seen = new Map<string, string[]>();
    d.run((state) => {
      for (const n of nodeRunStates(state)) {
        const states = seen.get(n.pool ?? 'cp') ?? [];
        if (states[states.length - 1] !== n.state) states.push(n.state);
        seen.set(n.pool ?? 'cp', states);
      }
      return false;
    });
    const final = nodeRunStates(d.state);
    assert.ok(
      final.every((n) => n.state === 'done'),
      JSON.stringify(final),
    );
    const worker = seen.get('w') ?? [];
    for (const s of ['waiting', 'cordoned', 'draining', 'replacing', 'done'])
      assert.ok(worker.includes(s), `${s} in ${worker.join(' ')}`);
    // A replaced worker names the node that replaced it.
    const workers = final.filter((n) => n.pool === 'w');
    assert.ok(
      workers.every((n) => n.newNode !== undefined && n.newNode !== n.node),
      JSON.stringify(workers),
    );
  });
});
