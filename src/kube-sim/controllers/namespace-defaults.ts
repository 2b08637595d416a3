/**
 * What kube-controller-manager puts in every namespace: the `serviceaccount` controller's `default` ServiceAccount
 * and the `root-ca-cert-publisher`'s `kube-root-ca.crt` ConfigMap (the apiserver's CA, which in-cluster clients
 * verify it with). Both are recreated when deleted, the ConfigMap's data is put back when edited, and terminating
 * namespaces are left alone, as upstream's controllers do.
 */
import type { KubeObject } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { StatusError } from '../api/status.ts';
import { errorMessage } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

/** The ServiceAccount every namespace gets, and pods run as when they name none. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';
/** The ConfigMap that carries the cluster's CA in every namespace. */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/** Options of {@link startNamespaceDefaults}. */
export interface NamespaceDefaultsOptions {
  /** The apiserver's CA certificate (PEM); without one, no `kube-root-ca.crt` is published. */
  rootCaPem?: string;
}

/** Starts the two controllers; returns the function that stops them. */
export function startNamespaceDefaults(runtime: SimRuntime, options: NamespaceDefaultsOptions = {}): () => void {
  const { store } = runtime;
  let stopped = false;
  const queue = new WorkQueue(
    runtime,
    (namespace) => {
      if (!stopped) syncNamespace(runtime, namespace, options.rootCaPem);
    },
    { name: 'namespace-defaults' },
  );
  const unsubscribe = store.subscribe((event) => {
    const { object } = event;
    if (event.storage === 'core/namespaces') {
      if (event.type === 'ADDED') queue.add(object.metadata.name);
    } else if (event.storage === 'core/serviceaccounts') {
      if (event.type === 'DELETED' && object.metadata.name === DEFAULT_SERVICE_ACCOUNT)
        queue.add(object.metadata.namespace ?? '');
    } else if (event.storage === 'core/configmaps' && options.rootCaPem !== undefined) {
      if (object.metadata.name === ROOT_CA_CONFIGMAP && event.type !== 'ADDED')
        queue.add(object.metadata.namespace ?? '');
    }
  });
  for (const ns of store.all('core/namespaces')) queue.add(ns.metadata.name);
  return () => {
    stopped = true;
    unsubscribe();
  };
}

function syncNamespace(runtime: SimRuntime, namespace: string, rootCaPem: string | undefined): void {
  const { store, registry } = runtime;
  const ns = store.get('core/namespaces', undefined, namespace);
  if (!ns || ns.metadata.deletionTimestamp) return;
  if (!store.get('core/serviceaccounts', namespace, DEFAULT_SERVICE_ACCOUNT)) {
    createIgnoringRace(() =>
      registry.create(kindDef('ServiceAccount'), namespace, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: DEFAULT_SERVICE_ACCOUNT },
      }),
    );
  }
  if (rootCaPem === undefined) return;
  const def = kindDef('ConfigMap');
  const data = { 'ca.crt': rootCaPem };
  const annotations = { 'kubernetes.io/description': ROOT_CA_DESCRIPTION };
  const current = store.get('core/configmaps', namespace, ROOT_CA_CONFIGMAP);
  if (!current) {
    createIgnoringRace(() =>
      registry.create(def, namespace, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: ROOT_CA_CONFIGMAP, annotations },
        data,
      }),
    );
    return;
  }
  if (current.metadata.deletionTimestamp || publishes(current, rootCaPem)) return;
  // Someone edited it: put the CA (and the description) back, keeping whatever else they added.
  registry.update(def, namespace, ROOT_CA_CONFIGMAP, {
    ...current,
    metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, ...annotations } },
    data,
  });
}

function publishes(cm: KubeObject, rootCaPem: string): boolean {
  const data = cm['data'] as Record<string, unknown> | undefined;
  return (
    data !== undefined &&
    Object.keys(data).length === 1 &&
    data['ca.crt'] === rootCaPem &&
    cm.metadata.annotations?.['kubernetes.io/description'] === ROOT_CA_DESCRIPTION
  );
}

/** A create that lost a race with another writer (or a namespace that began terminating) is not an error. */
function createIgnoringRace(create: () => void): void {
  try {
    create();
  } catch (err) {
    if (err instanceof StatusError && (err.code === 409 || err.code === 403 || err.code === 404)) return;
    throw new Error(`creating a namespace default: ${errorMessage(err)}`, { cause: err });
  }
}
