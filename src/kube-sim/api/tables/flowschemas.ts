/** flowcontrol.apiserver.k8s.io FlowSchemas: upstream printFlowSchema, and the order printFlowSchemaList imposes. */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { nameOf, obj, objs, optInt, optObj, str } from './fields.ts';
import { compareBytes } from './labels.ts';
import { ageSince } from './time.ts';
import type { Printer, WireObject } from './types.ts';

/** spec.matchingPrecedence, defaulted to 1000 when stored. */
function matchingPrecedence(fs: WireObject): number {
  const value = optInt(obj(fs.spec).matchingPrecedence);
  return value === undefined || value === 0 ? 1000 : value;
}

/** FlowSchemas: NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD AGE MISSINGPL. */
export const flowSchemaPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('PriorityLevel', 'string', DOCS.flowSchema.priorityLevel),
    column('MatchingPrecedence', 'string', DOCS.flowSchema.matchingPrecedence),
    column('DistinguisherMethod', 'string', DOCS.flowSchema.distinguisherMethod),
    AGE_COLUMN,
    column('MissingPL', 'string', 'references a broken or non-existent PriorityLevelConfiguration'),
  ],
  printRow(fs, { now }) {
    const spec = obj(fs.spec);
    const method = optObj(spec.distinguisherMethod);
    const dangling = objs(obj(fs.status).conditions).find((c) => c.type === 'Dangling');
    return {
      cells: [
        nameOf(fs),
        str(obj(spec.priorityLevelConfiguration).name),
        matchingPrecedence(fs),
        method ? str(method.type) : '<none>',
        ageSince(obj(fs.metadata).creationTimestamp, now),
        dangling ? str(dangling.status) : '?',
      ],
    };
  },
  // FlowSchemaSequence: lower matchingPrecedence first, then by name.
  compare: (a, b) => matchingPrecedence(a) - matchingPrecedence(b) || compareBytes(nameOf(a), nameOf(b)),
};
