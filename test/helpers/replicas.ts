/**
 * Several kup processes on one PostgreSQL database, for end-to-end tests: which process a lease owner id names, and
 * the checks of a run's event log after some of them died: complete, and driven by one lease owner at a time.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { RunEvent } from '../../src/persistence/events-repo.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import type { RunState } from '../../src/rollout/machine/types.ts';
import { describeRun } from './rollout.ts';

/** A stretch of a run's log committed by one lease owner. */
export interface OwnerSegment {
  readonly owner: string;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** The process a lease owner id (`host/pid/random`) names, among `children`. */
export function childOf<T extends { readonly child: ChildProcess }>(
  children: readonly T[],
  owner: string,
): T | undefined {
  const pid = Number(owner.split('/')[1]);
  return children.find((c) => c.child.pid === pid);
}

/**
 * The stretches of a run's log by lease owner, in order. A kup that stalls past its lease loses the run to another
 * and may take it back later (A, B, A is a hand-over and a hand-back), but two kups driving a run at once would
 * show as stretches that overlap in time.
 */
export function ownerSegments(events: readonly RunEvent[]): OwnerSegment[] {
  const segments: OwnerSegment[] = [];
  for (const e of events) {
    if (e.leaseOwner === undefined) continue;
    const last = segments.at(-1);
    if (last?.owner === e.leaseOwner) segments[segments.length - 1] = { ...last, lastAt: e.at };
    else segments.push({ owner: e.leaseOwner, firstAt: e.at, lastAt: e.at });
  }
  return segments;
}

/** What a replica killed while it drove runs left: its owner id, when it died, and the runs it held then (not ended). */
export interface Killed {
  readonly owner: string;
  readonly at: number;
  readonly heldRuns: readonly string[];
}

/**
 * A finished run after replicas died: it succeeded; no event lost (seq 1..n, each engine event carries the machine's
 * seq, the state's last seq is the log's); every step of the plan ended once; each owner's stretch of the log ends
 * before the next one's begins; the killed replica wrote nothing after its death, and a run it held was finished by
 * another. Returns the owners in order, for the test's diagnostics.
 */
export function assertRunSurvived(
  runId: string,
  state: RunState,
  events: readonly RunEvent[],
  killed: Killed,
): string[] {
  const context = `run ${runId}`;
  assert.equal(state.status.phase, 'succeeded', `${context}: ${describeRun(state, events)}`);
  events.forEach((e, i) =>
    assert.equal(e.seq, i + 1, `${context}: event ${i + 1} has seq ${e.seq}: the log has a gap`),
  );
  // The service's availability samples (the console's PDB chart) are run events the machine did not write: the
  // machine's own events, in order, carry its seq 1..n.
  const machine = events.filter((e) => e.step !== 'availability');
  machine
    .slice(1)
    .forEach((e, i) =>
      assert.equal(
        (e.data as { seq?: number } | undefined)?.seq,
        i + 1,
        `${context}: event ${e.seq} carries the machine's seq`,
      ),
    );
  assert.equal(state.seq, machine.length - 1, `${context}: the state's last seq is the machine's last event's`);
  for (const bad of ['failed', 'paused']) {
    assert.deepEqual(
      events.filter((e) => e.outcome === bad).map((e) => `${e.step}: ${e.message}`),
      [],
      `${context}: no ${bad} event`,
    );
  }
  for (const phase of state.plan.phases) {
    for (const batch of phase.batches) {
      for (const step of batch.steps) {
        const ended = events.filter(
          (e) => e.step === step.key && e.outcome === 'succeeded' && e.message === 'step done',
        );
        assert.equal(ended.length, 1, `${context}: ${step.key} ended once`);
      }
    }
  }
  const segments = ownerSegments(events);
  segments.slice(1).forEach((s, i) => {
    const before = segments[i]!;
    assert.ok(
      before.lastAt <= s.firstAt,
      `${context}: ${before.owner} and ${s.owner} drove the run at once: ${JSON.stringify(segments)}`,
    );
  });
  for (const s of segments.filter((s) => s.owner === killed.owner))
    assert.ok(s.lastAt <= killed.at, `${context}: the killed kup wrote nothing after its death`);
  if (killed.heldRuns.includes(runId)) {
    assert.ok(
      segments.some((s) => s.owner === killed.owner),
      `${context}: the killed replica drove it`,
    );
    assert.notEqual(
      segments.at(-1)?.owner,
      killed.owner,
      `${context}: another replica took it over from the killed one and finished it`,
    );
  }
  return segments.map((s) => s.owner);
}

/**
 * Waits for a replica to drive a run into its pools (it has finished a worker node of it), then kills that replica
 * with SIGKILL and asserts the kill landed while it held a run not yet ended: what each replica test does before
 * it checks that every run survived.
 */
export async function killReplicaInPools<T extends { readonly child: ChildProcess; readonly exited: Promise<unknown> }>(
  store: KupStore,
  replicas: readonly T[],
  runIds: readonly string[],
  diagnostic: (message: string) => void,
): Promise<{ readonly replica: T; readonly killed: Killed }> {
  const victim = await waitFor(
    async () => {
      for (const runId of runIds) {
        const run = await store.runs.get(runId);
        if (run === undefined || !run.active || run.lease === undefined) continue;
        const events = await store.events.list(runId);
        const workerDone = events.some(
          (e) => e.leaseOwner === run.lease?.owner && e.step.startsWith('pool/') && e.message === 'step done',
        );
        const replica = childOf(replicas, run.lease.owner);
        if (workerDone && replica !== undefined) return { replica, owner: run.lease.owner };
      }
      return undefined;
    },
    { message: 'a replica to drive a run into its pools', timeoutMs: 120_000, intervalMs: 20 },
  );
  // The runs it drives at the moment it dies, not yet ended.
  const held = (await store.runs.list({ active: true }))
    .filter((r) => r.lease?.owner === victim.owner)
    .map((r) => r.id);
  victim.replica.child.kill('SIGKILL');
  const killed = { owner: victim.owner, at: Date.now(), heldRuns: held };
  assert.deepEqual(await victim.replica.exited, { code: null, signal: 'SIGKILL' }, 'the kill landed');
  assert.ok(held.length > 0, 'the victim held a run not yet ended when it died');
  diagnostic(`killed ${victim.owner} while it drove ${held.join(', ')}`);
  return { replica: victim.replica, killed };
}
