/**
 * The meta.k8s.io/v1 Table shapes kube-sim answers `kubectl get` with, and the printer contract each resource's
 * column set implements (upstream `pkg/printers`: a column list plus a function from one object to one row).
 */

/** metav1.TableColumnDefinition: every field is always on the wire, `format` and `priority` included. */
export interface TableColumnDefinition {
  name: string;
  /** OpenAPI type of the cells: `string`, `integer`, `number`, `boolean` or `date`. */
  type: string;
  /** OpenAPI format hint; `name` marks the column holding the object name. */
  format: string;
  description: string;
  /** 0 for columns kubectl always shows; greater for the ones only `-o wide` shows. */
  priority: number;
}

/** metav1.TableRowCondition: the apiserver marks finished pods `Completed`. */
export interface TableRowCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/** metav1.TableRow. `conditions` is omitted when empty, as the apiserver does. */
export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** PartialObjectMetadata, the full object, or null, depending on `includeObject`. */
  object: unknown;
}

/** metav1.Table as served for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** The `includeObject` query parameter (metav1.IncludeObjectPolicy); kubectl's default is Metadata. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Options of {@link buildTable}. */
export interface TableOptions {
  /** What each row carries in `object`. */
  includeObject: IncludeObject;
  /** The server clock in ms since the epoch: ages (`5m12s`) are measured from it. */
  now: number;
  /**
   * The ListMeta of a list answer; absent fields stay off the wire. Leave it out for a single-object GET: the Table
   * then carries the object's resourceVersion, as the apiserver's does.
   */
  listMeta?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
}

/** A wire object: plain JSON as stored. */
export type WireObject = Record<string, unknown>;

/** What a printer needs besides the object. */
export interface PrintContext {
  /** The server clock in ms since the epoch. */
  now: number;
}

/** The part of a row a printer produces; buildTable adds `object`. */
export interface PrintedRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
}

/**
 * One resource's table printer, as the apiserver runs it: with `Wide: true`, so every column (priority > 0 too) has
 * a cell in every row.
 */
export interface Printer {
  columnDefinitions: readonly TableColumnDefinition[];
  printRow(obj: WireObject, context: PrintContext): PrintedRow;
  /** List order the upstream list printer imposes (only FlowSchemas have one); otherwise storage order is kept. */
  compare?: (a: WireObject, b: WireObject) => number;
}
