/** Services and Endpoints: upstream printService (with getServiceExternalIP, makePortString) and printEndpoints. */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { int, nameOf, obj, objs, str, strs } from './fields.ts';
import { compareBytes, formatLabels } from './labels.ts';
import { ageSince } from './time.ts';
import type { Printer, WireObject } from './types.ts';

/** Services: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, and wide SELECTOR. */
export const servicePrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Type', 'string', DOCS.serviceSpec.type),
    column('Cluster-IP', 'string', DOCS.serviceSpec.clusterIP),
    column('External-IP', 'string', DOCS.serviceSpec.externalIPs),
    column('Port(s)', 'string', DOCS.serviceSpec.ports),
    AGE_COLUMN,
    column('Selector', 'string', DOCS.serviceSpec.selector, { priority: 1 }),
  ],
  printRow(svc, { now }) {
    const spec = obj(svc.spec);
    // type defaults to ClusterIP when stored; v1 clients may set only clusterIP, which conversion puts in clusterIPs.
    const type = str(spec.type) || 'ClusterIP';
    const clusterIP = strs(spec.clusterIPs)[0] ?? str(spec.clusterIP);
    return {
      cells: [
        nameOf(svc),
        type,
        clusterIP || '<none>',
        externalIP(svc, type),
        portString(objs(spec.ports)) || '<none>',
        ageSince(obj(svc.metadata).creationTimestamp, now),
        formatLabels(spec.selector),
      ],
    };
  },
};

/**
 * getServiceExternalIP. The apiserver prints with Wide set, so load-balancer addresses are never clipped to 16
 * characters (that only happens in kubectl's own printing of objects it has locally).
 */
function externalIP(svc: WireObject, type: string): string {
  const spec = obj(svc.spec);
  const externalIPs = strs(spec.externalIPs);
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lbIPs = loadBalancerIPs(obj(obj(svc.status).loadBalancer));
      if (externalIPs.length > 0) return [...lbIPs, ...externalIPs].join(',');
      return lbIPs.length > 0 ? lbIPs.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

/** loadBalancerStatusStringer: each ingress's IP, else its hostname; sorted, unique. */
function loadBalancerIPs(loadBalancer: WireObject): string[] {
  const result = new Set<string>();
  for (const ingress of objs(loadBalancer.ingress)) {
    const ip = str(ingress.ip);
    const hostname = str(ingress.hostname);
    if (ip !== '') result.add(ip);
    else if (hostname !== '') result.add(hostname);
  }
  return [...result].sort(compareBytes);
}

/** makePortString: `80/TCP`, or `80:30080/TCP` with a node port. */
function portString(ports: WireObject[]): string {
  return ports
    .map((p) => {
      // protocol defaults to TCP when stored.
      const protocol = str(p.protocol) || 'TCP';
      const nodePort = int(p.nodePort);
      return nodePort > 0 ? `${int(p.port)}:${nodePort}/${protocol}` : `${int(p.port)}/${protocol}`;
    })
    .join(',');
}

/** Endpoints: NAME ENDPOINTS AGE. */
export const endpointsPrinter: Printer = {
  columnDefinitions: [NAME_COLUMN, column('Endpoints', 'string', DOCS.endpoints.subsets), AGE_COLUMN],
  printRow(endpoints, { now }) {
    return {
      cells: [nameOf(endpoints), formatEndpoints(endpoints), ageSince(obj(endpoints.metadata).creationTimestamp, now)],
    };
  },
};

/** formatEndpoints with all ports: up to three `ip:port`, then ` + N more...`. */
function formatEndpoints(endpoints: WireObject): string {
  const subsets = objs(endpoints.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const shown: string[] = [];
  let more = false;
  let count = 0;
  const add = (entry: string): boolean => {
    if (shown.length === max) {
      more = true;
      return false;
    }
    shown.push(entry);
    return true;
  };
  for (const subset of subsets) {
    const addresses = objs(subset.addresses);
    const ports = objs(subset.ports);
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length;
      for (const address of addresses) if (!add(str(address.ip))) break;
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const address of addresses) if (!add(joinHostPort(str(address.ip), int(port.port)))) break;
    }
  }
  const joined = shown.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

/** net.JoinHostPort: IPv6 hosts go in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
