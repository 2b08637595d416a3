/**
 * An automatic upgrade end to end through the API of a real `kup serve` (in-process, on a ManualClock) against a
 * kube-sim cluster with two short maintenance windows a day: the scheduler starts a patch upgrade as the first window
 * opens; the window ends while the first worker's replacement is still booting, so the run pauses at its next safe
 * point (the batch in flight finishes: the replacement comes up, the old node is drained and deleted; no new batch
 * starts and nothing is left cordoned); the API says why and when it resumes; the scheduler resumes it as the next
 * window opens and it completes. Asserted from the run's events, the API and the cluster's nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { Kubectl } from '../helpers/kubectl.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { FAST_TIMINGS } from '../helpers/rollout.ts';
import { api, simIdle, startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';
import { leap, pumpUntil } from './virtual-time.ts';

const FROM = '1.35.5';
const MIN = 60_000;
const HOUR = 60 * MIN;

const SCENARIO = `
kubernetesVersion: '${FROM}'
pools:
  - name: workers
    nodes: 3
workloads:
  - kind: Deployment
    name: web
    namespace: shop
    replicas: 3
    pdb: { maxUnavailable: 1 }
    nodeSelector: { kup.dev/pool: workers }
${FAST_TIMINGS}
`;

/** A run as the API answers it (the fields this test reads). */
interface RunDoc {
  readonly id: string;
  readonly phase: string;
  readonly target: string;
  readonly status: {
    readonly phase: string;
    readonly reason?: string;
    readonly message?: string;
    readonly resumesAt?: number;
  };
  readonly request: { readonly trigger?: { readonly kind: string; readonly reasons: readonly string[] } };
}

interface RunEventDoc {
  readonly id: number;
  readonly seq: number;
  /** ISO 8601. */
  readonly at: string;
  readonly step: string;
  readonly node?: string;
  readonly outcome: string;
  readonly message: string;
}

interface NodeDoc {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec: { readonly unschedulable?: boolean };
  readonly status: {
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
    readonly nodeInfo: { readonly kubeletVersion: string };
  };
}

let clock: ManualClock;
/** Process warnings while the service runs (a listener leak on a shared signal shows up here). */
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
let svc: TestService;
let sim: SimCluster;
let kubectl: Kubectl;

before(async () => {
  process.on('warning', onWarning);
  clock = new ManualClock(Date.now());
  sim = await startFromYaml(SCENARIO);
  kubectl = kubectlFor(sim.kubeconfig);
  svc = await startService({ clock, scanEveryMs: 5000, eventPollMs: 5000 });
});

after(async () => {
  process.off('warning', onWarning);
  await svc?.close();
  await sim?.stop();
});

async function nodes(): Promise<NodeDoc[]> {
  const res = await api(sim, 'GET', '/api/v1/nodes');
  return (res.body as { items: NodeDoc[] }).items;
}

const ready = (n: NodeDoc) => n.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const isWorker = (n: NodeDoc) => n.metadata.labels?.['kup.dev/pool'] === 'workers';

async function run(id: string): Promise<RunDoc> {
  const res = await svc.call('GET', `/api/v1/runs/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as RunDoc;
}

async function events(id: string): Promise<RunEventDoc[]> {
  const out: RunEventDoc[] = [];
  for (let after = 0; ;) {
    const res = await svc.call('GET', `/api/v1/runs/${id}/events?limit=1000&after=${after}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = (res.body as { items: RunEventDoc[] }).items;
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.id;
  }
}

/** `HH:MM` of an instant in UTC. */
function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

describe('an automatic upgrade in maintenance windows, through the API', () => {
  it('starts in a window, pauses between batches when the window ends, and resumes by itself in the next one', async () => {
    // Two 15-minute windows a day, an hour apart, the first opening at the next full hour plus one.
    const first = Math.ceil(clock.now() / HOUR) * HOUR + HOUR;
    const second = first + HOUR;
    const added = await svc.call('POST', '/api/v1/clusters', {
      body: { name: 'auto', provider: 'sim', kubeconfig: sim.kubeconfig },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const all = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    const set = await svc.call('PUT', '/api/v1/clusters/auto/maintenance', {
      body: {
        schedule: {
          windows: [
            { days: all, start: hhmm(first), durationMinutes: 15, timeZone: 'UTC' },
            { days: all, start: hhmm(second), durationMinutes: 15, timeZone: 'UTC' },
          ],
        },
        policy: { kubernetes: 'patch' },
      },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    // Every replacement in the pool stays NotReady until the test heals it: the first batch is in flight at the
    // window's end.
    assert.equal((await api(sim, 'PUT', '/sim/v1/faults', { nodesNeverReady: ['workers/*'] })).status, 200);

    // Nothing starts before the window.
    await leap(clock, first - clock.now() - MIN);
    assert.deepEqual((await svc.call('GET', '/api/v1/runs?cluster=auto')).body.items, []);
    await leap(clock, MIN);
    const runId = await pumpUntil(
      clock,
      async () => ((await svc.call('GET', '/api/v1/runs?cluster=auto')).body.items as { id: string }[])[0]?.id,
      'the automatic run to start',
    );
    const started = await run(runId);
    assert.equal(started.request.trigger?.kind, 'automatic');
    assert.match(started.target, /^1\.35\.\d+$/);
    const target = started.target;
    assert.notEqual(target, FROM);

    // The first worker's replacement boots and never becomes Ready: the run waits on it, the old node cordoned.
    const stuck = await pumpUntil(
      clock,
      async () => (await nodes()).find((n) => isWorker(n) && !ready(n)),
      'a replacement node that waits',
    );
    const cordoned = (await nodes()).filter((n) => n.spec.unschedulable === true).map((n) => n.metadata.name);
    assert.equal(cordoned.length, 1, `one old node cordoned: ${cordoned.join(', ')}`);
    // The window ends: the run pauses at its next safe point, and says when it resumes.
    await leap(clock, first + 15 * MIN - clock.now());
    const paused = await pumpUntil(
      clock,
      async () => {
        const r = await run(runId);
        return r.status.phase === 'paused' ? r : undefined;
      },
      'the run to pause at the window end',
      { stepMs: 50 },
    );
    assert.equal(paused.status.reason, 'window-closed');
    assert.equal(paused.status.resumesAt, second);
    assert.match(
      paused.status.message ?? '',
      new RegExp(`resumes when the next window opens, ${new Date(second).toISOString()}`),
    );
    const pauseSeq = (await events(runId)).find((e) => e.outcome === 'paused')!.seq;

    // The cluster's upgrade information names the paused run first, and what the next window does: the pools still
    // behind the control plane move on.
    const pausedInfo = (await svc.call('GET', '/api/v1/clusters/auto/upgrade-info')).body as {
      activeRun?: { id: string; trigger: string };
      run: { to?: string; next: { start: number } | null } | null;
      reasons: string[];
    };
    assert.deepEqual([pausedInfo.activeRun?.id, pausedInfo.activeRun?.trigger], [runId, 'automatic']);
    assert.match(
      pausedInfo.reasons[0] ?? '',
      new RegExp(`^run ${runId} \\(automatic\\) is paused: the maintenance window ended`),
    );
    assert.equal(pausedInfo.run?.to, target);
    assert.equal(pausedInfo.run?.next?.start, second);

    // The batch in flight finishes: the replacement comes up, the old node is drained and deleted.
    assert.equal((await api(sim, 'PUT', '/sim/v1/faults', { nodesNeverReady: [] })).status, 200);
    assert.equal(
      (await api(sim, 'POST', `/sim/v1/nodes/${stuck.metadata.name}/fail`, { mode: 'healthy' })).status,
      200,
    );
    await pumpUntil(
      clock,
      async () => {
        const now = await nodes();
        return (
          !now.some((n) => n.metadata.name === cordoned[0]) &&
          now.every(ready) &&
          now.every((n) => n.spec.unschedulable !== true)
        );
      },
      'the first batch to finish',
    );
    await pumpUntil(
      clock,
      async () =>
        (await events(runId)).some((e) => e.seq > pauseSeq && e.step.includes('batch-1') && e.message === 'step done'),
      'the batch in flight to be done',
    );
    await simIdle(sim);
    // Nothing more starts while paused: ten minutes of kup's time on, the pool still has two old workers, uncordoned.
    await leap(clock, 10 * MIN);
    const between = (await nodes()).filter(isWorker);
    assert.deepEqual(between.map((n) => n.status.nodeInfo.kubeletVersion).sort(), [
      `v${FROM}`,
      `v${FROM}`,
      `v${target}`,
    ]);
    assert.ok(
      between.every((n) => n.spec.unschedulable !== true),
      'nothing left cordoned between windows',
    );
    assert.equal((await run(runId)).status.phase, 'paused');
    // After the pause only the batch in flight moved (its replacement's wait, the old node's drain and deletion).
    const whilePaused = (await events(runId)).filter((e) => e.seq > pauseSeq && e.node !== undefined);
    assert.deepEqual(
      [...new Set(whilePaused.map((e) => e.node))].sort(),
      [cordoned[0], stuck.metadata.name].sort(),
      JSON.stringify(whilePaused),
    );
    assert.ok(
      whilePaused.some((e) => e.node === cordoned[0] && e.message.startsWith('drain')),
      'the drain ran after the window closed',
    );

    // The next window opens: the scheduler resumes the run, which completes.
    await leap(clock, second - clock.now());
    const done = await pumpUntil(
      clock,
      async () => {
        const r = await run(runId);
        return r.phase === 'succeeded' || r.phase === 'failed' ? r : undefined;
      },
      'the run to end',
    );
    assert.equal(done.phase, 'succeeded', JSON.stringify(done.status));
    const log = await events(runId);
    const resumed = log.find((e) => e.seq > pauseSeq && e.outcome === 'resumed');
    assert.ok(resumed, 'resumed in the log');
    assert.ok(
      Date.parse(resumed.at) >= second && Date.parse(resumed.at) < second + 15 * MIN,
      `resumed in the second window: ${resumed.at}`,
    );
    const version = JSON.parse(await ok(kubectl(['version', '-o', 'json']))) as {
      serverVersion: { gitVersion: string };
    };
    assert.equal(version.serverVersion.gitVersion, `v${target}`);
    const finalNodes = JSON.parse(await ok(kubectl(['get', 'nodes', '-o', 'json']))) as { items: NodeDoc[] };
    assert.deepEqual([...new Set(finalNodes.items.map((n) => n.status.nodeInfo.kubeletVersion))], [`v${target}`]);
    // The service's reads of the clusters (gates, upgrade facts) fan out on one signal without a leak warning.
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
      [],
    );
    // The cluster's history shows the run as automatic.
    const info = await svc.call('GET', '/api/v1/clusters/auto/upgrade-info');
    assert.equal(info.status, 200, JSON.stringify(info.body));
    assert.deepEqual(
      (info.body.runs as { id: string; trigger: string }[]).map((r) => [r.id, r.trigger]),
      [[runId, 'automatic']],
    );
  });
});
