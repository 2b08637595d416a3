import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiV2, openApiV3Documents, openApiV3Index } from './openapi.ts';
import { servedResources } from './resources.ts';

type Schema = Record<string, unknown>;

/** Every `$ref` anywhere in a document. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('OpenAPI documents', () => {
  it('v3: one document per served group version, addressed by a content hash', () => {
    const docs = openApiV3Documents(servedResources(33), 'v1.33.1');
    assert.ok(
      docs.has('api/v1') && docs.has('apis/apps/v1') && docs.has('apis/batch/v1') && docs.has('apis/policy/v1'),
    );
    assert.ok(!docs.has('apis/policy/v1beta1'), 'removed in 1.25');
    assert.ok(openApiV3Documents(servedResources(24), 'v1.24.0').has('apis/policy/v1beta1'));
    const index = openApiV3Index(docs) as { paths: Record<string, { serverRelativeURL: string }> };
    const apps = docs.get('apis/apps/v1');
    assert.equal(index.paths['apis/apps/v1']?.serverRelativeURL, `/openapi/v3/apis/apps/v1?hash=${apps?.hash}`);
    assert.match(apps?.hash ?? '', /^[0-9A-F]{128}$/);
    assert.equal(openApiV3Documents(servedResources(33), 'v1.33.1').get('apis/apps/v1')?.hash, apps?.hash, 'stable');
  });

  it('v3: kinds carry their group-version-kind, fields their list and patch extensions, every $ref resolves', () => {
    const doc = JSON.parse(openApiV3Documents(servedResources(33), 'v1.33.1').get('apis/apps/v1')?.json ?? '{}') as {
      paths: Record<string, Record<string, Schema>>;
      components: { schemas: Record<string, Schema> };
    };
    const schemas = doc.components.schemas;
    assert.deepEqual(schemas['io.k8s.api.apps.v1.Deployment']?.['x-kubernetes-group-version-kind'], [
      { group: 'apps', version: 'v1', kind: 'Deployment' },
    ]);
    const containers = (schemas['io.k8s.api.core.v1.PodSpec']?.['properties'] as Record<string, Schema>)['containers'];
    assert.equal(containers?.['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(containers?.['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(containers?.['x-kubernetes-list-type'], 'map');
    assert.deepEqual(schemas['io.k8s.api.core.v1.Container']?.['required'], ['name']);
    for (const ref of refs(doc)) assert.ok(schemas[ref.replace('#/components/schemas/', '')], `unresolved ${ref}`);
    // What kubectl's field-validation check reads: the PATCH operation of the kind, with the query parameter.
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']?.['patch'] as Schema;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(
      (patch['parameters'] as { name: string; in: string }[]).some(
        (p) => p.name === 'fieldValidation' && p.in === 'query',
      ),
    );
    // Only what the group version needs: no Node in apps/v1.
    assert.equal(schemas['io.k8s.api.core.v1.Node'], undefined);
  });

  it('v2: one document with definitions for every served kind', () => {
    const doc = openApiV2(servedResources(29), 'v1.29.0') as { swagger: string; definitions: Record<string, Schema> };
    assert.equal(doc.swagger, '2.0');
    assert.ok(doc.definitions['io.k8s.api.core.v1.Pod'] && doc.definitions['io.k8s.api.flowcontrol.v1.FlowSchema']);
    assert.ok(doc.definitions['io.k8s.api.flowcontrol.v1beta3.FlowSchema'], 'still served in 1.29');
    assert.equal(doc.definitions['io.k8s.api.flowcontrol.v1beta2.FlowSchema'], undefined, 'removed in 1.29');
    for (const ref of refs(doc)) assert.ok(doc.definitions[ref.replace('#/definitions/', '')], `unresolved ${ref}`);
    assert.deepEqual(doc.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'], {
      type: 'string',
      format: 'int-or-string',
      description: 'An integer or a string.',
    });
  });
});
