/**
 * The lifecycle side of `kup serve` (issue 19): the maintenance scheduler and the fleet rollout driver, created over
 * the service's store, clock, cluster connections and run supervisor, started with the app and stopped when it
 * closes; and their routes (`routes/maintenance.ts`, `routes/rollouts.ts`). One object that someone creates, passes
 * and closes: the routes get it as an argument.
 */
import { MaintenanceScheduler } from '../engine/maintenance-scheduler.ts';
import { RolloutDriver } from '../engine/rollout-driver.ts';
import { createRun } from '../engine/runs.ts';
import type { UpgradeRequest } from '../engine/runs.ts';
import { readClusterHealth, readUpgradeFacts } from '../engine/upgrade-facts.ts';
import type { ServerApp } from './app.ts';
import { registerMaintenanceRoutes } from './routes/maintenance.ts';
import { registerRolloutRoutes } from './routes/rollouts.ts';
import type { KupService } from './service.ts';

/** How long creating a run (planning: reading the cluster) may take. */
const START_TIMEOUT_MS = 120_000;
/** How long reading a cluster for facts or health may take. */
const READ_TIMEOUT_MS = 60_000;

/** The scheduler and the driver of one service. */
export class LifecycleServices {
  readonly scheduler: MaintenanceScheduler;
  readonly driver: RolloutDriver;

  constructor(readonly service: KupService) {
    const startRun = async (cluster: string, request: UpgradeRequest, signal: AbortSignal): Promise<string> => {
      const open = await service.openCluster(cluster);
      const state = await createRun(
        service.store,
        open,
        request,
        await service.catalog(),
        service.clock,
        AbortSignal.any([signal, AbortSignal.timeout(START_TIMEOUT_MS)]),
      );
      service.supervisor.kick(state.runId);
      service.events.poke();
      return state.runId;
    };
    this.scheduler = new MaintenanceScheduler({
      store: service.store,
      clock: service.clock,
      catalog: () => service.catalog(),
      facts: async (cluster, signal) =>
        readUpgradeFacts(
          await service.openCluster(cluster),
          await service.catalog(),
          AbortSignal.any([signal, AbortSignal.timeout(READ_TIMEOUT_MS)]),
          () => service.clock.now(),
        ),
      startRun,
      kick: (runId) => {
        service.supervisor.kick(runId);
        service.events.poke();
      },
      observer: {
        acted: (action, runId) =>
          service.log.info({ action: action.type, cluster: action.cluster, run: runId }, 'maintenance scheduler'),
        failed: (cluster, err) => service.log.warn({ cluster, err }, 'maintenance scheduler: cluster skipped'),
      },
    });
    this.driver = new RolloutDriver({
      store: service.store,
      clock: service.clock,
      startRun,
      observe: async (cluster, signal) =>
        readClusterHealth(
          await service.openCluster(cluster),
          AbortSignal.any([signal, AbortSignal.timeout(READ_TIMEOUT_MS)]),
          () => service.clock.now(),
        ),
      onError: (rollout, err) => service.log.error({ rollout, err }, 'rollout driver'),
    });
  }

  start(): void {
    this.scheduler.start();
    this.driver.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.scheduler.stop(), this.driver.stop()]);
  }
}

/** Creates the lifecycle services of `service`, registers their routes, and ties their life to the app's. */
export function registerLifecycleRoutes(app: ServerApp, service: KupService): void {
  const lifecycle = new LifecycleServices(service);
  registerMaintenanceRoutes(app, service, lifecycle);
  registerRolloutRoutes(app, service, lifecycle);
  app.addHook('onReady', async () => {
    lifecycle.start();
    return Promise.resolve();
  });
  app.addHook('onClose', async () => lifecycle.stop());
}
