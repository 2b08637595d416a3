import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAcknowledgements, objectMatches, parseAcknowledgement } from './acknowledge.ts';
import { PrecheckError } from './errors.ts';
import type { Finding } from './types.ts';

const blocker = (rule: Finding['rule'], objects: Finding['objects']): Finding => ({
  rule,
  severity: 'blocker',
  objects,
  message: 'm',
  remediation: 'r',
});

describe('acknowledgements', () => {
  it('parses RULE[/OBJECT]=REASON', () => {
    assert.deepEqual(parseAcknowledgement('pdb-blockers/shop/web=owner agreed: 2 min outage'), {
      rule: 'pdb-blockers',
      object: 'shop/web',
      reason: 'owner agreed: 2 min outage',
    });
    assert.deepEqual(parseAcknowledgement('drain-refusals=debug pods are disposable'), {
      rule: 'drain-refusals',
      reason: 'debug pods are disposable',
    });
  });

  it('refuses a missing reason, an unknown rule, an empty object, naming the text', () => {
    for (const [text, pattern] of [
      ['pdb-blockers/shop/web', /has no reason/],
      ['pdb-blockers=  ', /empty reason/],
      ['pdb-blocker/x=why', /unknown rule "pdb-blocker"/],
      ['pdb-blockers/=why', /empty object/],
    ] as const) {
      assert.throws(
        () => parseAcknowledgement(text),
        (e: unknown) =>
          e instanceof PrecheckError &&
          e.code === 'KUP-PRECHECK-001' &&
          pattern.test(e.message) &&
          e.message.includes(text.trim()),
        text,
      );
    }
  });

  it('matches objects by Kind/ns/name, ns/name, Kind/name and name', () => {
    const pdb = { kind: 'PodDisruptionBudget', namespace: 'shop', name: 'web' };
    const node = { kind: 'Node', name: 'workers-1' };
    assert.ok(objectMatches(pdb, 'poddisruptionbudget/shop/web'));
    assert.ok(objectMatches(pdb, 'shop/web'));
    assert.ok(objectMatches(pdb, 'web'));
    assert.ok(!objectMatches(pdb, 'Deployment/shop/web'));
    assert.ok(objectMatches(node, 'Node/workers-1'));
    assert.ok(objectMatches(node, 'workers-1'));
    assert.ok(!objectMatches(node, 'default/workers-1'));
  });

  it('marks only matching blockers and counts what each acknowledgement covered', () => {
    const findings = [
      blocker('pdb-blockers', [{ kind: 'PodDisruptionBudget', namespace: 'shop', name: 'web' }]),
      blocker('pdb-blockers', [{ kind: 'PodDisruptionBudget', namespace: 'shop', name: 'db' }]),
      {
        ...blocker('single-replica', [{ kind: 'Deployment', namespace: 'shop', name: 'web' }]),
        severity: 'warning' as const,
      },
    ];
    const { findings: out, outcomes } = applyAcknowledgements(findings, [
      { rule: 'pdb-blockers', object: 'shop/web', reason: 'accepted' },
      { rule: 'single-replica', reason: 'not a blocker' },
    ]);
    assert.deepEqual(
      out.map((f) => f.acknowledged?.reason),
      ['accepted', undefined, undefined],
    );
    assert.deepEqual(
      outcomes.map((o) => o.matched),
      [1, 0],
    );
  });
});
