/**
 * Typed calls to kup's REST API with the signed-in token. A 4xx/5xx becomes an {@link ApiError} carrying the
 * envelope's stable code, kind and the field at fault, so a page can say exactly what the server refused.
 *
 * @module
 */
import type {
  AvailabilitySeries,
  ClusterDetail,
  ClusterSummary,
  CreateRunRequest,
  ErrorEnvelope,
  Identity,
  PlanSummary,
  PrecheckReport,
  Run,
  RunEvent,
  Snapshot,
  VersionOption,
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
    return this.#get('/whoami', signal);
  }

  clusters(signal?: AbortSignal): Promise<readonly ClusterSummary[]> {
    return this.#get<{ items: readonly ClusterSummary[] }>('/clusters', signal).then((page) => page.items);
  }

  cluster(name: string, signal?: AbortSignal): Promise<ClusterDetail> {
    return this.#get(`/clusters/${encodeURIComponent(name)}`, signal);
  }

  versions(cluster: string, signal?: AbortSignal): Promise<readonly VersionOption[]> {
    return this.#get<{ items: readonly VersionOption[] }>(
      `/clusters/${encodeURIComponent(cluster)}/versions`,
      signal,
    ).then((page) => page.items);
  }

  latestPrecheck(cluster: string, signal?: AbortSignal): Promise<PrecheckReport | null> {
    return this.#get<{ items: readonly PrecheckReport[] }>(
      `/prechecks?cluster=${encodeURIComponent(cluster)}&limit=1`,
      signal,
    ).then((page) => page.items[0] ?? null);
  }

  precheck(cluster: string, target: string, signal?: AbortSignal): Promise<PrecheckReport> {
    return this.#request('POST', '/prechecks', { cluster, target }, signal);
  }

  plan(request: CreateRunRequest, signal?: AbortSignal): Promise<PlanSummary> {
    return this.#request('POST', '/plans', request, signal);
  }

  runs(cluster: string | undefined, signal?: AbortSignal): Promise<readonly Run[]> {
    const query = cluster ? `?cluster=${encodeURIComponent(cluster)}` : '';
    return this.#get<{ items: readonly Run[] }>(`/runs${query}`, signal).then((page) => page.items);
  }

  run(id: string, signal?: AbortSignal): Promise<Run> {
    return this.#get(`/runs/${encodeURIComponent(id)}`, signal);
  }

  createRun(request: CreateRunRequest): Promise<Run> {
    return this.#send('POST', '/runs', request);
  }

  command(runId: string, command: RunCommand): Promise<Run> {
    return this.#send('POST', `/runs/${encodeURIComponent(runId)}/${command}`, {});
  }

  runEvents(runId: string, signal?: AbortSignal): Promise<readonly RunEvent[]> {
    return this.#get<{ items: readonly RunEvent[] }>(`/runs/${encodeURIComponent(runId)}/events`, signal).then(
      (page) => page.items,
    );
  }

  /** Ready pods against each PDB's floor through the run (the console's own route). */
  availability(runId: string, signal?: AbortSignal): Promise<readonly AvailabilitySeries[]> {
    return this.#get<{ items: readonly AvailabilitySeries[] }>(
      `/runs/${encodeURIComponent(runId)}/availability`,
      signal,
    ).then((page) => page.items);
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
