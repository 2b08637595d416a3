import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterIndex } from '../cluster-index.ts';
import { simulateDrain } from '../drain-simulation.ts';
import { ruleInput, run, summary, testDeployment, testNode, testPdb, testPod, testSnapshot } from '../test-fixtures.ts';
import { drainSimulationRule } from './drain-simulation.ts';

const nodes = (n: number, o: Parameters<typeof testNode>[1] = {}) =>
  Array.from({ length: n }, (_, i) => testNode(`workers-${i}`, o));

describe('drain-simulation', () => {
  it('passes a cluster with room, and summarises the batches', () => {
    const web = testDeployment('web', { nodes: ['workers-0', 'workers-1', 'workers-2'], cpu: '1' });
    const findings = run(drainSimulationRule, testSnapshot({ nodes: nodes(3), ...web }));
    assert.deepEqual(summary(findings), ['info drain-simulation']);
    assert.match(
      findings[0]?.message ?? '',
      /simulated 3 drain batches over 1 pool \(policy exponential\): 4 evictions; every evicted pod finds a node/,
    );
  });

  it('names the workload whose pods would stay Pending when the cluster is too full for a batch', () => {
    // Three 4-CPU nodes, each 3 CPU full: draining one leaves 1 CPU free on each of the two others.
    const big = testDeployment('big', { nodes: ['workers-0', 'workers-1', 'workers-2'], cpu: '3' });
    const findings = run(drainSimulationRule, testSnapshot({ nodes: nodes(3), ...big }));
    assert.deepEqual(summary(findings), ['blocker drain-simulation Deployment/default/big', 'info drain-simulation']);
    assert.match(
      findings[0]?.message ?? '',
      /batch 1\/3 of pool workers \(workers-0\): 1 of the 1 evicted pod of Deployment default\/big would stay Pending \(each requests 3 CPU, 128Mi memory\): not enough free CPU/,
    );
    assert.match(findings[0]?.message ?? '', /they would start once the batch's nodes are back/);
  });

  it('blue-green: the green nodes are room the blue pool drains into, and a blue node never comes back', () => {
    // Too full to drain in place (each 4-CPU node 3 CPU full), but each blue node has a green twin with room.
    const big = testDeployment('big', { nodes: ['workers-0', 'workers-1', 'workers-2'], cpu: '3' });
    const snapshot = testSnapshot({ nodes: nodes(3), ...big });
    const findings = drainSimulationRule.check({ ...ruleInput(snapshot), nodeStrategy: 'blue-green' });
    assert.deepEqual(summary(findings), ['info drain-simulation']);
    // In place, the pods of a node of 3.9 CPU used find no room on the other (3 CPU used); its green twin holds them.
    const greedy = testDeployment('greedy', { nodes: ['workers-0', 'workers-1'], cpu: '3' });
    const extra = testPod('extra', { node: 'workers-0', owner: 'ReplicaSet/extra-rs', cpu: '0.9' });
    const tight = testSnapshot({ nodes: nodes(2), workloads: greedy.workloads, pods: [...greedy.pods, extra] });
    const inPlace = simulateDrain(tight, clusterIndex(tight), { policy: { kind: 'fixed', size: 1 }, controlPlane: false });
    assert.ok(inPlace.pending.length > 0, 'in place, the first batch leaves pods Pending');
    const result = simulateDrain(tight, clusterIndex(tight), { policy: { kind: 'fixed', size: 1 }, controlPlane: false, blueGreen: true });
    assert.equal(result.pending.length, 0, 'two green nodes hold both 3-CPU pods and the small one');
  });

  it('counts pod slots, and says when pods cannot fit even with every node back', () => {
    const pods = nodes(2, { pods: 2 });
    const web = testDeployment('web', { nodes: ['workers-0', 'workers-0', 'workers-1', 'workers-1'] });
    const findings = run(drainSimulationRule, testSnapshot({ nodes: pods, ...web }));
    assert.equal(findings[0]?.severity, 'blocker');
    assert.match(findings[0]?.message ?? '', /every node that stays schedulable is at its pod limit/);
    const huge = testDeployment('huge', { nodes: ['workers-0'], cpu: '3' });
    const other = testDeployment('other', { nodes: ['workers-1'], cpu: '3' });
    const full = run(
      drainSimulationRule,
      testSnapshot({
        nodes: nodes(2),
        workloads: [...huge.workloads, ...other.workloads],
        pods: [...huge.pods, ...other.pods, testPod('hog', { node: 'workers-1', owner: 'DaemonSet/hog', cpu: '1' })],
      }),
    );
    assert.match(full[0]?.message ?? '', /Deployment default\/huge would stay Pending/);
    assert.match(full[0]?.message ?? '', /they would start once the batch's nodes are back/);
  });

  it('respects node selectors and taints, and leaves cordoned and NotReady nodes out', () => {
    const gpu = testDeployment('gpu', { nodes: ['workers-0'], scheduling: { nodeSelector: { accel: 'gpu' } } });
    const cluster = [
      testNode('workers-0', { labels: { accel: 'gpu' } }),
      testNode('workers-1', { labels: { accel: 'gpu' }, unschedulable: true }),
      testNode('workers-2', { labels: { accel: 'gpu' }, ready: 'False' }),
      testNode('workers-3', {
        taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
        labels: { accel: 'gpu' },
      }),
      testNode('workers-4'),
    ];
    const findings = run(drainSimulationRule, testSnapshot({ nodes: cluster, ...gpu }));
    assert.deepEqual(summary(findings), ['blocker drain-simulation Deployment/default/gpu', 'info drain-simulation']);
    assert.match(findings[0]?.message ?? '', /no other schedulable node matches its node selector/);
  });

  it('finds a budget that would hold the drain because replacements cannot start', () => {
    // Two pods of web on workers-0 (batch 1); the other nodes have no room; the budget allows 1.
    const web = testDeployment('web', { nodes: ['workers-0', 'workers-0', 'workers-1'], cpu: '1500m' });
    const filler = testDeployment('filler', { nodes: ['workers-1', 'workers-2', 'workers-2'], cpu: '1500m' });
    const findings = run(
      drainSimulationRule,
      testSnapshot({
        nodes: nodes(3),
        workloads: [...web.workloads, ...filler.workloads],
        pods: [...web.pods, ...filler.pods],
        pdbs: [testPdb('web', { maxUnavailable: 1 })],
      }),
      { batchPolicy: { kind: 'fixed', size: 1 } },
    );
    assert.ok(
      summary(findings).includes('blocker drain-simulation PodDisruptionBudget/default/web,Deployment/default/web'),
      summary(findings).join('\n'),
    );
  });

  it('drains control-plane nodes first, one at a time, then pools in policy batches', () => {
    const cluster = [testNode('cp-0', { controlPlane: true }), testNode('cp-1', { controlPlane: true }), ...nodes(25)];
    const snapshot = testSnapshot({ nodes: cluster });
    const result = simulateDrain(snapshot, clusterIndex(snapshot), { policy: { kind: 'exponential' } });
    assert.deepEqual(
      result.batches.map((b) => `${b.pool}:${b.nodes.length}`),
      ['control-plane:1', 'control-plane:1', 'workers:1', ...Array<string>(12).fill('workers:2')],
    );
    assert.deepEqual(result.batches[3]?.nodes, ['workers-1', 'workers-2']);
  });
});
