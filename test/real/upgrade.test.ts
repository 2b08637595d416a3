/**
 * kup upgrading a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler built from their
 * Go modules) with kwok worker pools, through the real command line, from one supported minor of the catalog to the
 * next. The cluster runs in this process (`startLocal`, as `kup local start` does); kup runs as separate processes
 * (`bin/kup.mjs`) and reaches it only through the Kubernetes API and the control API.
 *
 * Asserted from the cluster afterwards: `/version` and each running binary's own `--version`, every node's kubelet,
 * the workload and the objects created before, and the fewest available pods of a Deployment with a PDB as a watch
 * independent of kup saw them during the whole run. Rollback: after the control plane moved (past the point of no
 * return) the run is paused and rolled back, and the old version serves again with the objects of the snapshot.
 *
 * The first run builds both versions from the Go module proxy (minutes; the time is printed); `KUP_SKIP_REAL=1`
 * (`npm run test:fast`) switches the suite off, reported as skipped.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { kupProcess } from '../helpers/rollout.ts';
import type { RealFixture } from './helpers.ts';
import { FROM, SKIP_REAL, TO, binaryVersion, buildBoth, startReal, watchAvailability } from './helpers.ts';

const SHOP = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.k8s.io/pause:3.10}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: before-upgrade, namespace: shop}
data: {kept: "yes"}
`;

const COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/** Minutes: a run on a real control plane restarts real processes on a shared machine. */
const RUN_TIMEOUT_MS = 15 * 60_000;

async function deployShop(fx: RealFixture): Promise<void> {
  const kubectl = kubectlFor(fx.running.kubeconfig);
  await ok(kubectl(['apply', '-f', '-'], { input: SHOP }));
  await ok(kubectl(['-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 }));
}

async function serverVersion(fx: RealFixture): Promise<string> {
  const out = await ok(kubectlFor(fx.running.kubeconfig)(['version', '-o', 'json']));
  return (JSON.parse(out) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
}

async function kubeletVersions(fx: RealFixture): Promise<Record<string, string>> {
  return Object.fromEntries((await fx.running.cluster.nodes()).map((n) => [n.name, n.kubeletVersion]));
}

/** `kup status RUN -o json`: the run's phase and the steps in flight. */
async function runStatus(
  fx: RealFixture,
  runId: string,
): Promise<{ progress: { phase: string; inFlight: unknown[] } }> {
  const status = await kupProcess(fx.dataDir, ['status', runId, '-o', 'json']);
  assert.equal(status.code, 0, status.stderr);
  return JSON.parse(status.stdout) as { progress: { phase: string; inFlight: unknown[] } };
}

/** Asserts that each control-plane process runs a binary that says it is `version`. */
async function assertBinariesAt(fx: RealFixture, version: string): Promise<void> {
  const pids = fx.running.cluster.processIds();
  for (const component of COMPONENTS) {
    const pid = pids[component];
    assert.ok(pid, `${component} runs`);
    assert.equal(await binaryVersion(pid, component), `Kubernetes v${version}`, `${component} (pid ${pid}) --version`);
  }
}

describe('kup on a real control plane', { skip: SKIP_REAL, timeout: 60 * 60_000 }, () => {
  before(buildBoth, { timeout: 50 * 60_000 });

  it(
    `kup upgrade ${FROM} -> ${TO}: every component and node at ${TO}, workloads kept, the PDB honoured`,
    { timeout: 30 * 60_000 },
    async () => {
      const fx = await startReal(FROM, [
        { name: 'general', size: 3 },
        { name: 'batch', size: 2 },
      ]);
      try {
        await deployShop(fx);
        assert.equal(await serverVersion(fx), `v${FROM}`);
        await assertBinariesAt(fx, FROM);
        const before = Object.keys(await kubeletVersions(fx)).filter((n) => n !== 'control-plane-0');

        const added = await kupProcess(fx.dataDir, [
          'cluster',
          'add',
          'real',
          '--kubeconfig',
          fx.kubeconfigPath,
          '--provider',
          'local',
        ]);
        assert.equal(added.code, 0, added.stderr);
        const precheck = await kupProcess(fx.dataDir, ['precheck', '--kubeconfig', fx.kubeconfigPath, '--to', TO]);
        assert.equal(
          precheck.code,
          0,
          `the precheck against the real API server passes\n${precheck.stdout}\n${precheck.stderr}`,
        );

        const watch = watchAvailability(fx, 'shop', 'app=web');
        const upgraded = await kupProcess(
          fx.dataDir,
          ['upgrade', 'real', '--to', TO, '--yes', '--wait'],
          RUN_TIMEOUT_MS,
        );
        watch.stop();
        assert.equal(upgraded.code, 0, `kup upgrade exited ${upgraded.code}\n${upgraded.stdout}\n${upgraded.stderr}`);
        assert.match(
          upgraded.stdout,
          new RegExp(`run \\S+ created: real ${FROM.replaceAll('.', '\\.')} -> ${TO.replaceAll('.', '\\.')}`),
        );

        assert.equal(await serverVersion(fx), `v${TO}`, '/version');
        await assertBinariesAt(fx, TO);
        const after = await kubeletVersions(fx);
        for (const [node, version] of Object.entries(after)) assert.equal(version, TO, `node ${node} kubelet`);
        assert.equal(Object.keys(after).length, 6, `the control plane and five workers: ${JSON.stringify(after)}`);
        for (const old of before) assert.ok(!(old in after), `worker ${old} was replaced by a new node`);

        const kubectl = kubectlFor(fx.running.kubeconfig);
        assert.equal(
          (
            await ok(kubectl(['-n', 'shop', 'get', 'configmap', 'before-upgrade', '-o', 'jsonpath={.data.kept}']))
          ).trim(),
          'yes',
        );
        await ok(
          kubectl(['-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 }),
        );
        const ready = await ok(
          kubectl(['-n', 'shop', 'get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}']),
        );
        assert.equal(ready.trim(), '3', 'web has its three replicas Ready');
        assert.ok(watch.timeline().length > 1, `the watch saw the pods move: ${JSON.stringify(watch.timeline())}`);
        assert.ok(
          watch.minAvailable() >= 2,
          `never fewer than the PDB's 2 available pods: ${JSON.stringify(watch.timeline())}`,
        );
      } finally {
        await fx.close();
      }
    },
  );

  it(
    `kup rollback after the point of no return restores the etcd snapshot: ${FROM} serves again with its objects`,
    { timeout: 30 * 60_000 },
    async () => {
      const fx = await startReal(FROM, [{ name: 'workers', size: 2 }]);
      try {
        await deployShop(fx);
        const kubectl = kubectlFor(fx.running.kubeconfig);
        const added = await kupProcess(fx.dataDir, [
          'cluster',
          'add',
          'real',
          '--kubeconfig',
          fx.kubeconfigPath,
          '--provider',
          'local',
        ]);
        assert.equal(added.code, 0, added.stderr);
        // One worker at a time, so that the pool is still moving when the run is paused.
        const created = await kupProcess(fx.dataDir, [
          'upgrade',
          'real',
          '--to',
          TO,
          '--yes',
          '--batch-policy',
          'fixed:1',
        ]);
        assert.equal(created.code, 0, created.stderr);
        const runId = /run (run-\S+) created/.exec(created.stdout)?.[1];
        assert.ok(runId, created.stdout);

        // Past the point of no return: the control plane serves the target.
        await waitFor(
          async () =>
            (await serverVersion(fx)) === `v${TO}` && fx.running.cluster.componentVersions()['kube-scheduler'] === TO,
          {
            message: `the control plane to run ${TO}`,
            timeoutMs: RUN_TIMEOUT_MS,
            intervalMs: 1_000,
          },
        );
        const paused = await kupProcess(fx.dataDir, ['pause', runId]);
        assert.equal(paused.code, 0, paused.stderr);
        // Paused, and the step that was running has finished: a rollback is refused while nodes move.
        await waitFor(
          async () => {
            const { progress } = await runStatus(fx, runId);
            return progress.phase === 'paused' && progress.inFlight.length === 0;
          },
          { message: 'the run to pause with nothing in flight', timeoutMs: 5 * 60_000, intervalMs: 1_000 },
        );
        // An object the snapshot does not have: the restore takes it away.
        await ok(kubectl(['-n', 'shop', 'create', 'configmap', 'after-snapshot', '--from-literal=gone=yes']));

        const rolled = await kupProcess(fx.dataDir, ['rollback', runId]);
        assert.equal(rolled.code, 0, `${rolled.stdout}\n${rolled.stderr}`);
        const phase = await waitFor(
          async () => {
            const { progress } = await runStatus(fx, runId);
            return ['rolled-back', 'failed', 'succeeded', 'cancelled'].includes(progress.phase)
              ? progress.phase
              : undefined;
          },
          { message: 'the run to be rolled back', timeoutMs: RUN_TIMEOUT_MS, intervalMs: 2_000 },
        );
        assert.equal(phase, 'rolled-back');

        assert.equal(await serverVersion(fx), `v${FROM}`, '/version after the restore');
        await assertBinariesAt(fx, FROM);
        for (const [node, version] of Object.entries(await kubeletVersions(fx)))
          assert.equal(version, FROM, `node ${node} kubelet`);
        assert.equal(
          (
            await ok(kubectl(['-n', 'shop', 'get', 'configmap', 'before-upgrade', '-o', 'jsonpath={.data.kept}']))
          ).trim(),
          'yes',
        );
        const gone = await kubectl(['-n', 'shop', 'get', 'configmap', 'after-snapshot']);
        assert.notEqual(gone.code, 0, 'the object created after the snapshot is gone');
        assert.match(gone.stderr, /NotFound|not found/);
        await ok(
          kubectl(['-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 }),
        );
      } finally {
        await fx.close();
      }
    },
  );
});
