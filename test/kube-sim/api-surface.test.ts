/**
 * kube-sim's Kubernetes API over real HTTPS, as a client sees it: authentication, discovery per simulated version,
 * Status errors, optimistic concurrency, patches, graceful deletion, watch semantics (410, bookmarks, selector
 * transitions), Table replies and metrics. kubectl and client-node tests cover the happy paths; these pin the edges.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

const scenario = (version: string, extra = '') => `
name: api-${version.replace(/\./g, '-')}
kubernetesVersion: ${version}
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 2
workloads:
  - kind: Deployment
    name: web
    replicas: 2
    pdb:
      minAvailable: 1
timings:
  podStart: 50
  podTermination: 300
  nodeBoot: 50
${extra}`;

interface Status {
  kind: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: { causes?: { field?: string }[] };
}

/** Options of {@link watchLines}. */
interface WatchLinesOptions {
  /**
   * Called when the reply's headers arrive: the server flushes them in the same turn as it registers the watch, so
   * a write made after that reaches the stream.
   */
  onOpen?: () => void;
  /**
   * The name of an object the test writes last, as a marker: the read ends when its event arrives (it is not
   * returned), and fails if it does not arrive in `ms`. Events are delivered in order, so every event the
   * test's earlier writes caused came before it, and nothing else did.
   */
  endAt?: string;
}

/** Reads a watch stream for `ms` (or up to the `endAt` marker), returning its parsed lines. */
function watchLines(
  cluster: SimCluster,
  path: string,
  ms: number,
  options: WatchLinesOptions = {},
): Promise<{ status: number; events: { type: string; object: Record<string, unknown> }[] }> {
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.url}${path}`, { ca: cluster.caCertPem, headers: { Authorization: `Bearer ${cluster.token}` } }, (res) => {
      options.onOpen?.();
      let buf = '';
      const parsed = () => buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; object: Record<string, unknown> });
      const nameOf = (e: { object: Record<string, unknown> }) => (e.object['metadata'] as { name?: string } | undefined)?.name;
      const done = () => {
        clearTimeout(timer);
        const events = parsed();
        const marker = options.endAt === undefined ? -1 : events.findIndex((e) => nameOf(e) === options.endAt);
        if (options.endAt !== undefined && marker < 0) reject(new Error(`the marker ${options.endAt} never came: ${buf}`));
        else resolve({ status: res.statusCode ?? 0, events: marker < 0 ? events : events.slice(0, marker) });
      };
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        if (options.endAt !== undefined && buf.endsWith('\n') && parsed().some((e) => nameOf(e) === options.endAt)) {
          req.destroy();
          done();
        }
      });
      res.on('end', done);
      const timer = setTimeout(() => {
        req.destroy();
        done();
      }, ms);
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
    req.end();
  });
}

describe('kube-sim API surface (1.24 cluster)', () => {
  let cluster: SimCluster;
  before(async () => {
    cluster = await startFromYaml(
      scenario(
        '1.24.17',
        `legacyObjects:
  - apiVersion: policy/v1beta1
    kind: PodDisruptionBudget
    namespace: default
    name: old-pdb
    spec:
      minAvailable: 1
      selector:
        matchLabels:
          app: web
`,
      ),
    );
  });
  after(async () => cluster?.stop());

  it('answers 401 without the token, but /version and /healthz to anyone', async () => {
    const anonymous = { ...cluster, token: 'wrong' };
    const denied = await api(anonymous, 'GET', '/api/v1/pods');
    assert.equal(denied.status, 401);
    assert.equal((denied.body as Status).reason, 'Unauthorized');
    assert.equal((await api(anonymous, 'GET', '/version')).status, 200);
    const verbose = await api(anonymous, 'GET', '/readyz?verbose');
    assert.equal(verbose.status, 200);
    assert.match(String(verbose.body), /\[\+\]etcd ok/);
  });

  it('serves the API versions of its Kubernetes version, and counts deprecated calls', async () => {
    const policy = await api(cluster, 'GET', '/apis/policy');
    const versions = (policy.body as { versions: { version: string }[] }).versions.map((v) => v.version);
    assert.deepEqual(versions, ['v1', 'v1beta1']);
    const old = await api(cluster, 'GET', '/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets/old-pdb');
    assert.equal(old.status, 200);
    const body = old.body as { apiVersion: string; metadata: { annotations?: Record<string, string> } };
    assert.equal(body.apiVersion, 'policy/v1beta1');
    assert.match(body.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '', /"apiVersion":"policy\/v1beta1"/);
    const metrics = String((await api(cluster, 'GET', '/metrics', undefined, { Accept: 'text/plain' })).body);
    assert.match(metrics, /apiserver_requested_deprecated_apis\{group="policy",removed_release="1.25",resource="poddisruptionbudgets",subresource="",version="v1beta1"\} 1/);
    assert.match(metrics, /apiserver_request_total\{code="200",component="apiserver",dry_run="",group="policy",resource="poddisruptionbudgets",scope="resource",subresource="",verb="GET",version="v1beta1"\} 1/);
  });

  it('negotiates aggregated discovery v2 and v2beta1 as asked, plain otherwise', async () => {
    const accept = (v: string) => `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList,application/json`;
    const v2 = await api(cluster, 'GET', '/apis', undefined, { Accept: accept('v2') });
    assert.equal(v2.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal((v2.body as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2');
    const beta = await api(cluster, 'GET', '/apis', undefined, { Accept: accept('v2beta1') });
    assert.equal((beta.body as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2beta1');
    const plain = await api(cluster, 'GET', '/apis');
    assert.equal((plain.body as { kind: string }).kind, 'APIGroupList');
    const core = await api(cluster, 'GET', '/api/v1');
    const eviction = (core.body as { resources: { name: string; kind: string; group?: string; version?: string }[] }).resources.find((r) => r.name === 'pods/eviction');
    assert.deepEqual(eviction && { kind: eviction.kind, group: eviction.group, version: eviction.version }, { kind: 'Eviction', group: 'policy', version: 'v1' });
  });

  it('answers bad requests with the Status a real server sends, and stays up', async () => {
    const malformed = await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', '{"metadata": {');
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as Status).kind, 'Status');
    const unknown = await api(cluster, 'GET', '/api/v1/widgets');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as Status).message, 'the server could not find the requested resource');
    const selector = await api(cluster, 'GET', '/api/v1/pods?labelSelector=app%20in%20(web');
    assert.equal(selector.status, 400);
    const field = await api(cluster, 'GET', '/api/v1/pods?fieldSelector=spec.color%3Dblue');
    assert.equal((field.body as Status).message, 'field label not supported: spec.color');
    const media = await api(cluster, 'PATCH', '/api/v1/nodes/workers-0', '{}', { 'Content-Type': 'text/plain' });
    assert.equal(media.status, 415);
    // A create whose body claims another media type is refused, not read as JSON whatever it says.
    const xml = await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', '{"metadata":{"name":"xml"}}', { 'Content-Type': 'application/xml' });
    assert.equal(xml.status, 415);
    assert.equal((xml.body as Status).reason, 'UnsupportedMediaType');
    assert.equal((await api(cluster, 'GET', '/api/v1/namespaces/default/configmaps/xml')).status, 404, 'nothing was stored');
    const yaml = await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', 'metadata:\n  name: from-yaml\ndata:\n  a: "1"\n', { 'Content-Type': 'application/yaml' });
    assert.equal(yaml.status, 201, JSON.stringify(yaml.body));
    assert.deepEqual((yaml.body as { data: unknown }).data, { a: '1' });
    const invalid = await api(cluster, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'Bad_Name' },
      spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [] } } },
    });
    assert.equal(invalid.status, 422);
    const fields = ((invalid.body as Status).details?.causes ?? []).map((c) => c.field);
    assert.ok(fields.includes('metadata.name') && fields.includes('spec.template.spec.containers'), JSON.stringify(fields));
    const missingNs = await api(cluster, 'POST', '/api/v1/namespaces/nope/configmaps', { metadata: { name: 'x' } });
    assert.equal(missingNs.status, 404);
    assert.equal((missingNs.body as Status).message, 'namespaces "nope" not found');
    assert.equal((await api(cluster, 'GET', '/healthz')).status, 200);
  });

  it('refuses a stale update with 409 Conflict and applies merge, JSON and strategic patches', async () => {
    const created = await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'occ' }, data: { a: '1' } });
    const cm = created.body as { metadata: { resourceVersion: string }; data: Record<string, string> };
    assert.equal((await api(cluster, 'PUT', '/api/v1/namespaces/default/configmaps/occ', { ...cm, data: { a: '2' } })).status, 200);
    const stale = await api(cluster, 'PUT', '/api/v1/namespaces/default/configmaps/occ', { ...cm, data: { a: '3' } });
    assert.equal(stale.status, 409);
    assert.equal((stale.body as Status).reason, 'Conflict');
    const merged = await api(cluster, 'PATCH', '/api/v1/namespaces/default/configmaps/occ', { data: { b: 'x', a: null } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.deepEqual((merged.body as { data: unknown }).data, { b: 'x' });
    const json = await api(cluster, 'PATCH', '/api/v1/namespaces/default/configmaps/occ', [{ op: 'test', path: '/data/b', value: 'nope' }], { 'Content-Type': 'application/json-patch+json' });
    assert.equal(json.status, 422);
    const cordon = await api(cluster, 'PATCH', '/api/v1/nodes/workers-0', { spec: { unschedulable: true } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
    assert.equal((cordon.body as { spec: { unschedulable?: boolean } }).spec.unschedulable, true);
    const uncordon = await api(cluster, 'PATCH', '/api/v1/nodes/workers-0', { spec: { unschedulable: null } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
    assert.equal((uncordon.body as { spec: { unschedulable?: boolean } }).spec.unschedulable, undefined);
  });

  it('deletes a running pod gracefully: deletionTimestamp first, gone after the kubelet finishes', async () => {
    const list = await api(cluster, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    const pod = await waitFor(async () => {
      const items = ((await api(cluster, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body as { items: { metadata: { name: string; uid: string }; status: { phase: string } }[] }).items;
      return items.find((p) => p.status.phase === 'Running');
    }, { message: 'a Running web pod', timeoutMs: 20_000 });
    assert.ok(list.status === 200);
    const deleted = await api(cluster, 'DELETE', `/api/v1/namespaces/default/pods/${pod.metadata.name}`);
    assert.equal(deleted.status, 200);
    const marked = deleted.body as { metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } };
    assert.ok(marked.metadata.deletionTimestamp, 'graceful: the pod is marked, not gone');
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 30);
    await waitFor(async () => ((await api(cluster, 'GET', `/api/v1/namespaces/default/pods/${pod.metadata.name}`)).status === 404 ? true : undefined), { message: 'the kubelet finishes the deletion', timeoutMs: 10_000 });
  });

  it('replies with a Table when kubectl asks for one', async () => {
    const res = await api(cluster, 'GET', '/api/v1/nodes', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    const table = res.body as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.slice(0, 5).map((c) => c.name), ['Name', 'Status', 'Roles', 'Age', 'Version']);
    assert.equal(table.rows.length, 3);
  });
});

describe('kube-sim watch semantics', () => {
  let cluster: SimCluster;
  before(async () => {
    cluster = await startFromYaml(scenario('1.26.15'));
  });
  after(async () => cluster?.stop());

  it('no longer serves APIs removed in its version', async () => {
    assert.equal((await api(cluster, 'GET', '/apis/policy/v1beta1')).status, 404);
    assert.equal((await api(cluster, 'GET', '/apis/batch/v1beta1/cronjobs')).status, 404);
  });

  it('sends synthetic ADDED events without a resourceVersion, then live events', async () => {
    await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'existing' } });
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const pending = watchLines(cluster, '/api/v1/namespaces/default/configmaps?watch=true', 5_000, { onOpen: opened, endAt: 'end-of-live' });
    await open;
    await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'live' } });
    await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'end-of-live' } });
    const { status, events } = await pending;
    assert.equal(status, 200);
    assert.deepEqual(
      events.map((e) => `${e.type} ${(e.object['metadata'] as { name: string }).name}`),
      // kube-root-ca.crt: the root CA publisher's ConfigMap, in every namespace (synthetic events go in key order).
      ['ADDED existing', 'ADDED kube-root-ca.crt', 'ADDED live'],
    );
  });

  it('answers a too-old resourceVersion with 200 and an ERROR event (410 Expired)', async () => {
    await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'old' } });
    cluster.runtime.store.compact();
    const { status, events } = await watchLines(cluster, '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2', 500);
    assert.equal(status, 200);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'ERROR');
    assert.equal((events[0]?.object as unknown as Status).code, 410);
    assert.match((events[0]?.object as unknown as Status).message, /too old resource version: 2/);
  });

  it('sends BOOKMARKs only when allowed, and turns selector transitions into ADDED/DELETED', async () => {
    const created = await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'flip', labels: { tier: 'a' } } });
    const rv = (created.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const pending = watchLines(cluster, `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=tier%3Db&resourceVersion=${rv}`, 5_000, {
      onOpen: opened,
      endAt: 'end-of-flip',
    });
    await open;
    const patch = (tier: string) => api(cluster, 'PATCH', '/api/v1/namespaces/default/configmaps/flip', { metadata: { labels: { tier } } }, { 'Content-Type': 'application/merge-patch+json' });
    await patch('b');
    await patch('c');
    await api(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'end-of-flip', labels: { tier: 'b' } } });
    const { events } = await pending;
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'DELETED']);
    const initial = await watchLines(cluster, '/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&timeoutSeconds=1', 1500);
    const bookmark = initial.events.find((e) => e.type === 'BOOKMARK');
    assert.equal((bookmark?.object['metadata'] as { annotations?: Record<string, string> } | undefined)?.annotations?.['k8s.io/initial-events-end'], 'true');
    const noBookmarks = await watchLines(cluster, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`, 1500);
    assert.ok(noBookmarks.events.every((e) => e.type !== 'BOOKMARK'));
  });

  it('ends a watch at timeoutSeconds', async () => {
    const started = Date.now();
    const { status } = await watchLines(cluster, '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1', 5000);
    assert.equal(status, 200);
    assert.ok(Date.now() - started < 3000, 'the server closed the stream after about a second');
  });
});
