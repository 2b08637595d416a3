/**
 * The fleet rollout state machine: `transitionRollout(state, event, now) -> { state, effects }`, pure like a run's.
 * Persist the returned state (with its `emit-event` records) before performing the effects; on restart perform
 * {@link pendingRolloutEffects}.
 *
 * - A stage starts when the one before it finished healthy: its approval first when it has a gate, then a health
 *   baseline of its clusters, then runs, at most `maxConcurrency` at a time, then a soak watched by health gates.
 * - A failed or paused cluster run holds the rollout (paused, naming cluster and run); a failing gate pauses it
 *   naming cluster and signal. Resume retries the failed clusters and soaks the stage again; it is refused while a
 *   cluster's own run is still paused (resume that run first).
 * - Cancel starts no more runs; runs still going finish or are cancelled on their own, and the rollout names them.
 *
 * @module
 */
import { RolloutError, RolloutErrorCode } from './errors.ts';
import type {
  ClusterProgress,
  RolloutCause,
  RolloutEffect,
  RolloutEvent,
  RolloutLogEntry,
  RolloutPauseReason,
  RolloutState,
  RolloutTransitionResult,
  StageState,
} from './types.ts';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

class Step {
  readonly s: Writable<RolloutState>;
  readonly effects: RolloutEffect[] = [];
  changed = false;

  constructor(
    readonly original: RolloutState,
    readonly now: number,
  ) {
    this.s = { ...original, stages: [...original.stages], clusters: { ...original.clusters } };
  }

  stage(i: number): StageState | undefined {
    return this.s.stages[i];
  }

  setStage(i: number, patch: Partial<StageState>): void {
    const stage = this.s.stages[i];
    if (stage === undefined) return;
    const next: Record<string, unknown> = { ...stage, ...patch };
    // A field set to undefined is removed, so the state reads back from JSON as it was written.
    for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
    (this.s.stages as StageState[])[i] = next as unknown as StageState;
    this.changed = true;
  }

  setCluster(name: string, patch: Partial<ClusterProgress>): void {
    const c = this.s.clusters[name];
    if (c === undefined) return;
    const next: Record<string, unknown> = { ...c, ...patch };
    for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
    (this.s.clusters as Record<string, ClusterProgress>)[name] = next as unknown as ClusterProgress;
    this.changed = true;
  }

  set<K extends keyof RolloutState>(key: K, value: RolloutState[K]): void {
    this.s[key] = value;
    this.changed = true;
  }

  log(outcome: RolloutLogEntry['outcome'], message: string, extra: { stage?: string; cluster?: string } = {}): void {
    this.s.seq += 1;
    this.changed = true;
    this.effects.push({ type: 'emit-event', entry: { seq: this.s.seq, at: this.now, outcome, ...extra, message } });
  }

  result(): RolloutTransitionResult {
    if (!this.changed) return { state: this.original, effects: [] };
    return { state: { ...this.s, updatedAt: this.now }, effects: this.effects };
  }
}

function notAllowed(step: Step, what: string, why: string): never {
  throw new RolloutError(RolloutErrorCode.notAllowed, `rollout ${step.s.id}: ${what} is not allowed: ${why}`, {
    rollout: step.s.id,
    phase: step.s.status.phase,
  });
}

/**
 * Applies one event. An event that does not apply (a late or duplicate report) returns the same state and no effects.
 * @throws {RolloutError} `KUP-ROLLOUT-002` for an operator command the rollout cannot take now.
 */
export function transitionRollout(state: RolloutState, event: RolloutEvent, now: number): RolloutTransitionResult {
  const step = new Step(state, now);
  const s = step.s;
  switch (event.type) {
    case 'started':
      if (s.status.phase !== 'pending') notAllowed(step, 'start', `it is ${s.status.phase}`);
      step.set('status', { phase: 'running' });
      step.log(
        'started',
        `rollout ${s.name} started: ${describeTarget(s)} across ${s.stages.length} stage(s): ${s.stages.map((x) => `${x.name} (${x.clusters.join(', ')})`).join(' -> ')}`,
      );
      enterStage(step);
      break;
    case 'approved':
      onApproved(step, event.stage, event.by);
      break;
    case 'baselines-recorded': {
      const stage = step.stage(event.stage);
      if (event.stage !== s.cursor || stage?.phase !== 'baselining' || isEnded(s)) break;
      step.setStage(event.stage, { phase: 'running', baselines: event.baselines, startedAt: now });
      step.log(
        'stage-started',
        `stage ${stage.name} started: ${stage.clusters.length} cluster(s), ${stage.maxConcurrency} at a time`,
        { stage: stage.name },
      );
      fill(step);
      break;
    }
    case 'cluster-run-created': {
      const c = s.clusters[event.cluster];
      if (c?.phase !== 'starting') break;
      step.setCluster(event.cluster, { phase: 'running', runId: event.runId, startedAt: now });
      step.log('cluster-started', `cluster ${event.cluster}: run ${event.runId} started`, {
        cluster: event.cluster,
        ...stageName(s, c.stage),
      });
      break;
    }
    case 'cluster-run-refused': {
      const c = s.clusters[event.cluster];
      if (c?.phase !== 'starting') break;
      step.setCluster(event.cluster, { phase: 'failed', message: event.message, finishedAt: now });
      step.log('cluster-failed', `cluster ${event.cluster}: no run could be created: ${event.message}`, {
        cluster: event.cluster,
        ...stageName(s, c.stage),
      });
      hold(step, 'cluster-run-failed', {
        cluster: event.cluster,
        message: `cluster ${event.cluster}: ${event.message}`,
      });
      break;
    }
    case 'cluster-run-paused': {
      const c = s.clusters[event.cluster];
      if (c?.runId !== event.runId || (c.phase !== 'running' && c.phase !== 'starting')) break;
      step.setCluster(event.cluster, { phase: 'paused', message: event.message });
      step.log('cluster-paused', `cluster ${event.cluster}: run ${event.runId} paused: ${event.message}`, {
        cluster: event.cluster,
        ...stageName(s, c.stage),
      });
      hold(step, 'cluster-run-paused', {
        cluster: event.cluster,
        runId: event.runId,
        message: `cluster ${event.cluster}: run ${event.runId} paused: ${event.message}`,
      });
      break;
    }
    case 'cluster-run-resumed': {
      const c = s.clusters[event.cluster];
      if (c?.runId !== event.runId || c.phase !== 'paused') break;
      step.setCluster(event.cluster, { phase: 'running' });
      step.log('cluster-resumed', `cluster ${event.cluster}: run ${event.runId} resumed`, {
        cluster: event.cluster,
        ...stageName(s, c.stage),
      });
      // The hold was this run's: once no cluster holds the rollout it goes on by itself.
      if (
        s.status.phase === 'paused' &&
        s.status.reason === 'cluster-run-paused' &&
        !Object.values(s.clusters).some((x) => x.phase === 'paused' || x.phase === 'failed')
      ) {
        step.set('status', { phase: 'running' });
        step.log('resumed', `resumed: cluster ${event.cluster}'s run is going again`);
        fill(step);
      }
      break;
    }
    case 'cluster-run-finished': {
      const c = s.clusters[event.cluster];
      if (c?.runId !== event.runId || (c.phase !== 'running' && c.phase !== 'paused' && c.phase !== 'starting')) break;
      if (event.outcome === 'succeeded') {
        step.setCluster(event.cluster, { phase: 'succeeded', finishedAt: now, message: undefined });
        step.log('cluster-succeeded', `cluster ${event.cluster}: run ${event.runId} succeeded`, {
          cluster: event.cluster,
          ...stageName(s, c.stage),
        });
        if (
          s.status.phase === 'paused' &&
          s.status.reason === 'cluster-run-paused' &&
          s.status.cause?.cluster === event.cluster &&
          !Object.values(s.clusters).some((x) => x.phase === 'paused' || x.phase === 'failed')
        ) {
          step.set('status', { phase: 'running' });
          step.log('resumed', `resumed: cluster ${event.cluster}'s run finished`);
        }
        fill(step);
      } else {
        const message = `run ${event.runId} ${event.outcome}${event.message ? `: ${event.message}` : ''}`;
        step.setCluster(event.cluster, { phase: 'failed', message, finishedAt: now });
        step.log('cluster-failed', `cluster ${event.cluster}: ${message}`, {
          cluster: event.cluster,
          ...stageName(s, c.stage),
        });
        hold(step, 'cluster-run-failed', {
          cluster: event.cluster,
          runId: event.runId,
          message: `cluster ${event.cluster}: ${message}`,
        });
      }
      break;
    }
    case 'gate-failed': {
      const stage = step.stage(event.stage);
      if (event.stage !== s.cursor || stage?.phase !== 'soaking' || s.status.phase !== 'running') break;
      const message = `health gate ${event.signal} failed on cluster ${event.cluster} during the soak of stage ${stage.name}: ${event.message}`;
      step.log('gate-failed', message, { stage: stage.name, cluster: event.cluster });
      step.setStage(event.stage, { soakUntil: undefined });
      step.set('status', {
        phase: 'paused',
        reason: 'health-gate',
        message,
        pausedAt: now,
        cause: { cluster: event.cluster, signal: event.signal, objects: event.objects, message: event.message },
      });
      break;
    }
    case 'soak-elapsed': {
      const stage = step.stage(event.stage);
      if (event.stage !== s.cursor || stage?.phase !== 'soaking' || s.status.phase !== 'running') break;
      if (stage.soakUntil === undefined || now < stage.soakUntil) break;
      finishStage(step);
      break;
    }
    case 'pause-requested':
      if (s.status.phase === 'paused') break;
      if (s.status.phase !== 'running') notAllowed(step, 'pause', `it is ${s.status.phase}`);
      step.set('status', {
        phase: 'paused',
        reason: 'requested',
        message: event.message ?? 'paused by the operator',
        pausedAt: now,
      });
      step.log('paused', `${event.message ?? 'paused by the operator'}: runs going on finish, no new one starts`);
      break;
    case 'resume-requested':
      onResume(step);
      break;
    case 'cancel-requested': {
      if (s.status.phase === 'cancelled') break;
      if (s.status.phase === 'succeeded') notAllowed(step, 'cancel', 'it has succeeded');
      const left = Object.values(s.clusters).filter(
        (c) => c.runId !== undefined && (c.phase === 'running' || c.phase === 'paused'),
      );
      const runsLeft = left.map((c) => `${c.cluster}: ${c.runId ?? ''}`);
      step.set('status', { phase: 'cancelled', at: now, ...(runsLeft.length > 0 ? { runsLeft } : {}) });
      step.log(
        'cancelled',
        `cancelled: no more cluster runs start${runsLeft.length > 0 ? `; still going on their own: ${runsLeft.join(', ')}` : ''}`,
      );
      break;
    }
  }
  return step.result();
}

function isEnded(s: RolloutState): boolean {
  return s.status.phase === 'succeeded' || s.status.phase === 'cancelled';
}

function stageName(s: RolloutState, i: number): { stage?: string } {
  const name = s.stages[i]?.name;
  return name === undefined ? {} : { stage: name };
}

function describeTarget(s: RolloutState): string {
  return [s.target.to ? `Kubernetes ${s.target.to}` : '', s.target.image ? `image ${s.target.image}` : '']
    .filter(Boolean)
    .join(' and ');
}

/** The stage at the cursor starts: its approval first, else its baselines. */
function enterStage(step: Step): void {
  const i = step.s.cursor;
  const stage = step.stage(i);
  if (stage === undefined) return;
  if (stage.approval && stage.approved === undefined) {
    step.setStage(i, { phase: 'awaiting-approval' });
    step.log(
      'awaiting-approval',
      `stage ${stage.name} waits for approval (kup rollout approve ${step.s.id} --stage ${stage.name})`,
      { stage: stage.name },
    );
    return;
  }
  step.setStage(i, { phase: 'baselining' });
  step.effects.push({ type: 'record-baselines', stage: i, clusters: stage.clusters });
}

function onApproved(step: Step, i: number, by: string): void {
  const stage = step.stage(i);
  if (stage === undefined) notAllowed(step, 'approve', `it has no stage ${i}`);
  if (!stage.approval) notAllowed(step, 'approve', `stage ${stage.name} has no approval gate`);
  if (isEnded(step.s)) notAllowed(step, 'approve', `it is ${step.s.status.phase}`);
  if (stage.approved !== undefined) return;
  if (stage.phase !== 'pending' && stage.phase !== 'awaiting-approval')
    notAllowed(step, 'approve', `stage ${stage.name} has started`);
  step.setStage(i, { approved: { by, at: step.now } });
  step.log('approved', `stage ${stage.name} approved by ${by}`, { stage: stage.name });
  if (stage.phase === 'awaiting-approval') enterStage(step);
}

/** Starts the stage's next clusters up to its concurrency; finishes the stage into its soak when all succeeded. */
function fill(step: Step): void {
  const s = step.s;
  if (s.status.phase !== 'running') return;
  const i = s.cursor;
  const stage = step.stage(i);
  if (stage?.phase !== 'running') return;
  const progress = stage.clusters.map((name) => s.clusters[name]).filter((c): c is ClusterProgress => c !== undefined);
  let busy = progress.filter((c) => c.phase === 'starting' || c.phase === 'running' || c.phase === 'paused').length;
  for (const c of progress) {
    if (busy >= stage.maxConcurrency) break;
    if (c.phase !== 'pending') continue;
    const attempt = c.attempt + 1;
    step.setCluster(c.cluster, { phase: 'starting', attempt });
    step.effects.push({
      type: 'start-cluster-run',
      cluster: c.cluster,
      target: s.target,
      idempotencyKey: `${s.id}/${c.cluster}/${attempt}`,
    });
    busy += 1;
  }
  if (progress.every((c) => c.phase === 'succeeded')) {
    if (stage.soakMs === 0) {
      finishStage(step);
      return;
    }
    const until = step.now + stage.soakMs;
    step.setStage(i, { phase: 'soaking', soakUntil: until });
    step.log(
      'soaking',
      `stage ${stage.name}: every cluster upgraded; soaking until ${new Date(until).toISOString()} with health gates`,
      { stage: stage.name },
    );
    step.effects.push({ type: 'soak', stage: i, clusters: stage.clusters, until, baselines: stage.baselines ?? {} });
  }
}

function finishStage(step: Step): void {
  const i = step.s.cursor;
  const stage = step.stage(i);
  if (stage === undefined) return;
  step.setStage(i, { phase: 'succeeded', finishedAt: step.now, soakUntil: undefined });
  step.log('stage-succeeded', `stage ${stage.name} finished healthy`, { stage: stage.name });
  step.set('cursor', i + 1);
  if (i + 1 >= step.s.stages.length) {
    step.set('status', { phase: 'succeeded', at: step.now });
    step.log(
      'succeeded',
      `rollout ${step.s.name} succeeded: ${Object.keys(step.s.clusters).length} cluster(s) at ${describeTarget(step.s)}`,
    );
    return;
  }
  enterStage(step);
}

/** Pauses the rollout for a cluster (or records the cause when an operator pause is in force already). */
function hold(step: Step, reason: RolloutPauseReason, cause: RolloutCause): void {
  const status = step.s.status;
  if (status.phase !== 'running' && status.phase !== 'paused') return;
  if (status.phase === 'paused' && status.reason !== 'requested' && status.reason !== 'cluster-run-paused') return;
  step.set('status', {
    phase: 'paused',
    reason,
    message: cause.message,
    pausedAt: status.phase === 'paused' ? status.pausedAt : step.now,
    cause,
  });
  step.log('paused', `paused: ${cause.message}`, cause.cluster !== undefined ? { cluster: cause.cluster } : {});
}

function onResume(step: Step): void {
  const s = step.s;
  if (s.status.phase !== 'paused') notAllowed(step, 'resume', `it is ${s.status.phase}; only a paused rollout resumes`);
  const stillPaused = Object.values(s.clusters).filter((c) => c.phase === 'paused');
  if (stillPaused.length > 0)
    notAllowed(
      step,
      'resume',
      `the run of ${stillPaused.map((c) => `cluster ${c.cluster} (${c.runId ?? '?'})`).join(', ')} is paused: resume or cancel it first`,
    );
  const retried: string[] = [];
  for (const c of Object.values(s.clusters)) {
    if (c.phase === 'failed' && c.stage === s.cursor) {
      step.setCluster(c.cluster, { phase: 'pending' });
      retried.push(c.cluster);
    }
  }
  step.set('status', { phase: 'running' });
  step.log('resumed', `resumed${retried.length > 0 ? `: retrying ${retried.join(', ')} with a new run` : ''}`);
  const stage = step.stage(s.cursor);
  if (stage?.phase === 'soaking') {
    // The gate failed (or the operator paused during the soak): the whole soak runs again, from now.
    const until = step.now + stage.soakMs;
    step.setStage(s.cursor, { soakUntil: until });
    step.log('soaking', `stage ${stage.name}: soaking again until ${new Date(until).toISOString()}`, {
      stage: stage.name,
    });
    step.effects.push({
      type: 'soak',
      stage: s.cursor,
      clusters: stage.clusters,
      until,
      baselines: stage.baselines ?? {},
    });
    return;
  }
  fill(step);
}

/**
 * What a restarted driver performs again: the baselines of a stage still waiting for them, the cluster runs asked for
 * and not reported created (their idempotency key makes one run), the soak of a soaking stage.
 */
export function pendingRolloutEffects(state: RolloutState): RolloutEffect[] {
  if (isEnded(state)) return [];
  const out: RolloutEffect[] = [];
  const stage = state.stages[state.cursor];
  if (stage?.phase === 'baselining')
    out.push({ type: 'record-baselines', stage: state.cursor, clusters: stage.clusters });
  for (const c of Object.values(state.clusters)) {
    if (c.phase === 'starting')
      out.push({
        type: 'start-cluster-run',
        cluster: c.cluster,
        target: state.target,
        idempotencyKey: `${state.id}/${c.cluster}/${c.attempt}`,
      });
  }
  if (stage?.phase === 'soaking' && stage.soakUntil !== undefined && state.status.phase === 'running')
    out.push({
      type: 'soak',
      stage: state.cursor,
      clusters: stage.clusters,
      until: stage.soakUntil,
      baselines: stage.baselines ?? {},
    });
  return out;
}

/**
 * Reads back a persisted rollout state.
 * @throws {RolloutError} `KUP-ROLLOUT-003` when it is not one.
 */
export function reviveRolloutState(value: unknown): RolloutState {
  const fail = (why: string): never => {
    throw new RolloutError(RolloutErrorCode.invalidState, `persisted rollout state ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('is not an object');
  const v = value as Record<string, unknown>;
  if (v.schema !== 1) return fail(`has schema ${JSON.stringify(v.schema)}, expected 1`);
  if (typeof v.id !== 'string') return fail('has no id');
  if (!Array.isArray(v.stages)) return fail('has no stages');
  if (typeof v.clusters !== 'object' || v.clusters === null) return fail('has no clusters');
  const status = v.status as Record<string, unknown> | null;
  if (typeof status !== 'object' || status === null || typeof status.phase !== 'string') return fail('has no status');
  return value as RolloutState;
}
