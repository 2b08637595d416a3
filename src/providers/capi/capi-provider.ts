/**
 * The `capi` provider: a workload cluster that Cluster API manages, driven through its objects on the management
 * cluster. kup stays in charge of each worker batch: for the run a pool's MachineDeployment is switched to the
 * `OnDelete` rollout strategy with its template at the target version, so Cluster API creates no machine and removes
 * none by itself; a replacement is one more replica (a surge Machine of the new MachineSet), and once kup has drained
 * the old node with its own drain and PDB gate it removes exactly that Machine. The original strategy and replica
 * count are kept in an annotation on the MachineDeployment (so another kup process can finish the run) and put back
 * when the pool's last old Machine is gone.
 *
 * The control plane moves through Cluster API's control-plane contract (`spec.version`, then `status.version`, ready
 * and up-to-date replicas and the `RollingOut` condition), one hop per call, which KubeadmControlPlane and the
 * managed control planes of the cloud providers' Cluster API providers share; a Cluster built from a ClusterClass
 * moves by `spec.topology.version` and the topology controller does the rest.
 *
 * What Cluster API cannot do is not offered: no etcd snapshot and restore (a rollback moves nodes back, it cannot bring
 * back a control plane that moved a minor), no in-place upgrade, no control-plane downgrade.
 *
 * Waits poll the management cluster (every `pollIntervalMs`): Cluster API's objects change a few times a minute
 * during a rollout, and a poll of two or three objects costs less than watches held across provider calls.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import { systemClock } from '../../clock/clock.ts';
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';
import type {
  ControlPlaneNodeTopology,
  ControlPlaneProgressListener,
  PoolTopology,
  ProviderFinding,
  Provider,
  ReplaceResult,
  RunPhaseForProvider,
  SnapshotInfo,
  Topology,
  WorkerNodeTarget,
} from '../../engine/provider.ts';
import { ManagementClient } from './management-client.ts';
import type { ObjectList } from './management-client.ts';
import {
  CapiAnnotation,
  CapiLabel,
  KupAnnotation,
  capiPath,
  capiVersion,
  conditionOf,
  kubeVersion,
} from './objects.ts';
import type {
  CapiCluster,
  ContractControlPlane,
  Machine,
  MachineDeployment,
  MachineHealthCheck,
  MachineSet,
  RolloutStrategy,
} from './objects.ts';

/** The provider's name in the cluster registry. */
export const CAPI_PROVIDER_NAME = 'capi';

/** Options of {@link createCapiProvider}. */
export interface CapiProviderOptions {
  /** Path of the management cluster's kubeconfig. */
  readonly managementKubeconfig: string;
  /** Its context. @default the kubeconfig's current context */
  readonly managementContext?: string;
  /** The Cluster's namespace and name on the management cluster. */
  readonly namespace: string;
  readonly cluster: string;
  /** Pause between reads while waiting on Cluster API. @default 1000 */
  readonly pollIntervalMs?: number;
  /** How long a control-plane hop or a new Machine may take. @default 1800000 (30 min) */
  readonly operationTimeoutMs?: number;
  /**
   * Who rolls the workers of a classic cluster's MachineDeployments. `kup` (kup in charge): OnDelete and one surge
   * Machine per node, kup's drain and batches. `delegate`: each control-plane hop also sets the MachineDeployments'
   * version, and Cluster API rolls them with their own strategy (maxSurge, maxUnavailable, its own drain); the hop ends
   * when every one of them is up to date. @default 'kup'
   */
  readonly workerRollout?: CapiWorkerRollout;
  /** @default the wall clock */
  readonly clock?: Clock;
}

/** Who rolls a classic cluster's workers: see {@link CapiProviderOptions.workerRollout}. */
export type CapiWorkerRollout = 'kup' | 'delegate';

/** What kup keeps on a MachineDeployment while a run moves it (annotation {@link KupAnnotation.rollout}). */
interface RolloutRecord {
  /** The strategy the MachineDeployment had before kup switched it to OnDelete (null: none was set). */
  readonly strategy: RolloutStrategy | null;
  /** Its replica count before kup added surge replicas. */
  readonly replicas: number;
  /** Replacements in flight, by the hash of their idempotency key. */
  readonly replacements: Readonly<Record<string, Replacement>>;
}

interface Replacement {
  /** The Machine being replaced. */
  readonly old: string;
  /** Machines at the target version that existed when the surge replica was added (not this replacement). */
  readonly existing: readonly string[];
}

/** Creates the provider of one Cluster API cluster. */
export function createCapiProvider(options: CapiProviderOptions): Provider {
  return new CapiProvider(options);
}

class CapiProvider implements Provider {
  readonly name = CAPI_PROVIDER_NAME;
  readonly capabilities = {
    replace: true,
    inPlace: false,
    snapshot: false,
    controlPlaneDowngrade: false,
    // Cluster API's control-plane providers drain each old Machine before deleting it (KubeadmControlPlane does).
    drainsControlPlane: true,
    // A machine image is an infrastructure template (DevMachineTemplate/ns/name, AWSMachineTemplate/...), which no
    // Node reports: the replacement Machine is made from it, and describeTopology reads it from its MachineSet.
    nodesReportImage: false,
  };
  readonly #client: ManagementClient;
  readonly #namespace: string;
  readonly #cluster: string;
  readonly #pollMs: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #delegate: boolean;
  /** Replacements in one MachineDeployment are claimed one at a time in this process (a surge Machine each). */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: CapiProviderOptions) {
    this.#client = new ManagementClient({
      kubeconfigPath: options.managementKubeconfig,
      ...(options.managementContext !== undefined ? { context: options.managementContext } : {}),
    });
    this.#namespace = options.namespace;
    this.#cluster = options.cluster;
    this.#pollMs = options.pollIntervalMs ?? 1_000;
    this.#timeoutMs = options.operationTimeoutMs ?? 30 * 60_000;
    this.#clock = options.clock ?? systemClock;
    this.#delegate = options.workerRollout === 'delegate';
  }

  async describeTopology(signal: AbortSignal): Promise<Topology> {
    const cluster = await this.#readCluster(signal);
    const cp = await this.#controlPlane(cluster, signal);
    const machines = await this.#machines(signal);
    const sets = await this.#list<MachineSet>('machinesets', signal);
    const deployments = await this.#deployments(signal);
    const templateOf = (machine: Machine): string => {
      const set = sets.find((s) => s.metadata.name === machine.metadata.labels?.[CapiLabel.setName]);
      return templateName(set?.spec.template.spec.infrastructureRef ?? machine.spec.infrastructureRef);
    };
    const cpTemplate = cp.object.spec.machineTemplate?.spec?.infrastructureRef;
    const withNode = machines.filter((m) => m.status?.nodeRef?.name !== undefined && !m.metadata.deletionTimestamp);
    const controlPlane: ControlPlaneNodeTopology[] = withNode
      .filter((m) => m.metadata.labels?.[CapiLabel.controlPlane] !== undefined)
      .map((m) => {
        const version = kubeVersion(m.spec.version);
        return {
          node: m.status?.nodeRef?.name ?? '',
          kubeletVersion: version,
          components: {
            etcd: version,
            'kube-apiserver': version,
            'kube-controller-manager': version,
            'kube-scheduler': version,
          },
          machineImage: templateName(cpTemplate ?? { kind: cp.object.kind, name: cp.object.metadata.name }),
        };
      });
    const pools: PoolTopology[] = deployments.map((md) => ({
      name: poolName(md),
      // A ClusterClass cluster's MachineDeployments are the topology controller's: it rolls them after the control
      // plane, and would undo a strategy or version kup set on them.
      // In delegate mode Cluster API rolls every MachineDeployment, with the control plane's hops.
      ...(md.metadata.labels?.[CapiLabel.topologyDeploymentName] !== undefined || this.#delegate
        ? { rolloutBy: 'infrastructure' as const }
        : {}),
      kubeletVersion: kubeVersion(md.spec.template.spec.version),
      machineImage: templateName(md.spec.template.spec.infrastructureRef),
      nodes: withNode
        .filter((m) => m.metadata.labels?.[CapiLabel.deploymentName] === md.metadata.name)
        .map((m) => ({
          node: m.status?.nodeRef?.name ?? '',
          kubeletVersion: kubeVersion(m.spec.version),
          machineImage: templateOf(m),
        })),
    }));
    const reported = kubeVersion(cp.object.status?.version ?? cp.object.spec.version);
    return {
      controlPlane,
      pools,
      nodeVersionSource: 'provider capi (Machine spec.version)',
      ...(reported !== ''
        ? {
            controlPlaneVersion: {
              version: reported,
              source: `provider capi (${cp.object.kind} ${this.#namespace}/${cp.object.metadata.name} ${cp.object.status?.version !== undefined ? 'status' : 'spec'}.version)`,
            },
          }
        : {}),
    };
  }

  takeSnapshot(): Promise<SnapshotInfo> {
    return Promise.reject(this.#unsupported('an etcd snapshot is not available through Cluster API'));
  }

  restoreSnapshot(): Promise<void> {
    return Promise.reject(this.#unsupported('an etcd snapshot is not available through Cluster API'));
  }

  upgradeWorkerNodeInPlace(node: string): Promise<void> {
    return Promise.reject(
      this.#unsupported(`${node}: Cluster API replaces machines, it does not upgrade them in place`, { node }),
    );
  }

  /**
   * Moves the whole control plane to `version` (Cluster API rolls its machines one by one): the first node's call
   * sets the version and waits; the calls of the other control-plane nodes of the same hop find it done.
   */
  async upgradeControlPlaneNode(
    node: string,
    version: string,
    _key: string,
    signal: AbortSignal,
    onProgress?: ControlPlaneProgressListener,
  ): Promise<void> {
    signal.throwIfAborted();
    const cluster = await this.#readCluster(signal);
    const cp = await this.#controlPlane(cluster, signal);
    const current = kubeVersion(cp.object.spec.version);
    if (compareVersions(version, current) < 0) {
      throw new ProviderError(
        ProviderErrorCode.rejected,
        `capi: ${cp.object.kind} ${this.#ref()} runs ${current}: Cluster API does not downgrade a control plane (to ${version})`,
        { provider: this.name, node },
      );
    }
    if (current !== version) {
      if (cluster.spec.topology !== undefined) {
        tell(onProgress, {
          node,
          step: 'kube-apiserver',
          message: `setting Cluster ${this.#ref()} topology version to ${version}`,
        });
        await this.#client.patch(
          capiPath(this.#namespace, 'clusters', this.#cluster),
          { spec: { topology: { version: capiVersion(version) } } },
          signal,
        );
      } else {
        tell(onProgress, {
          node,
          step: 'kube-apiserver',
          message: `setting ${cp.object.kind} ${cp.object.metadata.name} version to ${version}`,
        });
        await this.#client.patch(cp.path, { spec: { version: capiVersion(version) } }, signal);
      }
    }
    tell(onProgress, {
      node,
      step: 'api-health',
      message: `waiting for ${cp.object.kind} ${cp.object.metadata.name} to roll out ${version}`,
    });
    await this.#waitUntil(
      `${cp.object.kind} ${cp.object.metadata.name} to run ${version} on all its machines`,
      async () => {
        const now = await this.#client.get<ContractControlPlane>(cp.path, signal);
        return controlPlaneAt(now, version) ? true : undefined;
      },
      signal,
      { node },
    );
    if (this.#delegate && cluster.spec.topology === undefined) {
      await this.#rollDeployments(node, version, signal, onProgress);
    }
    tell(onProgress, { node, step: 'done', message: `${cp.object.kind} ${cp.object.metadata.name} runs ${version}` });
  }

  /**
   * Delegate mode: sets every MachineDeployment of the Cluster below `version` to it, and waits until Cluster API has
   * rolled them all (its strategy, its drain), telling the progress it reports in their status.
   */
  async #rollDeployments(
    node: string,
    version: string,
    signal: AbortSignal,
    onProgress?: ControlPlaneProgressListener,
  ): Promise<void> {
    const target = capiVersion(version);
    for (const md of await this.#deployments(signal)) {
      const at = kubeVersion(md.spec.template.spec.version);
      if (at !== '' && compareVersions(at, version) >= 0) continue;
      tell(onProgress, {
        node,
        step: 'kubelet',
        message: `setting MachineDeployment ${md.metadata.name} version to ${version}: Cluster API rolls it`,
      });
      await this.#client.patch(
        capiPath(this.#namespace, 'machinedeployments', md.metadata.name),
        { spec: { template: { spec: { version: target } } } },
        signal,
      );
    }
    let said = '';
    await this.#waitUntil(
      `the MachineDeployments of Cluster ${this.#ref()} to roll out ${version}`,
      async () => {
        const deployments = await this.#deployments(signal);
        const behind = deployments.filter((md) => !deploymentAt(md, target));
        const progress = deployments
          .map((md) => `${md.metadata.name} ${md.status?.upToDateReplicas ?? 0}/${md.spec.replicas ?? 0} up to date`)
          .join(', ');
        if (progress !== said) {
          said = progress;
          tell(onProgress, { node, step: 'kubelet', message: `Cluster API rolling the workers: ${progress}` });
        }
        return behind.length === 0 ? true : undefined;
      },
      signal,
      { node },
    );
  }

  async replaceWorkerNode(
    node: string,
    target: WorkerNodeTarget,
    key: string,
    signal: AbortSignal,
  ): Promise<ReplaceResult> {
    signal.throwIfAborted();
    const hash = keyHash(key);
    const old = await this.#machineOfNode(node, signal);
    const claimedBefore = (await this.#machines(signal)).find(
      (m) => m.metadata.annotations?.[KupAnnotation.replaceKey] === hash,
    );
    const mdName =
      old?.metadata.labels?.[CapiLabel.deploymentName] ?? claimedBefore?.metadata.labels?.[CapiLabel.deploymentName];
    if (mdName === undefined) {
      throw new ProviderError(
        ProviderErrorCode.notFound,
        `capi: node ${node} is not the node of a Machine of a MachineDeployment of Cluster ${this.#ref()}`,
        { provider: this.name, node },
      );
    }
    const md = await this.#client.get<MachineDeployment>(
      capiPath(this.#namespace, 'machinedeployments', mdName),
      signal,
    );
    const pool = poolName(md);
    if (md.metadata.labels?.[CapiLabel.topologyDeploymentName] !== undefined) {
      throw this.#unsupported(
        `MachineDeployment ${mdName} belongs to Cluster ${this.#ref()}'s topology (ClusterClass): Cluster API rolls it when spec.topology.version moves`,
        { node },
      );
    }
    const claimed =
      claimedBefore ??
      (await this.#serially(mdName, async () => {
        const again = (await this.#machines(signal)).find(
          (m) => m.metadata.annotations?.[KupAnnotation.replaceKey] === hash,
        );
        if (again !== undefined) return again;
        if (old === undefined) throw new Error('unreachable: no old machine and no claimed one');
        const replacement = await this.#addSurge(mdName, old, target, hash, signal);
        return this.#claim(mdName, old.metadata.name, replacement, capiVersion(target.version), hash, signal);
      }));
    const newNode = await this.#waitUntil(
      `Machine ${claimed.metadata.name} (replacing ${node}) to get a node`,
      async () => {
        const m = await this.#client.find<Machine>(
          capiPath(this.#namespace, 'machines', claimed.metadata.name),
          signal,
        );
        if (m === undefined || m.metadata.deletionTimestamp !== undefined) {
          throw new ProviderError(
            ProviderErrorCode.operationFailed,
            `capi: Machine ${claimed.metadata.name}, which replaces ${node}, was deleted before its node registered`,
            { provider: this.name, node, pool },
          );
        }
        return m.status?.nodeRef?.name;
      },
      signal,
      { node, pool },
    );
    return { newNode, pool };
  }

  async deleteWorkerNode(node: string, _key: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const machine = await this.#machineOfNode(node, signal);
    if (machine === undefined) return;
    const mdName = machine.metadata.labels?.[CapiLabel.deploymentName];
    const path = capiPath(this.#namespace, 'machines', machine.metadata.name);
    if (mdName === undefined || machine.metadata.deletionTimestamp !== undefined) {
      await this.#client.delete(path, signal);
    } else {
      await this.#serially(mdName, () => this.#removeMachine(mdName, machine, signal));
    }
    await this.#waitUntil(
      `Machine ${machine.metadata.name} (node ${node}) to be gone`,
      async () => ((await this.#client.find<Machine>(path, signal)) === undefined ? true : undefined),
      signal,
      { node },
    );
    if (mdName !== undefined) await this.#serially(mdName, () => this.#restoreWhenDone(mdName, signal));
  }

  /**
   * `paused`: the Cluster gets Cluster API's paused annotation (no controller of the cluster moves a machine), marked
   * as kup's. `running`: kup's pause is lifted (a user's own pause is left alone). `ended`: the same, and every
   * MachineDeployment kup switched to OnDelete gets its original strategy and replica count back; surge Machines of
   * replacements still in flight are deleted first. The templates keep the version the run set: under its original
   * strategy, Cluster API's own rollout moves what is left of the pool.
   */
  async syncRunPhase(phase: RunPhaseForProvider, signal: AbortSignal): Promise<void> {
    const path = capiPath(this.#namespace, 'clusters', this.#cluster);
    const cluster = await this.#readCluster(signal);
    const annotations = cluster.metadata.annotations ?? {};
    if (phase === 'paused') {
      if (annotations[CapiAnnotation.paused] === undefined) {
        await this.#client.patch(
          path,
          { metadata: { annotations: { [CapiAnnotation.paused]: '', [KupAnnotation.pausedByKup]: 'true' } } },
          signal,
        );
      }
      return;
    }
    if (annotations[KupAnnotation.pausedByKup] !== undefined) {
      await this.#client.patch(
        path,
        { metadata: { annotations: { [CapiAnnotation.paused]: null, [KupAnnotation.pausedByKup]: null } } },
        signal,
      );
    }
    if (phase !== 'ended') return;
    for (const md of await this.#deployments(signal)) {
      if (md.metadata.annotations?.[KupAnnotation.rollout] === undefined) continue;
      await this.#serially(md.metadata.name, () => this.#restore(md.metadata.name, signal));
    }
  }

  /** Ends kup's hold on a MachineDeployment: in-flight surge Machines go, the original strategy and replicas return. */
  async #restore(mdName: string, signal: AbortSignal): Promise<void> {
    const machines = (await this.#machines(signal)).filter(
      (m) => m.metadata.labels?.[CapiLabel.deploymentName] === mdName && m.metadata.deletionTimestamp === undefined,
    );
    const names = new Set(machines.map((m) => m.metadata.name));
    for (const surge of machines) {
      const replaces = surge.metadata.annotations?.[KupAnnotation.replaces];
      // A replacement whose old Machine is still there was not finished: the old one stays, the surge one goes.
      if (replaces !== undefined && names.has(replaces)) await this.#removeMachine(mdName, surge, signal);
    }
    const path = capiPath(this.#namespace, 'machinedeployments', mdName);
    await this.#retryConflicts(async () => {
      const md = await this.#client.get<MachineDeployment>(path, signal);
      if (md.metadata.annotations?.[KupAnnotation.rollout] === undefined) return;
      const record = readRecord(md);
      await this.#client.patch(
        path,
        {
          metadata: { resourceVersion: md.metadata.resourceVersion, annotations: { [KupAnnotation.rollout]: null } },
          spec: { replicas: record.replicas, rollout: { strategy: restoredStrategy(record.strategy) } },
        },
        signal,
      );
    }, signal);
  }

  /**
   * The management side of the precheck: the Cluster's and its control plane's conditions, MachineHealthChecks that
   * see unhealthy machines, Machines that are not Running, and a rollout already under way (a control plane or a
   * MachineDeployment rolling out, a paused Cluster).
   */
  async precheck(signal: AbortSignal): Promise<readonly ProviderFinding[]> {
    const cluster = await this.#readCluster(signal);
    const cp = await this.#controlPlane(cluster, signal);
    const ns = this.#namespace;
    const findings: ProviderFinding[] = [];
    const blocker = (kind: string, name: string, message: string, remediation: string) =>
      findings.push({ severity: 'blocker', objects: [{ kind, name, namespace: ns }], message, remediation });
    const describeFirst = `kubectl -n ${ns} describe cluster ${this.#cluster}; clusterctl describe cluster ${this.#cluster} -n ${ns}`;

    if (cluster.spec.paused === true || cluster.metadata.annotations?.[CapiAnnotation.paused] !== undefined) {
      if (cluster.metadata.annotations?.[KupAnnotation.pausedByKup] === undefined) {
        blocker(
          'Cluster',
          this.#cluster,
          `Cluster ${this.#ref()} is paused: Cluster API would not move its machines`,
          `Unpause it (remove spec.paused and the ${CapiAnnotation.paused} annotation) when whoever paused it is done.`,
        );
      }
    }
    const available = conditionOf(cluster.status?.conditions, 'Available');
    if (available?.status === 'False') {
      blocker(
        'Cluster',
        this.#cluster,
        `Cluster ${this.#ref()} is not Available (${available.reason ?? 'no reason'}): ${available.message ?? ''}`.trim(),
        `Make the cluster Available first: ${describeFirst}`,
      );
    }
    const cpName = `${cp.object.kind} ${cp.object.metadata.name}`;
    for (const type of ['RollingOut', 'ScalingUp', 'ScalingDown']) {
      const c = conditionOf(cp.object.status?.conditions, type);
      if (c?.status === 'True') {
        blocker(
          cp.object.kind,
          cp.object.metadata.name,
          `${cpName} is already ${type === 'RollingOut' ? 'rolling out' : 'scaling'} (${c.message ?? c.reason ?? type})`,
          'Wait until it has finished (its RollingOut, ScalingUp and ScalingDown conditions are False), then plan again.',
        );
      }
    }
    for (const type of ['EtcdClusterHealthy', 'ControlPlaneComponentsHealthy', 'Available']) {
      const c = conditionOf(cp.object.status?.conditions, type);
      if (c?.status === 'False') {
        blocker(
          cp.object.kind,
          cp.object.metadata.name,
          `${cpName} is not ${type} (${c.reason ?? 'no reason'}): ${c.message ?? ''}`.trim(),
          `Repair the control plane before upgrading it: ${describeFirst}`,
        );
      }
    }
    for (const md of await this.#deployments(signal)) {
      const rolling = conditionOf(md.status?.conditions, 'RollingOut');
      if (rolling?.status === 'True' && md.metadata.annotations?.[KupAnnotation.rollout] === undefined) {
        blocker(
          'MachineDeployment',
          md.metadata.name,
          `MachineDeployment ${md.metadata.name} is already rolling out (${rolling.message ?? rolling.reason ?? 'RollingOut'})`,
          'Wait until its rollout has finished, then plan again.',
        );
      }
    }
    for (const m of await this.#machines(signal)) {
      if (m.metadata.deletionTimestamp !== undefined) {
        blocker(
          'Machine',
          m.metadata.name,
          `Machine ${m.metadata.name} is being deleted`,
          'Wait until Cluster API has finished deleting it (kubectl get machines -w).',
        );
      } else if (m.status?.phase !== 'Running') {
        blocker(
          'Machine',
          m.metadata.name,
          `Machine ${m.metadata.name} is ${m.status?.phase ?? 'without a phase'}, not Running`,
          `Find out why: kubectl -n ${ns} describe machine ${m.metadata.name}`,
        );
      }
    }
    const checks = await this.#client.get<ObjectList<MachineHealthCheck>>(capiPath(ns, 'machinehealthchecks'), signal);
    for (const mhc of checks.items.filter((c) => c.spec.clusterName === this.#cluster)) {
      const expected = mhc.status?.expectedMachines ?? 0;
      const healthy = mhc.status?.currentHealthy ?? expected;
      if (healthy < expected) {
        blocker(
          'MachineHealthCheck',
          mhc.metadata.name,
          `MachineHealthCheck ${mhc.metadata.name} sees ${expected - healthy} of ${expected} machines unhealthy`,
          'Let it remediate them, or repair them, before an upgrade replaces more machines.',
        );
      }
    }
    return findings;
  }

  // ---- worker pools ------------------------------------------------------------------------------------------

  /**
   * Switches the MachineDeployment to OnDelete at the target (once per run) and adds one replica for this
   * replacement (once per key); resolves to the replacement's record.
   */
  async #addSurge(
    mdName: string,
    old: Machine,
    target: WorkerNodeTarget,
    hash: string,
    signal: AbortSignal,
  ): Promise<Replacement> {
    const path = capiPath(this.#namespace, 'machinedeployments', mdName);
    return this.#retryConflicts(async () => {
      const md = await this.#client.get<MachineDeployment>(path, signal);
      const record = readRecord(md);
      const known = record.replacements[hash];
      if (known !== undefined) {
        if (known.old !== old.metadata.name) {
          throw new ProviderError(
            ProviderErrorCode.conflict,
            `capi: idempotency key ${hash} was used to replace Machine ${known.old}, not ${old.metadata.name}`,
            { provider: this.name, pool: poolName(md) },
          );
        }
        return known;
      }
      const version = capiVersion(target.version);
      const existing = (await this.#machines(signal))
        .filter((m) => m.metadata.labels?.[CapiLabel.deploymentName] === mdName && m.spec.version === version)
        .map((m) => m.metadata.name);
      const replacement: Replacement = { old: old.metadata.name, existing };
      const replacements = { ...record.replacements, [hash]: replacement };
      await this.#client.patch(
        path,
        {
          metadata: {
            resourceVersion: md.metadata.resourceVersion,
            annotations: { [KupAnnotation.rollout]: JSON.stringify({ ...record, replacements }) },
          },
          spec: {
            replicas: record.replicas + Object.keys(replacements).length,
            rollout: { strategy: { type: 'OnDelete', rollingUpdate: null } },
            template: {
              spec: {
                version,
                // An image is a machine template, named as describeTopology names it (`Kind/name`) or by name.
                ...(target.machineImage !== undefined
                  ? { infrastructureRef: { name: target.machineImage.split('/').pop() } }
                  : {}),
              },
            },
          },
        },
        signal,
      );
      return replacement;
    }, signal);
  }

  /** Waits for a Machine of the new MachineSet that no replacement has claimed, and claims it for `hash`. */
  async #claim(
    mdName: string,
    oldMachine: string,
    replacement: Replacement,
    version: string,
    hash: string,
    signal: AbortSignal,
  ): Promise<Machine> {
    return this.#waitUntil(
      `a new Machine of MachineDeployment ${mdName} at ${version} to replace ${oldMachine}`,
      async () => {
        const free = (await this.#machines(signal)).find(
          (m) =>
            m.metadata.labels?.[CapiLabel.deploymentName] === mdName &&
            m.spec.version === version &&
            m.metadata.deletionTimestamp === undefined &&
            m.metadata.annotations?.[KupAnnotation.replaces] === undefined &&
            !replacement.existing.includes(m.metadata.name),
        );
        if (free === undefined) return undefined;
        try {
          return await this.#client.patch<Machine>(
            capiPath(this.#namespace, 'machines', free.metadata.name),
            {
              metadata: {
                resourceVersion: free.metadata.resourceVersion,
                annotations: { [KupAnnotation.replaces]: oldMachine, [KupAnnotation.replaceKey]: hash },
              },
            },
            signal,
          );
        } catch (err) {
          // Another kup process claimed it (or Cluster API updated it) in between: look again.
          if (err instanceof ProviderError && err.code === ProviderErrorCode.conflict) return undefined;
          throw err;
        }
      },
      signal,
      { pool: mdName },
    );
  }

  /**
   * Removes one Machine of a MachineDeployment and one replica with it, so that Cluster API neither replaces it nor
   * removes another. The MachineDeployment is paused while both change: unpaused in between, its controller would
   * see one Machine too few (and create one) or one replica too many (and delete one of its choosing).
   */
  async #removeMachine(mdName: string, machine: Machine, signal: AbortSignal): Promise<void> {
    const mdPath = capiPath(this.#namespace, 'machinedeployments', mdName);
    const replaced = machine.metadata.annotations?.[KupAnnotation.replaces];
    const pausedByUser = await this.#retryConflicts(async () => {
      const md = await this.#client.get<MachineDeployment>(mdPath, signal);
      const record = readRecord(md);
      // The old Machine of a replacement, or a replacement being discarded (a rollback): its record ends either way.
      const done = Object.entries(record.replacements).find(
        ([, r]) => r.old === machine.metadata.name || r.old === replaced,
      )?.[0];
      const replacements = Object.fromEntries(Object.entries(record.replacements).filter(([h]) => h !== done));
      const wasPaused = md.metadata.annotations?.[CapiAnnotation.paused] !== undefined;
      const tracked = md.metadata.annotations?.[KupAnnotation.rollout] !== undefined;
      // A Machine removed outside a replacement leaves the pool one smaller for good.
      const next: RolloutRecord = { ...record, replacements, replicas: record.replicas - (done === undefined ? 1 : 0) };
      await this.#client.patch(
        mdPath,
        {
          metadata: {
            resourceVersion: md.metadata.resourceVersion,
            annotations: {
              ...(wasPaused ? {} : { [CapiAnnotation.paused]: '', [KupAnnotation.pausedByKup]: 'true' }),
              ...(tracked ? { [KupAnnotation.rollout]: JSON.stringify(next) } : {}),
            },
          },
          spec: {
            replicas: tracked
              ? next.replicas + Object.keys(replacements).length
              : Math.max(0, (md.spec.replicas ?? 1) - 1),
          },
        },
        signal,
      );
      return wasPaused && md.metadata.annotations?.[KupAnnotation.pausedByKup] === undefined;
    }, signal);
    const machinePath = capiPath(this.#namespace, 'machines', machine.metadata.name);
    await this.#client.patch(
      machinePath,
      { metadata: { annotations: { [CapiAnnotation.deleteMachine]: 'kup' } } },
      signal,
    );
    await this.#client.delete(machinePath, signal);
    if (!pausedByUser) {
      await this.#client.patch(
        mdPath,
        { metadata: { annotations: { [CapiAnnotation.paused]: null, [KupAnnotation.pausedByKup]: null } } },
        signal,
      );
    }
  }

  /** Puts the original strategy and replicas back once no replacement is in flight and no old Machine is left. */
  async #restoreWhenDone(mdName: string, signal: AbortSignal): Promise<void> {
    const path = capiPath(this.#namespace, 'machinedeployments', mdName);
    await this.#retryConflicts(async () => {
      const md = await this.#client.get<MachineDeployment>(path, signal);
      if (md.metadata.annotations?.[KupAnnotation.rollout] === undefined) return;
      const record = readRecord(md);
      if (Object.keys(record.replacements).length > 0) return;
      const version = md.spec.template.spec.version;
      const behind = (await this.#machines(signal)).filter(
        (m) => m.metadata.labels?.[CapiLabel.deploymentName] === mdName && m.spec.version !== version,
      );
      if (behind.length > 0) return;
      await this.#client.patch(
        path,
        {
          metadata: { resourceVersion: md.metadata.resourceVersion, annotations: { [KupAnnotation.rollout]: null } },
          spec: { replicas: record.replicas, rollout: { strategy: restoredStrategy(record.strategy) } },
        },
        signal,
      );
    }, signal);
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  #ref(): string {
    return `${this.#namespace}/${this.#cluster}`;
  }

  async #readCluster(signal: AbortSignal): Promise<CapiCluster> {
    const cluster = await this.#client.find<CapiCluster>(capiPath(this.#namespace, 'clusters', this.#cluster), signal);
    if (cluster === undefined) {
      throw new ProviderError(
        ProviderErrorCode.notFound,
        `capi: Cluster ${this.#ref()} is not on the management cluster ${this.#client.server}`,
        { provider: this.name },
      );
    }
    return cluster;
  }

  /** The Cluster's control plane object, through its `controlPlaneRef` (any provider of the contract). */
  async #controlPlane(
    cluster: CapiCluster,
    signal: AbortSignal,
  ): Promise<{ path: string; object: ContractControlPlane }> {
    const ref = cluster.spec.controlPlaneRef;
    if (ref?.apiGroup === undefined) {
      throw new ProviderError(
        ProviderErrorCode.configuration,
        `capi: Cluster ${this.#ref()} has no spec.controlPlaneRef: kup upgrades clusters whose control plane Cluster API manages`,
        { provider: this.name },
      );
    }
    const group = await this.#client.get<{ preferredVersion: { groupVersion: string } }>(
      `/apis/${ref.apiGroup}`,
      signal,
    );
    const groupVersion = group.preferredVersion.groupVersion;
    const resources = await this.#client.get<{ resources: { name: string; kind: string }[] }>(
      `/apis/${groupVersion}`,
      signal,
    );
    const resource = resources.resources.find((r) => r.kind === ref.kind && !r.name.includes('/'));
    if (resource === undefined) {
      throw new ProviderError(ProviderErrorCode.protocol, `capi: ${groupVersion} serves no ${ref.kind}`, {
        provider: this.name,
      });
    }
    const path = `/apis/${groupVersion}/namespaces/${encodeURIComponent(this.#namespace)}/${resource.name}/${encodeURIComponent(ref.name)}`;
    return { path, object: await this.#client.get<ContractControlPlane>(path, signal) };
  }

  async #list<T>(resource: string, signal: AbortSignal): Promise<T[]> {
    const selector = encodeURIComponent(`${CapiLabel.clusterName}=${this.#cluster}`);
    const list = await this.#client.get<ObjectList<T>>(
      `${capiPath(this.#namespace, resource)}?labelSelector=${selector}`,
      signal,
    );
    return list.items;
  }

  #machines(signal: AbortSignal): Promise<Machine[]> {
    return this.#list<Machine>('machines', signal);
  }

  async #deployments(signal: AbortSignal): Promise<MachineDeployment[]> {
    // MachineDeployments carry the cluster-name label once Cluster API's webhook defaulted them; spec.clusterName
    // is what counts.
    const all = await this.#client.get<ObjectList<MachineDeployment>>(
      capiPath(this.#namespace, 'machinedeployments'),
      signal,
    );
    return all.items.filter((md) => md.spec.clusterName === this.#cluster);
  }

  async #machineOfNode(node: string, signal: AbortSignal): Promise<Machine | undefined> {
    return (await this.#machines(signal)).find((m) => m.status?.nodeRef?.name === node);
  }

  // ---- waiting and retrying ----------------------------------------------------------------------------------

  async #waitUntil<T>(
    what: string,
    check: () => Promise<T | undefined>,
    signal: AbortSignal,
    details: { node?: string; pool?: string } = {},
  ): Promise<T> {
    const deadline = this.#clock.now() + this.#timeoutMs;
    for (;;) {
      signal.throwIfAborted();
      const value = await check();
      if (value !== undefined) return value;
      if (this.#clock.now() >= deadline) {
        throw new ProviderError(
          ProviderErrorCode.timedOut,
          `capi: timed out after ${Math.round(this.#timeoutMs / 1000)} s waiting for ${what}`,
          { provider: this.name, ...details },
        );
      }
      await this.#clock.sleep(this.#pollMs, signal);
    }
  }

  /** Runs `write` again when the API server answers 409 (the object changed since it was read); a few times. */
  async #retryConflicts<T>(write: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof ProviderError && err.code === ProviderErrorCode.conflict) || attempt >= 5) throw err;
        await this.#clock.sleep(100 * attempt, signal);
      }
    }
  }

  /** Runs `work` after the previous work on the same MachineDeployment in this process has ended. */
  async #serially<T>(mdName: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(mdName) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.#locks.set(mdName, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(mdName) === next) this.#locks.delete(mdName);
    }
  }

  #unsupported(message: string, details: { node?: string } = {}): ProviderError {
    return new ProviderError(ProviderErrorCode.unsupported, `capi: ${message}`, { provider: this.name, ...details });
  }
}

/** Whether a control plane of the contract runs `version` on all its machines, none of them rolling. */
function controlPlaneAt(cp: ContractControlPlane, version: string): boolean {
  const status = cp.status ?? {};
  const replicas = cp.spec.replicas ?? status.replicas ?? 0;
  const rolling = conditionOf(status.conditions, 'RollingOut')?.status === 'True';
  return (
    kubeVersion(cp.spec.version) === version &&
    kubeVersion(status.version) === version &&
    (status.upToDateReplicas ?? replicas) === replicas &&
    (status.readyReplicas ?? 0) >= replicas &&
    (status.replicas ?? replicas) === replicas &&
    !rolling
  );
}

/** Whether Cluster API has rolled a MachineDeployment to `version` (`v1.36.5`): all its replicas up to date and ready. */
function deploymentAt(md: MachineDeployment, version: string): boolean {
  const replicas = md.spec.replicas ?? 1;
  const status = md.status ?? {};
  return (
    md.spec.template.spec.version === version &&
    (status.replicas ?? -1) === replicas &&
    (status.upToDateReplicas ?? -1) === replicas &&
    (status.readyReplicas ?? -1) === replicas &&
    conditionOf(status.conditions, 'RollingOut')?.status !== 'True'
  );
}

function readRecord(md: MachineDeployment): RolloutRecord {
  const text = md.metadata.annotations?.[KupAnnotation.rollout];
  if (text !== undefined) return JSON.parse(text) as RolloutRecord;
  return { strategy: md.spec.rollout?.strategy ?? null, replicas: md.spec.replicas ?? 1, replacements: {} };
}

/** The merge patch that puts `strategy` back (RollingUpdate when none was set: Cluster API's default). */
function restoredStrategy(strategy: RolloutStrategy | null): Record<string, unknown> {
  if (strategy === null) return { type: 'RollingUpdate' };
  return { type: strategy.type ?? 'RollingUpdate', rollingUpdate: strategy.rollingUpdate ?? null };
}

/** A pool's name: the MachineDeployment's name in the Cluster's topology, else its own. */
function poolName(md: MachineDeployment): string {
  return md.metadata.labels?.[CapiLabel.topologyDeploymentName] ?? md.metadata.name;
}

function templateName(ref: { kind: string; name: string }): string {
  return `${ref.kind}/${ref.name}`;
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 20);
}

function tell(
  listener: ControlPlaneProgressListener | undefined,
  progress: Parameters<ControlPlaneProgressListener>[0],
): void {
  try {
    listener?.(progress);
  } catch {
    // A listener must not throw; what it throws is ignored (provider.ts).
  }
}

/** Compares `X.Y.Z` versions numerically. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
