import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  deliverOnce,
  retryDelayMs,
  rolloutCloudEvent,
  runCloudEvent,
  signatureHeaders,
  verifySignature,
} from './cloudevents.ts';

const SECRET = 'whsec-test-secret';
const NOW = Date.parse('2026-12-07T10:00:00Z');

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

describe('CloudEvents of run and rollout events', () => {
  it('maps a run event and a rollout entry to structured CloudEvents 1.0 with stable ids', () => {
    const run = runCloudEvent('urn:kup:test', {
      id: 42,
      runId: 'run-1',
      seq: 7,
      at: NOW,
      step: 'pool/app/batch-2',
      outcome: 'window-closed',
      message: 'the window ended',
    });
    assert.deepEqual(run, {
      specversion: '1.0',
      id: 'run-event-42',
      source: 'urn:kup:test',
      type: 'dev.kup.run.window-closed',
      subject: 'runs/run-1',
      time: '2026-12-07T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: { run: 'run-1', seq: 7, step: 'pool/app/batch-2', outcome: 'window-closed', message: 'the window ended' },
    });
    const rollout = rolloutCloudEvent('urn:kup:test', 'ro-1', {
      seq: 3,
      at: NOW,
      outcome: 'paused',
      stage: 'staging',
      cluster: 'stg-1',
      message: 'gate: crash-looping pods',
    });
    assert.equal(rollout.id, 'rollout-ro-1-3');
    assert.equal(rollout.type, 'dev.kup.rollout.paused');
    assert.deepEqual(rollout.data, {
      rollout: 'ro-1',
      seq: 3,
      outcome: 'paused',
      stage: 'staging',
      cluster: 'stg-1',
      message: 'gate: crash-looping pods',
    });
  });

  it('signs so that a receiver accepts the body as sent and refuses a changed body, a wrong key or an old timestamp', () => {
    const body = '{"a":1}';
    const h = signatureHeaders(SECRET, 'msg-1', NOW, body);
    const parts = { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
    assert.equal(parts.timestamp, String(NOW / 1000));
    assert.match(parts.signature ?? '', /^v1,[A-Za-z0-9+/]+=*$/);
    assert.equal(verifySignature(SECRET, parts, body, NOW), undefined);
    assert.equal(verifySignature(SECRET, parts, '{"a":2}', NOW), 'no signature matches');
    assert.equal(verifySignature('other', parts, body, NOW), 'no signature matches');
    assert.match(verifySignature(SECRET, parts, body, NOW + 301_000) ?? '', /outside the tolerance/);
    assert.match(verifySignature(SECRET, { id: 'msg-1' }, body, NOW) ?? '', /missing/);
  });

  it('waits exponentially longer between attempts, with jitter, up to a cap', () => {
    assert.equal(retryDelayMs(1, 0), 2_500);
    assert.equal(retryDelayMs(1, 0.999_999), 4_999);
    assert.equal(retryDelayMs(3, 0), 10_000);
    assert.equal(retryDelayMs(3, 0.5), 15_000);
    assert.equal(retryDelayMs(30, 0), 1_800_000);
    assert.ok(retryDelayMs(30, 0.999_999) < 3_600_000);
  });
});

describe('one delivery to a real receiver on loopback', () => {
  const received: Received[] = [];
  let answer = 204;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answer;
      res.end();
    });
  });
  let url = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  const event = runCloudEvent('urn:kup:test', {
    id: 9,
    runId: 'run-9',
    seq: 1,
    at: NOW,
    step: 'run',
    outcome: 'paused',
    message: 'paused by the operator',
  });

  it('posts the structured event, signed; the receiver verifies it', async () => {
    answer = 204;
    assert.deepEqual(await deliverOnce({ url, secret: SECRET }, event, NOW), { delivered: true, status: 204 });
    const got = received.at(-1);
    assert.ok(got);
    assert.equal(got.headers['content-type'], CLOUDEVENTS_CONTENT_TYPE);
    assert.deepEqual(JSON.parse(got.body), event);
    const header = (name: string): string | undefined => {
      const v = got.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const verdict = verifySignature(
      SECRET,
      { id: header('webhook-id'), timestamp: header('webhook-timestamp'), signature: header('webhook-signature') },
      got.body,
      NOW,
    );
    assert.equal(verdict, undefined);
    assert.equal(header('webhook-id'), 'run-event-9');
  });

  it('says whether a failure is worth a retry: 5xx, 429 and a dead receiver are; a 4xx refusal is not', async () => {
    answer = 503;
    assert.deepEqual(await deliverOnce({ url, secret: SECRET }, event, NOW), {
      delivered: false,
      retry: true,
      reason: 'the receiver answered 503',
    });
    answer = 429;
    assert.equal((await deliverOnce({ url, secret: SECRET }, event, NOW)).delivered, false);
    answer = 410;
    assert.deepEqual(await deliverOnce({ url, secret: SECRET }, event, NOW), {
      delivered: false,
      retry: false,
      reason: 'the receiver answered 410',
    });
    // A port nothing listens on: refused at once, worth a retry later.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const outcome = await deliverOnce({ url: deadUrl, secret: SECRET }, event, NOW);
    assert.equal(outcome.delivered, false);
    assert.equal(outcome.delivered === false && outcome.retry, true);
  });
});
