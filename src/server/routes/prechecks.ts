/**
 * Prechecks: run the checks of an upgrade to a target on a registered cluster (kup precheck), keep the report, list
 * and read the reports kept.
 */
import { randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import { formatReportTable, reportDocument } from '../../checks/report.ts';
import { runChecks } from '../../checks/runner.ts';
import type { PrecheckReportRow } from '../../persistence/service-repos.ts';
import type { ServerApp } from '../app.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';
import { ClusterParams, Document, IdParams, responses } from '../schemas/common.ts';
import { UpgradeOptions } from '../schemas/runs.ts';
import type { KupService } from '../service.ts';
import { upgradeRequest } from './runs.ts';

const PrecheckBody = Type.Object(
  {
    to: Type.String({ pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+$' }),
    acknowledgements: UpgradeOptions.properties.acknowledgements,
    allowPreview: UpgradeOptions.properties.allowPreview,
    allowExpired: UpgradeOptions.properties.allowExpired,
    workerStrategy: UpgradeOptions.properties.workerStrategy,
    implicitBudget: UpgradeOptions.properties.implicitBudget,
    poolOptions: UpgradeOptions.properties.poolOptions,
  },
  { additionalProperties: false },
);

const PrecheckSummary = Type.Object({
  id: Type.String(),
  cluster: Type.String(),
  target: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  blockers: Type.Integer(),
  warnings: Type.Integer(),
});

const PrecheckReport = Type.Object({
  ...PrecheckSummary.properties,
  report: Document,
  text: Type.String({ description: "kup precheck's table" }),
});

/** Registers the precheck routes. */
export function registerPrecheckRoutes(app: ServerApp, service: KupService): void {
  app.post(
    '/api/v1/clusters/:name/prechecks',
    {
      config: { access: 'operator', audit: 'running a precheck' },
      schema: {
        summary: 'Run the prechecks of an upgrade to a target; the report is kept',
        params: ClusterParams,
        body: PrecheckBody,
        response: responses({ 201: PrecheckReport }, [403, 404, 422, 502]),
      },
    },
    async (request, reply) => {
      request.auditTarget = request.params.name;
      const upgrade = upgradeRequest(request.body);
      const cluster = await service.openCluster(request.params.name);
      const report = await runChecks(cluster.conn, {
        target: upgrade.to ?? '',
        phase: 'precheck',
        catalog: await service.catalog(),
        signal: AbortSignal.timeout(10 * 60_000),
        now: () => service.clock.now(),
        ...(upgrade.acknowledgements ? { acknowledgements: upgrade.acknowledgements } : {}),
        ...(upgrade.allowExpired ? { allowExpired: true } : {}),
        ...(upgrade.allowPreview ? { allowPreview: true } : {}),
        ...(upgrade.workerStrategy ? { workerStrategy: upgrade.workerStrategy } : {}),
        ...(upgrade.implicitBudget === false ? { implicitBudget: false } : {}),
        ...(upgrade.poolOptions?.strategy ? { nodeStrategy: upgrade.poolOptions.strategy } : {}),
        ...(upgrade.poolOptions?.batchPolicy ? { batchPolicy: upgrade.poolOptions.batchPolicy } : {}),
      });
      const document = reportDocument(report);
      const row = await service.store.prechecks.add({
        id: `pre-${new Date(service.clock.now()).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
        cluster: request.params.name,
        target: upgrade.to ?? '',
        createdAt: service.clock.now(),
        blockers: document.summary.blockers,
        warnings: document.summary.warnings,
        report: document,
      });
      request.auditTarget = `${request.params.name}/${row.id}`;
      return reply.status(201).send({ ...summary(row), report: document, text: formatReportTable(report) });
    },
  );

  app.get(
    '/api/v1/prechecks',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Precheck reports, newest first',
        querystring: Type.Object(
          {
            cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ items: Type.Array(PrecheckSummary) }) }),
      },
    },
    async (request) => {
      const { cluster, limit } = request.query;
      const rows = await service.store.prechecks.list({
        ...(cluster !== undefined ? { cluster } : {}),
        limit: limit ?? 100,
      });
      return { items: rows.map(summary) };
    },
  );

  app.get(
    '/api/v1/prechecks/:id',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'One precheck report',
        params: IdParams,
        response: responses({ 200: Type.Object({ ...PrecheckSummary.properties, report: Document }) }, [404]),
      },
    },
    async (request) => {
      const row = await service.store.prechecks.get(request.params.id);
      if (row === undefined)
        throw new ApiError(ApiErrorCode.notFound, `no precheck report ${request.params.id}`, {
          kind: 'not-found',
          details: { precheck: request.params.id },
        });
      return { ...summary(row), report: row.report as Record<string, unknown> };
    },
  );
}

function summary(row: PrecheckReportRow) {
  return {
    id: row.id,
    cluster: row.cluster,
    target: row.target,
    createdAt: new Date(row.createdAt).toISOString(),
    blockers: row.blockers,
    warnings: row.warnings,
  };
}
