import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testDeployment, testPod, testSnapshot } from '../test-fixtures.ts';
import { drainRefusalsRule } from './drain-refusals.ts';

describe('drain-refusals', () => {
  it('blocks bare pods (--force) and warns once per workload with emptyDir (--delete-emptydir-data)', () => {
    const cache = testDeployment('cache', { nodes: ['workers-0', 'workers-1'], emptyDir: true });
    const pods = [
      ...cache.pods,
      testPod('debug', { node: 'workers-0' }),
      testPod('never-scheduled', {}),
      testPod('agent-x', { node: 'workers-0', owner: 'DaemonSet/agent', emptyDir: true }),
      testPod('kube-apiserver-cp-0', { namespace: 'kube-system', node: 'cp-0', owner: 'Node/cp-0', mirror: true }),
    ];
    const findings = run(drainRefusalsRule, testSnapshot({ workloads: cache.workloads, pods }));
    assert.deepEqual(summary(findings), [
      'blocker drain-refusals Pod/default/debug',
      'warning drain-refusals Deployment/default/cache',
    ]);
    assert.match(findings[0]?.message ?? '', /without --force/);
    assert.match(
      findings[1]?.message ?? '',
      /2 pods of Deployment default\/cache on 2 nodes use emptyDir: .*--delete-emptydir-data/,
    );
  });
});
