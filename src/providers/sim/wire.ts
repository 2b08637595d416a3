/**
 * The replies of kube-sim's infrastructure API as the sim provider reads them, narrowed from `unknown`: a reply of
 * another shape is a KUP-PROVIDER-010 error naming the field, never a crash further on.
 */
import type { ControlPlaneComponentVersions, SnapshotInfo, Topology } from '../../engine/provider.ts';
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';

/** Where a sim operation is. */
export type SimOperationState = 'running' | 'succeeded' | 'failed';

/** An operation of the sim (`GET /sim/v1/operations/<id>`): a control-plane or in-place node upgrade. */
export interface SimOperation {
  readonly id: string;
  readonly node: string;
  readonly state: SimOperationState;
  /** The component or `kubelet` being upgraded, `done` at the end. */
  readonly step: string;
  readonly message: string;
}

/** A snapshot as the sim lists it. */
export interface SimSnapshot extends SnapshotInfo {
  /** The name it was taken under (the sim provider uses the idempotency key). */
  readonly name?: string;
}

/** The sim's reply to a replace: the new machine and the node it replaces. */
export interface SimReplacement {
  readonly newNode: string;
  readonly pool: string;
}

type Json = Record<string, unknown>;

function record(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(where, 'an object');
  return value as Json;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(where, 'a list');
  return value;
}

function text(obj: Json, key: string, where: string): string {
  const value = obj[key];
  if (typeof value !== 'string') throw malformed(`${where}.${key}`, 'a string');
  return value;
}

function number(obj: Json, key: string, where: string): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw malformed(`${where}.${key}`, 'a number');
  return value;
}

function malformed(where: string, expected: string): ProviderError {
  return new ProviderError(
    ProviderErrorCode.protocol,
    `sim: unexpected reply from the infrastructure API: ${where} is not ${expected}`,
  );
}

function components(value: unknown, where: string): ControlPlaneComponentVersions {
  const obj = record(value, where);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw malformed(`${where}.${k}`, 'a string');
    out[k] = v;
  }
  return out;
}

/** Reads `GET /sim/v1/topology`. */
export function parseTopology(body: unknown): Topology {
  const root = record(body, 'topology');
  return {
    controlPlane: list(root['controlPlane'], 'topology.controlPlane').map((item, i) => {
      const where = `topology.controlPlane[${i}]`;
      const m = record(item, where);
      return {
        node: text(m, 'name', where),
        kubeletVersion: text(m, 'kubeletVersion', where),
        components: components(m['components'], `${where}.components`),
        machineImage: text(m, 'machineImage', where),
      };
    }),
    pools: list(root['pools'], 'topology.pools').map((item, i) => {
      const where = `topology.pools[${i}]`;
      const p = record(item, where);
      return {
        name: text(p, 'name', where),
        kubeletVersion: text(p, 'kubeletVersion', where),
        machineImage: text(p, 'machineImage', where),
        nodes: list(p['nodes'], `${where}.nodes`).map((n, j) => {
          const w = `${where}.nodes[${j}]`;
          const m = record(n, w);
          return {
            node: text(m, 'name', w),
            kubeletVersion: text(m, 'kubeletVersion', w),
            machineImage: text(m, 'machineImage', w),
          };
        }),
      };
    }),
  };
}

/** Reads an operation (the 202 of an upgrade, or `GET /sim/v1/operations/<id>`). */
export function parseOperation(body: unknown): SimOperation {
  const op = record(body, 'operation');
  const state = text(op, 'state', 'operation');
  if (state !== 'running' && state !== 'succeeded' && state !== 'failed')
    throw malformed('operation.state', 'running, succeeded or failed');
  return {
    id: text(op, 'id', 'operation'),
    node: text(op, 'node', 'operation'),
    state,
    step: text(op, 'step', 'operation'),
    message: text(op, 'message', 'operation'),
  };
}

/** Reads one snapshot. */
export function parseSnapshot(body: unknown, where = 'snapshot'): SimSnapshot {
  const s = record(body, where);
  const name = s['name'];
  return {
    id: text(s, 'id', where),
    takenAt: text(s, 'takenAt', where),
    sizeBytes: number(s, 'sizeBytes', where),
    ...(typeof name === 'string' ? { name } : {}),
  };
}

/** Reads `GET /sim/v1/snapshots`. */
export function parseSnapshotList(body: unknown): SimSnapshot[] {
  return list(record(body, 'snapshots')['items'], 'snapshots.items').map((s, i) =>
    parseSnapshot(s, `snapshots.items[${i}]`),
  );
}

/** Reads the 202 of `POST /sim/v1/nodes/<n>/replace`. */
export function parseReplacement(body: unknown): SimReplacement {
  const reply = record(body, 'replacement');
  const machine = record(reply['newNode'], 'replacement.newNode');
  return { newNode: text(machine, 'name', 'replacement.newNode'), pool: text(machine, 'pool', 'replacement.newNode') };
}

/**
 * The replies of a node-batches request (`{"items": [{"code", "body"}]}`), one per item sent, in order: each as the
 * single call would have answered it.
 */
export function parseBatchReplies(body: unknown, expected: number): { readonly status: number; readonly body: unknown }[] {
  const items = list(record(body, 'node batch reply')['items'], 'node batch reply.items');
  if (items.length !== expected) throw malformed('node batch reply.items', `${expected} replies, one per item sent`);
  return items.map((item, i) => {
    const reply = record(item, `node batch reply.items[${i}]`);
    const code = reply['code'];
    if (typeof code !== 'number' || !Number.isInteger(code)) throw malformed(`node batch reply.items[${i}].code`, 'an HTTP status');
    return { status: code, body: reply['body'] };
  });
}
