/**
 * The web console (issue 18): its built files under `/console/`, public like any web page (`/` leads there), and the
 * views its pages read, under `/api/v1/console/`, each computed from the service's own data in one request (see
 * console-view.ts). Writes go through the ordinary routes (plans, runs, commands), so the console can do nothing the
 * API would not let the same token do.
 */
import { Type } from 'typebox';
import { loadRun } from '../../engine/apply-event.ts';
import type { ServerApp } from '../app.ts';
import { DEFAULT_CONSOLE_DIR, consoleAsset } from '../console-assets.ts';
import { activeRunViews, fleetCluster, runView, versionOptions } from '../console-view.ts';
import { ClusterParams, IdParams, responses } from '../schemas/common.ts';
import { ClusterView, FleetClusterView, RunView, SessionView } from '../schemas/console.ts';
import type { KupService } from '../service.ts';

/** How long reading a cluster's nodes for its page may take. */
const NODES_TIMEOUT_MS = 10_000;

/** Registers the console's routes; `dir` is the build to serve. */
export function registerConsoleRoutes(app: ServerApp, service: KupService, dir: string = DEFAULT_CONSOLE_DIR): void {
  const open = { config: { access: 'public' as const }, schema: { hide: true } };
  app.get('/', open, (_request, reply) => reply.redirect('/console/'));
  app.get('/console', open, (_request, reply) => reply.redirect('/console/'));
  app.get<{ Params: { '*': string } }>('/console/*', open, async (request, reply) => {
    const asset = await consoleAsset(request.params['*'], dir);
    if (asset.status === 404) {
      return reply
        .status(404)
        .type('text/plain; charset=utf-8')
        .send(
          asset.notBuilt
            ? 'The web console is not built: run npm install (or node scripts/build-console.mjs).\n'
            : 'Not found\n',
        );
    }
    return reply.headers(asset.headers).send(asset.body);
  });

  app.get(
    '/api/v1/console/session',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Who the token is: its name and role (the console offers only what the role may do)',
        tags: ['console'],
        response: responses({ 200: SessionView }),
      },
    },
    (request) => ({ name: request.principal?.name ?? '', role: request.principal?.role ?? 'viewer' }),
  );

  app.get(
    '/api/v1/console/fleet',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          "The console's fleet: every cluster with its version's classification and end of support, pools, image upgrades, the active run's progress",
        tags: ['console'],
        response: responses({ 200: Type.Object({ items: Type.Array(FleetClusterView) }) }),
      },
    },
    async () => {
      const now = service.clock.now();
      const [rows, catalog, active] = await Promise.all([
        service.registry.list(),
        service.catalog(),
        service.store.runs.list({ active: true }),
      ]);
      const runs = await activeRunViews(service.store, active);
      const items = await Promise.all(
        rows.map(async (row) =>
          fleetCluster(row, await service.status.get(row), runs.get(row.name) ?? null, catalog, now),
        ),
      );
      return { items };
    },
  );

  app.get(
    '/api/v1/console/clusters/:name',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          "The console's cluster page: the fleet's view, its nodes, every version with why it is offered or not, its runs",
        tags: ['console'],
        params: ClusterParams,
        response: responses({ 200: ClusterView }, [404]),
      },
    },
    async (request) => {
      const now = service.clock.now();
      const row = await service.registry.show(request.params.name);
      const [catalog, status, active, history] = await Promise.all([
        service.catalog(),
        service.status.refresh(row),
        service.store.runs.list({ cluster: row.name, active: true }),
        service.store.runs.list({ cluster: row.name, limit: 50 }),
      ]);
      const runs = await activeRunViews(service.store, active);
      const fleet = fleetCluster(row, status, runs.get(row.name) ?? null, catalog, now);
      const { nodes, error } = await readNodes(service, row.name);
      const versions =
        fleet.version !== null
          ? versionOptions(catalog, fleet.version, now)
          : { options: [], hint: 'The cluster does not answer: its versions are not known.' };
      const items = await Promise.all(
        history.map(async (r) => {
          const { state } = await loadRun(service.store, r.id);
          const at = 'at' in state.status && typeof state.status.at === 'number' ? state.status.at : null;
          return {
            id: r.id,
            from: state.plan.from,
            to: state.plan.to,
            kind: state.plan.kind,
            phase: state.status.phase,
            trigger: 'manual' as const,
            createdAt: state.createdAt,
            endedAt: at,
          };
        }),
      );
      return {
        ...fleet,
        nodes,
        nodesError: error,
        versions: [...versions.options],
        versionsHint: versions.hint,
        runs: items,
      };
    },
  );

  app.get(
    '/api/v1/console/runs/:id',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "The console's run page: progress, the commands the run takes now, each node's state",
        tags: ['console'],
        params: IdParams,
        response: responses({ 200: RunView }, [404]),
      },
    },
    async (request) => {
      const { state } = await loadRun(service.store, request.params.id);
      const view = runView(state, service.clock.now());
      return {
        ...view,
        id: state.runId,
        cluster: state.plan.cluster,
        nodes: [...view.nodes],
        progress: view.progress as unknown as Record<string, unknown>,
        status: view.status as unknown as Record<string, unknown>,
        expectedDurationMs: Math.round(state.plan.expectedDurationMs),
      };
    },
  );
}

/** The cluster's nodes from its provider (pool, image) and its API (Ready, cordoned); the error when it cannot say. */
async function readNodes(service: KupService, name: string) {
  try {
    const cluster = await service.openCluster(name);
    const signal = AbortSignal.timeout(NODES_TIMEOUT_MS);
    const [topology, list] = await Promise.all([
      cluster.provider.describeTopology(signal),
      cluster.conn.getText('/api/v1/nodes', signal),
    ]);
    if (list.status !== 200) throw new Error(`GET /api/v1/nodes answered ${list.status}`);
    const items = (JSON.parse(list.body) as { items?: NodeObject[] }).items ?? [];
    const byName = new Map(items.map((n) => [n.metadata?.name ?? '', n]));
    const nodeOf = (
      nodeName: string,
      pool: string | null,
      kubeletVersion: string,
      image: string,
      controlPlane: boolean,
    ) => {
      const n = byName.get(nodeName);
      return {
        name: nodeName,
        pool,
        controlPlane,
        kubeletVersion: (n?.status?.nodeInfo?.kubeletVersion ?? kubeletVersion).replace(/^v/, ''),
        image: image === '' ? null : image,
        ready: n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        cordoned: n?.spec?.unschedulable === true,
      };
    };
    const nodes = [
      ...topology.controlPlane.map((c) => nodeOf(c.node, null, c.kubeletVersion, c.machineImage, true)),
      ...topology.pools.flatMap((p) =>
        p.nodes.map((n) => nodeOf(n.node, p.name, n.kubeletVersion, n.machineImage, false)),
      ),
    ];
    return { nodes, error: null };
  } catch (err) {
    return { nodes: [], error: err instanceof Error ? err.message : String(err) };
  }
}

/** The fields of a Node the page reads. */
interface NodeObject {
  readonly metadata?: { readonly name?: string };
  readonly spec?: { readonly unschedulable?: boolean };
  readonly status?: {
    readonly nodeInfo?: { readonly kubeletVersion?: string };
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}
