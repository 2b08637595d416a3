/**
 * Equality of JSON values as the API server's semantic equality sees them: key order does not matter (patches and
 * clients order keys as they like), and a key holding `undefined` is the same as a missing one.
 */
import { isRecord } from './wire.ts';

/** True when `a` and `b` are the same JSON value. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const ka = keys(a);
  return ka.length === keys(b).length && ka.every((k) => jsonEqual(a[k], b[k]));
}
