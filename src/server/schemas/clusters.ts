/** Schemas of clusters: registration, and what a cluster says about itself. */
import { Type } from 'typebox';
import { ClusterName, Document } from './common.ts';

/** POST /clusters: a kubeconfig uploaded (kept sealed) or a file on the service's host, and a provider. */
export const RegisterClusterBody = Type.Object(
  {
    name: ClusterName,
    provider: Type.String({ minLength: 1, maxLength: 63, description: 'sim or local' }),
    providerSettings: Type.Optional(Type.Object({}, { additionalProperties: true })),
    kubeconfig: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 512 * 1024,
        description: 'The kubeconfig document (YAML or JSON); encrypted at rest, never returned',
      }),
    ),
    kubeconfigPath: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: "A kubeconfig file on the service's host" }),
    ),
    context: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  },
  { additionalProperties: false },
);

const Upgrade = Type.Object({ version: Type.String(), classification: Type.String() }, { additionalProperties: true });

/** A registered cluster, as it says it is now. Credentials are never shown: the server URL and context only. */
export const Cluster = Type.Object({
  name: Type.String(),
  provider: Type.String(),
  providerSettings: Document,
  kubeconfig: Type.Union([Type.Literal('uploaded'), Type.Literal('file')], {
    description: 'Where its kubeconfig is (an uploaded one is sealed in the store)',
  }),
  context: Type.Union([Type.String(), Type.Null()]),
  addedAt: Type.String({ format: 'date-time' }),
  server: Type.Union([Type.String(), Type.Null()]),
  health: Type.Object({
    reachable: Type.Boolean(),
    error: Type.Union([Type.String(), Type.Null()]),
    inspectedAt: Type.String({ format: 'date-time' }),
  }),
  version: Type.Union([Type.String(), Type.Null()]),
  nodes: Type.Union([Type.Integer(), Type.Null()]),
  kubeletVersions: Type.Record(Type.String(), Type.Integer()),
  pools: Type.Union([
    Type.Array(
      Type.Object({
        name: Type.String(),
        nodes: Type.Integer(),
        kubeletVersion: Type.String(),
        machineImage: Type.Optional(Type.String()),
      }),
    ),
    Type.Null(),
  ]),
  upgrades: Type.Union([
    Type.Object({
      known: Type.Boolean(),
      summary: Type.String({ description: "kup cluster list's UPGRADE column" }),
      newestPatch: Type.Union([Type.String(), Type.Null()]),
      newestNextMinor: Type.Union([Type.String(), Type.Null()]),
      patches: Type.Array(Upgrade),
      nextMinor: Type.Array(Upgrade),
    }),
    Type.Null(),
  ]),
  activeRun: Type.Union([Type.Object({ id: Type.String(), phase: Type.String() }), Type.Null()]),
});

/**
 * A cluster in the fleet list: {@link Cluster} without the lists of every version it can move to (`upgrades.patches`
 * and `upgrades.nextMinor`, on GET /clusters/{name}), which made a list of a thousand clusters weigh ~360 KiB.
 */
export const ClusterSummary = Type.Object({
  ...Cluster.properties,
  upgrades: Type.Union([
    Type.Object({
      known: Type.Boolean(),
      summary: Type.String({ description: "kup cluster list's UPGRADE column" }),
      newestPatch: Type.Union([Type.String(), Type.Null()]),
      newestNextMinor: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ]),
});

/** GET /clusters: one page of the fleet, by name; `continue` is there when more clusters follow. */
export const ClusterPage = Type.Object({
  items: Type.Array(ClusterSummary),
  continue: Type.Optional(
    Type.String({ description: 'Pass as ?continue= to get the next page (absent on the last page)' }),
  ),
});

/** GET /clusters's query: pages as Kubernetes lists do. */
export const ClusterListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, description: 'At most this many clusters' })),
    continue: Type.Optional(
      Type.String({ minLength: 1, maxLength: 512, description: "The previous page's continue token" }),
    ),
  },
  { additionalProperties: false },
);

/** A snapshot a run took of a cluster. */
export const Snapshot = Type.Object({
  id: Type.String(),
  takenAt: Type.String({ format: 'date-time' }),
  run: Type.String(),
  runPhase: Type.String(),
  target: Type.String(),
});
