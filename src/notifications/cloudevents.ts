/**
 * Webhook notifications of run and rollout events: the CloudEvents 1.0 envelope (structured mode, JSON), its
 * signature, one delivery attempt, and the retry schedule. The outbox that keeps undelivered notifications across
 * restarts and the worker that drains it inside `kup serve` build on these (see docs/adr/015-maintenance-windows-and-fleet-rollouts.md).
 *
 * The signature follows the Standard Webhooks scheme, which receivers have libraries for: headers `webhook-id`,
 * `webhook-timestamp` (seconds since the epoch) and `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`; a receiver checks the HMAC in constant time and refuses an old timestamp (replay).
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The media type of a structured-mode CloudEvent in JSON. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** A CloudEvent 1.0 in structured mode. */
export interface CloudEvent {
  readonly specversion: '1.0';
  /** Unique per source: a redelivery carries the same id, so a receiver can drop duplicates. */
  readonly id: string;
  /** The kup instance, a URI reference (e.g. `urn:kup:ops-1`). */
  readonly source: string;
  /** `dev.kup.run.<outcome>` or `dev.kup.rollout.<outcome>`. */
  readonly type: string;
  /** `runs/<id>` or `rollouts/<id>`. */
  readonly subject: string;
  /** RFC 3339. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: Readonly<Record<string, unknown>>;
}

/** A run's event as the store keeps it (global id, run, step, outcome...). */
export interface RunEventLike {
  readonly id: number;
  readonly runId: string;
  readonly seq: number;
  readonly at: number;
  readonly step: string;
  readonly node?: string;
  readonly outcome: string;
  readonly message: string;
  readonly cluster?: string;
}

/** A rollout's log entry as the store keeps it. */
export interface RolloutEventLike {
  readonly seq: number;
  readonly at: number;
  readonly outcome: string;
  readonly stage?: string;
  readonly cluster?: string;
  readonly message: string;
}

/** CloudEvents `type` attribute: lower-case dot-separated words (an outcome like `window-closed` keeps its dash). */
function typeOf(area: 'run' | 'rollout', outcome: string): string {
  const word = outcome.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `dev.kup.${area}.${word || 'unknown'}`;
}

/** The CloudEvent of a run event; its id is the event's global id, stable across redeliveries. */
export function runCloudEvent(source: string, e: RunEventLike): CloudEvent {
  return {
    specversion: '1.0',
    id: `run-event-${e.id}`,
    source,
    type: typeOf('run', e.outcome),
    subject: `runs/${e.runId}`,
    time: new Date(e.at).toISOString(),
    datacontenttype: 'application/json',
    data: {
      run: e.runId,
      seq: e.seq,
      step: e.step,
      outcome: e.outcome,
      message: e.message,
      ...(e.node !== undefined ? { node: e.node } : {}),
      ...(e.cluster !== undefined ? { cluster: e.cluster } : {}),
    },
  };
}

/** The CloudEvent of a rollout's log entry; its id is the rollout's id and the entry's number. */
export function rolloutCloudEvent(source: string, rolloutId: string, e: RolloutEventLike): CloudEvent {
  return {
    specversion: '1.0',
    id: `rollout-${rolloutId}-${e.seq}`,
    source,
    type: typeOf('rollout', e.outcome),
    subject: `rollouts/${rolloutId}`,
    time: new Date(e.at).toISOString(),
    datacontenttype: 'application/json',
    data: {
      rollout: rolloutId,
      seq: e.seq,
      outcome: e.outcome,
      message: e.message,
      ...(e.stage !== undefined ? { stage: e.stage } : {}),
      ...(e.cluster !== undefined ? { cluster: e.cluster } : {}),
    },
  };
}

function hmac(secret: string, id: string, timestamp: number, body: string): Buffer {
  return createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest();
}

/** The signature headers of `body` sent as message `id` at `nowMs`. */
export function signatureHeaders(secret: string, id: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${hmac(secret, id, timestamp, body).toString('base64')}`,
  };
}

/**
 * Checks a delivery as a receiver does: one of the `v1,` signatures matches (constant time) and the timestamp is
 * within `toleranceSeconds` of `nowMs`. Returns why not, or undefined when it is good.
 */
export function verifySignature(
  secret: string,
  headers: { readonly id?: string; readonly timestamp?: string; readonly signature?: string },
  body: string,
  nowMs: number,
  toleranceSeconds = 300,
): string | undefined {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return `webhook-timestamp "${timestamp}" is not a number of seconds`;
  if (Math.abs(nowMs / 1000 - ts) > toleranceSeconds) return `webhook-timestamp ${ts} is outside the tolerance`;
  const expected = hmac(secret, id, ts, body);
  for (const part of signature.split(' ')) {
    const [version, value] = part.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
  }
  return 'no signature matches';
}

/** What one attempt did. */
export type DeliveryOutcome =
  | { readonly delivered: true; readonly status: number }
  | { readonly delivered: false; readonly retry: boolean; readonly reason: string };

/**
 * Posts `event` once, signed, within `timeoutMs`. A 2xx is delivered; a timeout, a network error, 408, 429 and 5xx are
 * worth a retry; any other answer is refused for good (the receiver will not take it however often it is sent).
 */
export async function deliverOnce(
  target: { readonly url: string; readonly secret: string },
  event: CloudEvent,
  nowMs: number,
  timeoutMs = 10_000,
): Promise<DeliveryOutcome> {
  const body = JSON.stringify(event);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ...signatureHeaders(target.secret, event.id, nowMs, body) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { delivered: true, status: res.status };
    const retry = res.status === 408 || res.status === 429 || res.status >= 500;
    return { delivered: false, retry, reason: `the receiver answered ${res.status}` };
  } catch (err) {
    return { delivered: false, retry: true, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The wait before attempt `attempt + 1` (attempt 1 is the first send): exponential from `baseMs`, capped at `capMs`,
 * with jitter over its upper half (`random` in [0, 1)), so that a receiver coming back is not hit by every retry at once.
 */
export function retryDelayMs(attempt: number, random: number, baseMs = 5_000, capMs = 3_600_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(ceiling / 2 + (random * ceiling) / 2);
}
