/**
 * A connection to one cluster through its kubeconfig: the typed API clients of @kubernetes/client-node, a rate
 * limiter shared by every caller, and raw GETs for the endpoints the typed clients do not cover (/readyz, /metrics).
 */
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { ClusterError, ClusterErrorCode } from './errors.ts';
import { RateLimiter } from './rate-limiter.ts';
import { sharedAgent } from './requests.ts';
import type { RateLimiterOptions } from './rate-limiter.ts';

/** Where a cluster's kubeconfig comes from. */
export interface ConnectOptions {
  /** Path of a kubeconfig file. */
  kubeconfigPath?: string;
  /** A kubeconfig document (YAML or JSON) instead of a file. */
  kubeconfig?: string;
  /** The context to use. @default the kubeconfig's current context */
  context?: string;
  /** Request rate of this connection. */
  rate?: RateLimiterOptions;
  /** Told of each request the API server refused or that failed (not of those the caller aborted): the service counts them. */
  onApiError?: (status: number | undefined) => void;
}

/** An open connection to a cluster. */
export interface ClusterConnection {
  /** The context's cluster name. */
  readonly name: string;
  /** The API server URL. */
  readonly server: string;
  readonly kubeConfig: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly policy: k8s.PolicyV1Api;
  readonly limiter: RateLimiter;
  /** GET a path of the API server as text (health endpoints, /metrics, /version). */
  getText(path: string, signal?: AbortSignal): Promise<{ status: number; body: string }>;
  /** See {@link ConnectOptions.onApiError}. */
  readonly onApiError?: (status: number | undefined) => void;
}

/** Opens a connection; a kubeconfig that cannot be read or has no such context is a KUP-CLUSTER-001 error. */
export function connect(options: ConnectOptions): ClusterConnection {
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfig !== undefined) kc.loadFromString(options.kubeconfig);
    else if (options.kubeconfigPath !== undefined) kc.loadFromFile(options.kubeconfigPath);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ClusterError(ClusterErrorCode.kubeconfig, `cannot read kubeconfig ${options.kubeconfigPath ?? ''}: ${(err as Error).message}`, {}, { cause: err });
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ClusterError(ClusterErrorCode.kubeconfig, `context "${options.context}" is not in the kubeconfig (it has: ${known.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ClusterError(ClusterErrorCode.kubeconfig, 'the kubeconfig has no current cluster: pass --context');
  const conn: ClusterConnection = {
    name: cluster.name,
    server: cluster.server,
    kubeConfig: kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    limiter: new RateLimiter(options.rate),
    getText: (path, signal) => getText(conn, path, signal),
    ...(options.onApiError ? { onApiError: options.onApiError } : {}),
  };
  return conn;
}

async function getText(conn: ClusterConnection, path: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  const server = conn.server;
  const opts: RequestOptions = { method: 'GET', headers: { Accept: 'application/json, text/plain, */*' } };
  await conn.kubeConfig.applyToHTTPSOptions(opts);
  // Over the connection's keep-alive pool, not the new agent (a new TLS connection) client-node makes each time.
  const agent = await sharedAgent(conn);
  if (agent) opts.agent = agent;
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ...opts, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) =>
      reject(new ClusterError(ClusterErrorCode.unreachable, `cannot reach ${server}${path}: ${err.message}`, {}, { cause: err })),
    );
    req.end();
  });
}
