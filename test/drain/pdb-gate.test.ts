/**
 * The budget gate against kube-sim: the rounds it measures, and the pods it holds back when a batch's longest line
 * behind one budget leaves them time to spare.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { systemClock } from '../../src/drain/clock.ts';
import type { GateOutcome } from '../../src/drain/pdb-gate.ts';
import { RoundEstimate, createPdbGate } from '../../src/drain/pdb-gate.ts';
import { api } from '../helpers/sim.ts';
import { allPods, drainScenario, startCase } from './helpers.ts';

const WAIT = { maxMs: 60_000, fallbackMs: 0 };

/** A node with two lines behind budgets: `chain` lets one of its six pods go a round, `wide` all four of its. */
function startLines(name: string): ReturnType<typeof startCase> {
  return startCase(
    drainScenario(
      name,
      `  - { kind: Deployment, name: chain, replicas: 6, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: wide, replicas: 4, pdb: { maxUnavailable: 4 } }`,
    ),
    { expectOnTarget: 10 },
  );
}

describe('the budget gate', { timeout: 60_000 }, () => {
  it('holds back a pod whose budget has a shorter line than the longest, by part of the rounds it can spare', async () => {
    const c = await startLines('gate-hold');
    const stop = new AbortController();
    try {
      const pods = await allPods(c.cluster);
      const chain = pods.filter((p) => p.app === 'chain').map((p) => p.name);
      const wide = pods.filter((p) => p.app === 'wide').map((p) => p.name);
      assert.equal(chain.length, 6);
      const chainPdb = { namespace: 'default', name: 'chain' };
      const widePdb = { namespace: 'default', name: 'wide' };

      // Without a measured round, nothing is held back.
      const plain = createPdbGate(c.conn, { signal: stop.signal, clock: systemClock });
      assert.equal(await plain.wait(widePdb, wide[0] ?? '', WAIT, stop.signal), 'allowed');
      await plain.spread(stop.signal);
      assert.equal(plain.stats.held, 0);

      const rounds = new RoundEstimate();
      rounds.observe(200);
      const gate = createPdbGate(c.conn, { signal: stop.signal, clock: systemClock, rounds, random: () => 0.5 });
      // The chain's first pod takes its one disruption at once; the five others line up behind it: six rounds.
      assert.equal(await gate.wait(chainPdb, chain[0] ?? '', WAIT, stop.signal), 'allowed');
      const queued: Promise<GateOutcome>[] = chain.slice(1).map((pod) => gate.wait(chainPdb, pod, WAIT, stop.signal));
      for (const q of queued) q.catch(() => undefined);
      // The wide budget lets its pod go in one round: 6 - 1 - 1 = 4 rounds to spare, half of them spread, at 0.5.
      const started = performance.now();
      assert.equal(await gate.wait(widePdb, wide[1] ?? '', WAIT, stop.signal), 'allowed');
      const waited = performance.now() - started;
      assert.equal(gate.stats.held, 1);
      assert.equal(gate.stats.heldMs, 200);
      assert.ok(waited >= 190, `held ${waited} ms`);
      // A pod no budget guards is a line of one round: held back the same.
      const unguarded = performance.now();
      await gate.spread(stop.signal);
      assert.ok(performance.now() - unguarded >= 190);
      assert.deepEqual([gate.stats.held, gate.stats.heldMs], [2, 400]);
      // The longest line itself is never held back: a chain pod given back its disruption goes at once.
      gate.release(chainPdb, chain[0] ?? '');
      assert.equal(await Promise.race([queued[0], new Promise((r) => setTimeout(() => r('still waiting'), 100))]), 'allowed');
      assert.equal(gate.stats.held, 2);
    } finally {
      stop.abort(new Error('test over'));
      await c.stop();
    }
  });

  it('counts a forecast drain\'s pods in their budget\'s line until they ask, or the drain is withdrawn', async () => {
    const c = await startLines('gate-forecast');
    const stop = new AbortController();
    try {
      const res = await api(c.cluster, 'GET', '/api/v1/pods');
      const pods = ((res.body as { items?: V1Pod[] }).items ?? []).filter((p) => p.metadata?.namespace === 'default');
      const chain = pods.filter((p) => p.metadata?.labels?.['app'] === 'chain');
      const wide = pods.filter((p) => p.metadata?.labels?.['app'] === 'wide').map((p) => p.metadata?.name ?? '');
      assert.equal(chain.length, 6);
      const rounds = new RoundEstimate();
      rounds.observe(200);
      const gate = createPdbGate(c.conn, { signal: stop.signal, clock: systemClock, rounds, random: () => 0.5 });
      // Nothing asks yet, but a drain to come will evict the six chain pods: a line of six rounds. Told twice, the
      // pods count once.
      await gate.forecast('worker-1', chain);
      await gate.forecast('worker-1', chain.slice(0, 2));
      // The wide pod's one round has 6 - 1 - 1 = 4 to spare: held back half of them at 0.5 (200 ms rounds).
      assert.equal(await gate.wait({ namespace: 'default', name: 'wide' }, wide[0] ?? '', WAIT, stop.signal), 'allowed');
      assert.deepEqual([gate.stats.held, gate.stats.heldMs], [1, 200]);
      // A chain pod that asks is its own line's head, never held back (the five others still count).
      const chainPdb = { namespace: 'default', name: 'chain' };
      assert.equal(await gate.wait(chainPdb, chain[0]?.metadata?.name ?? '', WAIT, stop.signal), 'allowed');
      await gate.spread(stop.signal);
      assert.deepEqual([gate.stats.held, gate.stats.heldMs], [2, 400]);
      // The drain ended: its pods that never asked are no longer a line, and nothing has time to spare.
      gate.withdraw('worker-1');
      assert.equal(await gate.wait({ namespace: 'default', name: 'wide' }, wide[1] ?? '', WAIT, stop.signal), 'allowed');
      await gate.spread(stop.signal);
      assert.equal(gate.stats.held, 2);
    } finally {
      stop.abort(new Error('test over'));
      await c.stop();
    }
  });

  it('measures a round from a pod that waited through it: eviction, replacement Ready, the next disruption', async () => {
    const c = await startCase(
      drainScenario('gate-round', `  - { kind: Deployment, name: web, replicas: 3, pdb: { maxUnavailable: 1 } }`),
      { expectOnTarget: 3 },
    );
    const stop = new AbortController();
    try {
      const names = (await allPods(c.cluster)).filter((p) => p.app === 'web').map((p) => p.name);
      const pdb = { namespace: 'default', name: 'web' };
      const rounds = new RoundEstimate();
      const gate = createPdbGate(c.conn, { signal: stop.signal, clock: systemClock, rounds });
      const evict = async (pod: string) => {
        const res = await api(c.cluster, 'POST', `/api/v1/namespaces/default/pods/${pod}/eviction`, {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod, namespace: 'default' },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      };
      assert.equal(await gate.wait(pdb, names[0] ?? '', WAIT, stop.signal), 'allowed');
      const second = gate.wait(pdb, names[1] ?? '', WAIT, stop.signal);
      const third = gate.wait(pdb, names[2] ?? '', WAIT, stop.signal);
      const evicted = performance.now();
      await evict(names[0] ?? '');
      assert.equal(await second, 'allowed');
      await evict(names[1] ?? '');
      assert.equal(await third, 'allowed');
      const round = rounds.value ?? 0;
      // podStart is 100 ms in these clusters: a round is at least that, and no longer than the two evictions took.
      assert.ok(round >= 100 && round <= performance.now() - evicted, `round ${round} ms`);
    } finally {
      stop.abort(new Error('test over'));
      await c.stop();
    }
  });
});
