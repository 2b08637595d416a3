/**
 * Long-running infrastructure operations, run on the simulation's clock: the in-place upgrade of a control-plane node
 * (component by component in kubeadm's order, each a static-pod restart) and of a worker's kubelet. Each has an id the
 * caller polls, as cloud APIs hand out operation ids.
 */
import { randomBytes } from 'node:crypto';
import type { Cancel, Machine, SimRuntime } from '../runtime.ts';
import { nudgeKubelet } from './machines.ts';
import type { ControlPlaneComponent } from './static-pods.ts';
import { CONTROL_PLANE_COMPONENTS, removeStaticPod, writeStaticPod } from './static-pods.ts';
import { etcdVersionFor } from './versions.ts';

/** What an operation does. */
export type OperationKind = 'control-plane-upgrade' | 'node-upgrade';

/** Where an operation is. */
export type OperationState = 'running' | 'succeeded' | 'failed';

/** A step of an upgrade: a control-plane component, or the node's kubelet. */
export type OperationStep = ControlPlaneComponent | 'kubelet' | 'done';

/** An operation as GET /sim/v1/operations/<id> shows it. */
export interface Operation {
  id: string;
  kind: OperationKind;
  node: string;
  fromVersion: string;
  toVersion: string;
  state: OperationState;
  step: OperationStep;
  message: string;
  startedAt: string;
  finishedAt?: string;
}

/** What the upgrade of a control-plane node needs besides the runtime. */
export interface UpgradeHooks {
  /** Called while kube-apiserver restarts on the only control-plane node: the API answers 503 for that long. */
  setUnavailableFor(ms: number): void;
}

/** The operations of one simulated cluster. */
export class Operations {
  private readonly operations = new Map<string, Operation>();
  private readonly timers = new Map<string, Cancel>();

  constructor(private readonly runtime: SimRuntime) {}

  get(id: string): Operation | undefined {
    return this.operations.get(id);
  }

  list(): Operation[] {
    return [...this.operations.values()];
  }

  /** The running operation on a node, if any: one at a time per node, as a cloud API locks a machine. */
  runningOn(node: string): Operation | undefined {
    for (const op of this.operations.values()) if (op.node === node && op.state === 'running') return op;
    return undefined;
  }

  /** Fails every running operation (a snapshot restore replaced the state they were changing). */
  abortAll(reason: string): void {
    for (const op of this.operations.values()) {
      if (op.state === 'running') this.finish(op, 'failed', reason);
    }
  }

  /**
   * Upgrades a control-plane node in kubeadm's order: etcd (to the etcd of the target minor; skipped when it does not
   * change), kube-apiserver, kube-controller-manager, kube-scheduler, then the kubelet. Each component's static pod is
   * stopped and started again with the new image (a new mirror pod, new UID) after `timings.componentRestart`.
   * The caller has checked the version skew.
   */
  startControlPlaneUpgrade(machine: Machine, version: string, hooks: UpgradeHooks, machineImage?: string): Operation {
    const op = this.open('control-plane-upgrade', machine, version);
    const target: Record<ControlPlaneComponent, string> = {
      etcd: etcdVersionFor(version),
      'kube-apiserver': version,
      'kube-controller-manager': version,
      'kube-scheduler': version,
    };
    const steps: OperationStep[] = [
      ...CONTROL_PLANE_COMPONENTS.filter((c) => machine.components?.[c] !== target[c]),
      'kubelet',
    ];
    const run = (i: number): void => {
      const step = steps[i];
      if (!this.stillValid(op, machine)) return;
      if (step === undefined || step === 'done') {
        this.finish(op, 'succeeded', `control plane of ${machine.name} runs ${version}`);
        return;
      }
      op.step = step;
      if (step === 'kubelet') {
        op.message = `restarting the kubelet at ${version}`;
        this.later(op, () => {
          if (!this.stillValid(op, machine)) return;
          machine.kubeletVersion = version;
          if (machineImage !== undefined) machine.machineImage = machineImage;
          nudgeKubelet(this.runtime, machine.name);
          run(i + 1);
        });
        return;
      }
      op.message = `upgrading ${step} to ${target[step]}`;
      removeStaticPod(this.runtime, machine.name, step);
      if (step === 'kube-apiserver' && this.controlPlaneCount() === 1) {
        // The only apiserver is down while its static pod restarts: clients see 503 (load balancers do the same).
        hooks.setUnavailableFor(this.runtime.timings.apiUnavailable);
      }
      this.later(op, () => {
        if (!this.stillValid(op, machine)) return;
        if (machine.components) machine.components[step] = target[step];
        writeStaticPod(this.runtime, machine, step);
        run(i + 1);
      });
    };
    run(0);
    return op;
  }

  /**
   * Upgrades a node's kubelet in place: a short kubelet restart (`timings.componentRestart`, well under the node
   * monitor grace period, so the node does not go NotReady), after which the node reports the new version. A node
   * listed in the `nodesNeverReady` fault comes back NotReady for good.
   */
  startNodeUpgrade(machine: Machine, version: string, machineImage: string | undefined): Operation {
    const op = this.open('node-upgrade', machine, version);
    op.step = 'kubelet';
    op.message = `restarting the kubelet at ${version}`;
    if (this.runtime.faults.nodesNeverReady.has(machine.name)) {
      machine.health = 'never-ready';
      nudgeKubelet(this.runtime, machine.name);
    }
    this.later(op, () => {
      if (!this.stillValid(op, machine)) return;
      machine.kubeletVersion = version;
      if (machineImage !== undefined) machine.machineImage = machineImage;
      nudgeKubelet(this.runtime, machine.name);
      this.finish(op, 'succeeded', `kubelet of ${machine.name} runs ${version}`);
    });
    return op;
  }

  private open(kind: OperationKind, machine: Machine, version: string): Operation {
    const op: Operation = {
      id: `op-${randomBytes(6).toString('hex')}`,
      kind,
      node: machine.name,
      fromVersion: kind === 'control-plane-upgrade' ? (machine.components?.['kube-apiserver'] ?? machine.kubeletVersion) : machine.kubeletVersion,
      toVersion: version,
      state: 'running',
      step: 'kubelet',
      message: 'starting',
      startedAt: new Date(this.runtime.now()).toISOString(),
    };
    this.operations.set(op.id, op);
    return op;
  }

  private later(op: Operation, fn: () => void): void {
    this.timers.set(op.id, this.runtime.after(this.runtime.timings.componentRestart, fn));
  }

  /** False (and the operation failed) when the machine went away or the operation ended meanwhile. */
  private stillValid(op: Operation, machine: Machine): boolean {
    if (op.state !== 'running') return false;
    if (this.runtime.machines.get(machine.name) !== machine || machine.state === 'stopped') {
      this.finish(op, 'failed', `node ${machine.name} was removed during the ${op.step} step`);
      return false;
    }
    return true;
  }

  private finish(op: Operation, state: 'succeeded' | 'failed', message: string): void {
    this.timers.get(op.id)?.();
    this.timers.delete(op.id);
    op.state = state;
    if (state === 'succeeded') op.step = 'done';
    op.message = message;
    op.finishedAt = new Date(this.runtime.now()).toISOString();
  }

  private controlPlaneCount(): number {
    let n = 0;
    for (const m of this.runtime.machines.values()) if (m.role === 'control-plane' && m.state !== 'stopped') n++;
    return n;
  }
}
