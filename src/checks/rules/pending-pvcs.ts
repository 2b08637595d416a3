/**
 * `pending-pvcs`: PersistentVolumeClaims that are not Bound. A pod that mounts one cannot start anywhere, so a
 * drain that moves it leaves it Pending.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const pendingPvcsRule: Rule = {
  id: 'pending-pvcs',
  title: 'PersistentVolumeClaims Bound',
  phases: ['precheck', 'postcheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    const users = new Map<string, string[]>();
    for (const pod of snapshot.pods) {
      for (const claim of pod.pvcs ?? []) {
        const key = `${pod.namespace}/${claim}`;
        users.set(key, [...(users.get(key) ?? []), pod.name]);
      }
    }
    for (const pvc of snapshot.pvcs) {
      if (pvc.phase === 'Bound') continue;
      const pods = users.get(`${pvc.namespace}/${pvc.name}`) ?? [];
      findings.push({
        rule: 'pending-pvcs',
        severity: 'warning',
        objects: [
          { kind: 'PersistentVolumeClaim', namespace: pvc.namespace, name: pvc.name },
          ...pods.map((name) => ({ kind: 'Pod', namespace: pvc.namespace, name })),
        ],
        message: `PersistentVolumeClaim ${pvc.namespace}/${pvc.name} is ${pvc.phase}${pvc.storageClass ? ` (storage class ${pvc.storageClass})` : ''}${pods.length > 0 ? `; used by ${pods.join(', ')}` : ''}`,
        remediation: `Find out why it is not bound (kubectl -n ${pvc.namespace} describe pvc ${pvc.name}: provisioner, storage class, capacity) or delete it if unused.`,
      });
    }
    return findings;
  },
};
