/**
 * Webhooks end to end over real HTTP: configured through the API and `kup webhook`, delivered by the service's worker
 * to loopback receivers as signed CloudEvents while a run moves on a simulated cluster. A receiver that fails gets
 * retries; removing a webhook mid-run stops its deliveries; the secret is never shown again and is sealed at rest.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { verifySignature } from '../../src/notifications/cloudevents.ts';
import { FAST_TIMINGS, kupProcess } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';

const SCENARIO = `
kubernetesVersion: '1.35.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
${FAST_TIMINGS}
`;

interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** A receiver on loopback that answers `status(delivery)` and keeps every request. */
async function receiver(status: (d: Delivery) => number): Promise<{ url: string; got: Delivery[]; server: Server }> {
  const got: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const d = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      got.push(d);
      res.statusCode = status(d);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

function header(d: Delivery, name: string): string | undefined {
  const v = d.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether a delivery carries a good signature of its body with `secret`. */
function signedWith(secret: string, d: Delivery): boolean {
  const verdict = verifySignature(
    secret,
    {
      id: header(d, 'webhook-id'),
      timestamp: header(d, 'webhook-timestamp'),
      signature: header(d, 'webhook-signature'),
    },
    d.body,
    d.at,
  );
  return verdict === undefined;
}

/** The global id of a run event's notification (`run-event-<id>`). */
const globalId = (d: Delivery): number => Number(/^run-event-(\d+)$/.exec(header(d, 'webhook-id') ?? '')?.[1] ?? NaN);

let sim: SimCluster;
let svc: TestService;

before(async () => {
  sim = await startFromYaml(SCENARIO);
  svc = await startService({ webhooks: { pollMs: 100, retryBaseMs: 200 } });
  process.env['KUP_TOKEN'] = svc.adminToken;
});

after(async () => {
  await svc?.close();
  await sim?.stop();
});

describe('webhooks through the API', { timeout: 300_000 }, () => {
  it('delivers a run as signed CloudEvents, retries a failing receiver, and stops for a removed webhook', async () => {
    const ops = await receiver(() => 204);
    /** Each notification fails twice (503), then is taken. */
    const tries = new Map<string, number>();
    const flaky = await receiver((d) => {
      const id = header(d, 'webhook-id') ?? '';
      tries.set(id, (tries.get(id) ?? 0) + 1);
      return (tries.get(id) ?? 0) <= 2 ? 503 : 204;
    });
    try {
      const kubeconfigPath = join(svc.dataDir, 'shop.kubeconfig');
      writeFileSync(kubeconfigPath, sim.kubeconfig, { mode: 0o600 });
      assert.equal(
        (await svc.call('POST', '/api/v1/clusters', { body: { name: 'shop', provider: 'sim', kubeconfigPath } }))
          .status,
        201,
      );

      // ops through the CLI, its secret made by the service and printed once; flaky through the API with its own.
      const added = await kupProcess(svc.dataDir, ['webhook', 'add', 'ops', '--url', ops.url, '--server', svc.url]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, new RegExp(`^webhook ops added: ${ops.url} \\(every event\\)$`, 'm'));
      const opsSecret =
        /^signing secret \(shown once; give it to the receiver\): (\S+)$/m.exec(added.stdout)?.[1] ?? '';
      assert.ok(opsSecret.length >= 32, added.stdout);
      const flakySecret = 'a-secret-of-the-flaky-receiver';
      const created = await svc.call('POST', '/api/v1/webhooks', {
        body: { name: 'flaky', url: flaky.url, types: ['dev.kup.run.'], secret: flakySecret },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.secret, flakySecret);

      // Refusals: a second webhook of one name, a URL that is not http(s), a type kup never sends, an operator.
      const again = await svc.call('POST', '/api/v1/webhooks', { body: { name: 'ops', url: ops.url } });
      assert.equal(again.status, 409);
      const ftp = await svc.call('POST', '/api/v1/webhooks', { body: { name: 'x', url: 'ftp://127.0.0.1/' } });
      assert.deepEqual([ftp.status, ftp.body.error.field], [400, 'body.url']);
      const badType = await svc.call('POST', '/api/v1/webhooks', { body: { name: 'x', url: ops.url, types: ['x.y'] } });
      assert.equal(badType.status, 400);
      const operator = await svc.call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'operator' } });
      const asOperator = await svc.call('GET', '/api/v1/webhooks', { token: operator.body.token as string });
      assert.equal(asOperator.status, 403);
      assert.equal((await svc.call('DELETE', '/api/v1/webhooks/nowhere')).status, 404);

      // The secrets are never shown again, and the store has them sealed.
      const listed = await svc.call('GET', '/api/v1/webhooks');
      assert.deepEqual(
        (listed.body.items as { name: string }[]).map((w) => w.name),
        ['flaky', 'ops'],
      );
      const listedText = JSON.stringify(listed.body);
      assert.ok(!listedText.includes(opsSecret) && !listedText.includes(flakySecret) && !listedText.includes('secret'));
      for (const row of await svc.service.store.webhookOutbox.webhooks()) {
        assert.match(row.secret, /^v1\./);
        assert.ok(!row.secret.includes(opsSecret) && !row.secret.includes(flakySecret));
      }

      const run = await svc.call('POST', '/api/v1/runs', {
        body: { cluster: 'shop', to: '1.36.1', poolOptions: { batchPolicy: 'fixed:1' }, soakMs: 4000 },
      });
      assert.equal(run.status, 201, JSON.stringify(run.body));
      const runId = run.body.id as string;

      // Mid-run, ops is removed through the CLI once it has some events.
      await waitFor(() => ops.got.length >= 3, { timeoutMs: 60_000, message: 'ops receiving the run' });
      const removed = await kupProcess(svc.dataDir, ['webhook', 'remove', 'ops', '--server', svc.url]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /^webhook ops removed/);
      const lastBefore = (await svc.call('GET', `/api/v1/runs/${runId}/events?limit=1000`)).body.next as number;

      await waitFor(async () => (await svc.call('GET', `/api/v1/runs/${runId}`)).body.active === false, {
        timeoutMs: 120_000,
        message: 'the run to end',
      });
      const events = (await svc.call('GET', `/api/v1/runs/${runId}/events?limit=1000`)).body.items as {
        id: number;
        outcome: string;
      }[];
      assert.equal((await svc.call('GET', `/api/v1/runs/${runId}`)).body.phase, 'succeeded');
      const all = events.map((e) => `run-event-${e.id}`);
      await waitFor(
        async () => {
          const flakyNow = (await svc.call('GET', '/api/v1/webhooks/flaky')).body;
          return flakyNow.deliveries.pending === 0 && flakyNow.deliveries.delivered >= all.length;
        },
        { timeoutMs: 120_000, message: 'flaky to get every event of the run' },
      );

      // ops: signed CloudEvents of the run, and none written after its removal.
      assert.ok(
        ops.got.every((d) => signedWith(opsSecret, d)),
        'every delivery to ops is signed with its secret',
      );
      for (const d of ops.got) {
        assert.equal(header(d, 'content-type'), 'application/cloudevents+json; charset=utf-8');
        const event = JSON.parse(d.body) as { specversion: string; id: string; subject: string; type: string };
        assert.equal(event.specversion, '1.0');
        assert.equal(event.id, header(d, 'webhook-id'));
        assert.equal(event.subject, `runs/${runId}`);
        assert.match(event.type, /^dev\.kup\.run\.[a-z0-9-]+$/);
      }
      assert.ok(
        ops.got.every((d) => globalId(d) <= lastBefore),
        'nothing written after the removal reached ops',
      );
      assert.ok(
        events.some((e) => e.id > lastBefore),
        'the run wrote events after the removal (the removal landed mid-run)',
      );

      // flaky: each event twice refused, then taken the third time, signed each time with its secret.
      const flakyIds = new Set(flaky.got.map((d) => header(d, 'webhook-id')));
      assert.deepEqual([...flakyIds].sort(), [...all].sort(), 'every event of the run, and nothing else');
      assert.ok(
        [...tries.values()].every((n) => n === 3),
        JSON.stringify([...tries]),
      );
      assert.ok(flaky.got.every((d) => signedWith(flakySecret, d)));
      const shown = await kupProcess(svc.dataDir, ['webhook', 'show', 'flaky', '--server', svc.url]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`^deliveries: ${all.length} delivered, 0 pending, 0 failed$`, 'm'));
      assert.match(shown.stdout, /delivered +3 /);
      const list = await kupProcess(svc.dataDir, ['webhook', 'list', '--server', svc.url]);
      assert.match(list.stdout, /^NAME +URL +TYPES +DELIVERED +PENDING +FAILED +LAST ERROR\nflaky +http/m);

      // Who did what: the audit log has both webhook changes, and no secret.
      const audit = (await svc.call('GET', '/api/v1/audit')).body as { items: { action: string; target: string }[] };
      const actions = audit.items.map((a) => `${a.action} ${a.target}`);
      assert.ok(actions.includes('POST /api/v1/webhooks ops'), actions.join('\n'));
      assert.ok(actions.includes('DELETE /api/v1/webhooks/:name ops'), actions.join('\n'));
      assert.ok(!svc.logs.some((l) => l.includes(opsSecret) || l.includes(flakySecret)), 'no secret in the log');
    } finally {
      await new Promise<void>((resolve) => ops.server.close(() => resolve()));
      await new Promise<void>((resolve) => flaky.server.close(() => resolve()));
    }
  });

  it('kup webhook without a service says how to name one', async () => {
    const saved = process.env['KUP_SERVER'];
    delete process.env['KUP_SERVER'];
    try {
      const out = await kupProcess(svc.dataDir, ['webhook', 'list']);
      assert.equal(out.code, 2);
      assert.match(out.stderr, /give --server URL or set KUP_SERVER/);
    } finally {
      if (saved !== undefined) process.env['KUP_SERVER'] = saved;
    }
  });
});
