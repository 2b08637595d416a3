/**
 * The objects a scenario stands for, as a user (or kubeadm) would have applied them: the system add-ons kubeadm
 * installs, the scenario's workloads with their PodDisruptionBudgets, and the legacy objects last applied at an API
 * version a later release removes. Pure builders: build.ts writes them through the registry.
 */
import type { ObjectInput } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { LegacyObjectSpec, Scenario, WorkloadSpec } from '../scenario/types.ts';
import { SYSTEM_NAMESPACE } from './static-pods.ts';

/** An object to create, with the kind that picks its ResourceDef. */
export interface ObjectToCreate {
  kind: string;
  namespace?: string;
  object: ObjectInput;
}

/** The namespaces every cluster has. */
export const SYSTEM_NAMESPACES: readonly string[] = Object.freeze(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** The annotation `kubectl apply` keeps the applied object in. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Image of the CNI's node agent, by CNI name; other CNIs get `<name>/<name>:<version>`. */
const CNI_AGENTS: Record<string, { daemonSet: string; image: string; requests: Record<string, string> }> = {
  calico: { daemonSet: 'calico-node', image: 'docker.io/calico/node', requests: { cpu: '250m' } },
  cilium: { daemonSet: 'cilium', image: 'quay.io/cilium/cilium', requests: { cpu: '100m', memory: '10Mi' } },
  flannel: { daemonSet: 'kube-flannel-ds', image: 'docker.io/flannel/flannel', requests: { cpu: '100m', memory: '50Mi' } },
  weave: { daemonSet: 'weave-net', image: 'docker.io/weaveworks/weave-kube', requests: { cpu: '50m' } },
};

/** The DaemonSet name of the scenario's CNI node agent (`calico-node` for calico). */
export function cniDaemonSetName(cni: string): string {
  return CNI_AGENTS[cni]?.daemonSet ?? cni;
}

/** kube-proxy, the CNI agent, CoreDNS and the two Services every kubeadm cluster has. */
export function systemObjects(scenario: Scenario): ObjectToCreate[] {
  const version = scenario.kubernetesVersion.replace(/^v/, '');
  const cni = scenario.systemComponents.cni;
  const agent = CNI_AGENTS[cni.name] ?? { daemonSet: cni.name, image: `${cni.name}/${cni.name}`, requests: { cpu: '100m' } };
  const nodeAgentTolerations = [{ operator: 'Exists' }];
  const kubeProxyLabels = { 'k8s-app': 'kube-proxy' };
  const cniLabels = { 'k8s-app': agent.daemonSet };
  const dnsLabels = { 'k8s-app': 'kube-dns' };
  return [
    {
      kind: 'Service',
      namespace: 'default',
      object: {
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
      },
    },
    {
      kind: 'Service',
      namespace: SYSTEM_NAMESPACE,
      object: {
        metadata: { name: 'kube-dns', namespace: SYSTEM_NAMESPACE, labels: { ...dnsLabels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' } },
        spec: {
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10'],
          selector: dnsLabels,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
            { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
          ],
        },
      },
    },
    {
      kind: 'DaemonSet',
      namespace: SYSTEM_NAMESPACE,
      object: {
        metadata: { name: 'kube-proxy', namespace: SYSTEM_NAMESPACE, labels: kubeProxyLabels },
        spec: {
          selector: { matchLabels: kubeProxyLabels },
          template: {
            metadata: { labels: kubeProxyLabels },
            spec: {
              containers: [
                {
                  name: 'kube-proxy',
                  image: `registry.k8s.io/kube-proxy:v${version}`,
                  command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'],
                },
              ],
              hostNetwork: true,
              priorityClassName: 'system-node-critical',
              serviceAccountName: 'kube-proxy',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: nodeAgentTolerations,
            },
          },
        },
      },
    },
    {
      kind: 'DaemonSet',
      namespace: SYSTEM_NAMESPACE,
      object: {
        metadata: { name: agent.daemonSet, namespace: SYSTEM_NAMESPACE, labels: cniLabels },
        spec: {
          selector: { matchLabels: cniLabels },
          template: {
            metadata: { labels: cniLabels },
            spec: {
              containers: [{ name: agent.daemonSet, image: `${agent.image}:${cni.version}`, resources: { requests: agent.requests } }],
              hostNetwork: true,
              priorityClassName: 'system-node-critical',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: nodeAgentTolerations,
            },
          },
        },
      },
    },
    {
      kind: 'Deployment',
      namespace: SYSTEM_NAMESPACE,
      object: {
        metadata: { name: 'coredns', namespace: SYSTEM_NAMESPACE, labels: dnsLabels },
        spec: {
          replicas: 2,
          selector: { matchLabels: dnsLabels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } },
          template: {
            metadata: { labels: dnsLabels },
            spec: {
              containers: [
                {
                  name: 'coredns',
                  image: `registry.k8s.io/coredns/coredns:v${scenario.systemComponents.coreDnsVersion.replace(/^v/, '')}`,
                  args: ['-conf', '/etc/coredns/Corefile'],
                  resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } },
                },
              ],
              priorityClassName: 'system-cluster-critical',
              serviceAccountName: 'coredns',
              dnsPolicy: 'Default',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: [
                { key: 'CriticalAddonsOnly', operator: 'Exists' },
                { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
              ],
            },
          },
        },
      },
    },
  ];
}

/** The pod template of a workload: one container with its requests, and an emptyDir scratch volume if asked. */
function podSpec(w: WorkloadSpec): Record<string, unknown> {
  return {
    containers: [
      {
        name: w.name,
        image: w.image,
        resources: { requests: { cpu: w.requests.cpu, memory: w.requests.memory } },
        ...(w.emptyDir ? { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] } : {}),
      },
    ],
    ...(w.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
    ...(Object.keys(w.nodeSelector).length > 0 ? { nodeSelector: { ...w.nodeSelector } } : {}),
    ...(w.tolerations.length > 0 ? { tolerations: w.tolerations.map((t) => ({ ...t })) } : {}),
    terminationGracePeriodSeconds: w.terminationGracePeriodSeconds,
  };
}

/**
 * The objects of one workload: the PodDisruptionBudget first (named as the workload, selecting its pods) so that no
 * pod is ever unprotected, a headless Service for a StatefulSet (its `serviceName`), then the workload.
 */
export function workloadObjects(w: WorkloadSpec): ObjectToCreate[] {
  const out: ObjectToCreate[] = [];
  const metadata = { name: w.name, namespace: w.namespace, labels: { ...w.labels } };
  if (w.pdb) {
    const { minAvailable, maxUnavailable, unhealthyPodEvictionPolicy } = w.pdb;
    out.push({
      kind: 'PodDisruptionBudget',
      namespace: w.namespace,
      object: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: w.name, namespace: w.namespace, labels: { ...w.labels } },
        spec: {
          selector: { matchLabels: { ...w.labels } },
          ...(minAvailable !== undefined ? { minAvailable } : {}),
          ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
          ...(unhealthyPodEvictionPolicy !== undefined ? { unhealthyPodEvictionPolicy } : {}),
        },
      },
    });
  }
  const template = { metadata: { labels: { ...w.labels } }, spec: podSpec(w) };
  const selector = { matchLabels: { ...w.labels } };
  switch (w.kind) {
    case 'Deployment':
      out.push({ kind: 'Deployment', namespace: w.namespace, object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { replicas: w.replicas, selector, template } } });
      break;
    case 'StatefulSet':
      out.push({
        kind: 'Service',
        namespace: w.namespace,
        object: { apiVersion: 'v1', kind: 'Service', metadata, spec: { clusterIP: 'None', clusterIPs: ['None'], selector: { ...w.labels } } },
      });
      out.push({
        kind: 'StatefulSet',
        namespace: w.namespace,
        object: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata, spec: { replicas: w.replicas, serviceName: w.name, selector, template } },
      });
      break;
    case 'DaemonSet':
      out.push({ kind: 'DaemonSet', namespace: w.namespace, object: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: { selector, template } } });
      break;
    case 'Pod':
      out.push({
        kind: 'Pod',
        namespace: w.namespace,
        object: { apiVersion: 'v1', kind: 'Pod', metadata, spec: { ...podSpec(w), ...(w.node !== undefined ? { nodeName: w.node } : {}) } },
      });
      break;
  }
  return out;
}

/** JSON with object keys sorted, as Go marshals a map (what kubectl writes into last-applied-configuration). */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A legacy object as the API stores it: at the current version of its kind (the server converts on write), with
 * the `last-applied-configuration` annotation holding what `kubectl apply` sent at the OLD apiVersion. That
 * annotation is the evidence a deprecated-API check can find; nothing else on a live object shows the old version.
 */
export function legacyObject(spec: LegacyObjectSpec, namespaced: boolean): ObjectToCreate {
  const namespace = namespaced ? (spec.namespace ?? 'default') : undefined;
  const body: Record<string, unknown> = { ...(spec.fields ?? {}), ...(spec.spec !== undefined ? { spec: spec.spec } : {}) };
  const applied = {
    apiVersion: spec.apiVersion,
    kind: spec.kind,
    metadata: { annotations: {}, name: spec.name, ...(namespace !== undefined ? { namespace } : {}) },
    ...body,
  };
  return {
    kind: spec.kind,
    ...(namespace !== undefined ? { namespace } : {}),
    object: {
      ...structuredClone(body),
      kind: spec.kind,
      metadata: {
        name: spec.name,
        ...(namespace !== undefined ? { namespace } : {}),
        annotations: { [LAST_APPLIED_ANNOTATION]: `${sortedJson(applied)}\n` },
      },
    },
  };
}
