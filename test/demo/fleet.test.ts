/**
 * The demo fleet as `kup serve --demo` starts it: five simulated clusters registered and reachable with kubectl, one
 * upgraded by the real kup command line, the new version recorded while the fleet runs, and every cluster rebuilt at
 * its recorded version by a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { DemoFleetError } from '../../src/demo/errors.ts';
import type { DemoFleet } from '../../src/demo/fleet.ts';
import { startDemoFleet } from '../../src/demo/fleet.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';
import type { Catalog } from '../../src/versions/index.ts';
import { catalogOverview } from '../../src/versions/index.ts';
import { kubectlFor, ok } from '../helpers/kubectl.ts';
import { kupProcess } from '../helpers/rollout.ts';

const catalog = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'src', 'versions', 'catalog-data.json'), 'utf8'),
) as Catalog;

/** What kubectl says of a cluster: the API server's version and each node's kubelet (control plane's included). */
async function versionsViaKubectl(kubeconfigPath: string): Promise<{ server: string; kubelets: string[] }> {
  const kubectl = kubectlFor(readFileSync(kubeconfigPath, 'utf8'));
  const version = JSON.parse(await ok(kubectl(['version', '-o', 'json']))) as { serverVersion: { gitVersion: string } };
  const nodes = JSON.parse(await ok(kubectl(['get', 'nodes', '-o', 'json']))) as {
    items: { status: { nodeInfo: { kubeletVersion: string } } }[];
  };
  return {
    server: version.serverVersion.gitVersion,
    kubelets: nodes.items.map((n) => n.status.nodeInfo.kubeletVersion),
  };
}

function recordedVersion(fleet: DemoFleet, cluster: string): string | undefined {
  const state = JSON.parse(readFileSync(join(fleet.dir, 'fleet.json'), 'utf8')) as {
    clusters: Record<string, { versions: { kubernetesVersion: string } }>;
  };
  return state.clusters[cluster]?.versions.kubernetesVersion;
}

describe('demo fleet', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kup-demo-fleet-'));
  const store = openSqliteStore({ dataDir });
  const started: DemoFleet[] = [];
  after(async () => {
    for (const fleet of started) await fleet.stop();
    await store.close();
  });

  it('starts five clusters, an upgrade is recorded as it lands, and a restart rebuilds each at its recorded version', async () => {
    const fleet = await startDemoFleet({ dataDir, store, catalog });
    started.push(fleet);
    assert.deepEqual(
      fleet.clusters.map((c) => c.name),
      ['dev', 'staging', 'prod', 'legacy', 'expired'],
    );
    assert.ok(fleet.clusters.every((c) => !c.restored));
    assert.equal(statSync(fleet.dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(fleet.dir, 'fleet.json')).mode & 0o777, 0o600);
    const registered = await store.clusters.list();
    assert.deepEqual(registered.map((c) => `${c.name}:${c.provider}`).sort(), [
      'dev:sim',
      'expired:sim',
      'legacy:sim',
      'prod:sim',
      'staging:sim',
    ]);

    const minors = catalogOverview(catalog, new Date());
    const supported = minors.filter((m) => m.classification === 'supported');
    const oldest = supported.at(-1)?.latest ?? '?';
    const next = supported.at(-2)?.latest ?? '?';
    const before = new Map<string, { server: string; kubelets: string[] }>();
    for (const c of fleet.clusters) before.set(c.name, await versionsViaKubectl(c.kubeconfigPath));
    assert.deepEqual(before.get('dev'), { server: `v${oldest}`, kubelets: Array<string>(1 + 3).fill(`v${oldest}`) });
    assert.equal(before.get('staging')?.kubelets.length, 1 + 6);
    assert.equal(before.get('prod')?.kubelets.length, 3 + 8 + 8);
    assert.equal(minors.find((m) => `v${m.latest}` === before.get('expired')?.server)?.classification, 'expired');

    // The legacy cluster's precheck to the next minor stops on the API it still applies.
    const legacyTo = `1.${Number(before.get('legacy')?.server.split('.')[1]) + 1}`;
    const legacyTarget = minors.find((m) => m.minor === legacyTo)?.latest ?? '?';
    const legacy = fleet.clusters.find((c) => c.name === 'legacy');
    const precheck = await kupProcess(dataDir, [
      'precheck',
      '--kubeconfig',
      legacy?.kubeconfigPath ?? '?',
      '--to',
      legacyTarget,
      '-o',
      'json',
    ]);
    assert.equal(precheck.code, 1, precheck.stderr);
    const report = JSON.parse(precheck.stdout) as { findings: { rule: string; severity: string }[] };
    assert.ok(
      report.findings.some((f) => f.rule === 'deprecated-apis' && f.severity === 'blocker'),
      precheck.stdout,
    );

    // dev moves one minor through the real command line, against the registered cluster.
    const upgrade = await kupProcess(dataDir, ['upgrade', 'dev', '--to', next, '--yes', '--wait'], 300_000);
    assert.equal(upgrade.code, 0, `${upgrade.stdout}\n${upgrade.stderr}`);
    // Recorded while the fleet runs (a fleet killed now would come back at the new version), not only when it stops.
    await waitFor(() => recordedVersion(fleet, 'dev') === next || undefined, {
      message: `dev recorded at ${next}`,
      timeoutMs: 10_000,
    });
    await fleet.stop();
    started.pop();

    const again = await startDemoFleet({ dataDir, store, catalog });
    started.push(again);
    assert.ok(again.clusters.every((c) => c.restored));
    assert.equal((await store.clusters.list()).length, 5);
    for (const c of again.clusters) {
      const seen = await versionsViaKubectl(c.kubeconfigPath);
      if (c.name === 'dev')
        assert.deepEqual(seen, { server: `v${next}`, kubelets: Array<string>(1 + 3).fill(`v${next}`) });
      else assert.deepEqual(seen, before.get(c.name), c.name);
    }
  });

  it('refuses to shadow a cluster of the same name registered with another kubeconfig, starting nothing', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'kup-demo-fleet-taken-'));
    const other = openSqliteStore({ dataDir: otherDir });
    try {
      await other.clusters.add({
        name: 'staging',
        kubeconfigPath: '/etc/kubernetes/admin.conf',
        provider: 'sim',
        providerSettings: {},
        addedAt: 0,
      });
      await assert.rejects(startDemoFleet({ dataDir: otherDir, store: other, catalog }), (err: unknown) => {
        assert.ok(err instanceof DemoFleetError);
        assert.equal(err.code, 'KUP-DEMO-001');
        assert.match(err.message, /cluster "staging" is registered with \/etc\/kubernetes\/admin\.conf/);
        return true;
      });
      assert.deepEqual(
        (await other.clusters.list()).map((c) => c.name),
        ['staging'],
      );
    } finally {
      await other.close();
    }
  });
});
