/**
 * What users write with the real kubectl: `create` (kubectl 1.32+ sends protobuf bodies), a Job waited on with `wait
 * --for=condition=complete`, `apply -f` with validation on, `patch` (strategic and merge), `edit`, `explain`, and
 * `--validate=strict|warn` against unknown fields. One cluster per minor; the kubectl on the
 * PATH dispatches to a binary of the server's minor. Every check reads the result back through the API.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { Kubectl } from '../helpers/kubectl.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { api, bodyCount, startFromYaml } from '../helpers/sim.ts';

function scenario(version: string): string {
  return `
name: writes-${version.replace(/\./g, '-')}
kubernetesVersion: ${version}
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 1
`;
}

interface WireDeployment {
  spec: {
    replicas: number;
    template: { spec: { containers: { name: string; image: string; env?: { name: string; value: string }[] }[] } };
    [field: string]: unknown;
  };
}

function manifest(options: { replicas: number; value: string; side: boolean; extra?: string }): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: ${options.replicas}
${options.extra ?? ''}  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: main
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env: [{name: A, value: "${options.value}"}]
${options.side ? '      - name: side\n        image: busybox\n' : ''}`;
}

for (const version of ['1.29.10', '1.31.4', '1.33.1']) {
  const minor = version.split('.').slice(0, 2).join('.');
  describe(`kubectl ${minor} writes to a ${version} kube-sim cluster`, () => {
    let cluster: SimCluster;
    let kubectl: Kubectl;
    const dir = mkdtempSync(join(tmpdir(), 'kup-writes-'));

    const deployment = async (): Promise<WireDeployment> => {
      const res = await api(cluster, 'GET', '/apis/apps/v1/namespaces/shop/deployments/api');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as WireDeployment;
    };

    before(async () => {
      cluster = await startFromYaml(scenario(version));
      kubectl = kubectlFor(cluster.kubeconfig);
    });
    after(async () => cluster?.stop());

    it('create namespace, deployment, configmap and job', async () => {
      await ok(kubectl(['create', 'namespace', 'shop']));
      await ok(kubectl(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2', '-n', 'shop']));
      // -v=8 logs the request headers: kubectl 1.32+ writes protobuf, older ones JSON.
      const verbose = await kubectl([
        'create',
        'configmap',
        'settings',
        '--from-literal=mode=fast',
        '-n',
        'shop',
        '-v=8',
      ]);
      assert.equal(verbose.code, 0, verbose.stderr);
      const post = verbose.stderr.search(/(POST |verb="POST" url=")\S*\/configmaps/);
      assert.ok(post >= 0, verbose.stderr);
      const sent = /Content-Type: (\S+)/.exec(verbose.stderr.slice(post))?.[1];
      assert.equal(
        sent,
        Number(minor.split('.')[1]) >= 32 ? 'application/vnd.kubernetes.protobuf' : 'application/json',
      );
      await ok(kubectl(['create', 'job', 'once', '--image=busybox', '-n', 'shop', '--', 'true']));
      assert.equal((await api(cluster, 'GET', '/api/v1/namespaces/shop')).status, 200);
      const web = (await api(cluster, 'GET', '/apis/apps/v1/namespaces/shop/deployments/web')).body as WireDeployment;
      assert.equal(web.spec.replicas, 2);
      assert.deepEqual(
        web.spec.template.spec.containers.map((c) => [c.name, c.image]),
        [['nginx', 'nginx:1.27']],
      );
      const settings = (await api(cluster, 'GET', '/api/v1/namespaces/shop/configmaps/settings')).body as {
        data: unknown;
      };
      assert.deepEqual(settings.data, { mode: 'fast' });
      const job = (await api(cluster, 'GET', '/apis/batch/v1/namespaces/shop/jobs/once')).body as WireDeployment;
      assert.deepEqual(
        job.spec.template.spec.containers.map((c) => [c.name, c.image, (c as { command?: string[] }).command]),
        [['once', 'busybox', ['true']]],
      );
    });

    it('wait --for=condition=complete on the Job kubectl created', async () => {
      assert.equal(
        await bodyCount(cluster, {
          verb: 'CREATE',
          resource: 'jobs',
          code: '201',
          content_type: Number(minor.split('.')[1]) >= 32 ? 'application/vnd.kubernetes.protobuf' : 'application/json',
        }),
        1,
      );
      assert.match(
        await ok(kubectl(['wait', '--for=condition=complete', 'job/once', '-n', 'shop', '--timeout=60s'])),
        /job\.batch\/once condition met/,
      );
      const job = (await api(cluster, 'GET', '/apis/batch/v1/namespaces/shop/jobs/once')).body as {
        status: { succeeded?: number; completionTime?: string; conditions?: { type: string; status: string }[] };
      };
      assert.equal(job.status.succeeded, 1);
      assert.ok(job.status.completionTime, 'a complete Job has its completionTime');
      assert.ok(job.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
    });

    it('apply -f with validation on, then a strategic merge patch by container name', async () => {
      const first = join(dir, 'first.yaml');
      writeFileSync(first, manifest({ replicas: 2, value: '1', side: true }));
      assert.match(await ok(kubectl(['apply', '-f', first])), /deployment.apps\/api created/);
      const second = join(dir, 'second.yaml');
      writeFileSync(second, manifest({ replicas: 3, value: '2', side: false }));
      assert.match(await ok(kubectl(['apply', '-f', second])), /deployment.apps\/api configured/);
      const d = await deployment();
      assert.equal(d.spec.replicas, 3);
      assert.deepEqual(
        d.spec.template.spec.containers.map((c) => c.name),
        ['main'],
        'the removed container is gone',
      );
      assert.deepEqual(d.spec.template.spec.containers[0]?.env, [{ name: 'A', value: '2' }]);
    });

    it('--validate=strict refuses an unknown field; warn drops it with a warning', async () => {
      const file = join(dir, 'unknown.yaml');
      writeFileSync(file, manifest({ replicas: 4, value: '2', side: false, extra: '  color: blue\n' }));
      const strict = await kubectl(['apply', '--validate=strict', '-f', file]);
      assert.notEqual(strict.code, 0);
      assert.match(strict.stderr, /strict decoding error: unknown field "spec.color"/);
      assert.equal((await deployment()).spec.replicas, 3, 'nothing was written');
      const warn = await kubectl(['apply', '--validate=warn', '-f', file]);
      assert.equal(warn.code, 0, warn.stderr);
      assert.match(warn.stderr, /Warning: unknown field "spec.color"/);
      const d = await deployment();
      assert.equal(d.spec.replicas, 4);
      assert.equal(d.spec['color'], undefined, 'the unknown field was dropped');
    });

    it('edit through $EDITOR', async () => {
      const editor = join(dir, 'editor.sh');
      writeFileSync(editor, '#!/bin/sh\nsed -i "s/^  replicas: [0-9]*$/  replicas: 5/" "$1"\n');
      chmodSync(editor, 0o755);
      assert.match(
        await ok(kubectl(['edit', 'deployment/api', '-n', 'shop'], { env: { EDITOR: editor, KUBE_EDITOR: editor } })),
        /deployment.apps\/api edited/,
      );
      assert.equal((await deployment()).spec.replicas, 5);
    });

    it('patch: strategic merges containers by name, --type=merge replaces the list', async () => {
      const side = { spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox:1.36' }] } } } };
      assert.match(
        await ok(kubectl(['patch', 'deployment', 'api', '-n', 'shop', '-p', JSON.stringify(side)])),
        /deployment.apps\/api patched/,
      );
      let containers = (await deployment()).spec.template.spec.containers;
      // As the API server orders a merged list without $setElementOrder: the patch's items, then the ones only the
      // server had (kubernetes.io's kubectl patch task shows the added container first).
      assert.deepEqual(
        containers.map((c) => [c.name, c.image]),
        [
          ['side', 'busybox:1.36'],
          ['main', 'nginx:1.27'],
        ],
      );
      assert.deepEqual(containers[1]?.env, [{ name: 'A', value: '2' }], 'the merged container keeps its fields');
      const only = { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } };
      assert.match(
        await ok(kubectl(['patch', 'deployment', 'api', '-n', 'shop', '--type=merge', '-p', JSON.stringify(only)])),
        /deployment.apps\/api patched/,
      );
      containers = (await deployment()).spec.template.spec.containers;
      assert.deepEqual(
        containers.map((c) => [c.name, c.image]),
        [['main', 'nginx:1.28']],
      );
      assert.equal(containers[0]?.env, undefined, 'a JSON merge patch replaces the whole list');
      assert.equal(
        await bodyCount(cluster, { verb: 'PATCH', resource: 'deployments', content_type: 'application/merge-patch+json' }),
        1,
      );
    });

    it('explain walks the served schema', async () => {
      const out = await ok(kubectl(['explain', 'deployment.spec.template.spec.containers']));
      assert.match(out, /KIND:\s+Deployment/);
      assert.match(out, /FIELD:\s+containers\s+<\[\]Container>/);
      assert.match(out, /image\s+<string>/);
      assert.match(out, /name\s+<string> -required-/);
      const missing = await kubectl(['explain', 'deployment.spec.colour']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /field "colour" does not exist/);
    });
  });
}
