import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIXTURE_NOW, run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { nodesReadyRule } from './nodes-ready.ts';

describe('nodes-ready', () => {
  it('passes Ready nodes', () => {
    assert.deepEqual(run(nodesReadyRule, testSnapshot({ nodes: [testNode('workers-0'), testNode('workers-1')] })), []);
  });

  it('blocks each node that is not Ready, with how long', () => {
    const down = {
      ...testNode('workers-1', { ready: 'False' }),
      readyReason: 'KubeletNotReady',
      readySince: FIXTURE_NOW - 3 * 3_600_000,
    };
    const findings = run(
      nodesReadyRule,
      testSnapshot({ nodes: [testNode('workers-0'), down, testNode('workers-2', { ready: 'Unknown' })] }),
    );
    assert.deepEqual(summary(findings), ['blocker nodes-ready Node/workers-1', 'blocker nodes-ready Node/workers-2']);
    assert.match(findings[0]?.message ?? '', /workers-1 \(pool workers\) is NotReady for 3h: KubeletNotReady/);
  });

  it('warns on pressure', () => {
    const findings = run(
      nodesReadyRule,
      testSnapshot({ nodes: [testNode('workers-0', { pressure: ['DiskPressure'] })] }),
    );
    assert.deepEqual(summary(findings), ['warning nodes-ready Node/workers-0']);
  });
});
