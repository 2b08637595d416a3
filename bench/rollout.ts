/**
 * Rollout benchmark (issue 4): one upgrade of a generated 1,000-node kube-sim cluster through the engine, against the
 * critical-path bound of its plan. kube-sim runs in its own process with timings that make every provider step take
 * a known time; kup runs as the real CLI in another (`kup upgrade --yes --wait`). The figures: the run's wall time,
 * the bound computed from the plan and the sim's timings ({@link criticalPathBound}), their ratio (goal <= 1.05), and
 * where the time went (per phase, per action, the batches furthest over their bound, the API requests) to show what
 * is overhead.
 *
 *   npm run bench:rollout -- [--nodes 1000] [--pods 10000] [--from 1.35.5] [--to 1.36.1] [--keep] [--profile DIR] [--evictions]
 *                            [--strategy blue-green [--drain-batch-size N|P%]]
 *
 * `--strategy blue-green` upgrades every pool blue-green (a green node beside each, blue cordoned, drained in batches,
 * deleted); the bound counts a green batch as a boot and its new nodes' DaemonSet pods, and each drain batch as its
 * budget rounds (and soak); cordoning and deleting blue are API calls, which the model gives no time. The output says
 * so per pool, with the pods its drains evict: with the generated cluster, the sim's scheduler (the most free CPU
 * wins) put every workload pod on compute-1's 16-CPU nodes, so general-1's drains evict nothing and its bound is its
 * green boot alone (2.3 s); the whole run's time over that is overhead.
 * `--keep` leaves the data directory (the run and its events, and with `--rounds` the budgets' statuses as seen, in
 * budget-events.json) in place and prints where it is; `--profile DIR` writes
 * V8 CPU profiles of the kup and kube-sim processes there (open them in Chrome's DevTools); `--evictions` watches
 * the pods during the run (a load of its own on the sim) and prints the bound again with the pods each drain found;
 * `--rounds` watches the budgets and splits each budget round into the sim's share (an eviction until the budget
 * allows the next: the replacement created, bound, started, counted) and kup's (that status until kup's next
 * eviction under the budget, both network hops included).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Watch } from '@kubernetes/client-node';
import { labelSelectorObjectMatches } from '../src/k8s/label-selector.ts';
import { connect } from '../src/kube-api/connect.ts';
import { loadRun } from '../src/engine/apply-event.ts';
import type { RunEvent as StoredRunEvent } from '../src/persistence/events-repo.ts';
import { openSqliteStore } from '../src/persistence/store.ts';
import type { ActionType, PlanPhase, PlanStep, RolloutPlan } from '../src/rollout/plan-types.ts';
import { stepActions } from '../src/rollout/plan-steps.ts';
import type { RunState } from '../src/rollout/machine/types.ts';
import { api } from '../test/helpers/sim.ts';

// ---- the bound -----------------------------------------------------------------------------------------------------

/** The sim's timings that make a rollout take time, in ms (GET /sim/v1/timings). */
interface RolloutTimings {
  /** A new machine until its Node is registered and Ready. */
  readonly nodeBoot: number;
  /** A pod bound to a Ready node until it is Ready. */
  readonly podStart: number;
  /** A terminating pod until it is gone (the sim's cap on the grace period). */
  readonly podTermination: number;
  /** One control-plane component or kubelet restart. */
  readonly componentRestart: number;
  /** The API unreachable while the only kube-apiserver restarts. */
  readonly apiUnavailable: number;
}

/** What the bound needs to know of the cluster besides the plan, as it was when the run started. */
interface BoundCluster {
  /** Whether the control plane's etcd changes version (the sim restarts etcd only then). */
  readonly etcdChanges: boolean;
  /** The cluster has one control-plane node (its apiserver restart makes the API unavailable). */
  readonly singleControlPlane: boolean;
  /**
   * The pods a drain evicts (not DaemonSet or mirror pods), by node: for each, the PodDisruptionBudget that guards it
   * (`namespace/name`), or `''` for none.
   */
  readonly evictions: ReadonlyMap<string, readonly string[]>;
  /** Each budget's disruptionsAllowed. */
  readonly disruptionsAllowed: ReadonlyMap<string, number>;
}

/** The bound, and its parts by phase. */
interface Bound {
  readonly totalMs: number;
  readonly phases: readonly {
    readonly key: string;
    readonly label: string;
    readonly batches: number;
    readonly ms: number;
  }[];
  /** Of which, time the budgets impose: drains that must evict in rounds. */
  readonly budgetRoundsMs: number;
  /** Each batch's bound and the eviction rounds its budgets impose, by batch key. */
  readonly batches: ReadonlyMap<string, { readonly ms: number; readonly rounds: number }>;
}

/**
 * The critical-path bound of a rollout plan on kube-sim: the least wall time any executor could take, whatever its
 * overhead. The model:
 * - phases run one after the other, and so do the batches of a phase (a batch starts when the one before it and its
 *   gate are done); the node steps of a batch run in parallel, so a batch lasts as long as its longest step, plus
 *   what its drains and gate must wait for together;
 * - only what the sim times takes time: a control-plane node restarts each component that changes, one after the
 *   other, then its kubelet (`componentRestart` each; etcd only when its version changes), and with a single
 *   control-plane node the API is down `apiUnavailable` from the kube-apiserver's restart; a replacement boots
 *   (`nodeBoot`) until Ready; an in-place upgrade restarts the kubelet (`componentRestart`); a drain waits for the
 *   evicted pods to terminate (`podTermination`), and the batch's validation for their replacements to be Ready
 *   (`podStart` from the eviction, overlapping the termination), for batches whose nodes hold such pods; the
 *   validation also waits for the DaemonSet pods of the new nodes, which start (`podStart`) once a node is Ready;
 * - PodDisruptionBudgets: a budget allowing `d` disruptions whose workload has `k` pods on the batch's nodes lets
 *   them go in ceil(k / d) rounds, and each round but the last waits for the replacements of the one before to be
 *   Ready (`podStart`) before the budget allows another eviction; a ReplicaSet or StatefulSet of several replicas
 *   that no budget selects is a budget allowing one (kup's implicit budget). Pods are counted where they ran when the run
 *   started: the pods a batch evicts start again on the new nodes (the emptiest: the sim schedules to the least
 *   allocated), which no later batch drains;
 * - everything else takes no time: prechecks and postchecks, the snapshot, cordons, deletes, API round trips,
 *   commits of the run's state, polling. A soak lasts its duration.
 */
function criticalPathBound(plan: RolloutPlan, timings: RolloutTimings, cluster: BoundCluster): Bound {
  let budgetRoundsMs = 0;
  const batches = new Map<string, { ms: number; rounds: number }>();
  const phases = plan.phases.map((phase) => {
    const ms = phase.batches.reduce((sum, batch) => {
      const steps = Math.max(0, ...batch.steps.map((s) => stepBound(s, timings, cluster)));
      const rounds = budgetRounds(batch.steps, cluster);
      const drains = drainsBound(rounds, timings);
      // A new node's DaemonSet pods (kube-proxy, the CNI: every node runs some) start once it is Ready.
      const newNodes = batch.steps.some(
        (s) => s.kind === 'worker-node' && (s.strategy === 'replace' || s.blueGreen?.stage === 'green'),
      )
        ? timings.podStart
        : 0;
      budgetRoundsMs += Math.max(0, rounds - 1) * timings.podStart;
      const ms = steps + Math.max(drains, newNodes) + batch.soakMs;
      batches.set(batch.key, { ms, rounds });
      return sum + ms;
    }, 0);
    return { key: phase.key, label: phaseLabel(phase), batches: phase.batches.length, ms };
  });
  return { totalMs: phases.reduce((sum, p) => sum + p.ms, 0), phases, budgetRoundsMs, batches };
}

/** What a batch's drains take together in `rounds` budget rounds: the last round's pods terminate, each other's start. */
function drainsBound(rounds: number, t: RolloutTimings): number {
  return rounds > 0 ? Math.max(t.podTermination, t.podStart) + (rounds - 1) * t.podStart : 0;
}

/** The time a step takes before and after its drain (the drains of a batch are counted together). */
function stepBound(step: PlanStep, t: RolloutTimings, cluster: BoundCluster): number {
  switch (step.kind) {
    case 'snapshot':
    case 'postcheck':
      return 0;
    case 'control-plane-node': {
      const components = step.components.filter(
        (c) => c.component !== 'kubelet' && (c.component !== 'etcd' || cluster.etcdChanges),
      );
      const restarts = components.length + 1;
      const apiserverAt = components.findIndex((c) => c.component === 'kube-apiserver');
      const apiBack =
        cluster.singleControlPlane && apiserverAt >= 0 ? apiserverAt * t.componentRestart + t.apiUnavailable : 0;
      return Math.max(restarts * t.componentRestart, apiBack);
    }
    case 'worker-node':
      // A blue-green step boots only in its green stage; its cordon, drain (counted with the batch) and delete take none.
      if (step.blueGreen !== undefined) return step.blueGreen.stage === 'green' ? t.nodeBoot : 0;
      return step.strategy === 'in-place' ? t.componentRestart : t.nodeBoot;
  }
}

/** Eviction rounds the batch's drains need together: 1 for pods no budget limits, 0 when nothing is evicted. */
function budgetRounds(steps: readonly PlanStep[], cluster: BoundCluster): number {
  // A control-plane node that runs workloads is drained too (its step's `drain`).
  // A blue-green move drains only in its drain batches.
  const drained = (s: PlanStep): boolean => stepActions(s).includes('drain');
  const pods = steps.flatMap((s) => (drained(s) && 'node' in s ? (cluster.evictions.get(s.node) ?? []) : []));
  if (pods.length === 0) return 0;
  const perBudget = new Map<string, number>();
  for (const budget of pods) if (budget !== '') perBudget.set(budget, (perBudget.get(budget) ?? 0) + 1);
  let rounds = 1;
  for (const [budget, k] of perBudget)
    rounds = Math.max(rounds, Math.ceil(k / Math.max(1, cluster.disruptionsAllowed.get(budget) ?? 1)));
  return rounds;
}

/**
 * How the bound of each pool move is made up, for the output: the pods its drains evict (counted where they ran at
 * the start), then per kind of batch what the model gives it. A blue-green move: the green batch boots its nodes
 * (nodeBoot, the sim makes them all at once) and starts their DaemonSet pods (podStart); cordoning blue and deleting
 * it take no time; each drain batch takes its budget rounds and its soak; the final soak its length. A pool whose
 * nodes run no pod a drain evicts (only DaemonSet pods) is bounded by its boot alone.
 */
function boundByPool(
  plan: RolloutPlan,
  bound: Bound,
  t: RolloutTimings,
  evictions: ReadonlyMap<string, readonly string[]>,
): string[] {
  const lines = ['\nthe bound by pool (pods a drain evicts are counted where they ran when the run started):'];
  for (const phase of plan.phases) {
    if (phase.kind !== 'pool') continue;
    const slots = new Set(phase.batches.flatMap((b) => b.steps.map((s) => ('node' in s ? s.node : ''))));
    const pods = [...slots].reduce((n, node) => n + (evictions.get(node)?.length ?? 0), 0);
    const parts = new Map<string, { batches: number; ms: number; rounds: number; soakMs: number }>();
    for (const batch of phase.batches) {
      const stage = batch.key.split('/').pop() ?? '';
      const kind = stage.startsWith('drain-') ? 'drain batches' : stage.startsWith('batch-') ? 'batches' : stage;
      const own = bound.batches.get(batch.key) ?? { ms: 0, rounds: 0 };
      const part = parts.get(kind) ?? { batches: 0, ms: 0, rounds: 0, soakMs: 0 };
      parts.set(kind, {
        batches: part.batches + 1,
        ms: part.ms + own.ms,
        rounds: part.rounds + own.rounds,
        soakMs: part.soakMs + batch.soakMs,
      });
    }
    const described = [...parts].map(([kind, p]) => {
      const why =
        kind === 'green'
          ? ` = nodeBoot ${t.nodeBoot} + podStart ${t.podStart} (the green nodes' DaemonSet pods)`
          : kind === 'cordon-blue' || kind === 'delete-blue'
            ? ' (API calls only)'
            : kind === 'final-soak'
              ? ' (its length)'
              : `, ${p.rounds} eviction round(s)${p.soakMs > 0 ? `, soaks ${fmt(p.soakMs)}` : ''}`;
      return `${kind}${p.batches > 1 ? ` x${p.batches}` : ''} ${fmt(p.ms)}${why}`;
    });
    lines.push(
      `  ${phaseLabel(phase)} (${slots.size} nodes, ${pods} pods to evict${pods === 0 ? ': its nodes run only DaemonSet pods, so its drains wait for nothing' : ''}): ${described.join('; ')}`,
    );
  }
  return lines;
}

function phaseLabel(phase: PlanPhase): string {
  switch (phase.kind) {
    case 'snapshot':
      return 'snapshot';
    case 'control-plane':
      return `control plane -> ${phase.to}`;
    case 'pool':
      return `pool ${phase.pool}`;
    case 'validation':
      return 'postcheck';
  }
}

// ---- what the run did ----------------------------------------------------------------------------------------------

/** One pool batch as it ran: its longest step (and that step's actions), its gate, its whole time. */
interface MeasuredBatch {
  readonly key: string;
  readonly steps: number;
  readonly longestStepMs: number;
  /** The longest step's time from the batch's start to its first action's start, then per action. */
  readonly longestStep: ReadonlyMap<string, number>;
  readonly gateMs: number;
  readonly totalMs: number;
}

/** Where a run's time went, from its events. */
interface Measured {
  readonly totalMs: number;
  readonly precheckMs: number;
  readonly phases: ReadonlyMap<string, number>;
  /** Per action: how many, total ms, longest. */
  readonly actions: ReadonlyMap<string, { n: number; ms: number; max: number }>;
  /** Per pool batch: its longest step, its gate, and its whole time from the end of the batch before. */
  readonly batches: readonly MeasuredBatch[];
}

function measure(state: RunState, events: readonly StoredRunEvent[]): Measured {
  const at = (pred: (e: StoredRunEvent) => boolean) => events.find(pred)?.at;
  const started = at((e) => e.outcome === 'started' && e.step === 'run') ?? events[0]!.at;
  const ended = at((e) => e.outcome === 'succeeded' && e.step === 'run') ?? events[events.length - 1]!.at;
  const precheckDone = at((e) => e.outcome === 'precheck') ?? started;
  const byStep = new Map<string, StoredRunEvent[]>();
  for (const e of events) {
    const list = byStep.get(e.step) ?? [];
    list.push(e);
    byStep.set(e.step, list);
  }
  const actions = new Map<string, { n: number; ms: number; max: number }>();
  const note = (action: string, ms: number) => {
    const a = actions.get(action) ?? { n: 0, ms: 0, max: 0 };
    a.n += 1;
    a.ms += ms;
    a.max = Math.max(a.max, ms);
    actions.set(action, a);
  };
  const phases = new Map<string, number>();
  const batches: MeasuredBatch[] = [];
  let phaseStart = precheckDone;
  for (const phase of state.plan.phases) {
    let batchStart = phaseStart;
    for (const batch of phase.batches) {
      let stepsEnd = batchStart;
      let longest = 0;
      let longestStep = new Map<string, number>();
      for (const step of batch.steps) {
        const own = byStep.get(step.key) ?? [];
        // A step's first action starts when the step does: its `started` event, else the batch's start.
        let t = own.find((e) => e.outcome === 'started')?.at ?? batchStart;
        const begin = t;
        const times = new Map([['start', begin - batchStart]]);
        for (const action of stepActions(step)) {
          const done = own.find(
            (e) => e.outcome === 'succeeded' && (e.data as { action?: string } | undefined)?.action === action,
          );
          if (!done) continue;
          note(action, done.at - t);
          times.set(action, done.at - t);
          t = done.at;
        }
        if (t - begin > longest) {
          longest = t - begin;
          longestStep = times;
        }
        stepsEnd = Math.max(stepsEnd, t);
      }
      let end = stepsEnd;
      for (const action of batch.gate) {
        const done = (byStep.get(batch.key) ?? []).find(
          (e) => e.outcome === 'succeeded' && (e.data as { action?: string } | undefined)?.action === action,
        );
        if (!done) continue;
        note(action, done.at - end);
        end = done.at;
      }
      if (phase.kind === 'pool')
        batches.push({
          key: batch.key,
          steps: batch.steps.length,
          longestStepMs: longest,
          longestStep,
          gateMs: end - stepsEnd,
          totalMs: end - batchStart,
        });
      batchStart = end;
    }
    phases.set(phase.key, batchStart - phaseStart);
    phaseStart = batchStart;
  }
  return { totalMs: ended - started, precheckMs: precheckDone - started, phases, actions, batches };
}

/** The time the model gives each action (for the table): what the sim times, 0 for the rest. */
function modelOf(action: ActionType, t: RolloutTimings): string {
  switch (action) {
    case 'replace-node':
      return `${t.nodeBoot} (nodeBoot)`;
    case 'drain':
      return `${t.podTermination} (podTermination), + ${t.podStart} (podStart) per budget round`;
    case 'validate-batch':
      return `the new nodes' DaemonSet pods and the moved pods starting (${t.podStart}, podStart), past the drain`;
    case 'upgrade-node-in-place':
      return `${t.componentRestart} (componentRestart)`;
    case 'upgrade-cp-node':
      return `n x ${t.componentRestart} (componentRestart)`;
    default:
      return '0';
  }
}

// ---- the bench -----------------------------------------------------------------------------------------------------

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10000' },
    from: { type: 'string', default: '1.35.5' },
    to: { type: 'string', default: '1.36.1' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
    evictions: { type: 'boolean', default: false },
    rounds: { type: 'boolean', default: false },
    strategy: { type: 'string' },
    'drain-batch-size': { type: 'string' },
  },
});
const ROOT = resolve(import.meta.dirname, '..');
const KUP = join(ROOT, 'bin', 'kup.mjs');
const NODES = Number(values.nodes);
const PODS = Number(values.pods);
const dir = mkdtempSync(join(tmpdir(), 'kup-bench-rollout-'));
const dataDir = join(dir, 'data');
/** Node flags of the measured processes: CPU profiles when asked. */
const NODE_FLAGS = values.profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile)}`] : [];

/** Every step the sim times takes a known time; heartbeats are slow so that 1,000 kubelets do not load the sim. */
const TIMINGS = {
  nodeBoot: 2000,
  podStart: 300,
  podTermination: 300,
  componentRestart: 500,
  apiUnavailable: 500,
  nodeHeartbeat: 10_000,
  nodeMonitorGrace: 40_000,
};

function scenarioYaml(): string {
  return `name: bench-rollout
kubernetesVersion: '${values.from}'
generate: { nodes: ${NODES}, pods: ${PODS}, seed: 1 }
timings: { ${Object.entries(TIMINGS)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }
`;
}

/** A budget's status as the bench's watch saw it. */
interface BudgetEvent {
  readonly at: number;
  readonly allowed: number;
  readonly disrupted: readonly string[];
}

/**
 * The budget rounds of one eviction each (a status that records one new disrupted pod, the next such status of the
 * same budget 0.25 to 2 s later), each split where the budget first allowed a disruption again; and the gaps again by
 * the round's place in its budget's run of rounds in one batch (the first, the second, the later ones), to tell the
 * rounds slowed by a batch's start (its evictions, replacements and new nodes all at once) from the steady ones.
 * Sorted, in ms. `runs`: each budget's runs of rounds (consecutive, in one batch), the longest first: the longest run
 * of a batch is its critical chain, where every ms over the bound counts.
 */
function roundsOf(events: ReadonlyMap<string, readonly BudgetEvent[]>): {
  gaps: number[];
  sim: number[];
  kup: number[];
  byPlace: [number[], number[], number[]];
  runs: { budget: string; rounds: number; gapMs: number; simMs: number; kupMs: number }[];
} {
  const gaps: number[] = [];
  const sim: number[] = [];
  const kup: number[] = [];
  const byPlace: [number[], number[], number[]] = [[], [], []];
  const runs: { budget: string; rounds: number; gapMs: number; simMs: number; kupMs: number }[] = [];
  for (const [budget, list] of events) {
    let seen = new Set<string>();
    let evictedAt: number | undefined;
    let allowedAt: number | undefined;
    let place = 0;
    for (const e of list) {
      const added = e.disrupted.filter((pod) => !seen.has(pod));
      seen = new Set(e.disrupted);
      if (added.length === 0) {
        if (e.allowed > 0 && evictedAt !== undefined && allowedAt === undefined) allowedAt = e.at;
        continue;
      }
      const gap = evictedAt === undefined ? undefined : e.at - evictedAt;
      if (gap === undefined || gap > 2000) {
        place = 0;
        runs.push({ budget, rounds: 0, gapMs: 0, simMs: 0, kupMs: 0 });
      }
      if (added.length === 1 && gap !== undefined && gap >= 250 && gap <= 2000 && allowedAt !== undefined && evictedAt !== undefined) {
        gaps.push(gap);
        sim.push(allowedAt - evictedAt);
        kup.push(e.at - allowedAt);
        byPlace[Math.min(place, 2)]?.push(gap);
        place += 1;
        const run = runs[runs.length - 1];
        if (run) {
          run.rounds += 1;
          run.gapMs += gap;
          run.simMs += allowedAt - evictedAt;
          run.kupMs += e.at - allowedAt;
        }
      }
      evictedAt = e.at;
      allowedAt = undefined;
    }
  }
  for (const list of [gaps, sim, kup, ...byPlace]) list.sort((a, b) => a - b);
  runs.sort((a, b) => b.rounds - a.rounds);
  return { gaps, sim, kup, byPlace, runs };
}

/** User + system CPU seconds of a live process (Linux /proc; undefined elsewhere or once it has exited). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function kup(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [KUP, ...args], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function startSim(): Promise<{
  child: ChildProcess;
  kubeconfigPath: string;
  cluster: { url: string; token: string; caCertPem: string };
  readyMs: number;
}> {
  const scenarioPath = join(dir, 'scenario.yaml');
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(scenarioPath, scenarioYaml());
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, KUP, 'sim', 'start', '--scenario', scenarioPath, '--kubeconfig', kubeconfigPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('serving https://')) ok();
    });
    child.once('exit', (code) => fail(new Error(`kube-sim exited ${code}: ${out}`)));
  });
  const conn = connect({ kubeconfig: readFileSync(kubeconfigPath, 'utf8') });
  const cluster = {
    url: conn.server,
    token: String(conn.kubeConfig.getCurrentUser()?.token ?? ''),
    caCertPem: Buffer.from(conn.kubeConfig.getCurrentCluster()?.caData ?? '', 'base64').toString('utf8'),
  };
  return { child, kubeconfigPath, cluster, readyMs: performance.now() - t0 };
}

interface PodItem {
  metadata: {
    namespace: string;
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name?: string }[];
    annotations?: Record<string, string>;
  };
  spec?: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** A ReplicaSet or StatefulSet: its desired replicas decide whether kup keeps an implicit budget for its pods. */
interface ControllerItem {
  metadata: { namespace: string; name: string };
  spec?: { replicas?: number };
}

interface BudgetItem {
  metadata: { namespace: string; name: string };
  spec: {
    selector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    };
  };
  status?: { disruptionsAllowed?: number };
}

/**
 * Whether a budget selects a pod: same namespace, and policy/v1 selector semantics (a missing selector selects no pod,
 * an empty one every pod of the namespace), as kube-sim's eviction applies them.
 */
function selects(budget: BudgetItem, pod: PodItem): boolean {
  return (
    budget.metadata.namespace === pod.metadata.namespace &&
    labelSelectorObjectMatches(budget.spec.selector, pod.metadata.labels)
  );
}

/**
 * The evictable pods per node and the budget guarding each (the tightest when several do; a pod no budget selects,
 * the implicit budget of its controller when that wants several replicas), as the bound needs them. `controllers`:
 * desired replicas by `Kind/namespace/name`.
 */
function evictionsOf(
  pods: readonly PodItem[],
  budgets: readonly BudgetItem[],
  controllers: ReadonlyMap<string, number>,
): { evictions: Map<string, string[]>; disruptionsAllowed: Map<string, number> } {
  const disruptionsAllowed = new Map(
    budgets.map((b) => [`${b.metadata.namespace}/${b.metadata.name}`, b.status?.disruptionsAllowed ?? 0]),
  );
  const evictions = new Map<string, string[]>();
  for (const pod of pods) {
    if (
      pod.metadata.ownerReferences?.[0]?.kind === 'DaemonSet' ||
      pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined
    )
      continue;
    const node = pod.spec?.nodeName;
    if (node === undefined) continue;
    const guarding = budgets
      .filter((b) => selects(b, pod))
      .map((b) => `${b.metadata.namespace}/${b.metadata.name}`)
      .sort((a, b) => (disruptionsAllowed.get(a) ?? 0) - (disruptionsAllowed.get(b) ?? 0));
    const owner = pod.metadata.ownerReferences?.[0];
    const controller = owner ? `${owner.kind}/${pod.metadata.namespace}/${owner.name ?? ''}` : '';
    if (guarding.length === 0 && (controllers.get(controller) ?? 0) > 1) {
      guarding.push(`implicit ${controller}`);
      disruptionsAllowed.set(`implicit ${controller}`, 1);
    }
    const list = evictions.get(node) ?? [];
    list.push(guarding[0] ?? '');
    evictions.set(node, list);
  }
  return { evictions, disruptionsAllowed };
}

async function getJson<T>(cluster: { url: string; token: string; caCertPem: string }, path: string): Promise<T> {
  const res = await api(cluster, 'GET', path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body as T;
}

/** Requests kube-sim answered so far: by `verb resource[/subresource] code`, and every HTTP request (infra API too). */
async function requestCounts(cluster: {
  url: string;
  token: string;
  caCertPem: string;
}): Promise<{ byKind: Map<string, number>; http: number }> {
  const res = await api(cluster, 'GET', '/metrics', undefined, { Accept: 'text/plain' });
  const byKind = new Map<string, number>();
  let http = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.startsWith('kubesim_http_requests_total ')) http = Number(line.split(' ').pop());
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(line)?.[1] ?? '';
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? `/${label('subresource')}` : ''} ${label('code')}`;
    byKind.set(key, (byKind.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return { byKind, http };
}

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function pad(text: string, n: number): string {
  return text.length >= n ? text : text + ' '.repeat(n - text.length);
}

async function main(): Promise<void> {
  console.log(
    `rollout bench: ${NODES} worker nodes, ${PODS} pods, ${values.from} -> ${values.to}${values.strategy ? ` (${values.strategy})` : ''}; timings ${JSON.stringify(TIMINGS)}`,
  );
  const sim = await startSim();
  try {
    console.log(`kube-sim ready in ${fmt(sim.readyMs)} (own process)`);
    // Set-up, before anything is measured: every pod Ready, so the run starts from a settled cluster.
    const settleDeadline = Date.now() + 300_000;
    let pods: PodItem[] = [];
    let podsVersion = '';
    for (;;) {
      const list = await getJson<{ items: PodItem[]; metadata: { resourceVersion: string } }>(
        sim.cluster,
        '/api/v1/pods',
      );
      pods = list.items;
      podsVersion = list.metadata.resourceVersion;
      const ready = pods.every(
        (p) => p.spec?.nodeName && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (ready) break;
      if (Date.now() > settleDeadline) throw new Error('the generated cluster did not settle in 5 minutes');
      await new Promise((r) => setTimeout(r, 1000));
    }
    // The generator adds bare debug pods, which a drain (kubectl's, and kup's without force) refuses: they go first,
    // as an operator would remove them before an upgrade the precheck refuses for them.
    const bare = pods.filter(
      (p) =>
        (p.metadata.ownerReferences ?? []).length === 0 &&
        p.metadata.annotations?.['kubernetes.io/config.mirror'] === undefined,
    );
    for (const p of bare) {
      const res = await api(
        sim.cluster,
        'DELETE',
        `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}?gracePeriodSeconds=0`,
      );
      if (res.status >= 300 && res.status !== 404)
        throw new Error(`cannot delete ${p.metadata.namespace}/${p.metadata.name}: ${res.status}`);
    }
    pods = pods.filter((p) => !bare.includes(p));
    const timings = await getJson<RolloutTimings>(sim.cluster, '/sim/v1/timings');
    const before = await getJson<{ controlPlane: { name: string; components: Record<string, string> }[] }>(
      sim.cluster,
      '/sim/v1/topology',
    );
    const budgetList = await getJson<{ items: BudgetItem[]; metadata: { resourceVersion: string } }>(
      sim.cluster,
      '/apis/policy/v1/poddisruptionbudgets',
    );
    const budgets = budgetList.items;
    const budgetsVersion = budgetList.metadata.resourceVersion;
    const controllers = new Map<string, number>();
    for (const [kind, path] of [['ReplicaSet', 'replicasets'], ['StatefulSet', 'statefulsets']] as const) {
      const list = await getJson<{ items: ControllerItem[] }>(sim.cluster, `/apis/apps/v1/${path}`);
      for (const c of list.items) controllers.set(`${kind}/${c.metadata.namespace}/${c.metadata.name}`, c.spec?.replicas ?? 1);
    }
    const { evictions, disruptionsAllowed } = evictionsOf(pods, budgets, controllers);

    const added = await kup([
      'cluster',
      'add',
      'bench',
      '--kubeconfig',
      sim.kubeconfigPath,
      '--provider',
      'sim',
      '--data-dir',
      dataDir,
    ]);
    if (added.code !== 0) throw new Error(`kup cluster add: ${added.stderr || added.stdout}`);

    // Which pods each drain actually evicted (the first time a pod is seen terminating, where it ran): pods the drains
    // of one batch move can land on nodes a later batch drains, which moves them again.
    const evicted = new Map<string, PodItem>();
    const podWatch = !values.evictions
      ? undefined
      : await new Watch(connect({ kubeconfig: readFileSync(sim.kubeconfigPath, 'utf8') }).kubeConfig).watch(
          '/api/v1/pods',
          { resourceVersion: podsVersion },
          (_type: string, pod: PodItem & { metadata: { uid?: string; deletionTimestamp?: unknown } }) => {
            if (
              pod.metadata.deletionTimestamp !== undefined &&
              (pod.metadata.ownerReferences ?? []).length > 0 &&
              pod.metadata.uid !== undefined &&
              !evicted.has(pod.metadata.uid)
            )
              evicted.set(pod.metadata.uid, pod);
          },
          () => {},
        );
    const budgetEvents = new Map<string, BudgetEvent[]>();
    const budgetWatch = !values.rounds
      ? undefined
      : await new Watch(connect({ kubeconfig: readFileSync(sim.kubeconfigPath, 'utf8') }).kubeConfig).watch(
          '/apis/policy/v1/poddisruptionbudgets',
          { resourceVersion: budgetsVersion },
          (_type: string, pdb: BudgetItem & { status?: { disruptedPods?: Record<string, string> } }) => {
            const key = `${pdb.metadata.namespace}/${pdb.metadata.name}`;
            const list = budgetEvents.get(key) ?? [];
            list.push({
              at: performance.now(),
              allowed: pdb.status?.disruptionsAllowed ?? 0,
              disrupted: Object.keys(pdb.status?.disruptedPods ?? {}),
            });
            budgetEvents.set(key, list);
          },
          () => {},
        );
    const requestsBefore = await requestCounts(sim.cluster);
    const simCpuBefore = cpuSeconds(sim.child.pid);
    const log = join(dir, 'upgrade.log');
    const out = createWriteStream(log);
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...NODE_FLAGS,
        KUP,
        'upgrade',
        'bench',
        '--to',
        values.to,
        ...(values.strategy !== undefined ? ['--strategy', values.strategy] : []),
        ...(values['drain-batch-size'] !== undefined ? ['--drain-batch-size', values['drain-batch-size']] : []),
        '--yes',
        '--wait',
        '--data-dir',
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    // The process's CPU time, read while it lives (its /proc entry goes with it).
    let kupCpu = 0;
    const sampler = setInterval(() => (kupCpu = cpuSeconds(child.pid) ?? kupCpu), 250);
    const code = await new Promise<number>((done) => child.once('exit', (c) => done(c ?? 1)));
    clearInterval(sampler);
    const processMs = performance.now() - t0;
    const simCpu = (cpuSeconds(sim.child.pid) ?? 0) - (simCpuBefore ?? 0);
    if (code !== 0) throw new Error(`kup upgrade exited ${code}; see ${log}`);

    podWatch?.abort();
    budgetWatch?.abort();
    // With --keep, the budgets' statuses as the watch saw them (ms since the bench started), to follow one chain.
    if (values.keep && budgetWatch) writeFileSync(join(dir, 'budget-events.json'), JSON.stringify(Object.fromEntries(budgetEvents)));
    const requestsAfter = await requestCounts(sim.cluster);
    const store = openSqliteStore({ dataDir });
    let state: RunState;
    let events: readonly StoredRunEvent[];
    try {
      const runId = (await store.runs.list({ cluster: 'bench', limit: 1 }))[0]?.id ?? '';
      state = (await loadRun(store, runId)).state;
      events = await store.events.list(runId);
    } finally {
      await store.close();
    }
    if (state.status.phase !== 'succeeded') throw new Error(`the run ended ${state.status.phase}; see ${log}`);
    const after = await getJson<{ controlPlane: { name: string; components: Record<string, string> }[] }>(
      sim.cluster,
      '/sim/v1/topology',
    );
    const etcdChanges = before.controlPlane.some(
      (n) => after.controlPlane.find((m) => m.name === n.name)?.components['etcd'] !== n.components['etcd'],
    );

    const bound = criticalPathBound(state.plan, timings, {
      etcdChanges,
      singleControlPlane: before.controlPlane.length === 1,
      evictions,
      disruptionsAllowed,
    });
    const moved = evictionsOf([...evicted.values()], budgets, controllers).evictions;
    const movedBound = criticalPathBound(state.plan, timings, {
      etcdChanges,
      singleControlPlane: before.controlPlane.length === 1,
      evictions: moved,
      disruptionsAllowed,
    });
    const count = (m: ReadonlyMap<string, readonly string[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
    const m = measure(state, events);
    const poolBatches = state.plan.phases.filter((p) => p.kind === 'pool').map((p) => p.batches.length);

    console.log(
      `\nplan: ${state.plan.phases.length} phases; ${before.controlPlane.length} control-plane nodes; pool batches ${poolBatches.join(' + ')} (sizes ${state.plan.phases
        .filter((p) => p.kind === 'pool')
        .map((p) => p.batches.map((b) => b.steps.length).join(','))
        .join(' | ')})`,
    );
    console.log(`\n${pad('phase', 28)}${pad('batches', 9)}${pad('run', 12)}${pad('bound', 12)}ratio`);
    console.log(`${pad('precheck', 28)}${pad('', 9)}${pad(fmt(m.precheckMs), 12)}${pad(fmt(0), 12)}`);
    for (const p of bound.phases) {
      const ran = m.phases.get(p.key) ?? 0;
      console.log(
        `${pad(p.label, 28)}${pad(String(p.batches), 9)}${pad(fmt(ran), 12)}${pad(fmt(p.ms), 12)}${p.ms > 0 ? (ran / p.ms).toFixed(3) : '-'}`,
      );
    }
    for (const line of boundByPool(state.plan, bound, timings, evictions)) console.log(line);
    console.log(`\n${pad('action', 24)}${pad('n', 7)}${pad('mean', 12)}${pad('max', 12)}model`);
    for (const [action, a] of [...m.actions.entries()].sort((x, y) => y[1].ms - x[1].ms)) {
      console.log(
        `${pad(action, 24)}${pad(String(a.n), 7)}${pad(`${Math.round(a.ms / a.n)} ms`, 12)}${pad(`${a.max} ms`, 12)}${modelOf(action as ActionType, timings)}`,
      );
    }
    const over = (b: (typeof m.batches)[number]) => b.totalMs - (bound.batches.get(b.key)?.ms ?? 0);
    console.log(`\npool batches furthest over their bound (run = longest step + gate, from the batch's start):`);
    for (const b of [...m.batches].sort((x, y) => over(y) - over(x)).slice(0, 6)) {
      const own = bound.batches.get(b.key);
      console.log(
        `  ${pad(b.key.split('/').slice(-3).join('/'), 30)}${pad(`${b.steps} nodes`, 10)}run ${pad(`${b.totalMs} ms`, 10)} (step ${b.longestStepMs} + gate ${b.gateMs})  bound ${pad(`${own?.ms ?? 0} ms`, 10)} ${own?.rounds ?? 0} eviction round(s)`,
      );
    }

    // Each batch's time over its bound, by where its longest step spent it: against the model's share (the drain its
    // rounds, the boot nodeBoot, the rest nothing); what is left is the time between the longest step's end and the
    // last one's.
    const overBy = new Map<string, number>();
    const add = (part: string, ms: number) => overBy.set(part, (overBy.get(part) ?? 0) + ms);
    for (const b of m.batches) {
      const rounds = bound.batches.get(b.key)?.rounds ?? 0;
      const model = (part: string): number => {
        if (part === 'drain') return drainsBound(rounds, timings);
        return part === 'wait-node-ready' ? timings.nodeBoot : 0;
      };
      let accounted = 0;
      for (const [part, ms] of b.longestStep) {
        add(part, ms - model(part));
        accounted += ms;
      }
      add('gate', b.gateMs);
      add('rest', b.totalMs - accounted - b.gateMs);
    }
    console.log(
      `  over the bound in all pool batches, by part of each one's longest step: ${[...overBy]
        .map(([part, ms]) => `${part} ${fmt(ms)}`)
        .join(', ')}`,
    );

    const deltas = [...requestsAfter.byKind.entries()]
      .map(([k, n]): [string, number] => [k, n - (requestsBefore.byKind.get(k) ?? 0)])
      .filter(([, n]) => n > 0);
    const resourceTotal = deltas.reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `\nAPI requests during the run: ${resourceTotal} resource requests (${(resourceTotal / (processMs / 1000)).toFixed(0)}/s), ${requestsAfter.http - requestsBefore.http - 1} HTTP in all (infrastructure API included); most: ${deltas
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );

    const ratio = m.totalMs / bound.totalMs;
    console.log(
      `CPU time during the run: kube-sim ${simCpu.toFixed(1)} s (${((simCpu * 100_000) / processMs).toFixed(0)} % of one core), kup ${kupCpu.toFixed(1)} s (${((kupCpu * 100_000) / processMs).toFixed(0)} %)`,
    );
    console.log(`\nrun (started -> succeeded): ${fmt(m.totalMs)}   kup upgrade process: ${fmt(processMs)}`);
    console.log(
      `critical-path bound:        ${fmt(bound.totalMs)}  (of which ${fmt(bound.budgetRoundsMs)} for drains that PodDisruptionBudgets make evict in rounds)`,
    );
    console.log(
      `run / bound:                ${ratio.toFixed(3)}  (goal <= 1.05: ${ratio <= 1.05 ? 'met' : 'NOT met'})`,
    );
    if (budgetWatch) {
      const r = roundsOf(budgetEvents);
      const q = (list: number[], p: number) => `${Math.round(list[Math.floor((list.length - 1) * p)] ?? 0)}`;
      console.log(
        `budget rounds (${r.gaps.length}, one eviction each, from the budgets' statuses as a watch saw them), ms p50 / p90:` +
          `\n  eviction to eviction ${q(r.gaps, 0.5)} / ${q(r.gaps, 0.9)} (the bound counts ${timings.podStart})` +
          `\n  sim: eviction until the budget allows the next ${q(r.sim, 0.5)} / ${q(r.sim, 0.9)}` +
          `\n  kup: that status until kup's next eviction ${q(r.kup, 0.5)} / ${q(r.kup, 0.9)}` +
          `\n  by place in a batch's run of rounds, first / second / later (n, p50 / p90, ms over the bound in all): ` +
          r.byPlace
            .map((l) => `${l.length}, ${q(l, 0.5)} / ${q(l, 0.9)}, ${fmt(l.reduce((sum, g) => sum + Math.max(0, g - timings.podStart), 0))}`)
            .join('; ') +
          `\n  the longest runs of rounds (a batch's critical chain), mean ms per round (sim + kup): ` +
          r.runs
            .slice(0, 6)
            .map((run) => {
              const mean = (ms: number) => (ms / Math.max(1, run.rounds)).toFixed(0);
              return `${run.rounds} x ${mean(run.gapMs)} (${mean(run.simMs)} + ${mean(run.kupMs)})`;
            })
            .join(', '),
      );
    }
    if (podWatch)
      console.log(
        `pods evicted: ${count(moved)} (${count(evictions)} ran on the workers at the start); with the pods each drain found, the bound is ${fmt(movedBound.totalMs)} and run / bound ${(m.totalMs / movedBound.totalMs).toFixed(3)}`,
      );
  } finally {
    await new Promise<void>((done) => {
      if (sim.child.exitCode !== null) return done();
      sim.child.once('exit', () => done());
      sim.child.kill('SIGTERM');
    });
    if (values.keep) console.log(`data and logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
