import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_RESOURCES } from '../resources.ts';
import { allTypeNames, definitionName, jsonFields, kindTypeName, typeDescription } from './types.ts';

describe('type descriptions', () => {
  it('describe every kind kube-sim serves, at every version', () => {
    const missing = ALL_RESOURCES.filter((r) => kindTypeName(r) === undefined).map(
      (r) => `${r.group}/${r.version} ${r.kind}`,
    );
    assert.deepEqual(missing, []);
    assert.equal(kindTypeName({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role' }), 'rbac.v1.Role');
    assert.equal(kindTypeName({ group: 'apps', version: 'v1', kind: 'Widget' }), undefined);
  });

  it('parse: every referenced type exists, field numbers and JSON names are unique per message', () => {
    for (const name of allTypeNames()) {
      const type = typeDescription(name);
      assert.ok(type, name);
      const numbers = type.fields.map((f) => f.number);
      assert.equal(new Set(numbers).size, numbers.length, `${name}: duplicate field numbers`);
      const json = type.fields.filter((f) => !f.inline).map((f) => f.name);
      assert.equal(new Set(json).size, json.length, `${name}: duplicate JSON names`);
    }
  });

  it('carry list types, merge keys and protobuf numbers as Kubernetes declares them', () => {
    const container = typeDescription('core.v1.Container');
    const ports = container?.fields.find((f) => f.name === 'ports');
    assert.deepEqual(
      ports && {
        number: ports.number,
        shape: ports.shape,
        listType: ports.listType,
        keys: ports.listMapKeys,
        mergeKey: ports.patchMergeKey,
        strategy: ports.patchStrategy,
      },
      {
        number: 6,
        shape: 'list',
        listType: 'map',
        keys: ['containerPort', 'protocol'],
        mergeKey: 'containerPort',
        strategy: 'merge',
      },
    );
    const replicas = typeDescription('apps.v1.DeploymentSpec')?.fields.find((f) => f.name === 'replicas');
    assert.deepEqual(replicas && { number: replicas.number, pointer: replicas.pointer, required: replicas.required }, {
      number: 1,
      pointer: true,
      required: false,
    });
    assert.equal(typeDescription('core.v1.PodSpec')?.fields.find((f) => f.name === 'containers')?.required, true);
    const finalizers = typeDescription('meta.v1.ObjectMeta')?.fields.find((f) => f.name === 'finalizers');
    assert.deepEqual(finalizers && [finalizers.number, finalizers.listType, finalizers.patchStrategy], [
      14,
      'set',
      'merge',
    ]);
  });

  it('expand inlined messages into the JSON fields a client writes', () => {
    const volume = typeDescription('core.v1.Volume');
    assert.ok(volume);
    const fields = jsonFields(volume);
    assert.ok(fields.has('name') && fields.has('emptyDir') && fields.has('configMap'));
    assert.ok(!fields.has('volumeSource'));
    assert.equal(definitionName('meta.v1.ObjectMeta'), 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.equal(definitionName('apps.v1.Deployment'), 'io.k8s.api.apps.v1.Deployment');
  });
});
