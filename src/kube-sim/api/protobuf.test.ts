import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufDecodeError, decodeDeleteOptions, decodeUnknown, isKubernetesProtobuf } from './protobuf.ts';

// A tiny protobuf encoder, written from the wire format spec, to build bodies by hand.

function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? byte : byte | 0x80);
  } while (v !== 0n);
  return out;
}

function key(field: number, wireType: number): number[] {
  return varint((field << 3) | wireType);
}

function varintField(field: number, value: bigint | number | boolean): number[] {
  return [...key(field, 0), ...varint(typeof value === 'boolean' ? (value ? 1 : 0) : value)];
}

function bytesField(field: number, payload: readonly number[] | Uint8Array): number[] {
  return [...key(field, 2), ...varint(payload.length), ...payload];
}

function stringField(field: number, text: string): number[] {
  return bytesField(field, new TextEncoder().encode(text));
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

function envelope(raw: number[], typeMeta = { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions' }): Buffer {
  const meta = [...stringField(1, typeMeta.apiVersion), ...stringField(2, typeMeta.kind)];
  return Buffer.from([
    ...MAGIC,
    ...bytesField(1, meta),
    ...bytesField(2, raw),
    ...stringField(3, ''),
    ...stringField(4, ''),
  ]);
}

function rejection(body: Uint8Array): ProtobufDecodeError {
  try {
    decodeDeleteOptions(body);
  } catch (err) {
    assert.ok(err instanceof ProtobufDecodeError, `expected ProtobufDecodeError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the body to be rejected');
}

describe('decodeDeleteOptions', () => {
  it('decodes every DeleteOptions field', () => {
    const preconditions = [...stringField(1, '0b5f2c1e-uid'), ...stringField(2, '4711')];
    const raw = [
      ...varintField(1, 30),
      ...bytesField(2, preconditions),
      ...varintField(3, true),
      ...stringField(4, 'Background'),
      ...stringField(5, 'All'),
      ...stringField(5, 'Other'),
    ];
    assert.deepEqual(decodeDeleteOptions(envelope(raw)), {
      gracePeriodSeconds: 30,
      preconditions: { uid: '0b5f2c1e-uid', resourceVersion: '4711' },
      orphanDependents: true,
      propagationPolicy: 'Background',
      dryRun: ['All', 'Other'],
    });
  });

  it('decodes what kubectl drain --disable-eviction sends: a grace period or nothing at all', () => {
    assert.deepEqual(decodeDeleteOptions(envelope(varintField(1, 0))), { gracePeriodSeconds: 0 });
    assert.deepEqual(decodeDeleteOptions(envelope([])), {});
    assert.deepEqual(decodeDeleteOptions(Buffer.alloc(0)), {}, 'an empty body means no options');
  });

  it('reads int64 values beyond 32 bits and negative ones', () => {
    assert.deepEqual(decodeDeleteOptions(envelope(varintField(1, 5_000_000_000))), {
      gracePeriodSeconds: 5_000_000_000,
    });
    const negative = varintField(1, -1n);
    assert.equal(negative.length, 11, 'a negative int64 takes a ten-byte varint after the key');
    assert.deepEqual(decodeDeleteOptions(envelope(negative)), { gracePeriodSeconds: -1 });
  });

  it('reads orphanDependents false as false', () => {
    assert.deepEqual(decodeDeleteOptions(envelope(varintField(3, false))), { orphanDependents: false });
  });

  it('skips fields it does not know, of every wire type', () => {
    const raw = [
      ...varintField(9, 12345),
      ...key(10, 1),
      ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...key(11, 5),
      ...[1, 2, 3, 4],
      ...stringField(12, 'ignored'),
      ...stringField(4, 'Foreground'),
    ];
    assert.deepEqual(decodeDeleteOptions(envelope(raw)), { propagationPolicy: 'Foreground' });
  });

  it('accepts a Uint8Array as well as a Buffer', () => {
    assert.deepEqual(decodeDeleteOptions(new Uint8Array(envelope(varintField(1, 5)))), { gracePeriodSeconds: 5 });
  });

  it('rejects a body without the k8s\\0 prefix', () => {
    assert.equal(
      rejection(Buffer.from('{"kind":"DeleteOptions"}')).message,
      'protobuf: body does not start with the k8s\\0 prefix (6b387300), found 7b226b69',
    );
    assert.match(rejection(Buffer.from([0x6b, 0x38])).message, /too short to hold the k8s\\0 prefix/);
  });

  it('rejects truncated messages', () => {
    const full = envelope([...varintField(1, 30), ...stringField(4, 'Background')]);
    for (const cut of [full.length - 1, full.length - 5, MAGIC.length + 1]) {
      assert.match(rejection(full.subarray(0, cut)).message, /truncated message|unexpected end of data/);
    }
    const danglingVarint = Buffer.from([...MAGIC, ...bytesField(2, [...key(1, 0), 0x80])]);
    assert.match(rejection(danglingVarint).message, /^protobuf: cannot decode DeleteOptions: unexpected end of data/);
  });

  it('rejects a field whose wire type does not fit it', () => {
    assert.equal(
      rejection(envelope(stringField(1, '30'))).message,
      'protobuf: cannot decode DeleteOptions: field 1 has unexpected wire type 2',
    );
    assert.match(rejection(envelope([...key(3, 3)])).message, /unsupported wire type 3 for field 3/);
  });
});

describe('decodeUnknown', () => {
  it('returns the type and the raw bytes of the envelope', () => {
    const unknown = decodeUnknown(envelope([8, 30], { apiVersion: 'v1', kind: 'DeleteOptions' }));
    assert.equal(unknown.apiVersion, 'v1');
    assert.equal(unknown.kind, 'DeleteOptions');
    assert.deepEqual([...unknown.raw], [8, 30]);
    assert.equal(unknown.contentEncoding, '');
    assert.equal(unknown.contentType, '');
  });
});

describe('isKubernetesProtobuf', () => {
  it('recognises the protobuf media type with or without parameters', () => {
    assert.equal(isKubernetesProtobuf('application/vnd.kubernetes.protobuf'), true);
    assert.equal(isKubernetesProtobuf('application/vnd.kubernetes.protobuf; charset=utf-8'), true);
    assert.equal(isKubernetesProtobuf('Application/VND.Kubernetes.Protobuf'), true);
    assert.equal(isKubernetesProtobuf('application/vnd.kubernetes.protobuf;stream=watch'), true);
  });

  it('rejects everything else', () => {
    assert.equal(isKubernetesProtobuf(undefined), false);
    assert.equal(isKubernetesProtobuf(''), false);
    assert.equal(isKubernetesProtobuf('application/json'), false);
    assert.equal(isKubernetesProtobuf('application/vnd.kubernetes.protobuf.extra'), false);
  });
});
