/**
 * kup serve over real HTTP, against a kube-sim cluster: access (no token, a bad one, a role too weak, a revoked
 * token), malformed input and unknown ids (4xx with the envelope and the field), a cluster registered with an
 * uploaded kubeconfig (sealed at rest, never returned), a run created and driven by the service itself, the fleet's
 * event stream resumed across a reconnect while the run progresses (no gap, no duplicate), conflicts (a second
 * upgrade of a busy cluster, a pause of a finished run), prechecks kept, the audit log, /metrics, and no secret in
 * the log.
 */
/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- answers are untyped JSON; the assertions are what check their shape */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { FAST_TIMINGS } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { SseEvent, TestService } from './helpers.ts';
import { readSse, startService } from './helpers.ts';

const FROM = '1.35.5';
const TO = '1.36.1';

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

let sim: SimCluster;
let svc: TestService;

before(async () => {
  sim = await startFromYaml(SCENARIO);
  svc = await startService();
});

after(async () => {
  await svc?.close();
  await sim?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function envelope(body: any, code: string, field?: string): void {
  assert.equal(body?.error?.code, code, JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  if (field !== undefined) assert.equal(body.error.field, field, JSON.stringify(body));
}

describe('kup serve', () => {
  it('refuses calls without a token, with a bad one, and with a role too weak; audits the refused mutations', async () => {
    envelope((await svc.call('GET', '/api/v1/clusters', { token: null })).body, 'KUP-AUTH-001');
    const bad = await svc.call('GET', '/api/v1/clusters', { token: 'kup_not-a-token' });
    assert.equal(bad.status, 401);
    envelope(bad.body, 'KUP-AUTH-001');
    const created = await svc.call('POST', '/api/v1/tokens', { body: { name: 'dashboards', role: 'viewer' } });
    assert.equal(created.status, 201);
    const viewer = created.body.token as string;
    assert.match(viewer, /^kup_/);
    assert.equal((await svc.call('GET', '/api/v1/clusters', { token: viewer })).status, 200);
    const refused = await svc.call('POST', '/api/v1/clusters', {
      token: viewer,
      body: { name: 'x', provider: 'sim', kubeconfig: 'x' },
    });
    assert.equal(refused.status, 403);
    envelope(refused.body, 'KUP-AUTH-002');
    assert.match(refused.body.error.message, /needs the admin role; this token is viewer/);
    assert.equal((await svc.call('GET', '/api/v1/tokens', { token: viewer })).status, 403);
    // The token list shows no secret and no hash.
    const tokens = await svc.call('GET', '/api/v1/tokens');
    assert.equal(tokens.status, 200);
    assert.ok(!JSON.stringify(tokens.body).includes(viewer));
    assert.ok(tokens.body.items.every((t: Record<string, unknown>) => !('tokenHash' in t) && !('token' in t)));
    // Revoked: the token authenticates nothing any more.
    assert.equal((await svc.call('DELETE', `/api/v1/tokens/${created.body.id}`)).status, 200);
    envelope((await svc.call('GET', '/api/v1/clusters', { token: viewer })).body, 'KUP-AUTH-001');
    envelope((await svc.call('DELETE', `/api/v1/tokens/${created.body.id}`)).body, 'KUP-API-409');
    const audit = await svc.call('GET', '/api/v1/audit');
    const entries = audit.body.items as {
      actor: string;
      action: string;
      status: number;
      outcome: string;
      code: string | null;
    }[];
    assert.ok(
      entries.some(
        (e) =>
          e.actor === created.body.id &&
          e.action === 'POST /api/v1/clusters' &&
          e.status === 403 &&
          e.outcome === 'refused' &&
          e.code === 'KUP-AUTH-002',
      ),
    );
    assert.ok(entries.some((e) => e.action === 'POST /api/v1/tokens' && e.outcome === 'succeeded'));
  });

  it('answers malformed input and unknown ids with a 4xx naming the field, never a 500', async () => {
    const badName = await svc.call('POST', '/api/v1/clusters', {
      body: { name: 'Not_A_Label', provider: 'sim', kubeconfig: 'x' },
    });
    assert.equal(badName.status, 400);
    envelope(badName.body, 'KUP-API-001', 'body.name');
    envelope(
      (await svc.call('POST', '/api/v1/clusters', { body: { name: 'a', provider: 'sim', kubeconfig: 'x', extra: 1 } }))
        .body,
      'KUP-API-001',
      'body.extra',
    );
    const notJson = await svc.call('POST', '/api/v1/runs', {
      body: '{"cluster": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    envelope(notJson.body, 'KUP-API-003');
    const garbage = await svc.call('POST', '/api/v1/clusters', {
      body: { name: 'garbage', provider: 'sim', kubeconfig: ': not yaml: [' },
    });
    assert.equal(garbage.status, 400);
    envelope(garbage.body, 'KUP-REGISTRY-002', 'body.kubeconfig');
    envelope(
      (await svc.call('POST', '/api/v1/clusters', { body: { name: 'both', provider: 'sim' } })).body,
      'KUP-API-001',
      'body.kubeconfig',
    );
    envelope((await svc.call('GET', '/api/v1/runs?limit=abc')).body, 'KUP-API-001', 'querystring.limit');
    envelope(
      (
        await svc.call('POST', '/api/v1/runs', {
          body: { cluster: 'ghost', to: TO, run: { drainTimeoutPolicy: 'sometimes' } },
        })
      ).body,
      'KUP-API-001',
    );
    const unknownRun = await svc.call('GET', '/api/v1/runs/run-nope');
    assert.equal(unknownRun.status, 404);
    envelope(unknownRun.body, 'KUP-RUN-404');
    assert.equal((await svc.call('POST', '/api/v1/runs/run-nope/pause')).status, 404);
    assert.equal((await svc.call('GET', '/api/v1/clusters/ghost')).status, 404);
    assert.equal((await svc.call('POST', '/api/v1/runs', { body: { cluster: 'ghost', to: TO } })).status, 404);
    assert.equal((await svc.call('GET', '/api/v1/prechecks/pre-nope')).status, 404);
    envelope((await svc.call('GET', '/api/v1/nowhere')).body, 'KUP-API-002');
    envelope(
      (await svc.call('GET', '/api/v1/events', { headers: { 'last-event-id': 'yesterday' } })).body,
      'KUP-API-001',
      'headers.last-event-id',
    );
  });

  it('registers a cluster from an uploaded kubeconfig, sealed at rest and never returned, and lists it with its version and pools', async () => {
    const res = await svc.call('POST', '/api/v1/clusters', {
      body: { name: 'shop', provider: 'sim', kubeconfig: sim.kubeconfig },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.kubeconfig, 'uploaded');
    assert.equal(res.body.server, sim.url);
    assert.equal(res.body.version, `v${FROM}`);
    assert.deepEqual(
      res.body.pools.map((p: { name: string; nodes: number }) => [p.name, p.nodes]),
      [['workers', 3]],
    );
    assert.ok(!JSON.stringify(res.body).includes(sim.token), 'the token of the kubeconfig is not in the answer');
    const dup = await svc.call('POST', '/api/v1/clusters', {
      body: { name: 'shop', provider: 'sim', kubeconfig: sim.kubeconfig },
    });
    assert.equal(dup.status, 409);
    envelope(dup.body, 'KUP-REGISTRY-005');
    const list = await svc.call('GET', '/api/v1/clusters');
    const shop = list.body.items.find((c: { name: string }) => c.name === 'shop');
    assert.equal(shop.health.reachable, true);
    assert.equal(shop.upgrades.known, true);
    assert.ok(!JSON.stringify(list.body).includes(sim.token));
    // At rest: neither the token nor the CA is in the database in clear.
    const db =
      readFileSync(join(svc.dataDir, 'kup.db')).toString('latin1') +
      readFileSync(join(svc.dataDir, 'kup.db-wal')).toString('latin1');
    assert.ok(!db.includes(sim.token), 'the kubeconfig token is not stored in clear');
    assert.ok(!db.includes('BEGIN CERTIFICATE'), 'the kubeconfig CA is not stored in clear');
    const versions = await svc.call('GET', '/api/v1/clusters/shop/versions');
    assert.equal(versions.status, 200);
    assert.equal(versions.body.version, `v${FROM}`);
  });

  it('lists the fleet by name in pages (limit and continue), each cluster without its lists of versions', async () => {
    for (const name of ['shop-b', 'shop-a'])
      assert.equal(
        (await svc.call('POST', '/api/v1/clusters', { body: { name, provider: 'sim', kubeconfig: sim.kubeconfig } }))
          .status,
        201,
      );
    const whole = await svc.call('GET', '/api/v1/clusters');
    const names = whole.body.items.map((c: { name: string }) => c.name);
    assert.deepEqual(names, ['shop', 'shop-a', 'shop-b']);
    assert.equal(whole.body.continue, undefined, 'one page holds the whole fleet when no limit is given');
    const shop = whole.body.items[0];
    assert.equal(shop.upgrades.known, true);
    assert.equal(typeof shop.upgrades.summary, 'string');
    assert.ok(!('patches' in shop.upgrades) && !('nextMinor' in shop.upgrades), JSON.stringify(shop.upgrades));
    const one = await svc.call('GET', '/api/v1/clusters/shop');
    assert.ok(Array.isArray(one.body.upgrades.patches) && Array.isArray(one.body.upgrades.nextMinor));

    const first = await svc.call('GET', '/api/v1/clusters?limit=2');
    assert.deepEqual(
      first.body.items.map((c: { name: string }) => c.name),
      ['shop', 'shop-a'],
    );
    assert.equal(typeof first.body.continue, 'string');
    const second = await svc.call('GET', `/api/v1/clusters?limit=2&continue=${first.body.continue}`);
    assert.deepEqual(
      second.body.items.map((c: { name: string }) => c.name),
      ['shop-b'],
    );
    assert.equal(second.body.continue, undefined, 'the last page has no continue token');
    // A cluster removed between pages does not shift the next page: the token names where the last page ended.
    assert.equal((await svc.call('DELETE', '/api/v1/clusters/shop-a')).status, 200);
    const after = await svc.call('GET', `/api/v1/clusters?limit=2&continue=${first.body.continue}`);
    assert.deepEqual(
      after.body.items.map((c: { name: string }) => c.name),
      ['shop-b'],
    );
    assert.equal((await svc.call('DELETE', '/api/v1/clusters/shop-b')).status, 200);

    const forged = await svc.call('GET', '/api/v1/clusters?continue=not%20a%20token');
    assert.equal(forged.status, 400);
    envelope(forged.body, 'KUP-API-001', 'query.continue');
    const zero = await svc.call('GET', '/api/v1/clusters?limit=0');
    assert.equal(zero.status, 400);
    envelope(zero.body, 'KUP-API-001');
  });

  it('runs and keeps a precheck', async () => {
    const run = await svc.call('POST', '/api/v1/clusters/shop/prechecks', { body: { to: TO } });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    assert.match(run.body.id, /^pre-/);
    assert.equal(run.body.target, TO);
    assert.equal(typeof run.body.text, 'string');
    const got = await svc.call('GET', `/api/v1/prechecks/${run.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.blockers, run.body.blockers);
    assert.equal(got.body.report.kind, 'PrecheckReport');
    const list = await svc.call('GET', '/api/v1/prechecks?cluster=shop');
    assert.deepEqual(
      list.body.items.map((p: { id: string }) => p.id),
      [run.body.id],
    );
  });

  it('drives a run itself; the fleet stream resumes across a reconnect with no gap and no duplicate; conflicts are 409', async () => {
    const plan = await svc.call('POST', '/api/v1/clusters/shop/plans', { body: { to: TO } });
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    assert.match(plan.body.text, new RegExp(`Plan for shop: ${FROM} -> ${TO}`));
    const first = await svc.call('GET', '/api/v1/events?limit=1000');
    const startAfter = first.body.next as number;
    const created = await svc.call('POST', '/api/v1/runs', { body: { cluster: 'shop', to: `v${TO}` } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id as string;
    const busy = await svc.call('POST', '/api/v1/runs', { body: { cluster: 'shop', to: TO } });
    assert.equal(busy.status, 409);
    envelope(busy.body, 'KUP-STORE-012');
    // An operator may not pick the force policy: it is the admin's.
    const operator = (await svc.call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'operator' } })).body
      .token as string;
    envelope(
      (
        await svc.call('POST', '/api/v1/runs', {
          token: operator,
          body: { cluster: 'shop', to: TO, run: { drainTimeoutPolicy: 'force' } },
        })
      ).body,
      'KUP-AUTH-002',
    );

    // Read part of the run's events, drop the connection, and resume from the last id while the run goes on.
    const ended = (events: readonly SseEvent[]) =>
      events.some(
        (e) =>
          e.data.runId === runId &&
          (e.data.outcome === 'succeeded' || e.data.outcome === 'failed') &&
          e.data.step === 'run',
      );
    const part1 = await readSse(`${svc.url}/api/v1/events?after=${startAfter}`, svc.adminToken, {
      until: (events) => events.length >= 5 || ended(events),
      signal: AbortSignal.timeout(60_000),
    });
    const last = part1[part1.length - 1]?.id ?? startAfter;
    const part2 = await readSse(`${svc.url}/api/v1/events`, svc.adminToken, {
      lastEventId: last,
      until: (events) =>
        ended([...part1, ...events]) ||
        events.some((e) => e.data.runId === runId && e.data.outcome === 'succeeded' && e.data.step === 'run'),
      signal: AbortSignal.timeout(120_000),
    });
    await waitFor(async () => (await svc.call('GET', `/api/v1/runs/${runId}`)).body.active === false, {
      timeoutMs: 60_000,
      message: 'the run to end',
    }).catch(() => undefined);
    const detail = await svc.call('GET', `/api/v1/runs/${runId}`);
    assert.equal(detail.body.phase, 'succeeded', detail.body.summary);
    const seen = [...part1, ...part2].map((e) => e.id);
    assert.ok(part1.length > 0 && part2.length > 0, 'events arrived before and after the reconnect');
    assert.equal(new Set(seen).size, seen.length, 'no event twice');
    const stored = (await svc.service.store.events.listAll({ afterId: startAfter, limit: 10_000 }))
      .filter((e) => e.id <= (seen[seen.length - 1] ?? 0))
      .map((e) => e.id);
    assert.deepEqual(seen, stored, 'every event committed, in id order, none missing');

    // The per-run page and stream agree with the store.
    const page = await svc.call('GET', `/api/v1/runs/${runId}/events?limit=1000`);
    assert.deepEqual(
      page.body.items.map((e: { seq: number }) => e.seq),
      page.body.items.map((_: unknown, i: number) => i + 1),
    );

    const pause = await svc.call('POST', `/api/v1/runs/${runId}/pause`, { token: operator });
    assert.equal(pause.status, 409);
    envelope(pause.body, 'KUP-RUN-001');
    envelope((await svc.call('POST', `/api/v1/runs/${runId}/rollback`, { token: operator })).body, 'KUP-AUTH-002');
    envelope(
      (await svc.call('POST', `/api/v1/runs/${runId}/cancel`, { body: { replaceNode: true } })).body,
      'KUP-API-001',
      'body.replaceNode',
    );

    const list = await svc.call('GET', '/api/v1/runs?cluster=shop');
    assert.deepEqual(
      list.body.items.map((r: { id: string }) => r.id),
      [runId],
    );
    const cluster = await svc.call('GET', '/api/v1/clusters/shop');
    assert.equal(cluster.body.version, `v${TO}`);
    const snapshots = await svc.call('GET', '/api/v1/clusters/shop/snapshots');
    assert.equal(snapshots.body.items.length, 1);

    const metrics = await fetch(`${svc.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /^kup_runs\{phase="succeeded"\} 1$/m);
    assert.match(metrics, /^kup_step_duration_seconds_count\{action="drain"\} [1-9]/m);
    assert.match(metrics, /^kup_drain_duration_seconds_count\{cluster="shop"\} [1-9]/m);
    assert.match(metrics, /^kup_cluster_sessions_active 0$/m);
  });

  it('writes no secret to its log', () => {
    const text = svc.logs.join('\n');
    assert.ok(text.length > 0);
    assert.ok(text.includes('"run":'), 'log lines carry run ids');
    assert.ok(!text.includes(svc.adminToken), 'no admin token');
    assert.ok(!text.includes(sim.token), 'no cluster token');
    assert.ok(!text.includes('BEGIN CERTIFICATE'), 'no kubeconfig');
  });

  it('serves its OpenAPI 3.1 document without a token', async () => {
    const doc = (await svc.call('GET', '/api/v1/openapi.json', { token: null })).body;
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/api/v1/clusters',
      '/api/v1/runs',
      '/api/v1/runs/{id}/events',
      '/api/v1/events',
      '/api/v1/catalog',
      '/api/v1/tokens',
      '/api/v1/audit',
      '/api/v1/prechecks',
    ]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
    assert.ok(doc.paths['/api/v1/runs'].post.responses['409'], 'conflicts are documented');
  });
});
