import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MaintenanceError } from './errors.ts';
import { parseExclusion } from './exclusions.ts';
import { parseSchedule, scheduleStatus } from './schedule.ts';
import { instantOf, offsetAt } from './time-zone.ts';
import type { MaintenanceWindow } from './windows.ts';
import { nextWindow, parseWindow, windowAt, windowIntervals } from './windows.ts';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const HOUR = 3_600_000;

function win(
  days: MaintenanceWindow['days'],
  start: string,
  durationMinutes: number,
  timeZone: string,
): MaintenanceWindow {
  return parseWindow({ days, start, durationMinutes, timeZone });
}

describe('time zones', () => {
  it('reads offsets from the runtime zone data, half and quarter hours included', () => {
    assert.equal(offsetAt('Asia/Kolkata', t('2026-06-01T00:00:00Z')), 5.5 * HOUR);
    assert.equal(offsetAt('Australia/Lord_Howe', t('2026-07-01T00:00:00Z')), 10.5 * HOUR);
    assert.equal(offsetAt('Australia/Lord_Howe', t('2026-12-01T00:00:00Z')), 11 * HOUR);
    assert.equal(offsetAt('Europe/Berlin', t('2026-03-29T00:59:59Z')), HOUR);
    assert.equal(offsetAt('Europe/Berlin', t('2026-03-29T01:00:00Z')), 2 * HOUR);
  });

  it('moves a local time in a spring-forward gap forward by the gap, and takes the first of a repeated hour', () => {
    // Berlin skips 02:00-03:00 on 2026-03-29 and repeats 02:00-03:00 on 2026-10-25.
    assert.equal(iso(instantOf('Europe/Berlin', { year: 2026, month: 3, day: 29 }, 150)), '2026-03-29T01:30:00.000Z');
    assert.equal(iso(instantOf('Europe/Berlin', { year: 2026, month: 10, day: 25 }, 150)), '2026-10-25T00:30:00.000Z');
    // Lord Howe moves from +10:30 to +11:00 at 02:00 on 2026-10-04: 02:15 does not exist and becomes 02:45.
    assert.equal(
      iso(instantOf('Australia/Lord_Howe', { year: 2026, month: 10, day: 4 }, 135)),
      '2026-10-03T15:45:00.000Z',
    );
  });
});

describe('maintenance windows', () => {
  it('opens at the local start on each listed day, across a DST change (Europe/Berlin)', () => {
    const w = win(['sun'], '02:30', 60, 'Europe/Berlin');
    const starts = windowIntervals([w], t('2026-03-20T00:00:00Z'), t('2026-04-06T00:00:00Z')).map((i) => iso(i.start));
    assert.deepEqual(starts, [
      '2026-03-22T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
      '2026-04-05T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('lasts its duration in elapsed time on the night the clocks go back (America/New_York)', () => {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST. A window from 01:00 for 4 hours starts at the first 01:00 (EDT).
    const w = win(['sun'], '01:00', 240, 'America/New_York');
    const open = windowAt([w], t('2026-11-01T06:30:00Z'));
    assert.deepEqual(open && [iso(open.start), iso(open.end)], [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T09:00:00.000Z',
    ]);
    // The week before and after, 01:00 local is 05:00Z (EDT) and 06:00Z (EST).
    const starts = windowIntervals([w], t('2026-10-24T00:00:00Z'), t('2026-11-09T00:00:00Z')).map((i) => iso(i.start));
    assert.deepEqual(starts, ['2026-10-25T05:00:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-08T06:00:00.000Z']);
  });

  it('keeps its local time in a zone with a half-hour DST change (Australia/Lord_Howe)', () => {
    const w = win(['sat', 'sun'], '22:00', 120, 'Australia/Lord_Howe');
    const starts = windowIntervals([w], t('2026-10-02T00:00:00Z'), t('2026-10-05T00:00:00Z')).map((i) => iso(i.start));
    // Saturday 22:00 at +10:30, Sunday 22:00 at +11:00 (the change came at 02:00 on Sunday).
    assert.deepEqual(starts, ['2026-10-03T11:30:00.000Z', '2026-10-04T11:00:00.000Z']);
  });

  it('answers inside, when it ends, and when the next one starts for a window across midnight (Asia/Kolkata)', () => {
    const w = win(['mon'], '23:30', 120, 'Asia/Kolkata');
    const inside = windowAt([w], t('2026-12-07T19:59:59Z')); // Tuesday 01:29:59 IST
    assert.deepEqual(inside && [iso(inside.start), iso(inside.end)], [
      '2026-12-07T18:00:00.000Z',
      '2026-12-07T20:00:00.000Z',
    ]);
    assert.equal(windowAt([w], t('2026-12-07T20:00:00Z')), undefined, 'the end is not inside');
    assert.equal(windowAt([w], t('2026-12-07T17:59:59Z')), undefined, 'before the start is not inside');
    assert.equal(
      iso(nextWindow([w], t('2026-12-07T18:30:00Z'))?.start),
      '2026-12-14T18:00:00.000Z',
      'the next, not the open one',
    );
    assert.equal(iso(nextWindow([w], t('2026-12-01T00:00:00Z'))?.start), '2026-12-07T18:00:00.000Z');
  });

  it('joins windows of different zones that overlap or touch into one', () => {
    const berlin = win(['mon'], '10:00', 120, 'Europe/Berlin'); // 09:00-11:00Z in December
    const kolkata = win(['mon'], '15:30', 120, 'Asia/Kolkata'); // 10:00-12:00Z
    const ny = win(['mon'], '07:00', 60, 'America/New_York'); // 12:00-13:00Z: touches
    const open = windowAt([berlin, kolkata, ny], t('2026-12-07T12:30:00Z'));
    assert.deepEqual(open && [iso(open.start), iso(open.end)], [
      '2026-12-07T09:00:00.000Z',
      '2026-12-07T13:00:00.000Z',
    ]);
  });

  it('refuses a malformed window naming the field', () => {
    const cases: [unknown, string][] = [
      [{ days: [], start: '02:00', durationMinutes: 60, timeZone: 'UTC' }, 'window.days'],
      [{ days: ['mon', 'funday'], start: '02:00', durationMinutes: 60, timeZone: 'UTC' }, 'window.days[1]'],
      [{ days: ['mon'], start: '24:00', durationMinutes: 60, timeZone: 'UTC' }, 'window.start'],
      [{ days: ['mon'], start: '2:00', durationMinutes: 60, timeZone: 'UTC' }, 'window.start'],
      [{ days: ['mon'], start: '02:00', durationMinutes: 5, timeZone: 'UTC' }, 'window.durationMinutes'],
      [{ days: ['mon'], start: '02:00', durationMinutes: 60, timeZone: 'Mars/Olympus' }, 'window.timeZone'],
    ];
    for (const [input, field] of cases) {
      assert.throws(
        () => parseWindow(input),
        (e: unknown) => e instanceof MaintenanceError && e.field === field && e.message.includes(field),
        field,
      );
    }
    assert.deepEqual(
      parseWindow({ days: ['Sunday', 'mon'], start: '02:00', durationMinutes: 60, timeZone: 'utc' }).days,
      ['sun', 'mon'],
    );
  });
});

describe('exclusions', () => {
  const schedule = parseSchedule({
    windows: [
      {
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        start: '01:00',
        durationMinutes: 240,
        timeZone: 'Europe/Berlin',
      },
    ],
    exclusions: [
      // Days in Berlin: from 2026-12-10 00:00 CET to the end of 2026-12-12.
      { name: 'freeze', start: '2026-12-10', end: '2026-12-12', scope: 'no-upgrades', timeZone: 'Europe/Berlin' },
      { name: 'no-minor', start: '2026-12-14T00:00:00Z', end: '2026-12-20T00:00:00Z', scope: 'no-minor-upgrades' },
      // Cuts the window of 2026-12-22 (00:00-04:00Z) at 02:00Z.
      { name: 'nodes', start: '2026-12-22T02:00:00Z', end: '2026-12-24T01:00:00+01:00', scope: 'no-node-upgrades' },
    ],
  });
  const patch = { minor: false, nodes: false };
  const minor = { minor: true, nodes: true };
  const nodes = { minor: false, nodes: true };

  it('no-upgrades holds every kind; the next period starts after it ends', () => {
    const s = scheduleStatus(schedule, patch, t('2026-12-10T01:00:00Z'));
    assert.ok(s.window, 'the window is open');
    assert.equal(s.open, undefined);
    assert.deepEqual(
      s.heldBy.map((e) => e.name),
      ['freeze'],
    );
    assert.equal(iso(s.heldBy[0]?.end), '2026-12-12T23:00:00.000Z', 'the last day ends at midnight in Berlin');
    // The windows of the 10th to the 12th are skipped; the next is the one of the 13th (01:00 CET).
    assert.deepEqual(s.next && [iso(s.next.start), iso(s.next.end)], [
      '2026-12-13T00:00:00.000Z',
      '2026-12-13T04:00:00.000Z',
    ]);
  });

  it('no-minor-upgrades holds a minor upgrade and lets a patch through', () => {
    const at = t('2026-12-15T01:00:00Z');
    assert.ok(scheduleStatus(schedule, patch, at).open);
    const held = scheduleStatus(schedule, minor, at);
    assert.equal(held.open, undefined);
    assert.deepEqual(
      held.heldBy.map((e) => e.name),
      ['no-minor'],
    );
    assert.equal(iso(held.next?.start), '2026-12-20T00:00:00.000Z');
  });

  it('no-node-upgrades cuts a window short for node upgrades only', () => {
    const at = t('2026-12-22T01:00:00Z');
    assert.equal(iso(scheduleStatus(schedule, nodes, at).open?.end), '2026-12-22T02:00:00.000Z');
    assert.equal(iso(scheduleStatus(schedule, patch, at).open?.end), '2026-12-22T04:00:00.000Z');
    // The exclusion ends at 2026-12-24T00:00Z, inside that night's window: node upgrades may run from then.
    assert.equal(
      iso(scheduleStatus(schedule, nodes, t('2026-12-22T03:00:00Z')).next?.start),
      '2026-12-24T00:00:00.000Z',
    );
  });

  it('refuses a malformed exclusion naming the field', () => {
    const cases: [unknown, string][] = [
      [{ name: 'x', start: '2026-12-10', end: '2026-12-09', scope: 'no-upgrades' }, 'exclusion.end'],
      [{ name: 'x', start: '2026-02-30', end: '2026-03-09', scope: 'no-upgrades' }, 'exclusion.start'],
      [{ name: 'x', start: '2026-12-10T00:00:00', end: '2026-12-11', scope: 'no-upgrades' }, 'exclusion.start'],
      [{ name: 'x', start: '2026-12-10', end: '2026-12-11', scope: 'no-patches' }, 'exclusion.scope'],
      [{ name: 'Bad Name', start: '2026-12-10', end: '2026-12-11', scope: 'no-upgrades' }, 'exclusion.name'],
    ];
    for (const [input, field] of cases) {
      assert.throws(
        () => parseExclusion(input),
        (e: unknown) => e instanceof MaintenanceError && e.field === field,
        field,
      );
    }
    assert.throws(
      () =>
        parseSchedule({
          exclusions: [
            { name: 'a', start: '2026-12-10', end: '2026-12-11', scope: 'no-upgrades' },
            { name: 'a', start: '2026-12-10', end: '2026-12-11', scope: 'no-upgrades' },
          ],
        }),
      /exclusions\[1\]\.name: a is used twice/,
    );
  });

  it('without a window nothing is ever open', () => {
    const s = scheduleStatus(parseSchedule({}), patch, t('2026-12-10T01:00:00Z'));
    assert.deepEqual([s.window, s.open, s.next], [undefined, undefined, undefined]);
  });
});
