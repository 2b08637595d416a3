/**
 * The store under SIGKILL: a child process steps a run as fast as it can (one commitStep per step: the new state and
 * two events), printing each step once its commit has returned; the test kills it with SIGKILL at random points and
 * starts another, which must wait for the dead one's lease to expire, take the run over and go on from the last
 * committed step. After every kill the file must hold every step reported committed, state and events must agree,
 * and the event log must have no gap.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { openDatabase } from '../../src/persistence/database.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';

const STORE_MODULE = resolve(import.meta.dirname, '../../src/persistence/store.ts');
const RUN = 'run-crash';
const LEASE_TTL_MS = 300;

/** The child: a minimal executor loop over the real store (real clock: it is a separate process). */
const CHILD = `
import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
const store = openSqliteStore({ dataDir: process.env.KUP_DATA_DIR });
const owner = process.env.OWNER;
const ttl = Number(process.env.TTL);
for (;;) {
  const lease = await store.runs.acquireLease(${JSON.stringify(RUN)}, owner, ttl, Date.now());
  if (lease.acquired) {
    writeSync(1, 'lease ' + (lease.takenOverFrom ?? '-') + '\\n');
    break;
  }
  await sleep(Math.max(1, lease.holder.expiresAt - Date.now() + 1));
}
const run = await store.runs.get(${JSON.stringify(RUN)});
let version = run.version;
let step = run.state.step;
for (;;) {
  step += 1;
  const at = Date.now();
  const result = await store.runs.commitStep(
    ${JSON.stringify(RUN)},
    version,
    { state: { step }, phase: 'upgrading-pools', active: true, at },
    [
      { at, step: 'step-' + step, outcome: 'started', message: 'step ' + step + ' started' },
      { at, step: 'step-' + step, outcome: 'succeeded', message: 'step ' + step + ' done', data: { step } },
    ],
    { leaseOwner: owner },
  );
  version = result.version;
  writeSync(1, 'committed ' + step + '\\n');
  if (step % 10 === 0) await store.runs.renewLease(${JSON.stringify(RUN)}, owner, ttl, Date.now());
}
`;

/** A small seeded generator, so a failing sequence of kill points can be replayed from the seed printed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Life {
  /** The previous holder this child took the lease over from ('-' for none). */
  takenOverFrom: string;
  /** The last step the child reported committed. */
  lastReported: number;
}

/** Runs one child until it has reported `commits` steps, then SIGKILLs it. */
function liveAndDie(dataDir: string, owner: string, commits: number): Promise<Life> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      env: { ...process.env, KUP_DATA_DIR: dataDir, OWNER: owner, TTL: String(LEASE_TTL_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const life: Life = { takenOverFrom: '', lastReported: -1 };
    let seen = 0;
    let killed = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [what, value] = line.split(' ');
      if (what === 'lease') life.takenOverFrom = value ?? '';
      if (what === 'committed') {
        life.lastReported = Number(value);
        seen += 1;
        if (seen === commits && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolvePromise(life);
      else reject(new Error(`child ${owner} exited ${code ?? signal} before it was killed: ${stderr}`));
    });
  });
}

describe('the store under SIGKILL', { timeout: 120_000 }, () => {
  it('keeps every committed step, with state and events in agreement, across kills at random points', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-crash-'));
    const setup = openSqliteStore({ dataDir });
    await setup.clusters.add({ name: 'prod', kubeconfigPath: '/k/prod', provider: 'sim', providerSettings: {}, addedAt: 1 });
    await setup.runs.create({ id: RUN, cluster: 'prod', target: '1.31.5', plan: {}, state: { step: 0 }, phase: 'pending', createdAt: 1 });
    await setup.close();

    const seed = Date.now() % 1_000_000;
    const random = seeded(seed);
    let previousOwner = '-';
    for (let life = 0; life < 6; life++) {
      const owner = `kup-${life}`;
      const commits = 1 + Math.floor(random() * 150);
      const context = `seed ${seed}, life ${life}, killed after ${commits} commits`;
      const { takenOverFrom, lastReported } = await liveAndDie(dataDir, owner, commits);
      assert.equal(takenOverFrom, previousOwner, `${context}: the new kup took the run over from the dead one`);
      previousOwner = owner;

      const store = openSqliteStore({ dataDir });
      try {
        const run = await store.runs.get(RUN);
        assert.ok(run);
        const step = (run.state as { step: number }).step;
        // Every step the child saw committed is on disk; at most one more (committed, killed before it printed).
        assert.ok(step >= lastReported && step <= lastReported + 1, `${context}: state at step ${step}, last reported ${lastReported}`);
        assert.equal(run.version, step + 1, `${context}: one version per step`);
        assert.equal(run.lease?.owner, owner, `${context}: the dead kup's lease stays until it expires`);
        const events = await store.events.list(RUN);
        assert.equal(events.length, 2 * step, `${context}: two events per committed step, none lost, none extra`);
        events.forEach((e, i) => {
          assert.equal(e.seq, i + 1, `${context}: no gap in the event log`);
          assert.equal(e.step, `step-${Math.floor(i / 2) + 1}`);
          assert.equal(e.outcome, i % 2 === 0 ? 'started' : 'succeeded');
        });
      } finally {
        await store.close();
      }
      const db = openDatabase({ dataDir });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', context);
      } finally {
        db.close();
      }
    }
  });
});
