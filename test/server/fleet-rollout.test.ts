/**
 * A fleet rollout end to end through the API of a real `kup serve` (in-process, on a ManualClock) over three kube-sim
 * clusters: dev, staging and prod by label. A Pending workload appears on staging during its soak; the health gate
 * pauses the rollout naming the cluster and the signal; the operator fixes the cluster (gives the workload the node
 * it asks for) and resumes through the API; the soak runs again and prod follows. The clusters' versions are read from
 * the clusters themselves with kubectl; the stages and the log from the API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { Kubectl } from '../helpers/kubectl.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { FAST_TIMINGS } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';
import { leap, pumpUntil } from './virtual-time.ts';

const FROM = '1.35.5';
const TO = '1.36.1';
const MIN = 60_000;

const SCENARIO = `
kubernetesVersion: '${FROM}'
pools:
  - name: workers
    nodes: 2
workloads:
  - kind: Deployment
    name: web
    namespace: shop
    replicas: 2
    pdb: { maxUnavailable: 1 }
    nodeSelector: { kup.dev/pool: workers }
${FAST_TIMINGS}
`;

const FLEET = [
  { name: 'dev-1', env: 'dev' },
  { name: 'stg-1', env: 'staging' },
  { name: 'prod-1', env: 'prod' },
] as const;

/** A workload that stays Pending until a node carries `disktype=nvme`: the signal the staging gate sees. */
const CART = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: cart, namespace: shop }
spec:
  replicas: 1
  selector: { matchLabels: { app: cart } }
  template:
    metadata: { labels: { app: cart } }
    spec:
      nodeSelector: { disktype: nvme }
      containers: [{ name: cart, image: 'registry.example/cart:1.4' }]
`;

/** A rollout as the API answers it (the fields this test reads). */
interface RolloutDoc {
  readonly id: string;
  readonly status: {
    readonly phase: string;
    readonly reason?: string;
    readonly message?: string;
    readonly cause?: { readonly cluster?: string; readonly signal?: string; readonly objects?: readonly string[] };
  };
  readonly stages: readonly { readonly name: string; readonly phase: string; readonly clusters: readonly string[] }[];
  readonly clusters: Readonly<Record<string, { readonly phase: string; readonly runId?: string }>>;
  readonly events: readonly {
    readonly outcome: string;
    readonly stage?: string;
    readonly cluster?: string;
    readonly message: string;
  }[];
}

let clock: ManualClock;
/** Process warnings while the service runs (a listener leak on a shared signal shows up here). */
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
let svc: TestService;
const sims = new Map<string, SimCluster>();
const kubectl = new Map<string, Kubectl>();

before(async () => {
  process.on('warning', onWarning);
  // Virtual time starts at the real time: the catalog's support dates read the same as for an operator today.
  clock = new ManualClock(Date.now());
  for (const c of FLEET) {
    const sim = await startFromYaml(SCENARIO);
    sims.set(c.name, sim);
    kubectl.set(c.name, kubectlFor(sim.kubeconfig));
  }
  svc = await startService({ clock, scanEveryMs: 5000, eventPollMs: 1000 });
});

after(async () => {
  process.off('warning', onWarning);
  await svc?.close();
  for (const sim of sims.values()) await sim.stop();
});

/** The rollout as the API shows it. */
async function rollout(id: string): Promise<RolloutDoc> {
  const res = await svc.call('GET', `/api/v1/rollouts/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as RolloutDoc;
}

/** Moves the clock until the rollout satisfies `check`. */
function pumpRollout(id: string, what: string, check: (r: RolloutDoc) => boolean): Promise<RolloutDoc> {
  let last: RolloutDoc | undefined;
  return pumpUntil(
    clock,
    async () => {
      last = await rollout(id);
      return check(last) ? last : undefined;
    },
    () =>
      `${what}; the rollout: ${JSON.stringify({ status: last?.status, stages: last?.stages.map((s) => s.phase), clusters: last?.clusters })}`,
  );
}

/** The cluster's API server version and each node's kubelet, read with kubectl. */
async function versionsOf(cluster: string): Promise<{ server: string; kubelets: string[] }> {
  const k = kubectl.get(cluster)!;
  const version = JSON.parse(await ok(k(['version', '-o', 'json']))) as { serverVersion: { gitVersion: string } };
  const nodes = JSON.parse(await ok(k(['get', 'nodes', '-o', 'json']))) as {
    items: { status: { nodeInfo: { kubeletVersion: string } } }[];
  };
  return {
    server: version.serverVersion.gitVersion,
    kubelets: [...new Set(nodes.items.map((n) => n.status.nodeInfo.kubeletVersion))],
  };
}

describe('a fleet rollout through the API', () => {
  it('carries one target across dev, staging and prod; a failing gate at staging pauses it until fixed and resumed', async () => {
    for (const c of FLEET) {
      const added = await svc.call('POST', '/api/v1/clusters', {
        body: { name: c.name, provider: 'sim', kubeconfig: sims.get(c.name)!.kubeconfig },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const labelled = await svc.call('PUT', `/api/v1/clusters/${c.name}/maintenance`, {
        body: { labels: { env: c.env } },
      });
      assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
    }
    const created = await svc.call('POST', '/api/v1/rollouts', {
      body: {
        name: `to-${TO.replaceAll('.', '-')}`,
        target: { to: TO },
        stages: [
          { name: 'dev', clusters: { labels: { env: 'dev' } }, soakMinutes: 5 },
          { name: 'staging', clusters: { labels: { env: 'staging' } }, soakMinutes: 10 },
          { name: 'prod', clusters: { labels: { env: 'prod' } } },
        ],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as RolloutDoc).id;
    assert.deepEqual(
      (created.body as RolloutDoc).stages.map((s) => [s.name, s.clusters]),
      [
        ['dev', ['dev-1']],
        ['staging', ['stg-1']],
        ['prod', ['prod-1']],
      ],
    );

    // dev upgrades, then soaks; nothing else starts meanwhile.
    let r = await pumpRollout(id, 'dev to soak', (x) => x.stages[0]?.phase === 'soaking');
    assert.equal(r.clusters['dev-1']?.phase, 'succeeded');
    assert.equal(r.clusters['stg-1']?.runId, undefined, 'staging waits for the soak of dev');
    await leap(clock, 5 * MIN);
    r = await pumpRollout(id, 'staging to soak', (x) => x.stages[1]?.phase === 'soaking');
    assert.equal(r.stages[0]?.phase, 'succeeded');
    assert.equal(r.clusters['stg-1']?.phase, 'succeeded');

    // During staging's soak a workload goes Pending: the next gate check pauses the rollout, naming it.
    await ok(kubectl.get('stg-1')!(['apply', '-f', '-'], { input: CART }));
    r = await pumpRollout(id, 'the staging gate to fail', (x) => x.status.phase === 'paused');
    assert.equal(r.status.reason, 'health-gate');
    assert.equal(r.status.cause?.cluster, 'stg-1');
    assert.equal(r.status.cause?.signal, 'pending-pods');
    assert.deepEqual(r.status.cause?.objects, ['Deployment/shop/cart']);
    assert.match(r.status.message ?? '', /stg-1/);
    assert.equal(r.stages[1]?.phase, 'soaking');
    assert.equal(r.clusters['prod-1']?.runId, undefined, 'prod has not started');
    // Paused, it stays paused: an hour on, prod still has no run.
    await leap(clock, 60 * MIN);
    r = await rollout(id);
    assert.equal(r.status.phase, 'paused');
    assert.equal(r.clusters['prod-1']?.runId, undefined);

    // The operator fixes the cluster: a node with the disk the workload asks for. Then resumes through the API.
    const stg = kubectl.get('stg-1')!;
    const worker = (await ok(stg(['get', 'nodes', '-l', 'kup.dev/pool=workers', '-o', 'name']))).trim().split('\n')[0]!;
    await ok(stg(['label', worker, 'disktype=nvme']));
    await waitFor(
      async () =>
        (await ok(stg(['get', 'pods', '-n', 'shop', '-l', 'app=cart', '-o', 'jsonpath={.items[*].status.phase}']))) ===
        'Running',
      { message: 'the cart pod to run', timeoutMs: 30_000, intervalMs: 50 },
    );
    const resumed = await svc.call('POST', `/api/v1/rollouts/${id}/resume`);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.status.phase, 'running');
    // The soak runs again in full: 9 minutes on it is still soaking, and prod has not started.
    await leap(clock, 9 * MIN);
    r = await rollout(id);
    assert.equal(r.stages[1]?.phase, 'soaking');
    assert.equal(r.clusters['prod-1']?.runId, undefined);
    await leap(clock, MIN);
    r = await pumpRollout(id, 'the rollout to succeed', (x) => x.status.phase === 'succeeded');
    assert.deepEqual(
      r.stages.map((s) => s.phase),
      ['succeeded', 'succeeded', 'succeeded'],
    );

    // Every cluster runs the target, as the cluster itself says.
    for (const c of FLEET)
      assert.deepEqual(await versionsOf(c.name), { server: `v${TO}`, kubelets: [`v${TO}`] }, c.name);

    // The service's reads of the clusters (gates, upgrade facts) fan out on one signal without a leak warning.
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
      [],
    );
    // The log tells the story in order.
    const story = r.events
      .filter((e) => !['cluster-run-created', 'baselines-recorded'].includes(e.outcome))
      .map((e) => [e.outcome, e.stage ?? null, e.cluster ?? null]);
    assert.deepEqual(story, [
      ['started', null, null],
      ['stage-started', 'dev', null],
      ['cluster-started', 'dev', 'dev-1'],
      ['cluster-succeeded', 'dev', 'dev-1'],
      ['soaking', 'dev', null],
      ['stage-succeeded', 'dev', null],
      ['stage-started', 'staging', null],
      ['cluster-started', 'staging', 'stg-1'],
      ['cluster-succeeded', 'staging', 'stg-1'],
      ['soaking', 'staging', null],
      ['gate-failed', 'staging', 'stg-1'],
      ['resumed', null, null],
      ['soaking', 'staging', null],
      ['stage-succeeded', 'staging', null],
      ['stage-started', 'prod', null],
      ['cluster-started', 'prod', 'prod-1'],
      ['cluster-succeeded', 'prod', 'prod-1'],
      ['stage-succeeded', 'prod', null],
      ['succeeded', null, null],
    ]);
    const gate = r.events.find((e) => e.outcome === 'gate-failed');
    assert.match(gate?.message ?? '', /pending-pods|Pending/);
    assert.match(gate?.message ?? '', /Deployment\/shop\/cart/);
    // Each cluster's run is the rollout's, and succeeded.
    for (const c of FLEET) {
      const run = await svc.call('GET', `/api/v1/runs/${r.clusters[c.name]?.runId ?? ''}`);
      assert.equal(run.status, 200, JSON.stringify(run.body));
      assert.equal(run.body.phase, 'succeeded', c.name);
    }
  });
});
