/**
 * kup's data directory and what it writes there are its owner's alone, whichever command creates them first; a data
 * directory that cannot be created is an error at once; kube-sim writes its kubeconfig (a token) without following a
 * planted symlink.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseScenario } from '../../src/kube-sim/scenario/parse.ts';
import { startSimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { kupProcess } from '../helpers/rollout.ts';

const mode = (path: string): number => statSync(path).mode & 0o777;
const SHIPPED_CATALOG = resolve(import.meta.dirname, '..', '..', 'src', 'versions', 'catalog-data.json');

describe('the data directory', () => {
  it('is 0700 with 0600 files when `kup catalog update` creates it first, and kup.db, its WAL and run logs follow', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'kup-modes-')), 'nested', 'data');
    const updated = await kupProcess(dataDir, ['catalog', 'update', '--from', SHIPPED_CATALOG]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(mode(dataDir), 0o700);
    assert.equal(mode(join(dataDir, '..')), 0o700, 'a parent kup created is private too');
    const listed = await kupProcess(dataDir, ['cluster', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    for (const file of ['kup.db', 'kup.db-wal']) {
      if (lstatSync(join(dataDir, file), { throwIfNoEntry: false })) assert.equal(mode(join(dataDir, file)), 0o600, file);
    }
    assert.equal(mode(join(dataDir, 'kup.db')), 0o600);
    const catalogs = ['catalog.json'].map((f) => join(dataDir, f)).filter((f) => lstatSync(f, { throwIfNoEntry: false }));
    assert.ok(catalogs.length > 0, 'the installed catalog is in the data directory');
    for (const f of catalogs) assert.equal(mode(f), 0o600, f);
  });

  it('that cannot be created (under /proc) is an error naming it, at once, not a spinning process', async () => {
    const started = Date.now();
    const listed = await kupProcess('/proc/kup-data', ['cluster', 'list'], 20_000);
    assert.equal(listed.code, 1, listed.stderr);
    assert.match(listed.stderr, /KUP-STORE-001: cannot create the directory \/proc\/kup-data/);
    assert.ok(Date.now() - started < 20_000);
  });
});

describe("kube-sim's kubeconfig", () => {
  it('is written 0600 by kube-sim itself: a symlink planted at the path is replaced, its target left untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kup-kubeconfig-'));
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    const path = join(dir, 'sim.kubeconfig');
    symlinkSync(victim, path);
    const sim = await startSimCluster({
      scenario: parseScenario("name: tiny\nkubernetesVersion: '1.35.2'\ncontrolPlane: { nodes: 1 }\npools: []\n", 'test'),
      kubeconfigPath: path,
    });
    try {
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
      assert.ok(lstatSync(path).isFile(), 'the kubeconfig is a file of its own, not the link');
      assert.equal(mode(path), 0o600);
      assert.match(readFileSync(path, 'utf8'), /token: /);
    } finally {
      await sim.stop();
    }
  });
});
