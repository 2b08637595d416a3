/**
 * etcd snapshots of the simulated cluster: the whole store plus what the hosts run (kubelet, machine image, the
 * control-plane components). Restoring one puts both back, as a real etcd restore does together with reinstalling
 * the previous control-plane binaries: a restored control plane runs the old versions again.
 */
import { randomBytes } from 'node:crypto';
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import type { ControlPlaneComponents, SimRuntime } from '../runtime.ts';
import { nudgeKubelet, registerNode } from './machines.ts';

/** What a snapshot kept of one machine. */
interface MachineVersions {
  name: string;
  kubeletVersion: string;
  machineImage: string;
  components?: ControlPlaneComponents;
}

/** A snapshot as the API lists it. */
export interface SnapshotInfo {
  id: string;
  name?: string;
  takenAt: string;
  /** The store revision the snapshot holds (etcd's revision). */
  revision: number;
  sizeBytes: number;
  objects: number;
}

interface Snapshot extends SnapshotInfo {
  collections: Record<string, KubeObject[]>;
  machines: MachineVersions[];
}

/** What a restore did. */
export interface RestoreResult {
  id: string;
  /** The revision the snapshot held. */
  restoredRevision: number;
  /** The store's revision after the restore (revisions only move forward, as etcd's do after a restore). */
  revision: number;
  machinesRestored: number;
}

/** The snapshots of one simulated cluster, kept in memory. */
export class Snapshots {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(private readonly runtime: SimRuntime) {}

  /**
   * Takes a snapshot. Stored objects are immutable, so holding references is a consistent copy.
   * @throws StatusError 500 when the `snapshotFailure` fault is on.
   */
  take(name?: string): SnapshotInfo {
    if (this.runtime.faults.snapshotFailure) {
      throw new StatusError(500, 'InternalError', 'etcdserver: snapshot failed: kube-sim fault "snapshotFailure" is set (PUT /sim/v1/faults {"snapshotFailure": false} clears it)');
    }
    const dump = this.runtime.store.dump();
    let sizeBytes = 0;
    let objects = 0;
    for (const items of Object.values(dump.collections)) {
      for (const obj of items) sizeBytes += JSON.stringify(obj).length;
      objects += items.length;
    }
    const machines = [...this.runtime.machines.values()].map((m) => ({
      name: m.name,
      kubeletVersion: m.kubeletVersion,
      machineImage: m.machineImage,
      ...(m.components ? { components: { ...m.components } } : {}),
    }));
    const snapshot: Snapshot = {
      id: `snap-${randomBytes(6).toString('hex')}`,
      ...(name !== undefined ? { name } : {}),
      takenAt: new Date(this.runtime.now()).toISOString(),
      revision: dump.revision,
      sizeBytes,
      objects,
      collections: dump.collections,
      machines,
    };
    this.snapshots.set(snapshot.id, snapshot);
    return info(snapshot);
  }

  list(): SnapshotInfo[] {
    return [...this.snapshots.values()].map(info);
  }

  get(id: string): SnapshotInfo | undefined {
    const s = this.snapshots.get(id);
    return s ? info(s) : undefined;
  }

  /**
   * Restores the store and the machines' versions. Machines that exist now but not in the snapshot keep running; if
   * their Node object is gone with the restore, their kubelet registers it again, as a real kubelet would.
   * @throws StatusError 404 for an unknown snapshot.
   */
  restore(id: string): RestoreResult {
    const snapshot = this.snapshots.get(id);
    if (!snapshot) throw new StatusError(404, 'NotFound', `snapshot "${id}" not found`, { name: id, kind: 'snapshots' });
    this.runtime.store.restore({ collections: snapshot.collections });
    let machinesRestored = 0;
    for (const saved of snapshot.machines) {
      const machine = this.runtime.machines.get(saved.name);
      if (!machine) continue;
      machine.kubeletVersion = saved.kubeletVersion;
      machine.machineImage = saved.machineImage;
      if (saved.components) machine.components = { ...saved.components };
      machinesRestored += 1;
    }
    for (const machine of this.runtime.machines.values()) {
      if (machine.state === 'running') registerNode(this.runtime, machine);
      nudgeKubelet(this.runtime, machine.name);
    }
    return { id, restoredRevision: snapshot.revision, revision: this.runtime.store.currentRevision(), machinesRestored };
  }
}

function info(s: Snapshot): SnapshotInfo {
  return {
    id: s.id,
    ...(s.name !== undefined ? { name: s.name } : {}),
    takenAt: s.takenAt,
    revision: s.revision,
    sizeBytes: s.sizeBytes,
    objects: s.objects,
  };
}
