import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testDeployment, testPdb, testSnapshot } from '../test-fixtures.ts';
import { pdbBlockersRule } from './pdb-blockers.ts';

const three = ['workers-0', 'workers-1', 'workers-2'];

describe('pdb-blockers', () => {
  it('passes a budget that allows a disruption', () => {
    const web = testDeployment('web', { nodes: three });
    assert.deepEqual(run(pdbBlockersRule, testSnapshot({ ...web, pdbs: [testPdb('web', { maxUnavailable: 1 })] })), []);
  });

  it('blocks maxUnavailable 0, minAvailable 100 %, minAvailable = replicas, and a status at 0 with all pods healthy', () => {
    const apps = ['a', 'b', 'c', 'd'].map((n) => testDeployment(n, { nodes: three }));
    const pdbs = [
      testPdb('a', { maxUnavailable: 0, status: { disruptionsAllowed: 0, desiredHealthy: 3 } }),
      testPdb('b', { minAvailable: '100%', status: { disruptionsAllowed: 0, desiredHealthy: 3 } }),
      testPdb('c', { minAvailable: 3, status: { disruptionsAllowed: 0, desiredHealthy: 3 } }),
      testPdb('d', { minAvailable: '90%', status: { disruptionsAllowed: 0, desiredHealthy: 3 } }),
    ];
    const findings = run(
      pdbBlockersRule,
      testSnapshot({ workloads: apps.flatMap((a) => a.workloads), pods: apps.flatMap((a) => a.pods), pdbs }),
    );
    assert.deepEqual(summary(findings), [
      'blocker pdb-blockers PodDisruptionBudget/default/a,Deployment/default/a',
      'blocker pdb-blockers PodDisruptionBudget/default/b,Deployment/default/b',
      'blocker pdb-blockers PodDisruptionBudget/default/c,Deployment/default/c',
      'blocker pdb-blockers PodDisruptionBudget/default/d,Deployment/default/d',
    ]);
    assert.match(findings[0]?.message ?? '', /maxUnavailable is 0/);
    assert.match(findings[1]?.message ?? '', /minAvailable is 100%/);
    assert.match(findings[2]?.message ?? '', /minAvailable is 3 with 3 pods/);
    assert.match(findings[3]?.message ?? '', /allows 0 disruptions with all 3 pods healthy/);
  });

  it('warns when a budget is at 0 because pods are unhealthy now', () => {
    const web = testDeployment('web', { nodes: three });
    const findings = run(
      pdbBlockersRule,
      testSnapshot({
        ...web,
        pdbs: [
          testPdb('web', {
            maxUnavailable: 1,
            status: { currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 },
          }),
        ],
      }),
    );
    assert.deepEqual(summary(findings), [
      'warning pdb-blockers PodDisruptionBudget/default/web,Deployment/default/web',
    ]);
  });

  it('blocks pods selected by two budgets', () => {
    const web = testDeployment('web', { nodes: three });
    const pdbs = [
      testPdb('web', { maxUnavailable: 1 }),
      testPdb('web-extra', { selector: { app: 'web' }, maxUnavailable: 1 }),
    ];
    const findings = run(pdbBlockersRule, testSnapshot({ ...web, pdbs }));
    assert.deepEqual(summary(findings), [
      'blocker pdb-blockers PodDisruptionBudget/default/web,PodDisruptionBudget/default/web-extra,Deployment/default/web',
    ]);
    assert.match(
      findings[0]?.message ?? '',
      /3 pods of Deployment default\/web are selected by 2 PodDisruptionBudgets.*HTTP 500/,
    );
  });

  it('ignores budgets that select no pod', () => {
    assert.deepEqual(run(pdbBlockersRule, testSnapshot({ pdbs: [testPdb('orphan', { maxUnavailable: 0 })] })), []);
  });
});
