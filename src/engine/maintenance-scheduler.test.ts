import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import type { SchedulerAction } from '../maintenance/scheduler.ts';
import type { KupStore } from '../persistence/store.ts';
import { openSqliteStore } from '../persistence/store.ts';
import { createRunState } from '../rollout/machine/state.ts';
import { fakeTopology, oneMinorPath } from '../rollout/machine/test-driver.ts';
import type { RunStatus } from '../rollout/machine/types.ts';
import { buildPlan } from '../rollout/plan.ts';
import { testCatalog } from '../versions/test-catalog.ts';
import { applyEvents, loadRun, newRunColumns } from './apply-event.ts';
import { MaintenanceScheduler } from './maintenance-scheduler.ts';
import type { UpgradeRequest } from './runs.ts';
import type { UpgradeFacts } from './upgrade-facts.ts';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const HOUR = 3_600_000;

let store: KupStore;
let clock: ManualClock;
let scheduler: MaintenanceScheduler;
let started: { cluster: string; request: UpgradeRequest; at: string }[];
let acted: SchedulerAction[];
/** What each cluster runs and which removed APIs it uses, as the scheduler reads them: tests change it. */
let facts: Map<string, UpgradeFacts>;
/** 1.31.0 (1.31.1 is the latest patch), no removed API in use. */
const ON_1_31_0: UpgradeFacts = { controlPlane: '1.31.0', pools: [{ name: 'w', version: '1.31.0' }], apisInUse: [] };

/** Moves the clock (the scheduler's timers fire at their own times) and waits for its looks to finish. */
async function advanceTo(when: string): Promise<void> {
  await clock.advance(t(when) - clock.now());
  await scheduler.idle();
}

async function status(runId: string): Promise<RunStatus> {
  return (await loadRun(store, runId)).state.status;
}

beforeEach(async () => {
  store = openSqliteStore({ dataDir: mkdtempSync(join(tmpdir(), 'kup-scheduler-')) });
  // Wednesday 2025-09-17, noon UTC.
  clock = new ManualClock(t('2025-09-17T12:00:00Z'));
  started = [];
  acted = [];
  facts = new Map();
  for (const name of ['berlin', 'newyork'])
    await store.clusters.add({ name, kubeconfigPath: `/k/${name}`, provider: 'sim', providerSettings: {}, addedAt: 1 });
  // Berlin: Saturdays 02:00-06:00, patch upgrades. New York: Sundays 01:00-03:00 (the night clocks go back
  // is not in this month), Kubernetes off: nothing is due.
  await store.lifecycle.put({
    cluster: 'berlin',
    labels: {},
    schedule: {
      windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
      exclusions: [],
    },
    policy: { kubernetes: 'patch' },
    updatedAt: 1,
  });
  await store.lifecycle.put({
    cluster: 'newyork',
    labels: {},
    schedule: {
      windows: [{ days: ['sun'], start: '01:00', durationMinutes: 120, timeZone: 'America/New_York' }],
      exclusions: [],
    },
    policy: { kubernetes: 'none' },
    updatedAt: 1,
  });
  scheduler = newScheduler();
});

/** A scheduler over the test's store, on the current `clock`. */
function newScheduler(): MaintenanceScheduler {
  const made = new MaintenanceScheduler({
    store,
    clock,
    catalog: () => Promise.resolve(testCatalog()),
    // The boundary to the clusters: what they run and which removed APIs they use.
    facts: (cluster) => Promise.resolve(facts.get(cluster) ?? ON_1_31_0),
    // A run as createRun stores it (the plan is a stand-in: the scheduler reads only status and request).
    startRun: async (cluster, request) => {
      const topology = fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.30.4' });
      const plan = buildPlan({ cluster, topology, change: { kind: 'version', path: oneMinorPath(['w']) } });
      const id = `run-${started.length + 1}`;
      const state = createRunState(plan, { runId: id, now: clock.now() });
      await store.runs.create({
        id,
        cluster,
        target: request.to ?? '',
        ...newRunColumns(state),
        request,
        phase: state.status.phase,
        createdAt: clock.now(),
      });
      // The supervisor would start it: it is under way.
      await applyEvents(store, id, [{ type: 'started' }], clock.now());
      started.push({ cluster, request, at: new Date(clock.now()).toISOString() });
      return id;
    },
    // A day at most between looks: the windows are days apart, and each look reads the store.
    maxSleepMs: 24 * HOUR,
    observer: { acted: (a) => acted.push(a), failed: (c, e) => assert.fail(`${c}: ${String(e)}`) },
  });
  // Each timer's look finishes before the clock moves on to the next timer.
  clock.quiesceOn(() => made.idle());
  return made;
}

/** Starts a scheduler on the current `clock` (a test that begins on another date makes a new clock first). */
async function restartScheduler(): Promise<void> {
  await scheduler.stop();
  scheduler = newScheduler();
  scheduler.start();
  await scheduler.idle();
}

afterEach(async () => {
  await scheduler.stop();
  await store.close();
});

describe('the maintenance scheduler', () => {
  it('starts an automatic run only inside the window, pauses it at the window end and resumes it in the next', async () => {
    scheduler.start();
    await scheduler.idle();
    assert.equal(started.length, 0, 'Wednesday: no window is open');

    // Saturday 02:00 in Berlin is 00:00Z (CEST).
    await advanceTo('2025-09-19T23:59:59Z');
    assert.equal(started.length, 0);
    await advanceTo('2025-09-20T00:00:00Z');
    assert.deepEqual(
      started.map((s) => [s.cluster, s.at, s.request.to]),
      [['berlin', '2025-09-20T00:00:00.000Z', '1.31.1']],
    );
    const trigger = started[0]?.request.trigger;
    assert.equal(trigger?.kind, 'automatic');
    assert.deepEqual(
      [iso(trigger?.window.start), iso(trigger?.window.end)],
      ['2025-09-20T00:00:00.000Z', '2025-09-20T04:00:00.000Z'],
    );
    const stored = (await store.runs.get('run-1'))?.request as UpgradeRequest | undefined;
    assert.equal(stored?.trigger?.kind, 'automatic', 'the run is recorded as automatic');

    // Still going at 06:00 Berlin: paused at the window's end, to resume at next Saturday's start.
    await advanceTo('2025-09-20T03:59:59Z');
    assert.equal((await status('run-1')).phase, 'prechecking');
    await advanceTo('2025-09-20T04:00:00Z');
    const paused = await status('run-1');
    assert.equal(paused.phase === 'paused' && paused.reason, 'window-closed');
    assert.equal(iso(paused.phase === 'paused' ? paused.resumesAt : undefined), '2025-09-27T00:00:00.000Z');

    // A week on (past no limit: a window pause never expires) it resumes as the window opens, and no second run starts.
    await advanceTo('2025-09-26T23:59:59Z');
    assert.equal((await status('run-1')).phase, 'paused');
    await advanceTo('2025-09-27T00:00:00Z');
    assert.equal((await status('run-1')).phase, 'prechecking');
    assert.equal(started.length, 1);
    assert.deepEqual(
      acted.map((a) => `${a.type} ${a.cluster}`),
      ['start-run berlin', 'pause-run berlin', 'resume-run berlin'],
    );
  });

  it("never touches an operator's run, and starts nothing beside it", async () => {
    const topology = fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.30.4' });
    const plan = buildPlan({ cluster: 'berlin', topology, change: { kind: 'version', path: oneMinorPath(['w']) } });
    const state = createRunState(plan, { runId: 'manual', now: clock.now() });
    await store.runs.create({
      id: 'manual',
      cluster: 'berlin',
      target: '1.31.4',
      ...newRunColumns(state),
      request: { to: '1.31.4' },
      phase: 'pending',
      createdAt: clock.now(),
    });
    await applyEvents(store, 'manual', [{ type: 'started' }], clock.now());
    scheduler.start();
    await scheduler.idle();
    await advanceTo('2025-09-20T01:00:00Z');
    await advanceTo('2025-09-20T05:00:00Z');
    assert.equal(started.length, 0);
    assert.equal((await status('manual')).phase, 'prechecking', 'not paused at the window end');
  });

  it('holds the start while an exclusion of its scope is in force, and starts in the first window after it', async () => {
    await store.lifecycle.put({
      cluster: 'berlin',
      labels: {},
      schedule: {
        windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
        exclusions: [
          { name: 'launch', start: '2025-09-19', end: '2025-09-21', scope: 'no-upgrades', timeZone: 'Europe/Berlin' },
        ],
      },
      policy: { kubernetes: 'patch' },
      updatedAt: 2,
    });
    scheduler.start();
    await scheduler.idle();
    await advanceTo('2025-09-20T02:00:00Z');
    assert.equal(started.length, 0);
    await advanceTo('2025-09-27T00:00:00Z');
    assert.deepEqual(
      started.map((s) => s.at),
      ['2025-09-27T00:00:00.000Z'],
    );
  });

  it('reads the time zone of each window: a run that starts in New York at 01:00 local during DST', async () => {
    await store.lifecycle.put({
      cluster: 'newyork',
      labels: {},
      schedule: {
        windows: [{ days: ['sun'], start: '01:00', durationMinutes: 120, timeZone: 'America/New_York' }],
        exclusions: [],
      },
      policy: { kubernetes: 'patch' },
      updatedAt: 2,
    });
    scheduler.start();
    await scheduler.idle();
    // Sunday 2025-09-21 01:00 EDT is 05:00Z; Berlin's Saturday window came first.
    await advanceTo('2025-09-21T04:59:00Z');
    assert.deepEqual(
      started.map((s) => s.cluster),
      ['berlin'],
    );
    await advanceTo('2025-09-21T05:00:00Z');
    assert.deepEqual(
      started.map((s) => `${s.cluster} ${s.at}`),
      ['berlin 2025-09-20T00:00:00.000Z', 'newyork 2025-09-21T05:00:00.000Z'],
    );
  });
});

describe('the maintenance scheduler on the calendar', () => {
  /** Replaces berlin's schedule and policy (newyork stays off). */
  async function berlin(
    schedule: { windows: unknown[]; exclusions?: unknown[] },
    policy: Record<string, unknown>,
  ): Promise<void> {
    await store.lifecycle.put({
      cluster: 'berlin',
      labels: {},
      schedule: { exclusions: [], ...schedule },
      policy,
      updatedAt: 2,
    });
  }

  async function pausedUntil(runId: string): Promise<string | undefined> {
    const s = await status(runId);
    return s.phase === 'paused' && s.reason === 'window-closed' ? iso(s.resumesAt) : undefined;
  }

  it('keeps a window on the night the clocks go back: the first 02:00, two elapsed hours (Europe/Berlin)', async () => {
    // Sunday 2025-10-26: 03:00 CEST becomes 02:00 CET. The window opens at the first 02:00 (00:00Z) and lasts two
    // real hours (to 02:00Z, 03:00 CET); the next Sunday's 02:00 CET is 01:00Z.
    await berlin(
      { windows: [{ days: ['sun'], start: '02:00', durationMinutes: 120, timeZone: 'Europe/Berlin' }] },
      { kubernetes: 'patch' },
    );
    clock = new ManualClock(t('2025-10-22T12:00:00Z'));
    await restartScheduler();
    await advanceTo('2025-10-25T23:59:59Z');
    assert.equal(started.length, 0);
    await advanceTo('2025-10-26T00:00:00Z');
    assert.deepEqual(
      started.map((s) => s.at),
      ['2025-10-26T00:00:00.000Z'],
    );
    await advanceTo('2025-10-26T01:59:59Z');
    assert.equal((await status('run-1')).phase, 'prechecking', 'still inside: the repeated hour counts once');
    await advanceTo('2025-10-26T02:00:00Z');
    assert.equal(await pausedUntil('run-1'), '2025-11-02T01:00:00.000Z');
    await advanceTo('2025-11-02T00:59:59Z');
    assert.equal((await status('run-1')).phase, 'paused');
    await advanceTo('2025-11-02T01:00:00Z');
    assert.equal((await status('run-1')).phase, 'prechecking');
  });

  it('moves a start in the spring-forward gap forward by the gap (America/New_York)', async () => {
    // Sunday 2026-03-08: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist that night: the window opens at 03:30
    // EDT (07:30Z) and lasts its hour; the next Sunday's 02:30 EDT is 06:30Z.
    await berlin(
      { windows: [{ days: ['sun'], start: '02:30', durationMinutes: 60, timeZone: 'America/New_York' }] },
      { kubernetes: 'patch' },
    );
    clock = new ManualClock(t('2026-03-04T12:00:00Z'));
    await restartScheduler();
    await advanceTo('2026-03-08T07:29:59Z');
    assert.equal(started.length, 0);
    await advanceTo('2026-03-08T07:30:00Z');
    assert.deepEqual(
      started.map((s) => s.at),
      ['2026-03-08T07:30:00.000Z'],
    );
    await advanceTo('2026-03-08T08:30:00Z');
    assert.equal(await pausedUntil('run-1'), '2026-03-15T06:30:00.000Z');
    await advanceTo('2026-03-15T06:30:00Z');
    assert.equal((await status('run-1')).phase, 'prechecking');
  });

  it('no-minor-upgrades holds a minor upgrade through its days; the first window after it starts the run', async () => {
    await berlin(
      {
        windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
        exclusions: [
          {
            name: 'freeze',
            start: '2025-09-19',
            end: '2025-09-28',
            scope: 'no-minor-upgrades',
            timeZone: 'Europe/Berlin',
          },
        ],
      },
      { kubernetes: 'rapid' },
    );
    scheduler.start();
    await scheduler.idle();
    await advanceTo('2025-09-27T03:00:00Z');
    assert.equal(started.length, 0, 'two Saturdays inside the freeze: no run');
    await advanceTo('2025-10-04T00:00:00Z');
    assert.deepEqual(
      started.map((s) => [s.at, s.request.to]),
      [['2025-10-04T00:00:00.000Z', '1.32.2']],
    );
    assert.equal(started[0]?.request.trigger?.upgrade.minor, true);
  });

  it('a no-node-upgrades exclusion that begins inside the window pauses the run there, until it ends', async () => {
    // Saturday 22:00 for four hours (Berlin): the freeze starts on Sunday, at midnight, half-way through the window.
    await berlin(
      {
        windows: [{ days: ['sat'], start: '22:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
        exclusions: [
          {
            name: 'launch',
            start: '2025-09-21',
            end: '2025-09-28',
            scope: 'no-node-upgrades',
            timeZone: 'Europe/Berlin',
          },
        ],
      },
      { kubernetes: 'patch' },
    );
    scheduler.start();
    await scheduler.idle();
    await advanceTo('2025-09-20T20:00:00Z');
    assert.deepEqual(
      started.map((s) => s.at),
      ['2025-09-20T20:00:00.000Z'],
    );
    await advanceTo('2025-09-20T21:59:59Z');
    assert.equal((await status('run-1')).phase, 'prechecking');
    await advanceTo('2025-09-20T22:00:00Z');
    // The freeze covers the next Saturday's window too (its days end with the 28th): resumes the Saturday after.
    assert.equal(await pausedUntil('run-1'), '2025-10-04T20:00:00.000Z');
    await advanceTo('2025-09-27T23:00:00Z');
    assert.equal((await status('run-1')).phase, 'paused');
    await advanceTo('2025-10-04T20:00:00Z');
    assert.equal((await status('run-1')).phase, 'prechecking');
    assert.equal(started.length, 1);
  });

  it('moves a cluster off an expired minor in its window even with auto-upgrade off, hop by hop', async () => {
    // 1.30 ended on 2026-01-31; Kubernetes auto-upgrade is off.
    await berlin(
      { windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }] },
      { kubernetes: 'none' },
    );
    facts.set('berlin', { controlPlane: '1.30.2', pools: [{ name: 'w', version: '1.30.2' }], apisInUse: [] });
    clock = new ManualClock(t('2026-02-11T12:00:00Z'));
    await restartScheduler();
    // Saturday 2026-02-14, 02:00 CET is 01:00Z.
    await advanceTo('2026-02-14T01:00:00Z');
    assert.deepEqual(
      started.map((s) => [s.at, s.request.to]),
      [['2026-02-14T01:00:00.000Z', '1.31.1']],
    );
    assert.ok(
      started[0]?.request.trigger?.reasons.some((r) => /past its end of support/.test(r)),
      JSON.stringify(started[0]?.request.trigger),
    );
    // Once on 1.31.1 (supported until April) nothing more runs under none.
    await applyEvents(store, 'run-1', [{ type: 'cancel-requested' }], clock.now());
    facts.set('berlin', { controlPlane: '1.31.1', pools: [{ name: 'w', version: '1.31.1' }], apisInUse: [] });
    await advanceTo('2026-02-21T05:00:00Z');
    assert.equal(started.length, 1);
  });

  it('holds an automatic minor upgrade while a removed API is in use, and starts it in the first window after the migration', async () => {
    await berlin(
      { windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }] },
      { kubernetes: 'rapid' },
    );
    // On the latest patch of 1.31, still applying example.k8s.io/v1beta1 Widgets that 1.32 removes.
    const widgets = [{ apiVersion: 'example.k8s.io/v1beta1', kind: 'Widget', objects: ['shop/cart'] }];
    facts.set('berlin', { controlPlane: '1.31.1', pools: [{ name: 'w', version: '1.31.1' }], apisInUse: widgets });
    scheduler.start();
    await scheduler.idle();
    await advanceTo('2025-09-20T03:00:00Z');
    assert.equal(started.length, 0, 'held: no run in the window');
    // Migrated during the week: the next window starts the minor upgrade.
    facts.set('berlin', { controlPlane: '1.31.1', pools: [{ name: 'w', version: '1.31.1' }], apisInUse: [] });
    await advanceTo('2025-09-27T00:00:00Z');
    assert.deepEqual(
      started.map((s) => [s.at, s.request.to]),
      [['2025-09-27T00:00:00.000Z', '1.32.2']],
    );
  });
});
