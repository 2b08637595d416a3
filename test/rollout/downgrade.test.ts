/**
 * A downgrade is called a downgrade: one patch back (1.36.1 -> 1.36.0) through the real command line, whose plan,
 * run, progress and log say "downgrade" and never call the move to an older version an upgrade.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAST_TIMINGS, assertClusterAt, kupProcess, startRolloutFixture } from '../helpers/rollout.ts';

describe('a downgrade, end to end on kube-sim', { timeout: 240_000 }, () => {
  it('kup plan, upgrade --wait and status call 1.36.1 -> 1.36.0 a downgrade', async () => {
    const fx = await startRolloutFixture(
      'back',
      `
name: back
kubernetesVersion: '1.36.1'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 2, pdb: { maxUnavailable: 1 } }
${FAST_TIMINGS}
`,
    );
    try {
      const planned = await kupProcess(fx.dataDir, ['plan', 'back', '--to', '1.36.0']);
      assert.equal(planned.code, 0, `${planned.stdout}\n${planned.stderr}`);
      assert.match(planned.stdout, /^Plan for back: 1\.36\.1 -> 1\.36\.0 \(version downgrade\),/m);
      assert.match(planned.stdout, /^Precheck of cluster back \(.*\): 1\.36\.1 -> 1\.36\.0 \(downgrade\)$/m);
      assert.match(planned.stdout, /the downgrade may start\.$/m);
      assert.doesNotMatch(planned.stdout, /upgrade may start|\(version upgrade\)/);

      const run = await kupProcess(fx.dataDir, ['upgrade', 'back', '--to', '1.36.0', '--yes', '--wait']);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^run run-\S+ created: back 1\.36\.1 -> 1\.36\.0 \(downgrade\),/m);
      assert.match(run.stdout, / downgrading-pools /);
      assert.doesNotMatch(run.stdout, /upgrading-/);

      const status = await kupProcess(fx.dataDir, ['status', 'back']);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /started: back 1\.36\.1 -> 1\.36\.0 \(downgrade\)/);
      assert.match(status.stdout, /downgrading pool workers to 1\.36\.0/);
      assert.match(status.stdout, /downgrading the control plane 1\.36\.1 -> 1\.36\.0/);
      assert.match(status.stdout, /validating the downgraded cluster/);
      assert.match(status.stdout, /downgrade finished: back 1\.36\.1 -> 1\.36\.0 \(downgrade\)/);
      assert.doesNotMatch(status.stdout, /upgrade finished|upgrading/);

      await assertClusterAt(fx.sim, {
        version: '1.36.0',
        controlPlane: { version: '1.36.0', count: 1 },
        pools: { workers: { version: '1.36.0', count: 2 } },
      });
    } finally {
      await fx.close();
    }
  });
});
