/**
 * Webhook notifications delivered by the service's worker to real receivers on loopback, on a ManualClock: a
 * receiver that fails twice gets the same signed CloudEvent a third time after the backoff; a dead receiver is given
 * up after its attempts and never holds the engine's writes or the other webhook's deliveries.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import { retryDelayMs, verifySignature } from '../../src/notifications/cloudevents.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';
import { WebhookWorker } from '../../src/server/webhooks.ts';

const T0 = Date.parse('2026-12-07T10:00:00Z');

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
}

describe('the webhook worker', () => {
  const clock = new ManualClock(T0);
  const received: Received[] = [];
  /** Each event fails twice, then is taken. */
  const attemptsOf = new Map<string, number>();
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: clock.now() });
      const id = String(req.headers['webhook-id']);
      attemptsOf.set(id, (attemptsOf.get(id) ?? 0) + 1);
      res.statusCode = (attemptsOf.get(id) ?? 0) <= 2 ? 503 : 204;
      res.end();
    });
  });
  let store: KupStore;
  let worker: WebhookWorker;
  const problems: string[] = [];

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    store = openSqliteStore({ dataDir: mkdtempSync(join(tmpdir(), 'kup-webhooks-')) });
    await store.clusters.add({
      name: 'prod',
      kubeconfigPath: '/dev/null',
      provider: 'sim',
      providerSettings: {},
      addedAt: T0,
    });
    await store.runs.create({
      id: 'run-1',
      cluster: 'prod',
      target: '1.31.4',
      plan: {},
      state: {},
      phase: 'pending',
      createdAt: T0,
    });
    const port = (receiver.address() as AddressInfo).port;
    await store.webhookOutbox.putWebhook({
      name: 'ops',
      url: `http://127.0.0.1:${port}/hook`,
      secret: 'sealed:ops-secret',
      types: ['dev.kup.run.paused', 'dev.kup.rollout.'],
      createdAt: T0,
    });
    await store.webhookOutbox.putWebhook({
      name: 'gone',
      url: `http://127.0.0.1:${deadPort}/`,
      secret: 'sealed:gone-secret',
      types: [],
      createdAt: T0,
    });
    worker = new WebhookWorker({
      store,
      clock,
      source: 'urn:kup:test',
      secretOf: (h) => h.secret.replace(/^sealed:/, ''),
      maxAttempts: 3,
      random: () => 0,
      onProblem: (m) => problems.push(m),
    });
  });

  after(async () => {
    await worker.stop();
    await store.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('retries a failing receiver with backoff and delivers the same signed event; gives a dead one up', async () => {
    await store.events.append('run-1', [
      { at: T0, step: 'run', outcome: 'started', message: 'started' },
      { at: T0, step: 'pool/app/batch-1', outcome: 'paused', message: 'the window ended' },
    ]);
    await store.rollouts.create(
      { id: 'ro-1', name: 'to-1-31', phase: 'running', active: true, state: {}, createdAt: T0, updatedAt: T0 },
      [{ seq: 1, at: T0, outcome: 'started', message: 'rollout started' }],
    );

    await worker.pass();
    // ops wants run pauses and rollout events (2 of the 3), gone wants everything (3); ops' first attempts fail.
    assert.equal(received.length, 2);
    const ids = received.map((r) => r.headers['webhook-id']).sort();
    assert.deepEqual(ids, ['rollout-ro-1-1', 'run-event-2']);
    await worker.pass();
    assert.equal(received.length, 2, 'nothing is due before its backoff');

    await clock.advance(retryDelayMs(1, 0));
    await worker.pass();
    assert.equal(received.length, 4, 'the second attempts fail too');
    await clock.advance(retryDelayMs(2, 0) - 1);
    await worker.pass();
    assert.equal(received.length, 4, 'the backoff doubled');
    await clock.advance(1);
    await worker.pass();
    assert.equal(received.length, 6, 'the third attempts are taken');

    for (const r of received) {
      const header = (name: string): string | undefined => {
        const v = r.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      const verdict = verifySignature(
        'ops-secret',
        { id: header('webhook-id'), timestamp: header('webhook-timestamp'), signature: header('webhook-signature') },
        r.body,
        r.at,
      );
      assert.equal(verdict, undefined);
      assert.equal((JSON.parse(r.body) as { id: string }).id, header('webhook-id'), 'the same event each time');
    }
    const ops = await store.webhookOutbox.list('ops');
    assert.deepEqual(
      ops.map((i) => [i.eventId, i.attempts, i.deliveredAt !== undefined]),
      [
        ['rollout-ro-1-1', 3, true],
        ['run-event-2', 3, true],
      ],
    );

    // The dead receiver: three attempts, then given up, named; nothing of it was waited for by the writes above.
    const gone = await store.webhookOutbox.list('gone');
    assert.equal(gone.length, 3);
    assert.ok(gone.every((i) => i.dead && i.attempts === 3 && i.deliveredAt === undefined));
    assert.equal(problems.filter((p) => p.startsWith('webhook gone:')).length, 3);
    assert.match(problems[0] ?? '', /given up after 3 attempt\(s\)/);
    assert.equal(await store.webhookOutbox.nextDue(), undefined, 'nothing left to try');

    // Read again, the same events enqueue nothing twice.
    await worker.pass();
    assert.equal((await store.webhookOutbox.list('ops')).length, 2);
  });
});
