/**
 * Field errors worded as apimachinery's `field.Error` words them (`ErrorBody`): the API server's 422 messages are
 * `<field>: <body>`, and clients (kubectl, client-go's `errors.IsInvalid` users) show them verbatim.
 */
import type { StatusCause } from '../status.ts';

/** How a rejected value reads in a message: strings quoted, numbers and booleans bare, anything else as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `field: Required value[: detail]`. */
export function required(field: string, detail?: string): StatusCause {
  return { reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' };
}

/** `field: Invalid value: <value>: detail`. */
export function invalidValue(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${formatValue(value)}: ${detail}` };
}

/** `field: Unsupported value: "x": supported values: "a", "b"`. */
export function notSupported(field: string, value: unknown, supported: readonly string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

/** `field: Forbidden: detail`. */
export function forbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

/** `field: Duplicate value: <value>`. */
export function duplicate(field: string, value: unknown): StatusCause {
  return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${formatValue(value)}` };
}

/** `field: Invalid value: <value>: field is immutable` (apimachinery's ValidateImmutableField). */
export function immutable(field: string, value: unknown): StatusCause {
  return invalidValue(field, value, 'field is immutable');
}

/** A cause for `value` when it is set and not one of `allowed`; nothing when it is unset. */
export function enumCause(field: string, value: unknown, allowed: readonly string[]): StatusCause[] {
  if (value === undefined || value === null) return [];
  return typeof value === 'string' && allowed.includes(value) ? [] : [notSupported(field, value, allowed)];
}

/** An integer field that must be >= `min` when set (`must be greater than or equal to 0`). */
export function minimumCause(field: string, value: unknown, min: number): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'number' || !Number.isInteger(value)) return [invalidValue(field, value, 'must be an integer')];
  return value < min ? [invalidValue(field, value, `must be greater than or equal to ${min}`)] : [];
}
