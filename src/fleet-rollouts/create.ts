/**
 * A new rollout from its spec: validated field by field, each stage's clusters resolved from the registered
 * clusters (by name, or by labels), a cluster taken by the first stage that names or selects it.
 *
 * @module
 */
import { RolloutError, RolloutErrorCode } from './errors.ts';
import type { ClusterLabels, ClusterProgress, RolloutSpec, RolloutState, StageSpec, StageState } from './types.ts';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Options of {@link createRolloutState}. */
export interface CreateRolloutOptions {
  readonly id: string;
  readonly now: number;
}

/**
 * Validates a spec against the registered clusters and returns the pending rollout.
 * @throws {RolloutError} `KUP-ROLLOUT-001` naming the field at fault.
 */
export function createRolloutState(
  input: unknown,
  registered: readonly ClusterLabels[],
  options: CreateRolloutOptions,
): RolloutState {
  const spec = parseRolloutSpec(input);
  const byName = new Map(registered.map((c) => [c.name, c]));
  const taken = new Set<string>();
  const stages: StageState[] = spec.stages.map((stage, i) => {
    const field = `stages[${i}].clusters`;
    const chosen: string[] = [];
    for (const [j, name] of (stage.clusters.names ?? []).entries()) {
      if (!byName.has(name)) bad(`${field}.names[${j}]`, `cluster ${name} is not registered`);
      if (!taken.has(name)) chosen.push(name);
      taken.add(name);
    }
    const labels = stage.clusters.labels;
    if (labels !== undefined) {
      for (const c of [...registered].sort((a, b) => a.name.localeCompare(b.name))) {
        if (taken.has(c.name)) continue;
        if (Object.entries(labels).every(([k, v]) => c.labels[k] === v)) {
          chosen.push(c.name);
          taken.add(c.name);
        }
      }
    }
    if (chosen.length === 0) bad(field, `stage ${stage.name} selects no cluster that an earlier stage did not take`);
    return {
      name: stage.name,
      clusters: chosen,
      maxConcurrency: stage.maxConcurrency ?? 1,
      soakMs: (stage.soakMinutes ?? 0) * 60_000,
      approval: stage.approval ?? false,
      phase: 'pending',
    };
  });
  const clusters: Record<string, ClusterProgress> = {};
  stages.forEach((s, stage) => {
    for (const cluster of s.clusters) clusters[cluster] = { cluster, stage, phase: 'pending', attempt: 0 };
  });
  return {
    schema: 1,
    id: options.id,
    name: spec.name,
    target: spec.target,
    stages,
    cursor: 0,
    status: { phase: 'pending' },
    clusters,
    createdAt: options.now,
    updatedAt: options.now,
    seq: 0,
  };
}

function bad(field: string, message: string): never {
  throw new RolloutError(RolloutErrorCode.invalidSpec, `${field}: ${message}`, { field });
}

/**
 * Validates a rollout spec as read from JSON or YAML, naming the field at fault.
 * @throws {RolloutError} `KUP-ROLLOUT-001`.
 */
export function parseRolloutSpec(input: unknown): RolloutSpec {
  const obj = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be an object');
    return v as Record<string, unknown>;
  };
  const s = obj(input, '$');
  if (typeof s.name !== 'string' || !NAME.test(s.name))
    bad('name', `${JSON.stringify(s.name)} is not a name (lowercase letters, digits and '-', up to 63)`);
  const target = obj(s.target, 'target');
  if (target.to !== undefined && typeof target.to !== 'string') bad('target.to', 'must be a Kubernetes version');
  if (target.image !== undefined && typeof target.image !== 'string') bad('target.image', 'must be a machine image');
  if (target.to === undefined && target.image === undefined)
    bad('target', 'give a Kubernetes version (to), a machine image (image), or both');
  if (!Array.isArray(s.stages) || s.stages.length === 0) bad('stages', 'must list at least one stage');
  const names = new Set<string>();
  const stages = (s.stages as unknown[]).map((raw, i): StageSpec => {
    const f = `stages[${i}]`;
    const st = obj(raw, f);
    if (typeof st.name !== 'string' || !NAME.test(st.name))
      bad(`${f}.name`, `${JSON.stringify(st.name)} is not a name`);
    if (names.has(st.name)) bad(`${f}.name`, `${st.name} is used twice`);
    names.add(st.name);
    const sel = obj(st.clusters, `${f}.clusters`);
    if (sel.names !== undefined && (!Array.isArray(sel.names) || sel.names.some((n) => typeof n !== 'string')))
      bad(`${f}.clusters.names`, 'must be a list of cluster names');
    if (sel.labels !== undefined) {
      const labels = obj(sel.labels, `${f}.clusters.labels`);
      for (const [k, v] of Object.entries(labels))
        if (typeof v !== 'string') bad(`${f}.clusters.labels.${k}`, 'must be a string');
    }
    if (sel.names === undefined && sel.labels === undefined) bad(`${f}.clusters`, 'give names, labels, or both');
    const int = (key: string, min: number, max: number): number | undefined => {
      const v = st[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
        bad(`${f}.${key}`, `${JSON.stringify(v)} is not a whole number from ${min} to ${max}`);
      return v;
    };
    const maxConcurrency = int('maxConcurrency', 1, 1000);
    const soakMinutes = int('soakMinutes', 0, 7 * 24 * 60);
    if (st.approval !== undefined && typeof st.approval !== 'boolean') bad(`${f}.approval`, 'must be true or false');
    return {
      name: st.name,
      clusters: {
        ...(sel.names !== undefined ? { names: sel.names as string[] } : {}),
        ...(sel.labels !== undefined ? { labels: sel.labels as Record<string, string> } : {}),
      },
      ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
      ...(soakMinutes !== undefined ? { soakMinutes } : {}),
      ...(st.approval !== undefined ? { approval: st.approval } : {}),
    };
  });
  return {
    name: s.name,
    target: {
      ...(target.to !== undefined ? { to: target.to } : {}),
      ...(target.image !== undefined ? { image: target.image } : {}),
    },
    stages,
  };
}
