import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import type { Machine } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { createNamespace, createTestRuntime } from '../testing/runtime.ts';
import { nextScheduleTime, parseCronSchedule } from './cron-schedule.ts';
import { startCronJobController } from './cronjob.ts';
import { startGarbageCollector } from './garbage-collector.ts';
import { startJobController } from './job.ts';
import { kubeletSync, nodeObjectFor, startKubelets } from './kubelet.ts';

const at = (iso: string): number => Date.parse(iso);

describe('cron schedules', () => {
  it('finds the next time for steps, ranges, names, macros and either-day matching', () => {
    const next = (spec: string, after: string) =>
      new Date(nextScheduleTime(parseCronSchedule(spec), at(after)) ?? 0).toISOString();
    assert.equal(next('*/15 * * * *', '2026-01-01T10:07:30Z'), '2026-01-01T10:15:00.000Z');
    assert.equal(next('0 3 * * *', '2026-01-01T03:00:00Z'), '2026-01-02T03:00:00.000Z');
    assert.equal(
      next('30 9 * * MON-FRI', '2026-01-02T10:00:00Z'),
      '2026-01-05T09:30:00.000Z',
      'Friday 10:00 -> Monday',
    );
    assert.equal(next('@monthly', '2026-01-15T00:00:00Z'), '2026-02-01T00:00:00.000Z');
    assert.equal(next('0 0 13 * 5', '2026-02-01T00:00:00Z'), '2026-02-06T00:00:00.000Z', 'the 13th or a Friday');
    assert.equal(next('0 0 29 FEB *', '2026-01-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
    assert.equal(next('0 12 * * 7', '2026-01-01T00:00:00Z'), '2026-01-04T12:00:00.000Z', '7 is Sunday');
    assert.throws(() => parseCronSchedule('61 * * * *'), /minute: "61" is not a value from 0 to 59/);
    assert.throws(() => parseCronSchedule('* * *'), /expected exactly 5 fields/);
  });
});

describe('cronjob controller', () => {
  let rt: TestRuntime;
  let clock: ManualClock;
  let stops: (() => void)[] = [];

  function start(): void {
    clock = new ManualClock(at('2026-03-01T00:00:30Z'));
    rt = createTestRuntime({
      clock,
      timings: { nodeHeartbeat: 1000, nodeMonitorGrace: 4000, podStart: 0, podTermination: 0 },
    });
    createNamespace(rt, 'default');
    createNamespace(rt, 'kube-node-lease');
    stops = [startKubelets(rt), startJobController(rt), startCronJobController(rt), startGarbageCollector(rt)];
    const m: Machine = {
      name: 'n1',
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
    rt.machines.set('n1', m);
    rt.registry.create(kindDef('Node'), undefined, nodeObjectFor(m, rt));
    kubeletSync(rt, 'n1');
  }

  afterEach(() => {
    for (const stop of stops) stop();
    rt.stop();
  });

  function createCronJob(spec: Record<string, unknown>, seconds = 30): void {
    rt.registry.create(kindDef('CronJob'), 'default', {
      metadata: { name: 'tick' },
      spec: {
        schedule: '*/5 * * * *',
        jobTemplate: {
          metadata: { labels: { team: 'ops' } },
          spec: {
            template: {
              spec: {
                nodeName: 'n1',
                restartPolicy: 'Never',
                containers: [{ name: 'c', image: 'busybox', command: ['sleep', String(seconds)] }],
              },
            },
          },
        },
        ...spec,
      },
    });
  }

  const jobs = (): KubeObject[] => [...rt.store.all('batch/jobs')].filter((j) => !j.metadata.deletionTimestamp);
  const cron = (): KubeObject => rt.store.mustGet('batch/cronjobs', 'default', 'tick');

  it('creates a Job at each scheduled time, tracks active and last times, and keeps 3 successful Jobs', async () => {
    start();
    createCronJob({});
    await clock.advance(0);
    assert.deepEqual(jobs(), [], 'nothing before the first time');
    await clock.advance(4 * 60_000 + 30_000);
    const first = jobs();
    assert.deepEqual(
      first.map((j) => j.metadata.name),
      [`tick-${at('2026-03-01T00:05:00Z') / 60_000}`],
    );
    assert.equal(
      first[0]?.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
      '2026-03-01T00:05:00Z',
    );
    assert.equal(first[0]?.metadata.labels?.['team'], 'ops');
    assert.equal(first[0]?.metadata.ownerReferences?.[0]?.kind, 'CronJob');
    assert.equal(cron().status?.['lastScheduleTime'], '2026-03-01T00:05:00Z');
    assert.equal((cron().status?.['active'] as unknown[]).length, 1);
    await clock.advance(30_000);
    assert.equal(cron().status?.['active'], undefined, 'the Job completed');
    assert.equal(cron().status?.['lastSuccessfulTime'], '2026-03-01T00:05:30Z');
    await clock.advance(25 * 60_000);
    assert.equal(jobs().length, 3, 'successfulJobsHistoryLimit 3');
    assert.equal(cron().status?.['lastScheduleTime'], '2026-03-01T00:30:00Z');
  });

  it('Forbid skips a time while a Job runs; suspend creates nothing', async () => {
    start();
    createCronJob({ concurrencyPolicy: 'Forbid' }, 400);
    await clock.advance(0);
    await clock.advance(5 * 60_000);
    assert.equal(jobs().length, 1);
    await clock.advance(5 * 60_000);
    assert.equal(jobs().length, 1, 'the 00:10 run was skipped: 00:05 still runs');
    rt.registry.patch(kindDef('CronJob'), 'default', 'tick', 'merge', { spec: { suspend: true } });
    await clock.advance(30 * 60_000);
    assert.equal(jobs().length, 1);
  });
});
