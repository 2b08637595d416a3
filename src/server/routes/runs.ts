/**
 * Plans and runs: plan an upgrade (with the target's precheck), create a run with every `kup upgrade` option, list
 * and read runs with their progress, and the operator's commands (pause, resume with or without replace-node,
 * cancel, rollback). A run created or commanded here is handed to the supervisor at once.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { formatReportTable, reportDocument } from '../../checks/report.ts';
import { runChecks } from '../../checks/runner.ts';
import { loadRun } from '../../engine/apply-event.ts';
import { measuredEstimates } from '../../engine/measured-estimates.ts';
import type { RunCommand, UpgradeRequest } from '../../engine/runs.ts';
import { commandRun, createRun, planUpgrade, replacementImages, undrainedNodes } from '../../engine/runs.ts';
import { providerVersions } from '../../engine/provider-checks.ts';
import type { RunRow, RunSummary as StoredRunSummary } from '../../persistence/runs-repo.ts';
import { pendingEffects } from '../../rollout/machine/effects.ts';
import { progressOf } from '../../rollout/machine/progress.ts';
import { isTerminal } from '../../rollout/machine/state.ts';
import { transition } from '../../rollout/machine/transition.ts';
import type { RunState } from '../../rollout/machine/types.ts';
import { formatPlan, pausedNotice, progressLine } from '../../rollout/run-text.ts';
import type { ServerApp } from '../app.ts';
import { ForbiddenError, allows } from '../auth.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';
import { ClusterParams, IdParams, responses } from '../schemas/common.ts';
import type { UpgradeOptionsBody } from '../schemas/runs.ts';
import { CommandBody, CreateRunBody, PlanResponse, RunDetail, RunSummary, UpgradeOptions } from '../schemas/runs.ts';
import type { KupService } from '../service.ts';

/** How long planning may read the cluster before the request fails. */
const PLAN_TIMEOUT_MS = 120_000;

/** Registers the plan and run routes. */
export function registerRunRoutes(app: ServerApp, service: KupService): void {
  app.post(
    '/api/v1/clusters/:name/plans',
    {
      config: { access: 'operator', audit: 'planning an upgrade' },
      schema: {
        summary: 'What an upgrade would do, with the precheck of its target (kup plan)',
        params: ClusterParams,
        body: UpgradeOptions,
        response: responses({ 200: PlanResponse }, [403, 404, 409, 422, 502]),
      },
    },
    async (request) => {
      request.auditTarget = request.params.name;
      const upgrade = upgradeRequest(request.body);
      const cluster = await service.openCluster(request.params.name);
      const catalog = await service.catalog();
      const signal = AbortSignal.timeout(PLAN_TIMEOUT_MS);
      const { plan } = await planUpgrade(
        cluster,
        upgrade,
        catalog,
        service.clock.now(),
        signal,
        await measuredEstimates(service.store, request.params.name),
        service.clock,
      );
      const report = upgrade.to
        ? await runChecks(cluster.conn, {
            target: upgrade.to,
            phase: 'precheck',
            catalog,
            signal,
            ...(upgrade.acknowledgements ? { acknowledgements: upgrade.acknowledgements } : {}),
            ...(upgrade.allowExpired ? { allowExpired: true } : {}),
            ...(upgrade.allowPreview ? { allowPreview: true } : {}),
            ...(upgrade.workerStrategy ? { workerStrategy: upgrade.workerStrategy } : {}),
            ...(upgrade.implicitBudget === false ? { implicitBudget: false } : {}),
            ...(upgrade.poolOptions?.strategy ? { nodeStrategy: upgrade.poolOptions.strategy } : {}),
            images: replacementImages(plan),
            undrainedNodes: undrainedNodes(plan),
            providerVersions: providerVersions(cluster.provider),
          })
        : undefined;
      return {
        plan: plan as unknown as Record<string, unknown>,
        text: formatPlan(plan),
        ...(report
          ? {
              precheck: reportDocument(report) as unknown as Record<string, unknown>,
              precheckText: formatReportTable(report),
            }
          : {}),
        blocked: report !== undefined && report.findings.some((f) => f.severity === 'blocker' && !f.acknowledged),
      };
    },
  );

  app.post(
    '/api/v1/runs',
    {
      config: { access: 'operator', audit: 'creating a run' },
      schema: {
        summary: 'Create a run (kup upgrade): planned now, driven by the service at once',
        body: CreateRunBody,
        response: responses({ 201: RunDetail }, [403, 404, 409, 422, 502]),
      },
    },
    async (request, reply) => {
      const { cluster: name, ...options } = request.body;
      request.auditTarget = name;
      const upgrade = upgradeRequest(options);
      const policy = upgrade.run?.drainTimeoutPolicy;
      if (
        (policy === 'force' || policy === 'quarantine') &&
        request.principal &&
        !allows(request.principal.role, 'admin')
      ) {
        throw new ForbiddenError(request.principal.role, 'admin', `the ${policy} drain-timeout policy`);
      }
      const cluster = await service.openCluster(name);
      const state = await createRun(
        service.store,
        cluster,
        upgrade,
        await service.catalog(),
        service.clock,
        AbortSignal.timeout(PLAN_TIMEOUT_MS),
      );
      request.auditTarget = `${name}/${state.runId}`;
      service.supervisor.kick(state.runId);
      service.events.poke();
      return reply.status(201).send(await runDetail(service, state.runId));
    },
  );

  app.get(
    '/api/v1/runs',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Runs, newest first',
        querystring: Type.Object(
          {
            cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
            active: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ items: Type.Array(RunSummary) }) }),
      },
    },
    async (request) => {
      const { cluster, active, limit } = request.query;
      const runs = await service.store.runs.list({
        ...(cluster !== undefined ? { cluster } : {}),
        ...(active !== undefined ? { active } : {}),
        limit: limit ?? 100,
      });
      return { items: runs.map((r) => summaryDocument(r, service.clock.now())) };
    },
  );

  app.get(
    '/api/v1/runs/:id',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'A run with its status, progress and plan',
        params: IdParams,
        response: responses({ 200: RunDetail }, [404]),
      },
    },
    (request) => runDetail(service, request.params.id),
  );

  for (const command of ['pause', 'resume', 'cancel', 'rollback'] as const) {
    app.post(
      `/api/v1/runs/:id/${command}`,
      {
        config: { access: command === 'rollback' ? 'admin' : 'operator', audit: `${command} of a run` },
        schema: {
          summary: COMMAND_SUMMARY[command],
          params: IdParams,
          body: CommandBody,
          response: responses({ 200: RunDetail }, [403, 404, 409]),
        },
        // The body is optional: a command without one (no Content-Type) is validated as an empty object.
        preValidation: (request, _reply, done) => {
          request.body ??= {};
          done();
        },
      },
      async (
        request: FastifyRequest<{
          Params: { id: string };
          Body: { message?: string; replaceNode?: boolean } | undefined;
        }>,
      ) => {
        request.auditTarget = request.params.id;
        const body = request.body ?? {};
        if (body.replaceNode === true && command !== 'resume') {
          throw new ApiError(ApiErrorCode.invalid, `replaceNode is an option of resume, not of ${command}`, {
            kind: 'invalid-input',
            details: { field: 'body.replaceNode' },
          });
        }
        await commandRun(service.store, request.params.id, command, service.clock.now(), {
          ...(body.message !== undefined ? { message: body.message } : {}),
          ...(body.replaceNode === true ? { replaceNode: true } : {}),
        });
        service.supervisor.kick(request.params.id);
        service.events.poke();
        return runDetail(service, request.params.id);
      },
    );
  }
}

const COMMAND_SUMMARY: Readonly<Record<RunCommand, string>> = {
  pause: 'Pause a run: steps in flight finish, no new one starts',
  resume: 'Resume a paused run (replaceNode: replace the node that never became Ready)',
  cancel: 'Cancel a run: steps in flight finish, nodes left as they are, cordons lifted',
  rollback: 'Roll a run back: nodes go back, then the snapshot is restored (admin)',
};

/** The engine's request from the API's body: the same fields, a leading `v` of the version dropped. */
export function upgradeRequest(body: UpgradeOptionsBody): UpgradeRequest {
  const { to, acknowledgements, ...rest } = body;
  return {
    ...rest,
    ...(to !== undefined ? { to: to.replace(/^v/, '') } : {}),
    ...(acknowledgements !== undefined
      ? {
          acknowledgements: acknowledgements.map((a) => ({
            rule: a.rule,
            reason: a.reason,
            ...(a.object !== undefined ? { object: a.object } : {}),
          })),
        }
      : {}),
  };
}

/** A run's detail: status and progress as of now (a pause past its limit reads as the end it is). */
export async function runDetail(service: KupService, runId: string) {
  const { state } = await loadRun(service.store, runId);
  const row = (await service.store.runs.get(runId)) as RunRow;
  const now = service.clock.now();
  const current: RunState = isTerminal(state) ? state : transition(state, { type: 'tick' }, now).state;
  return {
    ...summaryDocument(row, now),
    summary: progressLine(current, now),
    notice: pausedNotice(current),
    inFlight: pendingEffects(current).length,
    status: current.status as unknown as Record<string, unknown>,
    progress: progressOf(current, current.plan, now) as unknown as Record<string, unknown>,
    plan: current.plan as unknown as Record<string, unknown>,
    request: (row.request ?? {}) as Record<string, unknown>,
  };
}

function summaryDocument(r: StoredRunSummary, now: number) {
  return {
    id: r.id,
    cluster: r.cluster,
    target: r.target,
    phase: r.phase,
    active: r.active,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    drivenBy: r.lease !== undefined && r.lease.expiresAt > now ? r.lease.owner : null,
  };
}
