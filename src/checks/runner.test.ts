import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrecheckError } from './errors.ts';
import { formatReportTable, reportDocument } from './report.ts';
import { evaluateChecks } from './runner.ts';
import { FIXTURE_NOW, testDeployment, testNode, testPdb, testPod, testSnapshot } from './test-fixtures.ts';

const now = () => FIXTURE_NOW;

function cluster() {
  const web = testDeployment('web', { namespace: 'shop', nodes: ['workers-0', 'workers-1'] });
  return testSnapshot({
    nodes: [testNode('workers-0'), testNode('workers-1'), testNode('workers-2')],
    workloads: web.workloads,
    pods: [...web.pods, testPod('debug', { node: 'workers-2' })],
    pdbs: [
      testPdb('web', {
        namespace: 'shop',
        maxUnavailable: 0,
        status: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 },
      }),
    ],
  });
}

describe('evaluateChecks', () => {
  it('runs the precheck rules, blockers first, with the path and an outcome per rule', () => {
    const report = evaluateChecks(cluster(), { target: '1.31.4', now });
    assert.equal(report.from, '1.30.4');
    assert.equal(report.to, '1.31.4');
    assert.deepEqual(
      report.path?.steps.map((s) => s.kind),
      ['control-plane', 'pool'],
    );
    assert.deepEqual(
      report.blockers.map((f) => f.rule),
      ['pdb-blockers', 'drain-refusals'],
    );
    assert.equal(report.findings[0]?.severity, 'blocker');
    assert.equal(report.rules.find((r) => r.id === 'nodes-ready')?.status, 'pass');
    assert.equal(report.rules.find((r) => r.id === 'pdb-blockers')?.status, 'blocker');
    assert.ok(!report.rules.some((r) => r.id === 'pending-pods'), 'postcheck-only rules do not run in precheck');
    assert.equal(report.batchPolicy, 'exponential');
  });

  it('keeps acknowledged blockers in the report with the reason, and no longer counts them', () => {
    const report = evaluateChecks(cluster(), {
      target: '1.31.4',
      now,
      acknowledgements: [
        { rule: 'pdb-blockers', object: 'shop/web', reason: 'web owners accept a short outage' },
        { rule: 'drain-refusals', reason: 'debug pod is disposable' },
        { rule: 'nodes-ready', object: 'workers-9', reason: 'typo' },
      ],
    });
    assert.deepEqual(report.blockers, []);
    assert.deepEqual(
      report.acknowledged.map((f) => [f.rule, f.acknowledged?.reason]),
      [
        ['pdb-blockers', 'web owners accept a short outage'],
        ['drain-refusals', 'debug pod is disposable'],
      ],
    );
    assert.deepEqual(
      report.acknowledgements.map((a) => a.matched),
      [1, 1, 0],
    );
    assert.equal(report.rules.find((r) => r.id === 'pdb-blockers')?.status, 'pass');
    const text = formatReportTable(report);
    assert.match(text, /ACKED\s+pdb-blockers/);
    assert.match(text, /acknowledged: web owners accept a short outage/);
    assert.match(text, /acknowledgement nodes-ready\/workers-9 matched no blocker/);
    assert.match(text, /Result: 0 blockers \(\+2 acknowledged\)/);
  });

  it('produces a JSON document that round-trips', () => {
    const doc = reportDocument(evaluateChecks(cluster(), { target: '1.31.4', now }));
    assert.equal(doc.kind, 'PrecheckReport');
    assert.equal(doc.summary.blockers, 2);
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });

  it('runs the postcheck rules in postcheck', () => {
    const report = evaluateChecks(
      testSnapshot({ gitVersion: 'v1.31.4', nodes: [testNode('workers-0', { kubelet: 'v1.31.4' })] }),
      { target: '1.31.4', phase: 'postcheck', now },
    );
    assert.deepEqual(report.blockers, []);
    assert.ok(report.rules.some((r) => r.id === 'versions-at-target'));
    assert.ok(!report.rules.some((r) => r.id === 'drain-simulation'));
    assert.match(formatReportTable(report), /^Post-upgrade validation of cluster test/);
  });

  it('refuses a bad target and a bad batch policy as input errors', () => {
    assert.throws(
      () => evaluateChecks(cluster(), { target: '2.0.0', now }),
      (e: unknown) => e instanceof PrecheckError && e.code === 'KUP-PRECHECK-002',
    );
    assert.throws(
      () => evaluateChecks(cluster(), { target: '1.31.4', batchPolicy: 'fast', now }),
      (e: unknown) => e instanceof PrecheckError && e.code === 'KUP-PRECHECK-003' && /KUP-BATCH-001/.test(e.message),
    );
  });
});
