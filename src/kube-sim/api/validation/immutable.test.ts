import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../model/wire.ts';
import { kindDef } from '../../runtime.ts';
import type { TestRuntime } from '../../testing/runtime.ts';
import { createTestRuntime } from '../../testing/runtime.ts';
import { StatusError } from '../status.ts';

let rt: TestRuntime;
before(() => {
  rt = createTestRuntime();
  rt.registry.create(kindDef('Namespace'), undefined, { metadata: { name: 'default' } });
});
after(() => rt.stop());

const podSpec = (image = 'nginx:1.27', extra: Record<string, unknown> = {}) => ({
  containers: [{ name: 'app', image }],
  ...extra,
});

function create(kind: string, body: Record<string, unknown>): KubeObject {
  return rt.registry.create(kindDef(kind), kind === 'Node' ? undefined : 'default', body);
}

function ns(kind: string): string | undefined {
  return kind === 'Node' ? undefined : 'default';
}

/** The message of the 422 a merge patch gets, with the object unchanged afterwards. */
function refusedPatch(kind: string, name: string, patch: Record<string, unknown>): string {
  const before = rt.registry.get(kindDef(kind), ns(kind), name);
  try {
    rt.registry.patch(kindDef(kind), ns(kind), name, 'merge', patch);
  } catch (err) {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, 422);
    assert.equal(
      rt.registry.get(kindDef(kind), ns(kind), name).metadata.resourceVersion,
      before.metadata.resourceVersion,
      'nothing stored',
    );
    return err.message;
  }
  assert.fail(`the patch of ${kind} ${name} was accepted`);
}

function patch(kind: string, name: string, body: Record<string, unknown>): KubeObject {
  return rt.registry.patch(kindDef(kind), ns(kind), name, 'merge', body);
}

describe('immutable fields on update', () => {
  it('refuses a new selector for a Deployment, ReplicaSet or DaemonSet, and takes a new template', () => {
    const template = { metadata: { labels: { app: 'web', tier: 'x' } }, spec: podSpec() };
    for (const kind of ['Deployment', 'ReplicaSet', 'DaemonSet']) {
      const name = `sel-${kind.toLowerCase()}`;
      create(kind, { metadata: { name }, spec: { selector: { matchLabels: { app: 'web' } }, template } });
      assert.equal(
        refusedPatch(kind, name, { spec: { selector: { matchLabels: { tier: 'x' } } } }),
        `${kind}.apps "${name}" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable`,
      );
      patch(kind, name, { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } } } });
    }
  });

  it("refuses a StatefulSet's serviceName and claim templates, and takes replicas and template changes", () => {
    create('StatefulSet', {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: podSpec() },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    const message =
      "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
    assert.equal(refusedPatch('StatefulSet', 'db', { spec: { serviceName: 'db-2' } }), message);
    assert.equal(refusedPatch('StatefulSet', 'db', { spec: { volumeClaimTemplates: [] } }), message);
    const scaled = patch('StatefulSet', 'db', { spec: { replicas: 3, minReadySeconds: 5 } });
    assert.equal(scaled.spec?.['replicas'], 3);
  });

  it("refuses a Job's new template or selector, but a suspended Job that never ran may move its pods", () => {
    const job = create('Job', {
      metadata: { name: 'pi' },
      spec: { suspend: true, template: { spec: podSpec('perl', { restartPolicy: 'Never' }) } },
    });
    patch('Job', 'pi', { spec: { template: { spec: { nodeSelector: { zone: 'a' } } } } });
    const message = refusedPatch('Job', 'pi', {
      spec: { template: { spec: { containers: [{ name: 'app', image: 'perl:5' }] } } },
    });
    assert.match(message, /^Job\.batch "pi" is invalid: spec\.template: Invalid value: .*: field is immutable$/);
    assert.match(
      refusedPatch('Job', 'pi', { spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'x' } } } }),
      /spec\.selector: Invalid value: .*: field is immutable/,
    );
    assert.match(
      refusedPatch('Job', 'pi', { spec: { completions: 3 } }),
      /spec\.completions: Invalid value: 3: field is immutable/,
    );
    assert.equal(rt.registry.get(kindDef('Job'), 'default', 'pi').metadata.uid, job.metadata.uid);
  });

  it('refuses a Pod spec change but its images, a shorter deadline and added tolerations', () => {
    create('Pod', { metadata: { name: 'p' }, spec: podSpec('nginx:1.27', { activeDeadlineSeconds: 600 }) });
    patch('Pod', 'p', { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }], activeDeadlineSeconds: 300 } });
    assert.match(
      refusedPatch('Pod', 'p', { spec: { restartPolicy: 'Never' } }),
      /^Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/,
    );
    assert.match(
      refusedPatch('Pod', 'p', { spec: { activeDeadlineSeconds: 900 } }),
      /spec\.activeDeadlineSeconds: Invalid value: 900: must be less than or equal to previous value/,
    );
    const pod = rt.registry.get(kindDef('Pod'), 'default', 'p');
    const tolerations = [
      ...((pod.spec?.['tolerations'] as unknown[]) ?? []),
      { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' },
    ];
    patch('Pod', 'p', { spec: { tolerations } });
    assert.match(
      refusedPatch('Pod', 'p', { spec: { tolerations: [] } }),
      /spec\.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds/,
    );
  });

  it("refuses a Node's new pod CIDR or provider ID once set, and lets them be set once", () => {
    create('Node', { metadata: { name: 'n1' }, spec: {} });
    patch('Node', 'n1', { spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], providerID: 'kup://n1' } });
    assert.equal(
      refusedPatch('Node', 'n1', { spec: { podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'] } }),
      'Node "n1" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
    );
    assert.equal(
      refusedPatch('Node', 'n1', { spec: { providerID: 'kup://n2' } }),
      'Node "n1" is invalid: spec.providerID: Forbidden: node updates may not change providerID except from "" to valid',
    );
    patch('Node', 'n1', { spec: { unschedulable: true } });
  });

  it("refuses a Service's new cluster IP, and keeps the allocated one when an update leaves it out", () => {
    const svc = create('Service', {
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    const ip = svc.spec?.['clusterIP'];
    assert.match(
      refusedPatch('Service', 'web', { spec: { clusterIP: '10.96.9.9', clusterIPs: ['10.96.9.9'] } }),
      /spec\.clusterIPs\[0\]: Invalid value: \["10\.96\.9\.9"\]: may not change once set/,
    );
    const { clusterIP: _c, clusterIPs: _cs, ...rest } = svc.spec ?? {};
    const replaced = rt.registry.update(kindDef('Service'), 'default', 'web', {
      ...svc,
      spec: { ...rest, ports: [{ port: 8080 }] },
    });
    assert.equal(replaced.spec?.['clusterIP'], ip);
  });

  it('refuses a claim spec change, and lets a bound claim grow but never shrink', () => {
    create('PersistentVolumeClaim', {
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    assert.match(
      refusedPatch('PersistentVolumeClaim', 'data', { spec: { resources: { requests: { storage: '2Gi' } } } }),
      /spec: Forbidden: spec is immutable after creation except resources\.requests and volumeAttributesClassName for bound claims/,
    );
    rt.registry.patch(
      kindDef('PersistentVolumeClaim'),
      'default',
      'data',
      'merge',
      { status: { phase: 'Bound' } },
      { subresource: 'status' },
    );
    patch('PersistentVolumeClaim', 'data', { spec: { resources: { requests: { storage: '2Gi' } } } });
    assert.match(
      refusedPatch('PersistentVolumeClaim', 'data', { spec: { resources: { requests: { storage: '1Gi' } } } }),
      /spec\.resources\.requests\.storage: Forbidden: field can not be less than previous value/,
    );
  });

  it('refuses changes to the data of an immutable ConfigMap or Secret', () => {
    create('ConfigMap', { metadata: { name: 'cfg' }, immutable: true, data: { a: '1' } });
    assert.equal(
      refusedPatch('ConfigMap', 'cfg', { data: { a: '2' } }),
      'ConfigMap "cfg" is invalid: data: Forbidden: field is immutable when `immutable` is set',
    );
    assert.match(
      refusedPatch('ConfigMap', 'cfg', { immutable: false }),
      /immutable: Forbidden: field is immutable when `immutable` is set/,
    );
    patch('ConfigMap', 'cfg', { metadata: { labels: { team: 'a' } } });
    create('Secret', { metadata: { name: 's' }, immutable: true, data: { a: 'eA==' } });
    assert.match(
      refusedPatch('Secret', 's', { data: { a: 'eQ==' } }),
      /data: Forbidden: field is immutable when `immutable` is set/,
    );
    assert.match(
      refusedPatch('Secret', 's', { type: 'kubernetes.io/tls' }),
      /type: Invalid value: "kubernetes\.io\/tls": field is immutable/,
    );
  });
});
