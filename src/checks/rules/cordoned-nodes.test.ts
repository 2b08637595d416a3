import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { cordonedNodesRule } from './cordoned-nodes.ts';

describe('cordoned-nodes', () => {
  it('warns on each cordoned node, in both phases', () => {
    const snapshot = testSnapshot({ nodes: [testNode('workers-0'), testNode('workers-1', { unschedulable: true })] });
    assert.deepEqual(summary(run(cordonedNodesRule, snapshot)), ['warning cordoned-nodes Node/workers-1']);
    const post = run(cordonedNodesRule, snapshot, { phase: 'postcheck' });
    assert.match(post[0]?.message ?? '', /still cordoned after the upgrade/);
  });
});
