/**
 * A run's cluster session on kube-sim: its waits share one watch of the nodes, it counts what it holds, and its
 * close ends its watches and forecasts. Its timers run on a ManualClock: idle and grace periods pass without waiting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../clock/manual-clock.ts';
import { connect } from '../kube-api/connect.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import type { SimCluster } from '../kube-sim/sim-cluster.ts';
import { waitFor } from '../clock/wait-for.ts';
import { requestCount, startFromYaml } from '../../test/helpers/sim.ts';
import { waitForNodeReady } from './actions/node-wait.ts';
import { ClusterSession, ClusterSessionClosedError, FORECAST_GRACE_MS } from './cluster-session.ts';
import { NODE_WATCH_IDLE_MS } from './node-watch.ts';
import { SessionPool } from './session-pool.ts';

const SCENARIO = `
name: session
kubernetesVersion: '1.31.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2, kubeletVersion: '1.31.2' }
timings: { zeroDelay: true }
`;

/** A wait for a node that never registers, until `signal` aborts; its rejection is expected and observed. */
function waitForGhost(session: ClusterSession, node: string, signal: AbortSignal): Promise<unknown> {
  return waitForNodeReady(session, node, {}, 3_600_000, signal).catch((err: unknown) => err);
}

describe('ClusterSession', () => {
  let cluster: SimCluster;
  let conn: ClusterConnection;
  const watches = () => requestCount(cluster, { verb: 'WATCH', resource: 'nodes' });

  before(async () => {
    cluster = await startFromYaml(SCENARIO);
    conn = connect({ kubeconfig: cluster.kubeconfig });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('gives two waits one watch of the nodes, counts them, and stops the watch once idle', async () => {
    const clock = new ManualClock();
    const session = new ClusterSession({ cluster: 'session', conn, clock });
    const before = await watches();
    const stop = new AbortController();
    const waits = [waitForGhost(session, 'ghost-a', stop.signal), waitForGhost(session, 'ghost-b', stop.signal)];
    assert.deepEqual(session.describe().watches, ['nodes']);
    assert.equal(session.describe().nodeWaits, 2);
    await waitFor(async () => (await watches()) > before, { message: 'the watch request' });

    stop.abort(new Error('the test is done waiting'));
    await Promise.all(waits);
    assert.equal(session.describe().nodeWaits, 0);
    assert.deepEqual(session.describe().watches, ['nodes'], 'kept for the next batch a while');
    await clock.advance(NODE_WATCH_IDLE_MS - 1);
    assert.deepEqual(session.describe().watches, ['nodes']);
    await clock.advance(1);
    assert.deepEqual(session.describe().watches, [], 'stopped once idle');
    assert.equal((await watches()) - before, 1, 'one WATCH for both waits');
    await session.close();
  });

  it('counts the budget gate’s users and the forecasts, and ends a forecast after its grace on the clock', async () => {
    const clock = new ManualClock();
    const session = new ClusterSession({ cluster: 'session', conn, clock });
    const first = session.acquireGate();
    const second = session.acquireGate();
    assert.equal(first.gate, second.gate, 'one gate for the batch');
    assert.deepEqual(session.describe().watches, ['budgets']);
    assert.equal(session.describe().gateUsers, 2);

    const forecast = session.forecastDrain('workers-0');
    assert.equal(session.forecastDrain('workers-0'), forecast, 'one forecast a node');
    assert.deepEqual(session.describe().forecasts, ['workers-0']);
    assert.equal(session.describe().gateUsers, 3);
    forecast.expectDrain();
    await clock.advance(FORECAST_GRACE_MS - 1);
    assert.deepEqual(session.describe().forecasts, ['workers-0']);
    await clock.advance(1);
    assert.deepEqual(session.describe().forecasts, [], 'ended: its drain did not come');
    assert.equal(session.describe().gateUsers, 2);

    await first.release();
    await first.release();
    assert.equal(session.describe().gateUsers, 1, 'a second release does nothing');
    await second.release();
    assert.deepEqual(session.describe().watches, [], 'the last user closed the gate');
    await session.close();
  });

  it('ends its watches and forecasts on close, and refuses to open new ones', async () => {
    const clock = new ManualClock();
    const session = new ClusterSession({ cluster: 'session', conn, clock });
    const stop = new AbortController();
    const wait = waitForGhost(session, 'ghost-c', stop.signal);
    const forecast = session.forecastDrain('workers-1');
    session.noteCordon('workers-1', clock.now());
    await waitFor(() => session.describe().watches.length === 2, { message: 'the node watch and the gate' });

    await session.close();
    assert.deepEqual(session.describe(), {
      cluster: 'session',
      closed: true,
      watches: [],
      nodeWaits: 0,
      gateUsers: 0,
      forecasts: [],
      cordons: 0,
      budgetRoundMs: undefined,
    });
    assert.equal(session.forecastOf('workers-1'), undefined);
    forecast.end(); // already ended: nothing more happens
    assert.throws(() => session.watchNode('ghost-d', { seen: () => {}, reset: () => {} }), ClusterSessionClosedError);
    assert.throws(
      () => session.acquireGate(),
      /^ClusterSessionClosedError: KUP-ENGINE-006: the session of cluster session is closed$/,
    );
    await session.close();
    stop.abort(new Error('the test is done waiting'));
    await wait;
  });
});

describe('SessionPool', () => {
  it('counts, describes and closes the sessions it opened; a closed session leaves it', async () => {
    const conn = connect({
      kubeconfig: `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:9' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`,
    });
    const pool = new SessionPool(new ManualClock());
    const a = pool.open('prod', conn);
    pool.open('staging', conn);
    assert.equal(pool.size, 2);
    assert.deepEqual(
      pool.describe().map((d) => [d.cluster, d.closed]),
      [
        ['prod', false],
        ['staging', false],
      ],
    );
    await a.close();
    assert.deepEqual(
      pool.describe().map((d) => d.cluster),
      ['staging'],
    );
    await pool.closeAll();
    assert.equal(pool.size, 0);
  });
});
