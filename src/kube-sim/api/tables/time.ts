/**
 * Ages as the apiserver prints them: apimachinery `util/duration.HumanDuration`, measured from the server clock
 * (`translateTimestampSince` in upstream printers.go).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The epoch of Go's zero time.Time, which metav1.Time.IsZero() treats as unset. */
const GO_ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/**
 * A duration in the succinct form `kubectl get` shows (apimachinery `HumanDuration`): `45s`, `3m10s`, `70m`, `3h1m`,
 * `47h`, `2d1h`, `367d`, `2y1d`, `8y`. Up to a second of clock skew reads as `0s`; more is `<invalid>`.
 * Non-finite input is `<invalid>` too (Go durations cannot be NaN).
 */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '<invalid>';
  // Go truncates toward zero on every conversion (int(d.Seconds()), d / time.Minute, hours / 24 ...).
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/**
 * Parses a metav1.Time wire value (RFC 3339) to ms since the epoch, cut to whole seconds as the apiserver's own
 * serialisation does. Undefined for null, garbage and Go's zero time.
 */
export function parseTime(value: unknown): number | undefined {
  const ms = parseMicroTime(value);
  return ms === undefined ? undefined : Math.floor(ms / SECOND) * SECOND;
}

/** Parses a metav1.MicroTime wire value (RFC 3339 with fractions); undefined when unset. */
function parseMicroTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms === GO_ZERO_TIME) return undefined;
  return ms;
}

/** translateTimestampSince: the age of a metav1.Time, or `<unknown>` when it is unset. */
export function ageSince(value: unknown, now: number): string {
  return sinceMs(parseTime(value), now);
}

/** translateMicroTimestampSince: the age of a metav1.MicroTime, or `<unknown>` when it is unset. */
export function microAgeSince(value: unknown, now: number): string {
  return sinceMs(parseMicroTime(value), now);
}

/** The age of an instant already parsed, or `<unknown>`. */
export function sinceMs(ms: number | undefined, now: number): string {
  return ms === undefined ? '<unknown>' : humanDuration(now - ms);
}
