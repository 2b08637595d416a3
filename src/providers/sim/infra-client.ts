/**
 * HTTPS to a kube-sim: its infrastructure API under `/sim/v1/` and the few Kubernetes API paths the sim provider
 * reads (a node's registration, `/readyz`), with the CA and credentials of the cluster's kubeconfig. Transient
 * failures are retried here, bounded by a time budget; every other failure becomes a {@link ProviderError} that
 * carries the sim's own message (its `kind: Status` errors say which field or object is at fault).
 */
import { Agent, request } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../clock/clock.ts';
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Total time spent retrying one request before giving up. @default 60000 */
  readonly budgetMs: number;
  /** First backoff delay; each retry doubles it. @default 100 */
  readonly initialDelayMs: number;
  /** Longest backoff delay. @default 2000 */
  readonly maxDelayMs: number;
}

/** The default retry policy: long enough to ride out an apiserver restart, short enough to pause a run soon. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  budgetMs: 60_000,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
});

/** What a failure is about, for the error it becomes. */
export interface Subject {
  readonly node?: string;
  readonly pool?: string;
  readonly snapshot?: string;
  readonly operation?: string;
}

/** One request. */
export interface SimRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path on the API server, e.g. `/sim/v1/topology`. */
  readonly path: string;
  /** JSON body. */
  readonly body?: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  /**
   * Whether sending the request twice does no harm (GET, DELETE, a POST with an idempotency key): only those are
   * retried after a network error or a 5xx. Every request is retried after a 503 or a 429, which say that the server
   * did not act. @default false
   */
  readonly idempotent?: boolean;
  /** Error statuses the caller handles itself (e.g. 404 while waiting for a node to appear). @default [] */
  readonly accept?: readonly number[];
  /** Retry nothing: one attempt, every status returned (for callers that poll on their own). @default false */
  readonly once?: boolean;
  /** What the request does, for error messages: `replace node workers-0`. */
  readonly action: string;
  /** What the request is about, for error fields. */
  readonly subject?: Subject;
}

/** A reply: status and the body, parsed as JSON when it is JSON, else the text. */
export interface SimReply {
  readonly status: number;
  readonly body: unknown;
}

/** Options of a client. */
export interface InfraClientOptions {
  /** The cluster's kubeconfig, its context already selected. */
  readonly kubeConfig: KubeConfig;
  /** The API server URL of that context. */
  readonly server: string;
  /** Provider name, for error messages. */
  readonly provider: string;
  readonly clock: Clock;
  /** Jitter source, in [0, 1). */
  readonly random: () => number;
  readonly retry: RetryPolicy;
  /** Longest a single request may take before it counts as a network failure. */
  readonly requestTimeoutMs: number;
  /**
   * Connections open at once (requests beyond wait for one): a batch of a thousand node calls must not open a
   * thousand TLS connections to the infrastructure at the same moment. @default 16
   */
  readonly maxConnections?: number;
}

/** A client of one kube-sim; reuses connections until {@link InfraClient.close}. */
export class InfraClient {
  private connection: Promise<RequestOptions> | undefined;
  private agent: Agent | undefined;

  constructor(private readonly options: InfraClientOptions) {}

  /**
   * Sends a request, retrying what is transient within the retry budget.
   * @throws ProviderError for an error status not in `accept`, or a failure the budget could not absorb.
   * @throws the signal's reason when it aborts.
   */
  async send(req: SimRequest): Promise<SimReply> {
    const { clock, retry } = this.options;
    const deadline = clock.now() + retry.budgetMs;
    for (let attempt = 0; ; attempt++) {
      req.signal.throwIfAborted();
      let reply: SimReply & { retryAfterMs?: number };
      try {
        reply = await this.once(req);
      } catch (err) {
        if (req.signal.aborted) throw req.signal.reason;
        const failure = new ProviderError(
          ProviderErrorCode.unreachable,
          `${this.options.provider}: ${req.action}: cannot reach ${this.options.server}${req.path}: ${(err as Error).message}`,
          { retryable: true, provider: this.options.provider, ...req.subject },
          { cause: err },
        );
        if (req.once || !req.idempotent) throw failure;
        await this.backoff(attempt, deadline, undefined, req.signal, failure);
        continue;
      }
      if (reply.status < 400 || req.once || req.accept?.includes(reply.status)) return reply;
      const transient =
        reply.status === 503 || reply.status === 429 || (req.idempotent === true && reply.status >= 500);
      const failure = statusToProviderError(this.options.provider, req.action, reply, req.subject ?? {});
      if (!transient) throw failure;
      await this.backoff(attempt, deadline, reply.retryAfterMs, req.signal, failure);
    }
  }

  /** Closes idle connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.connection = undefined;
  }

  private async backoff(
    attempt: number,
    deadline: number,
    retryAfterMs: number | undefined,
    signal: AbortSignal,
    failure: ProviderError,
  ): Promise<void> {
    const { clock, retry, random } = this.options;
    const exponential = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.min(attempt, 30));
    // Full jitter on the upper half: retries of several callers spread out, none waits less than half the step.
    const jittered = exponential / 2 + (random() * exponential) / 2;
    const delay = Math.max(jittered, Math.min(retryAfterMs ?? 0, retry.maxDelayMs));
    if (clock.now() + delay > deadline) {
      throw new ProviderError(
        failure.code,
        `${failure.message.replace(/^KUP-PROVIDER-\d+: /, '')} (still failing after ${attempt + 1} attempts in ${retry.budgetMs} ms)`,
        {
          retryable: true,
          provider: failure.provider,
          node: failure.node,
          pool: failure.pool,
          snapshot: failure.snapshot,
          operation: failure.operation,
          status: failure.status,
          reason: failure.reason,
        },
        { cause: failure },
      );
    }
    await clock.sleep(delay, signal);
  }

  private async connectionOptions(): Promise<RequestOptions> {
    this.connection ??= (async () => {
      const opts: RequestOptions = { headers: {} };
      await this.options.kubeConfig.applyToHTTPSOptions(opts);
      // client-node builds an agent without keep-alive; a provider polls, so reuse connections (unless a proxy
      // agent is in the way, which is left as client-node made it).
      if (opts.agent instanceof Agent) {
        this.agent = new Agent({ ...opts.agent.options, keepAlive: true, maxSockets: this.options.maxConnections ?? 16 });
        opts.agent = this.agent;
      }
      return opts;
    })();
    return this.connection;
  }

  private async once(req: SimRequest): Promise<SimReply & { retryAfterMs?: number }> {
    const base = await this.connectionOptions();
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const url = new URL(this.options.server.replace(/\/+$/, '') + req.path);
    return new Promise((resolve, reject) => {
      const r = request(
        url,
        {
          ...base,
          method: req.method,
          signal: req.signal,
          headers: {
            ...base.headers,
            Accept: 'application/json',
            ...(payload !== undefined
              ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const retryAfter = Number(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              body: parseBody(text),
              ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
            });
          });
        },
      );
      r.setTimeout(this.options.requestTimeoutMs, () =>
        r.destroy(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)),
      );
      r.on('error', reject);
      r.end(payload);
    });
  }
}

/** The parts of a Kubernetes `Status` this provider reads. */
interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string };
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function statusBody(body: unknown): StatusBody {
  if (typeof body !== 'object' || body === null)
    return typeof body === 'string' && body !== '' ? { message: body.trim() } : {};
  const b = body as Record<string, unknown>;
  const d = b['details'];
  const details = typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : undefined;
  return {
    ...(typeof b['message'] === 'string' ? { message: b['message'] } : {}),
    ...(typeof b['reason'] === 'string' ? { reason: b['reason'] } : {}),
    ...(details
      ? {
          details: {
            ...(typeof details['name'] === 'string' ? { name: details['name'] } : {}),
            ...(typeof details['kind'] === 'string' ? { kind: details['kind'] } : {}),
          },
        }
      : {}),
  };
}

/** What an error reply says: the `kind: Status` message, the text of a plain reply, else its status. */
export function replyMessage(reply: SimReply): string {
  return statusBody(reply.body).message ?? `HTTP ${reply.status}`;
}

/**
 * Maps an error reply of the sim to a ProviderError. The object the sim names (`details.kind` nodes, pools,
 * snapshots, operations) fills the matching field; what the caller knew fills the rest.
 */
export function statusToProviderError(provider: string, action: string, reply: SimReply, subject: Subject): ProviderError {
  const status = statusBody(reply.body);
  const named: Subject = {};
  const name = status.details?.name;
  if (name !== undefined) {
    if (status.details?.kind === 'nodes') Object.assign(named, { node: name });
    if (status.details?.kind === 'pools') Object.assign(named, { pool: name });
    if (status.details?.kind === 'snapshots') Object.assign(named, { snapshot: name });
    if (status.details?.kind === 'operations') Object.assign(named, { operation: name });
  }
  const code = codeOf(reply.status);
  // A 409 naming a node says the node is busy with another operation: worth trying again. A 409 without one is
  // an idempotency key reused for another request, which no retry fixes.
  const retryable =
    reply.status === 409
      ? status.details?.kind === 'nodes'
      : code === ProviderErrorCode.unreachable || code === ProviderErrorCode.serverError;
  const message = replyMessage(reply);
  return new ProviderError(code, `${provider}: ${action}: ${message}`, {
    retryable,
    provider,
    ...subject,
    ...named,
    status: reply.status,
    ...(status.reason !== undefined ? { reason: status.reason } : {}),
  });
}

function codeOf(status: number): ProviderError['code'] {
  if (status === 401 || status === 403) return ProviderErrorCode.unauthorized;
  if (status === 404) return ProviderErrorCode.notFound;
  if (status === 409) return ProviderErrorCode.conflict;
  if (status === 429 || status === 503) return ProviderErrorCode.unreachable;
  if (status >= 500) return ProviderErrorCode.serverError;
  if (status >= 400) return ProviderErrorCode.rejected;
  return ProviderErrorCode.protocol;
}
