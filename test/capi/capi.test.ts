/**
 * The capi provider against real Cluster API controllers: Cluster API 1.11's core, kubeadm control-plane, kubeadm
 * bootstrap and Docker (in-memory backend) managers, built from their Go modules, on a real control plane, all inside a
 * network namespace this test creates. Workload clusters are made of in-memory machines whose workload API servers
 * Cluster API's in-memory backend serves.
 *
 * kup's side runs as it would for a user: `kup cluster add --provider capi` and `kup plan` through bin/kup.mjs, and
 * the provider built by kup's provider registry from the settings `kup cluster add` stored (provider-call.ts), called
 * in the engine's order: the control plane hop by hop, then each worker replaced (a surge Machine) and its old Machine
 * deleted. Everything is asserted from Cluster API's objects on the management cluster and from the workload cluster's
 * nodes through the kubeconfig kup saved.
 *
 * `kup upgrade` itself cannot run here: the in-memory workload API servers serve nodes and kube-system pods, but no
 * `/version`, `/readyz`, policy/v1 or eviction, which kup's prechecks, drains and health checks need (see the README).
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
    await stack.kubectl(['apply', '-f', '-'], {
      input: classicCluster({
        namespace: 'team-a',
        name: 'shop',
        version: '1.35.8',
        controlPlaneReplicas: 1,
        workers: 3,
      }),
    });
    await settled('shop', '1.35.8', 4);
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
      // The precheck of the in-memory workload API server has blockers (no /version, /readyz): the plan is printed.
      assert.match(plan.stdout, /Plan for shop: 1\.35\.8 -> 1\.37\.2 \(version upgrade\)/);
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
    'kup in charge: the control plane two minors hop by hop, then the pool in batches with OnDelete and one surge Machine per node, its strategy restored',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const before = await call<Topology>(settings(), 'describeTopology');
      assert.equal(before.controlPlane.length, 1);
      assert.equal(before.pools.length, 1);
      assert.equal(before.pools[0]?.name, 'shop-md-0');
      assert.equal(before.pools[0]?.kubeletVersion, '1.35.8');
      assert.equal(before.pools[0]?.nodes.length, 3);
      assert.equal(before.pools[0]?.rolloutBy, undefined, 'kup rolls a MachineDeployment of its own');

      for (const hop of ['1.36.5', '1.37.2']) {
        const cpNode = (await call<Topology>(settings(), 'describeTopology')).controlPlane[0]?.node ?? '';
        await call(settings(), 'upgradeControlPlaneNode', [cpNode, hop, `cp/${hop}/${cpNode}`]);
        const kcp = await json<{ spec: { version: string }; status: { version: string; upToDateReplicas: number } }>([
          '-n',
          'team-a',
          'get',
          'kubeadmcontrolplane',
          'shop-cp',
        ]);
        assert.equal(kcp.spec.version, `v${hop}`);
        assert.equal(kcp.status.version, `v${hop}`);
        assert.equal(kcp.status.upToDateReplicas, 1);
        const cpMachines = (await machines('shop')).filter(
          (m) => m.metadata.labels?.['cluster.x-k8s.io/control-plane'] !== undefined && !m.metadata.deletionTimestamp,
        );
        assert.deepEqual(
          cpMachines.map((m) => m.spec.version),
          [`v${hop}`],
        );
        // The workers did not move with the control plane: kup moves them once, at the end.
        assert.equal((await md('shop-md-0')).spec.template.spec.version, 'v1.35.8');
        assert.equal((await workloadNodes(workloadKubeconfig())).get(cpMachines[0]?.status?.nodeRef?.name ?? ''), true);
      }

      // The pool in batches of 1 then 2, as kup's exponential policy cuts 3 nodes: replace (surge), then delete the old.
      const olds = (before.pools[0]?.nodes ?? []).map((n) => n.node);
      const batches = [olds.slice(0, 1), olds.slice(1)];
      const replacements = new Map<string, string>();
      for (const [i, batch] of batches.entries()) {
        const made = await Promise.all(
          batch.map((node) =>
            call<{ newNode: string; pool: string }>(settings(), 'replaceWorkerNode', [
              node,
              { version: '1.37.2' },
              `pool/shop-md-0/1.37.2/batch-${i + 1}/${node}`,
            ]),
          ),
        );
        made.forEach((r, j) => replacements.set(batch[j] ?? '', r.newNode));
        // While the batch is in flight: OnDelete, one more replica per replacement, every old Machine still there.
        const during = await md('shop-md-0');
        assert.equal(during.spec.rollout?.strategy?.type, 'OnDelete');
        assert.equal(during.spec.replicas, 3 + batch.length);
        assert.equal(during.spec.template.spec.version, 'v1.37.2');
        const nodes = await workloadNodes(workloadKubeconfig());
        for (const node of batch)
          assert.equal(nodes.get(node), true, `${node} is still there while its replacement boots`);
        for (const r of made) assert.equal(r.pool, 'shop-md-0');
        await waitFor(
          async () => {
            const now = await workloadNodes(workloadKubeconfig());
            return made.every((r) => now.get(r.newNode) === true);
          },
          {
            timeoutMs: 120_000,
            intervalMs: 1_000,
            message: `the replacements of batch ${i + 1} to be Ready in the workload cluster`,
          },
        );
        // The same key again is the same Machine, not another one.
        const again = await call<{ newNode: string }>(settings(), 'replaceWorkerNode', [
          batch[0],
          { version: '1.37.2' },
          `pool/shop-md-0/1.37.2/batch-${i + 1}/${batch[0]}`,
        ]);
        assert.equal(again.newNode, made[0]?.newNode);
        assert.equal((await md('shop-md-0')).spec.replicas, 3 + batch.length);
        if (i === 1) {
          // Paused mid-pool: Cluster API's paused annotation holds every controller of the cluster; resumed, it goes.
          await call(settings(), 'syncRunPhase', ['paused']);
          const paused = await json<{ metadata: { annotations?: Record<string, string> } }>([
            '-n',
            'team-a',
            'get',
            'cluster',
            'shop',
          ]);
          assert.equal(paused.metadata.annotations?.['cluster.x-k8s.io/paused'], '');
          const conditions = await json<{ status: { conditions?: { type: string; status: string }[] } }>([
            '-n',
            'team-a',
            'get',
            'cluster',
            'shop',
          ]);
          await waitFor(
            async () => {
              const c = await json<{ status: { conditions?: { type: string; status: string }[] } }>([
                '-n',
                'team-a',
                'get',
                'cluster',
                'shop',
              ]);
              return c.status.conditions?.find((x) => x.type === 'Paused')?.status === 'True';
            },
            {
              timeoutMs: 60_000,
              intervalMs: 1_000,
              message: `Cluster API to report the cluster Paused (conditions: ${JSON.stringify(conditions.status.conditions)})`,
            },
          );
          await call(settings(), 'syncRunPhase', ['running']);
          const resumed = await json<{ metadata: { annotations?: Record<string, string> } }>([
            '-n',
            'team-a',
            'get',
            'cluster',
            'shop',
          ]);
          assert.equal(resumed.metadata.annotations?.['cluster.x-k8s.io/paused'], undefined);
        }
        for (const node of batch) await call(settings(), 'deleteWorkerNode', [node, `delete/${node}`]);
        const left = await workloadNodes(workloadKubeconfig());
        for (const node of batch) assert.equal(left.has(node), false, `${node} is gone from the workload cluster`);
      }

      const done = await settled('shop', '1.37.2', 4);
      const after = await md('shop-md-0');
      assert.equal(after.spec.replicas, 3);
      assert.deepEqual(after.spec.rollout?.strategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      assert.equal(after.metadata.annotations?.['kup.dev/capi-rollout'], undefined);
      assert.equal(after.metadata.annotations?.['cluster.x-k8s.io/paused'], undefined);
      // The workload cluster's nodes are the new Machines' nodes, all Ready, none of the old ones.
      const nodes = await workloadNodes(workloadKubeconfig());
      assert.deepEqual([...nodes.keys()].sort(), done.map((m) => m.status?.nodeRef?.name ?? '').sort());
      assert.ok([...nodes.values()].every(Boolean));
      for (const [old, replacement] of replacements) {
        assert.equal(nodes.has(old), false);
        assert.equal(nodes.get(replacement), true);
      }
      const topology = await call<Topology>(settings(), 'describeTopology');
      assert.deepEqual(
        topology.pools[0]?.nodes.map((n) => n.kubeletVersion),
        ['1.37.2', '1.37.2', '1.37.2'],
      );
    },
  );

  it(
    'the run ending mid-pool (cancel) removes the surge Machine in flight and gives the MachineDeployment its strategy back',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await stack.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachineTemplate
metadata: {name: shop-worker-b, namespace: team-a}
spec:
  template:
    spec:
      backend:
        inMemory:
          vm: {provisioning: {startupDuration: "3s"}}
          node: {provisioning: {startupDuration: "1s"}}
          apiServer: {provisioning: {startupDuration: "1s"}}
          etcd: {provisioning: {startupDuration: "1s"}}
`,
      });
      const topology = await call<Topology>(settings(), 'describeTopology');
      const old = topology.pools[0]?.nodes[0]?.node ?? '';
      const made = await call<{ newNode: string }>(settings(), 'replaceWorkerNode', [
        old,
        { version: '1.37.2', machineImage: 'DevMachineTemplate/shop-worker-b' },
        `pool/shop-md-0/image/batch-1/${old}`,
      ]);
      const during = await md('shop-md-0');
      assert.equal(during.spec.rollout?.strategy?.type, 'OnDelete');
      assert.equal(during.spec.replicas, 4);

      await call(settings(), 'syncRunPhase', ['ended']);
      const after = await md('shop-md-0');
      assert.deepEqual(after.spec.rollout?.strategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      assert.equal(after.spec.replicas, 3);
      assert.equal(after.metadata.annotations?.['kup.dev/capi-rollout'], undefined);
      // The surge Machine of the unfinished replacement is going (kup deleted it before giving the strategy back).
      const surge = (await machines('shop')).find((m) => m.status?.nodeRef?.name === made.newNode);
      assert.ok(surge === undefined || surge.metadata.deletionTimestamp !== undefined, 'the surge Machine is deleted');
      // Under its own strategy again, Cluster API moves the pool to the template the run set (shop-worker-b).
      await waitFor(
        async () => {
          const now = await md('shop-md-0');
          const st = (now as { status?: { replicas?: number; readyReplicas?: number; upToDateReplicas?: number } })
            .status;
          if (st?.replicas !== 3 || st.readyReplicas !== 3 || st.upToDateReplicas !== 3) return false;
          // One control-plane node and the pool's three, all Ready, no old one left behind.
          const nodes = await workloadNodes(workloadKubeconfig());
          return nodes.size === 4 && [...nodes.values()].every(Boolean);
        },
        {
          timeoutMs: 5 * 60_000,
          intervalMs: 2_000,
          message: 'Cluster API to roll shop-md-0 to its template under RollingUpdate',
        },
      );
      const done = (await machines('shop')).filter((m) => !m.metadata.deletionTimestamp);
      assert.equal(done.length, 4);
      assert.ok(!done.some((m) => m.status?.nodeRef?.name === made.newNode), 'the surge Machine did not come back');
    },
  );

  it(
    'a ClusterClass cluster moves through spec.topology.version, its MachineDeployments rolled by Cluster API',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await stack.kubectl(['apply', '-f', '-'], {
        input: topologyCluster({
          namespace: 'team-a',
          name: 'web',
          version: '1.35.8',
          controlPlaneReplicas: 1,
          workers: 2,
        }),
      });
      await settled('web', '1.35.8', 3);
      const web = { managementKubeconfig: stack.kubeconfigPath, cluster: 'team-a/web' };
      const topology = await call<Topology>(web, 'describeTopology');
      assert.equal(topology.pools[0]?.name, 'md-0');
      assert.equal(
        topology.pools[0]?.rolloutBy,
        'infrastructure',
        'the topology controller rolls its MachineDeployments',
      );
      const node = topology.controlPlane[0]?.node ?? '';
      await assert.rejects(
        call(web, 'replaceWorkerNode', [topology.pools[0]?.nodes[0]?.node, { version: '1.36.5' }, 'k']),
        /KUP-PROVIDER-011: capi: MachineDeployment .* belongs to Cluster team-a\/web's topology \(ClusterClass\)/,
      );

      await call(web, 'upgradeControlPlaneNode', [node, '1.36.5', `cp/1.36.5/${node}`]);
      const cluster = await json<{ spec: { topology: { version: string } } }>([
        '-n',
        'team-a',
        'get',
        'cluster',
        'web',
      ]);
      assert.equal(cluster.spec.topology.version, 'v1.36.5');
      // Cluster API then rolls the workers by itself; every Machine ends at the new version.
      const done = await settled('web', '1.36.5', 3);
      const nodes = await workloadNodes(await saveWorkloadKubeconfig(stack, 'web'));
      assert.deepEqual([...nodes.keys()].sort(), done.map((m) => m.status?.nodeRef?.name ?? '').sort());
      assert.ok([...nodes.values()].every(Boolean));
    },
  );
});

/** Registers the ClusterClass cluster with kup too, and returns the kubeconfig kup saved for it. */
async function saveWorkloadKubeconfig(stack: CapiStack, name: string): Promise<string> {
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
