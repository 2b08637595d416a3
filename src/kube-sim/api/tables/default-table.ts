/** The apiserver's table for resources without a printer (apiserver `registry/rest` defaultTableConvertor). */
import { column, DOCS, NAME_COLUMN } from './columns.ts';
import { nameOf, obj } from './fields.ts';
import { parseTime } from './time.ts';
import type { Printer } from './types.ts';

/** Go's zero time in time.RFC3339, what an unset creationTimestamp formats to. */
const ZERO_TIME_RFC3339 = '0001-01-01T00:00:00Z';

/** NAME and CREATED AT, the latter an RFC 3339 UTC timestamp that kubectl shows as is. */
export const defaultPrinter: Printer = {
  columnDefinitions: [NAME_COLUMN, column('Created At', 'date', DOCS.objectMeta.creationTimestamp)],
  printRow(o) {
    const created = parseTime(obj(o.metadata).creationTimestamp);
    return {
      cells: [
        nameOf(o),
        created === undefined ? ZERO_TIME_RFC3339 : new Date(created).toISOString().replace('.000Z', 'Z'),
      ],
    };
  },
};
