/**
 * The workload clusters of the Cluster API suite, as a user would write them: the in-memory backend of Cluster API's
 * Docker infrastructure provider (`DevCluster`, `DevMachineTemplate` with `spec.backend.inMemory`), a
 * KubeadmControlPlane and a MachineDeployment; or the same built from a ClusterClass through `spec.topology`.
 */

/** Provisioning times of the in-memory machines: short, so a replacement takes seconds. */
const IN_MEMORY = `
        inMemory:
          vm: {provisioning: {startupDuration: "3s", startupJitter: "0.2"}}
          node: {provisioning: {startupDuration: "1s", startupJitter: "0.2"}}
          apiServer: {provisioning: {startupDuration: "1s", startupJitter: "0.2"}}
          etcd: {provisioning: {startupDuration: "1s", startupJitter: "0.2"}}`;

/** Options of {@link classicCluster}. */
export interface ClusterManifestOptions {
  readonly namespace: string;
  readonly name: string;
  /** Kubernetes version, `1.35.0`. */
  readonly version: string;
  readonly controlPlaneReplicas: number;
  readonly workers: number;
}

/** A Cluster with a KubeadmControlPlane and one MachineDeployment `<name>-md-0`, all in memory. */
export function classicCluster(o: ClusterManifestOptions): string {
  return `
apiVersion: v1
kind: Namespace
metadata: {name: ${o.namespace}}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevCluster
metadata: {name: ${o.name}, namespace: ${o.namespace}}
spec:
  backend:
    inMemory: {}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: ${o.name}, namespace: ${o.namespace}}
spec:
  clusterNetwork:
    services: {cidrBlocks: ["10.128.0.0/12"]}
    pods: {cidrBlocks: ["192.168.0.0/16"]}
    serviceDomain: cluster.local
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevCluster, name: ${o.name}}
  controlPlaneRef: {apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: ${o.name}-cp}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachineTemplate
metadata: {name: ${o.name}-cp, namespace: ${o.namespace}}
spec:
  template:
    spec:
      backend:${IN_MEMORY}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata: {name: ${o.name}-cp, namespace: ${o.namespace}}
spec:
  replicas: ${o.controlPlaneReplicas}
  version: v${o.version}
  machineTemplate:
    spec:
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevMachineTemplate, name: ${o.name}-cp}
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        certSANs: [localhost, 127.0.0.1]
    initConfiguration:
      nodeRegistration: {criSocket: unix:///var/run/containerd/containerd.sock}
    joinConfiguration:
      nodeRegistration: {criSocket: unix:///var/run/containerd/containerd.sock}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachineTemplate
metadata: {name: ${o.name}-worker-a, namespace: ${o.namespace}}
spec:
  template:
    spec:
      backend:${IN_MEMORY}
---
apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfigTemplate
metadata: {name: ${o.name}-worker, namespace: ${o.namespace}}
spec:
  template:
    spec:
      joinConfiguration:
        nodeRegistration: {criSocket: unix:///var/run/containerd/containerd.sock}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata: {name: ${o.name}-md-0, namespace: ${o.namespace}}
spec:
  clusterName: ${o.name}
  replicas: ${o.workers}
  rollout:
    strategy:
      type: RollingUpdate
      rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    spec:
      clusterName: ${o.name}
      version: v${o.version}
      bootstrap:
        configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfigTemplate, name: ${o.name}-worker}
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevMachineTemplate, name: ${o.name}-worker-a}
`;
}

/**
 * A ClusterClass `in-memory` (as Cluster API's Docker provider ships one, without its health checks) and a Cluster
 * built from it: a control plane and one MachineDeployment `md-0`.
 */
export function topologyCluster(o: ClusterManifestOptions): string {
  const ns = o.namespace;
  return `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevClusterTemplate
metadata: {name: in-memory-cluster, namespace: ${ns}}
spec:
  template:
    spec:
      backend:
        inMemory: {}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlaneTemplate
metadata: {name: in-memory-control-plane, namespace: ${ns}}
spec:
  template:
    spec:
      kubeadmConfigSpec:
        clusterConfiguration:
          apiServer:
            certSANs: [localhost, 127.0.0.1]
        initConfiguration:
          nodeRegistration: {criSocket: unix:///var/run/containerd/containerd.sock}
        joinConfiguration:
          nodeRegistration: {criSocket: unix:///var/run/containerd/containerd.sock}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachineTemplate
metadata: {name: in-memory-control-plane, namespace: ${ns}}
spec:
  template:
    spec:
      backend:${IN_MEMORY}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachineTemplate
metadata: {name: in-memory-worker, namespace: ${ns}}
spec:
  template:
    spec:
      backend:${IN_MEMORY}
---
apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfigTemplate
metadata: {name: in-memory-worker, namespace: ${ns}}
spec:
  template:
    spec:
      joinConfiguration:
        nodeRegistration: {criSocket: unix:///var/run/containerd/containerd.sock}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: ClusterClass
metadata: {name: in-memory, namespace: ${ns}}
spec:
  controlPlane:
    machineInfrastructure:
      templateRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2, kind: DevMachineTemplate, name: in-memory-control-plane}
    templateRef: {apiVersion: controlplane.cluster.x-k8s.io/v1beta2, kind: KubeadmControlPlaneTemplate, name: in-memory-control-plane}
  infrastructure:
    templateRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2, kind: DevClusterTemplate, name: in-memory-cluster}
  workers:
    machineDeployments:
      - class: default-worker
        bootstrap:
          templateRef: {apiVersion: bootstrap.cluster.x-k8s.io/v1beta2, kind: KubeadmConfigTemplate, name: in-memory-worker}
        infrastructure:
          templateRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2, kind: DevMachineTemplate, name: in-memory-worker}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: ${o.name}, namespace: ${o.namespace}}
spec:
  clusterNetwork:
    services: {cidrBlocks: ["10.128.0.0/12"]}
    pods: {cidrBlocks: ["192.168.0.0/16"]}
    serviceDomain: cluster.local
  topology:
    classRef: {name: in-memory, namespace: ${o.namespace}}
    version: v${o.version}
    controlPlane: {replicas: ${o.controlPlaneReplicas}}
    workers:
      machineDeployments:
        - {class: default-worker, name: md-0, replicas: ${o.workers}}
`;
}
