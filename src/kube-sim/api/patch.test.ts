import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PatchError,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  supportsStrategicMergePatch,
} from './patch.ts';

function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
}

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected PatchError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the patch to be refused');
}

const node = () =>
  frozen({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' }, resourceVersion: '7' },
    spec: {
      podCIDR: '10.244.1.0/24',
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.0.1' },
        { type: 'Hostname', address: 'node-a' },
      ],
    },
  });

const deployment = () =>
  frozen({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', finalizers: ['a.example.com/keep'] },
    spec: {
      replicas: 3,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'web:1.0',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
            },
            { name: 'sidecar', image: 'proxy:2.0' },
          ],
          tolerations: [{ key: 'x', operator: 'Exists' }],
        },
      },
    },
  });

describe('applyMergePatch', () => {
  it('merges objects, deletes on null and replaces arrays (RFC 7386)', () => {
    const target = frozen({ a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] });
    const result = applyMergePatch(target, { a: 'z', c: { f: null, h: { i: null, j: 1 } }, list: [3] });
    assert.deepEqual(result, { a: 'z', c: { d: 'e', h: { j: 1 } }, list: [3] });
  });

  it('handles the RFC 7386 appendix examples', () => {
    assert.deepEqual(applyMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
    assert.deepEqual(applyMergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
    assert.deepEqual(applyMergePatch({ a: 'b' }, { a: null }), {});
    assert.deepEqual(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
    assert.deepEqual(applyMergePatch({ a: 'foo' }, { a: { b: 'c' } }), { a: { b: 'c' } });
    assert.deepEqual(applyMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
    assert.deepEqual(applyMergePatch(['a', 'b'], { a: 'c' }), { a: 'c' });
    assert.deepEqual(applyMergePatch({ a: 'b' }, ['c']), ['c']);
  });

  it('applies what kubectl label and annotate send', () => {
    const pod = frozen({ metadata: { name: 'p', labels: { app: 'web', old: 'x' }, annotations: { note: 'a' } } });
    const labelled = applyMergePatch(pod, { metadata: { labels: { tier: 'frontend', old: null } } });
    assert.deepEqual(labelled, {
      metadata: { name: 'p', labels: { app: 'web', tier: 'frontend' }, annotations: { note: 'a' } },
    });
    const annotated = applyMergePatch(pod, { metadata: { annotations: { note: null, 'kup.dev/owner': 'me' } } });
    assert.deepEqual(annotated, {
      metadata: { name: 'p', labels: { app: 'web', old: 'x' }, annotations: { 'kup.dev/owner': 'me' } },
    });
  });

  it('refuses a top-level patch that is not an object or array', () => {
    for (const bad of [null, 'x', 3, true]) {
      const err = patchError(() => applyMergePatch({}, bad));
      assert.equal(err.reason, 'BadRequest');
      assert.equal(err.code, 400);
      assert.equal(err.message, 'Invalid JSON Patch');
    }
  });

  it('does not mutate its inputs', () => {
    const target = frozen({ a: { b: 1 } });
    const patch = frozen({ a: { c: 2 } });
    applyMergePatch(target, patch);
    assert.deepEqual(target, { a: { b: 1 } });
  });

  it('keeps __proto__ as a plain key', () => {
    const result = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}') as unknown) as Record<
      string,
      unknown
    >;
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.keys(result), ['__proto__']);
  });
});

describe('applyJsonPatch', () => {
  const doc = () =>
    frozen({ metadata: { name: 'p', labels: { 'app.kubernetes.io/name': 'web' } }, spec: { list: ['a', 'b', 'c'] } });

  it('adds, removes and replaces, with - to append', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'add', path: '/metadata/labels/tier', value: 'frontend' },
      { op: 'add', path: '/spec/list/-', value: 'd' },
      { op: 'add', path: '/spec/list/0', value: 'z' },
      { op: 'remove', path: '/spec/list/1' },
      { op: 'replace', path: '/metadata/name', value: 'q' },
    ]);
    assert.deepEqual(result, {
      metadata: { name: 'q', labels: { 'app.kubernetes.io/name': 'web', tier: 'frontend' } },
      spec: { list: ['z', 'b', 'c', 'd'] },
    });
  });

  it('decodes ~1 and ~0 in reference tokens', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'replace', path: '/metadata/labels/app.kubernetes.io~1name', value: 'api' },
      { op: 'add', path: '/metadata/labels/a~0b', value: 'tilde' },
    ]);
    assert.deepEqual((result as { metadata: { labels: unknown } }).metadata.labels, {
      'app.kubernetes.io/name': 'api',
      'a~b': 'tilde',
    });
  });

  it('moves and copies', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'copy', from: '/spec/list', path: '/spec/copy' },
      { op: 'move', from: '/spec/list/0', path: '/spec/list/-' },
      { op: 'move', from: '/metadata/name', path: '/spec/name' },
    ]);
    assert.deepEqual(result, {
      metadata: { labels: { 'app.kubernetes.io/name': 'web' } },
      spec: { list: ['b', 'c', 'a'], copy: ['a', 'b', 'c'], name: 'p' },
    });
  });

  it('passes and fails test operations by deep equality', () => {
    assert.deepEqual(applyJsonPatch(doc(), [{ op: 'test', path: '/spec/list', value: ['a', 'b', 'c'] }]), doc());
    const err = patchError(() =>
      applyJsonPatch(doc(), [
        { op: 'test', path: '/metadata/name', value: 'other' },
        { op: 'remove', path: '/metadata' },
      ]),
    );
    assert.equal(err.reason, 'Invalid');
    assert.equal(err.code, 422);
    assert.equal(err.message, 'testing value /metadata/name failed: test failed');
  });

  it('replaces the whole document at the root path', () => {
    assert.deepEqual(applyJsonPatch(doc(), [{ op: 'replace', path: '', value: { a: 1 } }]), { a: 1 });
  });

  it('names the operation and path when an operation cannot apply', () => {
    const cases: [unknown, string][] = [
      [
        { op: 'remove', path: '/metadata/missing' },
        "error in remove for path: '/metadata/missing': Unable to remove nonexistent key: missing: missing value",
      ],
      [
        { op: 'replace', path: '/metadata/missing', value: 1 },
        'replace operation does not apply: doc is missing key: /metadata/missing: missing value',
      ],
      [
        { op: 'add', path: '/nope/deeper', value: 1 },
        'add operation does not apply: doc is missing path: "/nope/deeper": missing value',
      ],
      [
        { op: 'add', path: '/spec/list/9', value: 1 },
        "error in add for path: '/spec/list/9': Unable to access invalid index: 9: invalid index referenced",
      ],
      [
        { op: 'remove', path: '/spec/list/3' },
        "error in remove for path: '/spec/list/3': Unable to access invalid index: 3: invalid index referenced",
      ],
      [
        { op: 'move', from: '/nope/x', path: '/a' },
        'move operation does not apply: doc is missing from path: /nope/x: missing value',
      ],
      [
        { op: 'move', from: '/spec', path: '/spec/inner' },
        'move operation does not apply: doc is missing destination path: /spec/inner: missing value',
      ],
      [{ op: 'frobnicate', path: '/a' }, 'Unexpected kind: frobnicate'],
      [{ path: '/a' }, 'Unexpected kind: unknown'],
      [{ op: 'add', value: 1 }, 'add operation failed to decode path: missing value'],
    ];
    for (const [op, message] of cases) {
      const err = patchError(() => applyJsonPatch(doc(), [op]));
      assert.equal(err.message, message);
      assert.equal(err.reason, 'Invalid');
    }
  });

  it('refuses a document that is not a list of operations', () => {
    assert.equal(
      patchError(() => applyJsonPatch(doc(), { op: 'add' })).message,
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
    const err = patchError(() => applyJsonPatch(doc(), ['add']));
    assert.equal(err.reason, 'BadRequest');
    assert.equal(err.message, 'json: cannot unmarshal string into Go value of type jsonpatch.Operation');
    assert.deepEqual(applyJsonPatch(doc(), null), doc(), 'JSON null decodes to an empty patch');
  });

  it('leaves the target and the operations untouched, even when a later operation fails', () => {
    const target = doc();
    const value = frozen({ nested: ['x'] });
    const result = applyJsonPatch(target, frozen([{ op: 'add', path: '/spec/v', value }])) as {
      spec: { v: { nested: string[] } };
    };
    result.spec.v.nested.push('y');
    assert.deepEqual(value, { nested: ['x'] });
    patchError(() =>
      applyJsonPatch(target, [
        { op: 'remove', path: '/spec/list/0' },
        { op: 'test', path: '/x', value: 1 },
      ]),
    );
    assert.deepEqual(target, doc());
  });
});

describe('applyStrategicMergePatch', () => {
  it('cordons and uncordons a node as kubectl does', () => {
    const cordoned = applyStrategicMergePatch(node(), { spec: { unschedulable: true } }, 'Node') as ReturnType<
      typeof node
    >;
    assert.equal((cordoned.spec as Record<string, unknown>)['unschedulable'], true);
    assert.deepEqual(cordoned.spec.taints, node().spec.taints, 'taints are untouched');
    assert.deepEqual(cordoned.status, node().status);

    const uncordoned = applyStrategicMergePatch(cordoned, { spec: { unschedulable: null } }, 'Node');
    assert.deepEqual(uncordoned, node(), 'null deletes the field');
  });

  it('applies label and annotate patches, null removing a key', () => {
    const result = applyStrategicMergePatch(
      node(),
      {
        metadata: {
          labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '', 'kubernetes.io/hostname': null },
          annotations: { 'kup.dev/stage': 'drain' },
        },
      },
      'Node',
    ) as ReturnType<typeof node> & { metadata: { annotations: unknown } };
    assert.deepEqual(result.metadata.labels, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' });
    assert.deepEqual(result.metadata.annotations, { 'kup.dev/stage': 'drain' });
  });

  it('changes one container image by name (kubectl set image)', () => {
    const result = applyStrategicMergePatch(
      deployment(),
      { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'proxy:2.1' }] } } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    const containers = result.spec.template.spec.containers;
    assert.deepEqual(containers, [
      deployment().spec.template.spec.containers[0],
      { name: 'sidecar', image: 'proxy:2.1' },
    ]);
  });

  it('merges container env by name and ports by containerPort', () => {
    const result = applyStrategicMergePatch(
      deployment(),
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  env: [
                    { name: 'B', value: '3' },
                    { name: 'A', $patch: 'delete' },
                  ],
                  ports: [{ containerPort: 8080, name: 'http' }],
                },
              ],
            },
          },
        },
      },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    const app = result.spec.template.spec.containers[0];
    assert.deepEqual(app?.env, [{ name: 'B', value: '3' }]);
    assert.deepEqual(app?.ports, [{ containerPort: 8080, protocol: 'TCP', name: 'http' }]);
    assert.equal(app?.image, 'web:1.0');
  });

  it('puts an item the server has never seen before the server-only items, as upstream does', () => {
    const result = applyStrategicMergePatch(
      deployment(),
      { spec: { template: { spec: { containers: [{ name: 'debug', image: 'busybox' }] } } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(
      result.spec.template.spec.containers.map((c) => c.name),
      ['debug', 'app', 'sidecar'],
    );
  });

  it('honours $setElementOrder as kubectl apply sends it', () => {
    const result = applyStrategicMergePatch(
      deployment(),
      {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }, { name: 'debug' }],
              containers: [{ name: 'debug', image: 'busybox' }],
            },
          },
        },
      },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    const spec = result.spec.template.spec as Record<string, unknown>;
    assert.deepEqual(
      result.spec.template.spec.containers.map((c) => c.name),
      ['app', 'sidecar', 'debug'],
    );
    assert.equal(
      Object.keys(spec).some((k) => k.startsWith('$')),
      false,
    );
  });

  it('merges finalizers as a set and removes with $deleteFromPrimitiveList', () => {
    const added = applyStrategicMergePatch(
      deployment(),
      { metadata: { finalizers: ['kup.dev/protect', 'a.example.com/keep'] } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(
      added.metadata.finalizers,
      ['kup.dev/protect', 'a.example.com/keep'],
      'items the patch names keep its order',
    );

    const prepended = applyStrategicMergePatch(
      deployment(),
      { metadata: { finalizers: ['kup.dev/protect'] } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(prepended.metadata.finalizers, ['kup.dev/protect', 'a.example.com/keep']);

    const removed = applyStrategicMergePatch(
      added,
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example.com/keep'] } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(removed.metadata, { name: 'web', namespace: 'shop', finalizers: ['kup.dev/protect'] });

    const untouched = applyStrategicMergePatch(
      { metadata: { name: 'x' } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      'Deployment',
    );
    assert.deepEqual(untouched, { metadata: { name: 'x' } }, 'no deletion list lands in the object');
  });

  it('replaces lists without a merge key: node taints and pod tolerations', () => {
    const tainted = applyStrategicMergePatch(
      node(),
      { spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } },
      'Node',
    ) as ReturnType<typeof node>;
    assert.deepEqual(tainted.spec.taints, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);

    const tolerant = applyStrategicMergePatch(
      deployment(),
      { spec: { template: { spec: { tolerations: [{ key: 'y', operator: 'Exists' }] } } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(tolerant.spec.template.spec.tolerations, [{ key: 'y', operator: 'Exists' }]);
  });

  it('merges node conditions and addresses by type', () => {
    const result = applyStrategicMergePatch(
      node(),
      {
        status: {
          conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }],
          addresses: [{ type: 'InternalIP', address: '10.0.0.2' }],
        },
      },
      'Node',
    ) as ReturnType<typeof node>;
    assert.deepEqual(result.status.conditions, [
      { type: 'MemoryPressure', status: 'False' },
      { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
    ]);
    assert.deepEqual(result.status.addresses, [
      { type: 'InternalIP', address: '10.0.0.2' },
      { type: 'Hostname', address: 'node-a' },
    ]);
  });

  it('finds merge keys by path: Pod spec.containers and CronJob jobTemplate containers', () => {
    const pod = {
      kind: 'Pod',
      spec: {
        containers: [
          { name: 'a', image: 'a:1' },
          { name: 'b', image: 'b:1' },
        ],
      },
    };
    const patchedPod = applyStrategicMergePatch(pod, { spec: { containers: [{ name: 'b', image: 'b:2' }] } }, 'Pod');
    assert.deepEqual(patchedPod, {
      kind: 'Pod',
      spec: {
        containers: [
          { name: 'a', image: 'a:1' },
          { name: 'b', image: 'b:2' },
        ],
      },
    });

    const cron = {
      kind: 'CronJob',
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'a', image: 'a:1' },
                  { name: 'b', image: 'b:1' },
                ],
              },
            },
          },
        },
      },
    };
    const patchedCron = applyStrategicMergePatch(
      cron,
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:2' }] } } } } } },
      'CronJob',
    ) as typeof cron;
    assert.deepEqual(patchedCron.spec.jobTemplate.spec.template.spec.containers, [
      { name: 'a', image: 'a:2' },
      { name: 'b', image: 'b:1' },
    ]);
  });

  it('merges ownerReferences by uid and service ports by port', () => {
    const cm = { metadata: { ownerReferences: [{ uid: 'u1', name: 'a' }] } };
    const result = applyStrategicMergePatch(
      cm,
      { metadata: { ownerReferences: [{ uid: 'u1', controller: true }] } },
      'ConfigMap',
    );
    assert.deepEqual(result, { metadata: { ownerReferences: [{ uid: 'u1', name: 'a', controller: true }] } });

    const svc = {
      spec: {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 443, targetPort: 8443 },
        ],
      },
    };
    const patchedSvc = applyStrategicMergePatch(svc, { spec: { ports: [{ port: 443, targetPort: 9443 }] } }, 'Service');
    assert.deepEqual(patchedSvc, {
      spec: {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 443, targetPort: 9443 },
        ],
      },
    });
  });

  it('honours $patch: replace and delete on maps and lists', () => {
    const replacedMap = applyStrategicMergePatch(
      deployment(),
      { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(replacedMap.spec.strategy, { type: 'Recreate' });

    const deletedMap = applyStrategicMergePatch(
      deployment(),
      { spec: { strategy: { $patch: 'delete' } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(deletedMap.spec.strategy, {});

    const replacedList = applyStrategicMergePatch(
      deployment(),
      { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(replacedList.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);

    const deletedItem = applyStrategicMergePatch(
      deployment(),
      { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(
      deletedItem.spec.template.spec.containers.map((c) => c.name),
      ['app'],
    );

    const merged = applyStrategicMergePatch({ a: { b: 1 } }, { a: { $patch: 'merge', c: 2 } }, 'ConfigMap');
    assert.deepEqual(merged, { a: { b: 1, c: 2 } });
  });

  it('clears keys missing from $retainKeys', () => {
    const result = applyStrategicMergePatch(
      deployment(),
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      'Deployment',
    ) as ReturnType<typeof deployment>;
    assert.deepEqual(result.spec.strategy, { type: 'Recreate' });

    const err = patchError(() =>
      applyStrategicMergePatch(
        deployment(),
        { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } },
        'Deployment',
      ),
    );
    assert.equal(err.message, 'invalid patch format of retainKeys');
    assert.equal(err.reason, 'BadRequest');
  });

  it('never leaves directives or nulls in fields the patch creates', () => {
    const result = applyStrategicMergePatch(
      { metadata: { name: 'p' } },
      {
        metadata: { labels: { a: 'b', gone: null }, annotations: { $patch: 'replace', x: 'y' } },
        spec: {
          containers: [{ name: 'c', env: [{ name: 'E', $patch: 'delete' }], image: null }],
          volumes: [{ name: 'v', $patch: 'delete' }],
        },
      },
      'Pod',
    );
    assert.deepEqual(result, {
      metadata: { name: 'p', labels: { a: 'b' }, annotations: { x: 'y' } },
      spec: { containers: [{ name: 'c', env: [] }], volumes: [] },
    });
  });

  it('reads merge keys from the type descriptions: HPA conditions by type, claim-template finalizers as a set', () => {
    const hpa = {
      status: {
        conditions: [
          { type: 'AbleToScale', status: 'True' },
          { type: 'ScalingActive', status: 'True' },
        ],
      },
    };
    const patched = applyStrategicMergePatch(hpa, { status: { conditions: [{ type: 'ScalingActive', status: 'False' }] } }, 'HorizontalPodAutoscaler');
    assert.deepEqual(patched, {
      status: {
        conditions: [
          { type: 'AbleToScale', status: 'True' },
          { type: 'ScalingActive', status: 'False' },
        ],
      },
    });
    const sts = { spec: { volumeClaimTemplates: [{ metadata: { name: 'data', finalizers: ['a'] } }] } };
    // volumeClaimTemplates has no merge key (replaced whole), but the finalizers of the claim it carries merge as a set.
    const claim = applyStrategicMergePatch({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['b'] } }, 'PersistentVolumeClaim');
    assert.deepEqual(claim, { metadata: { finalizers: ['b', 'a'] } });
    assert.deepEqual(applyStrategicMergePatch(sts, { spec: { volumeClaimTemplates: [{ metadata: { name: 'x' } }] } }, 'StatefulSet'), {
      spec: { volumeClaimTemplates: [{ metadata: { name: 'x' } }] },
    });
  });

  it('replaces lists for kinds it does not know, still stripping directives', () => {
    assert.equal(supportsStrategicMergePatch('Widget'), false);
    assert.equal(supportsStrategicMergePatch('Deployment'), true);
    const result = applyStrategicMergePatch(
      { spec: { items: [{ name: 'a' }, { name: 'b' }] }, metadata: { finalizers: ['x'] } },
      { spec: { items: [{ name: 'c', $patch: 'delete' }] }, metadata: { finalizers: ['y'] } },
      'Widget',
    );
    assert.deepEqual(result, { spec: { items: [{ name: 'c' }] }, metadata: { finalizers: ['y'] } });
  });

  it('refuses malformed patches', () => {
    assert.equal(
      patchError(() => applyStrategicMergePatch(node(), [], 'Node')).message,
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
    assert.equal(
      patchError(() => applyStrategicMergePatch(node(), { status: { conditions: [{ status: 'True' }] } }, 'Node'))
        .message,
      'map: map[status:True] does not contain declared merge key: type',
    );
    assert.equal(
      patchError(() =>
        applyStrategicMergePatch(node(), { status: { conditions: [{ type: 'Ready', $patch: 'merge' }] } }, 'Node'),
      ).message,
      'merging lists cannot yet be specified in the patch',
    );
    assert.equal(
      patchError(() => applyStrategicMergePatch(node(), { spec: { $patch: 'explode' } }, 'Node')).message,
      'unknown patch type: explode in map: map[$patch:explode]',
    );
    const lists = patchError(() =>
      applyStrategicMergePatch({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: [['b']] } }, 'Pod'),
    );
    assert.equal(lists.message, 'lists of lists are not supported');
    assert.equal(lists.reason, 'Invalid');
    assert.equal(
      patchError(() =>
        applyStrategicMergePatch(
          deployment(),
          {
            spec: {
              template: { spec: { '$setElementOrder/containers': [{ name: 'app' }], containers: [{ name: 'debug' }] } },
            },
          },
          'Deployment',
        ),
      ).message,
      "The order in patch list:\n[map[name:debug]]\n doesn't match $setElementOrder list:\n[map[name:app]]\n",
    );
  });

  it('does not mutate the target or the patch', () => {
    const target = deployment();
    const patch = frozen({
      metadata: { finalizers: ['x'] },
      spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'C', value: '3' }] }] } } },
    });
    const result = applyStrategicMergePatch(target, patch, 'Deployment') as ReturnType<typeof deployment>;
    assert.deepEqual(target, deployment());
    result.spec.template.spec.containers[0]?.env?.push({ name: 'D', value: '4' });
    assert.deepEqual(patch.spec.template.spec.containers[0]?.env, [{ name: 'C', value: '3' }]);
  });
});
