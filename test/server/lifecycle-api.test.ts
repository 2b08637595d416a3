import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';
import { builtInProviders } from '../../src/providers/registry.ts';
import type { ServerApp } from '../../src/server/app.ts';
import { buildApp } from '../../src/server/app.ts';
import { SecretBox } from '../../src/server/secrets.ts';
import { KupService } from '../../src/server/service.ts';

let app: ServerApp;
let service: KupService;
let token: string;

/** A response body as the tests read it (the API's documents are checked field by field). */
interface Body {
  readonly id: string;
  readonly status: { readonly phase: string };
  readonly stages: readonly { readonly clusters: readonly string[] }[];
  readonly events: readonly { readonly outcome: string }[];
  readonly items: readonly unknown[];
  readonly labels: unknown;
  readonly policy: unknown;
  readonly schedule: { readonly windows: readonly { readonly days: readonly string[] }[] };
  readonly error: { readonly code: string; readonly field?: string; readonly message: string };
}

async function call(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  payload?: unknown,
): Promise<{ status: number; body: Body }> {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}) },
    ...(method !== 'GET' ? { payload: JSON.stringify(payload ?? {}) } : {}),
  });
  return { status: res.statusCode, body: res.json<Body>() };
}

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kup-lifecycle-api-'));
  const store = openSqliteStore({ dataDir });
  // Clusters as the registry stores them; nothing here reads them (no cluster needs to answer).
  for (const name of ['dev-1', 'stg-1', 'prod-1'])
    await store.clusters.add({
      name,
      kubeconfigPath: join(dataDir, `${name}.kubeconfig`),
      provider: 'sim',
      providerSettings: {},
      addedAt: 1,
    });
  service = new KupService({
    dataDir,
    store,
    clock: new ManualClock(Date.UTC(2026, 11, 7, 9)),
    providers: builtInProviders(),
    secrets: new SecretBox(randomBytes(32)),
    log: pino({ level: 'silent' }),
  });
  token = (await service.ensureAdminToken()) ?? '';
  await service.start();
  app = await buildApp(service);
  await app.ready();
});

after(async () => {
  await app.close();
  await service.stop();
});

describe('maintenance through the API', () => {
  it('refuses a bad window naming the field, stores a good schedule, policy and labels', async () => {
    const bad = await call('PUT', '/api/v1/clusters/dev-1/maintenance', {
      schedule: { windows: [{ days: ['sat'], start: '25:00', durationMinutes: 60, timeZone: 'UTC' }] },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'KUP-MAINT-001');
    assert.equal(bad.body.error.field, 'windows[0].start');
    const good = await call('PUT', '/api/v1/clusters/dev-1/maintenance', {
      labels: { env: 'dev' },
      schedule: { windows: [{ days: ['Saturday'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }] },
      policy: { kubernetes: 'stable', stableMinAgeDays: 14 },
    });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    const read = await call('GET', '/api/v1/clusters/dev-1/maintenance');
    assert.deepEqual(read.body.labels, { env: 'dev' });
    assert.deepEqual(read.body.schedule.windows[0]?.days, ['sat']);
    assert.deepEqual(read.body.policy, { kubernetes: 'stable', stableMinAgeDays: 14, images: 'none' });
    assert.equal((await call('GET', '/api/v1/clusters/nope/maintenance')).status, 404);
  });
});

describe('rollouts through the API', () => {
  it('creates a rollout over stages by label and name, and takes pause, resume and cancel; refuses what does not apply', async () => {
    await call('PUT', '/api/v1/clusters/stg-1/maintenance', { labels: { env: 'staging' } });
    const bad = await call('POST', '/api/v1/rollouts', {
      name: 'r',
      target: { to: '1.31.4' },
      stages: [{ name: 'x', clusters: { names: ['nope'] } }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'KUP-ROLLOUT-001');
    assert.equal(bad.body.error.field, 'stages[0].clusters.names[0]');
    const created = await call('POST', '/api/v1/rollouts', {
      name: 'to-1-31',
      target: { to: '1.31.4' },
      stages: [
        { name: 'dev', clusters: { labels: { env: 'dev' } }, soakMinutes: 10 },
        { name: 'staging', clusters: { labels: { env: 'staging' } }, soakMinutes: 30 },
        { name: 'prod', clusters: { names: ['prod-1'] }, approval: true },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    assert.deepEqual(
      created.body.stages.map((s) => s.clusters),
      [['dev-1'], ['stg-1'], ['prod-1']],
    );
    assert.equal(created.body.status.phase, 'running');
    const refused = await call('POST', `/api/v1/rollouts/${id}/approve`, { stage: 'dev' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /stage dev has no approval gate/);
    assert.equal((await call('POST', `/api/v1/rollouts/${id}/approve`, { stage: 'qa' })).status, 400);
    assert.equal(
      (await call('POST', `/api/v1/rollouts/${id}/pause`, { message: 'incident' })).body.status.phase,
      'paused',
    );
    // The body of a command is optional: no body and no Content-Type at all, as `curl -X POST` sends it.
    const bare = await app.inject({
      method: 'POST',
      url: `/api/v1/rollouts/${id}/resume`,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bare.statusCode, 200, bare.body);
    assert.equal(bare.json<Body>().status.phase, 'running');
    assert.equal((await call('POST', `/api/v1/rollouts/${id}/cancel`)).body.status.phase, 'cancelled');
    const shown = await call('GET', `/api/v1/rollouts/${id}`);
    assert.deepEqual(
      shown.body.events.map((e) => e.outcome),
      ['started', 'paused', 'resumed', 'cancelled'],
    );
    assert.equal((await call('GET', '/api/v1/rollouts?active=true')).body.items.length, 0);
    assert.equal((await call('GET', '/api/v1/rollouts/ro-none')).status, 404);
  });
});
