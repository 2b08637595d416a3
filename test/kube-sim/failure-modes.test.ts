/**
 * kube-sim's failure modes through the real kubectl: an unpullable image fails `kubectl rollout status` at the
 * progress deadline, a crash loop shows in `kubectl get pods`, a kubelet that stops leaves its node Unknown and
 * tainted unreachable. Each is checked through the API as well as through what kubectl prints.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { Kubectl } from '../helpers/kubectl.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

const SCENARIO = `
name: failure-modes
kubernetesVersion: 1.31.4
controlPlane:
  nodes: 1
pools:
  - name: workers
    nodes: 3
timings:
  podStart: 50
  podTermination: 50
  nodeBoot: 50
  nodeHeartbeat: 100
  nodeMonitorGrace: 400
faults:
  nodesKubeletDown: [workers/2]
  containerFaults:
    - { image: '*:no-such-tag', failure: image-pull }
    - { image: 'shop/cart:*', failure: crash-loop, exitAfterMs: 0 }
`;

function deployment(name: string, image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      // Not on workers-2, whose kubelet is down (it is Ready until the grace period runs out).
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector: { 'kubernetes.io/hostname': 'workers-0' }, containers: [{ name: 'app', image }] },
      },
      ...extra,
    },
  };
}

interface WireNode {
  spec: { taints?: { key: string; effect: string }[] };
  status: { conditions: { type: string; status: string; reason: string; message: string }[] };
}

describe('failure modes through kubectl 1.31', () => {
  let cluster: SimCluster;
  let kubectl: Kubectl;

  before(async () => {
    cluster = await startFromYaml(SCENARIO);
    kubectl = kubectlFor(cluster.kubeconfig);
  });
  after(async () => cluster?.stop());

  it('rollout status fails on an unpullable image once the progress deadline passes', async () => {
    const created = await api(
      cluster,
      'POST',
      '/apis/apps/v1/namespaces/default/deployments',
      deployment('broken', 'nginx:no-such-tag', { progressDeadlineSeconds: 2 }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const r = await kubectl(['rollout', 'status', 'deployment/broken', '--timeout=60s']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /error: deployment "broken" exceeded its progress deadline/);
    const out = await ok(kubectl(['get', 'pods', '-l', 'app=broken']));
    assert.match(out, /broken-\S+\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s/);
    const dep = (await api(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/broken')).body as {
      status: { conditions: { type: string; status: string; reason: string }[] };
    };
    const progressing = dep.status.conditions.find((c) => c.type === 'Progressing');
    assert.deepEqual([progressing?.status, progressing?.reason], ['False', 'ProgressDeadlineExceeded']);
  });

  it('get pods shows CrashLoopBackOff with restarts, and lastState the exit', async () => {
    assert.equal(
      (await api(cluster, 'POST', '/apis/apps/v1/namespaces/default/deployments', deployment('cart', 'shop/cart:2.0')))
        .status,
      201,
    );
    const out = await waitFor(
      async () => {
        const text = await ok(kubectl(['get', 'pods', '-l', 'app=cart']));
        return /CrashLoopBackOff/.test(text) ? text : undefined;
      },
      { message: 'cart in CrashLoopBackOff', timeoutMs: 20_000 },
    );
    assert.match(out, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    assert.match(out, /cart-\S+\s+0\/1\s+CrashLoopBackOff\s+0\s/);
    const pod = JSON.parse(await ok(kubectl(['get', 'pods', '-l', 'app=cart', '-o', 'json']))) as {
      items: { status: { containerStatuses: { lastState: { terminated: { exitCode: number; reason: string } } }[] } }[];
    };
    assert.deepEqual(pod.items[0]?.status.containerStatuses[0]?.lastState.terminated.exitCode, 1);
    assert.deepEqual(pod.items[0]?.status.containerStatuses[0]?.lastState.terminated.reason, 'Error');
  });

  it('get nodes shows a node whose kubelet stopped as NotReady, its conditions Unknown, tainted unreachable', async () => {
    const node = await waitFor(
      async () => {
        const res = await api(cluster, 'GET', '/api/v1/nodes/workers-2');
        const n = res.body as WireNode;
        return n.status.conditions.find((c) => c.type === 'Ready')?.status === 'Unknown' ? n : undefined;
      },
      { message: 'workers-2 Unknown', timeoutMs: 20_000 },
    );
    for (const c of node.status.conditions.filter((x) => x.type !== 'NetworkUnavailable')) {
      assert.deepEqual(
        [c.type, c.status, c.reason, c.message],
        [c.type, 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'],
      );
    }
    const taints = await waitFor(
      async () => {
        const n = (await api(cluster, 'GET', '/api/v1/nodes/workers-2')).body as WireNode;
        const t = (n.spec.taints ?? []).map((x) => `${x.key}:${x.effect}`);
        return t.length === 2 ? t : undefined;
      },
      { message: 'workers-2 tainted' },
    );
    assert.deepEqual(taints, ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
    const out = await ok(kubectl(['get', 'nodes']));
    assert.match(out, /workers-2\s+NotReady\s+<none>\s/);
    assert.match(out, /workers-1\s+Ready\s+<none>\s/);
    const status = await ok(
      kubectl(['get', 'node', 'workers-2', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']),
    );
    assert.equal(status, 'Unknown');
  });

  it('wait --for=condition=complete on a Job, and create job --from=cronjob', async () => {
    const template = {
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': 'workers-1' },
        restartPolicy: 'Never',
        containers: [{ name: 'work', image: 'busybox:1.36', command: ['sleep', '1'] }],
      },
    };
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'report' },
      spec: { completions: 2, parallelism: 2, template },
    };
    assert.equal((await api(cluster, 'POST', '/apis/batch/v1/namespaces/default/jobs', job)).status, 201);
    assert.match(
      await ok(kubectl(['wait', '--for=condition=complete', 'job/report', '--timeout=60s'])),
      /job\.batch\/report condition met/,
    );
    const done = JSON.parse(await ok(kubectl(['get', 'job', 'report', '-o', 'json']))) as {
      status: { succeeded: number; completionTime?: string; conditions: { type: string; status: string }[] };
    };
    assert.equal(done.status.succeeded, 2);
    assert.ok(done.status.completionTime);
    assert.ok(done.status.conditions.some((c) => c.type === 'Complete' && c.status === 'True'));
    assert.match(await ok(kubectl(['get', 'pods', '-l', 'job-name=report'])), /report-\S+\s+0\/1\s+Completed\s+0\s/);

    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly' },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template } } },
    };
    assert.equal((await api(cluster, 'POST', '/apis/batch/v1/namespaces/default/cronjobs', cron)).status, 201);
    assert.match(
      await ok(kubectl(['create', 'job', 'nightly-now', '--from=cronjob/nightly'])),
      /job\.batch\/nightly-now created/,
    );
    await ok(kubectl(['wait', '--for=condition=complete', 'job/nightly-now', '--timeout=60s']));
    const fromCron = (await api(cluster, 'GET', '/apis/batch/v1/namespaces/default/jobs/nightly-now')).body as {
      metadata: { ownerReferences?: { kind: string; name: string }[]; annotations?: Record<string, string> };
    };
    assert.deepEqual(
      fromCron.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
      ['CronJob/nightly'],
    );
    assert.equal(fromCron.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
  });
});
