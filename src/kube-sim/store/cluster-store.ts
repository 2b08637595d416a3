/**
 * The object store of a simulated cluster: a collection for every resource kube-sim serves, and the secondary
 * indexes the API server and the controllers read through instead of scanning.
 */
import { ALL_RESOURCES } from '../api/resources.ts';
import type { OwnerReference } from '../model/wire.ts';
import { controllerOf } from '../model/wire.ts';
import { ObjectStore } from './object-store.ts';
import type { ObjectStoreOptions } from './object-store.ts';

/**
 * A store with every kube-sim collection and its indexes: `spec.nodeName` on pods (a node's pods: the kubelet, field
 * selectors, drains); on every collection, `owner` (the UIDs of all owner references: the garbage collector) and
 * `controller` (the UID of the controller reference: what a controller owns, read at every sync of a ReplicaSet).
 */
export function createClusterStore(options: ObjectStoreOptions = {}): ObjectStore {
  const store = new ObjectStore(options);
  for (const def of ALL_RESOURCES) store.register(def.storage, { group: def.group, plural: def.plural });
  store.addIndex('core/pods', 'spec.nodeName', (o) => {
    const node = o.spec?.['nodeName'];
    return typeof node === 'string' && node ? [node] : [];
  });
  for (const storage of store.storages()) {
    store.addIndex(storage, 'owner', (o) => (o.metadata.ownerReferences ?? []).map((r: OwnerReference) => r.uid));
    store.addIndex(storage, 'controller', (o) => {
      const ref = controllerOf(o);
      return ref ? [ref.uid] : [];
    });
  }
  return store;
}
