/**
 * Clusters: register (an uploaded kubeconfig, sealed at rest, or a file on the service's host), list the fleet with
 * each cluster's version, pools, health and upgrades, show one, remove one, the versions it can move to, and the
 * snapshots its runs took.
 */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { ClusterRegistryError } from '../../clusters/registry.ts';
import { loadRun } from '../../engine/apply-event.ts';
import type { ClusterRow } from '../../persistence/clusters-repo.ts';
import { availableUpgrades } from '../../versions/index.ts';
import type { ServerApp } from '../app.ts';
import { UPLOADED_KUBECONFIG_PREFIX, clusterDocument } from '../cluster-document.ts';
import { ClusterParams, Document, responses } from '../schemas/common.ts';
import { Cluster, ClusterListQuery, ClusterPage, RegisterClusterBody, Snapshot } from '../schemas/clusters.ts';
import type { KupService } from '../service.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';

/** Registers the cluster routes. */
export function registerClusterRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/api/v1/clusters',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          'The fleet by name: every cluster with its version, pools, health and upgrade summary (answered from the ' +
          'status cache; the versions each can move to are on GET /clusters/{name}); pages with limit and continue',
        querystring: ClusterListQuery,
        response: responses({ 200: ClusterPage }),
      },
    },
    async (request, reply) => {
      const after = request.query.continue === undefined ? undefined : continueAfter(request.query.continue);
      const page = await service.fleet.page({
        ...(after !== undefined ? { after } : {}),
        ...(request.query.limit !== undefined ? { limit: request.query.limit } : {}),
      });
      // The page is JSON already, written from the documents the schema describes (fleet-list.ts): sent as it is.
      return reply.type('application/json; charset=utf-8').send(page as unknown as Static<typeof ClusterPage>);
    },
  );

  app.post(
    '/api/v1/clusters',
    {
      config: { access: 'admin', audit: 'registering a cluster' },
      schema: {
        summary: 'Register a cluster',
        body: RegisterClusterBody,
        response: responses({ 201: Cluster }, [403, 409, 422]),
      },
    },
    async (request, reply) => {
      const body = request.body;
      request.auditTarget = body.name;
      if ((body.kubeconfig === undefined) === (body.kubeconfigPath === undefined)) {
        throw new ApiError(
          ApiErrorCode.invalid,
          'give exactly one of kubeconfig (the document) and kubeconfigPath (a file on the service host)',
          { kind: 'invalid-input', details: { field: 'body.kubeconfig' } },
        );
      }
      const uploaded = body.kubeconfig !== undefined;
      let row: ClusterRow;
      try {
        row = await service.registry.add({
          name: body.name,
          provider: body.provider,
          ...(body.providerSettings !== undefined ? { providerSettings: body.providerSettings } : {}),
          ...(body.context !== undefined ? { context: body.context } : {}),
          ...(uploaded
            ? { kubeconfigPath: `${UPLOADED_KUBECONFIG_PREFIX}${body.name}`, kubeconfigDocument: body.kubeconfig }
            : { kubeconfigPath: body.kubeconfigPath ?? '' }),
        });
      } catch (err) {
        throw err instanceof ClusterRegistryError ? withBodyField(err) : err;
      }
      if (uploaded) {
        try {
          await service.storeKubeconfig(row.name, body.kubeconfig ?? '');
        } catch (err) {
          // Nothing half-done: a cluster whose credentials were not stored is not left registered.
          await service.registry.remove(row.name, { purgeHistory: true }).catch(() => undefined);
          service.fleet.registryChanged();
          throw err;
        }
      }
      service.fleet.registryChanged();
      const status = await service.status.refresh(row);
      return reply.status(201).send(clusterDocument(row, status, undefined));
    },
  );

  app.get(
    '/api/v1/clusters/:name',
    {
      config: { access: 'viewer' },
      schema: { summary: 'One cluster', params: ClusterParams, response: responses({ 200: Cluster }, [404]) },
    },
    async (request) => {
      const row = await service.registry.show(request.params.name);
      const active = await activeRuns(service);
      return clusterDocument(row, await service.status.refresh(row), active.get(row.name));
    },
  );

  app.delete(
    '/api/v1/clusters/:name',
    {
      config: { access: 'admin', audit: 'removing a cluster' },
      schema: {
        summary:
          'Remove a cluster (refused while a run of it is active); its finished runs are kept unless purgeHistory',
        params: ClusterParams,
        querystring: Type.Object({ purgeHistory: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: responses(
          { 200: Type.Object({ name: Type.String(), runsKept: Type.Integer(), runsRemoved: Type.Integer() }) },
          [403, 404, 409],
        ),
      },
    },
    async (request) => {
      request.auditTarget = request.params.name;
      const removed = await service.registry.remove(request.params.name, {
        purgeHistory: request.query.purgeHistory === true,
      });
      await service.store.credentials.remove(request.params.name);
      service.status.forget(request.params.name);
      service.fleet.registryChanged();
      return { name: removed.cluster.name, runsKept: removed.runsKept, runsRemoved: removed.runsRemoved };
    },
  );

  app.get(
    '/api/v1/clusters/:name/versions',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'The versions a cluster can move to (kup versions --cluster)',
        params: ClusterParams,
        response: responses(
          { 200: Type.Object({ cluster: Type.String(), version: Type.String(), upgrades: Document }) },
          [404, 502],
        ),
      },
    },
    async (request) => {
      const row = await service.registry.show(request.params.name);
      const status = await service.status.refresh(row);
      if (!status.inspection.reachable)
        throw new ApiError(ApiErrorCode.unreachable, `cluster ${row.name} is unreachable: ${status.inspection.error}`, {
          kind: 'unavailable',
          details: { cluster: row.name },
        });
      const upgrades = availableUpgrades(
        status.inspection.version,
        await service.catalog(),
        new Date(service.clock.now()),
      );
      return {
        cluster: row.name,
        version: status.inspection.version,
        upgrades: upgrades as unknown as Record<string, unknown>,
      };
    },
  );

  app.get(
    '/api/v1/clusters/:name/snapshots',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "The snapshots the cluster's runs took (what a rollback restores)",
        params: ClusterParams,
        response: responses({ 200: Type.Object({ items: Type.Array(Snapshot) }) }, [404]),
      },
    },
    async (request) => {
      const row = await service.registry.show(request.params.name);
      const items = [];
      for (const run of await service.store.runs.list({ cluster: row.name })) {
        const { state } = await loadRun(service.store, run.id);
        if (state.snapshot)
          items.push({
            id: state.snapshot.id,
            takenAt: new Date(state.snapshot.takenAt).toISOString(),
            run: run.id,
            runPhase: run.phase,
            target: run.target,
          });
      }
      return { items };
    },
  );
}

async function activeRuns(service: KupService): Promise<Map<string, { id: string; phase: string }>> {
  const map = new Map<string, { id: string; phase: string }>();
  for (const run of await service.store.runs.list({ active: true }))
    if (!map.has(run.cluster)) map.set(run.cluster, { id: run.id, phase: run.phase });
  return map;
}

/** The name a continue token says the previous page ended at. */
function continueAfter(token: string): string {
  const name = Buffer.from(token, 'base64url').toString();
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || Buffer.from(name).toString('base64url') !== token)
    throw new ApiError(ApiErrorCode.invalid, 'query.continue is not a token a previous page of GET /clusters gave', {
      kind: 'invalid-input',
      details: { field: 'query.continue' },
    });
  return name;
}

/** A registry refusal names its field as the request's: body.kubeconfig, body.name. */
function withBodyField(err: ClusterRegistryError): ClusterRegistryError {
  const field = err.details.field;
  if (field === undefined) return err;
  Object.assign(err.details, { field: `body.${field === 'kubeconfig' ? 'kubeconfig' : field}` });
  return err;
}
