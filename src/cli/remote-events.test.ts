/**
 * The CLI's follower of a run's event stream against a loopback server speaking SSE: a dropped connection is opened
 * again with Last-Event-ID, an event sent again is not yielded twice, and a refusal ends the stream with its error.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../clock/clock.ts';
import { followRunEvents } from './remote-events.ts';
import type { RemoteRunEvent } from './remote-events.ts';
import { RemoteClient, RemoteError } from './remote.ts';

function frame(id: number): string {
  const event = {
    id,
    runId: 'run-1',
    seq: id,
    at: '2026-12-07T10:00:00.000Z',
    step: 'run',
    outcome: 'ok',
    message: `e${id}`,
  };
  return `id: ${id}\nevent: run-event\ndata: ${JSON.stringify(event)}\n\n`;
}

describe('followRunEvents', () => {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    if (requests.length === 1) {
      // Two events and a comment, then the connection breaks.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`retry: 2000\n: kup events\n\n${frame(1)}${frame(2)}`);
      setImmediate(() => res.socket?.destroy());
    } else if (requests.length === 2) {
      // A server that resends the last event read: it is not yielded again.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${frame(2)}${frame(3)}`);
    } else {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'KUP-AUTH-001', kind: 'unauthorized', message: 'KUP-AUTH-001: token revoked' },
        }),
      );
    }
  });
  let url = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reconnects after the last event read, yields each event once, and ends with the refusal', async () => {
    const seen: RemoteRunEvent[] = [];
    const opens: boolean[] = [];
    const following = (async () => {
      for await (const item of followRunEvents(new RemoteClient(url, 'kup_t'), 'run-1', {
        clock: systemClock,
        signal: AbortSignal.timeout(30_000),
      })) {
        if (item.type === 'open') opens.push(item.reconnect);
        else seen.push(...item.events);
      }
    })();
    await assert.rejects(following, (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.code, 'KUP-AUTH-001');
      return true;
    });
    assert.deepEqual(
      seen.map((e) => e.message),
      ['e1', 'e2', 'e3'],
    );
    assert.deepEqual(opens, [false, true]);
    assert.equal(requests[0]?.['last-event-id'], undefined);
    assert.equal(requests[1]?.['last-event-id'], '2');
    assert.equal(requests[2]?.['last-event-id'], '3');
    assert.equal(requests[0]?.['accept'], 'text/event-stream');
    assert.equal(requests[0]?.['authorization'], 'Bearer kup_t');
  });
});
