import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableUpgrades } from './available-upgrades.ts';
import { defaultCatalog } from './catalog.ts';
import { VersionParseError } from './errors.ts';
import { planUpgradePath } from './path.ts';
import { testCatalog } from './test-catalog.ts';

const real = defaultCatalog();
const jan2025 = new Date('2025-01-10T12:00:00Z');

describe('availableUpgrades', () => {
  it('lists newer patches, the next minor and the one-patch-back downgrade', () => {
    const found = availableUpgrades('v1.30.2-eks-abc', real, jan2025);
    assert.equal(found.current, '1.30.2');
    assert.equal(found.known, true);
    assert.deepEqual(
      found.patches.map((v) => v.version),
      ['1.30.3', '1.30.4', '1.30.5', '1.30.6', '1.30.7', '1.30.8'],
    );
    assert.deepEqual(
      found.nextMinor.map((v) => v.version),
      ['1.31.0', '1.31.1', '1.31.2', '1.31.3', '1.31.4'],
    );
    assert.deepEqual(found.downgrade, { version: '1.30.1', releaseDate: '2024-05-14', classification: 'supported' });
  });

  it('lists only versions the planner accepts with the same options', () => {
    const found = availableUpgrades('1.30.2', real, jan2025);
    for (const v of [...found.patches, ...found.nextMinor, ...(found.downgrade ? [found.downgrade] : [])]) {
      const path = planUpgradePath({ controlPlane: '1.30.2', pools: [], target: v.version }, real, { now: jan2025 });
      assert.notEqual(path.kind, 'nothing-to-do', v.version);
    }
  });

  it('lists only the expired versions on the way toward support, and the rest when they are allowed', () => {
    const nov2026 = new Date('2026-11-15T12:00:00Z');
    const stuck = availableUpgrades('1.33.5', real, nov2026);
    const versions = (list: readonly { version: string }[]) => list.map((v) => v.version);
    assert.deepEqual([versions(stuck.patches), versions(stuck.nextMinor), stuck.downgrade], [['1.33.13'], ['1.34.12'], undefined]);
    assert.deepEqual(
      versions(stuck.withheld),
      ['1.33.6', '1.33.7', '1.33.8', '1.33.9', '1.33.10', '1.33.11', '1.33.12', ...Array.from({ length: 12 }, (_, i) => `1.34.${i}`)],
      'older patches of the expired minors: withheld',
    );
    const allowed = availableUpgrades('1.33.5', real, nov2026, { allowExpired: true });
    assert.deepEqual(
      allowed.nextMinor.map((v) => v.classification),
      Array<string>(13).fill('expired'),
    );
    assert.equal(allowed.downgrade?.version, '1.33.4');
  });

  it('tells a cluster on an expired minor when support ended and the ways, hop by hop, to the oldest and the newest supported minor', () => {
    const dec2026 = new Date('2026-12-07T12:00:00Z');
    const found = availableUpgrades('1.30.6', real, dec2026);
    assert.deepEqual(found.pastEndOfSupport, {
      minor: '1.30',
      endOfLife: '2025-07-15',
      toOldestSupported: { minor: '1.35', hops: ['1.31.14', '1.32.13', '1.33.13', '1.34.12', '1.35.9'] },
      toNewest: { minor: '1.37', hops: ['1.31.14', '1.32.13', '1.33.13', '1.34.12', '1.35.9', '1.36.5', '1.37.2'] },
    });
    assert.deepEqual(
      [found.patches, found.nextMinor].map((list) => list.map((v) => `${v.version} ${v.classification}`)),
      [['1.30.14 expired'], ['1.31.14 expired']],
    );
    // Every version listed can be planned without --allow-expired: the listing and the planner agree.
    for (const v of [...found.patches, ...found.nextMinor]) {
      assert.equal(planUpgradePath({ controlPlane: '1.30.6', pools: [], target: v.version }, real, { now: dec2026 }).kind, 'upgrade');
    }
    assert.equal(availableUpgrades('1.35.2', real, dec2026).pastEndOfSupport, undefined, 'a supported minor');
  });

  it('hides previews unless they are allowed', () => {
    const catalog = testCatalog();
    const dec2025 = new Date('2025-12-01T00:00:00Z');
    assert.deepEqual(availableUpgrades('1.32.2', catalog, dec2025).nextMinor, []);
    assert.deepEqual(availableUpgrades('1.32.2', catalog, dec2025, { allowPreview: true }).nextMinor, [
      { version: '1.33.0-rc.1', releaseDate: '2025-10-01', classification: 'preview' },
    ]);
  });

  it('offers no downgrade from the first patch of a minor', () => {
    const found = availableUpgrades('1.31.0', real, jan2025);
    assert.equal(found.downgrade, undefined);
    assert.equal(found.patches[0]?.version, '1.31.1');
  });

  it('says when the catalog does not know the version', () => {
    assert.deepEqual(availableUpgrades('v1.23.17', real, jan2025), {
      current: '1.23.17',
      known: false,
      patches: [],
      nextMinor: [],
      withheld: [],
    });
    assert.throws(() => availableUpgrades('garbage', real, jan2025), VersionParseError);
  });
});
