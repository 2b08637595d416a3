/** The upgrades open to a cluster in one line: `kup cluster list`'s UPGRADE column, and the service's summary. */
import type { AvailableUpgrades } from '../versions/index.ts';

/** The UPGRADE column: the newest patch and the newest release of the next minor the catalog offers. */
export function upgradeSummary(u: AvailableUpgrades): string {
  if (!u.known) return 'unknown version (kup catalog update)';
  const past = u.pastEndOfSupport;
  if (past) {
    // Listing expired versions as if they were upgrades would read as routine: say that support ended, and how far back it is.
    const way = past.toOldestSupported;
    return way
      ? `${past.minor} past end of support: ${way.hops.length} hop${way.hops.length === 1 ? '' : 's'} to ${way.hops[way.hops.length - 1] ?? way.minor} (next ${way.hops[0] ?? way.minor})`
      : `${past.minor} past end of support (kup catalog update)`;
  }
  const parts: string[] = [];
  const patch = u.patches[u.patches.length - 1];
  const minor = u.nextMinor[u.nextMinor.length - 1];
  if (patch) parts.push(`patch ${patch.version}`);
  if (minor) parts.push(`minor ${minor.version}`);
  if (parts.length > 0) return parts.join(', ');
  // Newer versions exist but are past their end of support (or previews): the cluster is stuck, not up to date.
  const newest = u.withheld[u.withheld.length - 1];
  return newest
    ? `none supported (newest ${newest.version} is ${newest.classification}: --allow-${newest.classification})`
    : 'up to date';
}
