/**
 * The container-runtime rule end to end on kube-sim: a 1.35 cluster whose `legacy` pool boots an image that ships
 * containerd 1.7 (the nodes report `containerd://1.7.22`). Entering 1.36 needs containerd 2.0: `kup precheck` blocks
 * an in-place upgrade and warns, naming the image, for rolling replacement; a run asked in place fails its own
 * precheck on it.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runPrecheckCommand } from '../../src/cli/commands/precheck.ts';
import type { Report } from '../../src/checks/types.ts';
import { FAST_TIMINGS, listNodes, startRolloutFixture, steerRun } from '../helpers/rollout.ts';
import { api } from '../helpers/sim.ts';

async function precheck(args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        write(chunk.toString());
        done();
      },
    });
  const code = await runPrecheckCommand([...args, '-o', 'json'], {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
  });
  return { code, report: JSON.parse(stdout) as Report, stderr };
}

const runtimeFindings = (report: Report) =>
  report.findings
    .filter((f) => f.rule === 'node-runtime')
    .map((f) => `${f.severity} ${f.objects.map((o) => o.name).join(',')}`);

describe('node-runtime on kube-sim', { timeout: 120_000 }, () => {
  it('blocks in place, warns for replacement, and fails the run of an in-place upgrade', async () => {
    const fx = await startRolloutFixture(
      'runtime',
      `
name: runtime
kubernetesVersion: '1.35.5'
pools:
  - { name: legacy, nodes: 2, machineImage: ubuntu-2204-containerd-1.7.22 }
  - { name: modern, nodes: 1 }
${FAST_TIMINGS}
`,
    );
    try {
      const nodes = await api(fx.sim, 'GET', '/api/v1/nodes');
      const runtimes = Object.fromEntries(
        (
          nodes.body as {
            items: { metadata: { name: string }; status: { nodeInfo: { containerRuntimeVersion: string } } }[];
          }
        ).items.map((n) => [n.metadata.name, n.status.nodeInfo.containerRuntimeVersion]),
      );
      assert.equal(runtimes['legacy-0'], 'containerd://1.7.22');
      assert.equal(runtimes['modern-0'], 'containerd://2.1.4');

      const base = ['--kubeconfig', fx.kubeconfigPath, '--to', '1.36.1'];
      const inPlace = await precheck([...base, '--strategy', 'in-place']);
      assert.equal(inPlace.code, 1, inPlace.stderr);
      assert.deepEqual(runtimeFindings(inPlace.report), ['blocker legacy-0,legacy-1']);
      const blocker = inPlace.report.findings.find((f) => f.rule === 'node-runtime');
      assert.match(
        blocker?.message ?? '',
        /legacy-0 runs containerd 1\.7\.22 \(1\.36 needs containerd 2\.0\.0 or later\)/,
      );

      const replace = await precheck(base);
      assert.equal(replace.code, 0, JSON.stringify(replace.report.findings.filter((f) => f.severity === 'blocker')));
      assert.deepEqual(runtimeFindings(replace.report), ['warning legacy-0,legacy-1']);
      assert.match(
        replace.report.findings.find((f) => f.rule === 'node-runtime')?.message ?? '',
        /rolling replacement boots their replacements from the provider's machine image for 1\.36\.1/,
      );

      // A run asked in place checks the same before anything moves, and fails on it.
      const run = await steerRun(fx, { to: '1.36.1', poolOptions: { strategy: 'in-place' } });
      try {
        const failed = await run.waitFor('the run precheck to fail', (s) => s.status.phase === 'failed');
        assert.ok(failed.status.phase === 'failed');
        assert.equal(failed.status.code, 'precheck-failed');
        assert.match(failed.status.reason, /node-runtime: pool legacy: legacy-0 runs containerd 1\.7\.22/);
        assert.ok(
          (await listNodes(fx.sim)).every((n) => n.kubeletVersion === 'v1.35.5'),
          'nothing moved',
        );
      } finally {
        await run.stop().catch(() => undefined);
      }
    } finally {
      await fx.close();
    }
  });
});
