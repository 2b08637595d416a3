import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../model/wire.ts';
import { kindDef } from '../runtime.ts';
import type { TestRuntime } from '../testing/runtime.ts';
import { createTestRuntime } from '../testing/runtime.ts';
import { StatusError } from './status.ts';
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

describe('validateObject: per kind, as the API server words it', () => {
  let rt: TestRuntime;
  before(() => {
    rt = createTestRuntime();
    rt.registry.create(kindDef('Namespace'), undefined, { metadata: { name: 'default' } });
  });
  after(() => rt.stop());

  /** The message of the 422 a create gets, after defaulting (as the real server orders them). */
  function refusal(kind: string, body: Record<string, unknown>): { message: string; causes: unknown } {
    try {
      rt.registry.create(kindDef(kind), 'default', body, { dryRun: true });
    } catch (err) {
      assert.ok(err instanceof StatusError, String(err));
      assert.equal(err.code, 422);
      assert.equal(err.reason, 'Invalid');
      return { message: err.message, causes: err.details?.causes };
    }
    assert.fail(`${kind} was accepted`);
  }

  const podSpec = (container: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    containers: [{ name: 'app', image: 'nginx:1.27', ...container }],
    ...extra,
  });
  const deployment = (spec: Record<string, unknown> = {}, template: Record<string, unknown> = podSpec()) => ({
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: template }, ...spec },
  });

  it('refuses negative replicas with the cause kubectl prints', () => {
    const { message, causes } = refusal('Deployment', deployment({ replicas: -1 }));
    assert.equal(message, 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    assert.deepEqual(causes, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }]);
  });

  it('refuses requests above limits, naming the resource and the limit', () => {
    const { message } = refusal('Deployment', deployment({}, podSpec({ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } })));
    assert.equal(
      message,
      'Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    );
    // 1500m is 1.5 CPU: a quantity compares by value, not by text.
    refusalFree('Deployment', deployment({}, podSpec({ resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1024Mi' } } })));
  });

  it('refuses enums outside their values with FieldValueNotSupported', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['Deployment', deployment({}, podSpec({ imagePullPolicy: 'Sometimes' })), 'spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'],
      ['Deployment', deployment({}, podSpec({ ports: [{ containerPort: 80, protocol: 'HTTP' }] })), 'spec.template.spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
      ['Deployment', deployment({}, podSpec({}, { restartPolicy: 'Never' })), 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
      ['Deployment', deployment({}, podSpec({}, { dnsPolicy: 'Google' })), 'spec.template.spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"'],
      ['Deployment', deployment({ strategy: { type: 'BlueGreen' } }), 'spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'],
      ['Pod', { metadata: { name: 'p' }, spec: podSpec({}, { restartPolicy: 'Sometimes' }) }, 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
      ['Service', { metadata: { name: 'web' }, spec: { type: 'Internal', ports: [{ port: 80 }] } }, 'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
      ['PodDisruptionBudget', { metadata: { name: 'web' }, spec: { minAvailable: 1, unhealthyPodEvictionPolicy: 'Never' } }, 'spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"'],
      ['CronJob', { metadata: { name: 'c' }, spec: { schedule: '* * * * *', concurrencyPolicy: 'Queue', jobTemplate: { spec: { template: { spec: podSpec({}, { restartPolicy: 'Never' }) } } } } }, 'spec.concurrencyPolicy: Unsupported value: "Queue": supported values: "Allow", "Forbid", "Replace"'],
    ];
    for (const [kind, body, cause] of cases) {
      const { message, causes } = refusal(kind, body);
      assert.ok(message.endsWith(`is invalid: ${cause}`), message);
      assert.equal((causes as { reason: string }[])[0]?.reason, 'FieldValueNotSupported');
    }
  });

  it('refuses what a pod spec must have or may not repeat', () => {
    const { message } = refusal('Pod', { metadata: { name: 'p' }, spec: { containers: [] } });
    assert.equal(message, 'Pod "p" is invalid: spec.containers: Required value');
    const dup = refusal('Pod', { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 0 }, { containerPort: 70000 }] }, { name: 'a', image: '' }] } });
    assert.equal(
      dup.message,
      'Pod "p" is invalid: [spec.containers[0].ports[0].containerPort: Required value, spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.containers[1].name: Duplicate value: "a", spec.containers[1].image: Required value]',
    );
    const probe = refusal('Pod', { metadata: { name: 'p' }, spec: podSpec({ livenessProbe: { httpGet: { port: 8080 }, successThreshold: 2 }, readinessProbe: { periodSeconds: 5 } }) });
    assert.equal(
      probe.message,
      'Pod "p" is invalid: [spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1, spec.containers[0].readinessProbe: Required value: must specify a handler type]',
    );
    const mount = refusal('Pod', { metadata: { name: 'p' }, spec: podSpec({ volumeMounts: [{ name: 'data', mountPath: '/data' }] }) });
    assert.equal(mount.message, 'Pod "p" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "data"');
    const toleration = refusal('Pod', { metadata: { name: 'p' }, spec: podSpec({}, { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }) });
    assert.equal(toleration.message, 'Pod "p" is invalid: spec.tolerations[0].operator: Invalid value: "v": value must be empty when `operator` is \'Exists\'');
  });

  it('refuses names and labels that are not the DNS or label syntax', () => {
    assert.match(refusal('Deployment', { ...deployment(), metadata: { name: 'Web' } }).message, /^Deployment\.apps "Web" is invalid: metadata\.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of/);
    assert.match(refusal('Service', { metadata: { name: '1web' }, spec: { ports: [{ port: 80 }] } }).message, /metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/);
    assert.match(refusal('Deployment', { ...deployment(), metadata: { name: 'web', labels: { app: 'a b' } } }).message, /metadata\.labels: Invalid value: "a b": a valid label must be an empty string/);
    assert.match(refusal('Pod', { metadata: { name: 'p' }, spec: podSpec({ name: 'App_1' }) }).message, /spec\.containers\[0\]\.name: Invalid value: "App_1": a lowercase RFC 1123 label/);
    assert.match(refusal('CronJob', { metadata: { name: 'c'.repeat(53) }, spec: { schedule: '@hourly', jobTemplate: { spec: { template: { spec: podSpec({}, { restartPolicy: 'Never' }) } } } } }).message, /metadata\.name: Invalid value: "c+": must be no more than 52 characters/);
  });

  it('refuses workload specs the controllers could not follow', () => {
    assert.match(refusal('Deployment', deployment({ selector: { matchLabels: { app: 'api' } } })).message, /spec\.template\.metadata\.labels: Invalid value: \{"app":"web"\}: `selector` does not match template `labels`/);
    assert.match(refusal('Deployment', deployment({ selector: {} })).message, /spec\.selector: Invalid value: \{\}: empty selector is invalid for deployment/);
    assert.match(refusal('Deployment', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } })).message, /spec\.strategy\.rollingUpdate\.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0/);
    assert.match(refusal('Deployment', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '150%' } } })).message, /spec\.strategy\.rollingUpdate\.maxSurge: Invalid value: "150%": must not be greater than 100%/);
    assert.match(refusal('Deployment', deployment({ minReadySeconds: 30, progressDeadlineSeconds: 10 })).message, /spec\.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds/);
    assert.match(refusal('StatefulSet', { ...deployment({ podManagementPolicy: 'Random' }), metadata: { name: 'db' } }).message, /spec\.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'/);
    assert.match(
      refusal('StatefulSet', { ...deployment({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }] }), metadata: { name: 'db' } }).message,
      /spec\.volumeClaimTemplates\[0\]\.spec\.accessModes: Required value: at least 1 access mode is required/,
    );
    assert.match(refusal('DaemonSet', { ...deployment({ updateStrategy: { type: 'Rolling' } }), metadata: { name: 'agent' } }).message, /spec\.updateStrategy\.type: Unsupported value: "Rolling": supported values: "OnDelete", "RollingUpdate"/);
  });

  it('refuses a Job whose pods would restart Always, as an unset restartPolicy defaults to', () => {
    const { message } = refusal('Job', { metadata: { name: 'pi' }, spec: { template: { spec: podSpec() } } });
    assert.equal(message, 'Job.batch "pi" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"');
    assert.match(refusal('Job', { metadata: { name: 'pi' }, spec: { backoffLimit: -1, parallelism: 2, completionMode: 'Indexed', template: { spec: podSpec({}, { restartPolicy: 'Never' }) } } }).message, /spec\.backoffLimit: Invalid value: -1: must be greater than or equal to 0.*spec\.completions: Required value: when completion mode is Indexed/);
    assert.match(refusal('CronJob', { metadata: { name: 'c' }, spec: { schedule: 'every minute', jobTemplate: { spec: { template: { spec: podSpec({}, { restartPolicy: 'Never' }) } } } } }).message, /spec\.schedule: Invalid value: "every minute": Expected exactly 5 fields, found 2: every minute/);
  });

  it('refuses Services, claims, config and nodes the API server would', () => {
    assert.match(refusal('Service', { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }, { port: 443 }] } }).message, /spec\.ports\[0\]\.name: Required value, spec\.ports\[1\]\.name: Required value/);
    assert.match(refusal('Service', { metadata: { name: 'web' }, spec: {} }).message, /spec\.ports: Required value/);
    assert.match(refusal('Service', { metadata: { name: 'web' }, spec: { ports: [{ port: 80, nodePort: 30001 }] } }).message, /spec\.ports\[0\]\.nodePort: Forbidden: may not be used when `type` is 'ClusterIP'/);
    assert.match(refusal('PersistentVolumeClaim', { metadata: { name: 'data' }, spec: { resources: { requests: {} } } }).message, /spec\.accessModes: Required value: at least 1 access mode is required, spec\.resources\[storage\]: Required value/);
    assert.match(refusal('PersistentVolumeClaim', { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteSometimes'], resources: { requests: { storage: '1Gi' } } } }).message, /spec\.accessModes: Unsupported value: "ReadWriteSometimes"/);
    assert.match(refusal('ConfigMap', { metadata: { name: 'cfg' }, data: { 'a/b': 'x' } }).message, /data\[a\/b\]: Invalid value: "a\/b": a valid config key must consist of alphanumeric characters/);
    assert.match(refusal('Secret', { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } }).message, /data\[tls\.key\]: Required value/);
    const node = rt.registry.create.bind(rt.registry);
    assert.throws(() => node(kindDef('Node'), undefined, { metadata: { name: 'n1' }, spec: { taints: [{ key: 'k', effect: 'Sometimes' }], podCIDRs: ['10.0.0.0/33'] } }), /spec\.taints\[0\]\.effect: Unsupported value: "Sometimes".*spec\.podCIDRs\[0\]: Invalid value: "10\.0\.0\.0\/33": must be a valid CIDR value/);
    assert.match(refusal('HorizontalPodAutoscaler', { metadata: { name: 'web' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 5, maxReplicas: 2 } }).message, /spec\.minReplicas: Invalid value: 5: must be less than or equal to maxReplicas/);
  });

  /** Asserts the create is accepted. */
  function refusalFree(kind: string, body: Record<string, unknown>): void {
    rt.registry.create(kindDef(kind), 'default', body, { dryRun: true });
  }
});
