/**
 * Starts kube-sim clusters for end-to-end tests from small YAML scenarios, and reads them back through plain HTTPS
 * (the infrastructure API and the Kubernetes API) the way any client would.
 */
import { request } from 'node:https';
import { IDLE_PATH } from '../../src/kube-sim/infra/idle.ts';
import { parseScenario } from '../../src/kube-sim/scenario/parse.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { startSimCluster } from '../../src/kube-sim/sim-cluster.ts';

/** Starts a cluster from scenario YAML. */
export async function startFromYaml(yaml: string): Promise<SimCluster> {
  return startSimCluster({ scenario: parseScenario(yaml, 'test scenario') });
}

/** A JSON request to a simulated cluster, authenticated with its token. */
export function api(
  cluster: Pick<SimCluster, 'url' | 'token' | 'caCertPem'>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      `${cluster.url}${path}`,
      {
        method,
        ca: cluster.caCertPem,
        headers: {
          Authorization: `Bearer ${cluster.token}`,
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Resolves once the sim's controllers are idle (`GET /sim/v1/idle`): no work queued and no 0-ms timer waiting. What
 * a test awaits before asserting that nothing more happened; timers set for later (grace periods, boots) still run.
 */
export async function simIdle(cluster: Pick<SimCluster, 'url' | 'token' | 'caCertPem'>): Promise<void> {
  const res = await api(cluster, 'GET', IDLE_PATH);
  if (res.status !== 200) throw new Error(`GET ${IDLE_PATH} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Sums apiserver_request_total from /metrics for the series whose labels include every given label. */
export async function requestCount(cluster: Pick<SimCluster, 'url' | 'token' | 'caCertPem'>, labels: Record<string, string>): Promise<number> {
  return metricSum(cluster, 'apiserver_request_total', labels);
}

/**
 * Sums kube-sim's kubesim_request_bodies_total (writes by the media type of their body) for the series whose labels
 * include every given label, e.g. `{ verb: 'POST', resource: 'jobs', content_type: 'application/vnd.kubernetes.protobuf' }`.
 */
export async function bodyCount(cluster: Pick<SimCluster, 'url' | 'token' | 'caCertPem'>, labels: Record<string, string>): Promise<number> {
  return metricSum(cluster, 'kubesim_request_bodies_total', labels);
}

async function metricSum(cluster: Pick<SimCluster, 'url' | 'token' | 'caCertPem'>, metric: string, labels: Record<string, string>): Promise<number> {
  const res = await api(cluster, 'GET', '/metrics', undefined, { Accept: 'text/plain' });
  let total = 0;
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}
