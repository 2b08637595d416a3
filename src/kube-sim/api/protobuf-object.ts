/**
 * Decodes Kubernetes objects sent as `application/vnd.kubernetes.protobuf` (kubectl 1.32+ `create`, client-go typed
 * clients) into the JSON objects the JSON path would have read, driven by the type descriptions in schema/: no
 * generated code, one walk over the wire fields.
 *
 * Go's JSON leaves out a non-pointer field holding its zero value (`omitempty`), and the protobuf encoder writes such
 * fields anyway; so zero scalars of non-pointer fields and zero times are dropped here, which makes the result the JSON
 * a client would have sent.
 */
import type { Field } from './protobuf.ts';
import {
  MessageReader,
  ProtobufDecodeError,
  WIRE_BYTES,
  WIRE_FIXED64,
  bytesOf,
  decodeUnknown,
  stringOf,
  varintOf,
  wrongType,
} from './protobuf.ts';
import type { FieldDescription, ScalarType, SpecialType, TypeDescription, ValueType } from './schema/types.ts';
import { typeDescription } from './schema/types.ts';

/** An object read from a protobuf body, with the apiVersion and kind its envelope names. */
export interface DecodedObject {
  apiVersion?: string;
  kind?: string;
  [key: string]: unknown;
}

/**
 * Decodes a protobuf body (the `k8s\0` prefix, a `runtime.Unknown`, and in its raw bytes a message of `typeName`, e.g.
 * `apps.v1.Deployment`) into a JSON object carrying the envelope's apiVersion and kind.
 *
 * @throws ProtobufDecodeError on a malformed body, or an envelope that holds something other than protobuf.
 */
export function decodeProtobufObject(body: Uint8Array, typeName: string): DecodedObject {
  const type = typeDescription(typeName);
  if (!type) throw new Error(`protobuf: no type description for ${typeName}`);
  const unknown = decodeUnknown(body);
  if (unknown.contentEncoding) {
    throw new ProtobufDecodeError(
      `protobuf: content encoding ${JSON.stringify(unknown.contentEncoding)} is not supported`,
    );
  }
  if (unknown.contentType && unknown.contentType !== 'application/vnd.kubernetes.protobuf') {
    throw new ProtobufDecodeError(
      `protobuf: the envelope carries ${JSON.stringify(unknown.contentType)}, not protobuf`,
    );
  }
  const object = decodeMessage(unknown.raw, type);
  return {
    ...(unknown.apiVersion ? { apiVersion: unknown.apiVersion } : {}),
    ...(unknown.kind ? { kind: unknown.kind } : {}),
    ...object,
  };
}

/** Decodes one message of a described type (no envelope). */
function decodeMessage(bytes: Uint8Array, type: TypeDescription): Record<string, unknown> {
  const byNumber = new Map(type.fields.map((f) => [f.number, f]));
  const out: Record<string, unknown> = {};
  for (const wire of new MessageReader(bytes, type.name).fields()) {
    // A field this version of the type does not know: the apiserver's generated code skips it too.
    const field = byNumber.get(wire.number);
    if (!field) continue;
    const what = `${type.name}.${field.name}`;
    if (field.shape === 'map') {
      const [key, value] = decodeMapEntry(bytesOf(wire, what), field.type, what);
      const map = (out[field.name] ??= {}) as Record<string, unknown>;
      put(map, key, value);
    } else if (field.shape === 'list') {
      const list = (out[field.name] ??= []) as unknown[];
      if (isPackable(field.type) && wire.wireType === WIRE_BYTES)
        list.push(...unpack(bytesOf(wire, what), field.type, what));
      else list.push(decodeValue(wire, field.type, what) ?? null);
    } else if (field.inline) {
      Object.assign(out, decodeValue(wire, field.type, what));
    } else {
      const value = decodeValue(wire, field.type, what);
      if (value === undefined || (!field.pointer && isZeroScalar(field, value))) delete out[field.name];
      else out[field.name] = value;
    }
  }
  return out;
}

function isZeroScalar(field: FieldDescription, value: unknown): boolean {
  return field.type.kind === 'scalar' && (value === '' || value === 0 || value === false);
}

function isPackable(type: ValueType): boolean {
  return (
    type.kind === 'scalar' &&
    (type.scalar === 'int32' || type.scalar === 'int64' || type.scalar === 'bool' || type.scalar === 'double')
  );
}

/** Repeated numbers may come packed: one length-delimited field holding the values back to back. */
function unpack(bytes: Uint8Array, type: ValueType, what: string): unknown[] {
  if (type.kind !== 'scalar') return [];
  if (type.scalar === 'double') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength % 8 !== 0)
      throw new ProtobufDecodeError(`protobuf: cannot decode ${what}: packed doubles of ${bytes.byteLength} bytes`);
    return Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
  }
  // Reuse the message reader: prefix every varint with the key of field 1 so it reads as a run of varint fields.
  const values: unknown[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    let end = offset;
    while (end < bytes.length && ((bytes[end] ?? 0) & 0x80) !== 0) end++;
    if (end >= bytes.length) throw new ProtobufDecodeError(`protobuf: cannot decode ${what}: truncated packed varint`);
    const one = Uint8Array.of(0x08, ...bytes.subarray(offset, end + 1));
    for (const f of new MessageReader(one, what).fields()) values.push(decodeScalar(f, type.scalar, what));
    offset = end + 1;
  }
  return values;
}

function decodeMapEntry(bytes: Uint8Array, valueType: ValueType, what: string): [string, unknown] {
  let key = '';
  let value: unknown;
  for (const wire of new MessageReader(bytes, `${what} entry`).fields()) {
    if (wire.number === 1) key = stringOf(wire, what);
    else if (wire.number === 2) value = decodeValue(wire, valueType, what);
  }
  return [key, value ?? zeroOf(valueType)];
}

function zeroOf(type: ValueType): unknown {
  if (type.kind === 'message') return {};
  if (type.kind === 'special') return type.special === 'quantity' ? '0' : null;
  switch (type.scalar) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function decodeValue(wire: Field, type: ValueType, what: string): unknown {
  switch (type.kind) {
    case 'scalar':
      return decodeScalar(wire, type.scalar, what);
    case 'special':
      return decodeSpecial(bytesOf(wire, what), type.special, what);
    case 'message': {
      const inner = typeDescription(type.name);
      if (!inner) throw new Error(`protobuf: no type description for ${type.name}`);
      return decodeMessage(bytesOf(wire, what), inner);
    }
  }
}

function decodeScalar(wire: Field, scalar: ScalarType, what: string): unknown {
  switch (scalar) {
    case 'string':
      return stringOf(wire, what);
    case 'bytes':
      return Buffer.from(bytesOf(wire, what)).toString('base64');
    case 'bool':
      return varintOf(wire, what) !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, varintOf(wire, what)));
    case 'int64':
      // int64 values beyond 2^53 lose precision in JSON numbers, as they do in the JSON the apiserver writes.
      return Number(BigInt.asIntN(64, varintOf(wire, what)));
    case 'double': {
      if (wire.wireType !== WIRE_FIXED64 || wire.bytes === undefined) throw wrongType(wire, what);
      return new DataView(wire.bytes.buffer, wire.bytes.byteOffset, 8).getFloat64(0, true);
    }
  }
}

/** Reads the fields of a small fixed message (Time, IntOrString, ...) into a number-keyed record. */
function smallMessage(bytes: Uint8Array, what: string): Map<number, Field> {
  const fields = new Map<number, Field>();
  for (const wire of new MessageReader(bytes, what).fields()) fields.set(wire.number, wire);
  return fields;
}

function int(fields: Map<number, Field>, n: number, what: string): bigint {
  const f = fields.get(n);
  return f === undefined ? 0n : BigInt.asIntN(64, varintOf(f, what));
}

function decodeSpecial(bytes: Uint8Array, special: SpecialType, what: string): unknown {
  const fields = smallMessage(bytes, what);
  switch (special) {
    case 'time':
    case 'microtime': {
      const seconds = int(fields, 1, what);
      const nanos = int(fields, 2, what);
      if (seconds === 0n && nanos === 0n) return undefined;
      return formatTime(seconds, nanos, special === 'microtime');
    }
    case 'duration':
      return formatDuration(int(fields, 1, what));
    case 'quantity': {
      const f = fields.get(1);
      return f === undefined ? '0' : stringOf(f, what);
    }
    case 'intstr': {
      const kind = int(fields, 1, what);
      if (kind === 1n) {
        const f = fields.get(3);
        return f === undefined ? '' : stringOf(f, what);
      }
      return Number(BigInt.asIntN(32, int(fields, 2, what)));
    }
    case 'rawext':
    case 'fieldsv1': {
      const f = fields.get(1);
      if (f === undefined || bytesOf(f, what).length === 0) return special === 'fieldsv1' ? {} : null;
      try {
        return JSON.parse(Buffer.from(bytesOf(f, what)).toString('utf8')) as unknown;
      } catch (err) {
        throw new ProtobufDecodeError(`protobuf: cannot decode ${what}: the raw bytes are not JSON`, { cause: err });
      }
    }
  }
}

/** RFC 3339 in UTC, as meta/v1 Time (whole seconds) and MicroTime (six fraction digits) marshal to JSON. */
function formatTime(seconds: bigint, nanos: bigint, micro: boolean): string {
  const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return micro ? `${iso}.${String(nanos / 1000n).padStart(6, '0')}Z` : `${iso}Z`;
}

/** A duration in nanoseconds as Go's time.Duration.String() writes it: `1h2m3.5s`, `150ms`, `0s`. */
function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  let rest = ns < 0n ? -ns : ns;
  if (rest < 1_000_000_000n) {
    const [unit, size] = rest < 1000n ? ['ns', 1n] : rest < 1_000_000n ? ['µs', 1000n] : ['ms', 1_000_000n];
    return `${sign}${fraction(rest, size)}${unit}`;
  }
  const hours = rest / 3_600_000_000_000n;
  rest %= 3_600_000_000_000n;
  const minutes = rest / 60_000_000_000n;
  rest %= 60_000_000_000n;
  const head = hours > 0n ? `${hours}h${minutes}m` : minutes > 0n ? `${minutes}m` : '';
  return `${sign}${head}${fraction(rest, 1_000_000_000n)}s`;
}

function fraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const part = value % unit;
  if (part === 0n) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(part).padStart(digits, '0').replace(/0+$/, '')}`;
}

/** Sets a key, even `__proto__`, as an own data property. */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
