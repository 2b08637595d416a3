/**
 * Every rule, in the order the report lists them: health first, then the path, then what the drains will meet.
 *
 * @module
 */
import { apiHealthRule } from './rules/api-health.ts';
import { componentCompatibilityRule } from './rules/component-compatibility.ts';
import { controlPlaneRule } from './rules/control-plane.ts';
import { cordonedNodesRule } from './rules/cordoned-nodes.ts';
import { deprecatedApisRule } from './rules/deprecated-apis.ts';
import { drainRefusalsRule } from './rules/drain-refusals.ts';
import { drainSimulationRule } from './rules/drain-simulation.ts';
import { etcdRule } from './rules/etcd.ts';
import { nodeRuntimeRule } from './rules/node-runtime.ts';
import { failingPodsRule } from './rules/failing-pods.ts';
import { nodesReadyRule } from './rules/nodes-ready.ts';
import { pdbBlockersRule } from './rules/pdb-blockers.ts';
import { pdbHealthRule } from './rules/pdb-health.ts';
import { pendingPodsRule } from './rules/pending-pods.ts';
import { pendingPvcsRule } from './rules/pending-pvcs.ts';
import { singleReplicaRule } from './rules/single-replica.ts';
import { implicitBudgetRule } from './rules/implicit-budget.ts';
import { stuckTerminatingRule } from './rules/stuck-terminating.ts';
import { systemPodsRule } from './rules/system-pods.ts';
import { upgradeNotesRule } from './rules/upgrade-notes.ts';
import { upgradePathRule } from './rules/upgrade-path.ts';
import { versionSkewRule } from './rules/version-skew.ts';
import { versionsAtTargetRule } from './rules/versions-at-target.ts';
import type { CheckPhase, Rule } from './types.ts';

/** Every rule kup has. */
export const ALL_RULES: readonly Rule[] = Object.freeze([
  apiHealthRule,
  controlPlaneRule,
  etcdRule,
  nodesReadyRule,
  systemPodsRule,
  failingPodsRule,
  stuckTerminatingRule,
  upgradePathRule,
  versionSkewRule,
  nodeRuntimeRule,
  versionsAtTargetRule,
  deprecatedApisRule,
  pdbBlockersRule,
  singleReplicaRule,
  implicitBudgetRule,
  drainRefusalsRule,
  pendingPvcsRule,
  cordonedNodesRule,
  drainSimulationRule,
  componentCompatibilityRule,
  pendingPodsRule,
  pdbHealthRule,
  upgradeNotesRule,
]);

/** The rules of one phase, in report order. */
export function rulesFor(phase: CheckPhase): readonly Rule[] {
  return ALL_RULES.filter((r) => r.phases.includes(phase));
}
