/**
 * A cluster's lifecycle settings and upgrade information: its labels (which rollout stages select), its maintenance
 * windows and exclusions, its auto-upgrade policy, and what kup would upgrade automatically, when and why (with the
 * cluster's runs, manual or automatic). Settings are validated by the maintenance domain, the field at fault named.
 */
import { Type } from 'typebox';
import { clusterSettings } from '../../engine/maintenance-scheduler.ts';
import { clusterUpgradeInformation, runHistory } from '../../engine/upgrade-report.ts';
import { parsePolicy } from '../../maintenance/auto-upgrade.ts';
import { MaintenanceError, MaintenanceErrorCode } from '../../maintenance/errors.ts';
import { parseSchedule } from '../../maintenance/schedule.ts';
import type { ServerApp } from '../app.ts';
import type { LifecycleServices } from '../lifecycle.ts';
import { ClusterParams, Document, responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Validates labels as Kubernetes label keys and values. */
function parseLabels(input: unknown): Record<string, string> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new MaintenanceError(
      MaintenanceErrorCode.invalidPolicy,
      'labels',
      'must be an object of label keys and values',
    );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (!LABEL_KEY.test(k))
      throw new MaintenanceError(
        MaintenanceErrorCode.invalidPolicy,
        `labels.${k}`,
        `${JSON.stringify(k)} is not a label key`,
      );
    if (typeof v !== 'string' || !LABEL_VALUE.test(v))
      throw new MaintenanceError(
        MaintenanceErrorCode.invalidPolicy,
        `labels.${k}`,
        `${JSON.stringify(v)} is not a label value`,
      );
    out[k] = v;
  }
  return out;
}

/** Registers the maintenance routes. */
export function registerMaintenanceRoutes(app: ServerApp, service: KupService, lifecycle: LifecycleServices): void {
  app.get(
    '/api/v1/clusters/:name/maintenance',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "A cluster's labels, maintenance windows and exclusions, and auto-upgrade policy",
        params: ClusterParams,
        response: responses({ 200: Document }, [404]),
      },
    },
    async (request) => {
      await service.registry.show(request.params.name);
      return { ...(await clusterSettings(service.store, request.params.name)) };
    },
  );

  app.put(
    '/api/v1/clusters/:name/maintenance',
    {
      config: { access: 'operator', audit: 'setting maintenance' },
      schema: {
        summary:
          "Sets a cluster's labels, maintenance schedule and auto-upgrade policy (each part given replaces the stored one)",
        params: ClusterParams,
        body: Type.Object(
          { labels: Type.Optional(Document), schedule: Type.Optional(Document), policy: Type.Optional(Document) },
          { additionalProperties: false },
        ),
        response: responses({ 200: Document }, [403, 404]),
      },
    },
    async (request) => {
      const name = request.params.name;
      request.auditTarget = name;
      await service.registry.show(name);
      const current = await clusterSettings(service.store, name);
      const body = request.body;
      const next = {
        labels: body.labels !== undefined ? parseLabels(body.labels) : current.labels,
        schedule: body.schedule !== undefined ? parseSchedule(body.schedule) : current.schedule,
        policy: body.policy !== undefined ? parsePolicy(body.policy) : current.policy,
      };
      await service.store.lifecycle.put({ cluster: name, ...next, updatedAt: service.clock.now() });
      lifecycle.scheduler.nudge();
      return next;
    },
  );

  app.get(
    '/api/v1/clusters/:name/upgrade-info',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          'What kup would upgrade automatically, in which window, and why or why not; end of support; the runs (manual or automatic)',
        params: ClusterParams,
        response: responses({ 200: Document }, [404, 502]),
      },
    },
    async (request) => {
      const name = request.params.name;
      await service.registry.show(name);
      const { settings, info } = await clusterUpgradeInformation(
        service.store,
        await service.openCluster(name),
        name,
        await service.catalog(),
        AbortSignal.timeout(60_000),
        () => service.clock.now(),
      );
      const history = await runHistory(service.store, name);
      return { ...info, settings, runs: history };
    },
  );
}
