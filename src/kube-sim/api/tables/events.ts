/** core/v1 Events: upstream printEvent (LAST SEEN TYPE REASON OBJECT MESSAGE, and wide columns). */
import { column, DOCS, NAME_COLUMN } from './columns.ts';
import { int, nameOf, obj, optObj, str } from './fields.ts';
import { ageSince, microAgeSince, parseTime } from './time.ts';
import type { Printer, WireObject } from './types.ts';

/**
 * Events: LAST SEEN TYPE REASON OBJECT, wide SUBOBJECT SOURCE, MESSAGE, wide FIRST SEEN COUNT NAME. The wide columns
 * sit between the others, so the row follows the column order exactly.
 */
export const eventPrinter: Printer = {
  columnDefinitions: [
    column('Last Seen', 'string', DOCS.event.lastTimestamp),
    column('Type', 'string', DOCS.event.type),
    column('Reason', 'string', DOCS.event.reason),
    column('Object', 'string', DOCS.event.involvedObject),
    column('Subobject', 'string', DOCS.objectReference.fieldPath, { priority: 1 }),
    column('Source', 'string', DOCS.event.source, { priority: 1 }),
    column('Message', 'string', DOCS.event.message),
    column('First Seen', 'string', DOCS.event.firstTimestamp, { priority: 1 }),
    column('Count', 'string', DOCS.event.count, { priority: 1 }),
    { ...NAME_COLUMN, priority: 1 },
  ],
  printRow(event, { now }) {
    const involved = obj(event.involvedObject);
    const firstSeen =
      parseTime(event.firstTimestamp) === undefined
        ? microAgeSince(event.eventTime, now)
        : ageSince(event.firstTimestamp, now);
    let lastSeen = parseTime(event.lastTimestamp) === undefined ? firstSeen : ageSince(event.lastTimestamp, now);
    let count = int(event.count);
    const series = optObj(event.series);
    if (series) {
      lastSeen = microAgeSince(series.lastObservedTime, now);
      count = int(series.count);
    } else if (count === 0) {
      // Singleton events of the events.k8s.io API carry no count.
      count = 1;
    }
    const kind = str(involved.kind).toLowerCase();
    const involvedName = str(involved.name);
    return {
      cells: [
        lastSeen,
        str(event.type),
        str(event.reason),
        involvedName.length > 0 ? `${kind}/${involvedName}` : kind,
        str(involved.fieldPath),
        eventSource(event),
        str(event.message).trim(),
        firstSeen,
        count,
        nameOf(event),
      ],
    };
  },
};

/** formatEventSource: `component, host`, falling back to reportingController and reportingInstance. */
function eventSource(event: WireObject): string {
  const source = obj(event.source);
  const component = str(source.component) || str(event.reportingComponent);
  const instance = str(source.host) || str(event.reportingInstance);
  return instance.length === 0 ? component : `${component}, ${instance}`;
}
