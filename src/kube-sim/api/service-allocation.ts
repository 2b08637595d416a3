/**
 * The Service REST storage's allocators: a cluster IP from the service CIDR (10.96.0.0/12, the kubeadm default;
 * 10.96.0.1 is the `kubernetes` Service's), node ports from 30000-32767, and the IP family fields of a single-stack
 * IPv4 cluster. An update that leaves these out keeps what was allocated, as the real registry patches them in.
 */
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { StatusCause } from './status.ts';
import { invalidValue } from './validation/field-errors.ts';

const CIDR = '10.96.0.0/12';
const CIDR_BASE = (10 << 24) | (96 << 16);
const CIDR_SIZE = 1 << 20;
/** Below this offset the addresses are left to the `kubernetes` and DNS Services, as on a kubeadm cluster. */
const FIRST_DYNAMIC = 11;
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

type Spec = Record<string, unknown>;

/** The outcome of allocating: the spec to store, or the causes that refuse it. */
export type Allocation = { spec: Spec } | { causes: StatusCause[] };

function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Fills in a Service's cluster IP, IP families and node ports (create, or update from `old`), checking what the
 * client asked for against what `others` (every other stored Service) hold.
 */
export function allocateService(spec: Spec, old: Spec | undefined, others: Iterable<KubeObject>): Allocation {
  const next: Spec = { ...spec };
  const type = next['type'];
  if (type === 'ExternalName') {
    for (const field of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) delete next[field];
    return { spec: next };
  }
  const keptFromOld = old && old['type'] !== 'ExternalName';
  if (keptFromOld && next['clusterIP'] === undefined && next['clusterIPs'] === undefined) {
    next['clusterIP'] = old['clusterIP'];
    next['clusterIPs'] = old['clusterIPs'];
  }
  if (keptFromOld) {
    for (const field of ['ipFamilies', 'ipFamilyPolicy']) if (next[field] === undefined) next[field] = old[field];
  }
  const usedIps = new Set<number>();
  const usedPorts = new Set<number>();
  for (const svc of others) {
    const ip = typeof svc.spec?.['clusterIP'] === 'string' ? ipToNumber(svc.spec['clusterIP']) : undefined;
    if (ip !== undefined) usedIps.add(ip);
    for (const p of Array.isArray(svc.spec?.['ports']) ? svc.spec['ports'] : []) {
      if (isRecord(p) && typeof p['nodePort'] === 'number') usedPorts.add(p['nodePort']);
    }
  }
  const causes: StatusCause[] = [];
  const asked: unknown =
    typeof next['clusterIP'] === 'string' && next['clusterIP'] !== ''
      ? next['clusterIP']
      : Array.isArray(next['clusterIPs'])
        ? (next['clusterIPs'] as unknown[])[0]
        : undefined;
  if (asked === 'None') {
    next['clusterIP'] = 'None';
    next['clusterIPs'] = ['None'];
  } else if (typeof asked === 'string' && asked !== '') {
    const n = ipToNumber(asked);
    const unchanged = old && old['clusterIP'] === asked;
    if (n === undefined) {
      // Syntax is validation's to report.
    } else if (n - CIDR_BASE < 0 || n - CIDR_BASE >= CIDR_SIZE) {
      causes.push(
        invalidValue(
          'spec.clusterIPs',
          [asked],
          `failed to allocate IP ${asked}: the provided IP (${asked}) is not in the valid range. The range of valid IPs is ${CIDR}`,
        ),
      );
    } else if (!unchanged && usedIps.has(n)) {
      causes.push(
        invalidValue('spec.clusterIPs', [asked], `failed to allocate IP ${asked}: provided IP is already allocated`),
      );
    }
    next['clusterIP'] = asked;
    next['clusterIPs'] = [asked];
  } else {
    let offset = FIRST_DYNAMIC;
    while (offset < CIDR_SIZE - 1 && usedIps.has(CIDR_BASE + offset)) offset++;
    const ip = numberToIp(CIDR_BASE + offset);
    next['clusterIP'] = ip;
    next['clusterIPs'] = [ip];
  }
  if (next['ipFamilies'] === undefined) next['ipFamilies'] = ['IPv4'];
  if (next['ipFamilyPolicy'] === undefined) next['ipFamilyPolicy'] = 'SingleStack';

  const wantsNodePorts =
    type === 'NodePort' || (type === 'LoadBalancer' && next['allocateLoadBalancerNodePorts'] !== false);
  if (Array.isArray(next['ports'])) {
    const oldPorts = old && Array.isArray(old['ports']) ? old['ports'].filter(isRecord) : [];
    next['ports'] = next['ports'].map((p: unknown, i) => {
      if (!isRecord(p)) return p;
      if (!wantsNodePorts) return p;
      let nodePort = p['nodePort'];
      if (nodePort === undefined || nodePort === 0) {
        const previous = oldPorts.find(
          (o) => o['port'] === p['port'] && (o['protocol'] ?? 'TCP') === (p['protocol'] ?? 'TCP'),
        );
        nodePort = previous?.['nodePort'];
      }
      const mine = new Set(oldPorts.map((o) => o['nodePort']));
      if (typeof nodePort === 'number' && nodePort !== 0) {
        if (nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX) {
          causes.push(
            invalidValue(
              `spec.ports[${i}].nodePort`,
              nodePort,
              `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
            ),
          );
        } else if (usedPorts.has(nodePort) && !mine.has(nodePort)) {
          causes.push(invalidValue(`spec.ports[${i}].nodePort`, nodePort, 'provided port is already allocated'));
        }
        usedPorts.add(nodePort);
        return { ...p, nodePort };
      }
      let port = NODE_PORT_MIN;
      while (port < NODE_PORT_MAX && usedPorts.has(port)) port++;
      usedPorts.add(port);
      return { ...p, nodePort: port };
    });
  }
  return causes.length > 0 ? { causes } : { spec: next };
}
