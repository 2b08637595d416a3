/**
 * Standard cron schedules as CronJobs take them (the robfig/cron parser kube-controller-manager uses): five fields
 * (minute, hour, day of month, month, day of week) with `*`, `?`, values, ranges, steps and lists, month and weekday
 * names, 7 as Sunday, and the `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly` macros. When both day fields are
 * restricted a day matching either runs, as in cron. Times are UTC (a `timeZone` is not applied).
 */

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  /** Whether the day-of-month or day-of-week field was `*` or `?` (then both must match, else either). */
  readonly anyDay: boolean;
}

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function field(
  text: string,
  min: number,
  max: number,
  names: readonly string[],
  offset: number,
  what: string,
): Set<number> {
  const out = new Set<number>();
  const value = (v: string): number => {
    const named = names.indexOf(v.toUpperCase());
    const n = named >= 0 ? named + offset : /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${what}: "${v}" is not a value from ${min} to ${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${what}: bad step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') [lo, hi] = [min, max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [lo, hi] = [value(a), value(b)];
      if (lo > hi) throw new Error(`${what}: range "${range}" runs backwards`);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a schedule; throws an Error naming the bad field. */
export function parseCronSchedule(text: string): CronSchedule {
  const spec = MACROS[text.trim().toLowerCase()] ?? text.trim();
  if (/^TZ=|^CRON_TZ=/.test(spec)) throw new Error('a time zone in the schedule is not supported (use UTC)');
  const parts = spec.split(/\s+/);
  if (parts.length !== 5) throw new Error(`expected exactly 5 fields, found ${parts.length}: "${text}"`);
  const [m = '', h = '', dom = '', mon = '', dow = ''] = parts;
  const weekdays = field(dow, 0, 7, DAY_NAMES, 0, 'day of week');
  if (weekdays.delete(7)) weekdays.add(0);
  return {
    minutes: field(m, 0, 59, [], 0, 'minute'),
    hours: field(h, 0, 23, [], 0, 'hour'),
    days: field(dom, 1, 31, [], 0, 'day of month'),
    months: field(mon, 1, 12, MONTH_NAMES, 1, 'month'),
    weekdays,
    anyDay: dom === '*' || dom === '?' || dow === '*' || dow === '?',
  };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.days.has(d.getUTCDate());
  const dow = s.weekdays.has(d.getUTCDay());
  return s.anyDay ? dom && dow : dom || dow;
}

/** The first scheduled time strictly after `after` (ms), or undefined when none comes within 5 years. */
export function nextScheduleTime(s: CronSchedule, after: number): number | undefined {
  const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  const limit = after + 5 * 366 * 86_400_000;
  while (d.getTime() <= limit) {
    if (!s.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!s.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!s.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else return d.getTime();
  }
  return undefined;
}

/** The latest scheduled time in (`after`, `now`], and how many there were (upstream warns past 100). */
export function mostRecentScheduleTime(
  s: CronSchedule,
  after: number,
  now: number,
): { time: number | undefined; missed: number } {
  let time: number | undefined;
  let missed = 0;
  for (let t = nextScheduleTime(s, after); t !== undefined && t <= now; t = nextScheduleTime(s, t)) {
    time = t;
    missed += 1;
    if (missed > 1000) break;
  }
  return { time, missed };
}
