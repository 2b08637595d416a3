/**
 * The demo fleet's clusters, as kube-sim scenarios chosen from the catalog: which versions are supported, expired,
 * or just before an API removal depends on the catalog and the date, so the fleet is computed, not written down.
 */
import type { Scenario } from '../kube-sim/scenario/types.ts';
import { scenarioFromObject } from '../kube-sim/scenario/parse.ts';
import type { Catalog } from '../versions/index.ts';
import type { MinorVersion } from '../versions/index.ts';
import { catalogOverview, compareMinors, formatMinor, parseMinor } from '../versions/index.ts';
import { DemoFleetError } from './errors.ts';

/** One cluster of the demo fleet. */
export interface DemoClusterSpec {
  /** Its name in kup's registry and in kube-sim. */
  readonly name: string;
  /** What it shows, one line. */
  readonly about: string;
  /** The cluster as first built (a restart rebuilds it at its recorded versions instead). */
  readonly scenario: Scenario;
}

/** The clusters of the demo fleet, in the order they are listed. */
export const DEMO_CLUSTER_NAMES = ['dev', 'staging', 'prod', 'legacy', 'expired'] as const;

const small = { cpu: '100m', memory: '128Mi' };
const daemonSet = (name: string, namespace: string) => ({
  kind: 'DaemonSet',
  name,
  namespace,
  requests: { cpu: '50m', memory: '64Mi' },
  tolerations: [{ operator: 'Exists' }],
});
const pool = (name: string, nodes: number, version: string, cpu = '4') => ({
  name,
  nodes,
  kubeletVersion: version,
  capacity: { cpu, memory: '16Gi', pods: 110 },
  labels: { 'node-class': name },
});

/**
 * The fleet for `catalog` at `now`: dev, 3 workers on the oldest supported minor; staging, 6 workers and prod, 3
 * control-plane nodes and two pools of 8 with workloads under PodDisruptionBudgets, both on the supported minor
 * before the newest; legacy, on the minor before the catalog's last API removal, with an object still applied at the
 * removed version (its precheck to the next minor has a blocker); expired, on the newest expired minor.
 *
 * @throws {DemoFleetError} KUP-DEMO-003 when the catalog has no supported or no expired minor, or no removed API.
 */
export function demoFleetSpec(catalog: Catalog, now: Date): readonly DemoClusterSpec[] {
  const minors = catalogOverview(catalog, now);
  // Newest first; a minor's latest release is its newest non-preview one.
  const supported = minors.filter((m) => m.classification === 'supported' && m.latest !== undefined);
  const expired = minors.filter((m) => m.classification === 'expired' && m.latest !== undefined);
  const oldestSupported = supported.at(-1)?.latest;
  const secondNewest = (supported[1] ?? supported[0])?.latest;
  const newestExpired = expired[0]?.latest;
  if (oldestSupported === undefined || secondNewest === undefined) {
    throw new DemoFleetError('catalog', 'the catalog has no supported Kubernetes minor for the demo fleet');
  }
  if (newestExpired === undefined)
    throw new DemoFleetError('catalog', 'the catalog has no expired Kubernetes minor for the demo fleet');
  const removal = lastRemoval(catalog);
  const beforeRemoval = minors.find(
    (m) => m.latest !== undefined && compareMinors(parseMinor(m.minor), removal.minorBefore) === 0,
  )?.latest;
  if (beforeRemoval === undefined) {
    throw new DemoFleetError(
      'catalog',
      `the catalog has no release of ${formatMinor(removal.minorBefore)}, the minor before the last API removal`,
    );
  }

  const shop = [
    {
      kind: 'Deployment',
      name: 'frontend',
      namespace: 'shop',
      replicas: 3,
      requests: small,
      pdb: { maxUnavailable: 1 },
    },
    { kind: 'Deployment', name: 'cart', namespace: 'shop', replicas: 2, requests: small, pdb: { minAvailable: 1 } },
    daemonSet('log-agent', 'logging'),
  ];
  return [
    {
      name: 'dev',
      about: `3 workers on ${oldestSupported}, the oldest supported minor`,
      scenario: scenario({
        name: 'dev',
        kubernetesVersion: oldestSupported,
        pools: [pool('workers', 3, oldestSupported)],
        workloads: shop,
      }),
    },
    {
      name: 'staging',
      about: `6 workers on ${secondNewest}`,
      scenario: scenario({
        name: 'staging',
        kubernetesVersion: secondNewest,
        pools: [pool('workers', 6, secondNewest)],
        workloads: [
          ...shop,
          {
            kind: 'Deployment',
            name: 'checkout',
            namespace: 'shop',
            replicas: 4,
            requests: small,
            pdb: { minAvailable: '50%' },
          },
        ],
      }),
    },
    {
      name: 'prod',
      about: `3 control-plane nodes and two pools of 8 on ${secondNewest}, workloads under PodDisruptionBudgets`,
      scenario: scenario({
        name: 'prod',
        kubernetesVersion: secondNewest,
        controlPlane: { nodes: 3 },
        pools: [pool('general', 8, secondNewest), pool('compute', 8, secondNewest, '8')],
        workloads: [
          {
            kind: 'Deployment',
            name: 'frontend',
            namespace: 'shop',
            replicas: 8,
            requests: small,
            pdb: { maxUnavailable: 1 },
          },
          {
            kind: 'Deployment',
            name: 'cart',
            namespace: 'shop',
            replicas: 4,
            requests: small,
            pdb: { minAvailable: 3 },
          },
          {
            kind: 'Deployment',
            name: 'checkout',
            namespace: 'shop',
            replicas: 6,
            requests: small,
            pdb: { minAvailable: '50%' },
          },
          {
            kind: 'StatefulSet',
            name: 'orders-db',
            namespace: 'shop',
            replicas: 3,
            requests: { cpu: '500m', memory: '1Gi' },
            nodeSelector: { 'node-class': 'compute' },
            pdb: { maxUnavailable: 1 },
          },
          {
            kind: 'Deployment',
            name: 'batch',
            namespace: 'jobs',
            replicas: 6,
            requests: { cpu: '1', memory: '1Gi' },
            nodeSelector: { 'node-class': 'compute' },
          },
          daemonSet('log-agent', 'logging'),
        ],
      }),
    },
    {
      name: 'legacy',
      about: `on ${beforeRemoval}, still applying ${removal.apiVersion} ${removal.kind}, removed in ${removal.removedIn}`,
      scenario: scenario({
        name: 'legacy',
        kubernetesVersion: beforeRemoval,
        pools: [pool('workers', 3, beforeRemoval)],
        workloads: shop,
        legacyObjects: [legacyObject(removal)],
      }),
    },
    {
      name: 'expired',
      about: `3 workers on ${newestExpired}, out of support`,
      scenario: scenario({
        name: 'expired',
        kubernetesVersion: newestExpired,
        pools: [pool('workers', 3, newestExpired)],
        workloads: shop,
      }),
    },
  ];
}

function scenario(obj: Record<string, unknown>): Scenario {
  return scenarioFromObject(obj, `demo fleet: ${String(obj['name'])}`);
}

interface Removal {
  readonly apiVersion: string;
  readonly kind: string;
  readonly removedIn: string;
  readonly minorBefore: MinorVersion;
}

/** The catalog's last API removal (the newest `removedIn`); kube-sim keeps objects of the ones it knows. */
function lastRemoval(catalog: Catalog): Removal {
  let last: Removal | undefined;
  for (const api of catalog.removedApis) {
    const removedIn = parseMinor(api.removedIn);
    if (last !== undefined && compareMinors(removedIn, parseMinor(last.removedIn)) <= 0) continue;
    last = {
      apiVersion: api.group ? `${api.group}/${api.version}` : api.version,
      kind: api.kind,
      removedIn: api.removedIn,
      minorBefore: { ...removedIn, minor: removedIn.minor - 1 },
    };
  }
  if (!last)
    throw new DemoFleetError('catalog', "the catalog lists no removed API for the demo fleet's legacy cluster");
  return last;
}

/** An object applied at the removed version, as kube-sim's scenario takes it. */
function legacyObject(removal: Removal): Record<string, unknown> {
  const base = { apiVersion: removal.apiVersion, kind: removal.kind, name: `legacy-${removal.kind.toLowerCase()}` };
  // The flow-control kinds are cluster-scoped and carry their rules beside `spec`; a namespaced kind gets one.
  if (removal.kind === 'FlowSchema') {
    return {
      ...base,
      spec: { priorityLevelConfiguration: { name: 'workload-low' }, matchingPrecedence: 1000, rules: [] },
    };
  }
  if (removal.kind === 'PriorityLevelConfiguration') return { ...base, spec: { type: 'Limited' } };
  return { ...base, namespace: 'default' };
}
