/** Schemas of the web console's views (routes/console.ts): what its pages read in one request each. */
import { Type } from 'typebox';
import { Document } from './common.ts';

const Classification = Type.Union([
  Type.Literal('preview'),
  Type.Literal('supported'),
  Type.Literal('deprecated'),
  Type.Literal('expired'),
  Type.Literal('unknown'),
]);

const VersionFacts = {
  classification: Classification,
  endOfSupport: Type.Union([Type.String({ description: "Last day of the minor's support (YYYY-MM-DD)" }), Type.Null()]),
  releaseNotes: Type.Union([Type.String(), Type.Null()]),
  upgradeNotes: Type.Array(Type.String()),
};

/** Who the token is. */
export const SessionView = Type.Object({
  name: Type.String(),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
});

const PoolView = Type.Object({
  name: Type.String(),
  nodes: Type.Integer(),
  kubeletVersions: Type.Array(Type.String()),
  image: Type.Union([Type.String(), Type.Null()]),
  imageUpgrade: Type.Union([Type.String({ description: "A newer machine image of the catalog's" }), Type.Null()]),
});

/** One cluster of the fleet. */
export const FleetClusterView = Type.Object({
  name: Type.String(),
  provider: Type.String(),
  server: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  ...VersionFacts,
  health: Type.Union([Type.Literal('healthy'), Type.Literal('unreachable')]),
  healthMessage: Type.Union([Type.String(), Type.Null()]),
  pools: Type.Array(PoolView),
  availableUpgrades: Type.Array(Type.String()),
  activeRun: Type.Union([
    Type.Object({ id: Type.String(), phase: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) }),
    Type.Null(),
  ]),
});

const NodeView = Type.Object({
  name: Type.String(),
  pool: Type.Union([Type.String(), Type.Null()]),
  controlPlane: Type.Boolean(),
  kubeletVersion: Type.String(),
  image: Type.Union([Type.String(), Type.Null()]),
  ready: Type.Boolean(),
  cordoned: Type.Boolean(),
});

const VersionOption = Type.Object({
  version: Type.String(),
  ...VersionFacts,
  eligible: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()]),
  kind: Type.Union([
    Type.Literal('patch'),
    Type.Literal('next-minor'),
    Type.Literal('downgrade'),
    Type.Literal('withheld'),
  ]),
});

const RunHistoryItem = Type.Object({
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  kind: Type.Union([Type.Literal('version'), Type.Literal('image')]),
  phase: Type.String(),
  trigger: Type.Union([Type.Literal('manual'), Type.Literal('automatic')]),
  createdAt: Type.Integer(),
  endedAt: Type.Union([Type.Integer(), Type.Null()]),
});

/** One cluster: the fleet's view, its nodes, the versions it can be offered, its runs. */
export const ClusterView = Type.Object({
  ...FleetClusterView.properties,
  nodes: Type.Array(NodeView),
  nodesError: Type.Union([Type.String({ description: 'Why the nodes could not be read' }), Type.Null()]),
  versions: Type.Array(VersionOption),
  versionsHint: Type.String(),
  runs: Type.Array(RunHistoryItem),
});

/** A run for the run page: progress, the commands its state takes now, each node's state. */
export const RunView = Type.Object({
  id: Type.String(),
  cluster: Type.String(),
  from: Type.String(),
  to: Type.String(),
  kind: Type.Union([Type.Literal('version'), Type.Literal('image')]),
  percent: Type.Integer({ minimum: 0, maximum: 100 }),
  allowed: Type.Object({
    pause: Type.Boolean(),
    resume: Type.Boolean(),
    cancel: Type.Boolean(),
    rollback: Type.Boolean(),
  }),
  nodes: Type.Array(
    Type.Object({
      node: Type.String(),
      pool: Type.Optional(Type.String()),
      state: Type.String(),
      action: Type.Optional(Type.String()),
      newNode: Type.Optional(Type.String()),
    }),
  ),
  progress: Document,
  status: Document,
  createdAt: Type.Integer(),
  endedAt: Type.Union([Type.Integer(), Type.Null()]),
  pointOfNoReturn: Type.Union([Type.String(), Type.Null()]),
  expectedDurationMs: Type.Integer(),
});
