/**
 * Starts everything that runs behind the simulated apiserver, in the order a real control plane comes up, and
 * returns one stop function. The availability monitor is started by the cluster (its report is served by the
 * infrastructure API), not here.
 */
import type { SimRuntime } from '../runtime.ts';
import { startCompactor } from './compactor.ts';
import { startCronJobController } from './cronjob.ts';
import { startDaemonSetController } from './daemonset.ts';
import { startDeploymentController } from './deployment.ts';
import { startDisruptionController } from './disruption.ts';
import { startGarbageCollector } from './garbage-collector.ts';
import { startJobController } from './job.ts';
import { startKubelets } from './kubelet.ts';
import { startNamespaceController } from './namespace.ts';
import type { NamespaceDefaultsOptions } from './namespace-defaults.ts';
import { startNamespaceDefaults } from './namespace-defaults.ts';
import { startNodeLifecycleController } from './node-lifecycle.ts';
import { startPodGarbageCollector } from './pod-gc.ts';
import { startReplicaSetController } from './replicaset.ts';
import { startScheduler } from './scheduler.ts';
import { startStatefulSetController } from './statefulset.ts';

/** Options of {@link startControllers}. */
export type ControllersOptions = NamespaceDefaultsOptions;

/** Starts the simulated controllers, scheduler and kubelets; the returned function stops them all. */
export function startControllers(runtime: SimRuntime, options: ControllersOptions = {}): () => void {
  const stops = [
    startKubelets(runtime),
    startNodeLifecycleController(runtime),
    startScheduler(runtime),
    startDeploymentController(runtime),
    startReplicaSetController(runtime),
    startDaemonSetController(runtime),
    startStatefulSetController(runtime),
    startJobController(runtime),
    startCronJobController(runtime),
    startDisruptionController(runtime),
    startGarbageCollector(runtime),
    startNamespaceController(runtime),
    startNamespaceDefaults(runtime, options),
    startPodGarbageCollector(runtime),
    startCompactor(runtime),
  ];
  return () => {
    for (const stop of stops.reverse()) stop();
  };
}
