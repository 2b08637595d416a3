import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findMachineImage,
  findMinor,
  findRelease,
  isKnownVersion,
  knownMinors,
  latestPatch,
  previousPatch,
  releasesOfMinor,
  removedApisBetween,
} from './catalog-lookup.ts';
import { defaultCatalog } from './catalog.ts';
import { parseMinor, parseVersion } from './semver.ts';
import { testCatalog } from './test-catalog.ts';

describe('catalog lookups', () => {
  const catalog = testCatalog();

  it('lists the releases of a minor oldest first, pre-releases included unless asked', () => {
    assert.deepEqual(
      releasesOfMinor(catalog, '1.32').map((r) => r.version),
      ['1.32.0-rc.1', '1.32.0', '1.32.1', '1.32.2'],
    );
    assert.deepEqual(
      releasesOfMinor(catalog, parseMinor('1.32'), { includePrerelease: false }).map((r) => r.version),
      ['1.32.0', '1.32.1', '1.32.2'],
    );
    assert.deepEqual(releasesOfMinor(catalog, '1.40'), []);
    assert.deepEqual(releasesOfMinor(catalog, 'junk'), []);
  });

  it('finds the latest GA patch of a minor', () => {
    assert.equal(latestPatch(catalog, '1.31')?.version, '1.31.1');
    assert.equal(latestPatch(catalog, '1.33'), undefined);
    assert.equal(latestPatch(catalog, '1.33', { includePrerelease: true })?.version, '1.33.0-rc.1');
  });

  it('finds the previous patch for a one-patch-back downgrade', () => {
    assert.equal(previousPatch(catalog, '1.32.2')?.version, '1.32.1');
    assert.equal(previousPatch(catalog, '1.32.0'), undefined, 'a release candidate is no downgrade target');
    assert.equal(previousPatch(catalog, 'junk'), undefined);
  });

  it('knows versions in any spelling and nothing it cannot read', () => {
    assert.equal(isKnownVersion(catalog, 'v1.30.1'), true);
    assert.equal(isKnownVersion(catalog, parseVersion('1.33.0-rc.1')), true);
    assert.equal(isKnownVersion(catalog, '1.30.9'), false);
    assert.equal(isKnownVersion(catalog, 'v1.30.1-eks-abc'), false);
    assert.equal(findRelease(catalog, '1.31.0')?.releaseDate, '2025-04-10');
    assert.equal(findMinor(catalog, 'v1.31')?.endOfLife, '2026-04-30');
  });

  it('lists minors oldest first', () => {
    assert.deepEqual(knownMinors(catalog), [
      parseMinor('1.30'),
      parseMinor('1.31'),
      parseMinor('1.32'),
      parseMinor('1.33'),
    ]);
  });

  it('lists the APIs removed between two minors, the upper one included', () => {
    const real = defaultCatalog();
    const crossed = removedApisBetween(real, '1.24', '1.26');
    assert.deepEqual([...new Set(crossed.map((a) => a.removedIn))], ['1.25', '1.26']);
    assert.ok(crossed.some((a) => a.kind === 'PodDisruptionBudget' && a.version === 'v1beta1'));
    assert.deepEqual(removedApisBetween(real, '1.29', '1.31'), []);
    assert.deepEqual(
      removedApisBetween(real, '1.31', '1.32').map((a) => `${a.group}/${a.version} ${a.kind}`),
      [
        'flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema',
        'flowcontrol.apiserver.k8s.io/v1beta3 PriorityLevelConfiguration',
      ],
    );
  });

  it('finds machine images by name', () => {
    const real = defaultCatalog();
    assert.equal(findMachineImage(real, 'gardenlinux')?.name, 'gardenlinux');
    assert.equal(findMachineImage(real, 'windows-2022'), undefined);
  });
});
