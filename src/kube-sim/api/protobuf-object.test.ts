import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufDecodeError } from './protobuf.ts';
import { decodeProtobufObject } from './protobuf-object.ts';

// A tiny protobuf encoder, from the wire format spec, to build bodies by hand: numbers below are the field numbers of
// Kubernetes' generated.proto, written out so the test checks the table rather than reading it.

type Bytes = number[];

function varint(value: bigint | number): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? byte : byte | 0x80);
  } while (v !== 0n);
  return out;
}
const key = (field: number, wireType: number): Bytes => varint((field << 3) | wireType);
const int = (field: number, value: bigint | number | boolean): Bytes => [
  ...key(field, 0),
  ...varint(typeof value === 'boolean' ? (value ? 1 : 0) : value),
];
const msg = (field: number, ...parts: Bytes[]): Bytes => {
  const payload = parts.flat();
  return [...key(field, 2), ...varint(payload.length), ...payload];
};
const str = (field: number, text: string): Bytes => msg(field, [...new TextEncoder().encode(text)]);
const entry = (field: number, k: string, value: Bytes): Bytes => msg(field, str(1, k), value);

function envelope(apiVersion: string, kind: string, raw: Bytes): Buffer {
  return Buffer.from([
    0x6b,
    0x38,
    0x73,
    0x00,
    ...msg(1, str(1, apiVersion), str(2, kind)),
    ...msg(2, raw),
    ...str(3, ''),
    ...str(4, ''),
  ]);
}

/** meta/v1 ObjectMeta: name 1, namespace 3, labels 11; empty strings as the Go encoder writes them. */
const objectMeta = (name: string, labels: Record<string, string> = {}): Bytes =>
  msg(
    1,
    str(1, name),
    str(2, ''),
    str(3, 'shop'),
    ...Object.entries(labels).map(([k, v]) => entry(11, k, str(2, v))),
    msg(8),
  );

describe('decodeProtobufObject', () => {
  it('decodes a Deployment as kubectl 1.33 create sends it, to the JSON a client would send', () => {
    const container = [
      ...str(1, 'nginx'),
      ...str(2, 'nginx:1.27'),
      ...str(3, 'nginx'),
      ...str(3, '-g'),
      ...msg(6, str(1, 'http'), int(3, 80), str(4, 'TCP')),
      ...msg(8, entry(1, 'cpu', msg(2, str(1, '500m'))), entry(2, 'memory', msg(2, str(1, '64Mi')))),
      // livenessProbe 10 { handler 1 (inlined) { httpGet 2 { path 1, port 2 (IntOrString: type 1, intVal 2) } } }
      ...msg(10, msg(1, msg(2, str(1, '/healthz'), msg(2, int(1, 0), int(2, 8080)), str(4, ''))), int(2, 0)),
      ...int(16, false),
    ];
    const podSpec = [
      ...msg(2, container),
      ...msg(1, str(1, 'cache'), msg(2, msg(2, str(1, ''), msg(2, str(1, '1Gi'))))),
      ...str(3, 'Always'),
    ];
    const spec = [
      ...int(1, 0), // replicas is a pointer: an explicit 0 is kept
      ...msg(2, entry(1, 'app', str(2, 'web'))),
      ...msg(3, objectMeta('', { app: 'web' }), msg(2, podSpec)),
      ...msg(4, str(1, 'RollingUpdate'), msg(2, msg(1, int(1, 1), str(3, '25%')), msg(2, int(1, 1), str(3, '25%')))),
    ];
    const body = envelope('apps/v1', 'Deployment', [...objectMeta('web', { app: 'web' }), ...msg(2, spec), ...msg(3)]);
    assert.deepEqual(decodeProtobufObject(body, 'apps.v1.Deployment'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { namespace: 'shop', labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'nginx',
                image: 'nginx:1.27',
                command: ['nginx', '-g'],
                ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
                resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
                livenessProbe: { httpGet: { port: 8080, path: '/healthz' } },
              },
            ],
            volumes: [{ name: 'cache', emptyDir: { sizeLimit: '1Gi' } }],
            restartPolicy: 'Always',
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      },
      status: {},
    });
  });

  it('reads byte maps as base64, times as RFC 3339, negative and packed numbers', () => {
    const secret = envelope('v1', 'Secret', [
      ...objectMeta('creds'),
      ...entry(2, 'token', msg(2, [...new TextEncoder().encode('s3cr3t')])),
      ...str(3, 'Opaque'),
    ]);
    assert.deepEqual(decodeProtobufObject(secret, 'core.v1.Secret'), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: 'shop' },
      data: { token: Buffer.from('s3cr3t').toString('base64') },
      type: 'Opaque',
    });
    // NodeStatus.conditions[].lastHeartbeatTime (Time 3); NodeSpec podCIDRs; an int64 below zero in a Pod's grace period.
    const node = envelope('v1', 'Node', [
      ...msg(1, str(1, 'n1'), msg(9, int(1, 1_700_000_000), int(2, 0))),
      ...msg(3, msg(4, str(1, 'Ready'), str(2, 'True'), msg(3, int(1, 1_700_000_000)))),
    ]);
    const decoded = decodeProtobufObject(node, 'core.v1.Node');
    assert.deepEqual(decoded['metadata'], { name: 'n1', deletionTimestamp: '2023-11-14T22:13:20Z' });
    assert.deepEqual(decoded['status'], {
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2023-11-14T22:13:20Z' }],
    });
    // PodSpec: terminationGracePeriodSeconds 4, securityContext 14 { supplementalGroups 4, one packed and one not }.
    const pod = envelope('v1', 'Pod', [
      ...msg(2, int(4, -5), msg(2, str(1, 'c')), msg(14, msg(4, varint(1000), varint(2000)), int(4, 3000))),
    ]);
    const podSpec = decodeProtobufObject(pod, 'core.v1.Pod')['spec'] as Record<string, unknown>;
    assert.equal(podSpec['terminationGracePeriodSeconds'], -5);
    assert.deepEqual(podSpec['securityContext'], { supplementalGroups: [1000, 2000, 3000] });
  });

  it('keeps the JSON of raw extensions (ControllerRevision.data)', () => {
    const raw = [...new TextEncoder().encode('{"spec":{"template":{"x":1}}}')];
    const body = envelope('apps/v1', 'ControllerRevision', [
      ...objectMeta('rev'),
      ...msg(2, msg(1, raw)),
      ...int(3, 2),
    ]);
    assert.deepEqual(decodeProtobufObject(body, 'apps.v1.ControllerRevision'), {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: 'rev', namespace: 'shop' },
      data: { spec: { template: { x: 1 } } },
      revision: 2,
    });
  });

  it("decodes an autoscaling/v1 Scale as client-go's UpdateScale sends it; a zero replicas is left out", () => {
    // Scale: metadata 1, spec 2 { replicas 1 }, status 3 { replicas 1, selector 2 }.
    const scale = (replicas: number) =>
      envelope('autoscaling/v1', 'Scale', [
        ...objectMeta('web'),
        ...msg(2, int(1, replicas)),
        ...msg(3, int(1, 2), str(2, 'app=web')),
      ]);
    const decoded = decodeProtobufObject(scale(3), 'autoscaling.v1.Scale');
    assert.deepEqual(
      { apiVersion: decoded.apiVersion, kind: decoded.kind, spec: decoded['spec'], status: decoded['status'] },
      { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 3 }, status: { replicas: 2, selector: 'app=web' } },
    );
    assert.deepEqual(decodeProtobufObject(scale(0), 'autoscaling.v1.Scale')['spec'], {});
  });

  it('refuses truncated bodies and bodies that are not protobuf', () => {
    const body = envelope('v1', 'ConfigMap', [...objectMeta('cm')]);
    assert.throws(
      () => decodeProtobufObject(body.subarray(0, body.length - 3), 'core.v1.ConfigMap'),
      ProtobufDecodeError,
    );
    assert.throws(
      () => decodeProtobufObject(Buffer.from('{"kind":"ConfigMap"}'), 'core.v1.ConfigMap'),
      /k8s\\0 prefix/,
    );
    const json = Buffer.from([0x6b, 0x38, 0x73, 0x00, ...msg(2, [0x7b, 0x7d]), ...str(4, 'application/json')]);
    assert.throws(() => decodeProtobufObject(json, 'core.v1.ConfigMap'), /carries "application\/json"/);
  });
});
