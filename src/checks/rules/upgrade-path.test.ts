import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrecheckError } from '../errors.ts';
import { run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { upgradePathRule } from './upgrade-path.ts';

describe('upgrade-path', () => {
  it('is quiet for a plain upgrade', () => {
    assert.deepEqual(run(upgradePathRule, testSnapshot({ nodes: [testNode('workers-0')] })), []);
  });

  it('blocks when no path can be planned (a kubelet newer than the control plane)', () => {
    const findings = run(upgradePathRule, testSnapshot({ nodes: [testNode('workers-0', { kubelet: 'v1.31.4' })] }));
    assert.deepEqual(summary(findings), ['blocker upgrade-path']);
    assert.match(findings[0]?.message ?? '', /KUP-PATH-007/);
  });

  it('says when there is nothing to do', () => {
    assert.deepEqual(
      summary(run(upgradePathRule, testSnapshot({ nodes: [testNode('workers-0')] }), { target: '1.30.4' })),
      ['info upgrade-path'],
    );
  });

  it('refuses an unknown or expired target as bad input (not a finding)', () => {
    assert.throws(
      () => run(upgradePathRule, testSnapshot(), { target: '1.31.99' }),
      (e: unknown) =>
        e instanceof PrecheckError && /KUP-PRECHECK-002: --to 1\.31\.99 is not in the version catalog/.test(e.message),
    );
    assert.throws(
      () => run(upgradePathRule, testSnapshot(), { target: 'latest' }),
      (e: unknown) => e instanceof PrecheckError && e.isInputError,
    );
    assert.throws(
      () => run(upgradePathRule, testSnapshot({ gitVersion: 'v1.24.17' }), { target: '1.25.2' }),
      (e: unknown) => e instanceof PrecheckError && /KUP-PATH-005.*--allow-expired/.test(e.message),
    );
    // 1.25.16, the latest patch of the next expired minor, is on the way from 1.24 toward support: no --allow-expired.
    const toward = run(upgradePathRule, testSnapshot({ gitVersion: 'v1.24.17' }), { target: '1.25.16' });
    assert.ok(
      toward.some((f) => f.severity === 'warning' && /on the way from 1\.24\.17 toward a supported minor/.test(f.message) && /Go on to a supported minor/.test(f.remediation)),
      JSON.stringify(toward),
    );
  });
});
