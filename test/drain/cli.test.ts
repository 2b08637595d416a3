/**
 * `kup drain` end to end: its output next to the real kubectl's on the same cluster, and its exit codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDrainCommand } from '../../src/cli/commands/drain.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { TARGET, drainScenario, isCordoned, openSpare, podsOn, startCase } from './helpers.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

describe('kup drain (CLI) against kube-sim', { timeout: 120_000 }, () => {
  it('prints what kubectl prints: the same lines for a client dry run of the same node', async () => {
    const c = await startCase(
      drainScenario(
        'cli-dry',
        `  - { kind: DaemonSet, name: agent }\n  - { kind: Deployment, name: web, replicas: 3 }`,
      ),
      { expectOnTarget: 4 },
    );
    try {
      const flags = ['--ignore-daemonsets', '--delete-emptydir-data', '--dry-run=client'];
      const kubectl = kubectlFor(c.cluster.kubeconfig);
      const theirs = await kubectl(['drain', TARGET, ...flags]);
      assert.equal(theirs.code, 0, theirs.stderr);
      const ours = capture();
      assert.equal(
        await runDrainCommand([TARGET, '--kubeconfig', c.kubeconfigPath, ...flags], ours.io),
        0,
        ours.stderr(),
      );
      assert.equal(ours.stdout(), theirs.stdout);
      assert.equal(ours.stderr(), theirs.stderr);
      assert.match(
        ours.stdout(),
        /^node\/workers-0 cordoned \(dry run\)\n(evicting pod \S+ \(dry run\)\n)+node\/workers-0 drained \(dry run\)\n$/,
      );
      assert.equal(await isCordoned(c.cluster, TARGET), false);

      // Server dry run: the same lines (kubectl evicts from goroutines, so its order varies: compare sorted).
      const serverFlags = ['--ignore-daemonsets', '--delete-emptydir-data', '--dry-run=server'];
      const theirsServer = await kubectl(['drain', TARGET, ...serverFlags]);
      assert.equal(theirsServer.code, 0, theirsServer.stderr);
      const oursServer = capture();
      assert.equal(
        await runDrainCommand([TARGET, '--kubeconfig', c.kubeconfigPath, ...serverFlags], oursServer.io),
        0,
        oursServer.stderr(),
      );
      const sorted = (text: string) => text.trim().split('\n').sort();
      assert.deepEqual(sorted(oursServer.stdout()), sorted(theirsServer.stdout));
      assert.match(oursServer.stdout(), /^node\/workers-0 cordoned \(server dry run\)\n/);
      assert.equal(await isCordoned(c.cluster, TARGET), false);
    } finally {
      await c.stop();
    }
  });

  it('a real drain prints kubectl-like lines, a "blocked by PDB" line for a pod its budget holds back, and exits 0', async () => {
    const c = await startCase(
      drainScenario(
        'cli-real',
        `  - { kind: DaemonSet, name: agent }\n  - { kind: Deployment, name: web, replicas: 2, pdb: { maxUnavailable: 1 } }`,
      ),
      {
        expectOnTarget: 3,
      },
    );
    try {
      await openSpare(c.cluster);
      const web = (await podsOn(c.cluster, TARGET)).filter((p) => p.app === 'web').map((p) => p.name);
      const o = capture();
      const code = await runDrainCommand(
        [TARGET, '--kubeconfig', c.kubeconfigPath, '--ignore-daemonsets', '--timeout=30s'],
        o.io,
      );
      assert.equal(code, 0, o.stderr());
      const lines = o.stdout().trim().split('\n');
      assert.equal(lines[0], 'node/workers-0 cordoned');
      assert.equal(lines.at(-1), 'node/workers-0 drained');
      for (const name of web) {
        assert.ok(lines.includes(`evicting pod default/${name}`), o.stdout());
        assert.ok(lines.includes(`pod/${name} evicted`), o.stdout());
      }
      assert.match(o.stderr(), /^Warning: ignoring DaemonSet-managed Pods: default\/agent-\w+/m);
      assert.match(
        o.stderr(),
        /^pod default\/web-\S+ blocked by PDB default\/web: the disruption budget web allows no disruption now; waiting for it to allow one \(waiting\)$/m,
      );
    } finally {
      await c.stop();
    }
  });

  it('a drain that times out exits 1, says which pod and PDB, and that the node stays cordoned', async () => {
    const c = await startCase(
      drainScenario('cli-timeout', `  - { kind: Deployment, name: web, replicas: 1, pdb: { minAvailable: 1 } }`),
      { expectOnTarget: 1 },
    );
    try {
      const o = capture();
      const code = await runDrainCommand(
        [TARGET, '--kubeconfig', c.kubeconfigPath, '--ignore-daemonsets', '--timeout=1s'],
        o.io,
      );
      assert.equal(code, 1);
      assert.match(
        o.stderr(),
        /^error: unable to drain node "workers-0": KUP-DRAIN-003: drain of node workers-0 timed out after 1s: \d+ pods? left: default\/web-\S+ blocked by PDB default\/web \(needs 1 healthy, has 1\)/m,
      );
      assert.match(
        o.stderr(),
        /^node\/workers-0 is left cordoned \(this drain cordoned it\): run 'kubectl uncordon workers-0' to put it back in service$/m,
      );
      assert.equal(await isCordoned(c.cluster, TARGET), true);
    } finally {
      await c.stop();
    }
  });
});
