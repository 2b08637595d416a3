/**
 * `deprecated-apis`: API versions the target no longer serves that are still in use, from two sources merged into
 * one finding per API version and kind:
 *
 * - `last-applied`: stored objects whose `kubectl.kubernetes.io/last-applied-configuration` names the old version
 *   (the live object is converted on read, so only the annotation shows what someone applies; their manifests
 *   will fail to apply on the target);
 * - `live-metric`: `apiserver_requested_deprecated_apis`, the versions clients requested since the API server
 *   started (those clients break on the target).
 *
 * The removal table is data: the catalog's `removedApis`. An API removed within the path is a blocker; evidence of
 * an API removed before the current version is a warning (those manifests already fail); a requested API whose
 * removal comes after the target is information.
 *
 * @module
 */
import type { RemovedApi } from '../../versions/index.ts';
import { compareMinors, parseKubeletVersion, parseMinor } from '../../versions/index.ts';
import type { LastAppliedRecord } from '../snapshot-types.ts';
import type { Finding, FindingSource, ObjectRef, Rule, Severity } from '../types.ts';

/** The plural resource name of a kind, as the metric labels it (`PodDisruptionBudget` is `poddisruptionbudgets`). */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

const gv = (group: string, version: string): string => (group ? `${group}/${version}` : version);

interface Evidence {
  apiVersion: string;
  kind: string;
  removedIn?: string;
  replacement?: string | null;
  note?: string;
  objects: ObjectRef[];
  sources: Set<FindingSource>;
}

function minorText(version: string): string | undefined {
  try {
    const v = parseKubeletVersion(version).version;
    return `${v.major}.${v.minor}`;
  } catch {
    return undefined;
  }
}

/** The rule. */
export const deprecatedApisRule: Rule = {
  id: 'deprecated-apis',
  title: 'Deprecated and removed APIs in use',
  phases: ['precheck'],
  check({ snapshot, plan, catalog }) {
    const fromMinor = minorText(plan.from) ?? minorText(snapshot.gitVersion ?? '');
    const toMinor = minorText(plan.to);
    if (toMinor === undefined) return [];
    const removed = new Map<string, RemovedApi>();
    for (const api of catalog.removedApis) removed.set(`${gv(api.group, api.version)}|${api.kind}`, api);
    const evidence = new Map<string, Evidence>();
    const entry = (apiVersion: string, kind: string): Evidence => {
      const key = `${apiVersion}|${kind}`;
      let e = evidence.get(key);
      if (e === undefined) {
        const api = removed.get(key);
        e = {
          apiVersion,
          kind,
          objects: [],
          sources: new Set(),
          ...(api
            ? { removedIn: api.removedIn, replacement: api.replacement, ...(api.note ? { note: api.note } : {}) }
            : {}),
        };
        evidence.set(key, e);
      }
      return e;
    };
    const lastApplied: readonly LastAppliedRecord[] = snapshot.lastApplied;
    for (const record of lastApplied) {
      if (!removed.has(`${record.apiVersion}|${record.kind}`)) continue;
      const e = entry(record.apiVersion, record.kind);
      e.objects.push({
        kind: record.kind,
        ...(record.namespace ? { namespace: record.namespace } : {}),
        name: record.name,
      });
      e.sources.add('last-applied');
    }
    for (const request of snapshot.deprecatedApiRequests) {
      const apiVersion = gv(request.group, request.version);
      const api = catalog.removedApis.find(
        (a) => gv(a.group, a.version) === apiVersion && pluralOf(a.kind) === request.resource,
      );
      const e = entry(apiVersion, api?.kind ?? request.resource);
      if (e.removedIn === undefined && request.removedRelease !== '') e.removedIn = request.removedRelease;
      e.sources.add('live-metric');
    }

    const findings: Finding[] = [];
    for (const e of evidence.values()) {
      const removedIn = e.removedIn;
      let severity: Severity;
      let when: string;
      if (removedIn === undefined || removedIn === '') {
        severity = 'info';
        when = 'is deprecated (no removal planned yet)';
      } else if (compareMinors(parseMinor(removedIn), parseMinor(toMinor)) > 0) {
        severity = 'info';
        when = `is deprecated and removed in ${removedIn}, after the target ${plan.to}`;
      } else if (fromMinor !== undefined && compareMinors(parseMinor(removedIn), parseMinor(fromMinor)) <= 0) {
        severity = 'warning';
        when = `was removed in ${removedIn}: the cluster (${plan.from}) already does not serve it`;
      } else {
        severity = 'blocker';
        when = `is removed in ${removedIn}, on the path to ${plan.to}`;
      }
      const sources = [...e.sources].sort();
      const evidenceText: string[] = [];
      if (e.sources.has('last-applied')) {
        const names = e.objects.slice(0, 5).map((o) => (o.namespace ? `${o.namespace}/${o.name}` : o.name));
        evidenceText.push(
          `${e.objects.length} object${e.objects.length === 1 ? ' was' : 's were'} last applied at it (${names.join(', ')}${e.objects.length > 5 ? ', ...' : ''}) [last-applied]`,
        );
      }
      if (e.sources.has('live-metric'))
        evidenceText.push('clients requested it since the API server started [live-metric]');
      const target =
        e.replacement === undefined
          ? 'the current API version'
          : e.replacement === null
            ? 'nothing (the API is gone without replacement)'
            : e.replacement;
      findings.push({
        rule: 'deprecated-apis',
        severity,
        objects: e.objects,
        sources,
        message: `${e.apiVersion} ${e.kind} ${when}; ${evidenceText.join('; ')}`,
        remediation:
          `${e.replacement === null ? `Remove the ${e.kind} objects and what depends on them` : `Rewrite the manifests at ${target} and re-apply them (kubectl convert helps)`}` +
          `${e.sources.has('live-metric') ? '; find the clients still calling it in the API server audit log (user agent) and upgrade them' : ''}` +
          `${e.note ? `. Note: ${e.note.replace(/\.$/, '')}` : ''}.`,
      });
    }
    return findings;
  },
};
