/**
 * The topology as the planner reads it: control-plane nodes and pools in a stable order, versions parsed, duplicate
 * names and unknown pools refused, each pool's options resolved. What a move changes is kept per node slot, so a
 * second move of a pool starts where the first one left it.
 *
 * @module
 */
import { PlanError, PlanErrorCode } from './plan-errors.ts';
import { resolvePoolOptions } from './plan-options.ts';
import type { ResolvedPoolOptions } from './plan-options.ts';
import type { PlanControlPlaneNode, PlanInput, PlanPool } from './plan-types.ts';
import { compareNodeNames } from './node-names.ts';
import type { KubeVersion } from '../versions/index.ts';
import { compareVersions, parseKubeletVersion } from '../versions/index.ts';

/** A worker node slot: the node as planned, and the version and image it runs after the moves planned so far. */
export interface SlotState {
  readonly node: string;
  version: KubeVersion;
  image: string;
}

/** A pool as planned: its slots in name order and its resolved options. */
export interface PoolState {
  readonly pool: PlanPool;
  readonly slots: SlotState[];
  readonly options: ResolvedPoolOptions;
}

/** A control-plane node, and the version it runs after the hops planned so far. */
export interface ControlPlaneState {
  readonly topo: PlanControlPlaneNode;
  version: KubeVersion;
}

/** The control-plane nodes in upgrade order, with their versions; the control plane is at its oldest node's. */
export function readControlPlane(input: PlanInput): {
  cpNodes: PlanControlPlaneNode[];
  cpState: ControlPlaneState[];
  cpVersion: KubeVersion;
} {
  const { cluster } = input;
  const cpNodes = [...input.topology.controlPlane].sort((a, b) => compareNodeNames(a.node, b.node));
  checkUnique(
    cpNodes.map((n) => n.node),
    cluster,
    'control-plane node',
  );
  const cpState = cpNodes.map((n) => ({
    topo: n,
    version: readVersion(n.components['kube-apiserver'] ?? n.kubeletVersion, cluster, n.node),
  }));
  return { cpNodes, cpState, cpVersion: oldest(cpState.map((c) => c.version)) };
}

/** The pools by name, their nodes in name order; options for a pool the cluster lacks are refused. */
export function readPools(input: PlanInput, soakDefault: number): Map<string, PoolState> {
  const { cluster } = input;
  const pools = new Map<string, PoolState>();
  for (const pool of input.topology.pools) {
    if (pools.has(pool.name)) {
      throw new PlanError(PlanErrorCode.invalidTopology, `two worker pools are named "${pool.name}"`, {
        cluster,
        pool: pool.name,
      });
    }
    const nodes = [...pool.nodes].sort((a, b) => compareNodeNames(a.node, b.node));
    checkUnique(
      nodes.map((n) => n.node),
      cluster,
      `node of pool "${pool.name}"`,
    );
    pools.set(pool.name, {
      pool,
      slots: nodes.map((n) => ({
        node: n.node,
        version: readVersion(n.kubeletVersion, cluster, n.node),
        image: n.machineImage,
      })),
      options: resolvePoolOptions(input, pool, cluster, soakDefault),
    });
  }
  for (const name of Object.keys(input.pools ?? {})) {
    if (!pools.has(name)) {
      throw new PlanError(
        PlanErrorCode.topologyMismatch,
        `options name pool "${name}", which the cluster does not have`,
        { cluster, pool: name },
      );
    }
  }
  return pools;
}

/** Refuses images for pools the cluster lacks, an empty image, and (when `required`) no image at all. */
export function checkImages(
  images: Readonly<Record<string, string>>,
  pools: ReadonlyMap<string, PoolState>,
  cluster: string,
  required: boolean,
): void {
  if (required && Object.keys(images).length === 0) {
    throw new PlanError(PlanErrorCode.invalidOption, 'an image-only plan needs a machine image for at least one pool', {
      cluster,
    });
  }
  for (const [name, image] of Object.entries(images)) {
    if (!pools.has(name)) {
      throw new PlanError(
        PlanErrorCode.topologyMismatch,
        `an image is given for pool "${name}", which the cluster does not have`,
        { cluster, pool: name },
      );
    }
    if (image.trim() === '') {
      throw new PlanError(PlanErrorCode.invalidOption, `the image for pool "${name}" is empty`, {
        cluster,
        pool: name,
      });
    }
  }
}

/** A version from a node's text (vendor suffix allowed); anything else is a `KUP-PLAN-003`. */
export function readVersion(text: string, cluster: string, node?: string): KubeVersion {
  try {
    return parseKubeletVersion(text).version;
  } catch (cause) {
    throw new PlanError(
      PlanErrorCode.invalidTopology,
      `${node !== undefined ? `node ${node}: ` : ''}${JSON.stringify(text)} is not a Kubernetes version`,
      { cluster, ...(node !== undefined ? { node } : {}) },
      { cause },
    );
  }
}

function oldest(versions: readonly KubeVersion[]): KubeVersion {
  let out: KubeVersion | undefined;
  for (const v of versions) if (out === undefined || compareVersions(v, out) < 0) out = v;
  return out ?? { major: 0, minor: 0, patch: 0 };
}

function checkUnique(names: readonly string[], cluster: string, what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name))
      throw new PlanError(PlanErrorCode.invalidTopology, `two of the ${what}s are named "${name}"`, {
        cluster,
        node: name,
      });
    seen.add(name);
  }
}
