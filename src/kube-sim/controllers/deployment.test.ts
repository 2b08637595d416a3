import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../clock/wait-for.ts';
import type { KubeObject } from '../model/wire.ts';
import { controllerOf } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { createNamespace, createTestRuntime, startFakeKubelet } from '../testing/runtime.ts';
import type { FakeKubeletOptions, TestRuntime } from '../testing/runtime.ts';
import { startDeploymentController } from './deployment.ts';
import { isPodReady, startReplicaSetController } from './replicaset.ts';

const NS = 'shop';

let rt: TestRuntime;
let stops: (() => void)[];

beforeEach(() => {
  rt = createTestRuntime();
  createNamespace(rt, NS);
  stops = [startDeploymentController(rt), startReplicaSetController(rt)];
});

afterEach(() => {
  for (const stop of stops) stop();
  rt.stop();
});

function kubelet(options: FakeKubeletOptions = {}): void {
  stops.push(startFakeKubelet(rt, { bindTo: 'node-1', ...options }));
}

function createDeployment(name: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject {
  const labels = { app: name };
  return rt.registry.create(kindDef('Deployment'), NS, {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } },
      ...extra,
    },
  });
}

function deployment(name: string): KubeObject {
  return rt.store.mustGet('apps/deployments', NS, name);
}

function replicaSets(name: string): KubeObject[] {
  return rt.store.byIndex('apps/replicasets', 'owner', deployment(name).metadata.uid);
}

function pods(name: string): KubeObject[] {
  return replicaSets(name).flatMap((rs) => rt.store.byIndex('core/pods', 'owner', rs.metadata.uid));
}

function update(name: string, change: (spec: Record<string, unknown>) => Record<string, unknown>): void {
  const d = deployment(name);
  rt.registry.update(kindDef('Deployment'), NS, name, { ...d, spec: change(d.spec ?? {}) });
}

function setImage(name: string, image: string): void {
  update(name, (spec) => {
    const template = spec['template'] as { metadata: unknown; spec: Record<string, unknown> };
    return { ...spec, template: { ...template, spec: { ...template.spec, containers: [{ name: 'app', image }] } } };
  });
}

function condition(d: KubeObject, type: string): Record<string, unknown> | undefined {
  const list = d.status?.['conditions'];
  return Array.isArray(list) ? (list as Record<string, unknown>[]).find((c) => c['type'] === type) : undefined;
}

function complete(name: string): boolean {
  const d = deployment(name);
  const replicas = d.spec?.['replicas'];
  const s = d.status ?? {};
  return (
    s['observedGeneration'] === d.metadata.generation &&
    s['updatedReplicas'] === replicas &&
    s['replicas'] === replicas &&
    s['availableReplicas'] === replicas &&
    condition(d, 'Progressing')?.['reason'] === 'NewReplicaSetAvailable'
  );
}

/**
 * Follows a rollout on every store event: the most replicas the ReplicaSets asked for together (what maxSurge
 * bounds) and the fewest Ready pods not being deleted (what maxUnavailable bounds) at any moment.
 */
function trackRollout(name: string): { maxReplicas: number; minReady: number; stop: () => void } {
  const seen = { maxReplicas: 0, minReady: Infinity, stop: () => {} };
  seen.stop = rt.store.subscribe((event) => {
    if (event.storage !== 'core/pods' && event.storage !== 'apps/replicasets') return;
    const replicas = replicaSets(name).reduce((n, rs) => n + Number(rs.spec?.['replicas']), 0);
    seen.maxReplicas = Math.max(seen.maxReplicas, replicas);
    seen.minReady = Math.min(seen.minReady, pods(name).filter((p) => !p.metadata.deletionTimestamp && isPodReady(p)).length);
  });
  return seen;
}

describe('Deployment controller', () => {
  it('creates one ReplicaSet named after the template hash, its pods, and the status kubectl reads', async () => {
    kubelet();
    const d = createDeployment('web', 3);
    await waitFor(() => complete('web'), { message: 'the rollout to complete' });

    const [rs, ...others] = replicaSets('web');
    assert.ok(rs);
    assert.equal(others.length, 0);
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.ok(hash);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(controllerOf(rs), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true });
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    assert.deepEqual((rs.spec?.['selector'] as Record<string, unknown>)['matchLabels'], { app: 'web', 'pod-template-hash': hash });
    assert.equal(deployment('web').metadata.annotations?.['deployment.kubernetes.io/revision'], '1');

    const all = pods('web');
    assert.equal(all.length, 3);
    for (const pod of all) assert.equal(pod.metadata.labels?.['pod-template-hash'], hash);

    const status = deployment('web').status ?? {};
    assert.equal(status['observedGeneration'], 1);
    assert.equal(status['replicas'], 3);
    assert.equal(status['updatedReplicas'], 3);
    assert.equal(status['readyReplicas'], 3);
    assert.equal(status['availableReplicas'], 3);
    assert.equal(status['unavailableReplicas'], undefined);
    const available = condition(deployment('web'), 'Available');
    assert.equal(available?.['status'], 'True');
    assert.equal(available?.['reason'], 'MinimumReplicasAvailable');
    const progressing = condition(deployment('web'), 'Progressing');
    assert.equal(progressing?.['status'], 'True');
    assert.equal(progressing?.['message'], `ReplicaSet "web-${hash}" has successfully progressed.`);
  });

  it('does nothing but warn with a selector that has no requirements, however it is spelled', async () => {
    // apps/v1 validation refuses an empty selector, so such a Deployment can only be one stored before it
    // (extensions/v1beta1 took it): put it in the store as it would be there.
    const dryRun = rt.registry.create(kindDef('Deployment'), NS, { metadata: { name: 'all' }, spec: { replicas: 1, selector: { matchLabels: { app: 'all' } }, template: { metadata: { labels: { app: 'all' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } } } }, { dryRun: true });
    rt.store.create('apps/deployments', { ...dryRun, spec: { ...dryRun.spec, selector: { matchLabels: {}, matchExpressions: [] } } });
    await waitFor(() => rt.events.some((e) => e.reason === 'SelectingAll'), { message: 'the SelectingAll event' });
    // The event and the early return are one sync: by the time the event is there, that sync made no ReplicaSet.
    assert.equal(replicaSets('all').length, 0);
  });

  it('scales the ReplicaSet up and down without a new revision', async () => {
    kubelet();
    createDeployment('api', 2);
    await waitFor(() => complete('api'), { message: 'the first rollout' });
    const [rs] = replicaSets('api');

    update('api', (spec) => ({ ...spec, replicas: 5 }));
    await waitFor(() => complete('api'), { message: 'scaled to 5' });
    assert.equal(pods('api').length, 5);
    update('api', (spec) => ({ ...spec, replicas: 1 }));
    await waitFor(() => complete('api') && pods('api').length === 1, { message: 'scaled to 1' });

    assert.deepEqual(replicaSets('api').map((r) => r.metadata.uid), [rs?.metadata.uid]);
    assert.equal(replicaSets('api')[0]?.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '1');
  });

  it('rolls out a new template within maxSurge and maxUnavailable', async () => {
    kubelet({ startMs: 5 });
    createDeployment('shop', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    await waitFor(() => complete('shop'), { message: 'the first rollout' });
    const [first] = replicaSets('shop');

    const seen = trackRollout('shop');
    setImage('shop', 'nginx:1.27');
    await waitFor(() => complete('shop'), { message: 'the second rollout' });
    seen.stop();

    assert.equal(seen.maxReplicas, 5, 'replicas + maxSurge, and no more');
    assert.ok(seen.minReady >= 4, `never fewer than replicas - maxUnavailable ready (saw ${seen.minReady})`);
    const sets = replicaSets('shop');
    assert.equal(sets.length, 2);
    const old = sets.find((r) => r.metadata.uid === first?.metadata.uid);
    const fresh = sets.find((r) => r.metadata.uid !== first?.metadata.uid);
    assert.equal(old?.spec?.['replicas'], 0);
    assert.equal(fresh?.spec?.['replicas'], 4);
    assert.equal(fresh?.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(deployment('shop').metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    for (const pod of pods('shop').filter((p) => !p.metadata.deletionTimestamp)) {
      assert.equal((pod.spec?.['containers'] as { image: string }[])[0]?.image, 'nginx:1.27');
    }
  });

  it('rolls out with maxUnavailable and no surge: pods go first, never below the floor', async () => {
    kubelet({ startMs: 5 });
    createDeployment('cart', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '50%' } } });
    await waitFor(() => complete('cart'), { message: 'the first rollout' });

    const seen = trackRollout('cart');
    setImage('cart', 'nginx:1.27');
    await waitFor(() => complete('cart'), { message: 'the second rollout' });
    seen.stop();
    assert.equal(seen.maxReplicas, 4, 'no surge');
    assert.ok(seen.minReady >= 2, `at most 50% unavailable (saw ${seen.minReady})`);
  });

  it('rounds maxSurge up and maxUnavailable down', async () => {
    kubelet({ skip: () => true });
    createDeployment('round', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
    await waitFor(() => pods('round').length === 10, { message: 'ten pods' });
    const rs = replicaSets('round')[0];
    assert.equal(rs?.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '13', '25% of 10 rounds up to 3');
    // Pods never become ready: the Available condition needs 10 - floor(2.5) = 8 available.
    await waitFor(() => condition(deployment('round'), 'Available')?.['status'] === 'False', { message: 'not available' });
    assert.equal(condition(deployment('round'), 'Available')?.['reason'], 'MinimumReplicasUnavailable');
  });

  it('keeps old pods while the new ones do not become ready', async () => {
    kubelet({ skip: (pod) => (pod.spec?.['containers'] as { image: string }[])[0]?.image !== 'nginx:1.25' });
    createDeployment('stuck', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } });
    await waitFor(() => complete('stuck'), { message: 'the first rollout' });
    // The new image never starts.
    setImage('stuck', 'nginx:broken');
    await waitFor(() => deployment('stuck').status?.['updatedReplicas'] === 2, { message: 'the new ReplicaSet at its first step' });
    await rt.idle();

    const ready = pods('stuck').filter((p) => !p.metadata.deletionTimestamp && isPodReady(p)).length;
    assert.equal(ready, 3, 'only maxUnavailable old pods were taken down');
    assert.equal(deployment('stuck').status?.['updatedReplicas'], 2);
    assert.equal(deployment('stuck').status?.['unavailableReplicas'], 2);
    assert.equal(condition(deployment('stuck'), 'Progressing')?.['reason'], 'ReplicaSetUpdated');
    assert.equal(condition(deployment('stuck'), 'Available')?.['status'], 'True');
  });

  it('reports ProgressDeadlineExceeded when a rollout stalls past progressDeadlineSeconds', async () => {
    kubelet({ skip: () => true });
    createDeployment('late', 1, { progressDeadlineSeconds: 1 });
    await waitFor(() => condition(deployment('late'), 'Progressing')?.['reason'] === 'ProgressDeadlineExceeded', { message: 'the deadline', timeoutMs: 6_000 });
    assert.equal(condition(deployment('late'), 'Progressing')?.['status'], 'False');
  });

  it('Recreate deletes every old pod before creating new ones', async () => {
    kubelet({ startMs: 2 });
    createDeployment('batch', 3, { strategy: { type: 'Recreate' } });
    await waitFor(() => complete('batch'), { message: 'the first rollout' });

    const events: string[] = [];
    const stop = rt.store.subscribe((event) => {
      if (event.storage === 'core/pods' && event.type !== 'MODIFIED') events.push(event.type);
    });
    setImage('batch', 'nginx:1.27');
    await waitFor(() => complete('batch'), { message: 'the second rollout' });
    stop();
    assert.deepEqual(events, ['DELETED', 'DELETED', 'DELETED', 'ADDED', 'ADDED', 'ADDED']);
  });

  it('goes back to the old ReplicaSet on a rollback and gives it the next revision', async () => {
    kubelet();
    createDeployment('undo', 2, { revisionHistoryLimit: 5 });
    await waitFor(() => complete('undo'), { message: 'revision 1' });
    const [first] = replicaSets('undo');
    setImage('undo', 'nginx:1.27');
    await waitFor(() => complete('undo') && replicaSets('undo').length === 2, { message: 'revision 2' });
    setImage('undo', 'nginx:1.25');
    await waitFor(() => complete('undo') && deployment('undo').metadata.annotations?.['deployment.kubernetes.io/revision'] === '3', { message: 'revision 3' });

    assert.equal(replicaSets('undo').length, 2, 'no third ReplicaSet');
    const back = rt.store.mustGet('apps/replicasets', NS, first?.metadata.name ?? '');
    assert.equal(back.spec?.['replicas'], 2);
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  });

  it('recognises the old ReplicaSet in a rollback sent as kubectl sends it (creationTimestamp: null)', async () => {
    kubelet();
    createDeployment('undo', 2);
    await waitFor(() => complete('undo'), { message: 'revision 1' });
    const [first] = replicaSets('undo');
    setImage('undo', 'nginx:1.27');
    await waitFor(() => complete('undo') && replicaSets('undo').length === 2, { message: 'revision 2' });

    // `kubectl rollout undo`: the old ReplicaSet's template without the hash label, serialised from a Go struct.
    const template = first?.spec?.['template'] as { metadata: { labels: Record<string, string> }; spec: unknown };
    const { 'pod-template-hash': _hash, ...labels } = template.metadata.labels;
    update('undo', (spec) => ({ ...spec, template: { metadata: { creationTimestamp: null, labels }, spec: template.spec } }));
    await waitFor(() => complete('undo') && deployment('undo').metadata.annotations?.['deployment.kubernetes.io/revision'] === '3', { message: 'revision 3' });
    assert.equal(replicaSets('undo').length, 2, 'no third ReplicaSet');
    assert.equal(rt.store.mustGet('apps/replicasets', NS, first?.metadata.name ?? '').spec?.['replicas'], 2);
  });

  it('deletes old ReplicaSets beyond revisionHistoryLimit', async () => {
    kubelet();
    createDeployment('hist', 1, { revisionHistoryLimit: 1 });
    for (const image of ['nginx:1', 'nginx:2', 'nginx:3']) {
      await waitFor(() => complete('hist'), { message: `rollout before ${image}` });
      setImage('hist', image);
    }
    await waitFor(() => complete('hist') && replicaSets('hist').length === 2, { message: 'one old ReplicaSet kept' });
  });

  it('scales proportionally when scaled in the middle of a rollout', async () => {
    kubelet({ skip: (pod) => (pod.spec?.['containers'] as { image: string }[])[0]?.image !== 'nginx:1.25' });
    createDeployment('prop', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } });
    await waitFor(() => complete('prop'), { message: 'the first rollout' });
    setImage('prop', 'nginx:never');
    await waitFor(() => deployment('prop').status?.['updatedReplicas'] === 5, { message: 'new ReplicaSet at 5' });
    await rt.idle();
    // 8 old + 5 new = 13 = 10 + maxSurge. Scale to 20: 20 + 3 = 23 allowed, 10 more spread 8:5.
    update('prop', (spec) => ({ ...spec, replicas: 20 }));
    await waitFor(() => deployment('prop').status?.['replicas'] === 23, { message: '23 replicas' });
    const sizes = replicaSets('prop').map((r) => Number(r.spec?.['replicas'])).sort((a, b) => b - a);
    assert.deepEqual(sizes, [14, 9], 'the old ReplicaSet (8) grows by 6, the new one (5) by 4');
  });

  it('pauses and resumes a rollout', async () => {
    kubelet();
    createDeployment('pause', 2);
    await waitFor(() => complete('pause'), { message: 'the first rollout' });
    update('pause', (spec) => ({ ...spec, paused: true }));
    await waitFor(() => condition(deployment('pause'), 'Progressing')?.['reason'] === 'DeploymentPaused', { message: 'paused condition' });
    setImage('pause', 'nginx:1.27');
    await rt.idle();
    assert.equal(replicaSets('pause').length, 1, 'no rollout while paused');
    update('pause', (spec) => ({ ...spec, paused: false }));
    await waitFor(() => complete('pause') && replicaSets('pause').length === 2, { message: 'rollout after resume' });
  });
});
