import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { createTestRuntime } from '../testing/runtime.ts';
import { defaultPullPolicy } from './defaults.ts';
import { Registry } from './registry.ts';

let rt: TestRuntime | undefined;
afterEach(() => rt?.stop());

/** Creates `body` on a fresh cluster at 1.`minor` and returns what was stored. */
function created(kind: string, body: Record<string, unknown>, minor = 33): KubeObject {
  rt?.stop();
  rt = createTestRuntime({ minor });
  rt.registry.create(kindDef('Namespace'), undefined, { metadata: { name: 'default' } });
  return rt.registry.create(kindDef(kind), 'default', body);
}

const template = (container: Record<string, unknown> = {}, labels: Record<string, string> = { app: 'web' }) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27', ...container }] },
});

describe('defaults the API server sets', () => {
  it('fills a container: pull policy, termination message, port protocol, probe timings', () => {
    const pod = created('Pod', {
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'nginx',
            ports: [{ containerPort: 80 }],
            livenessProbe: { httpGet: { port: 80 } },
            readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
            resources: { limits: { cpu: '1' } },
          },
        ],
        volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'cfg' } }],
      },
    });
    const spec = pod.spec ?? {};
    const [c] = spec['containers'] as Record<string, unknown>[];
    assert.equal(c?.['imagePullPolicy'], 'Always');
    assert.equal(c?.['terminationMessagePath'], '/dev/termination-log');
    assert.equal(c?.['terminationMessagePolicy'], 'File');
    assert.deepEqual(c?.['ports'], [{ protocol: 'TCP', containerPort: 80 }]);
    assert.deepEqual(c?.['livenessProbe'], {
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
      httpGet: { path: '/', scheme: 'HTTP', port: 80 },
    });
    assert.equal((c?.['readinessProbe'] as Record<string, unknown>)['periodSeconds'], 5);
    assert.deepEqual(c?.['resources'], { limits: { cpu: '1' }, requests: { cpu: '1' } });
    assert.deepEqual(spec['volumes'], [
      { name: 'scratch', emptyDir: {} },
      { name: 'cfg', configMap: { defaultMode: 420, name: 'cfg' } },
    ]);
    for (const [field, value] of Object.entries({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
    })) {
      assert.equal(spec[field], value, field);
    }
    assert.deepEqual(spec['securityContext'], {});
  });

  it('pulls Always for :latest or no tag, IfNotPresent for a tag or a digest', () => {
    assert.equal(defaultPullPolicy('nginx'), 'Always');
    assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
    assert.equal(defaultPullPolicy('registry:5000/team/nginx'), 'Always');
    assert.equal(defaultPullPolicy('registry:5000/team/nginx:1.27'), 'IfNotPresent');
    assert.equal(defaultPullPolicy('nginx@sha256:abc'), 'IfNotPresent');
  });

  it('gives a Deployment its strategy, history and deadline, and its template the pod spec defaults', () => {
    const d = created('Deployment', {
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
    });
    assert.equal(d.spec?.['replicas'], 1);
    assert.equal(d.spec?.['revisionHistoryLimit'], 10);
    assert.equal(d.spec?.['progressDeadlineSeconds'], 600);
    assert.deepEqual(d.spec?.['strategy'], {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
    });
    const podSpec = (d.spec?.['template'] as { spec: Record<string, unknown> }).spec;
    assert.equal(podSpec['restartPolicy'], 'Always');
    assert.equal(podSpec['enableServiceLinks'], undefined, 'a pod default, not a template one');
    const partial = created('Deployment', {
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: template(),
        strategy: { rollingUpdate: { maxSurge: 1 } },
      },
    });
    assert.deepEqual(partial.spec?.['strategy'], {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 },
    });
  });

  it('gives a StatefulSet its policies, with the PVC retention policy from 1.27', () => {
    const body = {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'web' } },
        template: template(),
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    };
    const sts = created('StatefulSet', body, 27);
    assert.equal(sts.spec?.['podManagementPolicy'], 'OrderedReady');
    assert.deepEqual(sts.spec?.['updateStrategy'], { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.deepEqual(sts.spec?.['persistentVolumeClaimRetentionPolicy'], {
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    assert.equal(
      (sts.spec?.['volumeClaimTemplates'] as { spec: Record<string, unknown> }[])[0]?.spec['volumeMode'],
      'Filesystem',
    );
    assert.equal(created('StatefulSet', body, 26).spec?.['persistentVolumeClaimRetentionPolicy'], undefined);
  });

  it('gives a DaemonSet a rolling update of one at a time without surge', () => {
    const ds = created('DaemonSet', {
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
    });
    assert.deepEqual(ds.spec?.['updateStrategy'], {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    assert.equal(ds.spec?.['revisionHistoryLimit'], 10);
  });

  it('gives a Job its counts and a selector on its own uid, with the labels of the minor', () => {
    const body = {
      metadata: { name: 'pi' },
      spec: {
        template: {
          metadata: { labels: { app: 'pi' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5' }] },
        },
      },
    };
    const job = created('Job', body, 29);
    const uid = job.metadata.uid;
    const spec = job.spec ?? {};
    for (const [field, value] of Object.entries({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
    })) {
      assert.equal(spec[field], value, field);
    }
    assert.deepEqual(spec['selector'], { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    const labels = {
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': uid,
      'job-name': 'pi',
      app: 'pi',
    };
    assert.deepEqual((spec['template'] as { metadata: { labels: unknown } }).metadata.labels, labels);
    assert.deepEqual(job.metadata.labels, labels, 'a Job without labels takes its template labels');

    const old = created('Job', body, 26);
    assert.deepEqual(old.spec?.['selector'], { matchLabels: { 'controller-uid': old.metadata.uid } });
    assert.equal(old.spec?.['podReplacementPolicy'], undefined);

    const manual = created('Job', {
      metadata: { name: 'm' },
      spec: {
        manualSelector: true,
        selector: { matchLabels: { app: 'pi' } },
        parallelism: 3,
        template: body.spec.template,
      },
    });
    assert.deepEqual(manual.spec?.['selector'], { matchLabels: { app: 'pi' } });
    assert.equal(manual.spec?.['completions'], undefined, 'parallelism alone leaves completions unset (a work queue)');
  });

  it('gives a CronJob its policies and history limits', () => {
    const cj = created('CronJob', {
      metadata: { name: 'c' },
      spec: {
        schedule: '*/5 * * * *',
        jobTemplate: {
          spec: {
            template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox:1.36' }] } },
          },
        },
      },
    });
    for (const [field, value] of Object.entries({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    })) {
      assert.equal(cj.spec?.[field], value, field);
    }
  });

  it('gives a Service a cluster IP, its families, and each port a protocol and target port', () => {
    const svc = created('Service', {
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    const spec = svc.spec ?? {};
    assert.match(String(spec['clusterIP']), /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    assert.deepEqual(spec['clusterIPs'], [spec['clusterIP']]);
    assert.deepEqual(spec['ipFamilies'], ['IPv4']);
    assert.equal(spec['ipFamilyPolicy'], 'SingleStack');
    assert.equal(spec['type'], 'ClusterIP');
    assert.equal(spec['sessionAffinity'], 'None');
    assert.equal(spec['internalTrafficPolicy'], 'Cluster');
    assert.deepEqual(spec['ports'], [{ protocol: 'TCP', port: 80, targetPort: 80 }]);

    const second = rt?.registry.create(kindDef('Service'), 'default', {
      metadata: { name: 'api' },
      spec: { type: 'NodePort', ports: [{ port: 80 }] },
    });
    assert.notEqual(second?.spec?.['clusterIP'], spec['clusterIP'], 'each Service its own IP');
    const [port] = second?.spec?.['ports'] as Record<string, unknown>[];
    assert.ok(Number(port?.['nodePort']) >= 30000 && Number(port?.['nodePort']) <= 32767);
    assert.equal(second?.spec?.['externalTrafficPolicy'], 'Cluster');
    assert.throws(
      () =>
        rt?.registry.create(kindDef('Service'), 'default', {
          metadata: { name: 'dup' },
          spec: { clusterIP: String(spec['clusterIP']), ports: [{ port: 80 }] },
        }),
      /spec\.clusterIPs: Invalid value: \[".*"\]: failed to allocate IP .*: provided IP is already allocated/,
    );
    const headless = rt?.registry.create(kindDef('Service'), 'default', {
      metadata: { name: 'db' },
      spec: { clusterIP: 'None', selector: { app: 'db' } },
    });
    assert.deepEqual(headless?.spec?.['clusterIPs'], ['None']);
  });

  it('gives a claim a Filesystem volume mode and a Secret the Opaque type', () => {
    const pvc = created('PersistentVolumeClaim', {
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    assert.equal(pvc.spec?.['volumeMode'], 'Filesystem');
    assert.equal(pvc.status?.['phase'], 'Pending');
    const secret = rt?.registry.create(kindDef('Secret'), 'default', { metadata: { name: 's' }, data: { a: 'eA==' } });
    assert.equal((secret as unknown as Record<string, unknown>)['type'], 'Opaque');
  });

  it('defaults an update too: a replace without the defaults stores them, and changes no generation', () => {
    const d = created('Deployment', {
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
    });
    const replaced = rt?.registry.update(kindDef('Deployment'), 'default', 'web', {
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
    });
    assert.deepEqual(replaced?.spec, d.spec);
    assert.equal(replaced?.metadata.generation, 1);
  });

  it('takes a default a newer minor adds, after an upgrade, as no change of spec', () => {
    rt?.stop();
    rt = createTestRuntime();
    let minor = 26;
    const registry = new Registry(
      rt.store,
      () => Date.now(),
      () => minor,
    );
    registry.create(kindDef('Namespace'), undefined, { metadata: { name: 'default' } });
    const body = {
      metadata: { name: 'db' },
      spec: { serviceName: 'db', selector: { matchLabels: { app: 'web' } }, template: template() },
    };
    const sts = registry.create(kindDef('StatefulSet'), 'default', body);
    assert.equal(sts.spec?.['persistentVolumeClaimRetentionPolicy'], undefined);
    minor = 27;
    const labelled = registry.update(kindDef('StatefulSet'), 'default', 'db', {
      ...sts,
      metadata: { ...sts.metadata, labels: { team: 'a' } },
    });
    assert.deepEqual(labelled.spec?.['persistentVolumeClaimRetentionPolicy'], {
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    assert.equal(labelled.metadata.generation, 1);
  });
});
