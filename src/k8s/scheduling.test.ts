import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from './scheduling.ts';
import {
  findUntoleratedTaint,
  nodeSelectorMatches,
  nodeSelectorRequirementMatches,
  nodeSelectorTermMatches,
  nodeSelectorTermsMatch,
  requiredNodeAffinityTerms,
  toleratesTaint,
  tolerationsTolerateTaint,
} from './scheduling.ts';

// Cases after k8s.io/api core/v1 toleration_test.go (TestTolerationToleratesTaint) and component-helpers'
// nodeaffinity tests.
describe('toleratesTaint', () => {
  const taint: Taint = { key: 'dedicated', value: 'batch', effect: 'NoSchedule' };
  const cases: [string, Toleration, Taint, boolean][] = [
    ['empty key with Exists tolerates every taint', { operator: 'Exists' }, taint, true],
    [
      'empty key and empty effect with Exists, NoExecute taint',
      { key: '', operator: 'Exists', effect: '' },
      { key: 'x', effect: 'NoExecute' },
      true,
    ],
    ['same key, Exists ignores the value', { key: 'dedicated', operator: 'Exists' }, taint, true],
    ['same key and value, Equal', { key: 'dedicated', operator: 'Equal', value: 'batch' }, taint, true],
    ['an absent operator means Equal', { key: 'dedicated', value: 'batch' }, taint, true],
    ['an empty operator means Equal', { key: 'dedicated', operator: '', value: 'batch' }, taint, true],
    ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'gpu' }, taint, false],
    ['Equal with no value against a valued taint', { key: 'dedicated', operator: 'Equal' }, taint, false],
    [
      'Equal with no value against a taint with none',
      { key: 'k', operator: 'Equal' },
      { key: 'k', effect: 'NoSchedule' },
      true,
    ],
    [
      'Equal with an empty value against a taint with none',
      { key: 'k', value: '' },
      { key: 'k', effect: 'NoSchedule' },
      true,
    ],
    ['another key', { key: 'other', operator: 'Exists' }, taint, false],
    ['the effect must match when set', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, taint, false],
    ['the same effect', { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }, taint, true],
    ['an empty effect matches every effect', { key: 'dedicated', operator: 'Exists', effect: '' }, taint, true],
    // Validation refuses an empty key without Exists, but ToleratesTaint itself matches any key then.
    ['empty key with Equal compares values only', { value: 'batch' }, taint, true],
    ['an unknown operator tolerates nothing', { key: 'dedicated', operator: 'Bigger', value: 'batch' }, taint, false],
    // Gt and Lt on tolerations are behind an alpha gate (TaintTolerationComparisonOperators), off by default.
    ['Gt tolerates nothing while its gate is off', { key: 'dedicated', operator: 'Gt', value: '1' }, taint, false],
  ];
  for (const [name, toleration, t, expected] of cases) {
    it(name, () => assert.equal(toleratesTaint(toleration, t), expected));
  }
});

describe('tolerationsTolerateTaint', () => {
  it('is true when any toleration tolerates the taint, false for none', () => {
    const taint: Taint = { key: 'a', effect: 'NoSchedule' };
    assert.equal(
      tolerationsTolerateTaint(
        [
          { key: 'b', operator: 'Exists' },
          { key: 'a', operator: 'Exists' },
        ],
        taint,
      ),
      true,
    );
    assert.equal(tolerationsTolerateTaint([{ key: 'b', operator: 'Exists' }], taint), false);
    assert.equal(tolerationsTolerateTaint([], taint), false);
  });
});

describe('findUntoleratedTaint', () => {
  const taints: Taint[] = [
    { key: 'soft', effect: 'PreferNoSchedule' },
    { key: 'gpu', value: 'true', effect: 'NoSchedule' },
    { key: 'evict', effect: 'NoExecute' },
  ];

  it('skips PreferNoSchedule and returns the first untolerated NoSchedule or NoExecute taint', () => {
    assert.deepEqual(findUntoleratedTaint(taints, []), taints[1]);
    assert.deepEqual(findUntoleratedTaint(taints, [{ key: 'gpu', value: 'true' }]), taints[2]);
    assert.equal(
      findUntoleratedTaint(taints, [
        { key: 'gpu', value: 'true' },
        { key: 'evict', operator: 'Exists' },
      ]),
      undefined,
    );
    assert.equal(findUntoleratedTaint(taints, [{ operator: 'Exists' }]), undefined);
  });

  it('counts only the effects asked for', () => {
    assert.deepEqual(findUntoleratedTaint(taints, [], ['NoExecute']), taints[2]);
    assert.deepEqual(findUntoleratedTaint(taints, [], ['PreferNoSchedule']), taints[0]);
    assert.equal(findUntoleratedTaint([], []), undefined);
  });
});

describe('nodeSelectorMatches', () => {
  const labels = { zone: 'a', disk: 'ssd', empty: '' };
  it('needs every entry, with the same value', () => {
    assert.equal(nodeSelectorMatches({ zone: 'a' }, labels), true);
    assert.equal(nodeSelectorMatches({ zone: 'a', disk: 'ssd' }, labels), true);
    assert.equal(nodeSelectorMatches({ zone: 'b' }, labels), false);
    assert.equal(nodeSelectorMatches({ gpu: 'true' }, labels), false);
  });

  it('tells an empty value from a missing label', () => {
    assert.equal(nodeSelectorMatches({ empty: '' }, labels), true);
    assert.equal(nodeSelectorMatches({ missing: '' }, labels), false);
  });

  it('allows every node when absent or empty', () => {
    assert.equal(nodeSelectorMatches(undefined, labels), true);
    assert.equal(nodeSelectorMatches({}, {}), true);
  });

  it('does not see inherited properties as labels', () => {
    assert.equal(nodeSelectorMatches({ toString: 'x' }, labels), false);
  });
});

describe('nodeSelectorRequirementMatches', () => {
  const holds = (operator: string, value: string | undefined, values?: string[]) =>
    nodeSelectorRequirementMatches({ key: 'k', operator, ...(values ? { values } : {}) }, value);

  it('In and NotIn, with a missing label', () => {
    assert.equal(holds('In', 'a', ['a', 'b']), true);
    assert.equal(holds('In', 'c', ['a', 'b']), false);
    assert.equal(holds('In', undefined, ['a']), false);
    assert.equal(holds('NotIn', 'a', ['a']), false);
    assert.equal(holds('NotIn', 'c', ['a']), true);
    assert.equal(holds('NotIn', undefined, ['a']), true);
  });

  it('Exists and DoesNotExist, an empty value counting as present', () => {
    assert.equal(holds('Exists', ''), true);
    assert.equal(holds('Exists', undefined), false);
    assert.equal(holds('DoesNotExist', undefined), true);
    assert.equal(holds('DoesNotExist', ''), false);
  });

  it('Gt and Lt compare as int64 and never match what is not one', () => {
    assert.equal(holds('Gt', '8', ['4']), true);
    assert.equal(holds('Gt', '4', ['4']), false);
    assert.equal(holds('Lt', '3', ['4']), true);
    assert.equal(holds('Lt', '-5', ['-4']), true);
    assert.equal(holds('Gt', '10', ['9']), true, 'numeric, not lexical');
    assert.equal(holds('Gt', '9223372036854775807', ['9223372036854775806']), true, 'exact past 2^53');
    assert.equal(holds('Gt', '9223372036854775808', ['1']), false, 'past int64');
    assert.equal(holds('Gt', '12abc', ['1']), false);
    assert.equal(holds('Gt', '1.5', ['1']), false);
    assert.equal(holds('Gt', '', ['1']), false);
    assert.equal(holds('Gt', undefined, ['1']), false);
    assert.equal(holds('Gt', '5', ['x']), false);
    assert.equal(holds('Gt', '5', ['1', '2']), false, 'exactly one value');
  });

  it('an unknown operator never holds', () => {
    assert.equal(holds('Equals', 'a', ['a']), false);
  });
});

describe('nodeSelectorTermMatches and nodeSelectorTermsMatch', () => {
  const node = { name: 'node-1', labels: { zone: 'a', size: '8' } };
  const expr = (key: string, operator: string, values?: string[]): NodeSelectorRequirement => ({
    key,
    operator,
    ...(values ? { values } : {}),
  });

  it('a term needs all of its expressions and fields', () => {
    assert.equal(
      nodeSelectorTermMatches({ matchExpressions: [expr('zone', 'In', ['a']), expr('size', 'Gt', ['4'])] }, node),
      true,
    );
    assert.equal(
      nodeSelectorTermMatches({ matchExpressions: [expr('zone', 'In', ['a']), expr('size', 'Gt', ['9'])] }, node),
      false,
    );
    assert.equal(
      nodeSelectorTermMatches(
        { matchExpressions: [expr('zone', 'In', ['a'])], matchFields: [expr('metadata.name', 'In', ['node-2'])] },
        node,
      ),
      false,
    );
  });

  it('matchFields reads metadata.name and nothing else', () => {
    assert.equal(nodeSelectorTermMatches({ matchFields: [expr('metadata.name', 'In', ['node-1'])] }, node), true);
    assert.equal(nodeSelectorTermMatches({ matchFields: [expr('metadata.name', 'NotIn', ['node-1'])] }, node), false);
    assert.equal(nodeSelectorTermMatches({ matchFields: [expr('spec.unschedulable', 'In', ['false'])] }, node), false);
    // A label called metadata.name is not the field.
    assert.equal(nodeSelectorTermMatches({ matchExpressions: [expr('metadata.name', 'In', ['node-1'])] }, node), false);
  });

  it('an empty term matches no node', () => {
    assert.equal(nodeSelectorTermMatches({}, node), false);
    assert.equal(nodeSelectorTermMatches({ matchExpressions: [], matchFields: [] }, node), false);
  });

  it('terms are ORed; no required affinity allows every node, an empty list none', () => {
    const terms: NodeSelectorTerm[] = [
      { matchExpressions: [expr('zone', 'In', ['b'])] },
      { matchExpressions: [expr('size', 'Exists')] },
    ];
    assert.equal(nodeSelectorTermsMatch(terms, node), true);
    assert.equal(nodeSelectorTermsMatch([terms[0]!], node), false);
    assert.equal(nodeSelectorTermsMatch([{}, terms[1]!], node), true, 'an empty term does not spoil the others');
    assert.equal(nodeSelectorTermsMatch(undefined, node), true);
    assert.equal(nodeSelectorTermsMatch([], node), false);
  });
});

describe('requiredNodeAffinityTerms', () => {
  it('reads the terms from a pod spec as JSON carries it', () => {
    const spec = {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 1] }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] },
              'junk',
            ],
          },
        },
      },
    };
    assert.deepEqual(requiredNodeAffinityTerms(spec), [
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', '1'] }], matchFields: [] },
      { matchExpressions: [], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] },
    ]);
  });

  it('is undefined without required affinity, and no terms when the list is missing', () => {
    assert.equal(requiredNodeAffinityTerms({}), undefined);
    assert.equal(requiredNodeAffinityTerms(undefined), undefined);
    assert.equal(requiredNodeAffinityTerms({ affinity: { nodeAffinity: {} } }), undefined);
    assert.deepEqual(
      requiredNodeAffinityTerms({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} } } }),
      [],
    );
  });
});
