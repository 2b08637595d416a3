/**
 * What the API server does with the bodies of writes, at the HTTP level: media types (JSON, YAML, protobuf; 415
 * otherwise), field validation (Warn by default, Strict, Ignore; unknown and duplicate fields), and the OpenAPI
 * endpoints (v2, the v3 index and hashed documents, 406 for a protobuf-only Accept).
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { api, bodyCount, startFromYaml } from '../helpers/sim.ts';

interface Reply {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** A request with a binary body (the shared `api` helper sends text). */
function raw(cluster: SimCluster, method: string, path: string, body: Buffer, contentType: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${cluster.url}${path}`,
      {
        method,
        ca: cluster.caCertPem,
        headers: { Authorization: `Bearer ${cluster.token}`, Accept: 'application/json', 'Content-Type': contentType },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function warnings(reply: Reply): string[] {
  const h = reply.headers['warning'];
  // Node joins repeated headers with ", ": split on the boundary between two warn-values.
  return h === undefined ? [] : String(h).split(/, (?=299 )/);
}

/** A protobuf ConfigMap: the k8s\0 prefix, runtime.Unknown {typeMeta 1, raw 2}, ConfigMap {metadata 1 {name 1}, data 2}. */
function protobufConfigMap(name: string, data: Record<string, string>): Buffer {
  const field = (n: number, payload: Buffer): Buffer =>
    Buffer.concat([Buffer.from([(n << 3) | 2, payload.length]), payload]);
  const text = (n: number, s: string): Buffer => field(n, Buffer.from(s));
  const configMap = Buffer.concat([
    field(1, text(1, name)),
    ...Object.entries(data).map(([k, v]) => field(2, Buffer.concat([text(1, k), text(2, v)]))),
  ]);
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    field(1, Buffer.concat([text(1, 'v1'), text(2, 'ConfigMap')])),
    field(2, configMap),
  ]);
}

describe('kube-sim writes: media types, field validation, OpenAPI (1.30 cluster)', () => {
  let cluster: SimCluster;
  const configmaps = '/api/v1/namespaces/default/configmaps';

  before(async () => {
    cluster = await startFromYaml(
      'name: writes\nkubernetesVersion: 1.30.6\ncontrolPlane:\n  nodes: 1\npools:\n  - name: workers\n    nodes: 1\n',
    );
  });
  after(async () => cluster?.stop());

  it('reads protobuf bodies of creates and updates, and refuses media types it does not know with 415', async () => {
    const created = await raw(
      cluster,
      'POST',
      configmaps,
      protobufConfigMap('from-proto', { mode: 'fast' }),
      'application/vnd.kubernetes.protobuf',
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const stored = await api(cluster, 'GET', `${configmaps}/from-proto`);
    assert.deepEqual((stored.body as { data: unknown }).data, { mode: 'fast' });
    const updated = await raw(
      cluster,
      'PUT',
      `${configmaps}/from-proto`,
      protobufConfigMap('from-proto', { mode: 'slow' }),
      'application/vnd.kubernetes.protobuf',
    );
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.deepEqual((updated.body as { data: unknown }).data, { mode: 'slow' });
    const truncated = await raw(
      cluster,
      'POST',
      configmaps,
      protobufConfigMap('cut', { a: 'b' }).subarray(0, 20),
      'application/vnd.kubernetes.protobuf',
    );
    assert.equal(truncated.status, 400);
    assert.match((truncated.body as { message: string }).message, /truncated/);
    const cbor = await raw(cluster, 'POST', configmaps, Buffer.from([0xa0]), 'application/cbor');
    assert.equal(cbor.status, 415);
    assert.deepEqual(cbor.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
      reason: 'UnsupportedMediaType',
      code: 415,
    });
    // kube-sim's body counter in /metrics records each write by verb, code and media type, refused ones included.
    const counted = async (verb: string, contentType: string, code: number) =>
      bodyCount(cluster, { verb, resource: 'configmaps', content_type: contentType, code: String(code) });
    assert.deepEqual(
      [
        await counted('CREATE', 'application/vnd.kubernetes.protobuf', 201),
        await counted('UPDATE', 'application/vnd.kubernetes.protobuf', 200),
        await counted('CREATE', 'application/vnd.kubernetes.protobuf', 400),
        await counted('CREATE', 'application/cbor', 415),
      ],
      [1, 1, 1, 1],
    );
  });

  it('drops unknown and duplicate fields with a Warning by default, refuses them under Strict, is silent under Ignore', async () => {
    const body = '{"metadata":{"name":"warned","colour":"red"},"data":{"a":"1"},"data":{"a":"2"},"extra":true}';
    const warned = await api(cluster, 'POST', configmaps, body);
    assert.equal(warned.status, 201);
    assert.deepEqual(warnings(warned), [
      '299 - "duplicate field \\"data\\""',
      '299 - "unknown field \\"metadata.colour\\""',
      '299 - "unknown field \\"extra\\""',
    ]);
    const stored = (await api(cluster, 'GET', `${configmaps}/warned`)).body as Record<string, unknown>;
    assert.deepEqual(stored['data'], { a: '2' }, 'the last duplicate wins');
    assert.equal(stored['extra'], undefined);
    assert.equal((stored['metadata'] as Record<string, unknown>)['colour'], undefined);

    const strict = await api(cluster, 'POST', `${configmaps}?fieldValidation=Strict`, body.replace('warned', 'strict'));
    assert.equal(strict.status, 400);
    assert.equal(
      (strict.body as { message: string }).message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "data", unknown field "metadata.colour", unknown field "extra"',
    );
    assert.equal((await api(cluster, 'GET', `${configmaps}/strict`)).status, 404, 'nothing was stored');

    const ignored = await api(
      cluster,
      'POST',
      `${configmaps}?fieldValidation=Ignore`,
      body.replace('warned', 'ignored'),
    );
    assert.equal(ignored.status, 201);
    assert.deepEqual(warnings(ignored), []);
    assert.equal((ignored.body as Record<string, unknown>)['extra'], undefined);

    const bad = await api(cluster, 'POST', `${configmaps}?fieldValidation=Loud`, '{"metadata":{"name":"loud"}}');
    assert.equal(bad.status, 422);
    assert.match((bad.body as { message: string }).message, /fieldValidation: Unsupported value: "Loud"/);
  });

  it('checks the patched object: an unknown field in a merge patch warns, and Strict refuses it', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const created = await api(cluster, 'POST', path, {
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    const warned = await api(
      cluster,
      'PATCH',
      `${path}/web`,
      '{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"c","image":"nginx","imagePullPolicyy":"Always"}]}}}}',
      merge,
    );
    assert.equal(warned.status, 200);
    assert.deepEqual(warnings(warned), [
      '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolicyy\\""',
    ]);
    const strict = await api(
      cluster,
      'PATCH',
      `${path}/web?fieldValidation=Strict`,
      '{"spec":{"replicas":5,"paused":true,"pausd":true}}',
      merge,
    );
    assert.equal(strict.status, 400);
    assert.match((strict.body as { message: string }).message, /strict decoding error: unknown field "spec.pausd"/);
    const now = (await api(cluster, 'GET', `${path}/web`)).body as { spec: Record<string, unknown> };
    assert.equal(now.spec['replicas'], 3, 'the refused patch changed nothing');
  });

  it('serves OpenAPI v2 and v3 as JSON; 406 to a client that accepts only protobuf; a stale hash redirects', async () => {
    const v2 = await api(cluster, 'GET', '/openapi/v2');
    assert.equal(v2.status, 200);
    assert.ok((v2.body as { definitions: Record<string, unknown> }).definitions['io.k8s.api.apps.v1.Deployment']);
    const proto = await api(cluster, 'GET', '/openapi/v2', undefined, {
      Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    });
    assert.equal(proto.status, 406);
    const index = (await api(cluster, 'GET', '/openapi/v3')).body as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    assert.ok(!('apis/policy/v1beta1' in index.paths), 'not served by 1.30');
    const url = index.paths['apis/apps/v1']?.serverRelativeURL ?? '';
    assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    const doc = await api(cluster, 'GET', url);
    assert.equal(doc.status, 200);
    assert.equal(doc.headers['cache-control'], 'public, immutable');
    assert.ok(
      (doc.body as { components: { schemas: Record<string, unknown> } }).components.schemas[
        'io.k8s.api.apps.v1.Deployment'
      ],
    );
    const stale = await api(cluster, 'GET', '/openapi/v3/apis/apps/v1?hash=0000');
    assert.equal(stale.status, 301);
    assert.equal(stale.headers['location'], url);
    assert.equal((await api(cluster, 'GET', '/openapi/v3/apis/widgets/v1')).status, 404);
  });
});
