import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCatalog } from './catalog-validate.ts';
import { CatalogError } from './errors.ts';

const notes = 'https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.30.md';

/** A minimal valid catalog document; each test breaks one thing. */
function doc(): Record<string, unknown> {
  return {
    schemaVersion: 1,
    minors: [
      {
        minor: '1.30',
        releaseDate: '2024-04-17',
        maintenanceStart: '2025-04-28',
        endOfLife: '2025-06-28',
        releaseNotes: notes,
        upgradeNotes: ['n'],
      },
    ],
    releases: [
      { version: '1.30.0', releaseDate: '2024-04-17' },
      { version: '1.30.1', releaseDate: '2024-05-14' },
      { version: '1.30.2', releaseDate: '2024-06-11' },
      { version: '1.30.3', releaseDate: '2024-07-16' },
    ],
  };
}

function rejects(json: unknown, code: string, message: string, field: string): void {
  assert.throws(
    () => loadCatalog(json),
    (err: unknown) => {
      assert.ok(err instanceof CatalogError, `expected CatalogError, got ${String(err)}`);
      assert.equal(err.code, code);
      assert.equal(err.field, field);
      assert.equal(err.message, message);
      return true;
    },
  );
}

function withRelease(index: number, patch: Record<string, unknown>): Record<string, unknown> {
  const d = doc();
  const releases = [...(d.releases as Record<string, unknown>[])];
  releases[index] = { ...releases[index], ...patch };
  return { ...d, releases };
}

function withMinor(patch: Record<string, unknown>): Record<string, unknown> {
  const d = doc();
  return { ...d, minors: [{ ...(d.minors as Record<string, unknown>[])[0], ...patch }] };
}

describe('loadCatalog', () => {
  it('accepts a minimal catalog and fills defaults', () => {
    const catalog = loadCatalog(doc());
    assert.equal(catalog.releases.length, 4);
    assert.deepEqual(catalog.about, []);
    assert.deepEqual(catalog.removedApis, []);
    assert.deepEqual(catalog.components, []);
    assert.deepEqual(catalog.machineImages, []);
  });

  it('normalises versions and sorts releases oldest first, ignoring unknown fields', () => {
    const d = doc();
    const catalog = loadCatalog({
      ...d,
      futureField: { anything: true },
      releases: [
        { version: 'v1.30.10', releaseDate: '2025-01-15' },
        { version: '1.30.9', releaseDate: '2024-12-10' },
      ],
    });
    assert.deepEqual(
      catalog.releases.map((r) => r.version),
      ['1.30.9', '1.30.10'],
    );
    assert.equal('futureField' in catalog, false);
  });

  it('names the bad version field', () => {
    rejects(
      withRelease(3, { version: '1.3x.0' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: releases[3].version: "1.3x.0" is not a version',
      'releases[3].version',
    );
  });

  it('names a missing field', () => {
    rejects(
      withRelease(0, { releaseDate: undefined }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: releases[0].releaseDate: is missing (expected a date (YYYY-MM-DD))',
      'releases[0].releaseDate',
    );
  });

  it('refuses a day that is not on the calendar', () => {
    rejects(
      withRelease(1, { releaseDate: '2024-02-30' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: releases[1].releaseDate: "2024-02-30" is not a date (YYYY-MM-DD)',
      'releases[1].releaseDate',
    );
  });

  it('refuses an unknown classification', () => {
    rejects(
      withRelease(2, { classification: 'retired' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: releases[2].classification: "retired" is not one of preview, supported, deprecated, expired',
      'releases[2].classification',
    );
  });

  it('keeps where dates come from and the day the data was published, and refuses an unknown source', () => {
    const catalog = loadCatalog({
      ...withRelease(3, { source: 'go-module-proxy' }),
      published: '2026-12-07',
      minors: [{ ...(doc().minors as Record<string, unknown>[])[0], source: 'estimated' }],
    });
    assert.equal(catalog.published, '2026-12-07');
    assert.equal(catalog.releases[3]?.source, 'go-module-proxy');
    assert.equal(catalog.releases[2]?.source, undefined);
    assert.equal(catalog.minors[0]?.source, 'estimated');
    rejects(
      withRelease(0, { source: 'blog' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: releases[0].source: "blog" is not one of release-data, go-module-proxy, estimated',
      'releases[0].source',
    );
    rejects(
      { ...doc(), published: 'yesterday' },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: published: "yesterday" is not a date (YYYY-MM-DD)',
      'published',
    );
  });

  it('refuses a duplicate version, even spelled differently', () => {
    rejects(
      withRelease(3, { version: 'v1.30.0' }),
      'KUP-CATALOG-002',
      'KUP-CATALOG-002: releases[3].version: version "1.30.0" appears twice',
      'releases[3].version',
    );
  });

  it('refuses a release of a minor the catalog does not declare', () => {
    rejects(
      withRelease(1, { version: '1.31.0' }),
      'KUP-CATALOG-003',
      'KUP-CATALOG-003: releases[1].version: minor 1.31 of "1.31.0" is not declared in minors',
      'releases[1].version',
    );
  });

  it("checks the order of a minor's dates", () => {
    rejects(
      withMinor({ endOfLife: '2024-01-01' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: minors[0].endOfLife: "2024-01-01" is before releaseDate "2024-04-17"',
      'minors[0].endOfLife',
    );
    rejects(
      withMinor({ maintenanceStart: '2025-07-01' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: minors[0].endOfLife: "2025-06-28" is before maintenanceStart "2025-07-01"',
      'minors[0].endOfLife',
    );
  });

  it('refuses a release-notes link that is not a URL and a malformed minor', () => {
    rejects(
      withMinor({ releaseNotes: 'CHANGELOG-1.30.md' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: minors[0].releaseNotes: "CHANGELOG-1.30.md" is not an http(s) URL',
      'minors[0].releaseNotes',
    );
    rejects(
      withMinor({ minor: '1.30.0' }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: minors[0].minor: "1.30.0" is not a minor version (MAJOR.MINOR)',
      'minors[0].minor',
    );
  });

  it('refuses a document that is not a catalog', () => {
    rejects([], 'KUP-CATALOG-001', 'KUP-CATALOG-001: (catalog): [] is not an object', '(catalog)');
    rejects(
      { ...doc(), schemaVersion: 2 },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: schemaVersion: 2 is not supported (expected 1)',
      'schemaVersion',
    );
    rejects({ ...doc(), releases: {} }, 'KUP-CATALOG-001', 'KUP-CATALOG-001: releases: {} is not a list', 'releases');
  });

  it('validates removed APIs', () => {
    const api = { group: 'batch', version: 'v1beta1', kind: 'CronJob', removedIn: '1.25', replacement: 'batch/v1' };
    assert.equal(
      loadCatalog({ ...doc(), removedApis: [api, { ...api, group: '', replacement: null }] }).removedApis.length,
      2,
    );
    rejects(
      { ...doc(), removedApis: [{ ...api, version: 'beta1' }] },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: removedApis[0].version: "beta1" is not an API version such as v1beta1',
      'removedApis[0].version',
    );
    rejects(
      { ...doc(), removedApis: [{ ...api, removedIn: 'soon' }] },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: removedApis[0].removedIn: "soon" is not a minor version (MAJOR.MINOR)',
      'removedApis[0].removedIn',
    );
  });

  it('validates component compatibility ranges', () => {
    const entry = {
      component: 'calico',
      versions: { from: '3.27.0', below: '3.28.0' },
      kubernetes: { from: '1.27', to: '1.29' },
    };
    assert.equal(loadCatalog({ ...doc(), components: [entry] }).components[0]?.confidence, 'documented');
    rejects(
      { ...doc(), components: [{ ...entry, versions: { from: '3.28.0', below: '3.27.0' } }] },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: components[0].versions.below: "3.27.0" is not above from "3.28.0"',
      'components[0].versions.below',
    );
    rejects(
      { ...doc(), components: [{ ...entry, kubernetes: { from: '1.29', to: '1.27' } }] },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: components[0].kubernetes.to: "1.27" is before from "1.29"',
      'components[0].kubernetes.to',
    );
    rejects(
      { ...doc(), components: [{ ...entry, confidence: 'guess' }] },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: components[0].confidence: "guess" is not one of documented, estimated',
      'components[0].confidence',
    );
  });

  it('validates node requirements', () => {
    const source = 'https://kubernetes.io/blog/2025/12/17/kubernetes-v1-35-release/';
    const req = { containerRuntimes: { containerd: '2.0.0' }, minKernel: '4.19', cgroupV2: true, source };
    assert.deepEqual(loadCatalog(withMinor({ nodeRequirements: req })).minors[0]?.nodeRequirements, req);
    rejects(
      withMinor({ nodeRequirements: { ...req, containerRuntimes: { containerd: 'two' } } }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: minors[0].nodeRequirements.containerRuntimes.containerd: "two" is not a version such as 2.0 or 4.19.0',
      'minors[0].nodeRequirements.containerRuntimes.containerd',
    );
    rejects(
      withMinor({ nodeRequirements: { minKernel: '4.19' } }),
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: minors[0].nodeRequirements.source: is missing (expected an http(s) URL)',
      'minors[0].nodeRequirements.source',
    );
  });

  it('validates machine images', () => {
    const image = {
      name: 'flatcar',
      versions: [{ version: '4081.2.1', releaseDate: '2024-12-10', expiresAt: '2025-09-30' }],
    };
    assert.equal(
      loadCatalog({ ...doc(), machineImages: [image] }).machineImages[0]?.versions[0]?.expiresAt,
      '2025-09-30',
    );
    rejects(
      { ...doc(), machineImages: [image, image] },
      'KUP-CATALOG-002',
      'KUP-CATALOG-002: machineImages[1].name: machine image "flatcar" appears twice',
      'machineImages[1].name',
    );
    rejects(
      { ...doc(), machineImages: [{ ...image, versions: [] }] },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: machineImages[0].versions: [] is not a non-empty list',
      'machineImages[0].versions',
    );
    rejects(
      {
        ...doc(),
        machineImages: [{ ...image, versions: [{ version: '1', releaseDate: '2025-01-02', expiresAt: '2025-01-01' }] }],
      },
      'KUP-CATALOG-001',
      'KUP-CATALOG-001: machineImages[0].versions[0].expiresAt: "2025-01-01" is before releaseDate "2025-01-02"',
      'machineImages[0].versions[0].expiresAt',
    );
  });
});
