/**
 * Test support for the run state machine (only tests import it): a small stateful cluster that performs effects the
 * way an executor and a provider would (idempotent by the effect's idempotency key), and a driver that feeds the
 * outcomes back as events, persisting every state through JSON as the executor must.
 *
 * @module
 */
import type { UpgradePath } from '../../versions/index.ts';
import type { PlanTopology, RolloutPlan } from '../plan-types.ts';
import { pendingEffects } from './effects.ts';
import { reviveRunState } from './state.ts';
import { transition } from './transition.ts';
import type { ActionEffect, Effect, RunEvent, RunLogEntry, RunPhase, RunState, StepResult } from './types.ts';

/** The driver's status phase, unnarrowed (asserting on it must not narrow `driver.state` for the lines after). */
export function phaseOf(driver: Driver): RunPhase {
  return driver.state.status.phase;
}

/** A node of the fake cluster. */
export interface FakeNode {
  name: string;
  role: 'control-plane' | 'worker';
  pool?: string;
  version: string;
  image: string;
  cordoned: boolean;
  labels: Record<string, string>;
  /** Carries kup's PreferNoSchedule replacement taint. */
  tainted?: boolean;
}

/** Builds a topology: `cp` control-plane nodes `cp-1..` and pools of `<pool>-0..` nodes, all at `version`. */
export function fakeTopology(options: {
  cp: number;
  pools: Record<string, number>;
  version: string;
  image?: string;
}): PlanTopology {
  const image = options.image ?? `img-${options.version}`;
  return {
    controlPlane: Array.from({ length: options.cp }, (_, i) => ({
      node: `cp-${i + 1}`,
      kubeletVersion: `v${options.version}`,
      machineImage: image,
      components: {
        etcd: '3.5.15',
        'kube-apiserver': options.version,
        'kube-controller-manager': options.version,
        'kube-scheduler': options.version,
      },
    })),
    pools: Object.entries(options.pools).map(([name, count]) => ({
      name,
      kubeletVersion: options.version,
      machineImage: image,
      nodes: Array.from({ length: count }, (_, i) => ({
        node: `${name}-${i}`,
        kubeletVersion: `v${options.version}`,
        machineImage: image,
      })),
    })),
  };
}

/** The one-minor path 1.30.4 -> 1.31.4 of the fake topology: the control plane, then each of `pools`. */
export function oneMinorPath(pools: readonly string[] = ['w']): UpgradePath {
  return {
    kind: 'upgrade',
    from: '1.30.4',
    to: '1.31.4',
    workerStrategy: 'follow',
    notes: [],
    steps: [
      { kind: 'control-plane', from: '1.30.4', to: '1.31.4' },
      ...pools.map((pool) => ({ kind: 'pool' as const, pool, from: '1.30.4', to: '1.31.4', reason: 'target' as const })),
    ],
  };
}

/** What a fault hook may answer instead of performing an effect. */
export type Intercept = (effect: ActionEffect, cluster: FakeCluster) => RunEvent | undefined;

/** A cluster that effects act on. Counts every time an action really acted, by idempotency key. */
export class FakeCluster {
  readonly nodes = new Map<string, FakeNode>();
  /** Idempotency keys that acted, in order. */
  readonly acted: string[] = [];
  private readonly results = new Map<string, StepResult>();
  private readonly snapshots = new Map<string, FakeNode[]>();
  private created = 0;

  constructor(topology: PlanTopology) {
    for (const cp of topology.controlPlane) {
      this.nodes.set(cp.node, {
        name: cp.node,
        role: 'control-plane',
        version: cp.components['kube-apiserver'] ?? cp.kubeletVersion,
        image: cp.machineImage ?? '',
        cordoned: false,
        labels: {},
      });
    }
    for (const pool of topology.pools) {
      for (const n of pool.nodes) {
        this.nodes.set(n.node, {
          name: n.node,
          role: 'worker',
          pool: pool.name,
          version: n.kubeletVersion.replace(/^v/, ''),
          image: n.machineImage,
          cordoned: false,
          labels: {},
        });
      }
    }
  }

  /** Whether an effect with this idempotency key has acted (a fault hook must then let the stored result answer). */
  hasActed(idempotencyKey: string): boolean {
    return this.results.has(idempotencyKey);
  }

  /** Performs an effect at most once per idempotency key, returning the event that reports it. */
  perform(effect: ActionEffect): RunEvent {
    const seen = this.results.get(effect.idempotencyKey);
    if (seen) return this.report(effect, seen);
    const result = this.act(effect);
    this.acted.push(effect.idempotencyKey);
    this.results.set(effect.idempotencyKey, result);
    return this.report(effect, result);
  }

  private report(effect: ActionEffect, result: StepResult): RunEvent {
    if (effect.type === 'precheck') return { type: 'precheck-passed' };
    if (effect.type === 'soak') return { type: 'soak-elapsed', key: effect.key };
    return { type: 'step-succeeded', key: effect.key, action: effect.type, result };
  }

  private node(name: string): FakeNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`fake cluster: no node ${name}`);
    return n;
  }

  private act(effect: ActionEffect): StepResult {
    switch (effect.type) {
      case 'precheck':
      case 'check-api-health':
      case 'postcheck':
      case 'soak':
        return {};
      case 'validate-batch':
        for (const name of effect.nodes) {
          const n = this.node(name);
          if (n.cordoned) throw new Error(`fake cluster: validate-batch found ${name} cordoned`);
        }
        return {};
      case 'take-snapshot': {
        const id = `snap-${this.snapshots.size + 1}`;
        this.snapshots.set(
          id,
          [...this.nodes.values()].map((n) => ({ ...n, labels: { ...n.labels } })),
        );
        return { snapshot: id };
      }
      case 'restore-snapshot': {
        const saved = this.snapshots.get(effect.snapshot);
        if (!saved) throw new Error(`fake cluster: no snapshot ${effect.snapshot}`);
        for (const s of saved) {
          const n = this.nodes.get(s.name);
          if (n) {
            n.version = s.version;
            n.image = s.image;
          }
        }
        return {};
      }
      case 'upgrade-cp-node': {
        const n = this.node(effect.node);
        n.version = effect.version;
        return {};
      }
      case 'cordon':
        this.node(effect.node).cordoned = true;
        return {};
      case 'uncordon': {
        const n = this.node(effect.node);
        n.cordoned = false;
        delete n.tainted;
        return {};
      }
      case 'taint-nodes':
        if (effect.nodes === null) for (const n of this.nodes.values()) delete n.tainted;
        else for (const name of effect.nodes) {
          const n = this.nodes.get(name);
          if (n) n.tainted = true;
        }
        return {};
      case 'drain':
        if (!this.node(effect.node).cordoned)
          throw new Error(`fake cluster: drain of ${effect.node}, which is not cordoned`);
        return {};
      case 'replace-node':
      case 'rollback-node': {
        const old = this.node(effect.node);
        if (effect.type === 'rollback-node' && effect.strategy === 'in-place') {
          old.version = effect.target.version;
          old.image = effect.target.image ?? `img-${effect.target.version}`;
          return {};
        }
        this.created += 1;
        const name = `${effect.pool}-r${this.created}`;
        this.nodes.set(name, {
          name,
          role: 'worker',
          pool: effect.pool,
          version: effect.target.version,
          image: effect.target.image ?? `img-${effect.target.version}`,
          cordoned: false,
          labels: {},
        });
        return { newNode: name };
      }
      case 'upgrade-node-in-place': {
        const n = this.node(effect.node);
        n.version = effect.target.version;
        n.image = effect.target.image ?? `img-${effect.target.version}`;
        return {};
      }
      case 'wait-node-ready':
        this.node(effect.node);
        return {};
      case 'delete-old-node':
      case 'discard-replacement':
        this.nodes.delete(effect.node);
        return {};
      case 'label-node': {
        const n = this.node(effect.node);
        for (const [k, v] of Object.entries(effect.labels)) {
          if (v === null) delete n.labels[k];
          else n.labels[k] = v;
        }
        return {};
      }
    }
  }

  /** Workers of a pool, by name. */
  pool(name: string): FakeNode[] {
    return [...this.nodes.values()].filter((n) => n.pool === name).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Nodes carrying the replacement taint. */
  tainted(): string[] {
    return [...this.nodes.values()].filter((n) => n.tainted === true).map((n) => n.name);
  }

  /** Nodes left cordoned. */
  cordoned(): string[] {
    return [...this.nodes.values()].filter((n) => n.cordoned).map((n) => n.name);
  }
}

/** Options of {@link Driver}. */
export interface DriverOptions {
  /** Answers an effect instead of the cluster (inject failures, drain timeouts). */
  readonly intercept?: Intercept;
  /** Clock advance per performed effect. @default 1000 */
  readonly stepMs?: number;
}

/**
 * Feeds a run: performs effects in order (a FIFO, so the nodes of a batch interleave), reports them, and persists
 * every new state through JSON (asserting the round trip is exact).
 */
export class Driver {
  state: RunState;
  now: number;
  readonly queue: ActionEffect[] = [];
  readonly events: RunLogEntry[] = [];
  /** Every state persisted, as JSON. */
  readonly persisted: string[] = [];
  /** Every event fed, in order. */
  readonly fed: RunEvent[] = [];

  constructor(
    state: RunState,
    readonly cluster: FakeCluster,
    readonly options: DriverOptions = {},
  ) {
    this.state = state;
    this.now = state.createdAt;
  }

  /** The plan of the run. */
  get plan(): RolloutPlan {
    return this.state.plan;
  }

  /** Applies an event, persists, queues the effects. */
  send(event: RunEvent): readonly Effect[] {
    this.fed.push(event);
    const { state, effects } = transition(this.state, event, this.now);
    if (state !== this.state) {
      const json = JSON.stringify(state);
      const back = reviveRunState(JSON.parse(json));
      if (JSON.stringify(back) !== json) throw new Error('driver: state did not survive a JSON round trip');
      this.persisted.push(json);
      this.state = back;
    }
    for (const e of effects) {
      if (e.type === 'emit-event') this.events.push(e.entry);
      else this.queue.push(e);
    }
    return effects;
  }

  /** Performs one queued effect and reports it. Returns false when the queue is empty. */
  step(): boolean {
    const effect = this.queue.shift();
    if (!effect) return false;
    this.now += this.options.stepMs ?? 1000;
    if (effect.notBefore !== null && effect.notBefore > this.now) this.now = effect.notBefore;
    if (effect.type === 'soak' && effect.until > this.now) this.now = effect.until;
    // A provider answers a repeated key with the first call's result: faults apply to calls that have not acted.
    const intercepted = this.cluster.hasActed(effect.idempotencyKey)
      ? undefined
      : this.options.intercept?.(effect, this.cluster);
    const event = intercepted ?? this.cluster.perform(effect);
    this.send(event);
    return true;
  }

  /** Steps until the queue is empty or `stop` says so (checked after each step). */
  run(stop?: (state: RunState, driver: Driver) => boolean, limit = 100_000): void {
    for (let i = 0; i < limit; i++) {
      if (!this.step()) return;
      if (stop?.(this.state, this)) return;
    }
    throw new Error('driver: step limit reached');
  }

  /** A restart: the queue is lost; the persisted state's pending effects are queued again. */
  restart(): ActionEffect[] {
    this.queue.length = 0;
    const last = this.persisted[this.persisted.length - 1];
    if (last !== undefined) this.state = reviveRunState(JSON.parse(last));
    const pending = pendingEffects(this.state);
    this.queue.push(...pending);
    return pending;
  }
}
