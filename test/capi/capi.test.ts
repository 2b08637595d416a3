/**
 * The capi provider against real Cluster API controllers: Cluster API 1.11's core, kubeadm control-plane, kubeadm
 * bootstrap and Docker (in-memory backend) managers, built from their Go modules, on a real control plane, all inside a
 * network namespace this test creates. Workload clusters are made of in-memory machines whose workload API servers
 * Cluster API's in-memory backend serves.
 *
 * kup's side runs as it would for a user, through bin/kup.mjs: `kup cluster add --provider capi`, `kup plan`, and
 * `kup upgrade` with `kup pause`, `kup resume` and `kup cancel` on its run. The in-memory workload API servers are
 * partial (no `/version`, `/readyz`, policy/v1 or eviction, and lists of most kinds answer 500): kup does there what it
 * does on any such server (the precheck warns, drains delete pods, versions come from Cluster API's objects). The
 * provider is also called alone where a case needs it (provider-call.ts). Everything is asserted from Cluster API's
 * objects on the management cluster and from the workload clusters' nodes through the kubeconfigs kup saved.
 *
 * The first run builds the programs from the Go module proxy (minutes; printed); `KUP_SKIP_REAL=1` switches it off,
 * reported as skipped.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { classicCluster, topologyCluster } from './manifests.ts';
import type { CapiStack } from './stack.ts';
import { SKIP_CAPI, startCapiStack } from './stack.ts';

/** Minutes: Cluster API rolls machines on a machine shared with other builds and tests. */
const TEST_TIMEOUT_MS = 15 * 60_000;

interface Machine {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { version?: string };
  status?: { phase?: string; nodeRef?: { name?: string } };
}

interface MachineDeployment {
  metadata: { annotations?: Record<string, string> };
  spec: {
    replicas?: number;
    rollout?: { strategy?: { type?: string; rollingUpdate?: { maxSurge?: number; maxUnavailable?: number } } };
    template: { spec: { version?: string } };
  };
}

interface Topology {
  controlPlane: { node: string; kubeletVersion: string }[];
  pools: {
    name: string;
    kubeletVersion: string;
    nodes: { node: string; kubeletVersion: string }[];
    rolloutBy?: string;
  }[];
}

describe('the capi provider on real Cluster API controllers', { skip: SKIP_CAPI, timeout: 40 * 60_000 }, () => {
  let stack: CapiStack;
  const settings = () => ({ managementKubeconfig: stack.kubeconfigPath, cluster: 'team-a/shop' });
  const workloadKubeconfig = () => join(stack.dir, 'kup', 'kubeconfigs', 'shop.kubeconfig');

  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await stack.kubectl([...args, '-o', 'json'])) as T;
  const machines = async (cluster: string) =>
    (
      await json<{ items: Machine[] }>([
        '-n',
        'team-a',
        'get',
        'machines',
        '-l',
        `cluster.x-k8s.io/cluster-name=${cluster}`,
      ])
    ).items;
  const md = (name: string) => json<MachineDeployment>(['-n', 'team-a', 'get', 'machinedeployment', name]);
  /** The workload cluster's nodes, through the kubeconfig kup saved: name -> Ready. */
  const workloadNodes = async (kubeconfig: string): Promise<Map<string, boolean>> => {
    const list = await json<{
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    }>(['--kubeconfig', kubeconfig, 'get', 'nodes']);
    return new Map(
      list.items.map((n) => [
        n.metadata.name,
        (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      ]),
    );
  };
  /** Calls the provider kup's registry builds from `providerSettings`, inside the namespace. */
  const call = async <T>(providerSettings: object, method: string, args: unknown[] = []): Promise<T> => {
    const r = await stack.run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'provider-call.ts'),
        JSON.stringify(providerSettings),
        method,
        JSON.stringify(args),
      ],
      { timeoutMs: TEST_TIMEOUT_MS },
    );
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      result?: T;
      error?: { code?: string; message?: string };
    };
    if (line.error !== undefined) throw Object.assign(new Error(line.error.message), { code: line.error.code });
    assert.equal(r.code, 0, r.stderr);
    return line.result as T;
  };
  /** Waits until the Cluster's machines are all Running at `version` with a node each, `count` of them. */
  const settled = (cluster: string, version: string, count: number) =>
    waitFor(
      async () => {
        const ms = await machines(cluster);
        return (
          ms.length === count &&
          ms.every(
            (m) => m.status?.phase === 'Running' && m.spec.version === `v${version}` && m.status.nodeRef?.name,
          ) &&
          ms
        );
      },
      {
        timeoutMs: 5 * 60_000,
        intervalMs: 2_000,
        message: `the machines of ${cluster} to be ${count} Running at ${version}`,
      },
    );

  before(async () => {
    stack = await startCapiStack();
    // The suite's four workload clusters come up together: one for the two-minor run, one for the cancel, one in
    // delegate mode, one built from a ClusterClass.
    const spec = { namespace: 'team-a', version: '1.35.8', controlPlaneReplicas: 1 };
    await stack.kubectl(['apply', '-f', '-'], { input: classicCluster({ ...spec, name: 'shop', workers: 3 }) });
    await stack.kubectl(['apply', '-f', '-'], { input: classicCluster({ ...spec, name: 'cart', workers: 3 }) });
    await stack.kubectl(['apply', '-f', '-'], { input: classicCluster({ ...spec, name: 'pay', workers: 2 }) });
    await stack.kubectl(['apply', '-f', '-'], { input: topologyCluster({ ...spec, name: 'web', workers: 2 }) });
    await Promise.all([
      settled('shop', '1.35.8', 4),
      settled('cart', '1.35.8', 4),
      settled('pay', '1.35.8', 3),
      settled('web', '1.35.8', 3),
    ]);
  });

  after(async () => {
    await stack?.stop();
  });

  it(
    "kup cluster add --provider capi registers the workload cluster from Cluster API's kubeconfig secret",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const missing = await stack.kup([
        'cluster',
        'add',
        'shop',
        '--provider',
        'capi',
        '--kubeconfig',
        stack.kubeconfigPath,
      ]);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /--cluster NS\/NAME is required with --provider capi/);
      const wrong = await stack.kup([
        'cluster',
        'add',
        'shop',
        '--provider',
        'capi',
        '--kubeconfig',
        stack.kubeconfigPath,
        '--cluster',
        'team-a/nope',
      ]);
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(wrong.stderr, /KUP-PROVIDER-004: capi: there is no Cluster team-a\/nope on the management cluster/);

      const added = await stack.kup([
        'cluster',
        'add',
        'shop',
        '--provider',
        'capi',
        '--kubeconfig',
        stack.kubeconfigPath,
        '--cluster',
        'team-a/shop',
      ]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /cluster shop added: provider capi, Cluster team-a\/shop on /);
      const shown = JSON.parse((await stack.kup(['cluster', 'show', 'shop', '-o', 'json'])).stdout) as {
        provider: string;
        providerSettings: Record<string, unknown>;
        kubeconfig: string;
      };
      assert.equal(shown.provider, 'capi');
      assert.deepEqual(shown.providerSettings, settings());
      assert.equal(shown.kubeconfig, workloadKubeconfig());
      // The saved kubeconfig reaches the workload cluster: its nodes are the Machines' nodes.
      const nodes = await workloadNodes(workloadKubeconfig());
      const nodeRefs = (await machines('shop')).map((m) => m.status?.nodeRef?.name ?? '').sort();
      assert.deepEqual([...nodes.keys()].sort(), nodeRefs);
    },
  );

  it(
    'kup plan: two control-plane hops, the pool once, no snapshot, and no control-plane downgrade',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // Right after provisioning the Cluster is not Available for a while (etcd members not yet listed): the
      // management-side precheck would rightly block; plan once it is.
      await waitFor(
        async () => {
          const c = await json<{ status?: { conditions?: { type: string; status: string }[] } }>([
            '-n',
            'team-a',
            'get',
            'cluster',
            'shop',
          ]);
          return c.status?.conditions?.find((x) => x.type === 'Available')?.status === 'True';
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1_000, message: 'Cluster team-a/shop to be Available' },
      );
      const plan = await stack.kup(['plan', 'shop', '--to', '1.37.2']);
      // The in-memory workload API server is partial: what it does not serve is a warning that says so, and the
      // versions come from Cluster API's objects.
      assert.equal(plan.code, 0, plan.stdout);
      assert.match(plan.stdout, /Plan for shop: 1\.35\.8 -> 1\.37\.2 \(version upgrade\)/);
      assert.match(plan.stdout, /the API server serves no \/readyz \(HTTP 404\): its health is judged from \/api/);
      const flat = plan.stdout.replace(/\s+/g, ' ');
      assert.match(
        flat,
        /the API server serves no \/version \(HTTP 404\): the control-plane version v1\.35\.8 is the word of provider capi \(KubeadmControlPlane team-a\/shop-cp status\.version\)/,
      );
      assert.match(flat, /4 nodes report no kubelet version \(status\.nodeInfo\): their versions are the word of provider capi \(Machine spec\.version\)/);
      assert.match(plan.stdout, /could not read poddisruptionbudgets: HTTP 500/);
      // Cluster API drains the control-plane Machines it replaces: kup plans no drain of its own there.
      assert.doesNotMatch(plan.stdout, /\(drained\)/);
      assert.match(plan.stdout, /control plane 1\.35\.8 -> 1\.36\.\d+: shop-cp-/);
      assert.match(plan.stdout, /control plane 1\.36\.\d+ -> 1\.37\.2: shop-cp-/);
      assert.match(plan.stdout, /pool shop-md-0 -> 1\.37\.2 \(replace/);
      assert.doesNotMatch(plan.stdout, /^\s+1\. etcd snapshot/m);
      assert.match(plan.stdout, /provider capi takes no snapshot of the cluster's state/);
      assert.match(plan.stdout, /nothing brings the control plane back: no snapshot is taken/);

      // The management side of the precheck: nothing to say of a healthy cluster; a Cluster a user paused blocks.
      assert.doesNotMatch(plan.stdout, /BLOCKER\s+infrastructure/);
      await stack.kubectl(['-n', 'team-a', 'annotate', 'cluster', 'shop', 'cluster.x-k8s.io/paused=']);
      const paused = await stack.kup(['plan', 'shop', '--to', '1.37.2']);
      assert.equal(paused.code, 1, paused.stderr);
      assert.match(paused.stdout, /BLOCKER\s+infrastructure\s+Cluster\/team-a\/shop/);
      assert.match(paused.stdout, /capi: Cluster team-a\/shop is paused: Cluster API would not move its machines/);
      await stack.kubectl(['-n', 'team-a', 'annotate', 'cluster', 'shop', 'cluster.x-k8s.io/paused-']);

      const down = await stack.kup(['plan', 'shop', '--to', '1.35.7']);
      assert.equal(down.code, 1, down.stdout);
      assert.match(down.stderr, /KUP-RUN-011: cluster shop: provider capi cannot downgrade a control plane/);
      const inPlace = await stack.kup(['plan', 'shop', '--to', '1.36.5', '--strategy', 'in-place']);
      assert.equal(inPlace.code, 1, inPlace.stdout);
      assert.match(
        inPlace.stderr,
        /KUP-RUN-011: cluster shop: provider capi cannot upgrade nodes in place, it replaces them/,
      );
    },
  );

  it(
    'kup upgrade (the CLI), kup in charge: the control plane two minors hop by hop, the pool with OnDelete and one surge Machine per node, paused and resumed mid-pool, its strategy restored',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const before = await call<Topology>(settings(), 'describeTopology');
      assert.equal(before.pools[0]?.name, 'shop-md-0');
      assert.equal(before.pools[0]?.rolloutBy, undefined, 'kup rolls a MachineDeployment of its own');
      const olds = (before.pools[0]?.nodes ?? []).map((n) => n.node);
      assert.equal(olds.length, 3);

      const run = await startUpgrade(stack, 'shop', '1.37.2');
      // Mid-pool: the first replacement in flight (OnDelete, one surge replica), then `kup pause`.
      await waitFor(
        async () => {
          const now = await md('shop-md-0');
          return now.spec.rollout?.strategy?.type === 'OnDelete' && now.spec.replicas === 4;
        },
        { timeoutMs: 5 * 60_000, intervalMs: 1_000, message: 'the run to reach the pool (OnDelete, a surge replica)' },
      );
      // The control plane went first, two hops, through the KubeadmControlPlane: one Machine, at 1.37.2.
      const kcp = await json<{ spec: { version: string }; status: { version: string } }>([
        '-n',
        'team-a',
        'get',
        'kubeadmcontrolplane',
        'shop-cp',
      ]);
      assert.equal(kcp.spec.version, 'v1.37.2');
      assert.equal(kcp.status.version, 'v1.37.2');
      const paused = await stack.kup(['pause', run]);
      assert.equal(paused.code, 0, paused.stderr);
      await waitFor(async () => (await runPhase(stack, run)) === 'paused', {
        timeoutMs: 3 * 60_000,
        intervalMs: 1_000,
        message: `run ${run} to be paused`,
      });
      // Cluster API's paused annotation holds every controller of the cluster while kup's run is paused.
      const held = await json<{ metadata: { annotations?: Record<string, string> } }>([
        '-n',
        'team-a',
        'get',
        'cluster',
        'shop',
      ]);
      assert.equal(held.metadata.annotations?.['cluster.x-k8s.io/paused'], '');
      assert.equal((await md('shop-md-0')).spec.rollout?.strategy?.type, 'OnDelete', 'a pause keeps the run’s strategy');
      assert.ok(
        (await machines('shop')).some((m) => olds.includes(m.status?.nodeRef?.name ?? '')),
        'old Machines are left while paused',
      );

      const resumed = await stack.kup(['resume', run]);
      assert.equal(resumed.code, 0, resumed.stderr);
      await waitFor(
        async () => {
          const phase = await runPhase(stack, run);
          assert.notEqual(phase, 'failed');
          return phase === 'succeeded';
        },
        { timeoutMs: 10 * 60_000, intervalMs: 2_000, message: `run ${run} to succeed` },
      );
      const events = (await stack.kup(['status', run])).stdout;
      // Two hops, one minor each, each through the KubeadmControlPlane's version.
      assert.match(events, /upgrade-cp-node \S+: done \(\S+ runs 1\.36\.5\)/);
      assert.match(events, /upgrade-cp-node \S+: done \(\S+ runs 1\.37\.2\)/);
      assert.match(events, /paused by the operator/);
      assert.match(events, /upgrade finished: shop 1\.35\.8 -> 1\.37\.2/);
      assert.match(events, /check-api-health .*the API server serves no \/readyz/);

      const done = await settled('shop', '1.37.2', 4);
      const after = await md('shop-md-0');
      assert.equal(after.spec.replicas, 3);
      assert.equal(after.spec.template.spec.version, 'v1.37.2');
      assert.deepEqual(after.spec.rollout?.strategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      assert.equal(after.metadata.annotations?.['kup.dev/capi-rollout'], undefined);
      assert.equal(after.metadata.annotations?.['cluster.x-k8s.io/paused'], undefined);
      const cluster = await json<{ metadata: { annotations?: Record<string, string> } }>([
        '-n',
        'team-a',
        'get',
        'cluster',
        'shop',
      ]);
      assert.equal(cluster.metadata.annotations?.['cluster.x-k8s.io/paused'], undefined);
      // The workload cluster's nodes are the new Machines' nodes, all Ready, none of the old ones.
      const nodes = await workloadNodes(workloadKubeconfig());
      assert.deepEqual([...nodes.keys()].sort(), done.map((m) => m.status?.nodeRef?.name ?? '').sort());
      assert.ok([...nodes.values()].every(Boolean));
      for (const old of olds) assert.equal(nodes.has(old), false, `${old} is gone`);
    },
  );

  it(
    'kup cancel mid-pool: the surge Machine in flight is removed and the MachineDeployment gets its original strategy back',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await addCluster(stack, 'cart');
      const run = await startUpgrade(stack, 'cart', '1.35.9');
      await waitFor(
        async () => {
          const now = await md('cart-md-0');
          return now.spec.rollout?.strategy?.type === 'OnDelete' && now.spec.replicas === 4;
        },
        { timeoutMs: 5 * 60_000, intervalMs: 1_000, message: 'the run to reach the pool (OnDelete, a surge replica)' },
      );
      const cancelled = await stack.kup(['cancel', run]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await waitFor(async () => (await runPhase(stack, run)) === 'cancelled', {
        timeoutMs: 5 * 60_000,
        intervalMs: 1_000,
        message: `run ${run} to be cancelled`,
      });
      const after = await md('cart-md-0');
      assert.deepEqual(after.spec.rollout?.strategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      assert.equal(after.spec.replicas, 3);
      assert.equal(after.metadata.annotations?.['kup.dev/capi-rollout'], undefined);
      assert.equal(after.metadata.annotations?.['cluster.x-k8s.io/paused'], undefined);
      const cluster = await json<{ metadata: { annotations?: Record<string, string> } }>([
        '-n',
        'team-a',
        'get',
        'cluster',
        'cart',
      ]);
      assert.equal(cluster.metadata.annotations?.['cluster.x-k8s.io/paused'], undefined);
      // Under its own strategy again, Cluster API moves the rest of the pool to the template the run set (ADR 019).
      await settled('cart', '1.35.9', 4);
      const nodes = await workloadNodes(join(stack.dir, 'kup', 'kubeconfigs', 'cart.kubeconfig'));
      assert.equal(nodes.size, 4);
      assert.ok([...nodes.values()].every(Boolean));
    },
  );

  it(
    'kup upgrade in delegate mode (cluster add --delegate): the control plane hop sets the MachineDeployment version and Cluster API rolls it with its own strategy',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const added = await stack.kup([
        'cluster',
        'add',
        'pay',
        '--provider',
        'capi',
        '--kubeconfig',
        stack.kubeconfigPath,
        '--cluster',
        'team-a/pay',
        '--delegate',
      ]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /Cluster API rolls its MachineDeployments \(--delegate\)/);
      const wrong = await stack.kup(['cluster', 'add', 'x', '--provider', 'sim', '--kubeconfig', stack.kubeconfigPath, '--delegate']);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /--delegate: only with --provider capi/);

      const plan = await stack.kup(['plan', 'pay', '--to', '1.36.5']);
      assert.equal(plan.code, 0, plan.stdout);
      assert.match(plan.stdout, /pool pay-md-0 is rolled out by the infrastructure \(provider capi\)/);
      assert.doesNotMatch(plan.stdout, /pool pay-md-0 -> /);

      const upgraded = await stack.kup(['upgrade', 'pay', '--to', '1.36.5', '--yes', '--wait'], {
        timeoutMs: TEST_TIMEOUT_MS,
      });
      assert.equal(upgraded.code, 0, `${upgraded.stdout}\n${upgraded.stderr}`);
      // Cluster API's own rolling update: the strategy is the one its owner wrote, never OnDelete, no kup annotation.
      const after = await md('pay-md-0');
      assert.equal(after.spec.template.spec.version, 'v1.36.5');
      assert.equal(after.spec.replicas, 2);
      assert.deepEqual(after.spec.rollout?.strategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      assert.equal(after.metadata.annotations?.['kup.dev/capi-rollout'], undefined);
      // The run ended once the pool was rolled: every Machine at the new version when `kup upgrade --wait` returned.
      const now = (await machines('pay')).filter((m) => !m.metadata.deletionTimestamp);
      assert.equal(now.length, 3);
      assert.ok(
        now.every((m) => m.spec.version === 'v1.36.5' && m.status?.phase === 'Running'),
        JSON.stringify(now.map((m) => [m.metadata.name, m.spec.version, m.status?.phase])),
      );
      const nodes = await workloadNodes(join(stack.dir, 'kup', 'kubeconfigs', 'pay.kubeconfig'));
      assert.deepEqual([...nodes.keys()].sort(), now.map((m) => m.status?.nodeRef?.name ?? '').sort());
      assert.ok([...nodes.values()].every(Boolean));
    },
  );

  it(
    'kup upgrade of a ClusterClass cluster moves spec.topology.version; Cluster API rolls its MachineDeployments',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const kubeconfig = await addCluster(stack, 'web');
      const web = { managementKubeconfig: stack.kubeconfigPath, cluster: 'team-a/web' };
      const topology = await call<Topology>(web, 'describeTopology');
      assert.equal(topology.pools[0]?.name, 'md-0');
      assert.equal(topology.pools[0]?.rolloutBy, 'infrastructure', 'the topology controller rolls its MachineDeployments');
      await assert.rejects(
        call(web, 'replaceWorkerNode', [topology.pools[0]?.nodes[0]?.node, { version: '1.36.5' }, 'k']),
        /KUP-PROVIDER-011: capi: MachineDeployment .* belongs to Cluster team-a\/web's topology \(ClusterClass\)/,
      );
      const plan = await stack.kup(['plan', 'web', '--to', '1.36.5']);
      assert.equal(plan.code, 0, plan.stdout);
      assert.doesNotMatch(plan.stdout, /pool md-0 -> /, 'the topology controller rolls md-0, not kup');

      const upgraded = await stack.kup(['upgrade', 'web', '--to', '1.36.5', '--yes', '--wait'], {
        timeoutMs: TEST_TIMEOUT_MS,
      });
      assert.equal(upgraded.code, 0, `${upgraded.stdout}\n${upgraded.stderr}`);
      const cluster = await json<{ spec: { topology: { version: string } } }>([
        '-n',
        'team-a',
        'get',
        'cluster',
        'web',
      ]);
      assert.equal(cluster.spec.topology.version, 'v1.36.5');
      // Cluster API rolls the workers by itself; every Machine ends at the new version.
      const done = await settled('web', '1.36.5', 3);
      const nodes = await workloadNodes(kubeconfig);
      assert.deepEqual([...nodes.keys()].sort(), done.map((m) => m.status?.nodeRef?.name ?? '').sort());
      assert.ok([...nodes.values()].every(Boolean));
    },
  );
});

/** `kup cluster add NAME --provider capi` for Cluster team-a/NAME; returns the workload kubeconfig kup saved. */
async function addCluster(stack: CapiStack, name: string): Promise<string> {
  const added = await stack.kup([
    'cluster',
    'add',
    name,
    '--provider',
    'capi',
    '--kubeconfig',
    stack.kubeconfigPath,
    '--cluster',
    `team-a/${name}`,
  ]);
  assert.equal(added.code, 0, added.stderr);
  return join(stack.dir, 'kup', 'kubeconfigs', `${name}.kubeconfig`);
}

/** `kup upgrade NAME --to VERSION --yes`: the run executes in the background; returns its id. */
async function startUpgrade(stack: CapiStack, name: string, to: string): Promise<string> {
  const r = await stack.kup(['upgrade', name, '--to', to, '--yes']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const id = /^run (\S+) created/m.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  return id;
}

/** The run's phase, as `kup status RUN -o json` says. */
async function runPhase(stack: CapiStack, run: string): Promise<string> {
  const r = await stack.kup(['status', run, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { status: { phase: string } }).status.phase;
}
