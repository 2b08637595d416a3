import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelSelectorSyntaxError, assertLabelSelector } from './selectors.ts';

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

  it("gives the apiserver's reason, as kubectl prints it", () => {
    assert.throws(() => assertLabelSelector('app=web,'), {
      name: 'LabelSelectorSyntaxError',
      message: `invalid label selector "app=web,": found '', expected: identifier after ','`,
    });
    assert.throws(() => assertLabelSelector('app in web'), {
      message: `invalid label selector "app in web": unable to parse requirement: found 'web' expected: '('`,
    });
  });
});
