/**
 * One API request through a connection: wait for its rate limiter, then call the typed client with the caller's
 * AbortSignal (and a Content-Type where the verb needs one) attached through client-node's middleware, over a
 * keep-alive connection pool (client-node 1.4 builds a new https.Agent, so a new TLS connection, for every request:
 * a drain's 110 evictions were 110 TLS handshakes).
 */
import { Agent } from 'node:https';
import type { AgentOptions, RequestOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ApiException, Observable } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  KubeConfig,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import type { ClusterConnection } from './connect.ts';

/** The connection pools of one cluster connection: requests, and watches (which hold a connection each). */
interface Pools {
  readonly requests: Agent;
  readonly watches: Agent;
}

const pools = new WeakMap<ClusterConnection, Promise<Pools | undefined>>();

/**
 * Keep-alive https.Agents per connection, with the TLS settings of its kubeconfig parsed once (one secure context)
 * and TLS sessions resumed across connections. None (client-node's own agent per request) for plain HTTP or a
 * cluster behind a proxy, whose agents client-node builds itself.
 */
function poolsOf(conn: ClusterConnection): Promise<Pools | undefined> {
  let found = pools.get(conn);
  if (!found) {
    found = (async () => {
      const cluster = conn.kubeConfig.getCurrentCluster();
      if (!cluster || cluster.proxyUrl || !cluster.server.startsWith('https:')) return undefined;
      const tls: RequestOptions = {};
      await conn.kubeConfig.applyToHTTPSOptions(tls);
      const options: AgentOptions = {
        keepAlive: true,
        secureContext: createSecureContext({
          ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
          ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
          ...(tls.key !== undefined ? { key: tls.key } : {}),
          ...(tls.pfx !== undefined ? { pfx: tls.pfx } : {}),
          ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
        }),
        ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
        ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
      };
      return { requests: new Agent({ ...options, maxSockets: 64 }), watches: new Agent(options) };
    })().catch(() => undefined);
    pools.set(conn, found);
  }
  return found;
}

/** The connection's pool for requests (64 connections at most). */
export async function sharedAgent(conn: ClusterConnection): Promise<Agent | undefined> {
  return (await poolsOf(conn))?.requests;
}

/**
 * The connection's kubeconfig as client-node's Watch should use it: over the connection's pool for watches. Its own
 * agent per watch is a new TLS handshake each, for kup and the API server alike, and a batch's node waits and drains
 * start tens of watches at once.
 */
export function watchConfig(conn: ClusterConnection): KubeConfig {
  const kc = conn.kubeConfig;
  const config = Object.create(kc) as KubeConfig;
  config.applyToFetchOptions = async (opts) => {
    const init = await kc.applyToFetchOptions(opts);
    const agent = (await poolsOf(conn))?.watches;
    return agent ? { ...init, agent } : init;
  };
  return config;
}

/** Per-request options for client-node 1.4's object-parameter API: the signal, extra headers, a shared agent. */
export function requestOptions(
  signal?: AbortSignal,
  headers: Record<string, string> = {},
  agent?: Agent,
): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre(context: RequestContext): Observable<RequestContext> {
      for (const [key, value] of Object.entries(headers)) context.setHeaderParam(key, value);
      if (signal) context.setSignal(signal);
      if (agent) context.setAgent(agent);
      return new Observable(Promise.resolve(context));
    },
    post(context: ResponseContext): Observable<ResponseContext> {
      return new Observable(Promise.resolve(context));
    },
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** Acquires a token of the connection's rate limiter, then runs `send` with options carrying the signal. */
export async function send<T>(
  conn: ClusterConnection,
  signal: AbortSignal | undefined,
  call: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<T>,
  headers?: Record<string, string>,
): Promise<T> {
  const agent = await sharedAgent(conn);
  await conn.limiter.acquire(signal);
  try {
    return await call(requestOptions(signal, headers, agent));
  } catch (err) {
    if (conn.onApiError && signal?.aborted !== true) conn.onApiError(err instanceof ApiException ? err.code : undefined);
    throw err;
  }
}

/**
 * A GET of `path` read as the API server's JSON, through the connection's rate limiter and pool, without client-node's
 * typed mapping (which costs more than the read on a list of pods). A status other than 2xx rejects as client-node's
 * ApiException (its code and body), so callers tell errors apart the same way.
 */
export async function getJson<T>(conn: ClusterConnection, path: string, signal?: AbortSignal): Promise<T> {
  await conn.limiter.acquire(signal);
  const res = await conn.getText(path, signal).catch((err: unknown) => {
    if (signal?.aborted !== true) conn.onApiError?.(undefined);
    throw err;
  });
  if (res.status < 200 || res.status > 299) {
    conn.onApiError?.(res.status);
    throw new ApiException(res.status, `HTTP ${res.status} for GET ${path}`, res.body, {});
  }
  return JSON.parse(res.body) as T;
}
