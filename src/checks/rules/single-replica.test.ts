import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testDeployment, testPdb, testSnapshot } from '../test-fixtures.ts';
import { singleReplicaRule } from './single-replica.ts';

describe('single-replica', () => {
  it('warns on one-replica Deployments without a budget, not on covered or larger ones', () => {
    const lone = testDeployment('lone');
    const guarded = testDeployment('guarded');
    const big = testDeployment('big', { nodes: ['workers-0', 'workers-1'] });
    const all = [lone, guarded, big];
    const findings = run(
      singleReplicaRule,
      testSnapshot({
        workloads: all.flatMap((a) => a.workloads),
        pods: all.flatMap((a) => a.pods),
        pdbs: [testPdb('guarded', { minAvailable: 1 })],
      }),
    );
    assert.deepEqual(summary(findings), ['warning single-replica Deployment/default/lone']);
  });
});
