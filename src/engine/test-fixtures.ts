/**
 * Fixtures for tests of the engine and of providers: a provider that must not be called, and a kubeconfig of a server
 * nobody listens on.
 */
import type { Provider, ProviderCapabilities } from './provider.ts';

/** A kubeconfig (context `c`) of a server nobody listens on, with a token. */
export const OFFLINE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:9' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`;

/** A provider whose every call rejects: for tests in which nothing may reach the infrastructure. */
export function uncalledProvider(name: string, capabilities: ProviderCapabilities): Provider {
  const notCalled = () => Promise.reject(new Error(`provider ${name} was called`));
  return {
    name,
    capabilities,
    describeTopology: notCalled,
    takeSnapshot: notCalled,
    restoreSnapshot: notCalled,
    upgradeControlPlaneNode: notCalled,
    replaceWorkerNode: notCalled,
    deleteWorkerNode: notCalled,
    upgradeWorkerNodeInPlace: notCalled,
  };
}
