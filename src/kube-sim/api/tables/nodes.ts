/** `kubectl get nodes`: upstream printNode (STATUS from the Ready condition, ROLES from node-role labels). */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { bool, nameOf, obj, objs, str, stringMap } from './fields.ts';
import { compareBytes } from './labels.ts';
import { ageSince } from './time.ts';
import type { Printer, WireObject } from './types.ts';

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const LEGACY_ROLE_LABEL = 'kubernetes.io/role';

/** Nodes: NAME STATUS ROLES AGE VERSION, and wide INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME. */
export const nodePrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    AGE_COLUMN,
    column('Version', 'string', DOCS.nodeSystemInfo.kubeletVersion),
    column('Internal-IP', 'string', DOCS.nodeStatus.addresses, { priority: 1 }),
    column('External-IP', 'string', DOCS.nodeStatus.addresses, { priority: 1 }),
    column('OS-Image', 'string', DOCS.nodeSystemInfo.osImage, { priority: 1 }),
    column('Kernel-Version', 'string', DOCS.nodeSystemInfo.kernelVersion, { priority: 1 }),
    column('Container-Runtime', 'string', DOCS.nodeSystemInfo.containerRuntimeVersion, { priority: 1 }),
  ],
  printRow(node, { now }) {
    const status = obj(node.status);
    const info = obj(status.nodeInfo);
    const roles = nodeRoles(node).join(',');
    return {
      cells: [
        nameOf(node),
        nodeStatus(node).join(','),
        roles || '<none>',
        ageSince(obj(node.metadata).creationTimestamp, now),
        str(info.kubeletVersion),
        nodeAddress(status, 'InternalIP'),
        nodeAddress(status, 'ExternalIP'),
        str(info.osImage) || '<unknown>',
        str(info.kernelVersion) || '<unknown>',
        str(info.containerRuntimeVersion) || '<unknown>',
      ],
    };
  },
};

/** `Ready`, `NotReady` (False or Unknown) or `Unknown` (no Ready condition), then `SchedulingDisabled` if cordoned. */
function nodeStatus(node: WireObject): string[] {
  // Upstream keys conditions by type, so the last Ready condition wins.
  const ready = objs(obj(node.status).conditions).findLast((c) => c.type === 'Ready');
  const status = ready === undefined ? ['Unknown'] : [ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (bool(obj(node.spec).unschedulable)) status.push('SchedulingDisabled');
  return status;
}

/** findNodeRoles: `node-role.kubernetes.io/<role>` keys and the legacy `kubernetes.io/role=<role>`, sorted, unique. */
function nodeRoles(node: WireObject): string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(stringMap(obj(node.metadata).labels))) {
    if (key.startsWith(NODE_ROLE_PREFIX)) {
      const role = key.slice(NODE_ROLE_PREFIX.length);
      if (role.length > 0) roles.add(role);
    } else if (key === LEGACY_ROLE_LABEL && value !== '') {
      roles.add(value);
    }
  }
  return [...roles].sort(compareBytes);
}

function nodeAddress(status: WireObject, type: 'InternalIP' | 'ExternalIP'): string {
  const address = objs(status.addresses).find((a) => a.type === type);
  return address ? str(address.address) : '<none>';
}
