/**
 * `node-runtime`: each node's container runtime and kernel (`status.nodeInfo`) against what the target's kubelet
 * needs, as the catalog records it per minor (entering 1.36 needs containerd 2.0 or later; 1.35's kubelet refuses
 * cgroup v1 hosts; 1.32 and later want a 4.19 kernel).
 *
 * - Precheck: a control-plane node, or a worker of an in-place upgrade, keeps its runtime and kernel through the
 *   upgrade: a blocker. A worker that rolling replacement replaces boots a new machine image: a warning naming the
 *   image, which must bring what the target needs (the postcheck checks that it did).
 * - Postcheck: any node that does not meet the target's requirements is a blocker (an image that did not bring a
 *   supported runtime), but for nodes the run quarantined on purpose.
 * - cgroup v2 is not visible in the API: crossing into a minor that requires it gives an info finding with the
 *   command that tells, and a kernel too old for cgroup v2 (before 4.15) is a problem like the others.
 *
 * @module
 */
import type { NodeRecord } from '../snapshot-types.ts';
import type { Finding, Rule, RuleInput, Severity } from '../types.ts';
import type { EffectiveNodeRequirements } from '../../versions/index.ts';
import {
  compareDotted,
  compareMinors,
  minorOf,
  nodeRequirementsAt,
  parseKernelVersion,
  parseMinor,
  parseRuntimeVersion,
  tryParseVersion,
} from '../../versions/index.ts';

/** The oldest kernel with cgroup v2 support (kernel-version-requirements on kubernetes.io). */
const CGROUP_V2_MIN_KERNEL = '4.15';

/** What one node lacks, in words, with the minors that ask for it. */
interface Shortfall {
  readonly node: NodeRecord;
  readonly problems: readonly string[];
  readonly minors: readonly string[];
}

function shortfallOf(node: NodeRecord, req: EffectiveNodeRequirements): Shortfall | undefined {
  const problems: string[] = [];
  const minors = new Set<string>();
  const runtime = node.containerRuntimeVersion ? parseRuntimeVersion(node.containerRuntimeVersion) : undefined;
  const wanted = runtime ? req.containerRuntimes[runtime.name] : undefined;
  if (runtime && wanted && compareDotted(runtime.version, wanted.value) < 0) {
    problems.push(
      `${runtime.name} ${runtime.version} (${wanted.minor} needs ${runtime.name} ${wanted.value} or later)`,
    );
    minors.add(wanted.minor);
  }
  const kernel = node.kernelVersion ? parseKernelVersion(node.kernelVersion) : undefined;
  if (kernel !== undefined) {
    if (req.minKernel && compareDotted(kernel, req.minKernel.value) < 0) {
      problems.push(
        `kernel ${node.kernelVersion ?? kernel} (${req.minKernel.minor} needs ${req.minKernel.value} or later)`,
      );
      minors.add(req.minKernel.minor);
    } else if (req.cgroupV2 && compareDotted(kernel, CGROUP_V2_MIN_KERNEL) < 0) {
      problems.push(
        `kernel ${node.kernelVersion ?? kernel}, too old for cgroup v2 (${req.cgroupV2.minor} refuses cgroup v1)`,
      );
      minors.add(req.cgroupV2.minor);
    }
  }
  return problems.length > 0 ? { node, problems, minors: [...minors] } : undefined;
}

function describe(list: readonly Shortfall[]): string {
  const shown = list.slice(0, 5).map((s) => `${s.node.name} runs ${s.problems.join(' and ')}`);
  return `${shown.join('; ')}${list.length > 5 ? `; and ${list.length - 5} more node(s)` : ''}`;
}

function sourcesOf(list: readonly Shortfall[], req: EffectiveNodeRequirements): string {
  const urls = new Set<string>();
  const all = [...Object.values(req.containerRuntimes), req.minKernel, req.cgroupV2];
  for (const s of list) for (const m of s.minors) for (const r of all) if (r?.minor === m) urls.add(r.source);
  return [...urls].join(', ');
}

/** Groups shortfalls by pool, in snapshot order. */
function byPool(list: readonly Shortfall[]): Map<string, Shortfall[]> {
  const pools = new Map<string, Shortfall[]>();
  for (const s of list) pools.set(s.node.pool, [...(pools.get(s.node.pool) ?? []), s]);
  return pools;
}

function finding(severity: Severity, list: readonly Shortfall[], message: string, remediation: string): Finding {
  return {
    rule: 'node-runtime',
    severity,
    objects: list.map((s) => ({ kind: 'Node', name: s.node.name })),
    message,
    remediation,
  };
}

function precheck(input: RuleInput, target: string, req: EffectiveNodeRequirements, short: Shortfall[]): Finding[] {
  const findings: Finding[] = [];
  const strategy = input.nodeStrategy ?? 'replace';
  for (const [pool, list] of byPool(short)) {
    const sources = sourcesOf(list, req);
    if (pool === 'control-plane' || list[0]?.node.role === 'control-plane' || strategy === 'in-place') {
      const how =
        list[0]?.node.role === 'control-plane' ? 'control-plane nodes are upgraded in place' : 'an in-place upgrade';
      findings.push(
        finding(
          'blocker',
          list,
          `${pool === 'control-plane' ? 'control plane' : `pool ${pool}`}: ${describe(list)}; ${how} keeps the node's runtime and kernel, so the ${target} kubelet would not run there`,
          `Move these nodes to a machine image or packages that bring what ${target} needs (${sources}) before the upgrade${strategy === 'in-place' && list[0]?.node.role !== 'control-plane' ? ', or upgrade the pool by rolling replacement (--strategy replace) onto such an image' : ''}.`,
        ),
      );
      continue;
    }
    const image = input.images?.[pool];
    const imageText = image !== undefined ? `image ${image}` : `the provider's machine image for ${target}`;
    findings.push(
      finding(
        'warning',
        list,
        `pool ${pool}: ${describe(list)}; rolling replacement boots their replacements from ${imageText}, which must bring what ${target} needs`,
        `Check that ${imageText} ships it (${sources}), or name one that does with --image; the post-upgrade validation fails on a node that still does not meet it.`,
      ),
    );
  }
  // Only when the path crosses into the minor that asks for it: a cluster already past it runs on cgroup v2.
  const from = tryParseVersion(input.plan.from);
  const cg = req.cgroupV2;
  if (cg && from && compareMinors(minorOf(from), parseMinor(cg.minor)) < 0) {
    findings.push({
      rule: 'node-runtime',
      severity: 'info',
      objects: [],
      message: `entering ${cg.minor}: the kubelet refuses to start on a cgroup v1 host, and the API does not show a node's cgroup version`,
      remediation: `On every node, \`stat -fc %T /sys/fs/cgroup/\` must print cgroup2fs (or the kubelet needs failCgroupV1: false); see ${cg.source}.`,
    });
  }
  return findings;
}

/** The rule. */
export const nodeRuntimeRule: Rule = {
  id: 'node-runtime',
  title: 'Node runtime and kernel against the target',
  phases: ['precheck', 'postcheck'],
  check(input) {
    const target = tryParseVersion(input.plan.to);
    if (target === undefined) return [];
    const req = nodeRequirementsAt(input.catalog, target);
    // After the upgrade, nodes the run quarantined or (a canary's postcheck) has yet to move are not judged again.
    const exempt = new Set([...(input.quarantined ?? []), ...(input.pending ?? [])]);
    const short = input.snapshot.nodes
      .filter((n) => !(input.phase === 'postcheck' && exempt.has(n.name)))
      .flatMap((n) => shortfallOf(n, req) ?? []);
    if (input.phase === 'precheck') return precheck(input, input.plan.to, req, short);
    return [...byPool(short)].map(([pool, list]) =>
      finding(
        'blocker',
        list,
        `${pool === 'control-plane' ? 'control plane' : `pool ${pool}`} after the upgrade: ${describe(list)}`,
        `Replace these nodes with a machine image that brings what ${input.plan.to} needs (${sourcesOf(list, req)}).`,
      ),
    );
  },
};
