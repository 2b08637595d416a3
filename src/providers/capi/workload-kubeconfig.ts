/**
 * The workload cluster's kubeconfig, as Cluster API keeps it: the Secret `<cluster>-kubeconfig` in the Cluster's
 * namespace on the management cluster, its `value` key (what `clusterctl get kubeconfig` prints).
 */
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';
import { ManagementClient } from './management-client.ts';
import type { ManagementClientOptions } from './management-client.ts';
import { capiPath } from './objects.ts';

/** A Cluster on a management cluster: `namespace/name`. */
export interface ClusterReference {
  readonly namespace: string;
  readonly name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Reads `NS/NAME`; a sentence naming the problem when it is not one. */
export function parseClusterReference(value: unknown): ClusterReference | { problem: string } {
  if (typeof value !== 'string') return { problem: `the Cluster must be NAMESPACE/NAME, got ${JSON.stringify(value)}` };
  const [namespace, name, ...rest] = value.split('/');
  if (
    namespace === undefined ||
    name === undefined ||
    rest.length > 0 ||
    !DNS_LABEL.test(namespace) ||
    !DNS_SUBDOMAIN.test(name)
  ) {
    return { problem: `the Cluster must be NAMESPACE/NAME (a namespace and a Cluster's name), got "${value}"` };
  }
  return { namespace, name };
}

/**
 * Reads the workload cluster's kubeconfig from the management cluster, after checking that the Cluster exists.
 * @throws ProviderError `KUP-PROVIDER-004` when the Cluster or its Secret is not there, others as the management
 *   cluster answers.
 */
export async function readWorkloadKubeconfig(
  management: ManagementClientOptions,
  cluster: ClusterReference,
  signal: AbortSignal,
): Promise<string> {
  const client = new ManagementClient(management);
  const ref = `${cluster.namespace}/${cluster.name}`;
  const found = await client.find(capiPath(cluster.namespace, 'clusters', cluster.name), signal);
  if (found === undefined) {
    throw new ProviderError(
      ProviderErrorCode.notFound,
      `capi: there is no Cluster ${ref} on the management cluster ${client.server}`,
      {
        provider: 'capi',
      },
    );
  }
  const secretName = `${cluster.name}-kubeconfig`;
  const secret = await client.find<{ data?: Record<string, string> }>(
    `/api/v1/namespaces/${encodeURIComponent(cluster.namespace)}/secrets/${encodeURIComponent(secretName)}`,
    signal,
  );
  const value = secret?.data?.['value'];
  if (value === undefined) {
    throw new ProviderError(
      ProviderErrorCode.notFound,
      `capi: Cluster ${ref} has no kubeconfig yet (Secret ${cluster.namespace}/${secretName} with key "value"): is its control plane initialized?`,
      { provider: 'capi' },
    );
  }
  return Buffer.from(value, 'base64').toString('utf8');
}
