/**
 * The few Kubernetes API calls the local cluster makes itself (health, creating and deleting the Node objects kwok
 * plays, a node's kubelet version): HTTPS with the cluster's CA and admin token.
 */
import { request } from 'node:https';

/** A reply of the API server: status and body (parsed JSON when it is JSON). */
export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

/** Where and how to reach an API server. */
export interface ApiTarget {
  readonly server: string;
  readonly caCertPem: string;
  readonly token: string;
}

/** Sends one request; network errors reject. */
export function apiRequest(
  target: ApiTarget,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const url = new URL(target.server + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca: target.caCertPem,
        headers: {
          authorization: `Bearer ${target.token}`,
          accept: 'application/json',
          ...(payload !== undefined
            ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON (`/readyz` answers `ok`): the text is the body.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The message of a `kind: Status` reply, or the body as text. */
export function replyText(reply: ApiReply): string {
  const body = reply.body;
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body).slice(0, 500);
}
