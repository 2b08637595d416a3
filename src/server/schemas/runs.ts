/**
 * Schemas of plans and runs. The upgrade request is `kup upgrade`'s options, one field each (durations in
 * milliseconds); the CLI's `--server` mode sends what its flags parse to.
 */
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { RULE_IDS } from '../../checks/types.ts';
import { ClusterName, Document } from './common.ts';

const Millis = (description: string) => Type.Integer({ minimum: 0, maximum: 100 * 365 * 86_400_000, description });
const CountOrPercent = (description: string) =>
  Type.Union(
    [Type.Integer({ minimum: 0, maximum: 100_000 }), Type.String({ pattern: '^([0-9]{1,6}|([1-9][0-9]?|100)%)$' })],
    { description },
  );

/** `kup upgrade`'s options. */
export const UpgradeOptions = Type.Object(
  {
    to: Type.Optional(
      Type.String({
        pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+$',
        description: 'Target Kubernetes version; absent for an image-only upgrade',
      }),
    ),
    image: Type.Optional(
      Type.String({ minLength: 1, maxLength: 253, description: 'New machine image for the pools moved' }),
    ),
    pools: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { maxItems: 100, description: 'Only these pools' }),
    ),
    poolOptions: Type.Optional(
      Type.Object(
        {
          batchPolicy: Type.Optional(
            Type.String({ pattern: '^(exponential|fixed:[1-9][0-9]{0,5}|percent:([1-9][0-9]?|100))$' }),
          ),
          strategy: Type.Optional(
            Type.Union([Type.Literal('replace'), Type.Literal('in-place'), Type.Literal('blue-green')]),
          ),
          maxSurge: Type.Optional(CountOrPercent('--max-surge')),
          maxUnavailable: Type.Optional(CountOrPercent('--max-unavailable')),
          nodeSoakMs: Type.Optional(Millis('Soak after each node (--node-soak)')),
          drainBatchSize: Type.Optional(CountOrPercent('Blue-green: blue nodes drained together (--drain-batch-size)')),
          finalSoakMs: Type.Optional(Millis('Blue-green: soak before blue is deleted (--final-soak)')),
          canary: Type.Optional(Type.Boolean({ description: 'Move one node first and validate it (--canary)' })),
        },
        { additionalProperties: false },
      ),
    ),
    soakMs: Type.Optional(Millis('Soak after each batch')),
    drainTimeoutMs: Type.Optional(Millis("A node's drain deadline (--drain-timeout)")),
    nodeReadyTimeoutMs: Type.Optional(Millis('How long a new node may take to be Ready')),
    unreachableTimeoutMs: Type.Optional(Millis('How long the API server may be unreachable before the run pauses')),
    apiConcurrency: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1024, description: 'Requests a group of like node actions has in flight at once (--api-concurrency)' }),
    ),
    workerStrategy: Type.Optional(Type.Union([Type.Literal('minimal'), Type.Literal('follow')])),
    allowPreview: Type.Optional(Type.Boolean()),
    allowExpired: Type.Optional(Type.Boolean()),
    implicitBudget: Type.Optional(Type.Boolean({ description: 'false: --implicit-budget off' })),
    run: Type.Optional(
      Type.Object(
        {
          drainTimeoutPolicy: Type.Optional(
            Type.Union([Type.Literal('pause'), Type.Literal('quarantine'), Type.Literal('force')], {
              description: 'quarantine and force need the admin role',
            }),
          ),
          maxPauseMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 * 365 * 86_400_000 })),
          maxBlockedNodes: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 100_000,
              description: 'Bounds the quarantine policy (--max-blocked-nodes)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    acknowledgements: Type.Optional(
      Type.Array(
        Type.Object(
          {
            rule: Type.Union(RULE_IDS.map((r) => Type.Literal(r))),
            object: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
            reason: Type.String({ minLength: 1, maxLength: 1000, pattern: '\\S' }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
  },
  { additionalProperties: false },
);
/** {@link UpgradeOptions} as data. */
export type UpgradeOptionsBody = Static<typeof UpgradeOptions>;

/** POST /runs. */
export const CreateRunBody = Type.Object(
  { cluster: ClusterName, ...UpgradeOptions.properties },
  { additionalProperties: false },
);

/** A run in a list. */
export const RunSummary = Type.Object({
  id: Type.String(),
  cluster: Type.String(),
  target: Type.String(),
  phase: Type.String(),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  drivenBy: Type.Union([Type.String(), Type.Null()], { description: 'The lease owner driving it now, if any' }),
});

/** A run with its plan, status and progress. */
export const RunDetail = Type.Object({
  id: Type.String(),
  cluster: Type.String(),
  target: Type.String(),
  phase: Type.String(),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  drivenBy: Type.Union([Type.String(), Type.Null()]),
  /** `kup status`'s line. */
  summary: Type.String(),
  /** What `kup status` adds for a paused run: the cause and the commands that go on (empty otherwise). */
  notice: Type.String(),
  /** Steps under way now: a paused run with none has stopped moving (kup upgrade --wait returns then). */
  inFlight: Type.Integer({ minimum: 0 }),
  status: Document,
  progress: Document,
  plan: Document,
  request: Document,
});

/** POST /runs/{id}/pause and the other commands. */
export const CommandBody = Type.Object(
  {
    message: Type.Optional(Type.String({ maxLength: 1000, description: 'pause: the reason shown while paused' })),
    replaceNode: Type.Optional(Type.Boolean({ description: 'resume: replace the node that never became Ready' })),
  },
  { additionalProperties: false },
);

/** A plan, with the precheck report of the target. */
export const PlanResponse = Type.Object({
  plan: Document,
  text: Type.String({ description: "kup plan's text" }),
  precheck: Type.Optional(Document),
  precheckText: Type.Optional(Type.String()),
  blocked: Type.Boolean({ description: 'A blocker stands (kup plan exits 1)' }),
});
