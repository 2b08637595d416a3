import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { versionSkewRule } from './version-skew.ts';

const at = Date.parse('2025-01-15T00:00:00Z');

describe('version-skew', () => {
  it('passes kubelets within the policy along the whole path', () => {
    const nodes = [testNode('workers-0', { kubelet: 'v1.29.10' })];
    assert.deepEqual(run(versionSkewRule, testSnapshot({ nodes })), []);
  });

  it('warns, naming the nodes, when a pool would fall out of the policy after the next control-plane step', () => {
    // 1.28 allows kubelets 3 minors behind: 1.25 is fine now, but not behind 1.29.
    const nodes = [
      testNode('old-0', { pool: 'old', kubelet: 'v1.25.16' }),
      testNode('old-1', { pool: 'old', kubelet: 'v1.25.16' }),
      testNode('new-0', { pool: 'new', kubelet: 'v1.28.15' }),
    ];
    const findings = run(versionSkewRule, testSnapshot({ gitVersion: 'v1.28.15', nodes }), {
      target: '1.29.10',
      now: at,
    });
    assert.deepEqual(summary(findings), ['warning version-skew Node/old-0,Node/old-1']);
    assert.match(
      findings[0]?.message ?? '',
      /pool "old".*moves to 1\.28\.15 before that hop: 2 nodes would fall outside the skew policy after the control-plane step to 1\.29\.10/,
    );
  });

  it('blocks kubelets already outside the policy, and kubelets newer than the API server', () => {
    const nodes = [
      testNode('ancient-0', { pool: 'ancient', kubelet: 'v1.26.15' }),
      testNode('ahead-0', { pool: 'ahead', kubelet: 'v1.31.4' }),
    ];
    const findings = run(versionSkewRule, testSnapshot({ nodes }));
    assert.deepEqual(summary(findings), ['blocker version-skew Node/ancient-0', 'blocker version-skew Node/ahead-0']);
    assert.match(findings[0]?.message ?? '', /4 minors behind kube-apiserver v1\.30\.4; 1\.30 allows 3/);
    assert.match(findings[1]?.message ?? '', /newer than kube-apiserver/);
  });
});
