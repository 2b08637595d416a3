import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultCatalog,
  findMinor,
  findRelease,
  latestPatch,
  loadCatalog,
  releasesOfMinor,
  serializeCatalog,
} from './catalog.ts';
import { parseVersion } from './semver.ts';

describe('defaultCatalog', () => {
  const catalog = defaultCatalog();

  it('holds every minor from 1.24 to 1.37 with its changelog and upgrade notes', () => {
    assert.deepEqual(
      catalog.minors.map((m) => m.minor),
      ['1.24', '1.25', '1.26', '1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34', '1.35', '1.36', '1.37'],
    );
    for (const m of catalog.minors) {
      assert.equal(
        m.releaseNotes,
        `https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-${m.minor}.md`,
      );
      assert.ok(m.upgradeNotes.length > 0, `${m.minor} has upgrade notes`);
      assert.ok(m.releaseDate < m.endOfLife);
    }
  });

  it('lists every patch of each minor without gaps, the .0 on the minor release day', () => {
    for (const m of catalog.minors) {
      const patches = releasesOfMinor(catalog, m.minor).map((r) => parseVersion(r.version).patch);
      assert.deepEqual(
        patches,
        patches.map((_, i) => i),
        `${m.minor} patches are contiguous from .0`,
      );
      assert.equal(findRelease(catalog, `${m.minor}.0`)?.releaseDate, m.releaseDate);
    }
  });

  it('knows the final patches and dates of the ended minors', () => {
    const finals: Record<string, string> = {
      '1.24': '1.24.17',
      '1.25': '1.25.16',
      '1.26': '1.26.15',
      '1.27': '1.27.16',
      '1.28': '1.28.15',
      '1.29': '1.29.15',
      '1.30': '1.30.14',
      '1.31': '1.31.14',
      '1.32': '1.32.13',
    };
    for (const [minor, version] of Object.entries(finals)) assert.equal(latestPatch(catalog, minor)?.version, version);
    assert.equal(findRelease(catalog, '1.24.0')?.releaseDate, '2022-05-03');
    assert.equal(findRelease(catalog, '1.25.0')?.releaseDate, '2022-08-23');
    assert.equal(findRelease(catalog, '1.28.15')?.releaseDate, '2024-10-22');
    assert.equal(findMinor(catalog, '1.34')?.endOfLife, '2026-10-27');
  });

  it('carries the removed-API table', () => {
    const psp = catalog.removedApis.find((a) => a.kind === 'PodSecurityPolicy' && a.removedIn === '1.25');
    assert.deepEqual(psp && { group: psp.group, version: psp.version, replacement: psp.replacement }, {
      group: 'policy',
      version: 'v1beta1',
      replacement: null,
    });
    const flow = catalog.removedApis
      .filter((a) => a.group === 'flowcontrol.apiserver.k8s.io')
      .map((a) => `${a.version}@${a.removedIn}`);
    assert.deepEqual([...new Set(flow)], ['v1beta1@1.26', 'v1beta2@1.29', 'v1beta3@1.32']);
  });

  it('carries component compatibility and machine images, each saying how sure it is', () => {
    const components = new Set(catalog.components.map((c) => c.component));
    for (const name of ['coredns', 'kube-proxy', 'calico', 'cilium', 'flannel', 'ingress-nginx'])
      assert.ok(components.has(name), name);
    assert.deepEqual(
      catalog.machineImages.map((i) => i.name),
      ['ubuntu-20.04', 'ubuntu-22.04', 'ubuntu-24.04', 'flatcar', 'gardenlinux'],
    );
  });

  it('is loaded once and shared', () => {
    assert.equal(defaultCatalog(), catalog);
  });
});

describe('catalog JSON round trip', () => {
  it('serializes to JSON that loads back to an equal catalog', () => {
    const catalog = defaultCatalog();
    const text = serializeCatalog(catalog);
    const reloaded = loadCatalog(JSON.parse(text));
    assert.deepEqual(reloaded, catalog);
    assert.equal(serializeCatalog(reloaded), text);
  });

  it('is plain data: JSON.stringify loses nothing', () => {
    const catalog = defaultCatalog();
    assert.deepEqual(JSON.parse(JSON.stringify(catalog)), catalog);
  });
});
