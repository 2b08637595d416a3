import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { deprecatedApisRule, pluralOf } from './deprecated-apis.ts';

const v124 = { gitVersion: 'v1.24.17', nodes: [testNode('workers-0', { kubelet: 'v1.24.17' })] };

describe('deprecated-apis', () => {
  it('pluralises kinds as the metric labels resources', () => {
    assert.deepEqual(
      ['PodDisruptionBudget', 'Ingress', 'PodSecurityPolicy', 'CronJob', 'CSIStorageCapacity', 'IngressClass'].map(
        pluralOf,
      ),
      [
        'poddisruptionbudgets',
        'ingresses',
        'podsecuritypolicies',
        'cronjobs',
        'csistoragecapacities',
        'ingressclasses',
      ],
    );
  });

  it('merges last-applied and live-metric evidence of an API the target removes into one blocker', () => {
    const snapshot = testSnapshot({
      ...v124,
      lastApplied: [
        { kind: 'PodDisruptionBudget', namespace: 'shop', name: 'legacy', apiVersion: 'policy/v1beta1' },
        { kind: 'CronJob', namespace: 'ops', name: 'nightly', apiVersion: 'batch/v1beta1' },
      ],
      deprecatedApiRequests: [
        {
          group: 'policy',
          version: 'v1beta1',
          resource: 'poddisruptionbudgets',
          subresource: '',
          removedRelease: '1.25',
        },
      ],
    });
    const findings = run(deprecatedApisRule, snapshot, { target: '1.25.16', allowExpired: true });
    assert.deepEqual(summary(findings), [
      'blocker deprecated-apis PodDisruptionBudget/shop/legacy',
      'blocker deprecated-apis CronJob/ops/nightly',
    ]);
    assert.deepEqual(findings[0]?.sources, ['last-applied', 'live-metric']);
    assert.deepEqual(findings[1]?.sources, ['last-applied']);
    assert.match(
      findings[0]?.message ?? '',
      /^policy\/v1beta1 PodDisruptionBudget is removed in 1\.25, on the path to 1\.25\.16; 1 object was last applied at it \(shop\/legacy\) \[last-applied\]; clients requested it .*\[live-metric\]/,
    );
    assert.match(findings[0]?.remediation ?? '', /policy\/v1/);
  });

  it('reports a live call alone (no object), and grades by when the API goes', () => {
    const snapshot = testSnapshot({
      deprecatedApiRequests: [
        {
          group: 'flowcontrol.apiserver.k8s.io',
          version: 'v1beta3',
          resource: 'flowschemas',
          subresource: '',
          removedRelease: '1.32',
        },
        {
          group: 'autoscaling',
          version: 'v2beta2',
          resource: 'horizontalpodautoscalers',
          subresource: '',
          removedRelease: '1.26',
        },
      ],
      lastApplied: [{ kind: 'Ingress', namespace: 'web', name: 'old', apiVersion: 'extensions/v1beta1' }],
    });
    const findings = run(deprecatedApisRule, snapshot);
    assert.deepEqual(summary(findings), [
      'warning deprecated-apis Ingress/web/old',
      'info deprecated-apis',
      'warning deprecated-apis',
    ]);
    assert.match(
      findings[1]?.message ?? '',
      /FlowSchema is deprecated and removed in 1\.32, after the target 1\.31\.4/,
    );
    assert.deepEqual(findings[1]?.sources, ['live-metric']);
    assert.match(findings[2]?.message ?? '', /already does not serve it/);
  });
});
