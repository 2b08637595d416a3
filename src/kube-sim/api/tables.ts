/**
 * Server-side table printing: the `meta.k8s.io/v1` Table the real kube-apiserver returns when kubectl asks for
 * `application/json;as=Table;v=v1;g=meta.k8s.io`, so that the real `kubectl get` prints the real columns.
 *
 * Each resource with an upstream printer (kubernetes `pkg/printers/internalversion`) has one in `tables/`; every
 * other resource gets the apiserver's default NAME / CREATED AT table. As on the real server, printers run "wide":
 * every column, priority > 0 included, is in the Table, and kubectl hides those unless `-o wide`.
 */
import {
  controllerRevisionPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from './tables/apps.ts';
import { cronJobPrinter, jobPrinter } from './tables/batch.ts';
import {
  configMapPrinter,
  namespacePrinter,
  persistentVolumeClaimPrinter,
  secretPrinter,
  serviceAccountPrinter,
} from './tables/config.ts';
import { defaultPrinter } from './tables/default-table.ts';
import { eventPrinter } from './tables/events.ts';
import { isObject } from './tables/fields.ts';
import { flowSchemaPrinter } from './tables/flowschemas.ts';
import { horizontalPodAutoscalerPrinter } from './tables/hpa.ts';
import { leasePrinter } from './tables/leases.ts';
import { nodePrinter } from './tables/nodes.ts';
import { podDisruptionBudgetPrinter } from './tables/pdb.ts';
import { podPrinter } from './tables/pods.ts';
import { endpointsPrinter, servicePrinter } from './tables/services.ts';
import type { IncludeObject, Printer, Table, TableOptions, TableRow, WireObject } from './tables/types.ts';

export type {
  IncludeObject,
  Table,
  TableColumnDefinition,
  TableOptions,
  TableRow,
  TableRowCondition,
} from './tables/types.ts';
export { humanDuration } from './tables/time.ts';

/** Printers by `group/plural` (core group: `/plural`). Every served version of a resource shares its printer. */
const PRINTERS: ReadonlyMap<string, Printer> = new Map([
  ['/pods', podPrinter],
  ['/nodes', nodePrinter],
  ['/namespaces', namespacePrinter],
  ['/events', eventPrinter],
  ['/services', servicePrinter],
  ['/endpoints', endpointsPrinter],
  ['/configmaps', configMapPrinter],
  ['/secrets', secretPrinter],
  ['/serviceaccounts', serviceAccountPrinter],
  ['/persistentvolumeclaims', persistentVolumeClaimPrinter],
  ['apps/deployments', deploymentPrinter],
  ['apps/replicasets', replicaSetPrinter],
  ['apps/daemonsets', daemonSetPrinter],
  ['apps/statefulsets', statefulSetPrinter],
  ['apps/controllerrevisions', controllerRevisionPrinter],
  ['batch/jobs', jobPrinter],
  ['batch/cronjobs', cronJobPrinter],
  ['policy/poddisruptionbudgets', podDisruptionBudgetPrinter],
  ['coordination.k8s.io/leases', leasePrinter],
  ['autoscaling/horizontalpodautoscalers', horizontalPodAutoscalerPrinter],
  ['flowcontrol.apiserver.k8s.io/flowschemas', flowSchemaPrinter],
]);

/** The resource a Table is built for, as the request named it. */
export interface TableResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/**
 * Builds the Table the real apiserver returns for `objects` of the resource `group`/`plural`, in the order given
 * (the order of the list; FlowSchemas are re-sorted, as upstream's list printer does). Lists pass their ListMeta in
 * `options.listMeta`; without it (a single-object GET) the Table carries the object's resourceVersion, as the
 * apiserver copies it.
 *
 * Row objects are not copied: the Table is meant to be serialised straight away.
 */
export function buildTable(resource: TableResource, objects: Record<string, unknown>[], options: TableOptions): Table {
  const printer = PRINTERS.get(`${resource.group}/${resource.plural}`) ?? defaultPrinter;
  const ordered = printer.compare ? [...objects].sort(printer.compare) : objects;
  const context = { now: options.now };
  const rows = ordered.map((o): TableRow => {
    const { cells, conditions } = printer.printRow(o, context);
    return {
      cells,
      ...(conditions && conditions.length > 0 ? { conditions } : {}),
      object: rowObject(resource, o, options.includeObject),
    };
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMetadata(options.listMeta ?? singleObjectMeta(objects)),
    columnDefinitions: [...printer.columnDefinitions],
    rows,
  };
}

/**
 * What a row carries: for Metadata (kubectl's default) a PartialObjectMetadata with the whole metadata, which kubectl
 * reads for NAMESPACE, --show-labels and -L; for Object the object at the requested version (kubectl's --sort-by);
 * for None a JSON null, as the apiserver's empty RawExtension marshals.
 */
function rowObject(resource: TableResource, o: WireObject, includeObject: IncludeObject): unknown {
  switch (includeObject) {
    case 'None':
      return null;
    case 'Metadata':
      return {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: isObject(o.metadata) ? o.metadata : {},
      };
    case 'Object': {
      // The apiserver converts each object to the version the request named.
      const { kind: _kind, apiVersion: _apiVersion, ...rest } = o;
      return {
        kind: resource.kind,
        apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
        ...rest,
      };
    }
  }
}

/** ListMeta with only the fields that are set (all three are omitempty on the wire). */
function listMetadata(listMeta: TableOptions['listMeta']): Table['metadata'] {
  const metadata: Table['metadata'] = {};
  if (listMeta?.resourceVersion) metadata.resourceVersion = listMeta.resourceVersion;
  if (listMeta?.continue) metadata.continue = listMeta.continue;
  if (listMeta?.remainingItemCount !== undefined) metadata.remainingItemCount = listMeta.remainingItemCount;
  return metadata;
}

/** The resourceVersion of a lone object, which a single-object GET's Table reports. */
function singleObjectMeta(objects: WireObject[]): TableOptions['listMeta'] {
  const only = objects.length === 1 ? objects[0] : undefined;
  const resourceVersion = only && isObject(only.metadata) ? only.metadata.resourceVersion : undefined;
  return typeof resourceVersion === 'string' ? { resourceVersion } : undefined;
}
