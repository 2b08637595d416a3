/**
 * The sim provider against a real kube-sim over HTTPS (the kubeconfig's CA and token): topology, snapshots and
 * restore, control-plane upgrades through the apiserver's 503 window, in-place upgrades, rolling replacement with
 * idempotency keys, deletion, faults, errors and cancellation. Each assertion reads the cluster back (the
 * infrastructure API or the Kubernetes API), not only what the provider returned.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';
import type { ControlPlaneProgress, Provider, Topology } from '../../engine/provider.ts';
import type { SimCluster } from '../../kube-sim/sim-cluster.ts';
import { api, startFromYaml } from '../../../test/helpers/sim.ts';
import { providerFor } from '../registry.ts';
import { createSimProvider } from './sim-provider.ts';
import type { SimProvider } from './sim-provider.ts';

const SCENARIO = `
name: provider
kubernetesVersion: '1.30.4'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 3 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { maxUnavailable: 1 } }
timings:
  zeroDelay: true
  nodeBoot: 200ms
  componentRestart: 80ms
  # Longer than the rest of the control-plane upgrade: the API still answers 503 when the operation ends.
  apiUnavailable: 1500ms
`;

const HA_SCENARIO = `
name: provider-ha
kubernetesVersion: '1.30.4'
controlPlane: { nodes: 3 }
pools:
  - { name: workers, nodes: 1 }
timings: { zeroDelay: true, componentRestart: 30ms }
`;

const never = (): AbortSignal => new AbortController().signal;

function cpNode(topology: Topology, node: string): Topology['controlPlane'][number] {
  const found = topology.controlPlane.find((n) => n.node === node);
  assert.ok(found, `control-plane node ${node} in ${JSON.stringify(topology.controlPlane)}`);
  return found;
}

function poolNodes(topology: Topology, pool: string): Topology['pools'][number]['nodes'] {
  const found = topology.pools.find((p) => p.name === pool);
  assert.ok(found, `pool ${pool}`);
  return found.nodes;
}

async function gitVersion(cluster: SimCluster): Promise<string> {
  const res = await api(cluster, 'GET', '/version');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return String((res.body as { gitVersion: unknown }).gitVersion);
}

async function kubeletOf(cluster: SimCluster, node: string): Promise<string | undefined> {
  const res = await api(cluster, 'GET', `/api/v1/nodes/${node}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { status: { nodeInfo: { kubeletVersion: string } } }).status.nodeInfo.kubeletVersion;
}

/** Asserts that `promise` rejects with a ProviderError of `code` whose message matches `message`. */
async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  message: RegExp,
  fields: Partial<ProviderError> = {},
): Promise<ProviderError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ProviderError, `expected a ProviderError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.startsWith(`${code}: `), caught.message);
  assert.match(caught.message, message);
  for (const [k, v] of Object.entries(fields))
    assert.equal((caught as unknown as Record<string, unknown>)[k], v, `${k} of ${caught.message}`);
  return caught;
}

describe('sim provider: one control-plane node and a pool of three', () => {
  let cluster: SimCluster;
  let provider: SimProvider;
  let dir: string;
  let snapshotId: string;

  before(async () => {
    cluster = await startFromYaml(SCENARIO);
    dir = await mkdtemp(join(tmpdir(), 'kup-sim-provider-'));
    const path = join(dir, 'kubeconfig');
    await writeFile(path, cluster.kubeconfig, { mode: 0o600 });
    provider = createSimProvider({ kubeconfigPath: path, pollIntervalMs: 20 });
  });
  after(async () => {
    provider?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('describes the topology with versions, components and images', async () => {
    assert.deepEqual(provider.capabilities, { replace: true, inPlace: true, snapshot: true, blueGreen: true });
    const topology = await provider.describeTopology(never());
    assert.equal(topology.controlPlane.length, 1);
    const cp = cpNode(topology, 'control-plane-0');
    assert.equal(cp.kubeletVersion, '1.30.4');
    assert.equal(cp.components['kube-apiserver'], '1.30.4');
    assert.equal(cp.components['kube-scheduler'], '1.30.4');
    assert.ok(cp.components.etcd, 'etcd has a version');
    assert.equal(cp.machineImage, 'ubuntu-2204-kube-v1.30.4');
    assert.deepEqual(
      topology.pools.map((p) => [p.name, p.kubeletVersion, p.machineImage]),
      [['workers', '1.30.4', 'ubuntu-2204-kube-v1.30.4']],
    );
    assert.deepEqual(
      poolNodes(topology, 'workers').map((n) => `${n.node} ${n.kubeletVersion} ${n.machineImage}`),
      ['workers-0', 'workers-1', 'workers-2'].map((n) => `${n} 1.30.4 ubuntu-2204-kube-v1.30.4`),
    );
  });

  it('takes a snapshot once per key', async () => {
    const first = await provider.takeSnapshot('run-1/snapshot', never());
    assert.match(first.id, /^snap-/);
    assert.ok(first.sizeBytes > 0);
    assert.ok(!Number.isNaN(Date.parse(first.takenAt)));
    const again = await provider.takeSnapshot('run-1/snapshot', never());
    assert.deepEqual(again, first);
    const listed = await api(cluster, 'GET', '/sim/v1/snapshots');
    assert.equal((listed.body as { items: unknown[] }).items.length, 1);
    snapshotId = first.id;
  });

  it('a failing snapshot is a retryable ProviderError with the sim message', async () => {
    assert.equal((await api(cluster, 'PUT', '/sim/v1/faults', { snapshotFailure: true })).status, 200);
    try {
      await rejectsWith(
        provider.takeSnapshot('run-2/snapshot', never()),
        ProviderErrorCode.serverError,
        /sim: take a snapshot: etcdserver: snapshot failed/,
        {
          retryable: true,
          status: 500,
        },
      );
    } finally {
      await api(cluster, 'PUT', '/sim/v1/faults', { snapshotFailure: false });
    }
    const listed = await api(cluster, 'GET', '/sim/v1/snapshots');
    assert.equal((listed.body as { items: unknown[] }).items.length, 1, 'no snapshot taken by the failed call');
  });

  it('upgrades the only control-plane node through the API 503 window', async () => {
    const progress: ControlPlaneProgress[] = [];
    let saw503 = false;
    let probing = true;
    // Probe the Kubernetes API while the upgrade runs, to be sure the window the provider must ride out exists.
    const probe = (async () => {
      while (probing) {
        if ((await api(cluster, 'GET', '/readyz')).status === 503) saw503 = true;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await provider.upgradeControlPlaneNode('control-plane-0', '1.31.2', 'run-1/cp/control-plane-0', never(), (p) =>
        progress.push(p),
      );
    } finally {
      probing = false;
      await probe;
    }
    assert.ok(saw503, 'the API answered 503 during the upgrade');
    assert.equal((await api(cluster, 'GET', '/readyz')).status, 200, 'healthy when the call resolves');
    assert.equal(await gitVersion(cluster), 'v1.31.2');
    const steps = progress.map((p) => p.step);
    assert.ok(steps.includes('kube-apiserver'), steps.join(','));
    assert.deepEqual(steps.slice(-2), ['api-health', 'done']);
    assert.match(progress.find((p) => p.step === 'api-health')?.message ?? '', /503/);
    assert.ok(progress.every((p) => p.node === 'control-plane-0'));
    const cp = cpNode(await provider.describeTopology(never()), 'control-plane-0');
    assert.equal(cp.components['kube-apiserver'], '1.31.2');
    assert.equal(cp.components['kube-controller-manager'], '1.31.2');
    assert.equal(cp.kubeletVersion, '1.31.2');
    assert.equal(await kubeletOf(cluster, 'control-plane-0'), 'v1.31.2');

    // The same step again (after a crash): the node is there already, nothing restarts.
    const ops = async (): Promise<number> =>
      ((await api(cluster, 'GET', '/sim/v1/operations')).body as { items: unknown[] }).items.length;
    const before = await ops();
    await provider.upgradeControlPlaneNode('control-plane-0', '1.31.2', 'run-1/cp/control-plane-0', never());
    assert.equal(await ops(), before);
  });

  it('upgrades a worker in place', async () => {
    await provider.upgradeWorkerNodeInPlace(
      'workers-1',
      { version: '1.31.2', machineImage: 'ubuntu-2204-kube-v1.31.2' },
      'run-1/pool/workers/workers-1',
      never(),
    );
    const node = poolNodes(await provider.describeTopology(never()), 'workers').find((n) => n.node === 'workers-1');
    assert.deepEqual(node, { node: 'workers-1', kubeletVersion: '1.31.2', machineImage: 'ubuntu-2204-kube-v1.31.2' });
    assert.equal(await kubeletOf(cluster, 'workers-1'), 'v1.31.2');
  });

  it('replaces a worker with a new node that registers once booted, once per key', async () => {
    const target = { version: '1.31.2', machineImage: 'ubuntu-2204-kube-v1.31.2' };
    const first = await provider.replaceWorkerNode('workers-0', target, 'run-1/pool/workers/workers-0', never());
    assert.match(first.newNode, /^workers-[0-9a-f]{5}$/);
    assert.equal(first.pool, 'workers');
    // The call resolves with the machine's name; the node registers when it has booted (nodeBoot: 200ms).
    assert.equal(await waitFor(() => kubeletOf(cluster, first.newNode), { message: `${first.newNode} to register`, timeoutMs: 5_000 }), 'v1.31.2');
    const again = await provider.replaceWorkerNode('workers-0', target, 'run-1/pool/workers/workers-0', never());
    assert.deepEqual(again, first);
    const nodes = poolNodes(await provider.describeTopology(never()), 'workers');
    assert.deepEqual(
      nodes.map((n) => n.node).sort(),
      ['workers-0', 'workers-1', 'workers-2', first.newNode].sort(),
      'one new node, old one untouched',
    );
    assert.equal(nodes.find((n) => n.node === first.newNode)?.machineImage, 'ubuntu-2204-kube-v1.31.2');

    // The key was for that request: another target under it is refused, not acted on.
    await rejectsWith(
      provider.replaceWorkerNode('workers-0', { version: '1.31.1' }, 'run-1/pool/workers/workers-0', never()),
      ProviderErrorCode.conflict,
      /idempotencyKey/,
      {
        retryable: false,
      },
    );
  });

  it('replaces and deletes many workers in one call, each item as its single call (same key, same node)', async () => {
    const target = { version: '1.31.2', machineImage: 'ubuntu-2204-kube-v1.31.2' };
    const items = [
      // workers-0's replacement was made above under this key: its node comes back, no second one.
      { node: 'workers-0', target, key: 'run-1/pool/workers/workers-0' },
      { node: 'workers-1', target, key: 'run-2/pool/workers/workers-1' },
      { node: 'workers-9', target, key: 'run-2/pool/workers/workers-9' },
    ];
    const outcomes = await provider.replaceWorkerNodes(items, never());
    const alone = await provider.replaceWorkerNode('workers-0', target, 'run-1/pool/workers/workers-0', never());
    assert.deepEqual(outcomes[0], { ok: true, value: alone });
    assert.ok(outcomes[1]?.ok && /^workers-[0-9a-f]{5}$/.test(outcomes[1].value.newNode), JSON.stringify(outcomes[1]));
    const refused = outcomes[2];
    assert.ok(refused && !refused.ok);
    assert.equal(refused.error.code, ProviderErrorCode.notFound);
    assert.equal(refused.error.node, 'workers-9');
    assert.match(refused.error.message, /replace node workers-9 with one at 1\.31\.2: .*workers-9/);
    assert.deepEqual(await provider.replaceWorkerNodes(items.slice(0, 2), never()), outcomes.slice(0, 2), 'the same call again');
    // An infrastructure API without node-batches (the local provider's) gets the single calls: the same outcomes.
    const single = createSimProvider({ kubeconfigPath: join(dir, 'kubeconfig'), pollIntervalMs: 20, nodeBatches: false });
    try {
      assert.deepEqual(await single.replaceWorkerNodes(items, never()), outcomes);
    } finally {
      single.close();
    }

    const made = outcomes[1].value.newNode;
    const deleted = await provider.deleteWorkerNodes(
      [made, 'workers-9'].map((node) => ({ node, key: `run-1/delete/${node}` })),
      never(),
    );
    assert.deepEqual(deleted, [{ ok: true, value: undefined }, { ok: true, value: undefined }], 'a node already gone is deleted');
    assert.ok(!poolNodes(await provider.describeTopology(never()), 'workers').some((n) => n.node === made));
  });

  it('deletes a worker, and deleting it again is a no-op', async () => {
    await provider.deleteWorkerNode('workers-0', 'run-1/pool/workers/workers-0/delete', never());
    assert.equal(await kubeletOf(cluster, 'workers-0'), undefined);
    assert.ok(!poolNodes(await provider.describeTopology(never()), 'workers').some((n) => n.node === 'workers-0'));
    await provider.deleteWorkerNode('workers-0', 'run-1/pool/workers/workers-0/delete', never());
  });

  it('names the node and keeps the sim message when the sim refuses', async () => {
    await rejectsWith(
      provider.upgradeWorkerNodeInPlace('workers-9', { version: '1.31.2' }, 'k-404', never()),
      ProviderErrorCode.notFound,
      /nodes "workers-9" not found/,
      {
        node: 'workers-9',
        retryable: false,
      },
    );
    await rejectsWith(
      provider.upgradeWorkerNodeInPlace('workers-2', { version: '1.32.0' }, 'k-skew', never()),
      ProviderErrorCode.rejected,
      /kubelet 1\.32\.0 would be newer than kube-apiserver 1\.31\.2/,
      { node: 'workers-2', status: 422, retryable: false },
    );
    await rejectsWith(
      provider.upgradeControlPlaneNode('workers-2', '1.31.2', 'k-cp', never()),
      ProviderErrorCode.notFound,
      /no control-plane node "workers-2"/,
      {
        node: 'workers-2',
      },
    );
    await rejectsWith(
      provider.restoreSnapshot('snap-nothing', 'k-restore', never()),
      ProviderErrorCode.notFound,
      /snapshot "snap-nothing" not found/,
      {
        snapshot: 'snap-nothing',
      },
    );
  });

  it('restores the snapshot: control plane and nodes back at their versions', async () => {
    await provider.restoreSnapshot(snapshotId, 'run-1/rollback/restore', never());
    const topology = await provider.describeTopology(never());
    const cp = cpNode(topology, 'control-plane-0');
    assert.equal(cp.components['kube-apiserver'], '1.30.4');
    assert.equal(cp.kubeletVersion, '1.30.4');
    assert.equal(poolNodes(topology, 'workers').find((n) => n.node === 'workers-1')?.kubeletVersion, '1.30.4');
    assert.equal(await gitVersion(cluster), 'v1.30.4');
    assert.equal(await kubeletOf(cluster, 'workers-1'), 'v1.30.4');
    // Restoring again converges to the same state.
    await provider.restoreSnapshot(snapshotId, 'run-1/rollback/restore', never());
    assert.equal(await gitVersion(cluster), 'v1.30.4');
  });

  it('an abort mid-upgrade rejects with the abort reason; the same key picks the operation up again', async () => {
    const controller = new AbortController();
    const reason = new Error('operator cancelled the run');
    const pending = provider.upgradeControlPlaneNode(
      'control-plane-0',
      '1.31.2',
      'run-3/cp/control-plane-0',
      controller.signal,
      () => controller.abort(reason),
    );
    await assert.rejects(pending, (err: unknown) => err === reason);
    const running = (
      (await api(cluster, 'GET', '/sim/v1/operations')).body as { items: { state: string }[] }
    ).items.filter((o) => o.state === 'running');
    assert.equal(running.length, 1, 'the sim operation goes on');
    await provider.upgradeControlPlaneNode('control-plane-0', '1.31.2', 'run-3/cp/control-plane-0', never());
    const ops = (
      (await api(cluster, 'GET', '/sim/v1/operations')).body as {
        items: { node: string; toVersion: string; state: string }[];
      }
    ).items;
    assert.equal(
      ops.filter((o) => o.node === 'control-plane-0' && o.state === 'succeeded').length,
      2,
      'one operation per key',
    );
    assert.equal(await gitVersion(cluster), 'v1.31.2');

    // A signal aborted before the call: nothing is sent.
    const before = ops.length;
    const aborted = AbortSignal.abort(reason);
    await assert.rejects(
      provider.upgradeWorkerNodeInPlace('workers-2', { version: '1.31.2' }, 'run-3/never', aborted),
      (err: unknown) => err === reason,
    );
    assert.equal(((await api(cluster, 'GET', '/sim/v1/operations')).body as { items: unknown[] }).items.length, before);
  });
});

describe('sim provider: three control-plane nodes', () => {
  let cluster: SimCluster;
  let provider: Provider;

  before(async () => {
    cluster = await startFromYaml(HA_SCENARIO);
    provider = providerFor(
      'sim',
      { pollIntervalMs: 10 },
      { name: 'ha', kubeconfig: cluster.kubeconfig, context: 'provider-ha' },
    );
  });
  after(async () => {
    provider?.close?.();
    await cluster?.stop();
  });

  it('/version moves only when every control-plane node has moved', async () => {
    for (const [i, node] of ['control-plane-0', 'control-plane-1', 'control-plane-2'].entries()) {
      assert.equal(await gitVersion(cluster), 'v1.30.4', `before ${node}`);
      await provider.upgradeControlPlaneNode(node, '1.31.2', `run-1/cp/${i}`, never());
      assert.equal(cpNode(await provider.describeTopology(never()), node).components['kube-apiserver'], '1.31.2');
    }
    assert.equal(await gitVersion(cluster), 'v1.31.2');
  });
});

describe('provider registry', () => {
  it('refuses an unknown provider, listing the known ones', () => {
    assert.throws(
      () => providerFor('gke', {}, { name: 'prod', kubeconfig: 'apiVersion: v1' }),
      (err: unknown) =>
        err instanceof ProviderError &&
        err.code === ProviderErrorCode.unknownProvider &&
        /unknown provider "gke" \(known providers: sim, local, capi\)/.test(err.message),
    );
  });

  it('refuses unknown or bad settings and a missing context', () => {
    const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;
    assert.throws(
      () => providerFor('sim', { pollIntervalMS: 10 }, { name: 'dev', kubeconfig }),
      (err: unknown) =>
        err instanceof ProviderError &&
        err.code === ProviderErrorCode.configuration &&
        /no setting "pollIntervalMS" \(its settings: pollIntervalMs/.test(err.message),
    );
    assert.throws(
      () => providerFor('sim', { pollIntervalMs: -1 }, { name: 'dev', kubeconfig }),
      (err: unknown) =>
        err instanceof ProviderError &&
        /"pollIntervalMs" must be a number of milliseconds > 0, got -1/.test(err.message),
    );
    assert.throws(
      () => providerFor('sim', { maxConnections: 2.5 }, { name: 'dev', kubeconfig }),
      (err: unknown) =>
        err instanceof ProviderError && /"maxConnections" must be a whole number from 1 to 1024, got 2.5/.test(err.message),
    );
    assert.ok(providerFor('sim', { maxConnections: 4 }, { name: 'dev', kubeconfig }));
    assert.throws(
      () => providerFor('sim', {}, { name: 'dev', kubeconfig, context: 'y' }),
      (err: unknown) =>
        err instanceof ProviderError &&
        err.code === ProviderErrorCode.configuration &&
        /context "y" is not in the kubeconfig \(it has: x\)/.test(err.message),
    );
  });

  it('an unreachable sim is a retryable KUP-PROVIDER-002 once the retry budget is spent', async () => {
    const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;
    const provider = providerFor('sim', { retryBudgetMs: 300 }, { name: 'gone', kubeconfig });
    await rejectsWith(
      provider.describeTopology(never()),
      ProviderErrorCode.unreachable,
      /cannot reach https:\/\/127\.0\.0\.1:1\/sim\/v1\/topology.*still failing after \d+ attempts/,
      {
        retryable: true,
      },
    );
  });
});
