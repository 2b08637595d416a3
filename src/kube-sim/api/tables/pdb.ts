/** policy PodDisruptionBudgets: upstream printPodDisruptionBudget. */
import { AGE_COLUMN, column, NAME_COLUMN } from './columns.ts';
import { int, intOrString, nameOf, obj } from './fields.ts';
import { ageSince } from './time.ts';
import type { Printer } from './types.ts';

/** PodDisruptionBudgets: NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE (`N/A` for the unset bound). */
export const podDisruptionBudgetPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Min Available', 'string', 'The minimum number of pods that must be available.'),
    column('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
    column('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
    AGE_COLUMN,
  ],
  printRow(pdb, { now }) {
    const spec = obj(pdb.spec);
    return {
      cells: [
        nameOf(pdb),
        intOrString(spec.minAvailable) ?? 'N/A',
        intOrString(spec.maxUnavailable) ?? 'N/A',
        int(obj(pdb.status).disruptionsAllowed),
        ageSince(obj(pdb.metadata).creationTimestamp, now),
      ],
    };
  },
};
