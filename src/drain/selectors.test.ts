import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelSelectorSyntaxError, assertLabelSelector, selectorMatches } from './selectors.ts';

describe('assertLabelSelector', () => {
  it('accepts what kubectl accepts', () => {
    for (const s of [
      '',
      'app=web',
      'app==web',
      'app!=web',
      'app',
      '!app',
      'app in (web, api)',
      'tier notin (cache)',
      'app=web,tier!=db',
      'example.com/team=x',
      'a=',
      'n>3',
      'n<10',
    ]) {
      assert.doesNotThrow(() => assertLabelSelector(s), s);
    }
  });

  it('refuses what kubectl refuses, naming the selector', () => {
    for (const s of ['app=web,', '=web', 'app=we b', 'app in web', 'a=b=c', 'Bad_Prefix.com/x=1', 'n>x', 'app=-web']) {
      assert.throws(
        () => assertLabelSelector(s),
        (err: unknown) => err instanceof LabelSelectorSyntaxError && err.selector === s,
        s,
      );
    }
  });
});

describe('selectorMatches (policy/v1 PDB selectors)', () => {
  const labels = { app: 'web', tier: 'front' };
  it('matches matchLabels and every operator', () => {
    assert.equal(selectorMatches({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { app: 'api' } }, labels), false);
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, labels),
      true,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels),
      false,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels),
      true,
    );
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels), false);
    assert.equal(
      selectorMatches(
        { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
        labels,
      ),
      false,
    );
  });

  it('an empty selector selects every pod; an absent one selects none', () => {
    assert.equal(selectorMatches({}, labels), true);
    assert.equal(selectorMatches(undefined, labels), false);
  });
});
