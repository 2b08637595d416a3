/**
 * Core objects whose rows are a name, a count or a phase: upstream printNamespace, printConfigMap, printSecret,
 * printServiceAccount, printPersistentVolumeClaim.
 */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { isDeleting, list, mapSize, nameOf, obj, optStr, str, strs, stringMap } from './fields.ts';
import { ageSince } from './time.ts';
import type { Printer } from './types.ts';

/** Namespaces: NAME STATUS AGE. */
export const namespacePrinter: Printer = {
  columnDefinitions: [NAME_COLUMN, column('Status', 'string', 'The status of the namespace'), AGE_COLUMN],
  printRow(ns, { now }) {
    // status.phase defaults to Active when stored.
    return {
      cells: [nameOf(ns), str(obj(ns.status).phase) || 'Active', ageSince(obj(ns.metadata).creationTimestamp, now)],
    };
  },
};

/** ConfigMaps: NAME DATA AGE (DATA counts data and binaryData keys). */
export const configMapPrinter: Printer = {
  columnDefinitions: [NAME_COLUMN, column('Data', 'string', DOCS.configMap.data), AGE_COLUMN],
  printRow(cm, { now }) {
    return {
      cells: [nameOf(cm), mapSize(cm.data) + mapSize(cm.binaryData), ageSince(obj(cm.metadata).creationTimestamp, now)],
    };
  },
};

/** Secrets: NAME TYPE DATA AGE. */
export const secretPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Type', 'string', DOCS.secret.type),
    column('Data', 'string', DOCS.secret.data),
    AGE_COLUMN,
  ],
  printRow(secret, { now }) {
    // type defaults to Opaque when stored.
    return {
      cells: [
        nameOf(secret),
        str(secret.type) || 'Opaque',
        mapSize(secret.data),
        ageSince(obj(secret.metadata).creationTimestamp, now),
      ],
    };
  },
};

/** ServiceAccounts: NAME SECRETS AGE. */
export const serviceAccountPrinter: Printer = {
  columnDefinitions: [NAME_COLUMN, column('Secrets', 'string', DOCS.serviceAccount.secrets), AGE_COLUMN],
  printRow(sa, { now }) {
    return { cells: [nameOf(sa), list(sa.secrets).length, ageSince(obj(sa.metadata).creationTimestamp, now)] };
  },
};

/** The beta annotation that still overrides spec.storageClassName (helper.GetPersistentVolumeClaimClass). */
const BETA_STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

/** PersistentVolumeClaims: NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE, wide VOLUMEMODE. */
export const persistentVolumeClaimPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Status', 'string', DOCS.persistentVolumeClaim.phase),
    column('Volume', 'string', DOCS.persistentVolumeClaim.volumeName),
    column('Capacity', 'string', DOCS.persistentVolumeClaim.capacity),
    column('Access Modes', 'string', DOCS.persistentVolumeClaim.accessModes),
    column('StorageClass', 'string', 'StorageClass of the pvc'),
    column('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'),
    AGE_COLUMN,
    column('VolumeMode', 'string', DOCS.persistentVolumeClaim.volumeMode, { priority: 1 }),
  ],
  printRow(pvc, { now }) {
    const spec = obj(pvc.spec);
    const status = obj(pvc.status);
    const annotations = stringMap(obj(pvc.metadata).annotations);
    // status.phase defaults to Pending and spec.volumeMode to Filesystem when stored.
    const phase = isDeleting(pvc) ? 'Terminating' : str(status.phase) || 'Pending';
    const volumeName = str(spec.volumeName);
    const bound = volumeName !== '';
    // A missing quantity prints as the zero Quantity, "0". Quantities are printed as stored (already canonical).
    const capacity = bound ? str(obj(status.capacity).storage) || '0' : '';
    const storageClass = annotations[BETA_STORAGE_CLASS_ANNOTATION] ?? optStr(spec.storageClassName) ?? '';
    return {
      cells: [
        nameOf(pvc),
        phase,
        volumeName,
        capacity,
        bound ? accessModesString(strs(status.accessModes)) : '',
        storageClass,
        optStr(spec.volumeAttributesClassName) ?? '<unset>',
        ageSince(obj(pvc.metadata).creationTimestamp, now),
        optStr(spec.volumeMode) ?? 'Filesystem',
      ],
    };
  },
};

/** helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, each once. */
function accessModesString(modes: string[]): string {
  const abbreviations: [string, string][] = [
    ['ReadWriteOnce', 'RWO'],
    ['ReadOnlyMany', 'ROX'],
    ['ReadWriteMany', 'RWX'],
    ['ReadWriteOncePod', 'RWOP'],
  ];
  return abbreviations
    .filter(([mode]) => modes.includes(mode))
    .map(([, short]) => short)
    .join(',');
}
