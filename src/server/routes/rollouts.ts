/**
 * Fleet rollouts: create one from a spec (stages of clusters by name or label, concurrency, soak, approval gates),
 * list and read them with their log, and the operator's commands (approve a stage, pause, resume, cancel). What the
 * rollout asks is handed to the rollout driver at once.
 */
import { Type } from 'typebox';
import type { RolloutEvent, RolloutState } from '../../fleet-rollouts/index.ts';
import {
  RolloutError,
  RolloutErrorCode,
  pendingRolloutEffects,
  reviveRolloutState,
} from '../../fleet-rollouts/index.ts';
import type { RolloutEffect } from '../../fleet-rollouts/index.ts';
import { applyRolloutEvent, createRollout, loadRollout } from '../../engine/rollouts.ts';
import type { ServerApp } from '../app.ts';
import type { LifecycleServices } from '../lifecycle.ts';
import { Document, IdParams, responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

/** A rollout as the API shows it: its state, and its log when asked. */
function rolloutDocument(state: RolloutState, events?: readonly unknown[]): Record<string, unknown> {
  return { ...(state as unknown as Record<string, unknown>), ...(events !== undefined ? { events } : {}) };
}

/** Registers the rollout routes. */
export function registerRolloutRoutes(app: ServerApp, service: KupService, lifecycle: LifecycleServices): void {
  app.post(
    '/api/v1/rollouts',
    {
      config: { access: 'operator', audit: 'creating a rollout' },
      schema: {
        summary: 'Create and start a fleet rollout (kup rollout create)',
        body: Document,
        response: responses({ 201: Document }, [403, 422]),
      },
    },
    async (request, reply) => {
      const state = await createRollout(service.store, request.body, service.clock.now());
      request.auditTarget = state.id;
      const row = await service.store.rollouts.get(state.id);
      lifecycle.driver.performAll(state.id, pendingOf(row?.state));
      return reply.status(201).send(rolloutDocument(state));
    },
  );

  app.get(
    '/api/v1/rollouts',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Rollouts, newest first',
        querystring: Type.Object({ active: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ items: Type.Array(Document) }) }),
      },
    },
    async (request) => {
      const rows = await service.store.rollouts.list(
        request.query.active !== undefined ? { active: request.query.active } : {},
      );
      return { items: rows.map((r) => rolloutDocument(reviveRolloutState(r.state))) };
    },
  );

  app.get(
    '/api/v1/rollouts/:id',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'A rollout with its stages, clusters and log',
        params: IdParams,
        response: responses({ 200: Document }, [404]),
      },
    },
    async (request) => {
      const { state } = await loadRollout(service.store, request.params.id);
      return rolloutDocument(state, await service.store.rollouts.events(state.id));
    },
  );

  const commands: Record<string, (body: Record<string, unknown>, state: RolloutState, by: string) => RolloutEvent> = {
    approve: (body, state, by) => {
      const stage = body.stage;
      const index = typeof stage === 'number' ? stage : state.stages.findIndex((s) => s.name === stage);
      if (index < 0 || index >= state.stages.length)
        throw new RolloutError(
          RolloutErrorCode.invalidSpec,
          `stage: ${JSON.stringify(stage)} is not a stage of rollout ${state.id} (${state.stages.map((s) => s.name).join(', ')})`,
          { rollout: state.id, field: 'stage' },
        );
      return { type: 'approved', stage: index, by };
    },
    pause: (body) => ({
      type: 'pause-requested',
      ...(typeof body.message === 'string' ? { message: body.message } : {}),
    }),
    resume: () => ({ type: 'resume-requested' }),
    cancel: () => ({ type: 'cancel-requested' }),
  };
  for (const [command, eventOf] of Object.entries(commands)) {
    app.post(
      `/api/v1/rollouts/:id/${command}`,
      {
        config: { access: 'operator', audit: `${command} a rollout` },
        schema: {
          summary: `${command[0]?.toUpperCase() ?? ''}${command.slice(1)} a rollout`,
          params: IdParams,
          body: Type.Optional(
            Type.Object(
              {
                stage: Type.Optional(Type.Union([Type.String(), Type.Integer({ minimum: 0 })])),
                message: Type.Optional(Type.String({ maxLength: 500 })),
              },
              { additionalProperties: false },
            ),
          ),
          response: responses({ 200: Document }, [403, 404, 409]),
        },
        // The body is optional: a command without one (no Content-Type) is validated as an empty object.
        preValidation: (request, _reply, done) => {
          request.body ??= {};
          done();
        },
      },
      async (request) => {
        const id = request.params.id;
        request.auditTarget = id;
        const { state } = await loadRollout(service.store, id);
        const by = request.principal?.name ?? 'operator';
        const { state: next, effects } = await applyRolloutEvent(
          service.store,
          id,
          eventOf(request.body ?? {}, state, by),
          service.clock.now(),
        );
        lifecycle.driver.performAll(id, effects);
        return rolloutDocument(next);
      },
    );
  }
}

function pendingOf(state: unknown): RolloutEffect[] {
  return state === undefined ? [] : pendingRolloutEffects(reviveRolloutState(state));
}
