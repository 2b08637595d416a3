/**
 * `kup versions` and `kup catalog update`: the catalog in force, what a live cluster can move to, and a catalog
 * update from a file or a URL that is validated whole before it replaces anything.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { runCatalogCommand, runVersionsCommand } from '../../src/cli/commands/versions.ts';
import { startFromYaml } from '../helpers/sim.ts';

async function kup(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => new Writable({ write: (chunk: Buffer, _e, cb) => (append(chunk.toString()), cb()) });
  const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

/** An io that keeps what a command writes, for commands called directly (with an injected day). */
function capture(): { stdout: Writable; stderr: Writable; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: new Writable({ write: (chunk: Buffer, _e, cb) => ((out += chunk.toString()), cb()) }),
    stderr: new Writable({ write: (chunk: Buffer, _e, cb) => ((err += chunk.toString()), cb()) }),
    out: () => out,
    err: () => err,
  };
}

const shipped = JSON.parse(readFileSync(join(import.meta.dirname, '../../src/versions/catalog-data.json'), 'utf8')) as {
  releases: { version: string; releaseDate: string }[];
};

describe('kup versions and kup catalog update', () => {
  it('installs a newer catalog from a file, and a later `kup versions` uses it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
    const newer = { ...shipped, releases: [...shipped.releases, { version: '1.37.9', releaseDate: '2026-11-10' }] };
    const file = join(dataDir, 'newer.json');
    writeFileSync(file, JSON.stringify(newer));
    const update = await kup(['catalog', 'update', '--from', file, '--data-dir', dataDir]);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /newest 1\.37\.9/);
    const versions = await kup(['versions', '-o', 'json', '--data-dir', dataDir]);
    const doc = JSON.parse(versions.stdout) as { catalogSource: string; minors: { minor: string; latest?: string }[] };
    assert.equal(doc.catalogSource, 'installed');
    assert.equal(doc.minors.find((m) => m.minor === '1.37')?.latest, '1.37.9');
  });

  it('merges the endoflife.date API and the kubernetes/website release data into the catalog in force, says what changed, keeps the rest', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
    const testData = (name: string) => join(import.meta.dirname, '../data/catalog', name);
    const now = new Date('2026-12-20T09:00:00Z');
    const eol = capture();
    assert.equal(await runCatalogCommand(['update', '--from', testData('endoflife-date-kubernetes.json'), '--data-dir', dataDir], eol, now), 0, eol.err());
    assert.equal(
      eol.out(),
      `catalog installed from ${testData('endoflife-date-kubernetes.json')}, endoflife.date release data merged into the shipped catalog: 14 minors, 194 releases (newest 1.37.3), published 2026-11-19\n` +
        '  new releases: 1.34.13, 1.35.10, 1.36.6, 1.37.3\n' +
        "  left out, older than the catalog's oldest minor 1.24: 1.23\n",
    );
    const installed = JSON.parse(readFileSync(join(dataDir, 'catalog.json'), 'utf8')) as typeof shipped & {
      published: string;
      about: string[];
      minors: { minor: string; upgradeNotes: string[]; source?: string }[];
      removedApis: unknown[];
      components: unknown[];
      machineImages: unknown[];
    };
    const shippedDoc = shipped as unknown as typeof installed;
    // kup's own fields stay: upgrade notes, removed APIs, component compatibility, images.
    assert.deepEqual(installed.minors.find((m) => m.minor === '1.36')?.upgradeNotes, shippedDoc.minors.find((m) => m.minor === '1.36')?.upgradeNotes);
    assert.deepEqual([installed.removedApis, installed.components, installed.machineImages], [shippedDoc.removedApis, shippedDoc.components, shippedDoc.machineImages]);
    // The estimate of 1.37's support dates gives way to upstream's.
    assert.equal(installed.minors.find((m) => m.minor === '1.37')?.source, undefined);
    assert.match(installed.about.at(-1) ?? '', /^Release dates merged from the endoflife\.date API \(.*endoflife-date-kubernetes\.json\) on 2026-12-20/);

    const site = capture();
    assert.equal(await runCatalogCommand(['update', '--from', testData('kubernetes-website-releases.yaml'), '--data-dir', dataDir], site, now), 0, site.err());
    assert.equal(
      site.out(),
      `catalog installed from ${testData('kubernetes-website-releases.yaml')}, kubernetes-website release data merged into the installed catalog: 15 minors, 196 releases (newest 1.38.0), published 2026-12-20\n` +
        '  new minor 1.38 (released 2026-12-16, end of life 2028-02-28)\n' +
        '  new releases: 1.37.4, 1.38.0\n' +
        '  1.35.9 released: 2026-09-23 -> 2026-09-15\n' +
        '  1.37.1 released: 2026-09-23 -> 2026-09-15\n',
    );
    const again = capture();
    assert.equal(await runCatalogCommand(['update', '--from', testData('kubernetes-website-releases.yaml'), '--data-dir', dataDir], again, now), 0);
    assert.match(again.out(), /\n  no change\n$/);
    const versions = await kup(['versions', '-o', 'json', '--data-dir', dataDir]);
    const doc = JSON.parse(versions.stdout) as { minors: { minor: string; latest?: string }[] };
    assert.equal(doc.minors.find((m) => m.minor === '1.37')?.latest, '1.37.4');

    // A bad source changes nothing: the installed file is byte for byte what it was.
    const before = readFileSync(join(dataDir, 'catalog.json'), 'utf8');
    const bad = join(dataDir, 'bad-releases.yaml');
    writeFileSync(bad, readFileSync(testData('kubernetes-website-releases.yaml'), 'utf8').replace('eolDate: "2027-10-28"', 'eolDate: "2025-01-01"'));
    const refused = await kup(['catalog', 'update', '--from', bad, '--data-dir', dataDir]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /KUP-CATALOG-010: .*bad-releases\.yaml: merged with the catalog in force: KUP-CATALOG-001: minors\[\d+\]\.endOfLife: "2025-01-01" is before releaseDate "2026-08-26"/);
    assert.equal(readFileSync(join(dataDir, 'catalog.json'), 'utf8'), before);
  });

  it('says how old the catalog is, and warns when it is older than 30 days', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
    const fresh = capture();
    assert.equal(await runVersionsCommand(['--data-dir', dataDir], fresh, new Date('2026-12-10T12:00:00Z')), 0);
    assert.match(fresh.out(), /^Kubernetes releases \(catalog: shipped, published 2026-12-07, 3 days old\)\n/);
    assert.equal(fresh.err(), '');
    const old = capture();
    assert.equal(await runVersionsCommand(['--data-dir', dataDir, '-o', 'json'], old, new Date('2027-01-21T12:00:00Z')), 0);
    assert.match(old.err(), /^warning: the version catalog is 45 days old \(published 2026-12-07\): newer patches, security fixes among them, are likely out\. Update it: kup catalog update --from URL\|FILE\n$/);
    assert.deepEqual((JSON.parse(old.out()) as { catalog: unknown }).catalog, { source: 'shipped', since: '2026-12-07', ageDays: 45, stale: true });
    const edge = capture();
    assert.equal(await runVersionsCommand(['--data-dir', dataDir], edge, new Date('2027-01-06T23:00:00Z')), 0);
    assert.equal(edge.err(), '', '30 days old is not yet stale');
  });

  it('fetches a catalog from a URL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
    const server = createServer((_req, res) => res.end(JSON.stringify(shipped)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/catalog.json`;
      const update = await kup(['catalog', 'update', '--from', url, '--data-dir', dataDir]);
      assert.equal(update.code, 0, update.stderr);
      assert.ok(existsSync(join(dataDir, 'catalog.json')));
    } finally {
      server.close();
    }
  });

  it('refuses an invalid catalog and keeps the one in force', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
    const bad = join(dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...shipped, releases: [{ version: '1.3x.0', releaseDate: '2026-01-01' }] }));
    const update = await kup(['catalog', 'update', '--from', bad, '--data-dir', dataDir]);
    assert.equal(update.code, 2);
    assert.match(update.stderr, /KUP-CATALOG-010: .*bad\.json: KUP-CATALOG-001: releases\[0\]\.version/);
    assert.equal(existsSync(join(dataDir, 'catalog.json')), false);
    const notJson = join(dataDir, 'x.json');
    writeFileSync(notJson, '{');
    assert.equal((await kup(['catalog', 'update', '--from', notJson, '--data-dir', dataDir])).code, 2);
    assert.equal((await kup(['catalog', 'update', '--data-dir', dataDir])).code, 2);
  });

  it('tells a cluster on an expired minor that its support ended, and the way back hop by hop', async () => {
    const cluster = await startFromYaml('name: old\nkubernetesVersion: 1.30.6\ncontrolPlane:\n  nodes: 1\npools:\n  - name: w\n    nodes: 1\ntimings:\n  zeroDelay: true\n');
    try {
      const dir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, cluster.kubeconfig);
      const io = capture();
      assert.equal(await runVersionsCommand(['--kubeconfig', kubeconfig, '--data-dir', dir], io, new Date('2026-12-07T12:00:00Z')), 0);
      assert.match(io.out(), /runs v1\.30\.6\.\n  1\.30 is past its end of support \(2025-07-15\)/);
      assert.match(io.out(), /to the oldest supported minor \(1\.35\), 5 hops: 1\.31\.14 -> 1\.32\.13 -> 1\.33\.13 -> 1\.34\.12 -> 1\.35\.9\n/);
      assert.match(io.out(), /to the newest minor \(1\.37\), 7 hops: 1\.31\.14 -> .* -> 1\.36\.5 -> 1\.37\.2\n/);
      assert.match(io.out(), /newer patches: 1\.30\.14 \(expired\)\n  next minor: 1\.31\.14 \(expired\)\n/);
    } finally {
      await cluster.stop();
    }
  });

  it('shows what a live cluster can move to', async () => {
    const cluster = await startFromYaml('name: versions\nkubernetesVersion: 1.35.2\ncontrolPlane:\n  nodes: 1\npools:\n  - name: w\n    nodes: 1\ntimings:\n  zeroDelay: true\n');
    try {
      const dir = mkdtempSync(join(tmpdir(), 'kup-cat-'));
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, cluster.kubeconfig);
      const out = await kup(['versions', '--kubeconfig', kubeconfig, '-o', 'json', '--data-dir', dir]);
      assert.equal(out.code, 0, out.stderr);
      const doc = JSON.parse(out.stdout) as { cluster: { version: string; upgrades: { patches: { version: string }[]; nextMinor: { version: string }[]; downgrade?: { version: string } } } };
      assert.equal(doc.cluster.version, 'v1.35.2');
      assert.ok(doc.cluster.upgrades.patches.some((p) => p.version === '1.35.3'));
      assert.ok(doc.cluster.upgrades.nextMinor.every((p) => p.version.startsWith('1.36.')) && doc.cluster.upgrades.nextMinor.length > 0);
      assert.equal(doc.cluster.upgrades.downgrade?.version, '1.35.1');
      const table = await kup(['versions', '--kubeconfig', kubeconfig, '--data-dir', dir]);
      assert.match(table.stdout, /Cluster versions runs v1\.35\.2\./);
      const added = await kup(['cluster', 'add', 'edge', '--kubeconfig', kubeconfig, '--provider', 'sim', '--data-dir', dir]);
      assert.equal(added.code, 0, added.stderr);
      const registered = await kup(['versions', '--cluster', 'edge', '--data-dir', dir]);
      assert.equal(registered.code, 0, registered.stderr);
      assert.match(registered.stdout, /runs v1\.35\.2\.\n\s+newer patches: 1\.35\.3/);
      const unknown = await kup(['versions', '--cluster', 'nope', '--data-dir', dir]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /--cluster: "nope" is not registered/);
    } finally {
      await cluster.stop();
    }
  });
});
