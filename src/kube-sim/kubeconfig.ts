/**
 * The kubeconfig a simulated cluster hands out: its CA, its URL and a bearer token, usable by kubectl and by
 * @kubernetes/client-node alike.
 */
import { stringify } from 'yaml';

/** Builds a kubeconfig document for one cluster. */
export function buildKubeconfig(options: { name: string; server: string; caCertPem: string; token: string }): string {
  const user = `${options.name}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: options.name,
        cluster: { server: options.server, 'certificate-authority-data': Buffer.from(options.caCertPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token: options.token } }],
    contexts: [{ name: options.name, context: { cluster: options.name, user } }],
    'current-context': options.name,
    preferences: {},
  });
}
