/**
 * Just enough of Kubernetes' protobuf wire format to read the DeleteOptions that kubectl 1.32+
 * sends with `drain --disable-eviction`: the `k8s\0` envelope around a `runtime.Unknown`
 * (apimachinery `pkg/runtime/serializer/protobuf`, `pkg/runtime/generated.proto`) whose raw bytes
 * are a meta/v1 `DeleteOptions` (`pkg/apis/meta/v1/generated.proto`). No dependency: a varint and
 * length-delimited reader is all it takes.
 */

/** The protobuf media type of Kubernetes objects. */
const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** The four bytes every Kubernetes protobuf body starts with: `k8s` and a NUL. */
const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** meta/v1 DeleteOptions as decoded from the wire; absent fields were not sent. */
export interface DeleteOptionsWire {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/** The `runtime.Unknown` envelope: what the raw bytes are, and the bytes. */
export interface UnknownWire {
  apiVersion?: string;
  kind?: string;
  raw: Uint8Array;
  contentEncoding?: string;
  contentType?: string;
}

/** A body that is not a well-formed Kubernetes protobuf message (the caller answers 400). */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
}

/**
 * Whether a Content-Type names Kubernetes protobuf, parameters and case aside:
 * `application/vnd.kubernetes.protobuf` or `application/vnd.kubernetes.protobuf;stream=watch`.
 */
export function isKubernetesProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  return mediaType === PROTOBUF_MEDIA_TYPE;
}

// ---------------------------------------------------------------------------------------------
// Wire reader
// ---------------------------------------------------------------------------------------------

/** Protobuf wire types; the object decoder reads packed lists (bytes) and doubles (fixed64). */
const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/** One field as read off the wire. */
export interface Field {
  readonly number: number;
  readonly wireType: number;
  /** The varint's value (wire type 0), as an unsigned 64-bit integer. */
  readonly varint?: bigint;
  /** The payload of a length-delimited field (wire type 2), or the eight or four bytes of a fixed-size one (1, 5). */
  readonly bytes?: Uint8Array;
}

/** Reads the fields of one message in order; unknown fields are returned too, for the caller to skip. */
export class MessageReader {
  private offset = 0;

  constructor(
    private readonly buffer: Uint8Array,
    private readonly what: string,
  ) {}

  *fields(): Generator<Field> {
    while (this.offset < this.buffer.length) {
      const key = this.readVarint();
      const number = Number(key >> 3n);
      const wireType = Number(key & 7n);
      if (number === 0) throw this.error('field number 0');
      yield this.readValue(number, wireType);
    }
  }

  private readValue(number: number, wireType: number): Field {
    switch (wireType) {
      case WIRE_VARINT:
        return { number, wireType, varint: this.readVarint() };
      case WIRE_BYTES: {
        const length = this.readVarint();
        if (length > BigInt(this.buffer.length - this.offset)) throw this.truncated();
        return { number, wireType, bytes: this.take(Number(length)) };
      }
      case WIRE_FIXED64:
        return { number, wireType, bytes: this.take(8) };
      case WIRE_FIXED32:
        return { number, wireType, bytes: this.take(4) };
      default:
        throw this.error(`unsupported wire type ${wireType} for field ${number}`);
    }
  }

  private readVarint(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.buffer[this.offset];
      if (byte === undefined) throw this.truncated();
      this.offset++;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, value);
    }
    throw this.error('varint longer than 10 bytes');
  }

  private take(length: number): Uint8Array {
    if (this.offset + length > this.buffer.length) throw this.truncated();
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  private truncated(): ProtobufDecodeError {
    return this.error('unexpected end of data (truncated message)');
  }

  private error(detail: string): ProtobufDecodeError {
    return new ProtobufDecodeError(`protobuf: cannot decode ${this.what}: ${detail} at byte ${this.offset}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A length-delimited field as UTF-8 text. @throws ProtobufDecodeError when it is not one, or not valid UTF-8. */
export function stringOf(field: Field, what: string): string {
  if (field.bytes === undefined) throw wrongType(field, what);
  try {
    return utf8.decode(field.bytes);
  } catch (err) {
    throw new ProtobufDecodeError(`protobuf: cannot decode ${what}: field ${field.number} is not valid UTF-8`, {
      cause: err,
    });
  }
}

/** A length-delimited field's bytes. @throws ProtobufDecodeError when it is not one. */
export function bytesOf(field: Field, what: string): Uint8Array {
  if (field.bytes === undefined) throw wrongType(field, what);
  return field.bytes;
}

/** A varint field's value. @throws ProtobufDecodeError when it is not one. */
export function varintOf(field: Field, what: string): bigint {
  if (field.varint === undefined) throw wrongType(field, what);
  return field.varint;
}

/** The error for a field that came with a wire type its declaration does not allow. */
export function wrongType(field: Field, what: string): ProtobufDecodeError {
  return new ProtobufDecodeError(
    `protobuf: cannot decode ${what}: field ${field.number} has unexpected wire type ${field.wireType}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

function decodeTypeMeta(bytes: Uint8Array): { apiVersion?: string; kind?: string } {
  const out: { apiVersion?: string; kind?: string } = {};
  for (const field of new MessageReader(bytes, 'TypeMeta').fields()) {
    if (field.number === 1) out.apiVersion = stringOf(field, 'TypeMeta');
    else if (field.number === 2) out.kind = stringOf(field, 'TypeMeta');
  }
  return out;
}

function checkMagic(body: Uint8Array): void {
  if (body.length < MAGIC.length) {
    throw new ProtobufDecodeError(`protobuf: body of ${body.length} bytes is too short to hold the k8s\\0 prefix`);
  }
  if (!MAGIC.every((b, i) => body[i] === b)) {
    const seen = Buffer.from(body.subarray(0, MAGIC.length)).toString('hex');
    throw new ProtobufDecodeError(`protobuf: body does not start with the k8s\\0 prefix (6b387300), found ${seen}`);
  }
}

/**
 * Reads the `k8s\0` envelope and the `runtime.Unknown` it carries (typeMeta = 1, raw = 2,
 * contentEncoding = 3, contentType = 4).
 *
 * @throws ProtobufDecodeError on a missing or wrong prefix or a truncated or malformed message.
 */
export function decodeUnknown(body: Uint8Array): UnknownWire {
  checkMagic(body);
  const out: UnknownWire = { raw: new Uint8Array(0) };
  for (const field of new MessageReader(body.subarray(MAGIC.length), 'runtime.Unknown').fields()) {
    switch (field.number) {
      case 1:
        Object.assign(out, decodeTypeMeta(bytesOf(field, 'runtime.Unknown')));
        break;
      case 2:
        out.raw = bytesOf(field, 'runtime.Unknown');
        break;
      case 3:
        out.contentEncoding = stringOf(field, 'runtime.Unknown');
        break;
      case 4:
        out.contentType = stringOf(field, 'runtime.Unknown');
        break;
      default:
        break;
    }
  }
  return out;
}

function decodePreconditions(bytes: Uint8Array): { uid?: string; resourceVersion?: string } {
  const out: { uid?: string; resourceVersion?: string } = {};
  for (const field of new MessageReader(bytes, 'Preconditions').fields()) {
    if (field.number === 1) out.uid = stringOf(field, 'Preconditions');
    else if (field.number === 2) out.resourceVersion = stringOf(field, 'Preconditions');
  }
  return out;
}

/** Decodes a bare meta/v1 DeleteOptions message (no envelope). */
function decodeDeleteOptionsMessage(bytes: Uint8Array): DeleteOptionsWire {
  const what = 'DeleteOptions';
  const out: DeleteOptionsWire = {};
  for (const field of new MessageReader(bytes, what).fields()) {
    switch (field.number) {
      case 1:
        // int64: negative values arrive as ten-byte two's complement varints.
        out.gracePeriodSeconds = Number(BigInt.asIntN(64, varintOf(field, what)));
        break;
      case 2:
        out.preconditions = decodePreconditions(bytesOf(field, what));
        break;
      case 3:
        out.orphanDependents = varintOf(field, what) !== 0n;
        break;
      case 4:
        out.propagationPolicy = stringOf(field, what);
        break;
      case 5:
        (out.dryRun ??= []).push(stringOf(field, what));
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * Decodes the body of a DELETE sent as `application/vnd.kubernetes.protobuf`: the `k8s\0` prefix,
 * a `runtime.Unknown`, and in its raw bytes the DeleteOptions (gracePeriodSeconds = 1,
 * preconditions = 2 {uid = 1, resourceVersion = 2}, orphanDependents = 3, propagationPolicy = 4,
 * dryRun = 5). An empty body means no options, as it does for the apiserver.
 *
 * @throws ProtobufDecodeError on a wrong prefix or a truncated or malformed message.
 */
export function decodeDeleteOptions(body: Uint8Array): DeleteOptionsWire {
  if (body.length === 0) return {};
  return decodeDeleteOptionsMessage(decodeUnknown(body).raw);
}
