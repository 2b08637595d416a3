/**
 * Small kube-sim clusters for drain tests, and reads of the cluster afterwards through the API (never through the
 * drain's own code). Layout: `workers-0` is the node drained; `spare-0` carries a `kup.dev/spare:NoSchedule` taint
 * so every workload pod starts on `workers-0`, until a test opens the spare (`openSpare`) for replacements.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { ClusterConnection } from '../../src/kube-api/connect.ts';
import { connect } from '../../src/kube-api/connect.ts';
import { parseScenario } from '../../src/kube-sim/scenario/parse.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { startSimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { api } from '../helpers/sim.ts';

/** The node every case drains. */
export const TARGET = 'workers-0';

/** Fast but not instant timings: pods start and stop in ~100 ms. */
export const FAST_TIMINGS = `timings: { podStart: 100, podTermination: 100, nodeBoot: 100, nodeHeartbeat: 500, nodeMonitorGrace: 5000 }`;

/** A scenario with the drain layout and the given `workloads:` (and optional `faults:`) YAML. */
export function drainScenario(name: string, workloads: string, extra = ''): string {
  return `
name: ${name}
kubernetesVersion: '1.30.4'
pools:
  - name: workers
    nodes: 1
  - name: spare
    nodes: 1
    taints: [{ key: kup.dev/spare, effect: NoSchedule }]
workloads:
${workloads}
${FAST_TIMINGS}
${extra}
`;
}

/** A pod as the tests look at it. */
export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  node: string | undefined;
  ready: boolean;
  terminating: boolean;
  app: string | undefined;
  ownerKind: string | undefined;
}

type Json = Record<string, unknown>;

/** A pod as the API server sends it (timestamps stay strings: only their presence matters here). */
function view(p: V1Pod): PodView {
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    uid: p.metadata?.uid ?? '',
    node: p.spec?.nodeName,
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    terminating: p.metadata?.deletionTimestamp !== undefined && p.metadata.deletionTimestamp !== null,
    app: p.metadata?.labels?.['app'],
    ownerKind: p.metadata?.ownerReferences?.[0]?.kind,
  };
}

/** Every pod of the cluster. */
export async function allPods(cluster: SimCluster): Promise<PodView[]> {
  const res = await api(cluster, 'GET', '/api/v1/pods');
  return ((res.body as { items?: V1Pod[] }).items ?? []).map(view);
}

/** The pods bound to a node. */
export async function podsOn(cluster: SimCluster, node: string): Promise<PodView[]> {
  return (await allPods(cluster)).filter((p) => p.node === node);
}

/** A node object. */
export async function getNode(cluster: SimCluster, name: string): Promise<Json> {
  const res = await api(cluster, 'GET', `/api/v1/nodes/${name}`);
  if (res.status !== 200) throw new Error(`GET node ${name}: ${res.status}`);
  return res.body as Json;
}

/** Whether the node is cordoned, read from the API. */
export async function isCordoned(cluster: SimCluster, name: string): Promise<boolean> {
  return ((await getNode(cluster, name))['spec'] as { unschedulable?: boolean } | undefined)?.unschedulable === true;
}

/** A PDB's status. */
export async function pdbStatus(cluster: SimCluster, namespace: string, name: string): Promise<Json> {
  const res = await api(cluster, 'GET', `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/${name}`);
  if (res.status !== 200) throw new Error(`GET pdb ${namespace}/${name}: ${res.status}`);
  return (res.body as Json)['status'] as Json;
}

/** Removes the spare node's taint so replacements can run there. */
export async function openSpare(cluster: SimCluster): Promise<void> {
  const res = await api(
    cluster,
    'PATCH',
    '/api/v1/nodes/spare-0',
    { spec: { taints: null } },
    { 'Content-Type': 'application/merge-patch+json' },
  );
  if (res.status !== 200) throw new Error(`untaint spare-0: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A started case: the cluster, a connection to it, and its kubeconfig on disk (for the CLI and kubectl). */
export interface DrainCase {
  cluster: SimCluster;
  conn: ClusterConnection;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

/**
 * Starts a cluster and waits until every pod it should run is Running and Ready (`expectPods` workload pods on the
 * target, counting DaemonSet pods). `historyLimit` shrinks the watch history (to provoke 410 Expired).
 */
export async function startCase(
  yaml: string,
  options: { expectOnTarget?: number; historyLimit?: number } = {},
): Promise<DrainCase> {
  const cluster = await startSimCluster({
    scenario: parseScenario(yaml, 'drain test'),
    ...(options.historyLimit !== undefined ? { historyLimit: options.historyLimit } : {}),
  });
  try {
    await waitFor(
      async () => {
        const pods = await allPods(cluster);
        if (pods.length === 0 || !pods.every((p) => p.ready && p.node)) return undefined;
        if (
          options.expectOnTarget !== undefined &&
          pods.filter((p) => p.node === TARGET && p.namespace === 'default').length !== options.expectOnTarget
        ) {
          return undefined;
        }
        return pods;
      },
      { message: 'every pod Ready', timeoutMs: 20_000 },
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kup-drain-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, cluster.kubeconfig, { mode: 0o600 });
  const conn = connect({ kubeconfig: cluster.kubeconfig, rate: { qps: 200, burst: 400 } });
  return { cluster, conn, kubeconfigPath, stop: () => cluster.stop() };
}

/** UIDs by pod name, to tell "still the same pod" from "replaced". */
export function uidsByName(pods: readonly PodView[]): Map<string, string> {
  return new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p.uid]));
}
