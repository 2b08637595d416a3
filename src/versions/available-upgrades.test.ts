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

  it('hides expired versions unless they are allowed', () => {
    const nov2026 = new Date('2026-11-15T12:00:00Z');
    const stuck = availableUpgrades('1.33.5', real, nov2026);
    assert.deepEqual([stuck.patches, stuck.nextMinor, stuck.downgrade], [[], [], undefined]);
    assert.deepEqual(
      stuck.withheld.map((v) => v.version),
      ['1.33.6', '1.33.7', '1.33.8', '1.33.9', '1.33.10', '1.33.11', '1.33.12', '1.33.13', ...Array.from({ length: 13 }, (_, i) => `1.34.${i}`)],
      'newer but expired: withheld, not up to date',
    );
    const allowed = availableUpgrades('1.33.5', real, nov2026, { allowExpired: true });
    assert.deepEqual(
      allowed.nextMinor.map((v) => v.classification),
      Array<string>(13).fill('expired'),
    );
    assert.equal(allowed.downgrade?.version, '1.33.4');
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
