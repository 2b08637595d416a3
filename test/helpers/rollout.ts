/**
 * End-to-end rollout helpers: a kube-sim cluster registered in a fresh kup data directory, runs driven through the
 * engine in-process (createRun + executeRun, as `kup upgrade --wait` does) or through the real CLI process, and the
 * checks of the cluster after a run, read the way any client would (the Kubernetes API and the infrastructure API).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../../src/clock/wait-for.ts';
import { ClusterRegistry } from '../../src/clusters/registry.ts';
import type { Clock } from '../../src/clock/clock.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { loadRun } from '../../src/engine/apply-event.ts';
import { ClusterSession } from '../../src/engine/cluster-session.ts';
import { executeRun } from '../../src/engine/executor.ts';
import type { RunCommand, RunCommandOptions, UpgradeRequest } from '../../src/engine/runs.ts';
import { actionSettings, commandRun, createRun, engineContext, executorId, openCluster } from '../../src/engine/runs.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { RunEvent as StoredRunEvent } from '../../src/persistence/events-repo.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import { builtInProviders } from '../../src/providers/registry.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';
import type { ActionSettings } from '../../src/engine/context.ts';
import type { RunState } from '../../src/rollout/machine/types.ts';
import type { Catalog } from '../../src/versions/index.ts';
import { defaultCatalog } from '../../src/versions/index.ts';
import { api, startFromYaml } from './sim.ts';

/** The wall clock with abortable sleeps: the sim runs in real time, so the engine does too. */
export const wallClock: Clock = systemClock;

/** The providers the fixtures' clusters are registered with and driven by: kup's own. */
export const providers = builtInProviders();

/** Scenario timings for end-to-end rollouts, as a YAML line: a node boots in half a second, a pod starts in 0.2 s. */
export const FAST_TIMINGS = `timings: { podStart: 200, podTermination: 200, nodeBoot: 500, componentRestart: 200, apiUnavailable: 300, nodeHeartbeat: 500, nodeMonitorGrace: 5000 }`;

/** A simulated cluster registered with kup in a data directory of its own. */
export interface RolloutFixture {
  readonly sim: SimCluster;
  /** The cluster's name in kup's registry. */
  readonly name: string;
  readonly dataDir: string;
  readonly kubeconfigPath: string;
  readonly store: KupStore;
  /** Stops the sim and closes the store. */
  close(): Promise<void>;
}

/** Options of {@link startRolloutFixture}. */
export interface RolloutFixtureOptions {
  /** Register the cluster in kup's registry (in-process); false leaves that to the test (`kup cluster add`). @default true */
  readonly register?: boolean;
}

/** Starts kube-sim from `yaml` and registers it as `name` (provider sim) in a new data directory. */
export async function startRolloutFixture(name: string, yaml: string, options: RolloutFixtureOptions = {}): Promise<RolloutFixture> {
  const dir = mkdtempSync(join(tmpdir(), `kup-rollout-${name}-`));
  const dataDir = join(dir, 'data');
  const kubeconfigPath = join(dir, 'kubeconfig');
  const sim = await startFromYaml(yaml);
  writeFileSync(kubeconfigPath, sim.kubeconfig, { mode: 0o600 });
  const store = openSqliteStore({ dataDir });
  try {
    if (options.register !== false) await new ClusterRegistry({ clusters: store.clusters, now: () => Date.now(), providers }).add({ name, kubeconfigPath, provider: 'sim' });
  } catch (err) {
    await store.close();
    await sim.stop();
    throw err;
  }
  return {
    sim,
    name,
    dataDir,
    kubeconfigPath,
    store,
    close: async () => {
      await store.close();
      await sim.stop();
    },
  };
}

/** What a run driven to its end left behind. */
export interface FinishedRun {
  readonly state: RunState;
  readonly events: readonly StoredRunEvent[];
}

/** Options of {@link runToEnd}. */
export interface RunToEndOptions {
  /** Overrides of the actions' settings (drain and node timeouts). */
  readonly settings?: Partial<ActionSettings>;
  /** @default the shipped catalog */
  readonly catalog?: Catalog;
  /** Gives up (aborts the executor and fails) after this long. @default 90000 */
  readonly timeoutMs?: number;
}

/**
 * Creates a run for `request` and executes it in this process until it ends, with an executor of a unique owner
 * (as `kup upgrade --wait` does); resolves with the final state and the run's stored events.
 */
export async function runToEnd(fx: RolloutFixture, request: UpgradeRequest, options: RunToEndOptions = {}): Promise<FinishedRun> {
  const catalog = options.catalog ?? defaultCatalog();
  const timeoutMs = options.timeoutMs ?? 90_000;
  // A pause waits for an operator who is not there: stop at once and fail with its cause rather than at the timeout.
  const paused = new AbortController();
  const signal = AbortSignal.any([paused.signal, AbortSignal.timeout(timeoutMs)]);
  const cluster = await openCluster(fx.store, fx.name, { providers, clock: wallClock });
  const created = await createRun(fx.store, cluster, request, catalog, wallClock, signal);
  const session = new ClusterSession({ cluster: fx.name, conn: cluster.conn, clock: wallClock });
  const state = await executeRun({
    store: fx.store,
    runId: created.runId,
    owner: executorId(),
    signal,
    pollMs: 50,
    ctx: engineContext(cluster, catalog, session, actionSettings(request, options.settings, created.plan)),
    onState: (s) => {
      if (s.status.phase === 'paused') paused.abort(new Error(`run ${s.runId} paused`));
    },
  }).finally(() => session.close());
  const events = await fx.store.events.list(created.runId);
  if (paused.signal.aborted) assert.fail(`run ${created.runId} paused: ${describeRun(state, events)}`);
  if (signal.aborted) assert.fail(`run ${created.runId} did not end within ${timeoutMs} ms: ${describeRun(state, events)}`);
  return { state, events };
}

/** One line on a run and its last events, for failure messages. */
export function describeRun(state: RunState, events: readonly StoredRunEvent[]): string {
  const tail = events
    .slice(-8)
    .map((e) => `${e.outcome} ${e.step}${e.node ? ` ${e.node}` : ''}: ${e.message}`)
    .join('\n  ');
  return `${JSON.stringify(state.status)}\n  ${tail}`;
}

/** The result of `node bin/kup.mjs ...`. */
export interface KupProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const KUP_BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');

/** Runs the real kup command line in a child process with KUP_DATA_DIR set to the fixture's data directory. */
export function kupProcess(dataDir: string, args: readonly string[], timeoutMs = 120_000): Promise<KupProcessResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [KUP_BIN, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUP_DATA_DIR: dataDir } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

// ---- the cluster after a run ---------------------------------------------------------------------------------------

/** A node as the Kubernetes API shows it. */
export interface NodeView {
  readonly name: string;
  readonly kubeletVersion: string;
  /** status.nodeInfo.osImage: the machine image the node booted from. */
  readonly osImage: string;
  readonly unschedulable: boolean;
  /** `key:effect` of each taint kup puts on a node (`kup.dev/...`). */
  readonly kupTaints: readonly string[];
  readonly ready: boolean;
  readonly pool: string | undefined;
  readonly controlPlane: boolean;
}

interface ListOf<T> {
  items: T[];
}

interface NodeObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: { key: string; effect: string }[] };
  status?: { nodeInfo?: { kubeletVersion?: string; osImage?: string }; conditions?: { type: string; status: string }[] };
}

async function getJson<T>(sim: SimCluster, path: string): Promise<T> {
  // The sim may inject API errors (apiErrorRate): a read of the final state tries again on a 5xx.
  for (let attempt = 0; ; attempt++) {
    const res = await api(sim, 'GET', path);
    if (res.status === 200) return res.body as T;
    if (res.status < 500 || attempt >= 20) assert.fail(`GET ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every node, from GET /api/v1/nodes. */
export async function listNodes(sim: SimCluster): Promise<NodeView[]> {
  const list = await getJson<ListOf<NodeObject>>(sim, '/api/v1/nodes');
  return list.items.map((n) => ({
    name: n.metadata.name,
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? '',
    osImage: n.status?.nodeInfo?.osImage ?? '',
    unschedulable: n.spec?.unschedulable === true,
    kupTaints: (n.spec?.taints ?? []).filter((t) => t.key.startsWith('kup.dev/')).map((t) => `${t.key}:${t.effect}`),
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    pool: n.metadata.labels?.['kup.dev/pool'],
    controlPlane: n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined,
  }));
}

/** What one group of nodes (the control plane, or a pool) must run after the run. */
export interface ExpectedNodes {
  /** Kubelet version, without the `v`. */
  readonly version: string;
  /** The machine image (status.nodeInfo.osImage); absent: not checked. */
  readonly image?: string;
  /** How many nodes. */
  readonly count: number;
}

/** What the whole cluster must look like after a run. */
export interface ExpectedCluster {
  /** What /version reports (gitVersion without the `v`). */
  readonly version: string;
  readonly controlPlane: ExpectedNodes;
  readonly pools: Readonly<Record<string, ExpectedNodes>>;
}

/**
 * Asserts the cluster after a run, through the Kubernetes API and the infrastructure API: `/version`; every node's
 * kubelet version and machine image per group, Ready and not cordoned; the infrastructure's topology agreeing (no
 * machine left over or missing); no node left with a kup taint; no Pending pod; every Deployment at its replicas and Ready.
 */
export async function assertClusterAt(sim: SimCluster, expected: ExpectedCluster): Promise<void> {
  const version = await getJson<{ gitVersion: string }>(sim, '/version');
  assert.equal(version.gitVersion, `v${expected.version}`, '/version');

  const nodes = await listNodes(sim);
  const groups: [string, ExpectedNodes, NodeView[]][] = [
    ['control plane', expected.controlPlane, nodes.filter((n) => n.controlPlane)],
    ...Object.entries(expected.pools).map(([pool, want]): [string, ExpectedNodes, NodeView[]] => [`pool ${pool}`, want, nodes.filter((n) => n.pool === pool)]),
  ];
  for (const [what, want, have] of groups) {
    assert.equal(have.length, want.count, `${what}: ${have.map((n) => n.name).join(', ')}`);
    for (const n of have) {
      assert.equal(n.kubeletVersion, `v${want.version}`, `${what}: kubelet of ${n.name}`);
      if (want.image !== undefined) assert.equal(n.osImage, want.image, `${what}: machine image of ${n.name}`);
      assert.equal(n.ready, true, `${what}: ${n.name} is Ready`);
    }
  }
  assert.equal(nodes.length, groups.reduce((sum, [, , have]) => sum + have.length, 0), `no node outside the expected groups: ${nodes.map((n) => n.name).join(', ')}`);
  assert.deepEqual(
    nodes.filter((n) => n.unschedulable).map((n) => n.name),
    [],
    'nodes left cordoned',
  );
  assert.deepEqual(
    nodes.filter((n) => n.kupTaints.length > 0).map((n) => `${n.name} ${n.kupTaints.join(',')}`),
    [],
    'nodes left tainted by kup',
  );

  // The infrastructure agrees: one running machine per node, at the same version and image.
  const topology = await getJson<SimTopology>(sim, '/sim/v1/topology');
  const machines = [...topology.controlPlane, ...topology.pools.flatMap((p) => p.nodes)];
  assert.deepEqual(machines.map((m) => m.name).sort(), nodes.map((n) => n.name).sort(), 'machines and nodes');
  assert.equal(topology.kubernetesVersion, expected.version, 'topology: kubernetesVersion');
  for (const m of machines) {
    const node = nodes.find((n) => n.name === m.name);
    assert.equal(`v${m.kubeletVersion.replace(/^v/, '')}`, node?.kubeletVersion, `machine ${m.name}: kubelet`);
    assert.equal(m.machineImage, node?.osImage, `machine ${m.name}: image`);
  }
  for (const cp of topology.controlPlane) {
    for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) {
      assert.equal(cp.components?.[component]?.replace(/^v/, ''), expected.version, `${cp.name}: ${component}`);
    }
  }

  const pods = await getJson<ListOf<{ metadata: { namespace: string; name: string }; spec?: { nodeName?: string }; status?: { phase?: string } }>>(sim, '/api/v1/pods');
  assert.deepEqual(
    pods.items.filter((p) => p.status?.phase === 'Pending').map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    [],
    'Pending pods',
  );
  const names = new Set(nodes.map((n) => n.name));
  assert.deepEqual(
    pods.items.filter((p) => p.spec?.nodeName !== undefined && !names.has(p.spec.nodeName)).map((p) => `${p.metadata.namespace}/${p.metadata.name} on ${p.spec?.nodeName}`),
    [],
    'pods bound to nodes that are gone',
  );

  const deployments = await getJson<ListOf<{ metadata: { namespace: string; name: string }; spec: { replicas?: number }; status?: { readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number } }>>(
    sim,
    '/apis/apps/v1/deployments',
  );
  assert.ok(deployments.items.length > 0, 'the scenario has Deployments');
  for (const d of deployments.items) {
    const want = d.spec.replicas ?? 1;
    assert.equal(d.status?.readyReplicas ?? 0, want, `deployment ${d.metadata.namespace}/${d.metadata.name}: ready replicas`);
    assert.equal(d.status?.availableReplicas ?? 0, want, `deployment ${d.metadata.namespace}/${d.metadata.name}: available replicas`);
  }
}

interface SimTopology {
  kubernetesVersion: string;
  controlPlane: { name: string; kubeletVersion: string; machineImage: string; components?: Record<string, string> }[];
  pools: { name: string; nodes: { name: string; kubeletVersion: string; machineImage: string }[] }[];
}

/** The nodes of the sim's topology, by group (`control-plane` or the pool's name): name -> machine image. */
export async function machineImages(sim: SimCluster): Promise<Record<string, Record<string, string>>> {
  const topology = await getJson<SimTopology>(sim, '/sim/v1/topology');
  return {
    'control-plane': Object.fromEntries(topology.controlPlane.map((m) => [m.name, m.machineImage])),
    ...Object.fromEntries(topology.pools.map((p) => [p.name, Object.fromEntries(p.nodes.map((m) => [m.name, m.machineImage]))])),
  };
}

interface AvailabilityReport {
  workloads: { namespace: string; kind: string; name: string; replicas: number; tracking: boolean; pdb?: string; minReady?: number; deleted: boolean }[];
  intervals: { namespace: string; kind: string; name: string; type: string; from: number; to?: number; minReady: number; desiredHealthy?: number; pdb?: string }[];
}

/**
 * Asserts kube-sim's availability monitor saw no interval below a PDB's desiredHealthy and none at zero replicas for
 * any workload with at least two replicas, with a PDB or without one (kup's drains keep all but one of those Ready:
 * their implicit budget), and that each of the `expected` workloads (`namespace/name`) is such a workload and was
 * tracked (so the check is not vacuous).
 */
export async function assertNoOutage(sim: SimCluster, expected: readonly string[]): Promise<void> {
  const report = await getJson<AvailabilityReport>(sim, '/sim/v1/availability');
  const covered = report.workloads.filter((w) => w.replicas >= 2 && !w.deleted);
  const coveredNames = new Set(covered.map((w) => `${w.namespace}/${w.name}`));
  for (const name of expected) {
    const w = covered.find((x) => `${x.namespace}/${x.name}` === name);
    assert.ok(w, `workload ${name} has >= 2 replicas (the monitor knows ${[...coveredNames].join(', ')})`);
    assert.equal(w.tracking, true, `the availability monitor tracks ${name}`);
  }
  const outages = report.intervals.filter((i) => coveredNames.has(`${i.namespace}/${i.name}`));
  assert.deepEqual(outages, [], 'availability intervals below a PDB or at zero');
}

// ---- the run's events ----------------------------------------------------------------------------------------------

/** A node step of a run as its event log tells it. */
export interface LoggedStep {
  readonly key: string;
  /** The node the `started` event names (for a worker slot moved twice, the node that replaced it first). */
  readonly node: string;
  /** Seq of its `started` event. */
  readonly startedSeq: number;
  /** Seq of its `step done` event. */
  readonly doneSeq: number;
  /** The node its `step done` event names. */
  readonly doneNode: string | undefined;
}

/** A batch of a run as its event log tells it: its node steps in plan order, and its gate's validation. */
export interface LoggedBatch {
  readonly key: string;
  readonly phase: 'control-plane' | 'pool';
  /** The pool, for a pool batch. */
  readonly pool?: string;
  readonly steps: readonly LoggedStep[];
  /** Seq of the gate's `validate-batch` success; absent for control-plane batches (they have no gate). */
  readonly validatedSeq?: number;
}

/**
 * Reads a successful run's log against its plan and asserts it tells the truth: seqs 1..n with no gap; the last event
 * says the run succeeded; every control-plane and worker step of the plan has a `started` and a `step done` event
 * naming its node, in that order; each batch's steps all start before any of them is done (they run together); a
 * batch starts only after the previous one is done and validated; phases follow the plan's order; no step failed.
 * `retries` allows `retrying` events (automatic retries of a transient failure). Returns the batches as logged.
 */
export function assertTruthfulLog(state: RunState, events: readonly StoredRunEvent[], options: { retries?: boolean } = {}): LoggedBatch[] {
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'the event log is numbered 1..n without a gap',
  );
  const last = events.at(-1);
  assert.equal(state.status.phase, 'succeeded', describeRun(state, events));
  assert.equal(last?.outcome, 'succeeded', `the last event: ${JSON.stringify(last)}`);
  assert.equal(last?.step, 'run');
  assert.match(last?.message ?? '', /^upgrade finished: /);
  const unexpected = events.filter((e) => ['failed', 'paused', 'quarantined', 'forced', 'cancelling', 'cancelled', 'expired', 'rolling-back'].includes(e.outcome));
  assert.deepEqual(unexpected, [], 'no step failed, paused or was forced');
  if (!options.retries) assert.deepEqual(events.filter((e) => e.outcome === 'retrying'), [], 'no step was retried');

  const started = new Map(events.filter((e) => e.outcome === 'started' && e.step !== 'run').map((e) => [e.step, e]));
  const done = new Map(events.filter((e) => e.outcome === 'succeeded' && e.message === 'step done').map((e) => [e.step, e]));
  const actionOf = (e: StoredRunEvent): unknown => (typeof e.data === 'object' && e.data !== null && 'action' in e.data ? e.data.action : undefined);
  const validated = new Map(events.filter((e) => e.outcome === 'succeeded' && actionOf(e) === 'validate-batch').map((e) => [e.step, e.seq]));
  const batches: LoggedBatch[] = [];
  for (const phase of state.plan.phases) {
    if (phase.kind !== 'control-plane' && phase.kind !== 'pool') continue;
    for (const batch of phase.batches) {
      const steps = batch.steps.map((step): LoggedStep => {
        const s = started.get(step.key);
        const d = done.get(step.key);
        assert.ok(s, `step ${step.key} has a started event`);
        assert.ok(d, `step ${step.key} has a step-done event`);
        assert.ok(s.node, `the started event of ${step.key} names its node`);
        assert.ok(s.seq < d.seq, `${step.key} started before it was done`);
        return { key: step.key, node: s.node, startedSeq: s.seq, doneSeq: d.seq, doneNode: d.node };
      });
      const validatedSeq = validated.get(batch.key);
      if (phase.kind === 'pool') assert.ok(validatedSeq !== undefined, `batch ${batch.key} was validated`);
      batches.push({ key: batch.key, phase: phase.kind, ...(phase.kind === 'pool' ? { pool: phase.pool } : {}), steps, ...(validatedSeq !== undefined ? { validatedSeq } : {}) });
    }
  }
  for (const [i, batch] of batches.entries()) {
    const firstDone = Math.min(...batch.steps.map((s) => s.doneSeq));
    const lastStart = Math.max(...batch.steps.map((s) => s.startedSeq));
    assert.ok(lastStart < firstDone, `the steps of ${batch.key} ran together (all started before the first was done)`);
    if (batch.validatedSeq !== undefined) assert.ok(batch.validatedSeq > Math.max(...batch.steps.map((s) => s.doneSeq)), `${batch.key} was validated after its steps`);
    const previous = batches[i - 1];
    if (!previous) continue;
    const previousEnd = Math.max(previous.validatedSeq ?? 0, ...previous.steps.map((s) => s.doneSeq));
    const firstStart = Math.min(...batch.steps.map((s) => s.startedSeq));
    assert.ok(firstStart > previousEnd, `${batch.key} started (seq ${firstStart}) after ${previous.key} was done and validated (seq ${previousEnd})`);
  }
  return batches;
}

// ---- runs steered while they execute -------------------------------------------------------------------------------

/** A run executing in the background of a test (as `kup work --run` does), which the test steers as an operator. */
export interface SteeredRun {
  readonly runId: string;
  /** The executor: resolves with the state it stopped at (terminal, or the last one it read when stopped). */
  readonly done: Promise<RunState>;
  /** The run's state as stored now. */
  state(): Promise<RunState>;
  /** The run's stored events. */
  events(): Promise<readonly StoredRunEvent[]>;
  /** `kup pause|resume|cancel|rollback RUN`: applies the command to the stored run, as another kup process would. */
  command(command: RunCommand, options?: string | RunCommandOptions): Promise<RunState>;
  /** Polls the stored state until `predicate` holds; fails naming `what` and the run's last events. */
  waitFor(what: string, predicate: (state: RunState) => boolean, timeoutMs?: number): Promise<RunState>;
  /**
   * How many times the executor has looked at the run (a state committed or read anew): a test that asserts the
   * executor did nothing waits for it to have looked a few more times, instead of sleeping.
   */
  rounds(): number;
  /** Stops the executor (not the run) and waits for it; resolves with its last state. */
  stop(): Promise<RunState>;
}

/** Options of {@link steerRun}. */
export interface SteerRunOptions extends RunToEndOptions {
  /** Only create the run; start no executor (`done` stays pending until `stop`). @default false */
  readonly noExecutor?: boolean;
}

/**
 * Creates a run for `request` and starts an executor for it in the background with the wall clock. The executor
 * keeps stepping through pauses and resumes and ends when the run does (or on `stop`, or after `timeoutMs`).
 */
export async function steerRun(fx: RolloutFixture, request: UpgradeRequest, options: SteerRunOptions = {}): Promise<SteeredRun> {
  const catalog = options.catalog ?? defaultCatalog();
  const stopper = new AbortController();
  const signal = AbortSignal.any([stopper.signal, AbortSignal.timeout(options.timeoutMs ?? 90_000)]);
  const cluster = await openCluster(fx.store, fx.name, { providers, clock: wallClock });
  const created = await createRun(fx.store, cluster, request, catalog, wallClock, signal);
  const runId = created.runId;
  const state = async () => (await loadRun(fx.store, runId)).state;
  let rounds = 0;
  const session = new ClusterSession({ cluster: fx.name, conn: cluster.conn, clock: wallClock });
  const done = options.noExecutor
    ? new Promise<RunState>((resolve) => stopper.signal.addEventListener('abort', () => resolve(state()), { once: true }))
    : executeRun({
        store: fx.store,
        runId,
        owner: executorId(),
        signal,
        pollMs: 50,
        onState: () => (rounds += 1),
        ctx: engineContext(cluster, catalog, session, actionSettings(request, options.settings, created.plan)),
      }).finally(() => session.close());
  // Awaited by the test (or by stop); marked handled so a failing test does not also report an unhandled rejection.
  done.catch(() => undefined);
  const events = () => fx.store.events.list(runId);
  return {
    runId,
    done,
    state,
    events,
    command: (command, options) =>
      commandRun(fx.store, runId, command, wallClock.now(), typeof options === 'string' ? { message: options } : options),
    waitFor: (what, predicate, timeoutMs = 30_000) =>
      waitFor(
        async () => {
          const s = await state();
          return predicate(s) ? s : undefined;
        },
        { message: async () => `${what} in run ${runId}: ${describeRun(await state(), await events())}`, timeoutMs, intervalMs: 25 },
      ),
    rounds: () => rounds,
    stop: async () => {
      stopper.abort(new Error('the test stopped the executor'));
      return done;
    },
  };
}

/** Keys of the run's worker-node steps (not batch gates) that have an action in flight. */
export function poolStepsInFlight(state: RunState): string[] {
  // A worker step's unit names its node; a batch's gate (validate, soak) has none.
  return Object.values(state.units)
    .filter((u) => u.key.startsWith('pool/') && u.node !== undefined && u.inFlight !== null)
    .map((u) => u.key);
}

/** Whether no unit of the run has an action in flight (every started step has finished or failed). */
export function nothingInFlight(state: RunState): boolean {
  return Object.values(state.units).every((u) => u.inFlight === null);
}

// ---- the cluster while a run is steered ----------------------------------------------------------------------------

/** A machine of the sim's infrastructure, as GET /sim/v1/topology shows it. */
export interface SimMachine {
  readonly name: string;
  readonly kubeletVersion: string;
  readonly machineImage: string;
  /** `booting`, `running`, `stopped`. */
  readonly state: string;
  /** `healthy`, `not-ready`, `never-ready`. */
  readonly health: string;
}

/** The machines of one pool, sorted by name. */
export async function poolMachines(sim: SimCluster, pool: string): Promise<SimMachine[]> {
  const topology = await getJson<{ pools: { name: string; nodes: SimMachine[] }[] }>(sim, '/sim/v1/topology');
  const found = topology.pools.find((p) => p.name === pool);
  assert.ok(found, `the sim has pool ${pool}`);
  return [...found.nodes].sort((a, b) => a.name.localeCompare(b.name));
}

/** One node's labels and cordon, from GET /api/v1/nodes/NAME. */
export async function nodeDetails(sim: SimCluster, name: string): Promise<{ labels: Record<string, string>; unschedulable: boolean; ready: boolean }> {
  const n = await getJson<NodeObject>(sim, `/api/v1/nodes/${encodeURIComponent(name)}`);
  return {
    labels: n.metadata.labels ?? {},
    unschedulable: n.spec?.unschedulable === true,
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  };
}

/** A pod: where it runs and whether it is Ready. */
export interface PodView {
  readonly name: string;
  readonly node: string | undefined;
  readonly phase: string | undefined;
  readonly ready: boolean;
  readonly terminating: boolean;
}

/** The pods of a namespace matching a label selector (`app=web`), sorted by name. */
export async function podsOf(sim: SimCluster, namespace: string, selector: string): Promise<PodView[]> {
  const list = await getJson<
    ListOf<{
      metadata: { name: string; deletionTimestamp?: string };
      spec?: { nodeName?: string };
      status?: { phase?: string; conditions?: { type: string; status: string }[] };
    }>
  >(sim, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return list.items
    .map((p) => ({
      name: p.metadata.name,
      node: p.spec?.nodeName,
      phase: p.status?.phase,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      terminating: p.metadata.deletionTimestamp !== undefined,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every interval kube-sim's availability monitor recorded (below a PDB's desiredHealthy, or at zero). */
export async function availabilityIntervals(sim: SimCluster): Promise<AvailabilityReport['intervals']> {
  return (await getJson<AvailabilityReport>(sim, '/sim/v1/availability')).intervals;
}

/** PUT /sim/v1/faults: sets the given faults (the others stay as they are). */
export async function setFaults(sim: SimCluster, faults: Record<string, unknown>): Promise<void> {
  const res = await api(sim, 'PUT', '/sim/v1/faults', faults);
  assert.equal(res.status, 200, `PUT /sim/v1/faults: ${JSON.stringify(res.body)}`);
}
