/**
 * What the demo fleet keeps across restarts, in `<dataDir>/demo-fleet/fleet.json` (0600): each cluster's port and
 * token (so kubeconfigs and open terminals keep working where the port is still free) and the versions last read
 * from its infrastructure API. A restart rebuilds each simulated cluster from those versions: after an upgrade to
 * 1.36 the cluster comes back at 1.36.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Scenario } from '../kube-sim/scenario/types.ts';
import { PRIVATE_FILE_MODE } from '../persistence/private-files.ts';
import { compareVersions, parseVersion } from '../versions/index.ts';
import { DemoFleetError } from './errors.ts';

/** A cluster's versions as recorded: what a rebuild needs. */
export interface RecordedVersions {
  /** The control plane's version (its oldest kube-apiserver). */
  readonly kubernetesVersion: string;
  /** The machine image of the control plane's oldest node. */
  readonly controlPlaneImage: string;
  /**
   * Each pool's kubelet version and image: its oldest node's (a pool caught half upgraded is rebuilt at the version
   * it is leaving, which the run that was upgrading it moves again).
   */
  readonly pools: Readonly<Record<string, { readonly kubeletVersion: string; readonly machineImage: string }>>;
}

/** One cluster's entry in the state file. */
export interface RecordedCluster {
  readonly port: number;
  readonly token: string;
  readonly versions: RecordedVersions;
}

/** The state file's content. */
export interface FleetState {
  readonly clusters: Readonly<Record<string, RecordedCluster>>;
}

const FORMAT = 1;

/**
 * Reads the state file; an absent file is an empty fleet.
 *
 * @throws {DemoFleetError} KUP-DEMO-002 when it cannot be read or does not hold a fleet state.
 */
export function readFleetState(path: string): FleetState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { clusters: {} };
    throw new DemoFleetError(
      'state',
      `cannot read the demo fleet's state ${path}: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
  try {
    return parseFleetState(JSON.parse(text) as unknown);
  } catch (err) {
    throw new DemoFleetError(
      'state',
      `${path} is not a demo fleet state (${(err as Error).message}): remove it to start the fleet anew`,
      { path },
      { cause: err },
    );
  }
}

/** Writes the state file whole: a new file renamed over the old one, so a crash leaves one or the other. */
export function writeFleetState(path: string, state: FleetState): void {
  const next = `${path}.next`;
  rmSync(next, { force: true });
  writeFileSync(next, `${JSON.stringify({ format: FORMAT, ...state }, null, 2)}\n`, {
    mode: PRIVATE_FILE_MODE,
    flag: 'wx',
  });
  renameSync(next, path);
}

/** The scenario rebuilt at recorded versions; pools the record does not name keep the scenario's. */
export function atRecordedVersions(scenario: Scenario, versions: RecordedVersions): Scenario {
  return {
    ...scenario,
    kubernetesVersion: versions.kubernetesVersion,
    controlPlane: { ...scenario.controlPlane, machineImage: versions.controlPlaneImage },
    pools: scenario.pools.map((p) => {
      const recorded = versions.pools[p.name];
      return recorded ? { ...p, kubeletVersion: recorded.kubeletVersion, machineImage: recorded.machineImage } : p;
    }),
  };
}

/** Where a simulated cluster answers, and how to be let in. */
export interface SimEndpoint {
  readonly url: string;
  readonly token: string;
  readonly caCertPem: string;
}

/** Reads a cluster's versions from its infrastructure API (`GET /sim/v1/topology`). */
export async function readVersions(sim: SimEndpoint, signal: AbortSignal): Promise<RecordedVersions> {
  const body = await getJson(sim, '/sim/v1/topology', signal);
  return versionsOfTopology(body);
}

/** The recorded versions of a topology as `GET /sim/v1/topology` answers it. */
export function versionsOfTopology(body: unknown): RecordedVersions {
  const topology = object(body, 'topology');
  const kubernetesVersion = text(topology['kubernetesVersion'], 'kubernetesVersion');
  const controlPlane = list(topology['controlPlane'], 'controlPlane').map((n, i) => machine(n, `controlPlane[${i}]`));
  const oldestControlPlane = oldest(controlPlane);
  if (!oldestControlPlane) throw new Error('the topology has no control-plane node');
  const pools: Record<string, { kubeletVersion: string; machineImage: string }> = {};
  list(topology['pools'], 'pools').forEach((p, i) => {
    const pool = object(p, `pools[${i}]`);
    const name = text(pool['name'], `pools[${i}].name`);
    const nodes = list(pool['nodes'], `pools[${i}].nodes`).map((n, j) => machine(n, `pools[${i}].nodes[${j}]`));
    // An empty pool is rebuilt at the version it would give a new node.
    pools[name] = oldest(nodes) ?? machine(pool, `pools[${i}]`);
  });
  return { kubernetesVersion, controlPlaneImage: oldestControlPlane.machineImage, pools };
}

function machine(value: unknown, at: string): { kubeletVersion: string; machineImage: string } {
  const m = object(value, at);
  return {
    kubeletVersion: text(m['kubeletVersion'], `${at}.kubeletVersion`),
    machineImage: text(m['machineImage'], `${at}.machineImage`),
  };
}

function oldest<T extends { kubeletVersion: string }>(machines: readonly T[]): T | undefined {
  let found: T | undefined;
  for (const m of machines) {
    if (!found || compareVersions(parseVersion(m.kubeletVersion), parseVersion(found.kubeletVersion)) < 0) found = m;
  }
  return found;
}

function parseFleetState(value: unknown): FleetState {
  const root = object(value, 'the file');
  if (root['format'] !== FORMAT) throw new Error(`format ${String(root['format'])}, expected ${FORMAT}`);
  const clusters: Record<string, RecordedCluster> = {};
  for (const [name, entry] of Object.entries(object(root['clusters'], 'clusters'))) {
    const c = object(entry, `clusters.${name}`);
    const v = object(c['versions'], `clusters.${name}.versions`);
    const pools: Record<string, { kubeletVersion: string; machineImage: string }> = {};
    for (const [pool, p] of Object.entries(object(v['pools'], `clusters.${name}.versions.pools`))) {
      pools[pool] = machine(p, `clusters.${name}.versions.pools.${pool}`);
    }
    const port = c['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`clusters.${name}.port: not a port`);
    clusters[name] = {
      port,
      token: text(c['token'], `clusters.${name}.token`),
      versions: {
        kubernetesVersion: text(v['kubernetesVersion'], `clusters.${name}.versions.kubernetesVersion`),
        controlPlaneImage: text(v['controlPlaneImage'], `clusters.${name}.versions.controlPlaneImage`),
        pools,
      },
    };
  }
  return { clusters };
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${at}: not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${at}: not a list`);
  return value;
}

function text(value: unknown, at: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${at}: not a string`);
  return value;
}

function getJson(sim: SimEndpoint, path: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, sim.url),
      {
        method: 'GET',
        ca: sim.caCertPem,
        headers: { authorization: `Bearer ${sim.token}`, accept: 'application/json' },
        signal,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200)
            return reject(new Error(`GET ${path}: HTTP ${res.statusCode ?? '?'}: ${body.slice(0, 200)}`));
          try {
            resolve(JSON.parse(body) as unknown);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10s`)));
    req.on('error', reject);
    req.end();
  });
}
