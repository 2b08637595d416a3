import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { Machine } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { cpuMillis, memoryBytes } from '../../k8s/quantity.ts';
import type { TestRuntime, TestRuntimeOptions } from '../testing/runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { createNamespace, createTestRuntime } from '../testing/runtime.ts';
import { kubeletSync, nodeObjectFor, startKubelets } from './kubelet.ts';

function machine(name: string, overrides: Partial<Machine> = {}): Machine {
  return {
    name,
    role: 'worker',
    pool: 'general',
    kubeletVersion: '1.30.4',
    machineImage: 'ubuntu-2204-kube-v1.30.4',
    capacity: { cpu: '4', memory: '16Gi', pods: 110 },
    labels: {},
    taints: [],
    state: 'running',
    health: 'healthy',
    readyAt: 0,
    ...overrides,
  };
}

/** Adds a machine and registers its Node, as the infrastructure does when a machine boots. */
function addMachine(rt: TestRuntime, name: string, overrides: Partial<Machine> = {}): Machine {
  const m = machine(name, { readyAt: rt.now(), ...overrides });
  rt.machines.set(name, m);
  rt.registry.create(kindDef('Node'), undefined, nodeObjectFor(m, rt));
  kubeletSync(rt, name);
  return m;
}

function createBoundPod(
  rt: TestRuntime,
  name: string,
  nodeName: string,
  spec: Record<string, unknown> = {},
): KubeObject {
  return rt.registry.create(kindDef('Pod'), 'default', {
    metadata: { name },
    spec: {
      nodeName,
      containers: [{ name: 'app', image: 'nginx:1.25', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
      ...spec,
    },
  });
}

function getPod(rt: TestRuntime, name: string): KubeObject | undefined {
  return rt.store.get('core/pods', 'default', name);
}

function condition(obj: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  const conditions = obj?.status?.['conditions'];
  return (Array.isArray(conditions) ? (conditions as unknown[]) : []).find(
    (c): c is Record<string, unknown> => isRecord(c) && c['type'] === type,
  );
}

function node(rt: TestRuntime, name: string): KubeObject {
  return rt.store.mustGet('core/nodes', undefined, name);
}

describe('nodeObjectFor', () => {
  const rt = createTestRuntime();
  after(() => rt.stop());

  it('builds a worker node as its kubelet registers it', () => {
    const built = nodeObjectFor(
      machine('general-0', { labels: { team: 'web' }, taints: [{ key: 'spot', value: 'true', effect: 'NoSchedule' }] }),
      rt,
    );
    assert.equal(built.metadata.name, 'general-0');
    assert.deepEqual(
      Object.fromEntries(
        ['kubernetes.io/hostname', 'kubernetes.io/os', 'kubernetes.io/arch', 'kup.dev/pool', 'team'].map((k) => [
          k,
          built.metadata.labels[k],
        ]),
      ),
      {
        'kubernetes.io/hostname': 'general-0',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kup.dev/pool': 'general',
        team: 'web',
      },
    );
    assert.ok(built.metadata.labels['node.kubernetes.io/instance-type']);
    assert.equal(built.metadata.labels['node-role.kubernetes.io/control-plane'], undefined);
    assert.deepEqual(built.spec['taints'], [{ key: 'spot', value: 'true', effect: 'NoSchedule' }]);
    assert.match(String(built.spec['podCIDR']), /^10\.\d+\.\d+\.0\/24$/);

    const status = built.status;
    const ready = (status['conditions'] as Record<string, unknown>[]).find((c) => c['type'] === 'Ready');
    assert.equal(ready?.['status'], 'True');
    assert.deepEqual(
      (status['conditions'] as Record<string, unknown>[]).map((c) => `${String(c['type'])}=${String(c['status'])}`),
      ['NetworkUnavailable=False', 'MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'],
    );
    const nodeInfo = status['nodeInfo'] as Record<string, string>;
    assert.equal(nodeInfo['kubeletVersion'], 'v1.30.4');
    assert.equal(nodeInfo['kubeProxyVersion'], 'v1.30.4');
    assert.equal(nodeInfo['osImage'], 'ubuntu-2204-kube-v1.30.4');
    assert.match(nodeInfo['containerRuntimeVersion'] ?? '', /^containerd:\/\/1\.7\./);
    for (const key of ['kernelVersion', 'machineID', 'systemUUID', 'bootID']) assert.ok(nodeInfo[key], key);
    assert.deepEqual([nodeInfo['operatingSystem'], nodeInfo['architecture']], ['linux', 'amd64']);
    const capacity = status['capacity'] as Record<string, string>;
    const allocatable = status['allocatable'] as Record<string, string>;
    assert.equal(cpuMillis(capacity['cpu'] ?? ''), 4000);
    assert.equal(memoryBytes(capacity['memory'] ?? ''), 16 * 2 ** 30);
    assert.ok(cpuMillis(allocatable['cpu'] ?? '') < 4000 && cpuMillis(allocatable['cpu'] ?? '') > 3800);
    assert.ok(memoryBytes(allocatable['memory'] ?? '') < 16 * 2 ** 30);
    assert.equal(allocatable['pods'], '110');
    const addresses = status['addresses'] as Record<string, string>[];
    assert.deepEqual(
      addresses.map((a) => a['type']),
      ['InternalIP', 'Hostname'],
    );
    assert.deepEqual(status['daemonEndpoints'], { kubeletEndpoint: { Port: 10250 } });
  });

  it('gives control-plane nodes their role label and taint, and 1.33 kubelets no kube-proxy version', () => {
    const cp = machine('control-plane-0', {
      role: 'control-plane',
      kubeletVersion: '1.33.1',
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    });
    delete cp.pool;
    const built = nodeObjectFor(cp, rt);
    assert.equal(built.metadata.labels['kup.dev/pool'], undefined);
    assert.equal(built.metadata.labels['node-role.kubernetes.io/control-plane'], '');
    assert.equal(built.metadata.labels['node.kubernetes.io/exclude-from-external-load-balancers'], '');
    assert.deepEqual(built.spec['taints'], [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    assert.equal((built.status['nodeInfo'] as Record<string, string>)['kubeProxyVersion'], '');
  });

  it('reports the container runtime its machine image ships', () => {
    const runtime = (image: string) =>
      (nodeObjectFor(machine(`rt-${image}`, { machineImage: image }), rt).status['nodeInfo'] as Record<string, string>)[
        'containerRuntimeVersion'
      ];
    assert.equal(runtime('ubuntu-2204-kube-v1.32.9'), 'containerd://1.7.22');
    assert.equal(runtime('ubuntu-2204-kube-v1.33.1'), 'containerd://2.1.4');
    assert.equal(runtime('ubuntu-2404-kube-v1.36.1'), 'containerd://2.1.4');
    assert.equal(runtime('ubuntu-2204-containerd-1.7.22'), 'containerd://1.7.22');
    assert.equal(runtime('flatcar-containerd-2.0.5'), 'containerd://2.0.5');
    assert.equal(runtime('gardenlinux-1592.6'), 'containerd://2.1.4');
  });

  it('registers a machine that is not ready NotReady, with the not-ready taint', () => {
    const built = nodeObjectFor(machine('sick-0', { health: 'never-ready' }), rt);
    const ready = (built.status['conditions'] as Record<string, unknown>[]).find((c) => c['type'] === 'Ready');
    assert.equal(ready?.['status'], 'False');
    assert.equal(ready?.['reason'], 'KubeletNotReady');
    assert.deepEqual(built.spec['taints'], [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
  });

  it('gives every node its own pod CIDR and address, stable per name', () => {
    const a = nodeObjectFor(machine('cidr-a'), rt);
    const b = nodeObjectFor(machine('cidr-b'), rt);
    assert.notEqual(a.spec['podCIDR'], b.spec['podCIDR']);
    assert.notDeepEqual(a.status['addresses'], b.status['addresses']);
    assert.equal(nodeObjectFor(machine('cidr-a'), rt).spec['podCIDR'], a.spec['podCIDR']);
  });
});

describe('kubelets', () => {
  let rt: TestRuntime;
  let stop: () => void = () => {};

  function start(options: TestRuntimeOptions = {}): void {
    rt = createTestRuntime(options);
    createNamespace(rt, 'default');
    createNamespace(rt, 'kube-node-lease');
    stop = startKubelets(rt);
  }

  afterEach(() => {
    stop();
    rt.stop();
  });

  it('starts a pod bound to a healthy node after podStart, with the status a kubelet posts', async () => {
    const clock = new ManualClock();
    start({ clock, timings: { podStart: 500, nodeHeartbeat: 1000, nodeMonitorGrace: 4000 } });
    addMachine(rt, 'n1');
    createBoundPod(rt, 'web', 'n1', {
      initContainers: [{ name: 'init', image: 'busybox' }],
    });
    await clock.advance(400);
    assert.equal(getPod(rt, 'web')?.status?.['phase'], 'Pending');
    await clock.advance(200);
    const pod = getPod(rt, 'web');
    const status = pod?.status ?? {};
    assert.equal(status['phase'], 'Running');
    assert.deepEqual(
      (status['conditions'] as Record<string, unknown>[]).map((c) => `${String(c['type'])}=${String(c['status'])}`),
      ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'],
    );
    const cidr = String(node(rt, 'n1').spec?.['podCIDR']);
    assert.ok(String(status['podIP']).startsWith(cidr.replace(/0\/24$/, '')), `${String(status['podIP'])} in ${cidr}`);
    assert.deepEqual(status['podIPs'], [{ ip: status['podIP'] }]);
    const internalIp = (node(rt, 'n1').status?.['addresses'] as Record<string, string>[])[0]?.['address'];
    assert.equal(status['hostIP'], internalIp);
    assert.equal(status['qosClass'], 'Burstable');
    assert.ok(status['startTime']);
    const [container] = status['containerStatuses'] as Record<string, unknown>[];
    assert.equal(container?.['name'], 'app');
    assert.equal(container?.['ready'], true);
    assert.equal(container?.['started'], true);
    assert.equal(container?.['restartCount'], 0);
    assert.equal(container?.['image'], 'docker.io/library/nginx:1.25');
    assert.match(String(container?.['imageID']), /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    assert.match(String(container?.['containerID']), /^containerd:\/\/[0-9a-f]{64}$/);
    assert.ok(isRecord(container?.['state']) && isRecord(container['state']['running']));
    const [init] = status['initContainerStatuses'] as Record<string, unknown>[];
    assert.equal(
      isRecord(init?.['state']) && isRecord(init['state']['terminated'])
        ? init['state']['terminated']['reason']
        : undefined,
      'Completed',
    );
  });

  it('gives pods on one node distinct IPs, the node IP to hostNetwork pods, and BestEffort/Guaranteed QoS', async () => {
    start();
    addMachine(rt, 'n1');
    createBoundPod(rt, 'a', 'n1', { containers: [{ name: 'app', image: 'pause' }] });
    createBoundPod(rt, 'b', 'n1', {
      containers: [{ name: 'app', image: 'pause', resources: { limits: { cpu: '1', memory: '1Gi' } } }],
    });
    createBoundPod(rt, 'host', 'n1', { hostNetwork: true });
    await rt.idle();
    const ip = (name: string) => getPod(rt, name)?.status?.['podIP'];
    assert.notEqual(ip('a'), ip('b'));
    assert.equal(ip('host'), getPod(rt, 'host')?.status?.['hostIP']);
    assert.equal(getPod(rt, 'a')?.status?.['qosClass'], 'BestEffort');
    assert.equal(getPod(rt, 'b')?.status?.['qosClass'], 'Guaranteed');
  });

  it('finishes a graceful deletion after min(grace period, podTermination) with the final delete', async () => {
    const clock = new ManualClock();
    start({ clock, timings: { podTermination: 5000 } });
    addMachine(rt, 'n1');
    createBoundPod(rt, 'short', 'n1');
    createBoundPod(rt, 'long', 'n1', { terminationGracePeriodSeconds: 30 });
    await rt.idle();
    assert.equal(getPod(rt, 'long')?.status?.['phase'], 'Running');
    rt.registry.delete(kindDef('Pod'), 'default', 'long', {});
    rt.registry.delete(kindDef('Pod'), 'default', 'short', { gracePeriodSeconds: 1 });
    await rt.idle();
    assert.ok(getPod(rt, 'long')?.metadata.deletionTimestamp, 'terminating, not gone');
    assert.ok(getPod(rt, 'short')?.metadata.deletionTimestamp, 'terminating, not gone');
    await clock.advance(900);
    assert.ok(getPod(rt, 'short'), 'still within its 1 s grace period');
    await clock.advance(200);
    assert.equal(getPod(rt, 'short'), undefined, 'a 1 s grace period ends before podTermination');
    assert.ok(getPod(rt, 'long'));
    await clock.advance(4000);
    assert.equal(getPod(rt, 'long'), undefined, 'podTermination caps the 30 s grace period');
  });

  it('leaves pods of a machine that is not ready Pending, posts NotReady, and starts them once it is healthy', async () => {
    start();
    const m = addMachine(rt, 'n1', { health: 'not-ready' });
    createBoundPod(rt, 'web', 'n1');
    await rt.idle();
    assert.equal(getPod(rt, 'web')?.status?.['phase'], 'Pending');
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'False');

    m.health = 'healthy';
    kubeletSync(rt, 'n1');
    await rt.idle();
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'True');
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['reason'], 'KubeletReady');
    assert.equal(getPod(rt, 'web')?.status?.['phase'], 'Running');

    // A graceful delete on a stopped machine is not finished: no kubelet runs the pod's containers.
    m.state = 'stopped';
    kubeletSync(rt, 'n1');
    rt.registry.delete(kindDef('Pod'), 'default', 'web', {});
    await rt.idle();
    assert.ok(getPod(rt, 'web')?.metadata.deletionTimestamp, 'a stopped machine does not finish its pods');
    m.state = 'running';
    kubeletSync(rt, 'n1');
    await rt.idle();
    assert.equal(getPod(rt, 'web'), undefined, 'finished once the kubelet is back');
  });

  it('renews the node Lease every heartbeat and re-posts an unchanged status only every 5 min (scaled)', async () => {
    const clock = new ManualClock();
    start({ clock, timings: { nodeHeartbeat: 1000, nodeMonitorGrace: 4000 } });
    const m = addMachine(rt, 'n1');
    await clock.advance(0);
    const lease = () => rt.store.mustGet('coordination.k8s.io/leases', 'kube-node-lease', 'n1');
    assert.equal(lease().spec?.['holderIdentity'], 'n1');
    assert.equal(lease().spec?.['leaseDurationSeconds'], 40);
    assert.equal(lease().metadata.ownerReferences?.[0]?.uid, node(rt, 'n1').metadata.uid);
    const renewals: unknown[] = [];
    const heartbeats: unknown[] = [];
    const unsubscribe = rt.store.subscribe((e) => {
      if (e.storage === 'coordination.k8s.io/leases') renewals.push(e.object.spec?.['renewTime']);
      if (e.storage === 'core/nodes') heartbeats.push(condition(e.object, 'Ready')?.['lastHeartbeatTime']);
    });
    // 5 min of a real cluster (40 s grace) is 30 s here (4 s grace).
    await clock.advance(60_000);
    assert.equal(renewals.length, 60, `renewals: ${renewals.length}`);
    assert.equal(new Set(renewals).size, 60);
    assert.match(String(renewals[0]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(heartbeats.length, 2, `node status writes in 60 s: ${heartbeats.length}`);
    assert.equal(new Set(heartbeats).size, 2);

    // A change is posted at once.
    m.health = 'not-ready';
    await clock.advance(1000);
    unsubscribe();
    assert.equal(heartbeats.length, 3);
    assert.equal(condition(node(rt, 'n1'), 'Ready')?.['status'], 'False');
  });

  it('reports a new kubelet version after an in-place upgrade', async () => {
    start();
    const m = addMachine(rt, 'n1');
    await rt.idle();
    m.kubeletVersion = '1.31.2';
    kubeletSync(rt, 'n1');
    await rt.idle();
    const nodeInfo = node(rt, 'n1').status?.['nodeInfo'] as Record<string, string>;
    assert.equal(nodeInfo['kubeletVersion'], 'v1.31.2');
    assert.equal(nodeInfo['kubeProxyVersion'], 'v1.31.2');
  });
});
