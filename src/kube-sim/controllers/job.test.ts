import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { Machine } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { createNamespace, createTestRuntime } from '../testing/runtime.ts';
import { JOB_TRACKING_FINALIZER, startJobController } from './job.ts';
import { kubeletSync, nodeObjectFor, startKubelets } from './kubelet.ts';

const TIMINGS = { nodeHeartbeat: 1000, nodeMonitorGrace: 4000, podStart: 0, podTermination: 0 };

function addMachine(rt: TestRuntime, name: string): void {
  const m: Machine = {
    name,
    role: 'worker',
    pool: 'general',
    kubeletVersion: '1.31.2',
    machineImage: 'ubuntu-2204-kube-v1.31.2',
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
}

function createJob(
  rt: TestRuntime,
  name: string,
  spec: Record<string, unknown>,
  command: string[] = ['sleep', '5'],
): void {
  rt.registry.create(kindDef('Job'), 'default', {
    metadata: { name },
    spec: {
      template: {
        spec: {
          nodeName: 'n1',
          restartPolicy: 'Never',
          containers: [{ name: 'work', image: 'busybox:1.36', command }],
        },
      },
      ...spec,
    },
  });
}

function job(rt: TestRuntime, name: string): KubeObject {
  return rt.store.mustGet('batch/jobs', 'default', name);
}

function pods(rt: TestRuntime): KubeObject[] {
  return [...rt.store.all('core/pods')];
}

function phases(rt: TestRuntime): string[] {
  return pods(rt)
    .map((p) => `${String(p.status?.['phase'])}${p.metadata.deletionTimestamp ? '(deleting)' : ''}`)
    .sort();
}

function conditions(obj: KubeObject): string[] {
  const raw = obj.status?.['conditions'];
  return (Array.isArray(raw) ? (raw as unknown[]) : [])
    .filter(isRecord)
    .map((c) => `${String(c['type'])}=${String(c['status'])}${typeof c['reason'] === 'string' ? `/${c['reason']}` : ''}`);
}

describe('job controller', () => {
  let rt: TestRuntime;
  let clock: ManualClock;
  let stops: (() => void)[] = [];

  function start(): void {
    clock = new ManualClock();
    rt = createTestRuntime({ clock, timings: TIMINGS });
    createNamespace(rt, 'default');
    createNamespace(rt, 'kube-node-lease');
    stops = [startKubelets(rt), startJobController(rt)];
    addMachine(rt, 'n1');
  }

  afterEach(() => {
    for (const stop of stops) stop();
    rt.stop();
  });

  it('runs completions with parallelism, counts pods through the tracking finalizer, and completes', async () => {
    start();
    createJob(rt, 'report', { completions: 3, parallelism: 2 });
    await clock.advance(0);
    assert.deepEqual(phases(rt), ['Running', 'Running']);
    const first = pods(rt)[0];
    assert.ok(first);
    assert.deepEqual(first.metadata.finalizers, [JOB_TRACKING_FINALIZER]);
    assert.equal(first.metadata.labels?.['batch.kubernetes.io/job-name'], 'report');
    assert.equal(first.metadata.labels?.['controller-uid'], job(rt, 'report').metadata.uid);
    assert.equal(first.metadata.ownerReferences?.[0]?.kind, 'Job');
    let status = job(rt, 'report').status ?? {};
    assert.deepEqual([status['active'], status['ready'], status['succeeded']], [2, 2, undefined]);
    assert.match(String(status['startTime']), /^\d{4}-/);

    await clock.advance(5000);
    assert.deepEqual(phases(rt), ['Running', 'Succeeded', 'Succeeded']);
    assert.ok(
      pods(rt)
        .filter((p) => p.status?.['phase'] === 'Succeeded')
        .every((p) => !p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)),
      'counted pods are released',
    );
    status = job(rt, 'report').status ?? {};
    assert.deepEqual([status['active'], status['succeeded']], [1, 2]);
    assert.deepEqual(conditions(job(rt, 'report')), []);

    await clock.advance(5000);
    status = job(rt, 'report').status ?? {};
    assert.deepEqual([status['active'], status['succeeded'], status['failed']], [undefined, 3, undefined]);
    assert.deepEqual(conditions(job(rt, 'report')), [
      'SuccessCriteriaMet=True/CompletionsReached',
      'Complete=True/CompletionsReached',
    ]);
    assert.match(String(status['completionTime']), /^\d{4}-/);
    await clock.advance(60_000);
    assert.equal(pods(rt).length, 3, 'no more pods once complete');
    assert.ok(rt.events.some((e) => e.reason === 'Completed' && e.object === 'Job/default/report'));
  });

  it('replaces failed pods after the back-off and fails past backoffLimit', async () => {
    start();
    rt.faults.containerFaults.push({ image: 'busybox:*', failure: 'crash-loop', exitCode: 3 });
    createJob(rt, 'flaky', { backoffLimit: 1 });
    await clock.advance(0);
    await clock.advance(1000);
    assert.deepEqual(phases(rt), ['Failed']);
    assert.equal(job(rt, 'flaky').status?.['failed'], 1);
    await clock.advance(9999);
    assert.deepEqual(phases(rt), ['Failed'], 'the replacement waits 10 s from the failure');
    await clock.advance(1);
    assert.deepEqual(phases(rt), ['Failed', 'Running']);
    await clock.advance(1000);
    assert.deepEqual(phases(rt), ['Failed', 'Failed']);
    assert.equal(job(rt, 'flaky').status?.['failed'], 2);
    assert.deepEqual(conditions(job(rt, 'flaky')), [
      'FailureTarget=True/BackoffLimitExceeded',
      'Failed=True/BackoffLimitExceeded',
    ]);
    await clock.advance(60_000);
    assert.equal(pods(rt).length, 2);
  });

  it('fails a Job that runs past activeDeadlineSeconds, deleting its pods', async () => {
    start();
    createJob(rt, 'slow', { activeDeadlineSeconds: 3, parallelism: 2, completions: 2 }, ['sh', '-c', 'sleep 100']);
    await clock.advance(0);
    await clock.advance(2999);
    assert.deepEqual(conditions(job(rt, 'slow')), []);
    await clock.advance(1);
    await clock.advance(0);
    assert.deepEqual(pods(rt), [], 'deleted, and finished by the kubelet');
    assert.deepEqual(conditions(job(rt, 'slow')), [
      'FailureTarget=True/DeadlineExceeded',
      'Failed=True/DeadlineExceeded',
    ]);
    assert.equal(job(rt, 'slow').status?.['active'], undefined);
  });
});
