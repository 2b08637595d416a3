/**
 * One API request through a connection: wait for its rate limiter, then call the typed client with the caller's
 * AbortSignal (and a Content-Type where the verb needs one) attached through client-node's middleware, over a
 * keep-alive connection pool (client-node 1.4 builds a new https.Agent, so a new TLS connection, for every request:
 * a drain's 110 evictions were 110 TLS handshakes).
 */
import { Agent } from 'node:https';
import type { RequestOptions } from 'node:https';
import { Observable } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import type { ClusterConnection } from './connect.ts';

const agents = new WeakMap<ClusterConnection, Promise<Agent | undefined>>();

/**
 * One keep-alive https.Agent per connection, with the TLS settings of its kubeconfig. None (client-node's own agent
 * per request) for plain HTTP or a cluster behind a proxy, whose agents client-node builds itself.
 */
function sharedAgent(conn: ClusterConnection): Promise<Agent | undefined> {
  let agent = agents.get(conn);
  if (!agent) {
    agent = (async () => {
      const cluster = conn.kubeConfig.getCurrentCluster();
      if (!cluster || cluster.proxyUrl || !cluster.server.startsWith('https:')) return undefined;
      const tls: RequestOptions = {};
      await conn.kubeConfig.applyToHTTPSOptions(tls);
      return new Agent({
        keepAlive: true,
        maxSockets: 64,
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key } : {}),
        ...(tls.pfx !== undefined ? { pfx: tls.pfx } : {}),
        ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
        ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
        ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
      });
    })().catch(() => undefined);
    agents.set(conn, agent);
  }
  return agent;
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
  return call(requestOptions(signal, headers, agent));
}
