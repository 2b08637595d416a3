/**
 * The Cluster API provider's connection to the management cluster: JSON reads, merge patches and deletes of Cluster
 * API's custom resources, with the kubeconfig's credentials, over the connection's keep-alive pool. Answers other
 * than 2xx become {@link ProviderError}s that keep the API server's status, reason and message; a 409 on a patch
 * that carries a resourceVersion is the caller's to retry.
 */
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { connect } from '../../kube-api/connect.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { sharedAgent } from '../../kube-api/requests.ts';
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';

/** The provider's name, as errors carry it. */
const PROVIDER = 'capi';

/** Where the management cluster's kubeconfig is. */
export interface ManagementClientOptions {
  readonly kubeconfigPath: string;
  /** @default the kubeconfig's current context */
  readonly context?: string;
}

/** A Kubernetes list as the API server returns it. */
export interface ObjectList<T> {
  readonly items: T[];
}

/** Reads and writes objects of the management cluster. */
export class ManagementClient {
  readonly #conn: ClusterConnection;

  constructor(options: ManagementClientOptions) {
    try {
      this.#conn = connect({
        kubeconfigPath: options.kubeconfigPath,
        ...(options.context !== undefined ? { context: options.context } : {}),
      });
    } catch (err) {
      throw new ProviderError(
        ProviderErrorCode.configuration,
        `capi: the management cluster's kubeconfig ${options.kubeconfigPath} cannot be used: ${(err as Error).message}`,
        { provider: PROVIDER },
        { cause: err },
      );
    }
  }

  /** The management cluster's API server URL. */
  get server(): string {
    return this.#conn.server;
  }

  /** GET `path`; undefined when it is not found (404). */
  async find<T>(path: string, signal: AbortSignal): Promise<T | undefined> {
    const res = await this.#send('GET', path, undefined, signal);
    if (res.status === 404) return undefined;
    return this.#json<T>('GET', path, res);
  }

  /** GET `path`, which must exist. */
  async get<T>(path: string, signal: AbortSignal): Promise<T> {
    return this.#json<T>('GET', path, await this.#send('GET', path, undefined, signal));
  }

  /** A JSON merge patch of `path`; resolves to the object as written. */
  async patch<T>(path: string, body: unknown, signal: AbortSignal): Promise<T> {
    return this.#json<T>('PATCH', path, await this.#send('PATCH', path, body, signal));
  }

  /** Deletes `path`; an object already gone resolves. */
  async delete(path: string, signal: AbortSignal): Promise<void> {
    const res = await this.#send('DELETE', path, undefined, signal);
    if (res.status === 404) return;
    this.#json<unknown>('DELETE', path, res);
  }

  #json<T>(method: string, path: string, res: { status: number; body: string }): T {
    if (res.status >= 200 && res.status < 300) return JSON.parse(res.body) as T;
    let status: { message?: string; reason?: string } = {};
    try {
      status = JSON.parse(res.body) as typeof status;
    } catch {
      // Not a Status: the body itself says what went wrong.
    }
    const message = `capi: ${method} ${path} on the management cluster answered ${res.status}: ${status.message ?? res.body.slice(0, 300)}`;
    const details = {
      provider: PROVIDER,
      status: res.status,
      ...(status.reason !== undefined ? { reason: status.reason } : {}),
    };
    if (res.status === 401 || res.status === 403)
      throw new ProviderError(ProviderErrorCode.unauthorized, message, details);
    if (res.status === 404) throw new ProviderError(ProviderErrorCode.notFound, message, details);
    if (res.status === 409)
      throw new ProviderError(ProviderErrorCode.conflict, message, { ...details, retryable: true });
    if (res.status === 400 || res.status === 422) throw new ProviderError(ProviderErrorCode.rejected, message, details);
    if (res.status === 429 || res.status >= 500) {
      throw new ProviderError(ProviderErrorCode.unreachable, message, { ...details, retryable: true });
    }
    throw new ProviderError(ProviderErrorCode.protocol, message, details);
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<{ status: number; body: string }> {
    signal.throwIfAborted();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const opts: RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(payload !== undefined
          ? { 'Content-Type': 'application/merge-patch+json', 'Content-Length': Buffer.byteLength(payload) }
          : {}),
      },
    };
    await this.#conn.kubeConfig.applyToHTTPSOptions(opts);
    const agent = await sharedAgent(this.#conn);
    if (agent) opts.agent = agent;
    await this.#conn.limiter.acquire(signal);
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.#conn.server), { ...opts, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (err) => {
        if (signal.aborted) {
          // The provider contract: an aborted call rejects with the signal's reason as is (provider.ts).
          reject(signal.reason as Error);
          return;
        }
        reject(
          new ProviderError(
            ProviderErrorCode.unreachable,
            `capi: cannot reach the management cluster ${this.#conn.server}: ${err.message}`,
            { provider: PROVIDER, retryable: true },
            { cause: err },
          ),
        );
      });
      req.end(payload);
    });
  }
}
