import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { Machine } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { ContainerFaultRule } from '../scenario/types.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { createNamespace, createTestRuntime } from '../testing/runtime.ts';
import { containerFaultFor } from './container-faults.ts';
import { kubeletSync, nodeObjectFor, startKubelets } from './kubelet.ts';

const TIMINGS = { nodeHeartbeat: 1000, nodeMonitorGrace: 4000, podStart: 0, podTermination: 1000 };

function addMachine(rt: TestRuntime, name: string, kubeletVersion = '1.30.4'): Machine {
  const m: Machine = {
    name,
    role: 'worker',
    pool: 'general',
    kubeletVersion,
    machineImage: `ubuntu-2204-kube-v${kubeletVersion}`,
    capacity: { cpu: '4', memory: '16Gi', pods: 110 },
    labels: {},
    taints: [],
    state: 'running',
    health: 'healthy',
    readyAt: rt.now(),
  };
  rt.machines.set(name, m);
  rt.registry.create(kindDef('Node'), undefined, nodeObjectFor(m, rt));
  kubeletSync(rt, name);
  return m;
}

function createPod(rt: TestRuntime, name: string, image: string, spec: Record<string, unknown> = {}): void {
  rt.registry.create(kindDef('Pod'), 'default', {
    metadata: { name },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'app', image },
        { name: 'sidecar', image: 'envoyproxy/envoy:v1.31' },
      ],
      ...spec,
    },
  });
}

function pod(rt: TestRuntime, name: string): KubeObject {
  return rt.store.mustGet('core/pods', 'default', name);
}

function container(p: KubeObject, name = 'app'): Record<string, unknown> {
  const statuses = p.status?.['containerStatuses'];
  const found = (Array.isArray(statuses) ? (statuses as unknown[]) : []).find(
    (c): c is Record<string, unknown> => isRecord(c) && c['name'] === name,
  );
  assert.ok(found, `container ${name} has a status`);
  return found;
}

/** `waiting:Reason`, `running` or `terminated:Reason` of a container. */
function stateOf(p: KubeObject, name = 'app'): string {
  const state = container(p, name)['state'];
  assert.ok(isRecord(state));
  if (isRecord(state['waiting'])) return `waiting:${String(state['waiting']['reason'])}`;
  if (isRecord(state['terminated'])) return `terminated:${String(state['terminated']['reason'])}`;
  return Object.keys(state).join(',');
}

function condition(p: KubeObject, type: string): Record<string, unknown> | undefined {
  const conditions = p.status?.['conditions'];
  return (Array.isArray(conditions) ? (conditions as unknown[]) : []).find(
    (c): c is Record<string, unknown> => isRecord(c) && c['type'] === type,
  );
}

describe('containerFaultFor', () => {
  it('matches rules by glob on the image as written or as containerd names it, and by kubelet version', () => {
    const rules: ContainerFaultRule[] = [
      { image: '*:broken', failure: 'image-pull' },
      { image: 'docker.io/library/redis:*', failure: 'crash-loop', minKubeletVersion: '1.31' },
    ];
    assert.equal(containerFaultFor(rules, 'nginx:broken', '1.30.4')?.failure, 'image-pull');
    assert.equal(containerFaultFor(rules, 'nginx:1.27', '1.30.4'), undefined);
    assert.equal(containerFaultFor(rules, 'redis', '1.30.9'), undefined, 'only from kubelet 1.31');
    assert.equal(containerFaultFor(rules, 'redis', '1.31.0')?.failure, 'crash-loop');
    assert.equal(containerFaultFor(rules, 'redis:7', 'v1.32.1')?.failure, 'crash-loop');
  });
});

describe('container faults', () => {
  let rt: TestRuntime;
  let clock: ManualClock;
  let stopKubelets: () => void = () => undefined;

  function start(rules: ContainerFaultRule[]): void {
    clock = new ManualClock();
    rt = createTestRuntime({ clock, timings: TIMINGS, faults: { containerFaults: rules } });
    createNamespace(rt, 'default');
    createNamespace(rt, 'kube-node-lease');
    stopKubelets = startKubelets(rt);
  }

  afterEach(() => {
    stopKubelets();
    rt.stop();
  });

  it('shows ErrImagePull, then ImagePullBackOff, pulling again after 10 s doubling; the pod stays Pending', async () => {
    start([{ image: '*:no-such-tag', failure: 'image-pull' }]);
    addMachine(rt, 'n1');
    createPod(rt, 'web', 'nginx:no-such-tag');
    await clock.advance(0);
    let p = pod(rt, 'web');
    assert.equal(p.status?.['phase'], 'Pending');
    assert.equal(stateOf(p), 'waiting:ErrImagePull');
    assert.match(
      String((container(p)['state'] as { waiting: { message: string } }).waiting.message),
      /failed to pull and unpack image "docker\.io\/library\/nginx:no-such-tag".*not found$/,
    );
    assert.equal(container(p)['ready'], false);
    assert.equal(stateOf(p, 'sidecar'), 'running', 'the other container runs');
    assert.deepEqual(
      [condition(p, 'Ready')?.['status'], condition(p, 'Ready')?.['reason'], condition(p, 'Ready')?.['message']],
      ['False', 'ContainersNotReady', 'containers with unready status: [app]'],
    );
    assert.equal(condition(p, 'ContainersReady')?.['status'], 'False');
    assert.match(String(p.status?.['podIP']), /^10\.244\.\d+\.\d+$/);

    await clock.advance(1000);
    p = pod(rt, 'web');
    assert.equal(stateOf(p), 'waiting:ImagePullBackOff');
    assert.equal(
      (container(p)['state'] as { waiting: { message: string } }).waiting.message,
      'Back-off pulling image "nginx:no-such-tag"',
    );
    await clock.advance(8900);
    assert.equal(stateOf(pod(rt, 'web')), 'waiting:ImagePullBackOff', 'still backing off at 9.9 s');
    await clock.advance(100);
    assert.equal(stateOf(pod(rt, 'web')), 'waiting:ErrImagePull', 'pulled again at 10 s');
    await clock.advance(1000);
    assert.equal(stateOf(pod(rt, 'web')), 'waiting:ImagePullBackOff');
    await clock.advance(18_900);
    assert.equal(stateOf(pod(rt, 'web')), 'waiting:ImagePullBackOff', 'the second back-off is 20 s');
    await clock.advance(100);
    assert.equal(stateOf(pod(rt, 'web')), 'waiting:ErrImagePull');
    const reasons = rt.events.filter((e) => e.object === 'Pod/default/web').map((e) => `${e.reason}: ${e.message}`);
    assert.ok(reasons.includes('Pulling: Pulling image "nginx:no-such-tag"'));
    assert.ok(reasons.includes('BackOff: Back-off pulling image "nginx:no-such-tag"'));
    assert.ok(reasons.includes('Failed: Error: ImagePullBackOff'));

    // The image is pushed: the next pull (40 s later) succeeds and the pod runs.
    rt.faults.containerFaults.splice(0);
    await clock.advance(40_000);
    p = pod(rt, 'web');
    assert.equal(p.status?.['phase'], 'Running');
    assert.equal(stateOf(p), 'running');
    assert.equal(condition(p, 'Ready')?.['status'], 'True');
  });

  it('backs off pulls at most 5 minutes apart', async () => {
    start([{ image: 'nginx:gone', failure: 'image-pull' }]);
    addMachine(rt, 'n1');
    createPod(rt, 'web', 'nginx:gone');
    await clock.advance(0);
    // 10 + 20 + 40 + 80 + 160 s: the sixth pull at 310 s, then every 300 s.
    await clock.advance(310_000 + 1000);
    const pulls = () => rt.events.filter((e) => e.reason === 'Pulling').length;
    assert.equal(pulls(), 6);
    await clock.advance(298_000);
    assert.equal(pulls(), 6, 'not yet at 609 s');
    await clock.advance(1000);
    assert.equal(pulls(), 7);
  });

  it('crash-loops: exits with an error, waits in CrashLoopBackOff, restarts with restartCount growing', async () => {
    start([{ image: 'shop/cart:2.0', failure: 'crash-loop', exitCode: 2 }]);
    addMachine(rt, 'n1');
    createPod(rt, 'cart', 'shop/cart:2.0');
    await clock.advance(0);
    let p = pod(rt, 'cart');
    assert.equal(p.status?.['phase'], 'Running');
    assert.equal(stateOf(p), 'running');
    assert.equal(container(p)['ready'], false, 'never ready while it crash-loops');
    assert.equal(condition(p, 'Ready')?.['status'], 'False');

    await clock.advance(1000);
    p = pod(rt, 'cart');
    assert.equal(stateOf(p), 'waiting:CrashLoopBackOff');
    assert.equal(container(p)['restartCount'], 0);
    const last = (container(p)['lastState'] as { terminated: Record<string, unknown> }).terminated;
    assert.equal(last['exitCode'], 2);
    assert.equal(last['reason'], 'Error');
    assert.equal(
      (container(p)['state'] as { waiting: { message: string } }).waiting.message,
      `back-off 10s restarting failed container=app pod=cart_default(${p.metadata.uid})`,
    );
    await clock.advance(10_000);
    p = pod(rt, 'cart');
    assert.equal(stateOf(p), 'running');
    assert.equal(container(p)['restartCount'], 1);
    await clock.advance(1000);
    assert.match(
      String((container(pod(rt, 'cart'))['state'] as { waiting: { message: string } }).waiting.message),
      /^back-off 20s /,
    );
    await clock.advance(20_000);
    assert.equal(container(pod(rt, 'cart'))['restartCount'], 2);
    assert.equal(stateOf(pod(rt, 'cart'), 'sidecar'), 'running');
    assert.ok(
      rt.events.some((e) => e.reason === 'BackOff' && e.message.startsWith('Back-off restarting failed container app')),
    );

    // Fixed: the next restart runs for good, and the history stays.
    rt.faults.containerFaults.splice(0);
    await clock.advance(1000 + 40_000);
    p = pod(rt, 'cart');
    assert.equal(stateOf(p), 'running');
    assert.equal(container(p)['ready'], true);
    assert.equal(container(p)['restartCount'], 3);
    assert.equal(condition(p, 'Ready')?.['status'], 'True');
  });

  it('under restartPolicy Never, a crashing container stays terminated and the pod fails', async () => {
    start([{ image: 'batch/*', failure: 'crash-loop', exitAfterMs: 5000 }]);
    addMachine(rt, 'n1');
    rt.registry.create(kindDef('Pod'), 'default', {
      metadata: { name: 'once' },
      spec: { nodeName: 'n1', restartPolicy: 'Never', containers: [{ name: 'app', image: 'batch/report:1' }] },
    });
    await clock.advance(0);
    await clock.advance(4999);
    assert.equal(pod(rt, 'once').status?.['phase'], 'Running');
    await clock.advance(1);
    const p = pod(rt, 'once');
    assert.equal(p.status?.['phase'], 'Failed');
    assert.equal(stateOf(p), 'terminated:Error');
    assert.equal(container(p)['restartCount'], 0);
    assert.equal(condition(p, 'Ready')?.['reason'], 'PodFailed');
    await clock.advance(600_000);
    assert.equal(pod(rt, 'once').status?.['phase'], 'Failed', 'never restarted');
  });

  it('keeps a not-ready container Running and unready until its rule goes', async () => {
    start([{ image: 'web:*', failure: 'not-ready' }]);
    addMachine(rt, 'n1');
    createPod(rt, 'web', 'web:3');
    await clock.advance(0);
    await clock.advance(5000);
    let p = pod(rt, 'web');
    assert.equal(p.status?.['phase'], 'Running');
    assert.equal(stateOf(p), 'running');
    assert.equal(container(p)['started'], true);
    assert.equal(container(p)['ready'], false);
    assert.deepEqual(
      [condition(p, 'Ready')?.['status'], condition(p, 'Ready')?.['reason']],
      ['False', 'ContainersNotReady'],
    );
    assert.ok(rt.events.some((e) => e.reason === 'Unhealthy' && e.message.startsWith('Readiness probe failed')));
    rt.faults.containerFaults.splice(0);
    await clock.advance(1000);
    p = pod(rt, 'web');
    assert.equal(container(p)['ready'], true);
    assert.equal(condition(p, 'Ready')?.['status'], 'True');
  });

  it('fails only on nodes at the rule minimum kubelet version', async () => {
    start([{ image: 'nginx:*', failure: 'crash-loop', minKubeletVersion: '1.31' }]);
    addMachine(rt, 'n1', '1.30.4');
    addMachine(rt, 'n2', '1.31.1');
    createPod(rt, 'old', 'nginx:1.27');
    createPod(rt, 'new', 'nginx:1.27', { nodeName: 'n2' });
    await clock.advance(0);
    await clock.advance(2000);
    assert.equal(condition(pod(rt, 'old'), 'Ready')?.['status'], 'True');
    assert.equal(stateOf(pod(rt, 'new')), 'waiting:CrashLoopBackOff');
  });
});
