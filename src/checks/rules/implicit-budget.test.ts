import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ruleInput, run, summary, testDeployment, testPdb, testSnapshot } from '../test-fixtures.ts';
import { implicitBudgetRule } from './implicit-budget.ts';

describe('implicit-budget', () => {
  const dns = testDeployment('coredns', { namespace: 'kube-system', nodes: ['workers-0', 'workers-1'] });
  const guarded = testDeployment('web', { nodes: ['workers-0', 'workers-1', 'workers-2'] });
  const lone = testDeployment('lone');
  const all = [dns, guarded, lone];
  const snapshot = testSnapshot({
    workloads: all.flatMap((a) => a.workloads),
    pods: all.flatMap((a) => a.pods),
    pdbs: [testPdb('web', { maxUnavailable: 1 })],
  });

  it('names the workloads with several replicas and no budget (not their ReplicaSets, not covered or single ones)', () => {
    const findings = run(implicitBudgetRule, snapshot);
    assert.deepEqual(summary(findings), ['info implicit-budget Deployment/kube-system/coredns']);
    assert.match(
      findings[0]?.message ?? '',
      /kup keeps all but one of its replicas Ready during drains.*Deployment kube-system\/coredns \(2 replicas\)/,
    );
  });

  it('warns when the run turns the implicit budget off', () => {
    const findings = implicitBudgetRule.check({ ...ruleInput(snapshot), implicitBudget: false });
    assert.deepEqual(summary(findings), ['warning implicit-budget Deployment/kube-system/coredns']);
    assert.match(findings[0]?.message ?? '', /implicit budget is off: the drains of a batch may evict all the pods/);
  });

  it('finds nothing when every multi-replica workload has a budget', () => {
    assert.deepEqual(
      run(
        implicitBudgetRule,
        testSnapshot({ workloads: guarded.workloads, pods: guarded.pods, pdbs: [testPdb('web')] }),
      ),
      [],
    );
  });
});
