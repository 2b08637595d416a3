/** coordination.k8s.io Leases: upstream printLease. */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { nameOf, obj, str } from './fields.ts';
import { ageSince } from './time.ts';
import type { Printer } from './types.ts';

/** Leases: NAME HOLDER AGE. */
export const leasePrinter: Printer = {
  columnDefinitions: [NAME_COLUMN, column('Holder', 'string', DOCS.lease.holderIdentity), AGE_COLUMN],
  printRow(lease, { now }) {
    return {
      cells: [nameOf(lease), str(obj(lease.spec).holderIdentity), ageSince(obj(lease.metadata).creationTimestamp, now)],
    };
  },
};
