/** apps/v1 workloads: upstream printDeployment, printReplicaSet, printDaemonSet, printStatefulSet, printControllerRevision. */
import { AGE_COLUMN, column, CONTAINERS_COLUMN, DOCS, IMAGES_COLUMN, NAME_COLUMN } from './columns.ts';
import { int, nameOf, obj, optInt, str } from './fields.ts';
import { formatLabels, formatLabelSelector, labelSelectorString, layoutContainerCells } from './labels.ts';
import { ageSince } from './time.ts';
import type { Printer, WireObject } from './types.ts';

/** spec.replicas, defaulted to 1 as the apiserver does before storing. */
function desiredReplicas(o: WireObject): number {
  return optInt(obj(o.spec).replicas) ?? 1;
}

function podTemplateSpec(o: WireObject): WireObject {
  return obj(obj(obj(o.spec).template).spec);
}

/** Deployments: NAME READY UP-TO-DATE AVAILABLE AGE, and wide CONTAINERS IMAGES SELECTOR. */
export const deploymentPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Ready', 'string', 'Number of the pod with ready state'),
    column('Up-to-date', 'string', DOCS.deployment.updatedReplicas),
    column('Available', 'string', DOCS.deployment.availableReplicas),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'string', DOCS.deployment.selector, { priority: 1 }),
  ],
  printRow(deployment, { now }) {
    const status = obj(deployment.status);
    const [names, images] = layoutContainerCells(podTemplateSpec(deployment));
    return {
      cells: [
        nameOf(deployment),
        `${int(status.readyReplicas)}/${desiredReplicas(deployment)}`,
        int(status.updatedReplicas),
        int(status.availableReplicas),
        ageSince(obj(deployment.metadata).creationTimestamp, now),
        names,
        images,
        // Unlike the other workloads, upstream prints the raw selector string here (no `<none>`).
        labelSelectorString(obj(deployment.spec).selector) ?? '<invalid>',
      ],
    };
  },
};

/** ReplicaSets: NAME DESIRED CURRENT READY AGE, and wide CONTAINERS IMAGES SELECTOR. */
export const replicaSetPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Desired', 'integer', DOCS.replicaSet.specReplicas),
    column('Current', 'integer', DOCS.replicaSet.statusReplicas),
    column('Ready', 'integer', DOCS.replicaSet.readyReplicas),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'string', DOCS.replicaSet.selector, { priority: 1 }),
  ],
  printRow(rs, { now }) {
    const status = obj(rs.status);
    const [names, images] = layoutContainerCells(podTemplateSpec(rs));
    return {
      cells: [
        nameOf(rs),
        desiredReplicas(rs),
        int(status.replicas),
        int(status.readyReplicas),
        ageSince(obj(rs.metadata).creationTimestamp, now),
        names,
        images,
        formatLabelSelector(obj(rs.spec).selector),
      ],
    };
  },
};

/** DaemonSets: NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE, and wide CONTAINERS IMAGES SELECTOR. */
export const daemonSetPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Desired', 'integer', DOCS.daemonSet.desiredNumberScheduled),
    column('Current', 'integer', DOCS.daemonSet.currentNumberScheduled),
    column('Ready', 'integer', DOCS.daemonSet.numberReady),
    column('Up-to-date', 'integer', DOCS.daemonSet.updatedNumberScheduled),
    column('Available', 'integer', DOCS.daemonSet.numberAvailable),
    column('Node Selector', 'string', DOCS.podSpec.nodeSelector),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'string', DOCS.daemonSet.selector, { priority: 1 }),
  ],
  printRow(ds, { now }) {
    const status = obj(ds.status);
    const podSpec = podTemplateSpec(ds);
    const [names, images] = layoutContainerCells(podSpec);
    return {
      cells: [
        nameOf(ds),
        int(status.desiredNumberScheduled),
        int(status.currentNumberScheduled),
        int(status.numberReady),
        int(status.updatedNumberScheduled),
        int(status.numberAvailable),
        formatLabels(podSpec.nodeSelector),
        ageSince(obj(ds.metadata).creationTimestamp, now),
        names,
        images,
        formatLabelSelector(obj(ds.spec).selector),
      ],
    };
  },
};

/** StatefulSets: NAME READY AGE, and wide CONTAINERS IMAGES. */
export const statefulSetPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Ready', 'string', 'Number of the pod with ready state'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
  ],
  printRow(sts, { now }) {
    const [names, images] = layoutContainerCells(podTemplateSpec(sts));
    return {
      cells: [
        nameOf(sts),
        `${int(obj(sts.status).readyReplicas)}/${desiredReplicas(sts)}`,
        ageSince(obj(sts.metadata).creationTimestamp, now),
        names,
        images,
      ],
    };
  },
};

/** ControllerRevisions: NAME CONTROLLER REVISION AGE. */
export const controllerRevisionPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Controller', 'string', 'Controller of the object'),
    column('Revision', 'string', DOCS.controllerRevision.revision),
    AGE_COLUMN,
  ],
  printRow(revision, { now }) {
    return {
      cells: [
        nameOf(revision),
        controllerName(revision),
        int(revision.revision),
        ageSince(obj(revision.metadata).creationTimestamp, now),
      ],
    };
  },
};

/** `daemonset.apps/<name>` for the controller owner reference (formatResourceName with the GroupKind), or `<none>`. */
function controllerName(o: WireObject): string {
  const refs = obj(o.metadata).ownerReferences;
  const ref = Array.isArray(refs) ? refs.find((r): r is WireObject => obj(r).controller === true) : undefined;
  if (ref === undefined) return '<none>';
  const apiVersion = str(ref.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = str(ref.kind);
  const name = str(ref.name);
  if (group === '' && kind === '') return name;
  return `${(group === '' ? kind : `${kind}.${group}`).toLowerCase()}/${name}`;
}
