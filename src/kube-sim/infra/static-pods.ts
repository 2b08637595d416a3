/**
 * The control-plane static pods as the API sees them: mirror pods that the kubelet of a control-plane node posts for
 * the manifests kubeadm writes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler). kubectl drain skips
 * them by the `kubernetes.io/config.mirror` annotation; they are owned by their Node, as real mirror pods are.
 */
import { createHash } from 'node:crypto';
import { rfc3339 } from '../api/registry.ts';
import type { KubeObject, ObjectInput } from '../model/wire.ts';
import type { ControlPlaneComponents, Machine, SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { etcdImageTag } from './versions.ts';

/** A control-plane component run as a static pod. */
export type ControlPlaneComponent = keyof ControlPlaneComponents;

/** The components in the order `kubeadm upgrade` moves them. */
export const CONTROL_PLANE_COMPONENTS: readonly ControlPlaneComponent[] = Object.freeze([
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
]);

/** The namespace of the static pods and the system add-ons. */
export const SYSTEM_NAMESPACE = 'kube-system';

/** Name of a component's mirror pod on a node: `kube-apiserver-<node>`. */
export function staticPodName(component: ControlPlaneComponent, node: string): string {
  return `${component}-${node}`;
}

/** The image of a component at a version (etcd's own version for etcd). */
export function staticPodImage(component: ControlPlaneComponent, version: string): string {
  return component === 'etcd' ? `registry.k8s.io/etcd:${etcdImageTag(version)}` : `registry.k8s.io/${component}:v${version.replace(/^v/, '')}`;
}

/** CPU each component requests in kubeadm's manifests. */
const REQUESTS: Record<ControlPlaneComponent, Record<string, string>> = {
  etcd: { cpu: '100m', memory: '100Mi' },
  'kube-apiserver': { cpu: '250m' },
  'kube-controller-manager': { cpu: '200m' },
  'kube-scheduler': { cpu: '100m' },
};

function command(component: ControlPlaneComponent, ip: string): string[] {
  switch (component) {
    case 'etcd':
      return ['etcd', `--advertise-client-urls=https://${ip}:2379`, '--data-dir=/var/lib/etcd', `--listen-client-urls=https://127.0.0.1:2379,https://${ip}:2379`];
    case 'kube-apiserver':
      return ['kube-apiserver', `--advertise-address=${ip}`, '--etcd-servers=https://127.0.0.1:2379', '--secure-port=6443', '--service-cluster-ip-range=10.96.0.0/12'];
    case 'kube-controller-manager':
      return ['kube-controller-manager', '--cluster-cidr=10.244.0.0/16', '--leader-elect=true', '--use-service-account-credentials=true'];
    case 'kube-scheduler':
      return ['kube-scheduler', '--kubeconfig=/etc/kubernetes/scheduler.conf', '--leader-elect=true'];
  }
}

/** The node's InternalIP, as the kubelet reported it. */
function internalIp(node: KubeObject | undefined): string {
  const addresses = node?.status?.['addresses'];
  if (Array.isArray(addresses)) {
    for (const a of addresses as unknown[]) {
      if (typeof a === 'object' && a !== null && (a as Record<string, unknown>)['type'] === 'InternalIP') {
        const address = (a as Record<string, unknown>)['address'];
        if (typeof address === 'string') return address;
      }
    }
  }
  return '10.0.0.1';
}

/** The mirror pod of `component` on a control-plane machine, Running and Ready (the kubelet posts it once it runs). */
export function staticPodObject(runtime: SimRuntime, machine: Machine, component: ControlPlaneComponent): ObjectInput {
  const node = runtime.store.get('core/nodes', undefined, machine.name);
  const version = machine.components?.[component] ?? machine.kubeletVersion;
  const image = staticPodImage(component, version);
  const ip = internalIp(node);
  const now = rfc3339(runtime.now());
  // The kubelet names a static pod's config by a hash of its manifest; a new image is a new manifest.
  const hash = createHash('md5').update(`${component}\n${machine.name}\n${image}`).digest('hex');
  const name = staticPodName(component, machine.name);
  const annotations: Record<string, string> = {
    'kubernetes.io/config.hash': hash,
    'kubernetes.io/config.mirror': hash,
    'kubernetes.io/config.seen': new Date(runtime.now()).toISOString(),
    'kubernetes.io/config.source': 'file',
  };
  if (component === 'kube-apiserver') annotations['kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint'] = `${ip}:6443`;
  if (component === 'etcd') annotations['kubeadm.kubernetes.io/etcd.advertise-client-urls'] = `https://${ip}:2379`;
  const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: SYSTEM_NAMESPACE,
      labels: { component, tier: 'control-plane' },
      annotations,
      ...(node
        ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: machine.name, uid: node.metadata.uid, controller: true }] }
        : {}),
    },
    spec: {
      nodeName: machine.name,
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      priority: 2_000_001_000,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
      containers: [{ name: component, image, command: command(component, ip), resources: { requests: REQUESTS[component] } }],
    },
    status: {
      phase: 'Running',
      conditions: [condition('PodReadyToStartContainers'), condition('Initialized'), condition('Ready'), condition('ContainersReady'), condition('PodScheduled')],
      hostIP: ip,
      hostIPs: [{ ip }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: 'Burstable',
      containerStatuses: [
        {
          name: component,
          image,
          imageID: `${image.replace(/:[^:]*$/, '')}@sha256:${createHash('sha256').update(image).digest('hex')}`,
          containerID: `containerd://${createHash('sha256').update(`${hash}${runtime.now()}`).digest('hex')}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        },
      ],
    },
  };
}

/** Creates (or, when it exists, recreates with a new UID) a component's mirror pod, as a kubelet does on a manifest change. */
export function writeStaticPod(runtime: SimRuntime, machine: Machine, component: ControlPlaneComponent): KubeObject {
  removeStaticPod(runtime, machine.name, component);
  return runtime.registry.create(kindDef('Pod'), SYSTEM_NAMESPACE, staticPodObject(runtime, machine, component));
}

/** Removes a component's mirror pod at once (the kubelet stopped the static pod). */
export function removeStaticPod(runtime: SimRuntime, node: string, component: ControlPlaneComponent): void {
  const name = staticPodName(component, node);
  if (runtime.store.get('core/pods', SYSTEM_NAMESPACE, name)) {
    runtime.registry.delete(kindDef('Pod'), SYSTEM_NAMESPACE, name, { gracePeriodSeconds: 0 });
  }
}
