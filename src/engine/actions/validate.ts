/**
 * Validation after each batch: the batch's nodes are Ready and schedulable, every PodDisruptionBudget has its
 * desired healthy pods again, and no pod is Pending (unschedulable, or re-created and not running yet). It polls
 * because the condition spans nodes, pods and budgets at once; one list of each per round keeps that cheap. The
 * rounds go every 50 ms for the first second, then slow to one a second: a batch usually waits only for the pods it
 * moved (and the new nodes' DaemonSet pods) to start, a few hundred ms, and every ms between their start and the
 * round that sees it is a ms the whole run waits (bench/rollout: 100 ms, then doubling, cost its small batches
 * 50 to 100 ms each over the start they waited for).
 */
import type { V1Node } from '@kubernetes/client-node';
import { KupError } from '../../errors/kup-error.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { isRetryable, statusOf } from '../../kube-api/errors.ts';
import { send } from '../../kube-api/requests.ts';
import type { Clock } from '../../clock/clock.ts';

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

/** Waits until the batch validates; throws BatchValidationError with the last problems after `timeoutMs`. */
export async function validateBatch(
  conn: ClusterConnection,
  nodes: readonly string[],
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<void> {
  const started = clock.now();
  const deadline = started + timeoutMs;
  let problems: ValidationProblem[] = [];
  for (;;) {
    try {
      problems = await validationProblems(conn, nodes, signal);
      if (problems.length === 0) return;
    } catch (err) {
      // A transient read failure (network, 429, 5xx) loses one round, not the batch: the next round reads again.
      if (signal.aborted || !isRetryable(err) || clock.now() >= deadline) throw err;
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

/** One round: what is wrong now. */
export async function validationProblems(conn: ClusterConnection, nodes: readonly string[], signal: AbortSignal): Promise<ValidationProblem[]> {
  const [byName, pdbList, pendingList] = await Promise.all([
    batchNodes(conn, nodes, signal),
    send(conn, signal, (o) => conn.policy.listPodDisruptionBudgetForAllNamespaces({}, o)),
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
