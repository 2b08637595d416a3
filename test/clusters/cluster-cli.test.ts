/**
 * `kup cluster` end to end: clusters registered from kube-sim kubeconfigs, listed with the version and nodes they
 * report over HTTPS and the upgrades the catalog offers them, shown, and removed (refused while a run is active);
 * bad input exits 2 naming the flag.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runClusterCommand } from '../../src/cli/commands/cluster.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { parsePolicy } from '../../src/maintenance/auto-upgrade.ts';
import { parseSchedule } from '../../src/maintenance/schedule.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';
import { availableUpgrades, defaultCatalog } from '../../src/versions/index.ts';
import { startFromYaml } from '../helpers/sim.ts';

/** A day on which 1.30 and 1.31 are both supported by the shipped catalog: the test does not rot as they expire. */
const NOW = Date.parse('2025-01-15T12:00:00Z');

const dir = mkdtempSync(join(tmpdir(), 'kup-cluster-cli-'));
const dataDir = join(dir, 'data');

async function kup(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        write(chunk.toString());
        done();
      },
    });
  const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) };
  const code = await runClusterCommand([...args, '--data-dir', dataDir], io, { now: () => NOW, probeTimeoutMs: 3000 });
  return { code, stdout, stderr };
}

function kubeconfigFile(cluster: SimCluster, name: string): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, cluster.kubeconfig, { mode: 0o600 });
  return path;
}

describe('kup cluster against kube-sim', { timeout: 120_000 }, () => {
  let prod: SimCluster;
  let gone: SimCluster;
  let prodKubeconfig: string;
  let goneKubeconfig: string;

  before(async () => {
    prod = await startFromYaml(`
name: prod
kubernetesVersion: '1.30.2'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 3 }
timings: { zeroDelay: true }
`);
    gone = await startFromYaml(`
name: gone
kubernetesVersion: '1.31.1'
pools:
  - { name: workers, nodes: 1 }
timings: { zeroDelay: true }
`);
    prodKubeconfig = kubeconfigFile(prod, 'prod');
    goneKubeconfig = kubeconfigFile(gone, 'gone');
  });

  after(async () => {
    await prod?.stop();
    await gone?.stop();
  });

  it('says there is nothing registered yet', async () => {
    const r = await kup(['list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^No clusters registered\. Add one: kup cluster add NAME --kubeconfig FILE --provider sim\n$/);
    assert.deepEqual(JSON.parse((await kup(['list', '-o', 'json'])).stdout), []);
  });

  it('adds clusters, and lists each with its version, nodes and the newest patch and next minor', async () => {
    const added = await kup(['add', 'prod', '--kubeconfig', prodKubeconfig, '--provider', 'sim']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, `cluster prod added: provider sim, kubeconfig ${prodKubeconfig}, context prod\n`);
    const second = await kup(['add', 'gone', '--kubeconfig', goneKubeconfig, '--context', 'gone', '--provider', 'sim']);
    assert.equal(second.code, 0, second.stderr);
    await gone.stop(); // from now on it does not answer

    const expected = availableUpgrades('1.30.2', defaultCatalog(), new Date(NOW));
    const newestPatch = expected.patches.at(-1)?.version;
    const newestMinor = expected.nextMinor.at(-1)?.version;
    assert.ok(newestPatch?.startsWith('1.30.') && newestMinor?.startsWith('1.31.'), 'the catalog offers 1.30.2 a patch and a minor');

    const r = await kup(['list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
    assert.deepEqual(lines, [
      ['NAME', 'PROVIDER', 'VERSION', 'NODES', 'UPGRADE'],
      ['gone', 'sim', 'unreachable', '-', '-'],
      ['prod', 'sim', 'v1.30.2', '4', `patch ${newestPatch}, minor ${newestMinor}`],
    ]);

    const json = JSON.parse((await kup(['list', '-o', 'json'])).stdout) as Record<string, unknown>[];
    assert.equal(json.length, 2);
    assert.equal(json[0]?.['name'], 'gone');
    assert.equal(json[0]?.['reachable'], false);
    assert.match(String(json[0]?.['error']), /ECONNREFUSED|no answer/);
    const p = json[1] as { reachable: boolean; version: string; nodes: number; kubeletVersions: Record<string, number>; server: string; upgrades: { newestPatch: string; newestNextMinor: string; known: boolean } };
    assert.equal(p.reachable, true);
    assert.equal(p.version, 'v1.30.2');
    assert.equal(p.server, prod.url);
    assert.equal(p.nodes, 4);
    assert.deepEqual(p.kubeletVersions, { 'v1.30.2': 4 });
    assert.deepEqual([p.upgrades.known, p.upgrades.newestPatch, p.upgrades.newestNextMinor], [true, newestPatch, newestMinor]);
  });

  it('shows one cluster: its record, what it runs now, and its runs', async () => {
    const r = await kup(['show', 'prod']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Name: +prod$/m);
    assert.match(r.stdout, new RegExp(`^Kubeconfig: +${prodKubeconfig.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, /^Context: +prod$/m);
    assert.match(r.stdout, /^Version: +v1\.30\.2$/m);
    assert.match(r.stdout, /^Nodes: +4 \(kubelet v1\.30\.2 x4\)$/m);
    assert.match(r.stdout, /^ {2}next minor: +1\.31\.0, /m);
    assert.match(r.stdout, /^Runs: +0$/m);
    const down = await kup(['show', 'gone', '-o', 'json']);
    assert.equal(down.code, 0, down.stderr);
    const doc = JSON.parse(down.stdout) as { reachable: boolean; runs: unknown[] };
    assert.deepEqual([doc.reachable, doc.runs], [false, []]);
  });

  it('refuses a duplicate (exit 1) and bad input (exit 2, naming the argument or flag)', async () => {
    const dup = await kup(['add', 'prod', '--kubeconfig', prodKubeconfig, '--provider', 'sim']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /KUP-REGISTRY-005: a cluster named prod is already registered/);

    const cases: [string[], RegExp][] = [
      [['add', 'Prod', '--kubeconfig', prodKubeconfig, '--provider', 'sim'], /^kup cluster: NAME: KUP-REGISTRY-001: cluster name "Prod" is not a DNS label/],
      [['add', 'x', '--kubeconfig', join(dir, 'nope'), '--provider', 'sim'], /^kup cluster: --kubeconfig: KUP-REGISTRY-002: kubeconfig .*nope does not exist/],
      [['add', 'x', '--kubeconfig', prodKubeconfig, '--context', 'other', '--provider', 'sim'], /^kup cluster: --context: KUP-REGISTRY-003: context "other" is not in kubeconfig .* \(it has: prod\)/],
      [['add', 'x', '--kubeconfig', prodKubeconfig, '--provider', 'gke'], /^kup cluster: --provider: KUP-REGISTRY-004: unknown provider "gke"/],
      [['add', 'x', '--kubeconfig', prodKubeconfig], /^kup cluster: --provider is required/],
      [['add', 'x', '--provider', 'sim'], /^kup cluster: --kubeconfig FILE is required/],
      [['add', '--kubeconfig', prodKubeconfig, '--provider', 'sim'], /^kup cluster: NAME is required: kup cluster add NAME/],
      [['list', '-o', 'yaml'], /^kup cluster: -o: "yaml" is not one of table, json/],
      [['list', '--kubeconfig', prodKubeconfig], /^kup cluster: --kubeconfig: not a flag of 'kup cluster list'/],
      [['upgrade'], /^kup cluster: unknown subcommand "upgrade"/],
      [[], /^kup cluster: a subcommand is required/],
      [['remove', 'a', 'b'], /^kup cluster: unexpected argument "b"/],
      [['list', '--colour'], /^kup cluster: Unknown option '--colour'/],
    ];
    for (const [args, stderr] of cases) {
      const r = await kup(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, stderr, args.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.deepEqual((JSON.parse((await kup(['list', '-o', 'json'])).stdout) as { name: string }[]).map((c) => c.name), ['gone', 'prod']);
  });

  it('refuses to remove a cluster while a run of it is active, naming the run; removes it afterwards', async () => {
    const store = openSqliteStore({ dataDir });
    try {
      await store.runs.create({ id: 'run-20250115-120000-abcdef', cluster: 'prod', target: '1.31.5', plan: {}, state: {}, phase: 'upgrading-pools', createdAt: NOW });
    } finally {
      await store.close();
    }
    const busy = await kup(['remove', 'prod']);
    assert.equal(busy.code, 1);
    assert.equal(
      busy.stderr,
      'kup cluster: KUP-REGISTRY-007: cluster prod has an active run: run-20250115-120000-abcdef; let it finish or cancel it first (kup cancel run-20250115-120000-abcdef)\n',
    );
    const shown = await kup(['show', 'prod']);
    assert.match(shown.stdout, /^Runs: +1 \(active: run-20250115-120000-abcdef upgrading-pools\)$/m);

    const later = openSqliteStore({ dataDir });
    try {
      await later.runs.saveState('run-20250115-120000-abcdef', 1, { state: {}, phase: 'succeeded', active: false, at: NOW + 1 });
    } finally {
      await later.close();
    }
    const removed = await kup(['remove', 'prod']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'cluster prod removed; its 1 finished run and their events are kept (kup status RUN; --purge-history deletes them)\n');
    const history = openSqliteStore({ dataDir });
    try {
      assert.equal((await history.runs.get('run-20250115-120000-abcdef'))?.phase, 'succeeded', 'the history stays');
    } finally {
      await history.close();
    }
    const gone = await kup(['remove', 'gone']);
    assert.equal(gone.stdout, 'cluster gone removed\n');
    const again = await kup(['show', 'prod']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /KUP-REGISTRY-006: no cluster named prod is registered/);
    assert.match((await kup(['list'])).stdout, /^No clusters registered/);
    // Registered again, the name has its history; --purge-history deletes it with the cluster.
    assert.equal((await kup(['add', 'prod', '--kubeconfig', prodKubeconfig, '--provider', 'sim'])).code, 0);
    const purged = await kup(['remove', 'prod', '--purge-history']);
    assert.equal(purged.stdout, 'cluster prod removed, with 1 finished run and their events\n', purged.stderr);
  });

  it('shows the upgrade information: the next window, what would be upgraded in it and why, end of support, runs by trigger', async () => {
    assert.equal((await kup(['add', 'auto', '--kubeconfig', prodKubeconfig, '--provider', 'sim'])).code, 0);
    const store = openSqliteStore({ dataDir });
    try {
      await store.lifecycle.put({
        cluster: 'auto',
        labels: { env: 'prod' },
        // NOW is a Wednesday: the next window opens on Saturday.
        schedule: parseSchedule({ windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'UTC' }] }),
        policy: parsePolicy({ kubernetes: 'patch' }),
        updatedAt: NOW,
      });
      const run = (id: string, request: unknown, createdAt: number) =>
        store.runs.create({ id, cluster: 'auto', target: '1.30.2', plan: {}, state: {}, request, phase: 'succeeded', active: false, createdAt });
      await run('run-20250111-020000-aaaaaa', { to: '1.30.2', trigger: { kind: 'automatic', reasons: ['patch'], upgrade: { minor: false, nodes: true }, window: { start: NOW - 1, end: NOW } } }, NOW - 2000);
      await run('run-20250112-020000-bbbbbb', { to: '1.30.2', rollout: 'r-1/auto/1' }, NOW - 1000);
      await run('run-20250113-020000-cccccc', { to: '1.30.2' }, NOW - 500);
    } finally {
      await store.close();
    }
    const patch = availableUpgrades('1.30.2', defaultCatalog(), new Date(NOW)).patches.at(-1)?.version ?? '';
    const r = await kup(['show', 'auto']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Maintenance:\n {2}labels: env=prod\n {2}policy: kubernetes patch, images none\n {2}window: sat 02:00 for 240 min \(UTC\)$/m);
    assert.match(r.stdout, /^ {2}control plane: 1\.30\.2 \(\w+, end of support \d{4}-\d{2}-\d{2}\)$/m);
    assert.match(r.stdout, /^ {2}next window: 2025-01-18T02:00:00\.000Z to 2025-01-18T06:00:00\.000Z$/m);
    assert.match(r.stdout, new RegExp(`^ {2}automatic upgrade: Kubernetes ${patch.replace(/\./g, '\\.')} \\(a patch upgrade\\), at 2025-01-18T02:00:00\\.000Z$`, 'm'));
    assert.match(r.stdout, /^ {2}- runs in the next window, 2025-01-18T02:00:00\.000Z$/m);
    assert.match(
      r.stdout,
      /^History:\n {2}run run-20250113-020000-cccccc: manual, .*\n {2}run run-20250112-020000-bbbbbb: rollout, .*\n {2}run run-20250111-020000-aaaaaa: automatic, to 1\.30\.2, succeeded, created 2025-01-15T11:59:58\.000Z$/m,
    );
    const doc = JSON.parse((await kup(['show', 'auto', '-o', 'json'])).stdout) as {
      upgradeInformation: { run: { to: string } };
      runs: { id: string; trigger: string }[];
    };
    assert.equal(doc.upgradeInformation.run.to, patch);
    assert.deepEqual(
      doc.runs.map((x) => x.trigger),
      ['manual', 'rollout', 'automatic'],
    );
  });
});
