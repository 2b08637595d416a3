/**
 * `component-compatibility`: the cluster add-ons whose versions the catalog tracks (CoreDNS, kube-proxy, the CNI:
 * Calico, Cilium, flannel; the ingress-nginx controller), found by image in every DaemonSet and Deployment, against
 * every minor the control plane enters on the path. Warnings: an add-on outside its supported range often still
 * works, but it is the first suspect when something breaks.
 *
 * @module
 */
import type { Catalog } from '../../versions/index.ts';
import { componentCompatibility, parseKubeletVersion } from '../../versions/index.ts';
import { componentOfImage, parseImage } from '../images.ts';
import type { Finding, Rule } from '../types.ts';

function minorOfText(version: string): string | undefined {
  try {
    const v = parseKubeletVersion(version).version;
    return `${v.major}.${v.minor}`;
  } catch {
    return undefined;
  }
}

function verdicts(catalog: Catalog, component: string, version: string, minors: readonly string[]) {
  try {
    return minors.map((minor) => ({ minor, verdict: componentCompatibility(catalog, component, version, minor) }));
  } catch {
    return undefined;
  }
}

/** The rule. */
export const componentCompatibilityRule: Rule = {
  id: 'component-compatibility',
  title: 'Add-on compatibility (CNI, CoreDNS, kube-proxy, ingress)',
  phases: ['precheck', 'postcheck'],
  check({ snapshot, plan, catalog, phase }) {
    const minors =
      phase === 'precheck'
        ? [
            ...new Set(
              (plan.path?.steps ?? [])
                .flatMap((s) => (s.kind === 'control-plane' ? [minorOfText(s.to) ?? ''] : []))
                .filter((m) => m !== ''),
            ),
          ]
        : [minorOfText(plan.to) ?? ''].filter((m) => m !== '');
    if (minors.length === 0) {
      const target = minorOfText(plan.to);
      if (target !== undefined) minors.push(target);
    }
    const findings: Finding[] = [];
    for (const w of snapshot.workloads) {
      if (w.kind !== 'DaemonSet' && w.kind !== 'Deployment') continue;
      for (const image of w.images) {
        const component = componentOfImage(image);
        if (component === undefined) continue;
        const version = parseImage(image).tag;
        const objects = [{ kind: w.kind, namespace: w.namespace, name: w.name }];
        const results = verdicts(catalog, component, version, minors);
        if (results === undefined) {
          findings.push({
            rule: 'component-compatibility',
            severity: 'info',
            objects,
            message: `${component} image ${image}: the tag "${version}" is not a version, so its compatibility is unknown`,
            remediation: `Pin ${component} to a versioned image and check its compatibility with ${minors.join(', ')} in the vendor's documentation.`,
          });
          continue;
        }
        const incompatible = results.filter((r) => r.verdict.status === 'incompatible');
        const unknown = results.filter((r) => r.verdict.status === 'unknown');
        if (incompatible.length > 0) {
          const entry = incompatible[0]?.verdict.status === 'incompatible' ? incompatible[0].verdict.entry : undefined;
          const range = entry
            ? `${entry.kubernetes.from}${entry.kubernetes.to ? `-${entry.kubernetes.to}` : '+'}`
            : '?';
          findings.push({
            rule: 'component-compatibility',
            severity: 'warning',
            objects,
            message: `${component} ${version} (${w.kind} ${w.namespace}/${w.name}) supports Kubernetes ${range}, not ${incompatible.map((r) => r.minor).join(', ')}${entry?.confidence === 'estimated' ? ' (estimated by the catalog)' : ''}${entry?.note ? `. ${entry.note}` : ''}`,
            remediation:
              component === 'kube-proxy'
                ? 'kube-proxy follows the control plane (kubeadm upgrade apply moves it); on other distributions upgrade it right after the control plane.'
                : `Upgrade ${component} to a version that supports ${incompatible.map((r) => r.minor).join(', ')} before (or right after) the control plane moves; check the vendor's compatibility matrix.`,
          });
        } else if (unknown.length === results.length && results.length > 0) {
          findings.push({
            rule: 'component-compatibility',
            severity: 'info',
            objects,
            message: `${component} ${version} (${w.kind} ${w.namespace}/${w.name}) is not in the catalog's compatibility table`,
            remediation: `Check ${component} ${version} against Kubernetes ${minors.join(', ')} in the vendor's documentation.`,
          });
        }
      }
    }
    return findings;
  },
};
