/**
 * Validation after each batch: the batch's nodes are Ready and schedulable, every PodDisruptionBudget has its
 * desired healthy pods again (where the server serves the `policy` group at all), and no pod is Pending (unschedulable, or re-created and not running yet); a pod on the
 * batch's nodes whose containers keep failing (CrashLoopBackOff, image pull errors) fails the batch, unless its
 * workload was failing before the upgrade: those pods are read (a list per node) when a round finds nothing else
 * wrong, so a batch never passes over one, and at most once a second while it waits for the rest. It polls
 * because the condition spans nodes, pods and budgets at once; one list of each per round keeps that cheap. The
 * rounds go every 50 ms for the first second, then slow to one a second: a batch usually waits only for the pods it
 * moved (and the new nodes' DaemonSet pods) to start, a few hundred ms, and every ms between their start and the
 * round that sees it is a ms the whole run waits (bench/rollout: 100 ms, then doubling, cost its small batches
 * 50 to 100 ms each over the start they waited for).
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { ContainerFailure } from '../../checks/container-failures.ts';
import { containerFailures, describeFailure, podWorkloadKey } from '../../checks/container-failures.ts';
import { KupError } from '../../errors/kup-error.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { isRetryable, statusOf } from '../../kube-api/errors.ts';
import { getJson, send } from '../../kube-api/requests.ts';
import type { Clock } from '../../clock/clock.ts';
import { servesPodDisruptionBudgets } from '../../drain/eviction-support.ts';

/** One problem found by a validation round. */
export interface ValidationProblem {
  kind: 'node' | 'pdb' | 'pod';
  /** `namespace/name` or node name. */
  name: string;
  message: string;
}

/** A batch that did not validate in time. */
export class BatchValidationError extends KupError<'KUP-ENGINE-003'> {
  override readonly name = 'BatchValidationError';
  constructor(
    readonly problems: readonly ValidationProblem[],
    timeoutMs: number,
  ) {
    super(
      'KUP-ENGINE-003',
      `the batch did not validate within ${Math.round(timeoutMs / 1000)}s: ${problems
        .slice(0, 5)
        .map((p) => `${p.kind} ${p.name}: ${p.message}`)
        .join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`,
      { kind: 'failed' },
    );
  }
}

/** A failing container of a pod on the batch's nodes. */
export interface BatchPodFailure {
  /** `namespace/name`. */
  pod: string;
  node: string;
  /** `Kind/namespace/name` of the pod's workload. */
  workload: string;
  failure: ContainerFailure;
}

/**
 * Pods on the batch's nodes whose containers keep failing (crash loops, image pulls) and whose workload was not
 * failing before the upgrade: the upgrade broke them, and waiting will not mend them.
 */
export class BatchWorkloadsFailingError extends KupError<'KUP-ENGINE-008'> {
  override readonly name = 'BatchWorkloadsFailingError';
  constructor(readonly failures: readonly BatchPodFailure[]) {
    super(
      'KUP-ENGINE-008',
      `pods on the upgraded nodes are failing: ${failures
        .slice(0, 5)
        .map((f) => `${describeFailure(f.pod, f.failure)} on ${f.node}`)
        .join('; ')}${failures.length > 5 ? ` (+${failures.length - 5} more)` : ''}; their workloads were not failing before the upgrade`,
      { kind: 'failed' },
    );
  }
}

/**
 * Waits until the batch validates; throws BatchValidationError with the last problems after `timeoutMs`, and
 * BatchWorkloadsFailingError as soon as a pod on the batch's nodes keeps failing while its workload (`Kind/ns/name`)
 * is not among `failingBefore`.
 */
export async function validateBatch(
  conn: ClusterConnection,
  nodes: readonly string[],
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal,
  failingBefore: readonly string[] = [],
): Promise<void> {
  const started = clock.now();
  const deadline = started + timeoutMs;
  const known = new Set(failingBefore);
  let problems: ValidationProblem[] = [];
  let scannedAt = Number.NEGATIVE_INFINITY;
  const pdbsServed = await servesPodDisruptionBudgets(conn, signal);
  for (;;) {
    let round: ValidationProblem[] | undefined;
    let failures: BatchPodFailure[] = [];
    try {
      round = await validationProblems(conn, nodes, signal, pdbsServed);
      if (round.length === 0 || clock.now() - scannedAt >= FAILURE_SCAN_MS) {
        scannedAt = clock.now();
        failures = (await batchPodFailures(conn, nodes, signal)).filter((f) => !known.has(f.workload));
      }
    } catch (err) {
      // A transient read failure (network, 429, 5xx) loses one round, not the batch: the next round reads again.
      if (signal.aborted || !isRetryable(err) || clock.now() >= deadline) throw err;
      round = undefined;
    }
    if (failures.length > 0) throw new BatchWorkloadsFailingError(failures);
    if (round) {
      problems = round;
      if (problems.length === 0) return;
    }
    if (clock.now() >= deadline) throw new BatchValidationError(problems, timeoutMs);
    // Every 50 ms for the first second, then twice as long every half second, up to once a second.
    const elapsed = clock.now() - started;
    await clock.sleep(elapsed < 1000 ? 50 : Math.min(1000, 50 * 2 ** (elapsed / 500)), signal);
  }
}

/** A valid label value (a longer node name cannot be its own hostname label: it is read by name). */
const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Nodes per label-selector list: the selector stays well inside a URL's length. */
const NODES_PER_LIST = 100;

/**
 * The batch's nodes by name (a node that does not exist is absent), read by their `kubernetes.io/hostname` label
 * (the kubelet sets it to the node name) rather than by listing every node of the cluster: a batch of 30 nodes in a
 * 1,000-node cluster reads 30 nodes, not 1,000, each round. A node whose hostname label is not its name (a cloud that
 * overrides the hostname) is read by name.
 */
async function batchNodes(conn: ClusterConnection, nodes: readonly string[], signal: AbortSignal): Promise<Map<string, V1Node>> {
  const byName = new Map<string, V1Node>();
  const wanted = [...new Set(nodes)];
  const selectable = wanted.filter((name) => LABEL_VALUE.test(name));
  const lists = [];
  for (let i = 0; i < selectable.length; i += NODES_PER_LIST) {
    const names = selectable.slice(i, i + NODES_PER_LIST);
    lists.push(send(conn, signal, (o) => conn.core.listNode({ labelSelector: `kubernetes.io/hostname in (${names.join(',')})` }, o)));
  }
  for (const list of await Promise.all(lists)) for (const node of list.items) byName.set(node.metadata?.name ?? '', node);
  const missing = wanted.filter((name) => !byName.has(name));
  const read = await Promise.all(
    missing.map((name) =>
      send(conn, signal, (o) => conn.core.readNode({ name }, o)).catch((err: unknown) => {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }),
    ),
  );
  for (const node of read) if (node) byName.set(node.metadata?.name ?? '', node);
  return byName;
}

/** How often, at most, a waiting batch reads its nodes' pods for failing containers. */
const FAILURE_SCAN_MS = 1000;

/**
 * The failing containers of the pods on the batch's nodes. Those pods are read node by node (a field selector takes
 * one node), as JSON without client-node's typed mapping: a batch is a few nodes, and their pods are what it moved.
 */
async function batchPodFailures(conn: ClusterConnection, nodes: readonly string[], signal: AbortSignal): Promise<BatchPodFailure[]> {
  const onNodes = await Promise.all(
    [...new Set(nodes)].map((node) =>
      getJson<{ items: V1Pod[] }>(conn, `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`, signal),
    ),
  );
  const failures: BatchPodFailure[] = [];
  for (const list of onNodes) {
    for (const pod of list.items) {
      if (pod.metadata?.deletionTimestamp) continue;
      const namespace = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      const status = pod.status;
      const found = containerFailures([...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])]);
      if (found.length === 0) continue;
      const controller = pod.metadata?.ownerReferences?.find((r) => r.controller);
      const workload = podWorkloadKey(namespace, name, controller, pod.metadata?.labels);
      for (const failure of found) failures.push({ pod: `${namespace}/${name}`, node: pod.spec?.nodeName ?? '', workload, failure });
    }
  }
  return failures;
}

/** One round: what is wrong now. */
export async function validationProblems(
  conn: ClusterConnection,
  nodes: readonly string[],
  signal: AbortSignal,
  /** Whether the server serves PodDisruptionBudgets (discovery): a partial API server has none to wait for. */
  pdbsServed = true,
): Promise<ValidationProblem[]> {
  const [byName, pdbList, pendingList] = await Promise.all([
    batchNodes(conn, nodes, signal),
    pdbsServed ? send(conn, signal, (o) => conn.policy.listPodDisruptionBudgetForAllNamespaces({}, o)) : { items: [] },
    send(conn, signal, (o) => conn.core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Pending' }, o)),
  ]);
  const problems: ValidationProblem[] = [];
  for (const name of nodes) {
    const node = byName.get(name);
    const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
    if (!node) problems.push({ kind: 'node', name, message: 'not found' });
    else if (ready?.status !== 'True') problems.push({ kind: 'node', name, message: `Ready=${ready?.status ?? 'missing'}` });
    else if (node.spec?.unschedulable) problems.push({ kind: 'node', name, message: 'still cordoned' });
  }
  for (const pdb of pdbList.items) {
    const s = pdb.status;
    // A budget that selects no pods guards nothing the batch could have disturbed (a stale selector, a workload
    // scaled to zero): it stays "unhealthy" forever and must not hold the run.
    if (!s || s.expectedPods === 0) continue;
    if (s.currentHealthy < s.desiredHealthy) {
      problems.push({
        kind: 'pdb',
        name: `${pdb.metadata?.namespace}/${pdb.metadata?.name}`,
        message: `${s.currentHealthy} healthy pods, needs ${s.desiredHealthy}`,
      });
    }
  }
  for (const pod of pendingList.items) {
    if (pod.metadata?.deletionTimestamp) continue;
    // Every Pending pod holds the batch, not only unschedulable ones: a pod the drain evicted and its controller
    // re-created is Pending until it runs on a node, and a budget allowing one disruption already counts as healthy
    // without it. The batch is done when its pods are rescheduled and running again.
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const why =
      scheduled?.status === 'False' && scheduled.reason === 'Unschedulable'
        ? (scheduled.message ?? 'unschedulable')
        : pod.spec?.nodeName
          ? `starting on ${pod.spec.nodeName}`
          : 'not scheduled yet';
    problems.push({ kind: 'pod', name: `${pod.metadata?.namespace}/${pod.metadata?.name}`, message: `Pending: ${why}` });
  }
  return problems;
}
