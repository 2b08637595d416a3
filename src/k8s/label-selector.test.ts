import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SelectorParseError,
  equalityValue,
  fromLabelSelectorObject,
  labelSelectorObjectMatches,
  matchesLabels,
  parseLabelSelector,
  selectorToString,
} from './label-selector.ts';
import type { LabelSelectorObject } from './label-selector.ts';

const web = { app: 'web', tier: 'frontend', version: '3' };

function matches(text: string, labels: Record<string, string> | undefined): boolean {
  return matchesLabels(parseLabelSelector(text), labels);
}

function parseError(text: string): string {
  try {
    parseLabelSelector(text);
  } catch (err) {
    assert.ok(err instanceof SelectorParseError, `expected SelectorParseError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseLabelSelector', () => {
  it('treats the empty string and bare whitespace as everything', () => {
    assert.deepEqual(parseLabelSelector('').requirements, []);
    assert.deepEqual(parseLabelSelector('  \t ').requirements, []);
    assert.equal(matches('', undefined), true);
    assert.equal(matches('', web), true);
  });

  it('parses every operator and sorts requirements by key', () => {
    const sel = parseLabelSelector('z=1, b==2,c!=3,d in (y,x), e notin (q), f, !g, h>4, i<5');
    assert.deepEqual(
      sel.requirements.map((r) => [r.key, r.operator, r.values]),
      [
        ['b', '==', ['2']],
        ['c', '!=', ['3']],
        ['d', 'in', ['x', 'y']],
        ['e', 'notin', ['q']],
        ['f', 'exists', []],
        ['g', '!', []],
        ['h', 'gt', ['4']],
        ['i', 'lt', ['5']],
        ['z', '=', ['1']],
      ],
    );
  });

  it('accepts empty values in every position the apiserver does', () => {
    assert.deepEqual(parseLabelSelector('a=').requirements[0]?.values, ['']);
    assert.deepEqual(parseLabelSelector('a=,b=c').requirements[0]?.values, ['']);
    assert.deepEqual(parseLabelSelector('a in ()').requirements[0]?.values, ['']);
    assert.deepEqual(parseLabelSelector('x in (foo,,baz)').requirements[0]?.values, ['', 'baz', 'foo']);
    assert.deepEqual(parseLabelSelector('x in (,a)').requirements[0]?.values, ['', 'a']);
    assert.deepEqual(parseLabelSelector('x in (a,)').requirements[0]?.values, ['', 'a']);
  });

  it('reads in and notin as values where a value is expected', () => {
    const sel = parseLabelSelector('x in (in,notin),y=in');
    assert.deepEqual(sel.requirements[0]?.values, ['in', 'notin']);
    assert.deepEqual(sel.requirements[1]?.values, ['in']);
    assert.equal(parseLabelSelector('in').requirements[0]?.operator, 'exists');
  });

  it('accepts prefixed keys', () => {
    const sel = parseLabelSelector('node-role.kubernetes.io/control-plane,!kubernetes.io/hostname');
    assert.equal(sel.requirements[0]?.key, 'kubernetes.io/hostname');
    assert.equal(sel.requirements[1]?.key, 'node-role.kubernetes.io/control-plane');
  });

  it('rejects syntax errors with the apiserver messages', () => {
    assert.equal(parseError('a b'), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    assert.equal(parseError('a=b,'), "found '', expected: identifier after ','");
    assert.equal(parseError(',a'), "found ',', expected: !, identifier, or 'end of string'");
    assert.equal(parseError('a=b c'), "found 'c', expected: ',' or 'end of string'");
    assert.equal(parseError('!a=b'), "found '=', expected: ',' or 'end of string'");
    assert.equal(parseError('a in x'), "unable to parse requirement: found 'x' expected: '('");
    assert.equal(parseError('a in (x'), "unable to parse requirement: found '', expected: ',' or ')'");
    assert.equal(parseError('a in (='), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    assert.equal(parseError('a=(b)'), "unable to parse requirement: found '(', expected: identifier");
    assert.equal(parseError('!'), "unable to parse requirement: found '', expected: identifier");
  });

  it('validates keys like IsQualifiedName', () => {
    const regex =
      "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    assert.equal(
      parseError('-a=b'),
      `unable to parse requirement: <nil>: Invalid value: "-a": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character ${regex}`,
    );
    assert.equal(
      parseError(`${'k'.repeat(64)}=v`),
      `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`,
    );
    assert.match(parseError('/a'), /<nil>: Invalid value: "\/a": prefix part must be non-empty$/);
    assert.match(parseError('Example.com/a'), /prefix part a lowercase RFC 1123 subdomain must consist of/);
    assert.match(
      parseError('a/b/c'),
      /a qualified name must consist of .* with an optional DNS subdomain prefix and '\/'/,
    );
    assert.match(parseError('a/'), /name part must be non-empty; name part must consist of/);
  });

  it('validates values like IsValidLabelValue', () => {
    assert.equal(
      parseError('app=-web'),
      'unable to parse requirement: values[0][app]: Invalid value: "-web": ' +
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
        "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
    assert.match(
      parseError(`app=${'v'.repeat(64)}`),
      /values\[0\]\[app\]: Invalid value: "v+": must be no more than 63 characters$/,
    );
  });

  it('requires integers for gt and lt', () => {
    assert.equal(
      parseError('a>b'),
      `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    );
  });
});

describe('matchesLabels', () => {
  it('matches equality, inequality and set terms', () => {
    assert.equal(matches('app=web', web), true);
    assert.equal(matches('app==web', web), true);
    assert.equal(matches('app=db', web), false);
    assert.equal(matches('app!=db', web), true);
    assert.equal(matches('app!=web', web), false);
    assert.equal(matches('tier in (backend,frontend)', web), true);
    assert.equal(matches('tier in (backend)', web), false);
    assert.equal(matches('tier notin (frontend)', web), false);
    assert.equal(matches('tier notin (backend)', web), true);
  });

  it('treats missing keys as Kubernetes does', () => {
    assert.equal(matches('team!=a', web), true, '!= matches when the key is absent');
    assert.equal(matches('team notin (a)', web), true, 'notin matches when the key is absent');
    assert.equal(matches('team in (a)', web), false);
    assert.equal(matches('team=', web), false, 'an empty value still needs the key');
    assert.equal(matches('team=', { team: '' }), true);
    assert.equal(matches('team', web), false);
    assert.equal(matches('!team', web), true);
    assert.equal(matches('!app', web), false);
    assert.equal(matches('app', web), true);
    assert.equal(matches('!app', undefined), true);
  });

  it('ANDs the terms', () => {
    assert.equal(matches('app=web,tier=frontend', web), true);
    assert.equal(matches('app=web,tier=backend', web), false);
  });

  it('compares gt and lt as integers and never matches non-numbers', () => {
    assert.equal(matches('version>2', web), true);
    assert.equal(matches('version>3', web), false);
    assert.equal(matches('version<10', web), true, 'numeric, not string, order');
    assert.equal(matches('app>1', web), false);
    assert.equal(matches('missing<1', web), false);
  });

  it('does not see inherited properties as labels', () => {
    assert.equal(matches('toString', {}), false);
    assert.equal(matches('constructor!=x', {}), true);
  });
});

describe('fromLabelSelectorObject', () => {
  it('selects nothing for null or undefined and everything for {}', () => {
    assert.equal(fromLabelSelectorObject(null), 'nothing');
    assert.equal(fromLabelSelectorObject(undefined), 'nothing');
    assert.equal(matchesLabels(fromLabelSelectorObject(null), web), false);
    assert.equal(matchesLabels(fromLabelSelectorObject({}), web), true);
    assert.equal(matchesLabels(fromLabelSelectorObject({ matchLabels: {}, matchExpressions: [] }), undefined), true);
  });

  it('combines matchLabels and matchExpressions', () => {
    const sel = fromLabelSelectorObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['frontend', 'edge'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'version', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['b'] },
      ],
    });
    assert.equal(matchesLabels(sel, web), true);
    assert.equal(matchesLabels(sel, { ...web, canary: 'true' }), false);
    assert.equal(matchesLabels(sel, { ...web, tier: 'backend' }), false);
    assert.equal(selectorToString(sel), 'app=web,!canary,tier in (edge,frontend),version,zone notin (b)');
  });

  it('rejects unknown operators and values that do not fit the operator', () => {
    assert.throws(
      () => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }),
      new SelectorParseError('"Equals" is not a valid label selector operator'),
    );
    assert.throws(
      () => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
      new SelectorParseError("values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"),
    );
    assert.throws(
      () => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
      new SelectorParseError('values: Invalid value: ["x"]: values set must be empty for exists and does not exist'),
    );
    assert.throws(
      () => fromLabelSelectorObject({ matchLabels: { 'bad key': 'v' } }),
      /^SelectorParseError: key: Invalid value: "bad key": name part must consist/,
    );
  });

  it('aggregates several errors in brackets', () => {
    assert.throws(
      () => fromLabelSelectorObject({ matchExpressions: [{ key: '-k', operator: 'In', values: [] }] }),
      (err: unknown) => {
        assert.ok(err instanceof SelectorParseError);
        assert.match(
          err.message,
          /^\[key: Invalid value: "-k": .*, values: Invalid value: \[\]: for 'in', 'notin' operators, values set can't be empty\]$/,
        );
        return true;
      },
    );
  });
});

describe('selectorToString', () => {
  it('writes the query syntax back with sorted values', () => {
    assert.equal(
      selectorToString(parseLabelSelector('b in (z,y), a!=1, !c, d, e>3, f==g')),
      'a!=1,b in (y,z),!c,d,e>3,f==g',
    );
    assert.equal(selectorToString(parseLabelSelector('')), '');
    assert.equal(selectorToString('nothing'), '');
  });

  it('round-trips through the parser', () => {
    const text = 'app=web,tier notin (a,b),!x';
    assert.equal(selectorToString(parseLabelSelector(selectorToString(parseLabelSelector(text)))), text);
  });
});

describe('equalityValue', () => {
  it('returns the value a key is pinned to', () => {
    assert.equal(equalityValue(parseLabelSelector('app=web,tier!=x'), 'app'), 'web');
    assert.equal(equalityValue(parseLabelSelector('app==web'), 'app'), 'web');
    assert.equal(equalityValue(parseLabelSelector('app in (web)'), 'app'), 'web');
  });

  it('returns undefined when the key is not pinned to one value', () => {
    assert.equal(equalityValue(parseLabelSelector('app in (web,db)'), 'app'), undefined);
    assert.equal(equalityValue(parseLabelSelector('app!=web'), 'app'), undefined);
    assert.equal(equalityValue(parseLabelSelector('app'), 'app'), undefined);
    assert.equal(equalityValue(parseLabelSelector('tier=x'), 'app'), undefined);
    assert.equal(equalityValue('nothing', 'app'), undefined);
  });
});

describe('labelSelectorObjectMatches (policy/v1 PodDisruptionBudget selectors)', () => {
  const labels = { app: 'web', tier: 'front' };
  const matches = labelSelectorObjectMatches;

  it('matches matchLabels and every operator', () => {
    assert.equal(matches({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(matches({ matchLabels: { app: 'api' } }, labels), false);
    assert.equal(
      matches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, labels),
      true,
    );
    assert.equal(matches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels), false);
    assert.equal(matches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels), true);
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels), false);
    assert.equal(
      matches(
        { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
        labels,
      ),
      false,
    );
  });

  it('an empty selector selects every pod; a null or absent one selects none', () => {
    assert.equal(matches({}, labels), true);
    assert.equal(matches({}, undefined), true);
    assert.equal(matches({ matchLabels: {}, matchExpressions: [] }, labels), true);
    assert.equal(matches(undefined, labels), false);
    assert.equal(matches(null, labels), false);
  });

  it('an invalid selector selects nothing instead of throwing', () => {
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, labels), false);
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'In' }] }, labels), false);
    assert.equal(matches({ matchLabels: { 'bad key': 'x' } }, { 'bad key': 'x' }), false);
  });

  it('parses an object once and answers from the parsed form after that', () => {
    const selector = { matchLabels: { app: 'web' } };
    assert.equal(matches(selector, labels), true);
    // Mutating a selector after use is outside the contract; doing it here shows the first parse is what answers.
    selector.matchLabels.app = 'api';
    assert.equal(matches(selector, labels), true);
    assert.equal(matches({ matchLabels: { app: 'api' } }, labels), false);
  });
});

describe('fromLabelSelectorObject on JSON of the wrong shape', () => {
  it('refuses it with a SelectorParseError instead of guessing', () => {
    const bad: unknown[] = [
      { matchLabels: 'app=web' },
      { matchLabels: { app: 1 } },
      { matchExpressions: {} },
      { matchExpressions: ['app'] },
      { matchExpressions: [{ key: 1, operator: 'Exists' }] },
      { matchExpressions: [{ key: 'app', operator: 'In', values: 'web' }] },
      { matchExpressions: [{ key: 'app', operator: 'In', values: [1] }] },
      { matchExpressions: [{ key: 'app', operator: 'toString' }] },
    ];
    for (const obj of bad) {
      assert.throws(() => fromLabelSelectorObject(obj as LabelSelectorObject), SelectorParseError, JSON.stringify(obj));
    }
  });

  it('reads null members as absent, as Go does', () => {
    assert.deepEqual(
      fromLabelSelectorObject({ matchLabels: null, matchExpressions: null } as unknown as LabelSelectorObject),
      {
        requirements: [],
      },
    );
  });
});
