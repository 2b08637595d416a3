/**
 * Typed calls to kup's REST API with the signed-in token. A 4xx/5xx becomes an {@link ApiError} carrying the
 * envelope's stable code, kind and the field at fault, so a page can say exactly what the server refused.
 *
 * @module
 */
import type {
  ClusterDetail,
  ClusterSummary,
  ErrorEnvelope,
  Identity,
  PlanResponse,
  Run,
  Snapshot,
  StoredPrecheck,
  UpgradeOptions,
} from './types.ts';

/** A refusal from the API, as its error envelope says it. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly kind: string;
  readonly field: string | undefined;

  constructor(status: number, envelope: ErrorEnvelope['error']) {
    super(`${envelope.code}: ${envelope.message}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = envelope.code;
    this.kind = envelope.kind;
    this.field = envelope.field;
  }
}

/** The operator commands on a run. */
export type RunCommand = 'pause' | 'resume' | 'cancel' | 'rollback';

/** The API, as one signed-in person sees it. */
export class ApiClient {
  readonly token: string;
  readonly #base: string;

  constructor(token: string, base = '/api/v1') {
    this.token = token;
    this.#base = base;
  }

  whoami(signal?: AbortSignal): Promise<Identity> {
    return this.#get('/console/session', signal);
  }

  clusters(signal?: AbortSignal): Promise<readonly ClusterSummary[]> {
    return this.#get<{ items: readonly ClusterSummary[] }>('/console/fleet', signal).then((page) => page.items);
  }

  cluster(name: string, signal?: AbortSignal): Promise<ClusterDetail> {
    return this.#get(`/console/clusters/${encodeURIComponent(name)}`, signal);
  }

  /** The newest precheck kept for the cluster, or null. */
  async latestPrecheck(cluster: string, signal?: AbortSignal): Promise<StoredPrecheck | null> {
    const page = await this.#get<{ items: readonly { id: string }[] }>(
      `/prechecks?cluster=${encodeURIComponent(cluster)}&limit=1`,
      signal,
    );
    const first = page.items[0];
    return first ? this.#get<StoredPrecheck>(`/prechecks/${encodeURIComponent(first.id)}`, signal) : null;
  }

  /** Runs the prechecks of an upgrade to `to` now; the service keeps the report. */
  precheck(cluster: string, to: string, signal?: AbortSignal): Promise<StoredPrecheck> {
    return this.#request('POST', `/clusters/${encodeURIComponent(cluster)}/prechecks`, { to }, signal);
  }

  /** What an upgrade would do, with the precheck of its target. */
  plan(cluster: string, options: UpgradeOptions, signal?: AbortSignal): Promise<PlanResponse> {
    return this.#request('POST', `/clusters/${encodeURIComponent(cluster)}/plans`, options, signal);
  }

  run(id: string, signal?: AbortSignal): Promise<Run> {
    return this.#get(`/console/runs/${encodeURIComponent(id)}`, signal);
  }

  createRun(cluster: string, options: UpgradeOptions): Promise<{ readonly id: string }> {
    return this.#send('POST', '/runs', { cluster, ...options });
  }

  command(runId: string, command: RunCommand): Promise<unknown> {
    return this.#send('POST', `/runs/${encodeURIComponent(runId)}/${command}`, {});
  }

  snapshots(cluster: string, signal?: AbortSignal): Promise<readonly Snapshot[]> {
    return this.#get<{ items: readonly Snapshot[] }>(`/clusters/${encodeURIComponent(cluster)}/snapshots`, signal).then(
      (page) => page.items,
    );
  }

  /** Headers of every call, for the event stream too. */
  headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** The base of the API's URLs. */
  url(path: string): string {
    return `${this.#base}${path}`;
  }

  #get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.#request<T>('GET', path, undefined, signal);
  }

  #send<T>(method: string, path: string, body: unknown): Promise<T> {
    return this.#request<T>(method, path, body, undefined);
  }

  async #request<T>(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<T> {
    const headers: Record<string, string> = { ...this.headers(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.url(path), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (!response.ok) throw new ApiError(response.status, envelopeOf(parsed, response));
    return parsed as T;
  }
}

function envelopeOf(body: unknown, response: Response): ErrorEnvelope['error'] {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as ErrorEnvelope).error;
    if (typeof error?.code === 'string' && typeof error.message === 'string') return error;
  }
  return { code: `HTTP-${response.status}`, kind: 'internal', message: response.statusText || 'request failed' };
}
