import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import { validateObject } from './validation.ts';

function deployment(selector: unknown, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: {} },
    spec: {
      selector,
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  } as unknown as KubeObject;
}

function problem(obj: KubeObject): string | undefined {
  try {
    validateObject(kindDef('Deployment'), obj, { minor: 33 });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

describe('validateObject: a workload selector against its template', () => {
  it('accepts a template its selector matches, matchExpressions included', () => {
    assert.equal(problem(deployment({ matchLabels: { app: 'web' } }, { app: 'web', tier: 'x' })), undefined);
    assert.equal(
      problem(deployment({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, { app: 'web' })),
      undefined,
    );
  });

  it('refuses a template its matchExpressions do not match, as the apiserver does', () => {
    assert.equal(
      problem(deployment({ matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] }, { app: 'web' })),
      'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    );
  });

  it('refuses a selector operator a label selector does not have', () => {
    assert.equal(
      problem(deployment({ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, { app: 'web' })),
      'Deployment.apps "web" is invalid: spec.selector.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator',
    );
  });
});
