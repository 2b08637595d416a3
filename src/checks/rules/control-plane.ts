/**
 * `control-plane`: kube-apiserver, kube-controller-manager and kube-scheduler run on every control-plane node,
 * Running and Ready, at versions the skew policy allows together (read from the static pods' images, as kubeadm
 * runs them). A managed control plane shows no such pods: then only `/version` is known, and the rule says so.
 *
 * @module
 */
import { parseImage } from '../images.ts';
import type { PodRecord } from '../snapshot-types.ts';
import type { Finding, ObjectRef, Rule } from '../types.ts';
import { skewViolations, tryParseVersion } from '../../versions/index.ts';

/** The control-plane components the rule looks for, as kubeadm labels their pods (`component=`). */
export const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/** One of {@link CONTROL_PLANE_COMPONENTS}, or etcd. */
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number] | 'etcd';

/** A control-plane component pod and the version its image says. */
export interface ComponentPod {
  readonly component: ControlPlaneComponent;
  readonly pod: PodRecord;
  /** The image tag without the `v` (`1.30.4`), when it reads as a version. */
  readonly version?: string;
}

/** The control-plane (and etcd) pods of kube-system, by their `component` label. */
export function componentPods(pods: readonly PodRecord[]): ComponentPod[] {
  const found: ComponentPod[] = [];
  for (const pod of pods) {
    if (pod.namespace !== 'kube-system') continue;
    const component = pod.labels['component'];
    if (component !== 'etcd' && !(CONTROL_PLANE_COMPONENTS as readonly string[]).includes(component ?? '')) continue;
    const image = pod.images?.[0];
    const tag = image === undefined ? undefined : parseImage(image).tag;
    const version =
      tag !== undefined && tryParseVersion(tag.replace(/-.*$/, ''))
        ? tag.replace(/^v/, '').replace(/-.*$/, '')
        : undefined;
    found.push({ component: component as ControlPlaneComponent, pod, ...(version !== undefined ? { version } : {}) });
  }
  return found;
}

const podRef = (pod: PodRecord): ObjectRef => ({ kind: 'Pod', namespace: pod.namespace, name: pod.name });

/** The rule. */
export const controlPlaneRule: Rule = {
  id: 'control-plane',
  title: 'Control-plane components present, healthy and at consistent versions',
  phases: ['precheck', 'postcheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    const pods = componentPods(snapshot.pods).filter((c) => c.component !== 'etcd' && c.pod.deletingAt === undefined);
    const cpNodes = snapshot.nodes.filter((n) => n.role === 'control-plane');
    if (pods.length === 0) {
      return [
        {
          rule: 'control-plane',
          severity: 'info',
          objects: [],
          message: `no control-plane component pods in kube-system (a managed control plane?): only /version (${snapshot.gitVersion ?? 'unknown'}) is checked`,
          remediation:
            'Nothing to do for a managed control plane; for a self-managed one, check that the static pods are mirrored (kubectl -n kube-system get pods -l tier=control-plane).',
        },
      ];
    }
    for (const node of cpNodes) {
      for (const component of CONTROL_PLANE_COMPONENTS) {
        if (pods.some((p) => p.component === component && p.pod.node === node.name)) continue;
        findings.push({
          rule: 'control-plane',
          severity: 'blocker',
          objects: [{ kind: 'Node', name: node.name }],
          message: `${component} is not running on control-plane node ${node.name} (no ${component} pod in kube-system)`,
          remediation: `Check the static pod manifest /etc/kubernetes/manifests/${component}.yaml and the kubelet on ${node.name}.`,
        });
      }
    }
    for (const { component, pod } of pods) {
      if (pod.phase === 'Running' && pod.ready) continue;
      findings.push({
        rule: 'control-plane',
        severity: 'blocker',
        objects: [podRef(pod)],
        message: `${component} pod ${pod.name} is ${pod.phase}${pod.ready ? '' : ', not Ready'}${pod.waitingReason ? ` (${pod.waitingReason})` : ''}`,
        remediation: `Find out why (kubectl -n kube-system describe pod ${pod.name}; logs on the node) and fix it before upgrading.`,
      });
    }
    const versionsOf = (component: ControlPlaneComponent): string[] =>
      pods.filter((p) => p.component === component && p.version !== undefined).map((p) => p.version ?? '');
    const apiservers = versionsOf('kube-apiserver');
    if (apiservers.length > 0) {
      for (const v of skewViolations(
        {
          apiservers,
          controllerManagers: versionsOf('kube-controller-manager'),
          schedulers: versionsOf('kube-scheduler'),
        },
        [],
      )) {
        findings.push({
          rule: 'control-plane',
          severity: 'blocker',
          objects: pods.filter((p) => p.component === v.component && p.version === v.version).map((p) => podRef(p.pod)),
          message: v.message,
          remediation:
            'Bring the control-plane components within the skew policy (finish or roll back the control-plane upgrade in progress) before starting another.',
        });
      }
    }
    for (const component of CONTROL_PLANE_COMPONENTS) {
      const distinct = [...new Set(versionsOf(component))];
      if (distinct.length <= 1) continue;
      findings.push({
        rule: 'control-plane',
        severity: 'warning',
        objects: pods.filter((p) => p.component === component).map((p) => podRef(p.pod)),
        message: `${component} instances run different versions (${distinct.sort().join(', ')}): a control-plane upgrade seems to be in progress`,
        remediation:
          'Finish (or roll back) the control-plane upgrade in progress so that every instance runs the same version.',
      });
    }
    return findings;
  },
};
