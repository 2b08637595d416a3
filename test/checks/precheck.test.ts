/**
 * Prechecks end to end: kube-sim clusters built to trip every check, and a clean one that passes, read over HTTPS
 * by the real runner through @kubernetes/client-node. Findings are asserted by rule, severity and object; the
 * command line is run for its exit codes (0, 1, 2) and its JSON.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { runChecks } from '../../src/checks/runner.ts';
import type { Finding, Report, RuleId, Severity } from '../../src/checks/types.ts';
import { runPrecheckCommand } from '../../src/cli/commands/precheck.ts';
import { connect } from '../../src/kube-api/connect.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { defaultCatalog, knownMinors, latestPatch, releaseClassification } from '../../src/versions/index.ts';
import { partialApi } from '../helpers/partial-api.ts';
import { api, startFromYaml } from '../helpers/sim.ts';

const dir = mkdtempSync(join(tmpdir(), 'kup-precheck-'));

function kubeconfigFile(cluster: SimCluster, name: string): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, cluster.kubeconfig, { mode: 0o600 });
  return path;
}

/** `Kind/namespace/name` of each object of a finding. */
const objectKeys = (f: Finding): string[] =>
  f.objects.map((o) => (o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`));

/** The findings of a rule at a severity that name the object (all of them, when no object is given). */
function findingsOf(report: Report, rule: RuleId, severity: Severity, object?: string): Finding[] {
  return report.findings.filter(
    (f) => f.rule === rule && f.severity === severity && (object === undefined || objectKeys(f).includes(object)),
  );
}

function assertFinding(report: Report, rule: RuleId, severity: Severity, object?: string): Finding {
  const found = findingsOf(report, rule, severity, object);
  assert.ok(
    found.length > 0,
    `expected a ${severity} of ${rule}${object ? ` about ${object}` : ''}; the report has:\n${report.findings.map((f) => `  ${f.severity} ${f.rule} ${objectKeys(f).join(',')}: ${f.message}`).join('\n')}`,
  );
  return found[0] as Finding;
}

/** Runs the command line, capturing what it prints. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; warnings: string[] }> {
  let stdout = '';
  let stderr = '';
  // What the process warns of while the command runs (Node prints these on the user's terminal).
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const sink = (write: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        write(chunk.toString());
        done();
      },
    });
  const code = await runPrecheckCommand(args, {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
  }).finally(() => process.off('warning', onWarning));
  // Warnings are emitted on a later turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout, stderr, warnings };
}

/**
 * Versions for the clusters that must pass: the newest minor the catalog supports today and the latest patch of the
 * minor before it, so the test does not rot as releases expire.
 */
function supportedPair(): { from: string; to: string } {
  const catalog = defaultCatalog();
  const now = new Date();
  const minors = [...knownMinors(catalog)].reverse();
  for (let i = 0; i < minors.length - 1; i++) {
    const to = latestPatch(catalog, minors[i] as (typeof minors)[number]);
    const from = latestPatch(catalog, minors[i + 1] as (typeof minors)[number]);
    if (to && from && releaseClassification(catalog, to.version, now) === 'supported')
      return { from: from.version, to: to.version };
  }
  throw new Error('the catalog has no supported minor today: update the catalog');
}

const { from: FROM, to: TO } = supportedPair();

describe('precheck: a 1.24 cluster going to 1.25 that trips every check', () => {
  let cluster: SimCluster;
  let report: Report;

  before(async () => {
    cluster = await startFromYaml(`
name: trip
kubernetesVersion: '1.24.17'
controlPlane: { nodes: 2 }
pools:
  - { name: workers, nodes: 4, capacity: { cpu: '8', memory: 32Gi } }
  - { name: ancient, nodes: 1, kubeletVersion: '1.21.14' }
  - { name: old, nodes: 1, kubeletVersion: '1.22.17' }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 3, pdb: { maxUnavailable: 0 } }
  - { kind: Deployment, name: lone, namespace: shop, replicas: 1 }
  - { kind: Deployment, name: cache, namespace: shop, replicas: 2, emptyDir: true, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: twin-a, namespace: shop, replicas: 2, labels: { app: twin }, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: twin-b, namespace: shop, replicas: 2, labels: { app: twin }, pdb: { maxUnavailable: 1 } }
  - { kind: Pod, name: debug, node: workers/0 }
legacyObjects:
  - apiVersion: policy/v1beta1
    kind: PodDisruptionBudget
    namespace: shop
    name: legacy-pdb
    spec: { minAvailable: 1, selector: { matchLabels: { app: nothing } } }
  - apiVersion: batch/v1beta1
    kind: CronJob
    namespace: ops
    name: nightly
    spec: { schedule: '0 0 * * *', jobTemplate: { spec: { template: { spec: { containers: [{ name: c, image: busybox }], restartPolicy: Never } } } } }
faults:
  nodesNotReady: [workers/3]
timings: { zeroDelay: true }
`);
    // A cordoned node, a claim nothing binds, a client still calling a removed API, a pod held by a finalizer.
    const patched = await api(
      cluster,
      'PATCH',
      '/api/v1/nodes/workers-2',
      { spec: { unschedulable: true } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(patched.status, 200);
    const pvc = await api(cluster, 'POST', '/api/v1/namespaces/shop/persistentvolumeclaims', {
      metadata: { name: 'orders-data' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
    });
    assert.equal(pvc.status, 201);
    assert.equal((await api(cluster, 'GET', '/apis/policy/v1beta1/namespaces/shop/poddisruptionbudgets')).status, 200);
    const held = await api(cluster, 'POST', '/api/v1/namespaces/shop/pods', {
      metadata: {
        name: 'held',
        finalizers: ['kup.dev/test-hold'],
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'held', uid: 'x', controller: true }],
      },
      spec: { nodeName: 'workers-1', containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.equal(held.status, 201);
    assert.equal((await api(cluster, 'DELETE', '/api/v1/namespaces/shop/pods/held')).status, 200);
    const conn = connect({ kubeconfig: cluster.kubeconfig });
    // Ten minutes on: the pod held by its finalizer is then well past its grace period.
    report = await runChecks(conn, { target: '1.25.16', allowExpired: true, now: () => Date.now() + 10 * 60_000 });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('plans the path: the pool 3 minors behind moves first, then the control plane', () => {
    assert.equal(report.from, '1.24.17');
    assert.equal(report.to, '1.25.16');
    const steps =
      report.path?.steps.map((s) => (s.kind === 'control-plane' ? `cp ${s.to}` : `${s.pool} ${s.to}`)) ?? [];
    assert.deepEqual(steps.slice(0, 3), ['ancient 1.24.17', 'old 1.24.17', 'cp 1.25.16']);
  });

  it('nodes-ready, system-pods: the NotReady node and the pods it strands', () => {
    assert.match(assertFinding(report, 'nodes-ready', 'blocker', 'Node/workers-3').message, /NotReady/);
    const stranded = findingsOf(report, 'system-pods', 'blocker');
    assert.ok(
      stranded.length > 0 && stranded.every((f) => /on workers-3/.test(f.message)),
      stranded.map((f) => f.message).join('\n'),
    );
  });

  it('cordoned-nodes, pending-pvcs, stuck-terminating', () => {
    assertFinding(report, 'cordoned-nodes', 'warning', 'Node/workers-2');
    assertFinding(report, 'pending-pvcs', 'warning', 'PersistentVolumeClaim/shop/orders-data');
    assert.match(
      assertFinding(report, 'stuck-terminating', 'warning', 'Pod/shop/held').message,
      /Terminating for \d+ min past its grace period/,
    );
  });

  it('version-skew: the pool already out of the policy blocks; the one the next step would strand warns', () => {
    assert.match(
      assertFinding(report, 'version-skew', 'blocker', 'Node/ancient-0').message,
      /kubelet v1\.21\.14 is 3 minors behind kube-apiserver v1\.24\.17; 1\.24 allows 2/,
    );
    assert.equal(
      findingsOf(report, 'version-skew', 'blocker', 'Node/ancient-0').length,
      1,
      'kube-proxy at the kubelet version is not reported twice',
    );
    assert.match(
      assertFinding(report, 'version-skew', 'warning', 'Node/old-0').message,
      /after the control-plane step to 1\.25\.16/,
    );
  });

  it('etcd: two members keep no more quorum than one', () => {
    assert.match(
      assertFinding(report, 'etcd', 'warning', 'Pod/kube-system/etcd-control-plane-0').message,
      /etcd has 2 members/,
    );
  });

  it('deprecated-apis: last-applied and live calls merged, each saying where it came from', () => {
    const pdb = assertFinding(report, 'deprecated-apis', 'blocker', 'PodDisruptionBudget/shop/legacy-pdb');
    assert.deepEqual(pdb.sources, ['last-applied', 'live-metric']);
    assert.match(pdb.message, /^policy\/v1beta1 PodDisruptionBudget is removed in 1\.25/);
    const cron = assertFinding(report, 'deprecated-apis', 'blocker', 'CronJob/ops/nightly');
    assert.deepEqual(cron.sources, ['last-applied']);
    assert.match(cron.remediation, /batch\/v1/);
  });

  it('pdb-blockers: maxUnavailable 0, and pods under two budgets', () => {
    assert.match(
      assertFinding(report, 'pdb-blockers', 'blocker', 'PodDisruptionBudget/shop/web').message,
      /maxUnavailable is 0/,
    );
    const twins = assertFinding(report, 'pdb-blockers', 'blocker', 'PodDisruptionBudget/shop/twin-a');
    assert.ok(objectKeys(twins).includes('PodDisruptionBudget/shop/twin-b'));
    assert.match(twins.message, /HTTP 500/);
  });

  it('single-replica and drain-refusals: the lone deployment, the bare pod (--force), the emptyDir pods', () => {
    assertFinding(report, 'single-replica', 'warning', 'Deployment/shop/lone');
    assert.match(assertFinding(report, 'drain-refusals', 'blocker', 'Pod/default/debug').message, /--force/);
    assert.match(
      assertFinding(report, 'drain-refusals', 'warning', 'Deployment/shop/cache').message,
      /--delete-emptydir-data/,
    );
  });

  it('component-compatibility and upgrade-notes', () => {
    assert.match(
      assertFinding(report, 'component-compatibility', 'warning', 'DaemonSet/kube-system/calico-node').message,
      /not 1\.25/,
    );
    assert.match(assertFinding(report, 'upgrade-notes', 'info').message, /^entering 1\.25: /);
  });

  it('drain-simulation runs every batch (this cluster has room)', () => {
    assert.match(assertFinding(report, 'drain-simulation', 'info').message, /every evicted pod finds a node/);
  });

  it('the command line exits 1, and 0 once every blocker is acknowledged, recording the reasons', async () => {
    const kubeconfig = kubeconfigFile(cluster, 'trip');
    const base = ['--kubeconfig', kubeconfig, '--to', '1.25.16', '--allow-expired'];
    const blocked = await cli(base);
    assert.equal(blocked.code, 1, blocked.stderr);
    assert.match(blocked.stdout, /^BLOCKER\s+pdb-blockers\s+PodDisruptionBudget\/shop\/web/m);
    assert.match(blocked.stdout, /Result: \d+ blockers/);
    const rules = [...new Set(report.blockers.map((f) => f.rule))].filter((r) => r !== 'stuck-terminating');
    const acked = await cli([
      ...base,
      '-o',
      'json',
      ...rules.flatMap((r) => ['--acknowledge', `${r}=accepted for the test: ${r}`]),
    ]);
    assert.equal(acked.code, 0, acked.stdout);
    const doc = JSON.parse(acked.stdout) as {
      kind: string;
      summary: { blockers: number; acknowledged: number };
      acknowledged: Finding[];
    };
    assert.equal(doc.kind, 'PrecheckReport');
    assert.equal(doc.summary.blockers, 0);
    assert.ok(doc.summary.acknowledged >= rules.length);
    assert.ok(
      doc.acknowledged.some(
        (f) => f.rule === 'pdb-blockers' && f.acknowledged?.reason === 'accepted for the test: pdb-blockers',
      ),
    );
  });

  it('an acknowledgement of one object covers only that object', async () => {
    const res = await cli([
      '--kubeconfig',
      kubeconfigFile(cluster, 'trip'),
      '--to',
      '1.25.16',
      '--allow-expired',
      '-o',
      'json',
      '--acknowledge',
      'pdb-blockers/PodDisruptionBudget/shop/web=web can wait',
    ]);
    assert.equal(res.code, 1);
    const doc = JSON.parse(res.stdout) as Report;
    assert.ok(
      doc.acknowledged.some((f) => f.rule === 'pdb-blockers' && objectKeys(f).includes('PodDisruptionBudget/shop/web')),
    );
    assert.ok(
      doc.blockers.some((f) => f.rule === 'pdb-blockers' && objectKeys(f).includes('PodDisruptionBudget/shop/twin-a')),
    );
  });
});

describe(`precheck: a cluster too full for its batches (${FROM} -> ${TO})`, () => {
  let cluster: SimCluster;
  let report: Report;

  before(async () => {
    // Two 4-CPU workers with two 1.5-CPU pods of web each: draining one leaves no room for its two pods.
    cluster = await startFromYaml(`
name: full
kubernetesVersion: '${FROM}'
pools:
  - { name: workers, nodes: 2, capacity: { cpu: '4', memory: 16Gi } }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, requests: { cpu: 1500m, memory: 1Gi }, pdb: { maxUnavailable: 1 } }
systemComponents: { cni: { name: flannel, version: v0.26.1 } }
timings: { zeroDelay: true }
`);
    report = await runChecks(connect({ kubeconfig: cluster.kubeconfig }), { target: TO });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('names the workload that would stay Pending and the budget that would hold the drain', () => {
    const pending = assertFinding(report, 'drain-simulation', 'blocker', 'Deployment/shop/web');
    assert.match(
      pending.message,
      /batch 1\/2 of pool workers \(workers-0\): 2 of the 2 evicted pods of Deployment shop\/web would stay Pending \(each requests 1500m CPU, 1Gi memory\)/,
    );
    const held = assertFinding(report, 'drain-simulation', 'blocker', 'PodDisruptionBudget/shop/web');
    assert.match(held.message, /allows 1 disruption, but 2 of its 2 evicted pods would find no node/);
  });

  it("smaller batches do not help when one node cannot take the other one's pods; the CLI says so with exit 1", async () => {
    const res = await cli(['--kubeconfig', kubeconfigFile(cluster, 'full'), '--to', TO, '--batch-policy', 'fixed:1']);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /BLOCKER\s+drain-simulation\s+Deployment\/shop\/web/);
  });
});

describe(`precheck: a clean cluster (${FROM} -> ${TO})`, () => {
  let cluster: SimCluster;
  let kubeconfig: string;

  before(async () => {
    cluster = await startFromYaml(`
name: clean
kubernetesVersion: '${FROM}'
pools:
  - { name: workers, nodes: 3 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { kind: StatefulSet, name: db, namespace: shop, replicas: 3, pdb: { minAvailable: 2 } }
  - { kind: DaemonSet, name: log-agent, namespace: logging }
systemComponents: { cni: { name: flannel, version: v0.26.1 } }
timings: { zeroDelay: true }
`);
    kubeconfig = kubeconfigFile(cluster, 'clean');
  });

  after(async () => {
    await cluster?.stop();
  });

  it('passes: no blocker and no warning; exit 0 with the table and with -o json', async () => {
    const report = await runChecks(connect({ kubeconfig: cluster.kubeconfig }), { target: TO });
    assert.deepEqual(
      report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.severity} ${f.rule}: ${f.message}`),
      [],
    );
    assert.ok(report.rules.every((r) => r.status === 'pass' || r.status === 'info'));
    const table = await cli(['--kubeconfig', kubeconfig, '--to', TO]);
    assert.equal(table.code, 0, table.stdout + table.stderr);
    assert.deepEqual(table.warnings, [], 'the precheck warns of nothing on the terminal (its lists share one signal)');
    assert.match(table.stdout, /Result: 0 blockers, 0 warnings .*: the upgrade may start\./);
    const json = await cli(['--kubeconfig', kubeconfig, '--to', TO, '-o', 'json']);
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout) as {
      summary: { blockers: number };
      path: { steps: unknown[] };
      rules: unknown[];
    };
    assert.equal(doc.summary.blockers, 0);
    assert.ok(doc.path.steps.length >= 2);
  });

  it('post-upgrade validation of the cluster at its version passes; against another version it fails', async () => {
    const pre = await cli(['--kubeconfig', kubeconfig, '--to', TO, '-o', 'json']);
    const baseline = join(dir, 'baseline.json');
    writeFileSync(baseline, pre.stdout);
    const ok = await cli(['--kubeconfig', kubeconfig, '--to', FROM, '--postcheck', '--baseline', baseline]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^Post-upgrade validation/);
    const behind = await cli(['--kubeconfig', kubeconfig, '--to', TO, '--postcheck', '-o', 'json']);
    assert.equal(behind.code, 1);
    const doc = JSON.parse(behind.stdout) as Report;
    assert.ok(doc.blockers.some((f) => f.rule === 'versions-at-target' && objectKeys(f).includes('Node/workers-0')));
  });

  it('exits 2 on bad input, naming it', async () => {
    for (const [args, pattern] of [
      [['--to', '1.99.0'], /--to 1\.99\.0 is not in the version catalog/],
      [['--to', 'latest'], /--to "latest" is not a Kubernetes version/],
      [['--to', TO, '--bogus'], /Unknown option '--bogus'/],
      [['--to', TO, '--acknowledge', 'no-such-rule=why'], /unknown rule "no-such-rule"/],
      [['--to', TO, '--acknowledge', 'pdb-blockers'], /has no reason/],
      [['--to', TO, '--batch-policy', 'fixed:0'], /KUP-BATCH-001: batch policy "fixed:0"/],
      [['--to', TO, '-o', 'yaml'], /-o: "yaml" is not one of table, json/],
      [['--to', TO, '--context', 'nope'], /context "nope" is not in the kubeconfig/],
      [[], /--to VERSION is required/],
    ] as const) {
      const res = await cli(['--kubeconfig', kubeconfig, ...args]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, pattern, args.join(' '));
    }
    const missing = await cli(['--kubeconfig', join(dir, 'none.kubeconfig'), '--to', TO]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /KUP-CLUSTER-001/);
  });
});

describe(`precheck: a control plane left half upgraded (${FROM} and ${TO})`, () => {
  let cluster: SimCluster;

  before(async () => {
    cluster = await startFromYaml(`
name: half
kubernetesVersion: '${FROM}'
controlPlane: { nodes: 3 }
pools: [{ name: workers, nodes: 2 }]
systemComponents: { cni: { name: flannel, version: v0.26.1 } }
timings: { zeroDelay: true }
`);
    const upgrade = await api(cluster, 'POST', '/sim/v1/control-plane/control-plane-1/upgrade', { version: TO });
    assert.equal(upgrade.status, 202, JSON.stringify(upgrade.body));
    await waitFor(
      async () => {
        const pod = (await api(cluster, 'GET', '/api/v1/namespaces/kube-system/pods/kube-apiserver-control-plane-1'))
          .body as {
          spec?: { containers?: { image?: string }[] };
          status?: { conditions?: { type: string; status: string }[] };
        };
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return ready && pod.spec?.containers?.[0]?.image?.endsWith(`:v${TO}`) ? true : undefined;
      },
      { message: 'kube-apiserver on control-plane-1 Ready at the new version', timeoutMs: 20_000 },
    );
  });

  after(async () => {
    await cluster?.stop();
  });

  it('control-plane: instances of one component at two versions', async () => {
    const report = await runChecks(connect({ kubeconfig: cluster.kubeconfig }), { target: TO });
    const mixed = assertFinding(report, 'control-plane', 'warning', 'Pod/kube-system/kube-apiserver-control-plane-1');
    assert.ok(
      mixed.message.includes(`kube-apiserver instances run different versions (${FROM}, ${TO})`),
      mixed.message,
    );
    assert.equal(report.from, FROM, '/version reports the oldest kube-apiserver');
  });
});

describe('precheck: an API server that does not answer', () => {
  it('is a blocker of api-health, exit 1', async () => {
    const cluster = await startFromYaml(`
name: gone
kubernetesVersion: '${FROM}'
pools: [{ name: workers, nodes: 1 }]
timings: { zeroDelay: true }
`);
    const kubeconfig = kubeconfigFile(cluster, 'gone');
    await cluster.stop();
    const res = await cli(['--kubeconfig', kubeconfig, '--to', TO, '-o', 'json']);
    assert.equal(res.code, 1, res.stderr);
    const doc = JSON.parse(res.stdout) as Report;
    assert.deepEqual(
      doc.blockers.map((f) => f.rule),
      ['api-health', 'upgrade-path'],
    );
    assert.match(doc.blockers[0]?.message ?? '', /did not answer \/readyz/);
  });
});

describe('precheck: a run that takes too long', () => {
  it('stops at --timeout with exit 1 and says why', async () => {
    const cluster = await startFromYaml(`
name: slow
kubernetesVersion: '${FROM}'
pools: [{ name: workers, nodes: 1 }]
faults: { apiLatencyMs: 2000 }
timings: { zeroDelay: true }
`);
    try {
      const started = Date.now();
      const res = await cli(['--kubeconfig', kubeconfigFile(cluster, 'slow'), '--to', TO, '--timeout', '300ms']);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /KUP-PRECHECK-004: the run was cancelled: .*timeout/);
      assert.ok(Date.now() - started < 1900, 'it did not wait for the slow API server');
      const bad = await cli(['--kubeconfig', kubeconfigFile(cluster, 'slow'), '--to', TO, '--timeout', 'soon']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--timeout: "soon" is not a duration/);
    } finally {
      await cluster.stop();
    }
  });
});

describe(`precheck: a partial API server (no /readyz, /healthz, /version; nodes without kubelet versions)`, () => {
  let cluster: SimCluster;
  let nodeNames: string[];

  before(async () => {
    cluster = await startFromYaml(`
name: partial
kubernetesVersion: '${FROM}'
pools:
  - { name: workers, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { maxUnavailable: 1 } }
systemComponents: { cni: { name: flannel, version: v0.26.1 } }
timings: { zeroDelay: true }
`);
    const nodes = await api(cluster, 'GET', '/api/v1/nodes');
    nodeNames = ((nodes.body as { items: { metadata: { name: string } }[] }).items ?? []).map((n) => n.metadata.name);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('health from /api, versions from the provider: warnings that name what was missing and whose word replaced it', async () => {
    const conn = partialApi(connect({ kubeconfig: cluster.kubeconfig }));
    let asked = 0;
    const report = await runChecks(conn, {
      target: TO,
      providerVersions: () => {
        asked += 1;
        return Promise.resolve({
          controlPlane: { version: FROM, source: 'provider test (the control plane object)' },
          nodes: Object.fromEntries(nodeNames.map((n) => [n, FROM])),
          nodesSource: 'provider test (its machines)',
        });
      },
    });
    assert.equal(asked, 1, 'the provider is asked once for everything');
    assert.deepEqual(report.blockers.map((f) => `${f.rule}: ${f.message}`), []);
    assert.equal(report.from, FROM);
    assert.ok(report.path !== undefined, 'the path is planned from the provider’s versions');
    const health = findingsOf(report, 'api-health', 'warning').map((f) => f.message);
    assert.ok(health.includes('the API server serves no /readyz (HTTP 404): its health is judged from /api, which answered 200'), health.join('\n'));
    assert.ok(
      health.includes(`the API server serves no /version (HTTP 404): the control-plane version v${FROM} is the word of provider test (the control plane object)`),
      health.join('\n'),
    );
    assert.ok(
      health.includes(`${nodeNames.length} nodes report no kubelet version (status.nodeInfo): their versions are the word of provider test (its machines)`),
      health.join('\n'),
    );
  });

  it('without a provider that knows the versions, the missing /version blocks: no path can be planned', async () => {
    const report = await runChecks(partialApi(connect({ kubeconfig: cluster.kubeconfig })), { target: TO });
    assertFinding(report, 'api-health', 'blocker');
    assert.match(findingsOf(report, 'api-health', 'blocker')[0]?.message ?? '', /did not report its version \(\/version\)/);
    assertFinding(report, 'upgrade-path', 'blocker');
  });

  it('a server that serves /healthz but no /readyz is judged from /healthz', async () => {
    const conn = connect({ kubeconfig: cluster.kubeconfig });
    const noReadyz = { ...conn, getText: (path: string, signal?: AbortSignal) => (path.startsWith('/readyz') ? Promise.resolve({ status: 404, body: 'not found' }) : conn.getText(path, signal)) };
    const report = await runChecks(noReadyz, { target: TO });
    assert.ok(
      findingsOf(report, 'api-health', 'warning').some((f) => f.message === 'the API server serves no /readyz (HTTP 404): its health is judged from /healthz, which answered 200'),
      report.findings.map((f) => f.message).join('\n'),
    );
    assert.deepEqual(findingsOf(report, 'api-health', 'blocker'), []);
  });
});
