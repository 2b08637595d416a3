/**
 * Narrowing readers for wire JSON. A printer must never throw on a partial object, so every reader falls back to
 * the zero value of the Go field it stands for ('' for strings, 0 for integers, false, empty list or map).
 */
import type { WireObject } from './types.ts';

/** True when `value` is a plain JSON object. */
export function isObject(value: unknown): value is WireObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, or undefined (a nil pointer to a struct). */
export function optObj(value: unknown): WireObject | undefined {
  return isObject(value) ? value : undefined;
}

/** The object at `value`, or an empty one (a struct field). */
export function obj(value: unknown): WireObject {
  return isObject(value) ? value : {};
}

/** The objects in the list at `value`; anything else counts as an empty list. */
export function objs(value: unknown): WireObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** The list at `value`, or an empty one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The strings in the list at `value`. */
export function strs(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === 'string');
}

/** The string at `value`, or ''. */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The string at `value`, or undefined (a nil *string). */
export function optStr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The integer at `value`, or 0. */
export function int(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : 0;
}

/** The integer at `value`, or undefined (a nil *int32). */
export function optInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : undefined;
}

/** True only for the JSON value `true`. */
export function bool(value: unknown): boolean {
  return value === true;
}

/** The number of keys of the map at `value` (len() of a Go map). */
export function mapSize(value: unknown): number {
  return isObject(value) ? Object.keys(value).length : 0;
}

/** The string-valued entries of the map at `value`. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** metadata.name of a wire object. */
export function nameOf(o: WireObject): string {
  return str(obj(o.metadata).name);
}

/** True when the object carries metadata.deletionTimestamp (it is being deleted). */
export function isDeleting(o: WireObject): boolean {
  const ts = obj(o.metadata).deletionTimestamp;
  return ts !== undefined && ts !== null;
}

/**
 * intstr.IntOrString.String(): an integer prints in decimal, a string as is. Undefined for a nil pointer (and for
 * values that are neither).
 */
export function intOrString(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(Math.trunc(value));
  if (typeof value === 'string') return value;
  return undefined;
}
