/**
 * `api-health`: the API server answers, `/readyz` is healthy (every verbose check `[+]`), `/version` answers, and
 * every part of the snapshot could be read.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** The failing checks of a `/readyz?verbose` body (`[-]etcd failed: reason withheld` lines). */
export function failingReadyzChecks(body: string): string[] {
  return body
    .split('\n')
    .filter((line) => line.startsWith('[-]'))
    .map((line) => line.slice(3).trim());
}

/** The rule. */
export const apiHealthRule: Rule = {
  id: 'api-health',
  title: 'API server reachable and /readyz healthy',
  phases: ['precheck', 'postcheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    const { readyz } = snapshot;
    if (!readyz.ok) {
      findings.push({
        rule: 'api-health',
        severity: 'blocker',
        objects: [],
        message: `the API server ${snapshot.server} did not answer /readyz: ${readyz.error}`,
        remediation:
          'Check that the kubeconfig points at the cluster, that the network reaches it and that the credentials are valid; then run the precheck again.',
      });
    } else {
      const failing = failingReadyzChecks(readyz.body);
      if (readyz.status !== 200 || failing.length > 0) {
        findings.push({
          rule: 'api-health',
          severity: 'blocker',
          objects: [],
          message: `/readyz answered ${readyz.status}${failing.length > 0 ? `; failing checks: ${failing.join(', ')}` : `: ${readyz.body.trim().slice(0, 200)}`}`,
          remediation:
            'Fix the failing API server checks (kubectl get --raw "/readyz?verbose") before upgrading: an unhealthy control plane is not a starting point for an upgrade.',
        });
      }
    }
    if (snapshot.readyzFallback !== undefined && readyz.ok) {
      findings.push({
        rule: 'api-health',
        severity: 'warning',
        objects: [],
        message: `the API server serves no /readyz (HTTP 404): its health is judged from ${snapshot.readyzFallback.endpoint}, which answered ${readyz.status}`,
        remediation:
          'A partial API server (a simulator, some proxies) is upgraded with less evidence of its health: check the control plane yourself after each hop.',
      });
    }
    if (snapshot.versionFrom !== undefined) {
      findings.push({
        rule: 'api-health',
        severity: 'warning',
        objects: [],
        message: `the API server serves no /version (HTTP 404): the control-plane version ${snapshot.gitVersion ?? ''} is the word of ${snapshot.versionFrom.source}`,
        remediation: 'Nothing to do if that is the version the control plane runs; kup plans the path from it.',
      });
    }
    if (snapshot.kubeletsFrom !== undefined) {
      const { nodes, source } = snapshot.kubeletsFrom;
      findings.push({
        rule: 'api-health',
        severity: 'warning',
        objects: nodes.slice(0, 10).map((name) => ({ kind: 'Node', name })),
        message: `${nodes.length} node${nodes.length === 1 ? '' : 's'} report${nodes.length === 1 ? 's' : ''} no kubelet version (status.nodeInfo): ${nodes.length === 1 ? 'its version is' : 'their versions are'} the word of ${source}`,
        remediation: 'Nothing to do if those are the versions the nodes run; kup plans the path from them.',
      });
    }
    if (snapshot.gitVersion === undefined && readyz.ok) {
      findings.push({
        rule: 'api-health',
        severity: 'blocker',
        objects: [],
        message: 'the API server did not report its version (/version)',
        remediation:
          'Check the API server and the credentials (kubectl version); kup needs the control-plane version to plan the path.',
      });
    }
    for (const problem of snapshot.problems) {
      // When /readyz itself failed, the same cause is behind every other part: one blocker says it.
      if (!readyz.ok) break;
      findings.push({
        rule: 'api-health',
        severity: problem.part === 'nodes' || problem.part === 'pods' ? 'blocker' : 'warning',
        objects: [],
        message: `could not read ${problem.part}: ${problem.message}; the checks that need it are incomplete`,
        remediation: readRemediation(problem.status),
      });
    }
    return findings;
  },
};

/** What to do about a part of the cluster that could not be read, by the API server's answer. */
function readRemediation(status: number | undefined): string {
  if (status === 401 || status === 403)
    return 'Check the credentials allow list on that resource (kubectl auth can-i list <resource> -A) and run the precheck again.';
  if (status === 404)
    return 'The API server does not serve that resource (a partial or older API server): check what the incomplete checks would have looked at yourself, or upgrade without them.';
  if (status !== undefined && status >= 500)
    return `The API server failed to answer (HTTP ${status}): look at its logs and events, then run the precheck again.`;
  return 'Check that the API server answers that read (kubectl get <resource> -A) and run the precheck again.';
}
