/**
 * The budget gate against kube-sim: the rounds it measures, the pods it holds back when a batch's longest line
 * behind one budget leaves them time to spare, and the implicit budget of workloads with several replicas and no PDB.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { systemClock } from '../../src/drain/clock.ts';
import type { DrainEvent } from '../../src/drain/drain.ts';
import { drainNode } from '../../src/drain/drain.ts';
import { DrainErrorCode } from '../../src/drain/errors.ts';
import type { GateOutcome } from '../../src/drain/pdb-gate.ts';
import { RoundEstimate, createPdbGate } from '../../src/drain/pdb-gate.ts';
import { api } from '../helpers/sim.ts';
import { TARGET, allPods, drainScenario, openSpare, startCase } from './helpers.ts';

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

/** The workload pods of the default namespace, as the API server sends them. */
async function defaultPods(c: Awaited<ReturnType<typeof startCase>>): Promise<V1Pod[]> {
  const res = await api(c.cluster, 'GET', '/api/v1/namespaces/default/pods');
  return (res.body as { items?: V1Pod[] }).items ?? [];
}

const appOf = (p: V1Pod) => p.metadata?.labels?.['app'];
const nameOf = (p: V1Pod) => p.metadata?.name ?? '';
const readyNow = (p: V1Pod) =>
  !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');

/** The zero-Ready intervals kube-sim's availability monitor recorded for `default/<name>`. */
async function zeroIntervals(c: Awaited<ReturnType<typeof startCase>>, name: string): Promise<unknown[]> {
  const res = await api(c.cluster, 'GET', '/sim/v1/availability');
  const { intervals } = res.body as { intervals: { namespace: string; name: string; type: string }[] };
  return intervals.filter((i) => i.namespace === 'default' && i.name === name && i.type === 'zero');
}

describe('the implicit budget (several replicas, no PDB)', { timeout: 60_000 }, () => {
  it('applies to a multi-replica ReplicaSet or StatefulSet no PDB selects, and lets one pod go per replacement Ready', async () => {
    const c = await startCase(
      drainScenario(
        'implicit-gate',
        `  - { kind: Deployment, name: dns, replicas: 2 }
  - { kind: Deployment, name: web, replicas: 2, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: one, replicas: 1 }
  - { kind: StatefulSet, name: db, replicas: 2 }`,
      ),
      { expectOnTarget: 7 },
    );
    const stop = new AbortController();
    try {
      await openSpare(c.cluster);
      const pods = await defaultPods(c);
      const of = (app: string) => pods.filter((p) => appOf(p) === app);
      const [dns0, dns1] = of('dns');
      assert.ok(dns0 && dns1);
      const rs = dns0.metadata?.ownerReferences?.[0]?.name ?? '';
      const gate = createPdbGate(c.conn, { signal: stop.signal, clock: systemClock });
      const budget = await gate.implicitBudgetFor(dns0);
      assert.deepEqual(budget, {
        controller: { kind: 'ReplicaSet', namespace: 'default', name: rs },
        workload: { kind: 'Deployment', namespace: 'default', name: 'dns' },
        replicas: 2,
      });
      assert.ok(budget);
      // A PDB selects web's pods: the API server keeps that one. One replica: nothing to keep.
      assert.equal(await gate.implicitBudgetFor(of('web')[0] ?? {}), undefined);
      assert.equal(await gate.implicitBudgetFor(of('one')[0] ?? {}), undefined);
      assert.deepEqual(await gate.implicitBudgetFor(of('db')[0] ?? {}), {
        controller: { kind: 'StatefulSet', namespace: 'default', name: 'db' },
        workload: { kind: 'StatefulSet', namespace: 'default', name: 'db' },
        replicas: 2,
      });

      // Both Ready: the first pod may go. The second waits for the first one's replacement to be Ready.
      assert.equal(await gate.wait(budget, nameOf(dns0), WAIT, stop.signal), 'allowed');
      let queued: () => void = () => undefined;
      const inLine = new Promise<void>((resolve) => (queued = resolve));
      const second = gate.wait(budget, nameOf(dns1), WAIT, stop.signal, () => queued());
      await inLine;
      const res = await api(c.cluster, 'POST', `/api/v1/namespaces/default/pods/${nameOf(dns0)}/eviction`, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: nameOf(dns0), namespace: 'default' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const evicted = performance.now();
      assert.equal(await second, 'allowed');
      // podStart is 100 ms in these clusters: the turn came once a replacement was Ready, not at the eviction.
      assert.ok(performance.now() - evicted >= 90, `granted ${performance.now() - evicted} ms after the eviction`);
      const replacements = (await defaultPods(c)).filter((p) => appOf(p) === 'dns' && readyNow(p) && nameOf(p) !== nameOf(dns1));
      assert.equal(replacements.length, 1, 'a replacement is Ready beside the pod whose turn came');
      assert.equal(await zeroIntervals(c, 'dns').then((z) => z.length), 0);

      // A disruption given back (the eviction was not sent) goes to the next pod at once.
      gate.release(budget, nameOf(dns1));
      const next = gate.wait(budget, nameOf(dns1), WAIT, stop.signal);
      assert.equal(await Promise.race([next, new Promise((r) => setTimeout(() => r('still waiting'), 100))]), 'allowed');
    } finally {
      stop.abort(new Error('test over'));
      await c.stop();
    }
  });

  it('a drain of a node with both pods of a 2-replica Deployment and no PDB never leaves it at zero Ready; off, it does', async () => {
    const yaml = drainScenario('implicit-drain', `  - { kind: Deployment, name: dns, replicas: 2 }`);
    for (const implicitBudget of [true, false]) {
      const c = await startCase(yaml, { expectOnTarget: 2 });
      try {
        await openSpare(c.cluster);
        const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 20_000, implicitBudget });
        assert.equal(r.status, 'drained', r.status === 'failed' ? r.error.message : '');
        const zero = await zeroIntervals(c, 'dns');
        if (implicitBudget) assert.deepEqual(zero, [], 'never at zero Ready');
        else assert.ok(zero.length > 0, 'without the implicit budget both pods went at once');
      } finally {
        await c.stop();
      }
    }
  });

  it('keeps to it through watches that drop every 150 ms and a history too short to resume (relists)', async () => {
    const c = await startCase(
      drainScenario('implicit-watch-faults', `  - { kind: Deployment, name: web, replicas: 4 }`, `faults: { dropWatchesEveryMs: 150 }`),
      { expectOnTarget: 4, historyLimit: 20 },
    );
    try {
      await openSpare(c.cluster);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 30_000 });
      assert.equal(r.status, 'drained', r.status === 'failed' ? r.error.message : '');
      assert.equal(r.evicted.filter((p) => p.name.startsWith('web-')).length, 4);
      assert.deepEqual(await zeroIntervals(c, 'web'), [], 'never at zero Ready');
    } finally {
      await c.stop();
    }
  });

  it('a drain that times out behind it names the implicit budget, for the pod it held', async () => {
    const c = await startCase(drainScenario('implicit-timeout', `  - { kind: Deployment, name: dns, replicas: 2 }`), {
      expectOnTarget: 2,
    });
    try {
      // The spare stays closed: the first pod's replacement never starts, so the second may never go.
      const events: DrainEvent[] = [];
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 1500, onProgress: (e) => events.push(e) });
      assert.equal(r.status, 'failed');
      if (r.status !== 'failed') return;
      assert.equal(r.error.code, DrainErrorCode.timedOut);
      const held = r.remaining.filter((i) => i.pod.name.startsWith('dns-'));
      assert.equal(held.length, 1, JSON.stringify(r.remaining));
      const [issue] = held;
      const text = "no PDB: kup keeps all but one of default/dns's 2 replicas Ready";
      assert.equal(issue?.state, 'blocked');
      assert.equal(issue?.reason, text);
      assert.equal(issue?.implicit?.workload.name, 'dns');
      assert.ok(r.error.message.includes(`default/${issue?.pod.name} blocked: ${text}`), r.error.message);
      assert.ok(events.some((e) => e.type === 'blocked' && e.implicit !== undefined && e.message === text));
      assert.equal(r.evicted.filter((p) => p.name.startsWith('dns-')).length, 1, 'one dns pod went');
      const stillReady = (await defaultPods(c)).filter((p) => appOf(p) === 'dns' && readyNow(p));
      assert.equal(stillReady.length, 1, 'the other is still Ready');
    } finally {
      await c.stop();
    }
  });
});
