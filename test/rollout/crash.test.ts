/**
 * kup under SIGKILL, end to end: the real `kup work --run RUN` process steps an upgrade of a kube-sim cluster and is
 * killed with SIGKILL at 20 seeded random points spread over two runs (precheck, snapshot, control plane, every kind
 * of pool batch, validation), then started again each time, until every run has ended. After that, nothing may show
 * that kup died: every run succeeded; each original worker was replaced exactly once (the sim created exactly one
 * node per worker step, and the run logged one `replace-node` success per step); one snapshot and one control-plane
 * operation per cluster; nothing left cordoned; the event log has no gap and every step's actions in order, each
 * once; and the availability monitor saw no interval below a PDB or at zero.
 *
 * The simulated clusters run in this process (their own HTTPS servers and controllers); only kup is killed. A kill
 * point is a position in the run (its cursor: precheck, then each batch of each phase) and a delay after the child
 * was first seen there, both drawn from the seed; set KUP_CRASH_SEED to replay a failing sequence.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { createRun, openCluster } from '../../src/engine/runs.ts';
import type { UpgradeRequest } from '../../src/engine/runs.ts';
import type { StoreEvent } from '../../src/kube-sim/store/object-store.ts';
import type { RunEvent as StoredRunEvent } from '../../src/persistence/events-repo.ts';
import { stepActions } from '../../src/rollout/plan-steps.ts';
import type { RolloutPlan } from '../../src/rollout/plan-types.ts';
import { loadRun } from '../../src/engine/apply-event.ts';
import { isTerminal } from '../../src/rollout/machine/state.ts';
import type { RunState } from '../../src/rollout/machine/types.ts';
import { defaultCatalog } from '../../src/versions/index.ts';
import type { RolloutFixture } from '../helpers/rollout.ts';
import { FAST_TIMINGS, assertClusterAt, assertNoOutage, describeRun, providers, startRolloutFixture, wallClock } from '../helpers/rollout.ts';
import { api } from '../helpers/sim.ts';

const KUP_BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');
const FROM = '1.35.5';
const TO = '1.36.1';
const KILLS = 21;
/** A short lease, so that the restarted kup takes over from the dead one within a second. */
const LEASE_TTL_MS = 1000;


function scenario(name: string): string {
  return `
name: ${name}
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 1 }
pools:
  - { name: blue, nodes: 4 }
  - { name: green, nodes: 4 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: api, namespace: shop, replicas: 3, pdb: { minAvailable: 2 } }
  - { kind: DaemonSet, name: node-exporter, namespace: monitoring }
${FAST_TIMINGS}
`;
}

/**
 * The three runs, one after the other: batches of one surge node; batches of a surge and a drain-first node; blue-green,
 * whose green, cordon and delete batches each perform their four nodes' actions in one group (one provider call for
 * the replacements and for the deletes): a kill inside one must neither repeat nor skip a node.
 */
const RUNS: readonly { cluster: string; request: UpgradeRequest }[] = [
  { cluster: 'alpha', request: { to: TO } },
  { cluster: 'beta', request: { to: TO, poolOptions: { batchPolicy: 'fixed:2', maxSurge: 1, maxUnavailable: 1 } } },
  { cluster: 'gamma', request: { to: TO, poolOptions: { strategy: 'blue-green', drainBatchSize: 2 } } },
];

/** The batches of a blue-green move that act on every slot at once: each run's kills land in each of them once. */
const GROUPED_BATCHES = ['green', 'cordon-blue', 'delete-blue'];

/** A small seeded generator (the same as the store's crash test), so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A position in a run: 0 while prechecking, then one per batch of each phase of the plan, in order. */
interface Position {
  readonly rank: number;
  readonly label: string;
  /** The longest delay drawn for a kill here: about how long the position lasts with the sim's timings. */
  readonly maxDelayMs: number;
}

function positions(plan: RolloutPlan): Position[] {
  const out: Position[] = [{ rank: 0, label: 'precheck', maxDelayMs: 150 }];
  for (const phase of plan.phases) {
    for (const batch of phase.batches) {
      const stage = batch.key.split('/').pop() ?? '';
      const label =
        phase.kind !== 'pool'
          ? phase.kind
          : GROUPED_BATCHES.includes(stage)
            ? `pool ${phase.pool} ${stage}`
            : `pool ${phase.pool} batch ${batch.index}`;
      // Delays stay well inside each position's length so a kill lands before the run moves past it (or ends).
      // A blue-green move's grouped batches last tens of ms (a group of four cordons or deletes): kills there come soon.
      const maxDelayMs =
        phase.kind === 'snapshot' || phase.kind === 'validation' || GROUPED_BATCHES.includes(stage)
          ? 10
          : phase.kind === 'control-plane'
            ? 400
            : 300;
      out.push({ rank: out.length, label, maxDelayMs });
    }
  }
  return out;
}

/** Where a run is, as a {@link Position} rank (Infinity once it has ended). */
function rankOf(state: RunState): number {
  if (isTerminal(state)) return Number.POSITIVE_INFINITY;
  if (state.status.phase === 'pending' || state.status.phase === 'prechecking') return 0;
  let rank = 1;
  for (let p = 0; p < state.cursor.phase; p++) rank += state.plan.phases[p]?.batches.length ?? 0;
  return rank + state.cursor.batch;
}

/** A planned kill: once the run is at `position` (or past it), wait `delayMs`, then SIGKILL. */
interface Kill {
  readonly position: Position;
  readonly delayMs: number;
}

/** The kills of one run: the snapshot, the control plane and the validation once each, the rest anywhere. */
function planKills(all: readonly Position[], count: number, random: () => number): Kill[] {
  const must = all.filter(
    (p) =>
      p.label === 'snapshot' ||
      p.label === 'control-plane' ||
      p.label === 'validation' ||
      GROUPED_BATCHES.some((stage) => p.label === `pool blue ${stage}`),
  );
  const chosen = [...must.slice(0, count)];
  while (chosen.length < count) chosen.push(all[Math.floor(random() * all.length)]!);
  chosen.sort((a, b) => a.rank - b.rank);
  return chosen.map((position) => ({ position, delayMs: Math.floor(random() * position.maxDelayMs) }));
}

/** One `kup work` process. */
interface Life {
  readonly child: ChildProcess;
  /** Resolves when it exits, with its code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote, for failure messages. */
  output(): string;
  /** Lines it printed so far: the first comes once it holds the run's lease and has read the run. */
  lines(): number;
  /** Resolves at its next line of output (or when it exits). */
  nextLine(): Promise<void>;
}

function startKup(dataDir: string, runId: string): Life {
  const child = spawn(process.execPath, [KUP_BIN, 'work', '--run', runId, '--data-dir', dataDir], {
    env: { ...process.env, KUP_LEASE_TTL_MS: String(LEASE_TTL_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let lines = 0;
  let waiters: (() => void)[] = [];
  const wakeAll = () => {
    const w = waiters;
    waiters = [];
    for (const fn of w) fn();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    out += `${line}\n`;
    lines += 1;
    wakeAll();
  });
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => {
      done({ code, signal });
      wakeAll();
    }),
  );
  return {
    child,
    exited,
    output: () => out,
    lines: () => lines,
    // Lines come after each state the executor reads; the timer is a fallback so a quiet child is still looked at.
    nextLine: () =>
      new Promise<void>((done) => {
        waiters.push(done);
        setTimeout(done, 25);
      }),
  };
}

async function stateOf(fx: RolloutFixture, runId: string): Promise<RunState> {
  return (await loadRun(fx.store, runId)).state;
}

/** What a kill hit: the run's status and the actions in flight when the dead kup's last state was written. */
function describeKill(state: RunState): string {
  const inFlight = Object.values(state.units)
    .filter((u) => u.inFlight !== null)
    .map((u) => `${u.inFlight?.action}${u.node ? ` ${u.node}` : ''}`);
  return `${state.status.phase}${inFlight.length > 0 ? ` [${inFlight.join(', ')}]` : ''}`;
}

/**
 * Steps `runId` with `kup work` processes, killing one at each planned kill, then lets the last one finish.
 * Resolves with what each kill hit, and the kills that could not land because the run ended first.
 */
async function runWithKills(fx: RolloutFixture, runId: string, kills: readonly Kill[], context: string): Promise<{ hits: string[]; missed: Kill[] }> {
  const hits: string[] = [];
  const missed: Kill[] = [];
  for (const [i, kill] of kills.entries()) {
    const life = startKup(fx.dataDir, runId);
    let ended = false;
    for (;;) {
      const state = await stateOf(fx, runId);
      if (state.status.phase === 'paused' || state.status.phase === 'failed') {
        life.child.kill('SIGKILL');
        await life.exited;
        assert.fail(`${context}: run ${runId} stopped: ${describeRun(state, await fx.store.events.list(runId))}\n${life.output()}`);
      }
      // Only a kup that is stepping the run is killed: one still starting or waiting for the dead one's lease is not.
      if (life.lines() > 0 && rankOf(state) >= kill.position.rank) break;
      await life.nextLine();
      if (life.child.exitCode !== null) {
        ended = true;
        break;
      }
    }
    if (!ended) {
      await new Promise((r) => setTimeout(r, kill.delayMs));
      ended = life.child.exitCode !== null || !life.child.kill('SIGKILL');
    }
    const { code, signal } = await life.exited;
    if (ended || signal !== 'SIGKILL') {
      assert.equal(code, 0, `${context}: kup work exited ${code ?? signal} before kill ${i + 1}:\n${life.output()}`);
      missed.push(...kills.slice(i));
      return { hits, missed };
    }
    hits.push(`${kill.position.label} +${kill.delayMs}ms: ${describeKill(await stateOf(fx, runId))}`);
  }
  const last = startKup(fx.dataDir, runId);
  const timer = setTimeout(() => last.child.kill('SIGKILL'), 90_000);
  const { code, signal } = await last.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `${context}: the last kup work exited ${code ?? signal}:\n${last.output()}`);
  return { hits, missed };
}

/** Every node name the sim registered from now on (a Node object added), in order. */
function recordNewNodes(fx: RolloutFixture): { names: string[]; stop: () => void } {
  const names: string[] = [];
  const stop = fx.sim.runtime.store.subscribe((e: StoreEvent) => {
    if (e.storage === 'core/nodes' && e.type === 'ADDED') names.push(e.object.metadata.name);
  });
  return { names, stop };
}

/**
 * The run's event log: seq 1..n without a gap, each engine event numbered one after the run-created event, and
 * every step's actions succeeded once each, in the plan's order, followed by the step's end; gates and the control
 * plane likewise. Returns the new node each worker step reported.
 */
function assertEventLog(state: RunState, events: readonly StoredRunEvent[], context: string): Map<string, string> {
  events.forEach((e, i) => assert.equal(e.seq, i + 1, `${context}: event ${i + 1} has seq ${e.seq}: the log has a gap`));
  assert.equal(events[0]?.outcome, 'created', `${context}: the first event is the run's creation`);
  for (const e of events.slice(1)) {
    assert.equal((e.data as { seq?: number } | undefined)?.seq, e.seq - 1, `${context}: event ${e.seq} (${e.outcome} ${e.step}) carries the machine's seq`);
  }
  assert.equal(state.seq, events.length - 1, `${context}: the state's last seq is the log's`);
  // An automatic retry of a transient API error is no crash damage (the counts of nodes, snapshots and operations
  // below would show one that acted twice); a failure that paused the run, or a drain forced or quarantined, is.
  for (const bad of ['failed', 'paused', 'forced', 'quarantined']) {
    assert.deepEqual(
      events.filter((e) => e.outcome === bad).map((e) => `${e.step}: ${e.message}`),
      [],
      `${context}: no ${bad} event`,
    );
  }
  const newNodes = new Map<string, string>();
  for (const phase of state.plan.phases) {
    for (const batch of phase.batches) {
      for (const step of batch.steps) {
        const own = events.filter((e) => e.step === step.key);
        const actions = own.filter((e) => e.outcome === 'succeeded' && (e.data as { action?: string }).action !== undefined).map((e) => (e.data as { action: string }).action);
        assert.deepEqual(actions, [...stepActions(step)], `${context}: ${step.key}: each action succeeded once, in order`);
        const done = own.filter((e) => e.outcome === 'succeeded' && e.message === 'step done');
        assert.equal(done.length, 1, `${context}: ${step.key} ended once`);
        assert.ok(done[0]!.seq > Math.max(...own.filter((e) => e !== done[0]).map((e) => e.seq)), `${context}: ${step.key} ended after its actions`);
        if (step.kind === 'worker-node') {
          assert.equal(own.filter((e) => e.outcome === 'started').length, 1, `${context}: ${step.key} started once`);
          // A blue-green slot's node is made by its green step only.
          if (!stepActions(step).includes('replace-node')) continue;
          const replaced = own.find((e) => (e.data as { action?: string }).action === 'replace-node');
          const newNode = /new node (\S+)$/.exec(replaced?.message ?? '')?.[1];
          assert.ok(newNode, `${context}: ${step.key}: replace-node names the new node (${replaced?.message})`);
          assert.equal(state.units[step.key]?.newNode, newNode, `${context}: ${step.key}: the state's new node`);
          newNodes.set(step.node, newNode);
        }
      }
      if (batch.gate.length > 0) {
        const gate = events.filter((e) => e.step === batch.key && e.outcome === 'succeeded').map((e) => (e.data as { action?: string }).action);
        assert.deepEqual(gate, [...batch.gate], `${context}: ${batch.key}: the gate's actions once each`);
      }
    }
  }
  for (const unit of Object.values(state.units)) {
    assert.equal(unit.inFlight, null, `${context}: ${unit.key} has nothing in flight`);
    assert.equal(unit.failure, null, `${context}: ${unit.key} has no failure`);
  }
  return newNodes;
}

describe('kup killed with SIGKILL during upgrades', { timeout: 420_000 }, () => {
  it('finishes every run as if nothing happened: no node replaced twice, none left cordoned, no event lost, no outage', async (t) => {
    const seed = Number(process.env['KUP_CRASH_SEED'] ?? Date.now() % 1_000_000);
    const random = seeded(seed);
    t.diagnostic(`seed ${seed} (KUP_CRASH_SEED=${seed} replays it)`);
    const fixtures: RolloutFixture[] = [];
    try {
      for (const { cluster } of RUNS) fixtures.push(await startRolloutFixture(cluster, scenario(cluster)));
      const runs: { fx: RolloutFixture; runId: string; positions: Position[] }[] = [];
      for (const [i, { request }] of RUNS.entries()) {
        const fx = fixtures[i]!;
        const cluster = await openCluster(fx.store, fx.name, { providers, clock: wallClock });
        const state = await createRun(fx.store, cluster, request, defaultCatalog(), wallClock, AbortSignal.timeout(30_000));
        runs.push({ fx, runId: state.runId, positions: positions(state.plan) });
      }

      const newNodeNames = fixtures.map(recordNewNodes);
      const hits: string[] = [];
      let missed = 0;
      for (const [i, run] of runs.entries()) {
        // An even share of the kills per run; the last run also takes those an earlier run ended too soon for.
        const left = KILLS - hits.length;
        const share = i === runs.length - 1 ? left : Math.round(left / (runs.length - i));
        const context = `seed ${seed}, run ${run.runId} (${run.fx.name})`;
        const result = await runWithKills(run.fx, run.runId, planKills(run.positions, share, random), context);
        hits.push(...result.hits.map((h) => `${run.fx.name}: ${h}`));
        missed = result.missed.length;
      }
      for (const h of hits) t.diagnostic(h);
      assert.equal(hits.length, KILLS, `seed ${seed}: ${KILLS} kills landed (${missed} could not: the run ended first)`);

      for (const [i, { fx, runId }] of runs.entries()) {
        const context = `seed ${seed}, ${fx.name} ${runId}`;
        const state = await stateOf(fx, runId);
        const events = await fx.store.events.list(runId);
        assert.equal(state.status.phase, 'succeeded', `${context}: ${describeRun(state, events)}`);
        const newNodes = assertEventLog(state, events, context);

        // Each original worker replaced exactly once: the sim registered one node per worker step, no more, and those
        // are the pools' nodes now; the run's lineage says the same.
        const created = [...newNodeNames[i]!.names].sort();
        assert.equal(newNodes.size, 8, `${context}: eight worker steps`);
        assert.deepEqual(created, [...newNodes.values()].sort(), `${context}: the nodes the sim registered are the run's replacements`);
        assert.deepEqual(state.lineage, Object.fromEntries(newNodes), `${context}: lineage`);
        const topology = (await api(fx.sim, 'GET', '/sim/v1/topology')).body as { pools: { name: string; nodes: { name: string }[] }[] };
        assert.deepEqual(
          topology.pools.flatMap((p) => p.nodes.map((n) => n.name)).sort(),
          created,
          `${context}: the pools hold exactly the replacements (no original, no extra machine)`,
        );
        // One snapshot and one control-plane operation, however often their step was re-issued.
        const snapshots = (await api(fx.sim, 'GET', '/sim/v1/snapshots')).body as { items: { name?: string }[] };
        assert.equal(snapshots.items.length, 1, `${context}: one snapshot: ${JSON.stringify(snapshots.items)}`);
        const operations = (await api(fx.sim, 'GET', '/sim/v1/operations')).body as { items: { kind: string; node: string; state: string }[] };
        assert.deepEqual(
          operations.items.map((o) => `${o.kind} ${o.node} ${o.state}`),
          ['control-plane-upgrade control-plane-0 succeeded'],
          `${context}: one control-plane upgrade`,
        );

        await assertClusterAt(fx.sim, { version: TO, controlPlane: { version: TO, count: 1 }, pools: { blue: { version: TO, count: 4 }, green: { version: TO, count: 4 } } });
        await assertNoOutage(fx.sim, ['shop/web', 'shop/api']);
      }
      for (const r of newNodeNames) r.stop();
    } finally {
      for (const fx of fixtures) await fx.close();
    }
  });
});
