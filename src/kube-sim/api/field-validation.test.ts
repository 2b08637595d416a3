import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateJsonFields, fieldProblems, fieldValidationOf, pruneUnknownFields } from './field-validation.ts';
import { StatusError } from './status.ts';

describe('field validation', () => {
  it('drops unknown fields at any depth and names them as the apiserver does', () => {
    const { object, unknown } = pruneUnknownFields(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        color: 'blue',
        metadata: { name: 'web', labels: { a: 'b' }, owner: 'me' },
        spec: {
          replicas: 2,
          foo: 1,
          template: {
            spec: {
              containers: [
                { name: 'a', image: 'x' },
                { name: 'b', image: 'y', imagePullPolicyy: 'Always', resources: { limits: { cpu: '1' } } },
              ],
              volumes: [{ name: 'v', emptyDir: { medium: 'Memory', size: 1 } }],
            },
          },
        },
      },
      'apps.v1.Deployment',
    );
    assert.deepEqual(unknown, [
      'color',
      'metadata.owner',
      'spec.foo',
      'spec.template.spec.containers[1].imagePullPolicyy',
      'spec.template.spec.volumes[0].emptyDir.size',
    ]);
    assert.deepEqual(object, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { a: 'b' } },
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              { name: 'a', image: 'x' },
              { name: 'b', image: 'y', resources: { limits: { cpu: '1' } } },
            ],
            volumes: [{ name: 'v', emptyDir: { medium: 'Memory' } }],
          },
        },
      },
    });
  });

  it('leaves free-form values alone: labels, data, raw extensions', () => {
    const cm = pruneUnknownFields(
      { metadata: { annotations: { any: 'thing' } }, data: { whatever: 'x' } },
      'core.v1.ConfigMap',
    );
    assert.deepEqual(cm.unknown, []);
    const rev = pruneUnknownFields(
      { metadata: { name: 'r' }, data: { spec: { anything: 1 } }, revision: 1 },
      'apps.v1.ControllerRevision',
    );
    assert.deepEqual(rev.unknown, []);
  });

  it('finds duplicate keys in JSON text, with their paths', () => {
    assert.deepEqual(duplicateJsonFields('{"a":1,"b":{"c":[{"d":1,"d":2}],"c":[]},"a":"x\\"y"}'), [
      'b.c[0].d',
      'b.c',
      'a',
    ]);
    assert.deepEqual(duplicateJsonFields('{"a":[1,2,{"b":true}],"s":"{\\"a\\":1,\\"a\\":2}"}'), []);
  });

  it('applies the directive: Warn returns warnings, Strict rejects with 400, Ignore is silent', () => {
    const found = { unknown: ['spec.foo'], duplicates: ['spec.replicas'] };
    const kind = { kind: 'Deployment', version: 'v1' };
    assert.deepEqual(fieldProblems('Warn', found, kind), [
      'duplicate field "spec.replicas"',
      'unknown field "spec.foo"',
    ]);
    assert.deepEqual(fieldProblems('Ignore', found, kind), []);
    assert.throws(
      () => fieldProblems('Strict', found, kind),
      (err: unknown) =>
        err instanceof StatusError &&
        err.code === 400 &&
        err.message ===
          'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "spec.replicas", unknown field "spec.foo"',
    );
    assert.deepEqual(fieldProblems('Strict', { unknown: [], duplicates: [] }, kind), []);
  });

  it('reads the directive from the query: Warn by default, 422 for a value it does not know', () => {
    assert.equal(fieldValidationOf(new URLSearchParams(''), 'CreateOptions'), 'Warn');
    assert.equal(fieldValidationOf(new URLSearchParams('fieldValidation=Strict'), 'CreateOptions'), 'Strict');
    assert.throws(
      () => fieldValidationOf(new URLSearchParams('fieldValidation=strict'), 'PatchOptions'),
      (err: unknown) =>
        err instanceof StatusError && err.code === 422 && /Unsupported value: "strict"/.test(err.message),
    );
  });
});
