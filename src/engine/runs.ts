/**
 * Runs as the operator sees them: plan an upgrade of a registered cluster, create the run (persisted, nothing moved
 * yet), and ask for pause, resume, cancel or rollback. Each command is an event applied to the stored state, so it
 * works from any process while an executor steps the run elsewhere.
 */
import type { AutomaticTrigger } from '../maintenance/scheduler.ts';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Acknowledgement } from '../checks/types.ts';
import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/clock.ts';
import { KupError } from '../errors/kup-error.ts';
import { connect } from '../kube-api/connect.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import { ClusterBusyError } from '../persistence/errors.ts';
import { newRunId } from '../persistence/runs-repo.ts';
import type { KupStore } from '../persistence/store.ts';
import { createRunState } from '../rollout/machine/state.ts';
import type { RunOptions, RunState } from '../rollout/machine/types.ts';
import type { ActionType, PlanChange, PlanTopology, PoolRolloutOptions, RolloutPlan } from '../rollout/plan-types.ts';
import { buildPlan, workerStrategyCosts } from '../rollout/plan.ts';
import type { Catalog, UpgradePath, WorkerStrategy } from '../versions/index.ts';
import { planUpgradePath } from '../versions/index.ts';
import { applyEvents, newRunColumns } from './apply-event.ts';
import { workloadPodCounts } from './control-plane-workloads.ts';
import { measuredEstimates } from './measured-estimates.ts';
import type { ClusterSession } from './cluster-session.ts';
import type { ActionSettings, EngineContext, EngineObserver } from './context.ts';
import { ProviderError, ProviderErrorCode } from './provider.ts';
import type { Provider, Topology } from './provider.ts';
import type { ProviderFactory } from './provider-factory.ts';

/** A cluster the engine can act on: its API connection and its provider. */
export interface OpenCluster {
  row: ClusterRow;
  conn: ReturnType<typeof connect>;
  provider: Provider;
}

/** A cluster not in the registry. */
export class ClusterNotRegisteredError extends KupError<'KUP-RUN-012', { readonly cluster: string }> {
  override readonly name = 'ClusterNotRegisteredError';
  constructor(readonly cluster: string) {
    super('KUP-RUN-012', `cluster "${cluster}" is not registered (kup cluster add ${cluster} --kubeconfig F --provider sim)`, {
      kind: 'not-found',
      details: { cluster },
    });
  }
}

/**
 * The request rate of the engine's connection. A run drains, watches and validates up to a tenth of a pool at once:
 * a hundred nodes' evictions in one batch. Under the connection's default (50/s, burst 100) a 1,000-node run spent
 * most of its time queued behind its own rate limiter (bench/rollout.ts). The API server protects itself with API
 * Priority and Fairness (it queues requests, and answers 429 when it must shed load), which is why controller-runtime
 * turned client-side limiting off by default; kup keeps a bucket, as a bound on a runaway loop, not as the pace.
 */
const ENGINE_RATE = { qps: 1000, burst: 2000 } as const;

/** Options of {@link openCluster}. */
export interface OpenClusterOptions {
  /** Builds the cluster's provider from its registered name and settings (the CLI passes kup's provider registry). */
  readonly providers: ProviderFactory;
  /** The clock the provider waits on. @default the wall clock */
  readonly clock?: Clock;
  /**
   * The kubeconfig document of a cluster whose kubeconfig is not a file (uploaded to the service, kept sealed in the
   * store): undefined for a cluster registered with a file. @default every cluster's kubeconfig is its file
   */
  readonly kubeconfigOf?: (row: ClusterRow) => Promise<string | undefined>;
  /** Told of each request to the cluster's API that failed (the service counts them per cluster). */
  readonly onApiError?: (cluster: string, status: number | undefined) => void;
}

/** Opens a registered cluster: its API connection and its provider. */
export async function openCluster(store: KupStore, name: string, options: OpenClusterOptions): Promise<OpenCluster> {
  const { providers, clock } = options;
  const row = await store.clusters.get(name);
  if (!row) throw new ClusterNotRegisteredError(name);
  const document = await options.kubeconfigOf?.(row);
  const source = document !== undefined ? { kubeconfig: document } : { kubeconfigPath: row.kubeconfigPath };
  const onApiError = options.onApiError;
  const conn = connect({
    ...source,
    ...(row.context ? { context: row.context } : {}),
    rate: ENGINE_RATE,
    ...(onApiError ? { onApiError: (status: number | undefined) => onApiError(row.name, status) } : {}),
  });
  const settings = (typeof row.providerSettings === 'object' && row.providerSettings !== null ? row.providerSettings : {}) as Record<string, unknown>;
  const provider = providers.create(row.provider, settings, { name: row.name, ...source, ...(row.context ? { context: row.context } : {}) }, clock ? { clock } : {});
  return { row, conn, provider };
}

/** What to upgrade to and how. */
export interface UpgradeRequest {
  /** Target Kubernetes version; absent for an image-only upgrade. */
  to?: string;
  /** New machine image for the pools moved (all, or `pools`). */
  image?: string;
  /** Only these pools (an image-only upgrade, or pools lagging). @default all */
  pools?: readonly string[];
  /** Pool options applied to every pool moved: batch policy, strategy, surge. */
  poolOptions?: PoolRolloutOptions;
  /** Soak after each batch, ms. @default 0 */
  soakMs?: number;
  /** A node's drain deadline, ms (`--drain-timeout`). @default 600000 */
  drainTimeoutMs?: number;
  /** How long a new or upgraded node may take to be Ready, ms (`--node-ready-timeout`). @default 900000 */
  nodeReadyTimeoutMs?: number;
  /** How long the API server may be unreachable before the run pauses, ms (`--unreachable-timeout`). @default 300000 */
  unreachableTimeoutMs?: number;
  /**
   * Requests a group of like effects (a blue-green move's cordons of its whole blue pool) has in flight at once
   * (`--api-concurrency`); kept with the run, so every executor of it keeps to it. @default 32
   */
  apiConcurrency?: number;
  workerStrategy?: WorkerStrategy;
  allowPreview?: boolean;
  allowExpired?: boolean;
  /** Run options: drain-timeout policy, pause expiry, retries. */
  run?: RunOptions;
  /**
   * `--implicit-budget off`: drains no longer keep all but one Ready of a workload with several replicas and no
   * PodDisruptionBudget. Kept with the run, so an executor that resumes it drains the same way. @default true
   */
  implicitBudget?: boolean;
  acknowledgements?: readonly Acknowledgement[];
  /**
   * Set when the maintenance scheduler started the run (an automatic upgrade in a window): why, what it upgrades,
   * and the window. Kept with the request, so the run's history says it was automatic. Absent: an operator's run.
   */
  trigger?: AutomaticTrigger;
  /** Set when a fleet rollout started the run: the rollout's idempotency key of this cluster's attempt. */
  rollout?: string;
}

/** Builds the plan for a request against the cluster as it is now. */
export async function planUpgrade(
  cluster: OpenCluster,
  request: UpgradeRequest,
  catalog: Catalog,
  now: number,
  signal: AbortSignal,
  estimates: Partial<Record<ActionType, number>> = {},
  clock: Clock = systemClock,
): Promise<{ plan: RolloutPlan; topology: Topology }> {
  const described = await cluster.provider.describeTopology(signal);
  // Pools the infrastructure rolls out by itself are not kup's to move (a note says so).
  const delegated = described.pools.filter((p) => p.rolloutBy === 'infrastructure');
  const topology: Topology = { ...described, pools: described.pools.filter((p) => p.rolloutBy !== 'infrastructure') };
  // A control-plane node that runs workloads is drained before its components move (kubeadm's runbook); an
  // image-only upgrade leaves the control plane alone.
  const workloads = request.to && cluster.provider.capabilities.drainsControlPlane !== true ? await workloadPodCounts(cluster.conn, topology.controlPlane.map((n) => n.node), signal, clock) : new Map<string, number>();
  const planTopology = toPlanTopology(topology, workloads);
  const chosen = (name: string) => request.pools === undefined || request.pools.length === 0 || request.pools.includes(name);
  const images = request.image ? Object.fromEntries(topology.pools.filter((p) => chosen(p.name)).map((p) => [p.name, request.image as string])) : undefined;
  let change: PlanChange;
  const pathOf = (workerStrategy?: WorkerStrategy): UpgradePath =>
    planUpgradePath(
      { controlPlane: lowestApiserver(topology), pools: topology.pools.map((p) => ({ name: p.name, kubelet: p.kubeletVersion })), target: request.to ?? '' },
      catalog,
      {
        now: new Date(now),
        ...(request.allowPreview ? { allowPreview: true } : {}),
        ...(request.allowExpired ? { allowExpired: true } : {}),
        ...(workerStrategy ? { workerStrategy } : {}),
      },
    );
  if (request.to) {
    const path = pathOf(request.workerStrategy);
    // An upgrade to the version the cluster runs would be a run that moves nothing, yet holds the cluster.
    if (path.kind === 'nothing-to-do' && !images) {
      throw new KupError('KUP-RUN-010', `cluster ${cluster.row.name} is already at ${path.to}: nothing to upgrade`, {
        kind: 'rejected',
        details: { cluster: cluster.row.name, version: path.to },
      });
    }
    change = { kind: 'version', path, ...(images ? { images } : {}) };
  } else if (images) {
    change = { kind: 'image', images };
  } else {
    throw new KupError('KUP-RUN-013', 'nothing to do: give --to VERSION, --image IMAGE, or both', { kind: 'invalid-input' });
  }
  refuseWhatTheProviderCannot(cluster, change, request);
  const pools = Object.fromEntries(topology.pools.map((p) => [p.name, request.poolOptions ?? {}]));
  const { snapshot } = cluster.provider.capabilities;
  const planOf = (planChange: PlanChange): RolloutPlan => {
    const built = buildPlan({
      cluster: cluster.row.name,
      topology: planTopology,
      change: planChange,
      pools,
      estimates,
      ...(request.soakMs ? { soakMs: request.soakMs } : {}),
      ...(snapshot ? {} : { snapshot: false }),
    });
    const notes = [
      ...delegated.map(
        (p) =>
          `pool ${p.name} is rolled out by the infrastructure (provider ${cluster.provider.name}) once the control ` +
          `plane has moved: kup does not replace its nodes`,
      ),
      ...(snapshot
        ? []
        : [
            `provider ${cluster.provider.name} takes no snapshot of the cluster's state: a rollback moves worker nodes ` +
              `back to their old version, and cannot bring back a control plane that moved`,
          ]),
    ];
    return notes.length === 0 ? built : { ...built, notes: [...built.notes, ...notes] };
  };
  const plan = planOf(change);
  refuseUnsupportedStrategies(plan, cluster.provider);
  if (change.kind !== 'version' || change.path.steps.filter((s) => s.kind === 'control-plane').length < 2) return { plan, topology: described };
  // Several hops: the other worker strategy's cost, so the operator sees what the choice saves or spends.
  const chosenStrategy = change.path.workerStrategy;
  const other: WorkerStrategy = chosenStrategy === 'minimal' ? 'follow' : 'minimal';
  const otherPlan = planOf({ ...change, path: pathOf(other) });
  const workerStrategies = workerStrategyCosts(chosenStrategy, [
    { workerStrategy: chosenStrategy, plan },
    { workerStrategy: other, plan: otherPlan },
  ]);
  return { plan: { ...plan, workerStrategies }, topology: described };
}

/**
 * Refuses, with the reason, a change the cluster's provider cannot make: an in-place strategy on a provider that only
 * replaces nodes, a control-plane downgrade on a provider that cannot lower a control plane (Cluster API).
 * @throws KupError KUP-RUN-011 (rejected).
 */
function refuseWhatTheProviderCannot(cluster: OpenCluster, change: PlanChange, request: UpgradeRequest): void {
  const { name, capabilities } = cluster.provider;
  const refuse = (message: string) =>
    new KupError('KUP-RUN-011', `cluster ${cluster.row.name}: ${message}`, {
      kind: 'rejected',
      details: { cluster: cluster.row.name, provider: name },
    });
  const strategies = [request.poolOptions?.strategy].filter((s) => s !== undefined);
  if (!capabilities.inPlace && strategies.includes('in-place')) {
    throw refuse(`provider ${name} cannot upgrade nodes in place, it replaces them: use --strategy replace`);
  }
  if (!capabilities.replace && strategies.includes('replace')) {
    throw refuse(`provider ${name} cannot replace nodes: use --strategy in-place`);
  }
  if (
    capabilities.controlPlaneDowngrade === false &&
    change.kind === 'version' &&
    change.path.kind === 'downgrade' &&
    change.path.steps.some((s) => s.kind === 'control-plane')
  ) {
    throw refuse(
      `provider ${name} cannot downgrade a control plane (Cluster API refuses a lower spec.version), so ` +
        `${change.path.from} -> ${change.path.to} is not possible; move back by restoring the cluster from a backup`,
    );
  }
}

/**
 * Refuses a plan that moves a pool in a way the cluster's provider cannot, naming the pool and what is missing.
 * @throws {ProviderError} `KUP-PROVIDER-011`.
 */
export function refuseUnsupportedStrategies(plan: RolloutPlan, provider: Provider): void {
  const can = provider.capabilities;
  for (const phase of plan.phases) {
    if (phase.kind !== 'pool') continue;
    const missing =
      phase.strategy === 'replace' && !can.replace
        ? 'cannot replace worker nodes'
        : phase.strategy === 'in-place' && !can.inPlace
          ? 'cannot upgrade worker nodes in place'
          : phase.strategy === 'blue-green' && can.blueGreen !== true
            ? 'cannot hold a green set of nodes beside the blue one'
            : undefined;
    if (missing === undefined) continue;
    throw new ProviderError(
      ProviderErrorCode.unsupported,
      `provider ${provider.name} ${missing}: pool ${phase.pool} cannot move by ${phase.strategy}`,
      { provider: provider.name, pool: phase.pool },
    );
  }
}

/** Creates a run (persisted, pending): nothing moves until an executor steps it. */
export async function createRun(store: KupStore, cluster: OpenCluster, request: UpgradeRequest, catalog: Catalog, clock: Clock, signal: AbortSignal): Promise<RunState> {
  const now = clock.now();
  const runId = newRunId(now);
  await refuseBusyCluster(store, cluster.row.name, now, runId);
  const { plan } = await planUpgrade(cluster, request, catalog, now, signal, await measuredEstimates(store, cluster.row.name), clock);
  const state = createRunState(plan, { runId, now, ...(request.run ?? {}) });
  await store.runs.create(
    // The request is kept beside the run: the executor needs the target and the acknowledgements, and the state only
    // ever holds what the machine owns.
    { id: runId, cluster: cluster.row.name, target: request.to ?? request.image ?? '', ...newRunColumns(state), request: serializableRequest(request), phase: state.status.phase, createdAt: now },
    [{ at: now, step: 'run', outcome: 'created', message: `run created: ${describeRequest(request)}` }],
  );
  return state;
}

/**
 * Refuses a new run, naming the one that owns the cluster, before the cluster is read for a plan: a cluster another
 * run owns may be in the middle of its upgrade (its API server restarting), and the operator asked for the refusal,
 * not for a read error. Paused runs past their limit end first. The write transaction decides for real (two kup
 * processes may pass this together).
 * @throws {ClusterBusyError} KUP-STORE-012 when a run on the cluster has not ended.
 */
export async function refuseBusyCluster(store: KupStore, cluster: string, now: number, refusedRun = 'a new run'): Promise<void> {
  await endExpiredPauses(store, cluster, now);
  const owner = (await store.runs.list({ cluster, active: true }))[0];
  if (owner !== undefined) throw new ClusterBusyError(cluster, { id: owner.id, phase: owner.phase }, refusedRun);
}

/**
 * Lets time pass for the cluster's paused runs (the machine's `tick`, committed): one paused past its limit has ended,
 * though no executor was there to see it, and must not hold the cluster against a new run (one run per cluster).
 */
async function endExpiredPauses(store: KupStore, cluster: string, now: number): Promise<void> {
  for (const run of await store.runs.list({ cluster, active: true })) {
    if (run.phase === 'paused') await applyEvents(store, run.id, [{ type: 'tick' }], now);
  }
}

/** The request a run was created with (kept beside its state: the executor needs the target and the acks). */
export async function runRequest(store: KupStore, runId: string): Promise<UpgradeRequest> {
  const row = await store.runs.get(runId);
  return (row?.request as UpgradeRequest | undefined) ?? {};
}

/**
 * The settings of a run's actions. `plan` is the run's plan: an image-only request has no `to`, and its prechecks and
 * postchecks check the cluster at the version it stays at (the plan's `to`).
 */
export function actionSettings(request: UpgradeRequest, overrides: Partial<ActionSettings> = {}, plan?: Pick<RolloutPlan, 'to' | 'phases'>): ActionSettings {
  const images = plan ? replacementImages(plan) : {};
  return {
    drainTimeoutMs: 600_000,
    nodeReadyTimeoutMs: 900_000,
    validateTimeoutMs: 600_000,
    targetVersion: request.to ?? plan?.to ?? '',
    acknowledgements: request.acknowledgements ?? [],
    implicitBudget: request.implicitBudget ?? true,
    precheck: {
      ...(request.allowExpired ? { allowExpired: true } : {}),
      ...(request.allowPreview ? { allowPreview: true } : {}),
      ...(request.workerStrategy ? { workerStrategy: request.workerStrategy } : {}),
      ...(request.implicitBudget === false ? { implicitBudget: false } : {}),
      ...(request.poolOptions?.strategy ? { nodeStrategy: request.poolOptions.strategy } : {}),
      ...(Object.keys(images).length > 0 ? { images } : {}),
      ...(plan && undrainedNodes(plan).length > 0 ? { undrainedNodes: undrainedNodes(plan) } : {}),
    },
    ...overrides,
  };
}

/** The control-plane nodes the plan does not drain: their pods are not the drain's to refuse (the precheck). */
export function undrainedNodes(plan: Pick<RolloutPlan, 'phases'>): string[] {
  return plan.phases.flatMap((phase) =>
    phase.kind === 'control-plane'
      ? phase.batches.flatMap((b) => b.steps.flatMap((s) => (s.kind === 'control-plane-node' && s.drain !== true ? [s.node] : [])))
      : [],
  );
}

/** The machine image each pool's replacements boot, where the plan names one (`--image`), by pool. */
export function replacementImages(plan: Pick<RolloutPlan, 'phases'>): Record<string, string> {
  const images: Record<string, string> = {};
  for (const phase of plan.phases) if (phase.kind === 'pool' && phase.to.image !== undefined) images[phase.pool] = phase.to.image;
  return images;
}

/**
 * Builds the context an executor needs for a run's cluster. The session must be over the cluster's connection; the
 * context's clock is the session's, so the actions and what they share wait on one clock.
 */
export function engineContext(cluster: OpenCluster, catalog: Catalog, session: ClusterSession, settings: ActionSettings, observer?: EngineObserver): EngineContext {
  if (session.conn !== cluster.conn) throw new Error(`the session of cluster ${session.cluster} is not over the connection of cluster ${cluster.row.name}`);
  return { cluster: cluster.row.name, conn: cluster.conn, provider: cluster.provider, catalog, clock: session.clock, session, settings, ...(observer ? { observer } : {}) };
}

/** An operator command on a run. */
export type RunCommand = 'pause' | 'resume' | 'cancel' | 'rollback';

/** What an operator command may carry. */
export interface RunCommandOptions {
  /** pause: the reason shown while paused. */
  readonly message?: string;
  /** resume: replace each failed step's replacement that never became Ready, instead of waiting for it again. */
  readonly replaceNode?: boolean;
}

/** Applies an operator command; the machine refuses what the run's status does not allow (with the reason). */
export async function commandRun(store: KupStore, runId: string, command: RunCommand, now: number, options: RunCommandOptions = {}): Promise<RunState> {
  const { message, replaceNode } = options;
  const event =
    command === 'pause'
      ? { type: 'pause-requested' as const, ...(message ? { message } : {}) }
      : command === 'resume'
        ? { type: 'resume-requested' as const, ...(replaceNode === true ? { replaceNode } : {}) }
        : command === 'cancel'
          ? { type: 'cancel-requested' as const }
          : { type: 'rollback-requested' as const };
  // A run paused past its limit has ended even if no executor was there to see the time pass (the executor's tick):
  // time passes first, and is committed whatever the machine says to the command.
  const { state, results } = await applyEvents(store, runId, [{ type: 'tick' }, event], now);
  const result = results[1];
  if (result?.ok !== true) throw result?.error;
  return state;
}

/** A lease owner id unique to this process. */
export function executorId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}

function toPlanTopology(t: Topology, workloadPods: ReadonlyMap<string, number>): PlanTopology {
  return {
    controlPlane: t.controlPlane.map((n) => ({
      node: n.node,
      kubeletVersion: n.kubeletVersion,
      components: n.components,
      machineImage: n.machineImage,
      workloadPods: workloadPods.get(n.node) ?? 0,
    })),
    pools: t.pools.map((p) => ({
      name: p.name,
      kubeletVersion: p.kubeletVersion,
      machineImage: p.machineImage,
      nodes: p.nodes.map((n) => ({ node: n.node, kubeletVersion: n.kubeletVersion, machineImage: n.machineImage })),
    })),
  };
}

function lowestApiserver(t: Topology): string {
  const versions = t.controlPlane.map((n) => n.components['kube-apiserver'] ?? n.kubeletVersion).map((v) => v.replace(/^v/, ''));
  versions.sort((a, b) => {
    const pa = a.split('.').map(Number);
    const pb = b.split('.').map(Number);
    for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
    return 0;
  });
  const lowest = versions[0];
  if (!lowest) throw new KupError('KUP-RUN-003', 'the provider reports no control-plane node', { kind: 'failed' });
  return lowest;
}

function serializableRequest(r: UpgradeRequest): UpgradeRequest {
  return JSON.parse(JSON.stringify(r)) as UpgradeRequest;
}

function describeRequest(r: UpgradeRequest): string {
  return [r.trigger ? 'automatic (maintenance window)' : undefined, r.rollout ? `rollout ${r.rollout.split('/')[0] ?? ''}` : undefined, r.to ? `to ${r.to}` : undefined, r.image ? `image ${r.image}` : undefined, r.pools?.length ? `pools ${r.pools.join(',')}` : undefined].filter(Boolean).join(', ');
}
