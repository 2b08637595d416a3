import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from './status.ts';
import type { FieldManagerWrite, ManagedFieldsEntry } from './managed-fields.ts';
import { applyConfig, managerOf, trackUpdate } from './managed-fields.ts';
import type { KubeObject } from '../model/wire.ts';

const by = (manager: string, time = '2026-01-01T00:00:00Z'): FieldManagerWrite => ({
  manager,
  apiVersion: 'apps/v1',
  time,
});

function deployment(
  spec: Record<string, unknown>,
  managedFields?: ManagedFieldsEntry[],
  labels?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '7',
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...(labels ? { labels } : {}),
      ...(managedFields ? { managedFields } : {}),
    },
    spec,
    status: { replicas: 1 },
  };
}

const containers = (...list: { name: string; image: string }[]) => ({ template: { spec: { containers: list } } });

describe('managed fields of updates', () => {
  it('a create owns every field it set, but identity, server-set metadata and status', () => {
    const obj = deployment(
      { replicas: 2, selector: { matchLabels: { app: 'web' } }, ...containers({ name: 'main', image: 'a' }) },
      undefined,
      { app: 'web' },
    );
    const [entry, ...rest] = trackUpdate('Deployment', undefined, obj, by('kubectl-create'));
    assert.equal(rest.length, 0);
    assert.deepEqual(entry, {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: '2026-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
      },
    });
  });

  it("an update takes the fields it changed from their owner; removed fields are no one's", () => {
    const before = deployment(
      { replicas: 2, paused: false },
      trackUpdate('Deployment', undefined, deployment({ replicas: 2, paused: false }), by('creator')),
    );
    const after = deployment({ replicas: 5 });
    const entries = trackUpdate('Deployment', before, after, by('scaler', '2026-01-01T00:01:00Z'));
    assert.deepEqual(
      entries.map((e) => [e.manager, e.fieldsV1]),
      [['scaler', { 'f:spec': { 'f:replicas': {} } }]],
    );
  });
});

describe('server-side apply', () => {
  it('merges containers by name, and drops the one its manager stopped applying when no one else owns it', () => {
    const first = applyConfig(
      'Deployment',
      undefined,
      deployment(containers({ name: 'a', image: 'x' }, { name: 'b', image: 'y' })),
      by('ci'),
      false,
    );
    const live = {
      ...deployment(first.object['spec'] as Record<string, unknown>),
      metadata: { ...deployment({}).metadata, managedFields: first.managedFields },
    };
    const second = applyConfig('Deployment', live, deployment(containers({ name: 'a', image: 'z' })), by('ci'), false);
    assert.deepEqual((second.object['spec'] as ReturnType<typeof containers>).template.spec.containers, [
      { name: 'a', image: 'z' },
    ]);
  });

  it('answers 409 naming each field and manager, grouped by manager', () => {
    const created = deployment({ replicas: 2, minReadySeconds: 5 });
    const live = {
      ...created,
      metadata: { ...created.metadata, managedFields: trackUpdate('Deployment', undefined, created, by('other')) },
    };
    assert.throws(
      () => applyConfig('Deployment', live, deployment({ replicas: 3, minReadySeconds: 9 }), by('ci'), false),
      (err: unknown) => {
        assert.ok(err instanceof StatusError);
        assert.equal(err.code, 409);
        assert.equal(
          err.message,
          'Apply failed with 2 conflicts: conflicts with "other" using apps/v1:\n- .spec.minReadySeconds\n- .spec.replicas',
        );
        assert.deepEqual(
          err.details?.causes?.map((c) => c.field),
          ['.spec.minReadySeconds', '.spec.replicas'],
        );
        return true;
      },
    );
    // The same value is no conflict: both own it.
    const same = applyConfig('Deployment', live, deployment({ replicas: 2 }), by('ci'), false);
    assert.deepEqual(
      same.managedFields.map((e) => e.manager),
      ['ci', 'other'],
    );
    // Forced: the field moves to the applier.
    const forced = applyConfig('Deployment', live, deployment({ replicas: 3 }), by('ci'), true);
    assert.deepEqual(forced.managedFields.find((e) => e.manager === 'other')?.fieldsV1, {
      'f:spec': { 'f:minReadySeconds': {} },
    });
  });

  it('keeps a field another manager also owns when the applier lets go of it', () => {
    const live0 = deployment({}, undefined, { app: 'web', team: 'x' });
    const ci = applyConfig('Deployment', undefined, live0, by('ci'), false);
    const afterCi = { ...live0, metadata: { ...live0.metadata, managedFields: ci.managedFields } };
    const ops = applyConfig('Deployment', afterCi, deployment({}, undefined, { team: 'x' }), by('ops'), false);
    const afterOps = { ...afterCi, metadata: { ...afterCi.metadata, managedFields: ops.managedFields } };
    const dropped = applyConfig('Deployment', afterOps, deployment({}, undefined, {}), by('ci'), false);
    assert.deepEqual((dropped.object['metadata'] as { labels: unknown }).labels, { team: 'x' });
  });

  it('names the manager of a write from fieldManager or the User-Agent', () => {
    assert.equal(managerOf('helm', 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc'), 'helm');
    assert.equal(managerOf(null, 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc'), 'kubectl');
    assert.throws(() => managerOf('x'.repeat(129), undefined), /Too long/);
  });
});
