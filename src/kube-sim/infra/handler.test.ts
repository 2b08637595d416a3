import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { ExtraHandler } from '../api/http-server.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { createTestRuntime } from '../testing/runtime.ts';
import { buildCluster } from './build.ts';
import { createInfraHandler } from './handler.ts';
import { condition, runningAndReady, smallScenario, startAllControllers } from './test-fixtures.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Serves an infrastructure handler on a plain HTTP server on loopback, as the apiserver mounts it. */
async function serve(handler: ExtraHandler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://kube-sim');
    handler(req, res, url)
      .then((handled) => {
        if (!handled) {
          res.writeHead(418);
          res.end();
        }
      })
      .catch((err: unknown) => {
        res.writeHead(599);
        res.end(String(err));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function client(base: () => string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${base()}${path}`, {
      method,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

function assertStatus(answer: Answer, code: number, messagePart?: string | RegExp): void {
  assert.equal(answer.status, code, JSON.stringify(answer.body));
  if (code >= 400) {
    assert.equal(answer.body['kind'], 'Status');
    assert.equal(answer.body['status'], 'Failure');
    assert.equal(answer.body['code'], code);
  }
  if (messagePart !== undefined) {
    const message = String(answer.body['message']);
    if (typeof messagePart === 'string') assert.ok(message.includes(messagePart), `message ${JSON.stringify(message)} should mention ${messagePart}`);
    else assert.match(message, messagePart);
  }
}

function image(pod: KubeObject): string {
  const containers = pod.spec?.['containers'];
  const first: unknown = Array.isArray(containers) ? containers[0] : undefined;
  return isRecord(first) && typeof first['image'] === 'string' ? first['image'] : '';
}

function nodeInfo(runtime: TestRuntime, name: string): Record<string, unknown> {
  const info = runtime.store.get('core/nodes', undefined, name)?.status?.['nodeInfo'];
  return isRecord(info) ? info : {};
}

describe('infrastructure API', () => {
  let runtime: TestRuntime;
  let stopControllers: () => void;
  let server: Server;
  let url = '';
  const unavailable: { ms: number; step: string }[] = [];
  const call = client(() => url);

  before(async () => {
    runtime = createTestRuntime();
    stopControllers = startAllControllers(runtime);
    const scenario = smallScenario();
    await buildCluster(runtime, scenario, { settleTimeoutMs: 10_000 });
    const handler = createInfraHandler({
      runtime,
      scenario,
      setUnavailableFor: (ms) => {
        const running = [...runtime.machines.values()].find((m) => m.role === 'control-plane');
        unavailable.push({ ms, step: running?.components?.['kube-apiserver'] ?? '' });
      },
    });
    ({ server, url } = await serve(handler));
  });
  after(async () => {
    stopControllers();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('GET /sim/v1/topology shows the control plane and the pools', async () => {
    const answer = await call('GET', '/sim/v1/topology');
    assertStatus(answer, 200);
    assert.equal(answer.body['kubernetesVersion'], '1.30.4');
    const cp = answer.body['controlPlane'] as Record<string, unknown>[];
    assert.equal(cp.length, 1);
    assert.equal(cp[0]?.['name'], 'control-plane-0');
    assert.deepEqual(cp[0]?.['components'], { etcd: '3.5.15', 'kube-apiserver': '1.30.4', 'kube-controller-manager': '1.30.4', 'kube-scheduler': '1.30.4' });
    assert.equal(cp[0]?.['state'], 'running');
    const pools = answer.body['pools'] as { name: string; kubeletVersion: string; machineImage: string; nodes: Record<string, unknown>[] }[];
    assert.equal(pools.length, 1);
    assert.equal(pools[0]?.name, 'general');
    assert.equal(pools[0]?.kubeletVersion, '1.30.4');
    assert.deepEqual(pools[0]?.nodes.map((n) => n['name']).sort(), ['general-0', 'general-1', 'general-2']);
    assert.deepEqual(
      pools[0]?.nodes.find((n) => n['name'] === 'general-2'),
      { name: 'general-2', kubeletVersion: '1.30.4', machineImage: 'ubuntu-2204-kube-v1.30.4', state: 'running', health: 'not-ready' },
    );
  });

  it('answers unknown paths with 404 and wrong methods with 405, as Status objects', async () => {
    assertStatus(await call('GET', '/sim/v1/nope'), 404, 'GET /sim/v1/nope');
    assertStatus(await call('POST', '/sim/v1/topology', {}), 405);
    assertStatus(await call('POST', '/sim/v1/nodes/ghost/upgrade', { version: '1.30.4' }), 404, 'nodes "ghost" not found');
    assertStatus(await call('DELETE', '/sim/v1/nodes/ghost'), 404, 'ghost');
    assertStatus(await call('POST', '/sim/v1/pools/general/nodes', '{not json'), 400, 'not valid JSON');
    assertStatus(await call('DELETE', '/sim/v1/nodes/%E0%A4%A'), 400, 'not a valid percent-encoding');
  });

  it('POST /sim/v1/pools/<pool>/nodes boots a node that registers and becomes Ready', async () => {
    assertStatus(await call('POST', '/sim/v1/pools/nope/nodes', {}), 404, 'pool "nope" not found');
    assertStatus(await call('POST', '/sim/v1/pools/general/nodes', { version: 'latest' }), 400, 'field "version"');
    assertStatus(await call('POST', '/sim/v1/pools/general/nodes', { size: 3 }), 400, 'field "size"');
    assertStatus(await call('POST', '/sim/v1/pools/general/nodes', { name: 'general-0' }), 409, 'already exists');
    assertStatus(await call('POST', '/sim/v1/pools/general/nodes', { version: '1.31.0' }), 422, 'newer than kube-apiserver');
    const answer = await call('POST', '/sim/v1/pools/general/nodes', {});
    assertStatus(answer, 201);
    assert.equal(answer.body['name'], 'general-3');
    assert.equal(answer.body['pool'], 'general');
    assert.equal(answer.body['kubeletVersion'], '1.30.4');
    await waitFor(() => condition(runtime.store.get('core/nodes', undefined, 'general-3'), 'Ready')?.['status'] === 'True', { message: 'general-3 Ready' });
    assert.equal(runtime.machines.get('general-3')?.state, 'running');
    assert.equal(runtime.store.get('core/nodes', undefined, 'general-3')?.metadata.labels?.['node-class'], 'general');
  });

  it('POST /sim/v1/nodes/<name>/replace boots a new node once per idempotency key; the old one stays', async () => {
    const body = { version: '1.30.4', machineImage: 'ubuntu-2204-kube-v1.30.4-r2', idempotencyKey: 'replace-general-1' };
    const first = await call('POST', '/sim/v1/nodes/general-1/replace', body);
    assertStatus(first, 202);
    const newNode = first.body['newNode'] as Record<string, unknown>;
    const newName = String(newNode['name']);
    assert.match(newName, /^general-[0-9a-f]{5}$/);
    assert.equal(newNode['machineImage'], 'ubuntu-2204-kube-v1.30.4-r2');
    const machines = runtime.machines.size;
    const again = await call('POST', '/sim/v1/nodes/general-1/replace', body);
    assert.equal(again.status, 202);
    assert.deepEqual(again.body, first.body);
    assert.equal(runtime.machines.size, machines, 'no second machine');
    assertStatus(await call('POST', '/sim/v1/nodes/general-1/replace', { ...body, version: '1.30.3' }), 409, 'replace-general-1');
    assert.ok(runtime.machines.has('general-1'), 'the old node stays until the caller deletes it');
    await waitFor(() => condition(runtime.store.get('core/nodes', undefined, newName), 'Ready')?.['status'] === 'True', { message: `${newName} Ready` });
    const topology = await call('GET', '/sim/v1/topology');
    const pool = (topology.body['pools'] as Record<string, unknown>[])[0];
    assert.equal(pool?.['machineImage'], 'ubuntu-2204-kube-v1.30.4-r2', 'the pool now creates machines with the new image');
  });

  it('POST /sim/v1/node-batches/replace and /delete answer each item as its single call would, in order', async () => {
    const machines = runtime.machines.size;
    // general-1's item repeats the single call above under its key: the same reply, no machine made.
    const single = { version: '1.30.4', machineImage: 'ubuntu-2204-kube-v1.30.4-r2', idempotencyKey: 'replace-general-1' };
    const items = [
      { node: 'general-0', version: '1.30.4', idempotencyKey: 'batch-general-0' },
      { node: 'general-1', ...single },
      { node: 'gone-0', version: '1.30.4', idempotencyKey: 'batch-gone-0' },
    ];
    const answer = await call('POST', '/sim/v1/node-batches/replace', { items });
    assertStatus(answer, 200);
    const replies = answer.body['items'] as { code: number; body: Record<string, unknown> }[];
    assert.deepEqual(replies.map((r) => r.code), [202, 202, 404]);
    assert.equal(replies[0]?.body['replaces'], 'general-0');
    const again = await call('POST', '/sim/v1/nodes/general-1/replace', single);
    assert.deepEqual(replies[1]?.body, again.body, "general-1's first reply");
    assert.match(String(replies[2]?.body['message']), /gone-0/);
    assert.equal(runtime.machines.size, machines + 1, 'one machine made: general-0 the only new replacement');
    const repeated = await call('POST', '/sim/v1/node-batches/replace', { items: items.slice(0, 1) });
    assert.deepEqual((repeated.body['items'] as unknown[])[0], replies[0], 'a batch sent again gets its first replies');
    assert.equal(runtime.machines.size, machines + 1, 'and makes nothing');

    const made = String((replies[0]?.body['newNode'] as Record<string, unknown>)['name']);
    const deleted = await call('POST', '/sim/v1/node-batches/delete', { nodes: [made, 'gone-0'] });
    assertStatus(deleted, 200);
    assert.deepEqual((deleted.body['items'] as { code: number }[]).map((r) => r.code), [200, 404]);
    assert.equal(runtime.machines.has(made), false);
    assertStatus(await call('POST', '/sim/v1/node-batches/delete', { nodes: [] }), 400, 'field "nodes"');
    assertStatus(await call('POST', '/sim/v1/node-batches/replace', { items: 'general-0' }), 400, 'field "items"');
  });

  it('DELETE /sim/v1/nodes/<name> removes the node; pod GC deletes its pods and controllers replace them', async () => {
    const before = runtime.store.byIndex('core/pods', 'spec.nodeName', 'general-1');
    assert.ok(before.length > 0, 'general-1 runs pods');
    const answer = await call('DELETE', '/sim/v1/nodes/general-1');
    assertStatus(answer, 200);
    assert.equal(answer.body['state'], 'stopped');
    assert.equal(runtime.store.get('core/nodes', undefined, 'general-1'), undefined);
    assert.equal(runtime.machines.has('general-1'), false);
    await waitFor(() => runtime.store.byIndex('core/pods', 'spec.nodeName', 'general-1').length === 0, { message: 'pods of general-1 collected' });
    await waitFor(() => {
      const web = runtime.store.list('core/pods', { namespace: 'shop', filter: (p) => p.metadata.labels?.['app'] === 'web' }).items;
      return web.filter((p) => runningAndReady(p) && !p.metadata.deletionTimestamp).length >= 2 && web.length >= 3;
    }, { message: 'web back to 3 ready pods' });
  });

  it('POST /sim/v1/nodes/<name>/upgrade restarts the kubelet at the new version', async () => {
    assertStatus(await call('POST', '/sim/v1/nodes/general-0/upgrade', { version: '1.31.0' }), 422, 'newer than kube-apiserver');
    assertStatus(await call('POST', '/sim/v1/nodes/general-0/upgrade', {}), 400, 'field "version": required');
    const answer = await call('POST', '/sim/v1/nodes/general-0/upgrade', { version: '1.30.3', idempotencyKey: 'up-general-0' });
    assertStatus(answer, 202);
    const id = String(answer.body['id']);
    assert.equal(answer.body['kind'], 'node-upgrade');
    await waitFor(() => runtime.machines.get('general-0')?.kubeletVersion === '1.30.3', { message: 'node upgrade done' });
    const op = await call('GET', `/sim/v1/operations/${id}`);
    assert.equal(op.body['state'], 'succeeded');
    assert.equal(nodeInfo(runtime, 'general-0')['kubeletVersion'], 'v1.30.3');
    assert.equal(condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['status'], 'True');
  });

  let snapshotId = '';
  it('POST /sim/v1/snapshots takes a snapshot, and fails with the snapshotFailure fault', async () => {
    const faulty = await call('PUT', '/sim/v1/faults', { snapshotFailure: true });
    assertStatus(faulty, 200);
    assertStatus(await call('POST', '/sim/v1/snapshots', { name: 'before' }), 500, 'snapshotFailure');
    assertStatus(await call('PUT', '/sim/v1/faults', { snapshotFailure: false }), 200);
    const answer = await call('POST', '/sim/v1/snapshots', { name: 'before-upgrade' });
    assertStatus(answer, 201);
    snapshotId = String(answer.body['id']);
    assert.equal(answer.body['name'], 'before-upgrade');
    assert.ok(Number(answer.body['sizeBytes']) > 1000);
    assert.ok(Number(answer.body['revision']) > 0);
    const list = await call('GET', '/sim/v1/snapshots');
    assert.deepEqual((list.body['items'] as Record<string, unknown>[]).map((s) => s['id']), [snapshotId]);
  });

  it('refuses control-plane upgrades that break the version skew policy with 422', async () => {
    assertStatus(await call('POST', '/sim/v1/control-plane/control-plane-0/upgrade', { version: '1.32.0' }), 422, 'skipping minor versions');
    assertStatus(await call('POST', '/sim/v1/control-plane/control-plane-0/upgrade', { version: '1.30.2' }), 422, 'more than one patch');
    assertStatus(await call('POST', '/sim/v1/control-plane/control-plane-0/upgrade', { version: '1.29.8' }), 422, 'minor version downgrade');
    assertStatus(await call('POST', '/sim/v1/control-plane/general-0/upgrade', { version: '1.31.0' }), 400, 'not a control-plane node');
    assertStatus(await call('POST', '/sim/v1/nodes/general-0/replace', { version: '1.31.0' }), 422, 'newer than kube-apiserver');
  });

  it('upgrades a control-plane node component by component, with a 503 window for the only apiserver', async () => {
    assertStatus(await call('PUT', '/sim/v1/timings', { componentRestart: 5, apiUnavailable: 40 }), 200);
    const apiserverBefore = runtime.store.mustGet('core/pods', 'kube-system', 'kube-apiserver-control-plane-0');
    const etcdBefore = runtime.store.mustGet('core/pods', 'kube-system', 'etcd-control-plane-0');
    const body = { version: '1.31.0', idempotencyKey: 'cp-1.31' };
    const answer = await call('POST', '/sim/v1/control-plane/control-plane-0/upgrade', body);
    assertStatus(answer, 202);
    const id = String(answer.body['id']);
    assert.equal(answer.body['state'], 'running');
    const again = await call('POST', '/sim/v1/control-plane/control-plane-0/upgrade', body);
    assert.equal(again.body['id'], id, 'same idempotency key, same operation');
    await waitFor(() => runtime.machines.get('control-plane-0')?.kubeletVersion === '1.31.0', { message: 'control-plane upgrade done' });
    const op = await call('GET', `/sim/v1/operations/${id}`);
    assert.equal(op.body['state'], 'succeeded', JSON.stringify(op.body));
    assert.equal(op.body['step'], 'done');
    assert.deepEqual(unavailable, [{ ms: 40, step: '1.30.4' }], 'one 503 window, while the old apiserver restarts');
    const machine = runtime.machines.get('control-plane-0');
    assert.deepEqual(machine?.components, { etcd: '3.5.15', 'kube-apiserver': '1.31.0', 'kube-controller-manager': '1.31.0', 'kube-scheduler': '1.31.0' });
    const apiserver = runtime.store.mustGet('core/pods', 'kube-system', 'kube-apiserver-control-plane-0');
    assert.equal(image(apiserver), 'registry.k8s.io/kube-apiserver:v1.31.0');
    assert.notEqual(apiserver.metadata.uid, apiserverBefore.metadata.uid, 'a recreated mirror pod has a new UID');
    assert.ok(runningAndReady(apiserver));
    assert.equal(image(runtime.store.mustGet('core/pods', 'kube-system', 'kube-scheduler-control-plane-0')), 'registry.k8s.io/kube-scheduler:v1.31.0');
    const etcd = runtime.store.mustGet('core/pods', 'kube-system', 'etcd-control-plane-0');
    assert.equal(etcd.metadata.uid, etcdBefore.metadata.uid, 'etcd 3.5.15 serves 1.31 too: kubeadm leaves it alone');
    assert.equal(nodeInfo(runtime, 'control-plane-0')['kubeletVersion'], 'v1.31.0');
    const topology = await call('GET', '/sim/v1/topology');
    assert.equal(topology.body['kubernetesVersion'], '1.31.0');
    assertStatus(await call('PUT', '/sim/v1/timings', { componentRestart: 0, apiUnavailable: 0 }), 200);
  });

  it('POST /sim/v1/snapshots/<id>/restore puts the objects and the machine versions back', async () => {
    assertStatus(await call('DELETE', '/sim/v1/nodes/general-3'), 200);
    const web = runtime.store.mustGet('apps/deployments', 'shop', 'web');
    runtime.registry.delete(kindDef('Deployment'), 'shop', 'web');
    assert.equal(runtime.store.get('apps/deployments', 'shop', 'web'), undefined);
    assertStatus(await call('POST', '/sim/v1/snapshots/snap-nope/restore'), 404, 'snap-nope');
    const answer = await call('POST', `/sim/v1/snapshots/${snapshotId}/restore`);
    assertStatus(answer, 200);
    assert.equal(answer.body['id'], snapshotId);
    const restored = runtime.store.mustGet('apps/deployments', 'shop', 'web');
    assert.equal(restored.metadata.uid, web.metadata.uid);
    const cp = runtime.machines.get('control-plane-0');
    assert.deepEqual(cp?.components, { etcd: '3.5.15', 'kube-apiserver': '1.30.4', 'kube-controller-manager': '1.30.4', 'kube-scheduler': '1.30.4' });
    assert.equal(cp?.kubeletVersion, '1.30.4');
    assert.equal(image(runtime.store.mustGet('core/pods', 'kube-system', 'kube-apiserver-control-plane-0')), 'registry.k8s.io/kube-apiserver:v1.30.4');
    assert.equal(runtime.machines.get('general-0')?.kubeletVersion, '1.30.3', 'upgraded before the snapshot: stays');
    const topology = await call('GET', '/sim/v1/topology');
    assert.equal(topology.body['kubernetesVersion'], '1.30.4');
    await waitFor(() => {
      const pods = runtime.store.list('core/pods', { namespace: 'shop', filter: (p) => p.metadata.labels?.['app'] === 'web' }).items;
      return pods.filter((p) => runningAndReady(p) && !p.metadata.deletionTimestamp).length >= 2;
    }, { message: 'web ready again' });
  });

  it('GET/PUT /sim/v1/faults reads and changes the faults, naming a bad field', async () => {
    const initial = await call('GET', '/sim/v1/faults');
    assertStatus(initial, 200);
    assert.deepEqual(initial.body, {
      apiErrorRate: 0,
      apiLatencyMs: 0,
      nodesNeverReady: [],
      evictionRefused: [],
      snapshotFailure: false,
      containerFaults: [],
      dropWatchesEveryMs: null,
    });
    assertStatus(await call('PUT', '/sim/v1/faults', { apiErrorRate: 2 }), 400, 'field "apiErrorRate"');
    assertStatus(await call('PUT', '/sim/v1/faults', { evictionRefused: [{ namespace: 'shop' }] }), 400, 'field "evictionRefused[0]"');
    assertStatus(await call('PUT', '/sim/v1/faults', { chaos: true }), 400, 'field "chaos"');
    assertStatus(
      await call('PUT', '/sim/v1/faults', { containerFaults: [{ image: 'x', failure: 'boom' }] }),
      400,
      'field "containerFaults[0].failure": must be one of image-pull, crash-loop, not-ready',
    );
    const rules = await call('PUT', '/sim/v1/faults', { containerFaults: [{ image: '*:broken', failure: 'image-pull' }] });
    assertStatus(rules, 200);
    assert.deepEqual(rules.body['containerFaults'], [{ image: '*:broken', failure: 'image-pull' }]);
    assert.deepEqual(runtime.faults.containerFaults, [{ image: '*:broken', failure: 'image-pull' }]);
    const changed = await call('PUT', '/sim/v1/faults', {
      apiErrorRate: 0.25,
      apiLatencyMs: 5,
      nodesNeverReady: ['general/*'],
      evictionRefused: [{ namespace: 'shop', name: 'web' }],
      dropWatches: true,
    });
    assertStatus(changed, 200);
    assert.equal(changed.body['apiErrorRate'], 0.25);
    assert.equal(typeof changed.body['droppedWatches'], 'number');
    assert.equal(runtime.faults.errorRate, 0.25);
    assert.equal(runtime.faults.latencyMs, 5);
    assert.deepEqual([...runtime.faults.nodesNeverReady], ['general/*']);
    assert.deepEqual(runtime.faults.evictionRefused, [{ namespace: 'shop', name: 'web' }]);
    // A machine added to the pool now never becomes Ready.
    const added = await call('POST', '/sim/v1/pools/general/nodes', { name: 'general-doomed' });
    assertStatus(added, 201);
    assert.equal(added.body['health'], 'never-ready');
    assertStatus(await call('PUT', '/sim/v1/faults', { apiErrorRate: 0, apiLatencyMs: 0, nodesNeverReady: [], evictionRefused: [], containerFaults: [] }), 200);
  });

  it('POST /sim/v1/nodes/<name>/fail flips a machine between NotReady and healthy', async () => {
    assertStatus(await call('POST', '/sim/v1/nodes/general-0/fail', { mode: 'broken' }), 400, 'field "mode"');
    const failed = await call('POST', '/sim/v1/nodes/general-0/fail', { mode: 'not-ready' });
    assertStatus(failed, 200);
    assert.equal(failed.body['health'], 'not-ready');
    await waitFor(() => condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['status'] !== 'True', { message: 'general-0 NotReady' });
    assertStatus(await call('POST', '/sim/v1/nodes/general-0/fail', { mode: 'healthy' }), 200);
    await waitFor(() => condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['status'] === 'True', { message: 'general-0 Ready again' });
  });

  it('POST /sim/v1/nodes/<name>/fail {"mode":"kubelet-down"} silences the kubelet: the node turns Unknown', async () => {
    const failed = await call('POST', '/sim/v1/nodes/general-0/fail', { mode: 'kubelet-down' });
    assertStatus(failed, 200);
    assert.equal(failed.body['health'], 'kubelet-down');
    await waitFor(() => condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['status'] === 'Unknown', { message: 'general-0 Unknown' });
    assert.equal(condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['reason'], 'NodeStatusUnknown');
    assertStatus(await call('POST', '/sim/v1/nodes/general-0/fail', { mode: 'healthy' }), 200);
    await waitFor(() => condition(runtime.store.get('core/nodes', undefined, 'general-0'), 'Ready')?.['status'] === 'True', { message: 'general-0 Ready again' });
  });

  it('GET/PUT /sim/v1/timings', async () => {
    const timings = await call('GET', '/sim/v1/timings');
    assertStatus(timings, 200);
    assert.equal(timings.body['podStart'], 0);
    assertStatus(await call('PUT', '/sim/v1/timings', { podStart: -1 }), 400, 'field "podStart"');
    assertStatus(await call('PUT', '/sim/v1/timings', { warpSpeed: 1 }), 400, 'field "warpSpeed"');
    const changed = await call('PUT', '/sim/v1/timings', { podStart: 25 });
    assert.equal(changed.body['podStart'], 25);
    assert.equal(runtime.timings.podStart, 25);
    assertStatus(await call('PUT', '/sim/v1/timings', { podStart: 0 }), 200);
  });

  it('GET /sim/v1/availability is 404 without a monitor', async () => {
    assertStatus(await call('GET', '/sim/v1/availability'), 404, 'availability monitor');
  });
});

describe('infrastructure API on an HA control plane', () => {
  it('upgrades one of three control-plane nodes without a 503 window, and serves the availability report', async () => {
    const runtime = createTestRuntime();
    const stop = startAllControllers(runtime);
    const scenario = { ...smallScenario(), workloads: [], legacyObjects: [] };
    scenario.controlPlane = { ...scenario.controlPlane, nodes: 3 };
    scenario.faults = { ...scenario.faults, nodesNotReady: [] };
    const calls: number[] = [];
    const { server, url } = await serve(
      createInfraHandler({ runtime, scenario, setUnavailableFor: (ms) => calls.push(ms), availability: { report: () => ({ workloads: [] }) } }),
    );
    const call = client(() => url);
    try {
      await buildCluster(runtime, scenario, { settleTimeoutMs: 10_000 });
      const answer = await call('POST', '/sim/v1/control-plane/control-plane-1/upgrade', { version: '1.31.1' });
      assertStatus(answer, 202);
      await waitFor(() => runtime.machines.get('control-plane-1')?.kubeletVersion === '1.31.1', { message: 'upgrade done' });
      assert.deepEqual(calls, [], 'the other apiservers keep serving');
      const topology = await call('GET', '/sim/v1/topology');
      assert.equal(topology.body['kubernetesVersion'], '1.30.4', 'the lowest apiserver is what every client can count on');
      // The other two may not jump ahead: 1.32 is two minors past 1.30 apiservers.
      assertStatus(await call('POST', '/sim/v1/control-plane/control-plane-1/upgrade', { version: '1.32.0' }), 422, 'within one minor');
      const availability = await call('GET', '/sim/v1/availability');
      assertStatus(availability, 200);
      assert.deepEqual(availability.body, { workloads: [] });
    } finally {
      stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

