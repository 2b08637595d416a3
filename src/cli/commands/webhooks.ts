/**
 * `kup webhook add|list|show|remove`: the webhooks of a running service (`--server URL` or KUP_SERVER; admin token).
 * Webhooks are delivered by `kup serve`'s worker, so there is no local form. Exit codes: 0 done, 1 refused or failed,
 * 2 bad input.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIo } from '../io.ts';
import { UsageError } from '../io.ts';
import type { RemoteClient } from '../remote.ts';
import { table } from './cluster.ts';

/** Usage of `kup webhook`. */
export const WEBHOOK_USAGE = `Usage:
  kup webhook add NAME --url URL [--type TYPE]... [--secret-file F] --server URL
  kup webhook list --server URL
  kup webhook show NAME --server URL
  kup webhook remove NAME --server URL

The service POSTs every run and rollout event, from the webhook's creation on, to each webhook that wants its type, as
a CloudEvent (structured JSON, Content-Type application/cloudevents+json), signed the Standard Webhooks way: headers
webhook-id (the CloudEvent id, the same on every attempt), webhook-timestamp and webhook-signature
"v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed with the webhook's secret (its UTF-8 bytes). A receiver that
fails (a timeout, 408, 429, 5xx) is tried again with exponential backoff and jitter, 12 attempts over about 3 hours;
any other answer gives the event up. Delivery never holds a run.

Flags:
  --url URL          where to POST (http or https)
  --type TYPE        a CloudEvent type or prefix it wants (dev.kup.run., dev.kup.run.paused, dev.kup.rollout.);
                     repeat for several; none: every event
  --secret-file F    the signing secret (24 characters or more); without it the service makes one, printed once
  -o table|json      list and show

--server URL (or KUP_SERVER) names the service; the token (admin) comes from KUP_TOKEN or ~/.config/kup/config.json.`;

interface WebhookDoc {
  name: string;
  url: string;
  types: string[];
  createdAt: string;
  deliveries: { delivered: number; pending: number; failed: number };
  lastError: string | null;
}

interface DeliveryDoc {
  eventId: string;
  type: string;
  attempts: number;
  state: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
  lastError: string | null;
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        url: { type: 'string' },
        type: { type: 'string', multiple: true },
        'secret-file': { type: 'string' },
        output: { type: 'string', short: 'o' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${WEBHOOK_USAGE}`);
  }
}

/** `kup webhook ...` against the service; resolves to the exit code. */
export async function runWebhookCommand(client: RemoteClient, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args);
  const [verb, name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`kup webhook ${verb ?? ''}: unexpected "${extra.join(' ')}"`);
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: "${output}" is not one of table, json`);
  const path = (n: string) => `/api/v1/webhooks/${encodeURIComponent(n)}`;
  switch (verb) {
    case 'add': {
      if (!name) throw new UsageError('kup webhook add needs a NAME');
      if (values.url === undefined) throw new UsageError('kup webhook add needs --url URL');
      const secret = values['secret-file'] !== undefined ? readSecret(values['secret-file']) : undefined;
      const created = await client.call<WebhookDoc & { secret: string }>('POST', '/api/v1/webhooks', {
        name,
        url: values.url,
        ...(values.type !== undefined ? { types: values.type } : {}),
        ...(secret !== undefined ? { secret } : {}),
      });
      io.stdout.write(`webhook ${created.name} added: ${created.url} (${typesText(created.types)})\n`);
      if (secret === undefined)
        io.stdout.write(`signing secret (shown once; give it to the receiver): ${created.secret}\n`);
      return 0;
    }
    case 'list': {
      if (name) throw new UsageError(`kup webhook list takes no NAME ("${name}")`);
      const { items } = await client.call<{ items: WebhookDoc[] }>('GET', '/api/v1/webhooks');
      if (output === 'json') io.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
      else if (items.length === 0) io.stdout.write('No webhooks. Add one: kup webhook add NAME --url URL\n');
      else {
        const rows = [['NAME', 'URL', 'TYPES', 'DELIVERED', 'PENDING', 'FAILED', 'LAST ERROR']];
        for (const w of items)
          rows.push([
            w.name,
            w.url,
            typesText(w.types),
            String(w.deliveries.delivered),
            String(w.deliveries.pending),
            String(w.deliveries.failed),
            w.lastError ?? '-',
          ]);
        io.stdout.write(`${table(rows)}\n`);
      }
      return 0;
    }
    case 'show': {
      if (!name) throw new UsageError('kup webhook show needs a NAME');
      const hook = await client.call<WebhookDoc & { recent: DeliveryDoc[] }>('GET', path(name));
      if (output === 'json') {
        io.stdout.write(`${JSON.stringify(hook, null, 2)}\n`);
        return 0;
      }
      const d = hook.deliveries;
      io.stdout.write(
        `webhook ${hook.name}: ${hook.url} (${typesText(hook.types)}), added ${hook.createdAt}\n` +
          `deliveries: ${d.delivered} delivered, ${d.pending} pending, ${d.failed} failed\n`,
      );
      if (hook.recent.length > 0) {
        const rows = [['EVENT', 'TYPE', 'STATE', 'ATTEMPTS', 'WHEN', 'LAST ERROR']];
        for (const r of hook.recent)
          rows.push([
            r.eventId,
            r.type,
            r.state,
            String(r.attempts),
            r.deliveredAt ?? (r.nextAttemptAt !== null ? `next ${r.nextAttemptAt}` : '-'),
            r.lastError ?? '-',
          ]);
        io.stdout.write(`${table(rows)}\n`);
      }
      return 0;
    }
    case 'remove': {
      if (!name) throw new UsageError('kup webhook remove needs a NAME');
      const removed = await client.call<{ name: string; dropped: number }>('DELETE', path(name));
      io.stdout.write(
        `webhook ${removed.name} removed${removed.dropped > 0 ? ` (${removed.dropped} undelivered notification(s) dropped)` : ''}\n`,
      );
      return 0;
    }
    default:
      throw new UsageError(`kup webhook: "${verb ?? ''}" is not add, list, show or remove\n\n${WEBHOOK_USAGE}`);
  }
}

function typesText(types: readonly string[]): string {
  return types.length === 0 ? 'every event' : types.join(', ');
}

function readSecret(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`--secret-file: cannot read ${path}: ${(err as Error).message}`);
  }
  if (text.length < 24 || /\s/.test(text))
    throw new UsageError(`--secret-file: ${path} must hold one secret of 24 characters or more, without spaces`);
  return text;
}
