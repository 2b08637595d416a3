/**
 * The Deployment controller (kube-controller-manager `deployment`), a port of upstream's `pkg/controller/deployment`
 * for what an upgrade engine observes: one ReplicaSet per pod template (`<deployment>-<pod-template-hash>`, revision
 * annotations), RollingUpdate bounded by maxSurge/maxUnavailable, Recreate, proportional scaling during a rollout,
 * pause, revision history clean-up, and the status and Available/Progressing conditions `kubectl rollout status`
 * reads, and adoption of orphaned ReplicaSets its selector matches. Not ported: releasing ReplicaSets whose labels no
 * longer match, `spec.rollbackTo` (gone from apps/v1).
 */
import { fromLabelSelectorObject } from '../../k8s/label-selector.ts';
import { rfc3339 } from '../api/registry.ts';
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import { controllerOf, isRecord, jsonEqual } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import {
  OrphanIndex,
  adoptOrphans,
  computeHash,
  controllerRefTo,
  delayedRequeue,
  int,
  isGone,
  keyOf,
  namespaceTerminating,
  normalizedTemplate,
  omitZero,
  ownedBy,
  ownedPods,
  rec,
  scaledValue,
  selectingOwners,
  semanticJson,
  specOrMetaChanged,
  splitKey,
  templateWithoutLabel,
  writeStatus,
} from './replicaset.ts';
import type { Requeue } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

const HASH_LABEL = 'pod-template-hash';
const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations upstream does not copy onto its ReplicaSets. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);
const COMPONENT = 'deployment-controller';

/**
 * Starts the Deployment controller. It wakes on Deployment changes, on changes of the ReplicaSets it controls
 * (their status carries pod availability), and on pod deletions for Recreate (which waits for old pods to be gone).
 * Returns the function that stops it.
 */
export function startDeploymentController(runtime: SimRuntime): () => void {
  const { store } = runtime;
  let stopped = false;
  const queue = new WorkQueue(
    runtime,
    (key) => {
      if (!stopped) new DeploymentSync(runtime, queue, requeue, orphans, key).run();
    },
    { name: 'deployment' },
  );
  const requeue = delayedRequeue(runtime, queue);
  const orphans = new OrphanIndex();
  const unsubscribe = store.subscribe((event) => {
    if (event.storage === 'apps/deployments') {
      if (event.type !== 'DELETED' && specOrMetaChanged(event)) queue.add(keyOf(event.object));
    } else if (event.storage === 'apps/replicasets') {
      for (const rs of [event.object, event.previous]) {
        const ref = rs ? controllerOf(rs) : undefined;
        if (ref?.kind === 'Deployment') queue.add(`${event.object.metadata.namespace ?? ''}/${ref.name}`);
      }
      // A ReplicaSet nobody controls may be adopted by a Deployment whose selector matches it.
      if (orphans.observe(event)) for (const key of selectingOwners(store, 'apps/deployments', event.object)) queue.add(key);
    } else if (event.storage === 'core/pods' && event.type === 'DELETED') {
      // Only Recreate cares about pods directly: it starts the new ReplicaSet once every old pod is gone.
      const rsRef = controllerOf(event.object);
      if (rsRef?.kind !== 'ReplicaSet') return;
      const namespace = event.object.metadata.namespace;
      const rs = store.get('apps/replicasets', namespace, rsRef.name);
      const dRef = rs ? controllerOf(rs) : undefined;
      if (dRef?.kind !== 'Deployment') return;
      const d = store.get('apps/deployments', namespace, dRef.name);
      if (d && rec(rec(d.spec)['strategy'])['type'] === 'Recreate') queue.add(`${namespace ?? ''}/${dRef.name}`);
    }
  });
  for (const rs of store.all('apps/replicasets')) orphans.observe({ type: 'ADDED', object: rs, revision: 0, storage: 'apps/replicasets' });
  for (const d of store.all('apps/deployments')) queue.add(keyOf(d));
  return () => {
    stopped = true;
    unsubscribe();
  };
}

/** A Deployment condition (`apps/v1 DeploymentCondition`). */
interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** Deployment status as the controller computes it. */
interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: Condition[];
  collisionCount?: number;
}

/** One sync of one Deployment (upstream `syncDeployment` and what it calls). */
class DeploymentSync {
  private readonly store;
  private d: KubeObject | undefined;
  /** The ReplicaSets this Deployment controls, by name, kept current as the sync writes them. */
  private readonly rsByName = new Map<string, KubeObject>();

  constructor(
    private readonly runtime: SimRuntime,
    private readonly queue: WorkQueue,
    private readonly requeue: Requeue,
    private readonly orphans: OrphanIndex,
    private readonly key: string,
  ) {
    this.store = runtime.store;
  }

  run(): void {
    const [namespace, name] = splitKey(this.key);
    const d = this.store.get('apps/deployments', namespace, name);
    if (!d) return;
    this.d = d;
    adoptOrphans(this.runtime, d, 'apps/replicasets', this.orphans);
    for (const rs of ownedBy(this.store, 'apps/replicasets', d)) this.rsByName.set(rs.metadata.name, rs);

    if (d.metadata.deletionTimestamp) {
      // Being deleted in the foreground: the garbage collector removes the ReplicaSets; only report status.
      const { newRS, oldRSs } = this.replicaSets(false);
      this.writeDeploymentStatus(this.calculateStatus(newRS, oldRSs));
      return;
    }
    if (selectsAll(this.spec['selector'])) {
      this.runtime.recordEvent(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.', COMPONENT);
      this.writeDeploymentStatus({ ...(this.status as DeploymentStatus), observedGeneration: d.metadata.generation ?? 1 });
      return;
    }
    if (this.checkPausedConditions()) return;
    if (this.spec['paused'] === true || this.isScalingEvent()) {
      this.syncScale();
      return;
    }
    if (rec(this.spec['strategy'])['type'] === 'Recreate') this.rolloutRecreate();
    else this.rolloutRolling();
  }

  private get deployment(): KubeObject {
    if (!this.d) throw new Error('kube-sim deployment: no deployment loaded');
    return this.d;
  }

  private get spec(): Record<string, unknown> {
    return rec(this.deployment.spec);
  }

  private get status(): Record<string, unknown> {
    return rec(this.deployment.status);
  }

  private get replicas(): number {
    return int(this.spec['replicas'], 1);
  }

  private hasProgressDeadline(): boolean {
    const deadline = this.spec['progressDeadlineSeconds'];
    return typeof deadline === 'number' && deadline < 2_147_483_647;
  }

  private get isRollingUpdate(): boolean {
    return rec(this.spec['strategy'])['type'] !== 'Recreate';
  }

  /** `ResolveFenceposts`: maxSurge rounds up, maxUnavailable down; both 0 means maxUnavailable 1. */
  private fenceposts(): { surge: number; unavailable: number } {
    const rolling = rec(rec(this.spec['strategy'])['rollingUpdate']);
    const surge = scaledValue(rolling['maxSurge'] ?? '25%', this.replicas, true);
    const unavailable = scaledValue(rolling['maxUnavailable'] ?? '25%', this.replicas, false);
    return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
  }

  private maxSurge(): number {
    return this.isRollingUpdate ? this.fenceposts().surge : 0;
  }

  private maxUnavailable(): number {
    if (!this.isRollingUpdate || this.replicas === 0) return 0;
    return Math.min(this.fenceposts().unavailable, this.replicas);
  }

  // ----- ReplicaSets ------------------------------------------------------------------------------------------

  /**
   * The new ReplicaSet (template equal to the Deployment's, ignoring the hash label) and the old ones, creating the
   * new one when asked; syncs the revision annotations (`getAllReplicaSetsAndSyncRevision`).
   */
  private replicaSets(create: boolean): { newRS: KubeObject | undefined; oldRSs: KubeObject[]; collided?: boolean } {
    const template = normalizedTemplate(this.spec['template']);
    const wanted = semanticKey(template);
    const all = [...this.rsByName.values()].sort(byCreation);
    const existing = all.find((rs) => templateKey(rs) === wanted);
    const oldRSs = all.filter((rs) => rs !== existing);
    const maxOldRevision = Math.max(0, ...oldRSs.map(revisionOf));
    const newRevision = String(maxOldRevision + 1);

    let newRS = existing;
    if (newRS) {
      const annotations = this.replicaSetAnnotations(newRS, newRevision);
      if (annotations) newRS = this.updateReplicaSet(newRS, { annotations });
      if (this.hasProgressDeadline() && !this.condition('Progressing')) {
        this.setCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${newRS.metadata.name}"`);
      }
    } else if (create && !namespaceTerminating(this.store, this.deployment.metadata.namespace ?? '')) {
      const created = this.createNewReplicaSet(template, oldRSs, newRevision);
      if (created === 'collision') return { newRS: undefined, oldRSs, collided: true };
      newRS = created;
    }
    if (newRS) this.syncDeploymentRevision(String(revisionOf(newRS)));
    return { newRS, oldRSs };
  }

  /** The annotations a new ReplicaSet should have now, or undefined when it has them. */
  private replicaSetAnnotations(rs: KubeObject, newRevision: string): Record<string, string> | undefined {
    const current = rs.metadata.annotations ?? {};
    const next: Record<string, string> = { ...current, ...this.copiedAnnotations() };
    const old = current[REVISION];
    if (old === undefined || Number(old) < Number(newRevision)) {
      next[REVISION] = newRevision;
      if (old !== undefined && old !== newRevision) {
        // A rollback to this template: keep the revisions it had before, as upstream does.
        next[REVISION_HISTORY] = current[REVISION_HISTORY] ? `${current[REVISION_HISTORY]},${old}` : old;
      }
    }
    if (!next[DESIRED_REPLICAS]) {
      next[DESIRED_REPLICAS] = String(this.replicas);
      next[MAX_REPLICAS] = String(this.replicas + this.maxSurge());
    }
    return jsonEqual(next, current) ? undefined : next;
  }

  private copiedAnnotations(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.deployment.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v;
    return out;
  }

  private createNewReplicaSet(template: Record<string, unknown>, oldRSs: KubeObject[], revision: string): KubeObject | 'collision' {
    const d = this.deployment;
    const collisionCount = typeof this.status['collisionCount'] === 'number' ? this.status['collisionCount'] : undefined;
    const hash = computeHash(template, collisionCount);
    const name = `${d.metadata.name}-${hash}`;
    const meta = rec(template['metadata']);
    const labels = { ...(rec(meta['labels']) as Record<string, string>), [HASH_LABEL]: hash };
    const selector = rec(this.spec['selector']);
    const newReplicas = this.newRSNewReplicas(oldRSs, undefined);
    const input = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels,
        annotations: {
          ...this.copiedAnnotations(),
          [DESIRED_REPLICAS]: String(this.replicas),
          [MAX_REPLICAS]: String(this.replicas + this.maxSurge()),
          [REVISION]: revision,
        },
        ownerReferences: [controllerRefTo(d)],
      },
      spec: {
        replicas: newReplicas,
        ...(this.spec['minReadySeconds'] !== undefined ? { minReadySeconds: this.spec['minReadySeconds'] } : {}),
        selector: { ...selector, matchLabels: { ...rec(selector['matchLabels']), [HASH_LABEL]: hash } },
        template: { ...template, metadata: { ...meta, labels } },
      },
    };
    let created: KubeObject;
    try {
      created = this.runtime.registry.create(kindDef('ReplicaSet'), d.metadata.namespace, input);
    } catch (err) {
      if (!(err instanceof StatusError) || err.reason !== 'AlreadyExists') throw err;
      const existing = this.store.get('apps/replicasets', d.metadata.namespace, name);
      if (
        existing &&
        controllerOf(existing)?.uid === d.metadata.uid &&
        templateKey(existing) === semanticKey(template)
      ) {
        this.rsByName.set(name, existing);
        return existing;
      }
      // Another template already has this hash: count the collision, which changes the hash, and try again.
      this.writeDeploymentStatus({ ...(this.status as DeploymentStatus), collisionCount: (collisionCount ?? 0) + 1 });
      this.queue.addAfter(this.key, 0);
      return 'collision';
    }
    this.rsByName.set(name, created);
    if (newReplicas > 0) {
      this.runtime.recordEvent(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} to ${newReplicas}`, COMPONENT);
    }
    if (this.hasProgressDeadline()) this.setCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${name}"`);
    return created;
  }

  /** Keeps the Deployment's revision annotation equal to its new ReplicaSet's (`kubectl rollout history` reads it). */
  private syncDeploymentRevision(revision: string): void {
    const d = this.deployment;
    if (d.metadata.annotations?.[REVISION] === revision) return;
    this.d = this.runtime.registry.update(kindDef('Deployment'), d.metadata.namespace, d.metadata.name, {
      ...d,
      metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [REVISION]: revision } },
    });
  }

  /** Writes a ReplicaSet's replicas and/or annotations; returns it as stored. */
  private updateReplicaSet(rs: KubeObject, change: { replicas?: number; annotations?: Record<string, string> }): KubeObject {
    const next = {
      ...rs,
      metadata: { ...rs.metadata, ...(change.annotations ? { annotations: change.annotations } : {}) },
      spec: { ...rec(rs.spec), ...(change.replicas !== undefined ? { replicas: change.replicas } : {}) },
    };
    const stored = this.runtime.registry.update(kindDef('ReplicaSet'), rs.metadata.namespace, rs.metadata.name, next);
    this.rsByName.set(stored.metadata.name, stored);
    return stored;
  }

  /**
   * `scaleReplicaSetAndRecordEvent`: sets replicas and the desired/max replicas annotations; true when the size
   * changed.
   */
  private scaleReplicaSet(rs: KubeObject, replicas: number): boolean {
    const current = specReplicas(rs);
    const annotations = { ...rs.metadata.annotations };
    const desired = String(this.replicas);
    const max = String(this.replicas + this.maxSurge());
    const annotationsChange = annotations[DESIRED_REPLICAS] !== desired || annotations[MAX_REPLICAS] !== max;
    if (current === replicas && !annotationsChange) return false;
    annotations[DESIRED_REPLICAS] = desired;
    annotations[MAX_REPLICAS] = max;
    this.updateReplicaSet(rs, { replicas, annotations });
    if (current !== replicas) this.recordScaling(rs, current, replicas);
    return current !== replicas;
  }

  private recordScaling(rs: KubeObject, from: number, to: number): void {
    const direction = to > from ? 'up' : 'down';
    this.runtime.recordEvent(this.deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rs.metadata.name} to ${to} from ${from}`, COMPONENT);
  }

  private current(rs: KubeObject): KubeObject {
    return this.rsByName.get(rs.metadata.name) ?? rs;
  }

  // ----- Strategies -------------------------------------------------------------------------------------------

  /** `NewRSNewReplicas`: how far the new ReplicaSet may grow now. */
  private newRSNewReplicas(oldRSs: readonly KubeObject[], newRS: KubeObject | undefined): number {
    if (!this.isRollingUpdate) return this.replicas;
    const newReplicas = newRS ? specReplicas(newRS) : 0;
    const maxSurge = scaledValue(rec(rec(this.spec['strategy'])['rollingUpdate'])['maxSurge'] ?? '25%', this.replicas, true);
    const currentPodCount = sumReplicas([...oldRSs, ...(newRS ? [newRS] : [])].map((rs) => this.current(rs)));
    const maxTotalPods = this.replicas + maxSurge;
    if (currentPodCount >= maxTotalPods) return newReplicas;
    return newReplicas + Math.min(maxTotalPods - currentPodCount, this.replicas - newReplicas);
  }

  private rolloutRolling(): void {
    const { newRS, oldRSs, collided } = this.replicaSets(true);
    if (collided || !newRS) return;
    if (this.reconcileNewReplicaSet(newRS, oldRSs) || this.reconcileOldReplicaSets(newRS, oldRSs)) {
      this.syncRolloutStatus(newRS, oldRSs);
      return;
    }
    this.syncRolloutStatus(newRS, oldRSs);
    // Upstream cleans up on the sync after the one that completed the rollout (its own status write wakes it);
    // this controller is not woken by its status writes, so it cleans up right after writing a complete status.
    if (this.deploymentComplete(this.status)) this.cleanupDeployment(oldRSs);
  }

  private reconcileNewReplicaSet(newRS: KubeObject, oldRSs: readonly KubeObject[]): boolean {
    const current = specReplicas(this.current(newRS));
    if (current === this.replicas) return false;
    if (current > this.replicas) return this.scaleReplicaSet(this.current(newRS), this.replicas);
    return this.scaleReplicaSet(this.current(newRS), this.newRSNewReplicas(oldRSs, this.current(newRS)));
  }

  private reconcileOldReplicaSets(newRS: KubeObject, oldRSs: readonly KubeObject[]): boolean {
    const active = oldRSs.map((rs) => this.current(rs)).filter((rs) => specReplicas(rs) > 0);
    if (sumReplicas(active) === 0) return false;
    const fresh = this.current(newRS);
    const allPodsCount = sumReplicas([...active, fresh]);
    const minAvailable = this.replicas - this.maxUnavailable();
    const newRSUnavailable = specReplicas(fresh) - availableOf(fresh);
    const maxScaledDown = allPodsCount - minAvailable - newRSUnavailable;
    if (maxScaledDown <= 0) return false;
    // Unhealthy old replicas go first: they would block the rollout otherwise.
    const cleaned = this.cleanupUnhealthyReplicas(active, maxScaledDown);
    const scaledDown = this.scaleDownOldReplicaSetsForRollingUpdate(fresh, active);
    return cleaned + scaledDown > 0;
  }

  private cleanupUnhealthyReplicas(oldRSs: readonly KubeObject[], maxCleanupCount: number): number {
    let total = 0;
    for (const old of [...oldRSs].sort(byCreation)) {
      if (total >= maxCleanupCount) break;
      const rs = this.current(old);
      const replicas = specReplicas(rs);
      const unhealthy = replicas - availableOf(rs);
      if (replicas === 0 || unhealthy <= 0) continue;
      const count = Math.min(maxCleanupCount - total, unhealthy);
      this.scaleReplicaSet(rs, replicas - count);
      total += count;
    }
    return total;
  }

  private scaleDownOldReplicaSetsForRollingUpdate(newRS: KubeObject, oldRSs: readonly KubeObject[]): number {
    const minAvailable = this.replicas - this.maxUnavailable();
    const available = [...oldRSs, newRS].reduce((n, rs) => n + availableOf(this.current(rs)), 0);
    if (available <= minAvailable) return 0;
    const totalToScaleDown = available - minAvailable;
    let total = 0;
    for (const old of [...oldRSs].sort(byCreation)) {
      if (total >= totalToScaleDown) break;
      const rs = this.current(old);
      const replicas = specReplicas(rs);
      if (replicas === 0) continue;
      const count = Math.min(replicas, totalToScaleDown - total);
      this.scaleReplicaSet(rs, replicas - count);
      total += count;
    }
    return total;
  }

  private rolloutRecreate(): void {
    let { newRS, oldRSs } = this.replicaSets(false);
    // Scale every old ReplicaSet down to zero first.
    let scaledDown = false;
    for (const old of oldRSs) {
      const rs = this.current(old);
      if (specReplicas(rs) > 0 && this.scaleReplicaSet(rs, 0)) scaledDown = true;
    }
    if (scaledDown || this.oldPodsRunning(newRS, oldRSs)) {
      this.syncRolloutStatus(newRS, oldRSs);
      return;
    }
    if (!newRS) {
      const again = this.replicaSets(true);
      if (again.collided || !again.newRS) return;
      newRS = again.newRS;
      oldRSs = again.oldRSs;
    }
    this.scaleReplicaSet(this.current(newRS), this.replicas);
    this.syncRolloutStatus(newRS, oldRSs);
    if (this.deploymentComplete(this.status)) this.cleanupDeployment(oldRSs);
  }

  /** Recreate waits until no pod of an old ReplicaSet is left that is not finished (terminating ones count). */
  private oldPodsRunning(newRS: KubeObject | undefined, oldRSs: readonly KubeObject[]): boolean {
    if (oldRSs.some((rs) => int(rec(this.current(rs).status)['replicas'], 0) > 0)) return true;
    for (const rs of oldRSs) {
      if (rs === newRS) continue;
      for (const pod of ownedPods(this.store, rs)) {
        const phase = rec(pod.status)['phase'];
        if (phase !== 'Failed' && phase !== 'Succeeded') return true;
      }
    }
    return false;
  }

  /** A scaling event: an active ReplicaSet was sized for a different replica count than the Deployment's now. */
  private isScalingEvent(): boolean {
    const { newRS, oldRSs } = this.replicaSets(false);
    for (const rs of [...oldRSs, ...(newRS ? [newRS] : [])].map((r) => this.current(r))) {
      if (specReplicas(rs) === 0) continue;
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (desired !== undefined && Number(desired) !== this.replicas) return true;
    }
    return false;
  }

  /** `sync`: scale (proportionally when mid-rollout) and report status, without rolling out (paused, scaling). */
  private syncScale(): void {
    const { newRS, oldRSs } = this.replicaSets(false);
    this.scale(newRS, oldRSs);
    if (this.spec['paused'] === true) this.cleanupDeployment(oldRSs);
    this.writeDeploymentStatus(this.calculateStatus(newRS, oldRSs));
  }

  private scale(newRS: KubeObject | undefined, oldRSs: readonly KubeObject[]): void {
    const all = [...oldRSs, ...(newRS ? [newRS] : [])].map((rs) => this.current(rs));
    const active = all.filter((rs) => specReplicas(rs) > 0);
    const single = active.length === 1 ? active[0] : active.length === 0 ? (newRS ? this.current(newRS) : [...all].sort(byCreation).pop()) : undefined;
    if (single) {
      if (specReplicas(single) !== this.replicas) this.scaleReplicaSet(single, this.replicas);
      return;
    }
    if (newRS && this.isSaturated(this.current(newRS))) {
      for (const rs of active) if (rs.metadata.name !== newRS.metadata.name) this.scaleReplicaSet(rs, 0);
      return;
    }
    if (!this.isRollingUpdate) return;
    // Proportional scaling: spread the difference over the active ReplicaSets by their share of the old size.
    const allowed = this.replicas > 0 ? this.replicas + this.maxSurge() : 0;
    const toAdd = allowed - sumReplicas(active);
    const ordered = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
    const sizes = new Map<string, number>();
    let added = 0;
    for (const rs of ordered) {
      let size = specReplicas(rs);
      if (toAdd !== 0) {
        const proportion = this.proportion(rs, toAdd, added);
        size += proportion;
        added += proportion;
      }
      sizes.set(rs.metadata.name, size);
    }
    ordered.forEach((rs, i) => {
      let size = sizes.get(rs.metadata.name) ?? 0;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      this.scaleReplicaSet(this.current(rs), size);
    });
  }

  /** `GetProportion`. */
  private proportion(rs: KubeObject, toAdd: number, added: number): number {
    const replicas = specReplicas(rs);
    if (replicas === 0 || toAdd === 0 || toAdd === added) return 0;
    let fraction: number;
    if (this.replicas === 0) fraction = -replicas;
    else {
      const deploymentReplicas = this.replicas + this.maxSurge();
      const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? int(this.status['replicas'], 0)) || 1;
      fraction = roundHalfAway((replicas * deploymentReplicas) / annotated) - replicas;
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  private isSaturated(rs: KubeObject): boolean {
    return (
      specReplicas(rs) === this.replicas &&
      rs.metadata.annotations?.[DESIRED_REPLICAS] === String(this.replicas) &&
      int(rec(rs.status)['availableReplicas'], 0) === this.replicas
    );
  }

  /** Deletes the oldest old ReplicaSets beyond revisionHistoryLimit that are scaled to zero and settled. */
  private cleanupDeployment(oldRSs: readonly KubeObject[]): void {
    const limit = this.spec['revisionHistoryLimit'];
    if (typeof limit !== 'number') return;
    const cleanable = oldRSs.map((rs) => this.current(rs)).filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      const status = rec(rs.status);
      if (int(status['replicas'], 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata.generation ?? 0) > int(status['observedGeneration'], 0)) continue;
      try {
        this.runtime.registry.delete(kindDef('ReplicaSet'), rs.metadata.namespace, rs.metadata.name, { preconditions: { uid: rs.metadata.uid } });
        this.rsByName.delete(rs.metadata.name);
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
  }

  // ----- Status -----------------------------------------------------------------------------------------------

  private calculateStatus(newRS: KubeObject | undefined, oldRSs: readonly KubeObject[]): DeploymentStatus {
    const all = [...oldRSs, ...(newRS ? [newRS] : [])].map((rs) => this.current(rs));
    const sum = (field: string, list: readonly KubeObject[]) => list.reduce((n, rs) => n + int(rec(rs.status)[field], 0), 0);
    const available = sum('availableReplicas', all);
    const unavailable = Math.max(0, sumReplicas(all) - available);
    const previous = this.status;
    const status: DeploymentStatus = {
      ...omitZero('observedGeneration', this.deployment.metadata.generation ?? 0),
      ...omitZero('replicas', sum('replicas', all)),
      ...omitZero('updatedReplicas', newRS ? sum('replicas', [this.current(newRS)]) : 0),
      ...omitZero('readyReplicas', sum('readyReplicas', all)),
      ...omitZero('availableReplicas', available),
      ...omitZero('unavailableReplicas', unavailable),
      conditions: conditionsOf(previous),
      ...(typeof previous['collisionCount'] === 'number' ? { collisionCount: previous['collisionCount'] } : {}),
    };
    if (available >= this.replicas - this.maxUnavailable()) {
      setCondition(status, this.newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'));
    } else {
      setCondition(status, this.newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'));
    }
    return status;
  }

  /** `syncRolloutStatus`: status plus the Progressing condition, and a requeue at the progress deadline. */
  private syncRolloutStatus(newRS: KubeObject | undefined, oldRSs: readonly KubeObject[]): void {
    const status = this.calculateStatus(newRS, oldRSs);
    const deadline = int(this.spec['progressDeadlineSeconds'], 0);
    const hasDeadline = this.hasProgressDeadline();
    if (!hasDeadline) status.conditions = (status.conditions ?? []).filter((c) => c.type !== 'Progressing');
    const current = this.condition('Progressing');
    const complete = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    if (hasDeadline && !complete && newRS) {
      const name = this.current(newRS).metadata.name;
      if (this.deploymentComplete(status)) {
        setCondition(status, this.newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${name}" has successfully progressed.`));
      } else if (this.deploymentProgressing(status)) {
        const condition = this.newCondition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${name}" is progressing.`);
        // Progress refreshes lastUpdateTime even with the same reason (the deadline counts from it).
        if (current?.status === 'True') condition.lastTransitionTime = current.lastTransitionTime;
        status.conditions = (status.conditions ?? []).filter((c) => c.type !== 'Progressing');
        setCondition(status, condition);
      } else if (this.timedOut(status, deadline)) {
        setCondition(status, this.newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${name}" has timed out progressing.`));
      }
    }
    this.writeDeploymentStatus(status);
    // A rollout still progressing is checked again when its deadline would pass (`requeueStuckDeployment`).
    const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
    if (hasDeadline && progressing?.status === 'True' && progressing.reason !== 'NewReplicaSetAvailable' && !this.deploymentComplete(status)) {
      const due = Date.parse(progressing.lastUpdateTime) + deadline * 1000 - this.runtime.now();
      this.requeue(this.key, Math.max(0, due) + 1000);
    }
  }

  private deploymentComplete(status: DeploymentStatus): boolean {
    return (
      (status.updatedReplicas ?? 0) === this.replicas &&
      (status.replicas ?? 0) === this.replicas &&
      (status.availableReplicas ?? 0) === this.replicas &&
      (status.observedGeneration ?? 0) >= (this.deployment.metadata.generation ?? 1)
    );
  }

  private deploymentProgressing(status: DeploymentStatus): boolean {
    const old = this.status;
    const oldOld = int(old['replicas'], 0) - int(old['updatedReplicas'], 0);
    const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
    return (
      (status.updatedReplicas ?? 0) > int(old['updatedReplicas'], 0) ||
      newOld < oldOld ||
      (status.readyReplicas ?? 0) > int(old['readyReplicas'], 0) ||
      (status.availableReplicas ?? 0) > int(old['availableReplicas'], 0)
    );
  }

  private timedOut(status: DeploymentStatus, deadlineSeconds: number): boolean {
    const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
    if (!progressing || progressing.reason === 'NewReplicaSetAvailable') return false;
    if (progressing.reason === 'ProgressDeadlineExceeded') return true;
    return Date.parse(progressing.lastUpdateTime) + deadlineSeconds * 1000 < this.runtime.now();
  }

  /** Sets the Progressing condition for pause and resume; true when it wrote (the write wakes the controller). */
  private checkPausedConditions(): boolean {
    if (!this.hasProgressDeadline()) return false;
    const current = this.condition('Progressing');
    if (current?.reason === 'ProgressDeadlineExceeded') return false;
    const pausedCondition = current?.reason === 'DeploymentPaused';
    const status = { ...(this.status as DeploymentStatus), conditions: conditionsOf(this.status) };
    if (this.spec['paused'] === true && !pausedCondition) {
      setCondition(status, this.newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused'));
    } else if (this.spec['paused'] !== true && pausedCondition) {
      setCondition(status, this.newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed'));
    } else {
      return false;
    }
    this.writeDeploymentStatus(status);
    this.queue.add(this.key);
    return true;
  }

  private condition(type: string): Condition | undefined {
    return conditionsOf(this.status).find((c) => c.type === type);
  }

  /** Sets one condition on the stored status right away (upstream writes these as it creates or finds the RS). */
  private setCondition(type: string, status: Condition['status'], reason: string, message: string): void {
    const next = { ...(this.status as DeploymentStatus), conditions: conditionsOf(this.status) };
    setCondition(next, this.newCondition(type, status, reason, message));
    this.writeDeploymentStatus(next);
  }

  private newCondition(type: string, status: Condition['status'], reason: string, message: string): Condition {
    const now = rfc3339(this.runtime.now());
    return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
  }

  private writeDeploymentStatus(status: DeploymentStatus): void {
    const clean: Record<string, unknown> = { ...status };
    if (!status.conditions || status.conditions.length === 0) delete clean['conditions'];
    this.d = writeStatus(this.runtime, kindDef('Deployment'), this.deployment, clean);
  }
}

/** `SetDeploymentCondition`: same status and reason changes nothing; same status keeps lastTransitionTime. */
function setCondition(status: DeploymentStatus, condition: Condition): void {
  const conditions = status.conditions ?? [];
  const current = conditions.find((c) => c.type === condition.type);
  if (current && current.status === condition.status && current.reason === condition.reason) return;
  const next = current && current.status === condition.status ? { ...condition, lastTransitionTime: current.lastTransitionTime } : condition;
  status.conditions = [...conditions.filter((c) => c.type !== condition.type), next];
}

function conditionsOf(status: Record<string, unknown>): Condition[] {
  const list = status['conditions'];
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is Condition => isRecord(c) && typeof c['type'] === 'string').map((c) => ({ ...c }));
}

/** Upstream's `LabelSelectorAsSelector(spec.selector).Empty()`: a selector with no requirements, however spelled. */
function selectsAll(selector: unknown): boolean {
  if (!isRecord(selector)) return false;
  try {
    const parsed = fromLabelSelectorObject(selector);
    return parsed !== 'nothing' && parsed.requirements.length === 0;
  } catch {
    return false;
  }
}

/** A ReplicaSet's template without the hash label, as semantic JSON (cached: stored objects never change). */
function templateKey(rs: KubeObject): string {
  const spec = rec(rs.spec);
  let key = templateKeys.get(spec);
  if (key === undefined) {
    key = semanticJson(templateWithoutLabel(normalizedTemplate(spec['template']), HASH_LABEL));
    templateKeys.set(spec, key);
  }
  return key;
}

const templateKeys = new WeakMap<Record<string, unknown>, string>();

/**
 * `semanticJson` of a Deployment's normalized template, kept while the template lives (normalized templates are cached
 * per stored template, and stored objects are never mutated): a Deployment is synced after every status change of its
 * ReplicaSets, a few times for each pod a drain evicts.
 */
function semanticKey(template: Record<string, unknown>): string {
  let key = semanticKeys.get(template);
  if (key === undefined) semanticKeys.set(template, (key = semanticJson(template)));
  return key;
}

const semanticKeys = new WeakMap<Record<string, unknown>, string>();

function specReplicas(rs: KubeObject): number {
  return int(rec(rs.spec)['replicas'], 1);
}

/**
 * Available replicas of a ReplicaSet for rollout decisions, never more than its spec: right after a scale-down
 * the status still counts pods the ReplicaSet controller is about to delete (it deletes unavailable pods first).
 */
function availableOf(rs: KubeObject): number {
  return Math.min(int(rec(rs.status)['availableReplicas'], 0), specReplicas(rs));
}

function sumReplicas(list: readonly KubeObject[]): number {
  return list.reduce((n, rs) => n + specReplicas(rs), 0);
}

function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

/** Oldest first; ties by name (`ReplicaSetsByCreationTimestamp`). */
function byCreation(a: KubeObject, b: KubeObject): number {
  const d = (Date.parse(a.metadata.creationTimestamp) || 0) - (Date.parse(b.metadata.creationTimestamp) || 0);
  return d !== 0 ? d : a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** Go's math.Round: halves away from zero. */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}
