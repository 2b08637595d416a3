/**
 * Containers that fail, as a kubelet shows it (`pkg/kubelet/kuberuntime`, `pkg/kubelet/images`): the lives of the
 * containers that a {@link ContainerFaultRule} matches, step by step on the runtime's clock.
 *
 * - `image-pull`: the pull fails (ErrImagePull), the kubelet backs off (ImagePullBackOff) and pulls again after 10 s,
 *   doubling to 5 minutes; the pod stays Pending. A pull after the rule is gone succeeds.
 * - `crash-loop`: the container runs for `exitAfterMs`, exits with `exitCode` (lastState.terminated, reason Error)
 *   and waits in CrashLoopBackOff (10 s doubling to 5 minutes) before the kubelet restarts it and `restartCount`
 *   grows. Under restartPolicy Never it stays terminated, and the pod fails once every container has.
 * - `not-ready`: the container runs, its readiness never passes (Running, Ready=False, ContainersNotReady).
 *
 * The back-off periods are the kubelet's own, not scaled by the scenario's timings: Deployments' progress deadlines
 * are not scaled either. A failing container is never Ready, even while it runs between crashes: as a readiness probe
 * that has not passed yet, so a crash loop cannot look available for an instant.
 */
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { ContainerFailure, ContainerFaultRule } from '../scenario/types.ts';
import { normalizeImage } from './container-images.ts';

/** The kubelet's first back-off, ms (`backOffPeriod`, image pulls and container restarts alike). */
const INITIAL_BACKOFF_MS = 10_000;
/** The kubelet's longest back-off, ms (`MaxContainerBackOff`). */
const MAX_BACKOFF_MS = 300_000;
/** How long a failed pull shows ErrImagePull before the pod's next sync shows ImagePullBackOff, ms. */
const PULL_ERROR_MS = 1_000;
/** `exitAfterMs` when a rule does not set it. */
const DEFAULT_EXIT_AFTER_MS = 1_000;

/** Where a failing container is in its life. */
type Stage =
  | 'pull-error' // the last pull failed just now
  | 'pull-backoff' // waiting to pull again
  | 'running' // started, not ready (crash-loop until it exits, not-ready for ever)
  | 'crash-backoff' // exited, waiting to restart
  | 'exited' // exited under restartPolicy Never: for good
  | 'recovered'; // the rule no longer applies: runs and is ready, with its history

/** One failing container's life. */
interface ContainerLife {
  name: string;
  /** The image as the pod names it. */
  image: string;
  failure: ContainerFailure;
  rule: ContainerFaultRule;
  /** A container that runs to completion (restartPolicy Never or OnFailure, no rule): Ready while it runs. */
  completes?: boolean;
  stage: Stage;
  /** When the stage began, ms. */
  since: number;
  /** Pull attempts (image-pull) or restarts (crash-loop) so far. */
  count: number;
  /** The back-off the container waits (or last waited), ms. */
  backoffMs: number;
  /** When the running container started, ms. */
  startedAt?: number;
  containerId?: string;
  /** The last termination, as `lastState.terminated`. */
  lastTerminated?: Record<string, unknown>;
}

/** The failing containers of one pod (its other containers run as usual). */
export interface PodLife {
  uid: string;
  restartPolicy: string;
  containers: ContainerLife[];
  /** The timer already set for the next step, ms (undefined: none). */
  wakeAt?: number;
}

/** One event the kubelet records for a step, as upstream's kubelet records it. */
export interface ContainerEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** `*` matches any run of characters; everything else literally. */
function globMatches(pattern: string, text: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(text);
}

/** `[major, minor, patch]` of `1.31`, `v1.31.2`; patch undefined when absent. */
function versionParts(version: string): [number, number, number | undefined] {
  const [major = '0', minor = '0', patch] = version.replace(/^v/, '').split(/[.-]/);
  return [Number(major), Number(minor), patch === undefined ? undefined : Number(patch)];
}

/** Whether `kubeletVersion` is `min` or later (a minor-only `min` takes every patch of that minor). */
function atLeast(kubeletVersion: string, min: string): boolean {
  const [km, kn, kp = 0] = versionParts(kubeletVersion);
  const [mm, mn, mp = 0] = versionParts(min);
  if (km !== mm) return km > mm;
  if (kn !== mn) return kn > mn;
  return kp >= mp;
}

/** The first rule that makes a container with `image` fail on a node whose kubelet runs `kubeletVersion`. */
export function containerFaultFor(
  rules: readonly ContainerFaultRule[],
  image: string,
  kubeletVersion: string,
): ContainerFaultRule | undefined {
  const normalized = normalizeImage(image);
  return rules.find(
    (r) =>
      (globMatches(r.image, image) || globMatches(r.image, normalized)) &&
      (r.minKubeletVersion === undefined || atLeast(kubeletVersion, r.minKubeletVersion)),
  );
}

function containersOf(pod: KubeObject): Record<string, unknown>[] {
  const list = pod.spec?.['containers'];
  return Array.isArray(list) ? (list as unknown[]).filter(isRecord) : [];
}

/**
 * The life of a pod about to start, when any of its containers matches a rule; undefined when none does (the pod
 * runs as usual). Returns the events of the first step too.
 */
export function beginPodLife(
  pod: KubeObject,
  rules: readonly ContainerFaultRule[],
  kubeletVersion: string,
  now: number,
): { life: PodLife; events: ContainerEvent[] } | undefined {
  const restartPolicy = typeof pod.spec?.['restartPolicy'] === 'string' ? pod.spec['restartPolicy'] : 'Always';
  if (rules.length === 0 && restartPolicy === 'Always') return undefined;
  const containers: ContainerLife[] = [];
  const events: ContainerEvent[] = [];
  for (const c of containersOf(pod)) {
    const image = typeof c['image'] === 'string' ? c['image'] : '';
    const faulty = containerFaultFor(rules, image, kubeletVersion);
    // A container of a pod that does not restart on success (a Job's) runs its command to the end and exits 0.
    const rule: ContainerFaultRule | undefined =
      faulty ?? (restartPolicy === 'Always' ? undefined : { image, failure: 'crash-loop', exitCode: 0, exitAfterMs: runMsOf(c) });
    if (!rule) continue;
    const life: ContainerLife = {
      name: String(c['name']),
      image,
      failure: rule.failure,
      rule,
      ...(faulty ? {} : { completes: true }),
      stage: 'running',
      since: now,
      count: 0,
      backoffMs: 0,
    };
    if (rule.failure === 'image-pull') pullFails(life, now, events);
    else start(life, pod, now, events);
    containers.push(life);
  }
  if (containers.length === 0) return undefined;
  return { life: { uid: pod.metadata.uid, restartPolicy, containers }, events };
}

function pullFails(life: ContainerLife, now: number, events: ContainerEvent[]): void {
  life.count += 1;
  life.backoffMs = life.backoffMs === 0 ? INITIAL_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, life.backoffMs * 2);
  life.stage = 'pull-error';
  life.since = now;
  events.push(
    { type: 'Normal', reason: 'Pulling', message: `Pulling image "${life.image}"` },
    {
      type: 'Warning',
      reason: 'Failed',
      message: `Failed to pull image "${life.image}": ${pullErrorMessage(life.image)}`,
    },
    { type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' },
  );
}

function start(life: ContainerLife, pod: KubeObject, now: number, events: ContainerEvent[]): void {
  life.stage = 'running';
  life.since = now;
  life.startedAt = now;
  life.containerId = `containerd://${pod.metadata.uid.replace(/-/g, '')}${life.name}${life.count}`;
  events.push(
    { type: 'Normal', reason: 'Created', message: `Created container ${life.name}` },
    { type: 'Normal', reason: 'Started', message: `Started container ${life.name}` },
  );
  if (life.failure === 'not-ready')
    events.push({
      type: 'Warning',
      reason: 'Unhealthy',
      message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
    });
}

/** How long a container that runs to completion runs: `sleep N` (seconds) in its command or args, else 1 s. */
function runMsOf(container: Record<string, unknown>): number {
  const words = [container['command'], container['args']]
    .flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : []))
    .map(String)
    .join(' ');
  const sleep = /(?:^|[\s;&|])sleep\s+(\d+(?:\.\d+)?)(?=$|[\s;&|])/.exec(words);
  return sleep ? Math.round(Number(sleep[1]) * 1000) : DEFAULT_EXIT_AFTER_MS;
}

/** containerd's answer to a pull of an image that does not exist, as the kubelet relays it. */
function pullErrorMessage(image: string): string {
  const ref = normalizeImage(image);
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
}

function crashMessage(life: ContainerLife, pod: KubeObject): string {
  const { name, namespace = '', uid } = pod.metadata;
  return `back-off ${life.backoffMs / 1000}s restarting failed container=${life.name} pod=${name}_${namespace}(${uid})`;
}

/** When the container's current stage ends, ms; undefined when it lasts (not-ready, exited, recovered). */
function stageEnd(life: ContainerLife): number | undefined {
  switch (life.stage) {
    case 'pull-error':
      return life.since + Math.min(PULL_ERROR_MS, life.backoffMs);
    case 'pull-backoff':
      // The back-off counts from the failed pull.
      return life.since + life.backoffMs - Math.min(PULL_ERROR_MS, life.backoffMs);
    case 'running':
      return life.failure === 'crash-loop' ? life.since + (life.rule.exitAfterMs ?? DEFAULT_EXIT_AFTER_MS) : undefined;
    case 'crash-backoff':
      return life.since + life.backoffMs;
    default:
      return undefined;
  }
}

/**
 * Moves the pod's failing containers through every step due by `now` (a clock may jump several at once); the
 * rules are read again at each pull and restart, so a rule removed lets the container recover. Returns whether
 * anything changed, the events to record, and when the next step is due (undefined: none).
 */
export function advancePodLife(
  life: PodLife,
  pod: KubeObject,
  rules: readonly ContainerFaultRule[],
  kubeletVersion: string,
  now: number,
): { changed: boolean; events: ContainerEvent[]; next: number | undefined } {
  const events: ContainerEvent[] = [];
  let changed = false;
  let next: number | undefined;
  for (const c of life.containers) {
    // A not-ready container recovers as soon as its rule is gone (its probe passes at the next period).
    if (c.stage === 'running' && c.failure === 'not-ready' && !containerFaultFor(rules, c.image, kubeletVersion)) {
      c.stage = 'recovered';
      c.since = now;
      changed = true;
    }
    for (let end = stageEnd(c); end !== undefined && end <= now; end = stageEnd(c)) {
      changed = true;
      step(c, end, life, pod, rules, kubeletVersion, events);
    }
    const end = stageEnd(c);
    if (end !== undefined && (next === undefined || end < next)) next = end;
  }
  return { changed, events, next };
}

function step(
  c: ContainerLife,
  at: number,
  life: PodLife,
  pod: KubeObject,
  rules: readonly ContainerFaultRule[],
  kubeletVersion: string,
  events: ContainerEvent[],
): void {
  switch (c.stage) {
    case 'pull-error':
      c.stage = 'pull-backoff';
      c.since = at;
      events.push(
        { type: 'Normal', reason: 'BackOff', message: `Back-off pulling image "${c.image}"` },
        { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' },
      );
      return;
    case 'pull-backoff': {
      const rule = containerFaultFor(rules, c.image, kubeletVersion);
      if (rule?.failure === 'image-pull') {
        pullFails(c, at, events);
        return;
      }
      events.push({ type: 'Normal', reason: 'Pulled', message: `Successfully pulled image "${c.image}"` });
      if (rule) {
        // Pulled now, but the image is broken another way.
        c.rule = rule;
        c.failure = rule.failure;
        c.count = 0;
        c.backoffMs = 0;
        start(c, pod, at, events);
      } else {
        start(c, pod, at, events);
        c.stage = 'recovered';
      }
      return;
    }
    case 'running': {
      const exitCode = c.rule.exitCode ?? 1;
      c.lastTerminated = {
        containerID: c.containerId,
        exitCode,
        finishedAt: rfc3339(at),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: rfc3339(c.startedAt ?? at),
      };
      const restarts = life.restartPolicy === 'Always' || (life.restartPolicy === 'OnFailure' && exitCode !== 0);
      if (!restarts) {
        c.stage = 'exited';
        c.since = at;
        return;
      }
      c.stage = 'crash-backoff';
      c.since = at;
      c.backoffMs = c.backoffMs === 0 ? INITIAL_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, c.backoffMs * 2);
      events.push({
        type: 'Warning',
        reason: 'BackOff',
        message: `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid})`,
      });
      return;
    }
    case 'crash-backoff': {
      c.count += 1;
      const rule = containerFaultFor(rules, c.image, kubeletVersion);
      start(c, pod, at, events);
      if (!rule || rule.failure === 'image-pull') c.stage = 'recovered';
      else {
        c.rule = rule;
        c.failure = rule.failure;
      }
      return;
    }
    default:
      return;
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What one container's status says while its life is failing (or recovered, with its history). */
function containerStatus(c: ContainerLife, pod: KubeObject, base: Record<string, unknown>): Record<string, unknown> {
  const image = normalizeImage(c.image);
  const lastState = c.lastTerminated ? { terminated: c.lastTerminated } : {};
  const common = { ...base, image, lastState, name: c.name, restartCount: c.count };
  switch (c.stage) {
    case 'pull-error':
    case 'pull-backoff': {
      const waiting =
        c.stage === 'pull-error'
          ? { reason: 'ErrImagePull', message: pullErrorMessage(c.image) }
          : { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` };
      const status: Record<string, unknown> = {
        ...common,
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting },
      };
      delete status['containerID'];
      return status;
    }
    case 'running':
    case 'recovered':
      return {
        ...common,
        containerID: c.containerId,
        ready: c.stage === 'recovered' || c.completes === true,
        started: true,
        state: { running: { startedAt: rfc3339(c.startedAt ?? c.since) } },
      };
    case 'crash-backoff':
      return {
        ...common,
        containerID: c.containerId,
        ready: false,
        started: false,
        state: { waiting: { reason: 'CrashLoopBackOff', message: crashMessage(c, pod) } },
      };
    case 'exited':
      return {
        ...common,
        containerID: c.containerId,
        ready: false,
        started: false,
        lastState: {},
        state: { terminated: c.lastTerminated },
      };
  }
}

/**
 * The pod's status with its failing containers as their lives say: `running` is the status of the pod running
 * normally (every container ready) that the kubelet would post; the failing containers' statuses, the phase and the
 * Ready and ContainersReady conditions are brought in line.
 */
export function failingPodStatus(
  life: PodLife,
  pod: KubeObject,
  running: Record<string, unknown>,
): Record<string, unknown> {
  const statuses = Array.isArray(running['containerStatuses'])
    ? (running['containerStatuses'] as unknown[]).filter(isRecord)
    : [];
  const byName = new Map(life.containers.map((c) => [c.name, c]));
  const containerStatuses = statuses.map((s) => {
    const c = byName.get(String(s['name']));
    return c ? containerStatus(c, pod, s) : s;
  });
  const unready = containerStatuses.filter((s) => s['ready'] !== true).map((s) => String(s['name']));
  const exited = life.containers.filter((c) => c.stage === 'exited');
  const finished = exited.length > 0 && exited.length === containerStatuses.length;
  const failed = finished && exited.some((c) => c.lastTerminated?.['exitCode'] !== 0);
  const succeeded = finished && !failed;
  const neverRan = life.containers.some(
    (c) => (c.stage === 'pull-error' || c.stage === 'pull-backoff') && c.lastTerminated === undefined,
  );
  const phase = failed ? 'Failed' : succeeded ? 'Succeeded' : neverRan ? 'Pending' : 'Running';
  const time = typeof running['startTime'] === 'string' ? running['startTime'] : undefined;
  const conditions = (
    Array.isArray(running['conditions']) ? (running['conditions'] as unknown[]).filter(isRecord) : []
  ).map((cond) => {
    if (unready.length === 0 || (cond['type'] !== 'Ready' && cond['type'] !== 'ContainersReady')) return cond;
    const previous = podCondition(pod, String(cond['type']));
    return {
      type: cond['type'],
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime:
        previous?.['status'] === 'False' ? previous['lastTransitionTime'] : (time ?? cond['lastTransitionTime']),
      reason: failed ? 'PodFailed' : succeeded ? 'PodCompleted' : 'ContainersNotReady',
      ...(finished ? {} : { message: `containers with unready status: [${unready.join(' ')}]` }),
    };
  });
  return { ...running, phase, conditions, containerStatuses };
}

function podCondition(pod: KubeObject, type: string): Record<string, unknown> | undefined {
  const raw = pod.status?.['conditions'];
  return (Array.isArray(raw) ? (raw as unknown[]) : []).find(
    (c): c is Record<string, unknown> => isRecord(c) && c['type'] === type,
  );
}

/** Whether the pod's failing containers all recovered: the kubelet can forget the life and run the pod as usual. */
export function podLifeRecovered(life: PodLife): boolean {
  return life.containers.every((c) => c.stage === 'recovered');
}

/** Whether the pod has a container that waits on the rules only (not-ready): the kubelet re-checks it each heartbeat. */
export function podLifeAwaitsRules(life: PodLife): boolean {
  return life.containers.some((c) => c.stage === 'running' && c.failure === 'not-ready');
}
