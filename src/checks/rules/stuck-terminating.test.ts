import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIXTURE_NOW, run, summary, testPod, testSnapshot } from '../test-fixtures.ts';
import { stuckTerminatingRule } from './stuck-terminating.ts';

describe('stuck-terminating', () => {
  it('warns on pods long past their deletion time and on stuck namespaces, not on fresh deletions', () => {
    const pods = [
      testPod('old', { owner: 'ReplicaSet/a', node: 'workers-0', deletingAt: FIXTURE_NOW - 20 * 60_000 }),
      testPod('fresh', { owner: 'ReplicaSet/a', node: 'workers-0', deletingAt: FIXTURE_NOW - 60_000 }),
    ];
    const findings = run(
      stuckTerminatingRule,
      testSnapshot({
        pods,
        terminatingNamespaces: [
          { name: 'gone', deletingAt: FIXTURE_NOW - 3_600_000 },
          { name: 'going', deletingAt: FIXTURE_NOW - 1000 },
        ],
      }),
    );
    assert.deepEqual(summary(findings), [
      'warning stuck-terminating Pod/default/old',
      'warning stuck-terminating Namespace/gone',
    ]);
    assert.match(findings[0]?.message ?? '', /Terminating for 20 min/);
  });
});
