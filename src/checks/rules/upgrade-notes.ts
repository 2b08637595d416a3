/**
 * `upgrade-notes`: the upgrade notes of every minor the control plane enters on the path (behaviour changes,
 * removals), with the release notes link, as information to read before starting.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const upgradeNotesRule: Rule = {
  id: 'upgrade-notes',
  title: 'Upgrade notes for every hop',
  phases: ['precheck'],
  check({ plan }) {
    const findings: Finding[] = [];
    for (const note of plan.path?.notes ?? []) {
      if (note.kind !== 'upgrade-notes') continue;
      const removed = note.removedApis.map((a) => `${a.group ? `${a.group}/` : ''}${a.version} ${a.kind}`);
      findings.push({
        rule: 'upgrade-notes',
        severity: 'info',
        objects: [],
        message: `entering ${note.minor}: ${note.notes.length > 0 ? note.notes.join(' ') : 'no notes in the catalog.'}${removed.length > 0 ? ` Removed APIs: ${removed.join(', ')}.` : ''}`,
        remediation: `Read the ${note.minor} release notes before upgrading: ${note.releaseNotes}`,
      });
    }
    return findings;
  },
};
