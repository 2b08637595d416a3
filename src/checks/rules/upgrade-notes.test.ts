import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { upgradeNotesRule } from './upgrade-notes.ts';

describe('upgrade-notes', () => {
  it('gives the notes of every minor the control plane enters, with the release notes link', () => {
    const findings = run(
      upgradeNotesRule,
      testSnapshot({ gitVersion: 'v1.28.15', nodes: [testNode('workers-0', { kubelet: 'v1.28.15' })] }),
      { target: '1.30.4', now: Date.parse('2024-10-01T00:00:00Z') },
    );
    assert.deepEqual(summary(findings), ['info upgrade-notes', 'info upgrade-notes']);
    assert.match(findings[0]?.message ?? '', /^entering 1\.29: /);
    assert.match(findings[0]?.remediation ?? '', /CHANGELOG-1\.29\.md/);
    assert.match(findings[1]?.message ?? '', /^entering 1\.30: /);
  });

  it('names the removed APIs of a hop', () => {
    const findings = run(
      upgradeNotesRule,
      testSnapshot({ gitVersion: 'v1.24.17', nodes: [testNode('workers-0', { kubelet: 'v1.24.17' })] }),
      { target: '1.25.16', allowExpired: true },
    );
    assert.match(findings[0]?.message ?? '', /Removed APIs: .*policy\/v1beta1 PodDisruptionBudget/);
  });
});
