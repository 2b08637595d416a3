/**
 * The real kubectl at the dispatcher's picks (1.29, 1.31, 1.33) writing to kube-sim the ways operators do: the
 * scale subresource, server-side apply with field managers and conflicts, deprecated APIs (the `Warning:` kubectl
 * prints), `auth can-i` and `auth whoami`, and the per-namespace defaults controllers create. Each test reads the
 * cluster back through the API, not only kubectl's output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { Kubectl } from '../helpers/kubectl.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

const scenario = (version: string) => `
name: writes-${version.replace(/\./g, '-')}
kubernetesVersion: ${version}
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 1
workloads:
  - kind: Deployment
    name: web
    replicas: 2
timings:
  podStart: 50
  podTermination: 50
  nodeBoot: 50
`;

interface Workload {
  metadata: { resourceVersion: string; managedFields?: { manager: string; operation: string; fieldsV1?: unknown }[] };
  spec: { replicas: number };
  status?: { replicas?: number; readyReplicas?: number };
}

async function deployment(cluster: SimCluster, name: string): Promise<Workload> {
  const res = await api(cluster, 'GET', `/apis/apps/v1/namespaces/default/deployments/${name}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as Workload;
}

for (const version of ['1.29.10', '1.31.4', '1.33.1']) {
  const minor = Number(version.split('.')[1]);
  describe(`kubectl 1.${minor} writes to a ${version} kube-sim cluster`, () => {
    let cluster: SimCluster;
    let kubectl: Kubectl;

    before(async () => {
      cluster = await startFromYaml(scenario(version));
      kubectl = kubectlFor(cluster.kubeconfig);
      await waitFor(async () => ((await deployment(cluster, 'web')).status?.readyReplicas === 2 ? true : undefined), {
        message: 'web Ready',
        timeoutMs: 20_000,
      });
    });
    after(async () => cluster?.stop());

    it('scale deploy/web --replicas=3 goes through the autoscaling/v1 Scale subresource', async () => {
      assert.match(await ok(kubectl(['scale', 'deploy/web', '--replicas=3'])), /deployment\.apps\/web scaled/);
      assert.equal((await deployment(cluster, 'web')).spec.replicas, 3);
      const scale = await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/web/scale');
      assert.equal(scale.status, 200);
      const body = scale.body as {
        kind: string;
        apiVersion: string;
        spec: { replicas: number };
        status: { selector: string };
      };
      assert.equal(body.kind, 'Scale');
      assert.equal(body.apiVersion, 'autoscaling/v1');
      assert.equal(body.spec.replicas, 3);
      assert.equal(body.status.selector, 'app=web');
      await waitFor(async () => ((await deployment(cluster, 'web')).status?.readyReplicas === 3 ? true : undefined), {
        message: 'web at 3 Ready replicas',
        timeoutMs: 20_000,
      });
      // --current-replicas is a precondition kubectl checks against the Scale.
      const stale = await kubectl(['scale', 'deploy/web', '--current-replicas=5', '--replicas=1']);
      assert.notEqual(stale.code, 0);
      assert.match(stale.stderr, /Expected replicas to be 5, was 3/);
      assert.match(await ok(kubectl(['scale', 'deploy/web', '--current-replicas=3', '--replicas=2'])), /scaled/);
      assert.equal((await deployment(cluster, 'web')).spec.replicas, 2);
      const negative = await api(
        cluster,
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/web/scale',
        { spec: { replicas: -1 } },
        {
          'Content-Type': 'application/merge-patch+json',
        },
      );
      assert.equal(negative.status, 422);
      assert.match(
        (negative.body as { message: string }).message,
        /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/,
      );
    });

    it("a deprecated API answers with the apiserver's Warning, which kubectl prints", async () => {
      if (minor < 32) {
        const r = await kubectl(['get', 'flowschemas.v1beta3.flowcontrol.apiserver.k8s.io']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stderr,
          /Warning: flowcontrol\.apiserver\.k8s\.io\/v1beta3 FlowSchema is deprecated in v1\.29\+, unavailable in v1\.32\+; use flowcontrol\.apiserver\.k8s\.io\/v1 FlowSchema/,
        );
        const raw = await api(cluster, 'GET', '/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas');
        assert.match(
          String(raw.headers['warning']),
          /^299 - "flowcontrol\.apiserver\.k8s\.io\/v1beta3 FlowSchema is deprecated/,
        );
      } else {
        // 1.32 removed the last deprecated version kube-sim serves: the served ones answer without a warning.
        assert.equal((await api(cluster, 'GET', '/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas')).status, 404);
      }
      const current = await kubectl(['get', 'flowschemas.v1.flowcontrol.apiserver.k8s.io']);
      assert.equal(current.code, 0, current.stderr);
      assert.doesNotMatch(current.stderr, /Warning/);
    });

    // kubectl 1.32+ sends the reviews as protobuf; the JSON answers are checked at every minor too.
    it('the review resources answer for the admin token over JSON, and are create-only', async () => {
      const access = await api(cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'delete', resource: 'nodes' } },
      });
      assert.equal(access.status, 201);
      assert.deepEqual((access.body as { status: unknown }).status, { allowed: true });
      const who = await api(cluster, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      });
      assert.equal(who.status, 201);
      assert.deepEqual((who.body as { status: unknown }).status, {
        userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      });
      const discovery = await api(cluster, 'GET', '/apis/authorization.k8s.io/v1');
      const names = (discovery.body as { resources: { name: string; verbs: string[] }[] }).resources;
      assert.deepEqual(names.find((r) => r.name === 'selfsubjectaccessreviews')?.verbs, ['create']);
      assert.equal((await api(cluster, 'GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status, 405);
    });

    it(
      'auth can-i answers yes for the admin token, and --list lists every verb on everything',
      async () => {
        assert.equal((await ok(kubectl(['auth', 'can-i', 'delete', 'nodes']))).trim(), 'yes');
        assert.equal(
          (await ok(kubectl(['auth', 'can-i', 'create', 'pods/eviction', '-n', 'kube-system']))).trim(),
          'yes',
        );
        const list = await ok(kubectl(['auth', 'can-i', '--list']));
        assert.match(list, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
        assert.match(list, /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
        const review = await api(cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {},
        });
        assert.equal(review.status, 422);
      },
    );

    it(
      'auth whoami names the admin and its groups',
      async () => {
        const out = await ok(kubectl(['auth', 'whoami']));
        assert.match(out, /Username\s+kubernetes-admin/);
        assert.match(out, /Groups\s+\[system:masters system:authenticated\]/);
      },
    );

    it('every namespace gets the default ServiceAccount and kube-root-ca.crt, recreated when deleted', async () => {
      const ns = `team-${minor}`;
      // Created over JSON: kubectl 1.32+ would send protobuf, which is another part of issue 15.
      assert.equal(
        (
          await api(cluster, 'POST', '/api/v1/namespaces', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns },
          })
        ).status,
        201,
      );
      const sa = async () =>
        (await api(cluster, 'GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200;
      const cm = async () => {
        const res = await api(cluster, 'GET', `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`);
        return res.status === 200 ? (res.body as { data: Record<string, string> }).data : undefined;
      };
      await waitFor(async () => ((await sa()) && (await cm()) ? true : undefined), {
        message: 'namespace defaults',
        timeoutMs: 10_000,
      });
      assert.deepEqual(await cm(), { 'ca.crt': cluster.caCertPem });
      assert.match(await ok(kubectl(['get', 'serviceaccounts', '-n', ns])), /^default\s+0\s/m);
      for (const system of ['default', 'kube-system']) {
        assert.match(
          await ok(kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', system, '-o', 'name'])),
          /configmap\/kube-root-ca\.crt/,
        );
      }
      await ok(kubectl(['delete', 'serviceaccount', 'default', '-n', ns]));
      await ok(kubectl(['delete', 'configmap', 'kube-root-ca.crt', '-n', ns]));
      await waitFor(async () => ((await sa()) && (await cm()) ? true : undefined), {
        message: 'namespace defaults recreated',
        timeoutMs: 10_000,
      });
      // An edit of the published CA is put back.
      await ok(
        kubectl([
          'patch',
          'configmap',
          'kube-root-ca.crt',
          '-n',
          ns,
          '--type=merge',
          '-p',
          '{"data":{"ca.crt":"forged"}}',
        ]),
      );
      await waitFor(async () => ((await cm())?.['ca.crt'] === cluster.caCertPem ? true : undefined), {
        message: 'CA put back',
        timeoutMs: 10_000,
      });
      const pod = await api(cluster, 'POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'runner' },
        spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] },
      });
      assert.equal(pod.status, 201);
      assert.equal((pod.body as { spec: { serviceAccountName: string } }).spec.serviceAccountName, 'default');
    });

    it('apply --server-side creates, records managedFields, answers conflicts, and --force-conflicts takes over', async () => {
      const manifest = (replicas: number, labels: Record<string, string>) =>
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'api', namespace: 'default', labels },
          spec: {
            replicas,
            selector: { matchLabels: { app: 'api' } },
            template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'server', image: 'nginx:1.27' }] } },
          },
        });
      const created = await kubectl(['apply', '--server-side', '-f', '-'], { input: manifest(2, { app: 'api', tier: 'backend' }) });
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /deployment\.apps\/api serverside-applied/);
      let live = await deployment(cluster, 'api');
      assert.equal(live.spec.replicas, 2);
      const applied = live.metadata.managedFields?.find((m) => m.manager === 'kubectl' && m.operation === 'Apply');
      assert.ok(applied, JSON.stringify(live.metadata.managedFields));
      const fields = applied.fieldsV1 as Record<string, Record<string, Record<string, unknown>>>;
      assert.deepEqual(fields['f:metadata']?.['f:labels'], { 'f:app': {}, 'f:tier': {} });
      assert.deepEqual(fields['f:spec']?.['f:replicas'], {});
      assert.deepEqual(fields['f:spec']?.['f:selector'], {});
      const template = fields['f:spec']?.['f:template'] as { 'f:spec': { 'f:containers': Record<string, unknown> } };
      assert.deepEqual(template['f:spec']['f:containers']['k:{"name":"server"}'], { '.': {}, 'f:image': {}, 'f:name': {} });
      const yaml = await ok(kubectl(['get', 'deploy', 'api', '-o', 'yaml', '--show-managed-fields']));
      assert.match(yaml, /managedFields:\n\s+- apiVersion: apps\/v1\n\s+fieldsType: FieldsV1/);
      assert.match(yaml, /manager: kubectl\n\s+operation: Apply/);

      // Another writer takes spec.replicas with an update: it owns it now.
      await ok(kubectl(['patch', 'deploy', 'api', '--type=merge', '-p', '{"spec":{"replicas":4}}', '--field-manager=autoscaler']));
      live = await deployment(cluster, 'api');
      assert.ok(live.metadata.managedFields?.some((m) => m.manager === 'autoscaler' && m.operation === 'Update'));
      const conflict = await kubectl(['apply', '--server-side', '-f', '-'], { input: manifest(3, { app: 'api', tier: 'backend' }) });
      assert.notEqual(conflict.code, 0);
      assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "autoscaler" using apps\/v1: \.spec\.replicas/);
      assert.equal((await deployment(cluster, 'api')).spec.replicas, 4);
      const raw = await api(cluster, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/api?fieldManager=kubectl', manifest(3, { app: 'api' }), {
        'Content-Type': 'application/apply-patch+yaml',
      });
      assert.equal(raw.status, 409);
      assert.deepEqual((raw.body as { details: { causes: unknown[] } }).details.causes, [
        { reason: 'FieldManagerConflict', message: 'conflict with "autoscaler" using apps/v1', field: '.spec.replicas' },
      ]);

      // Forced, and without the tier label: the apply takes replicas back and drops the label no one else owns.
      const forced = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: manifest(3, { app: 'api' }) });
      assert.equal(forced.code, 0, forced.stderr);
      live = await deployment(cluster, 'api');
      assert.equal(live.spec.replicas, 3);
      assert.deepEqual((live.metadata as { labels?: unknown }).labels, { app: 'api' });
      assert.ok(!live.metadata.managedFields?.some((m) => m.manager === 'autoscaler'), 'the autoscaler lost its only field');
      assert.equal((await api(cluster, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/api', manifest(3, {}), { 'Content-Type': 'application/apply-patch+yaml' })).status, 400);
    });
  });
}
