import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableUpgrades, defaultCatalog } from '../../versions/index.ts';
import { upgradeSummary } from '../../clusters/upgrade-summary.ts';

describe('the UPGRADE column of kup cluster list', () => {
  const catalog = defaultCatalog();
  const nov2026 = new Date('2026-11-22T12:00:00Z');

  it('names the newest patch and the newest release of the next minor', () => {
    assert.equal(upgradeSummary(availableUpgrades('1.35.2', catalog, nov2026)), 'patch 1.35.9, minor 1.36.5');
  });

  it('says a cluster on an expired minor is past its end of support, and how far from support it is', () => {
    assert.equal(upgradeSummary(availableUpgrades('1.33.12', catalog, nov2026)), '1.33 past end of support: 2 hops to 1.35.9 (next 1.34.12)');
    assert.equal(upgradeSummary(availableUpgrades('1.34.12', catalog, nov2026)), '1.34 past end of support: 1 hop to 1.35.9 (next 1.35.9)');
    assert.equal(upgradeSummary(availableUpgrades('1.37.2', catalog, nov2026)), 'up to date');
  });

  it('does not call a cluster up to date when every newer version is withheld (a catalog whose minors have all expired)', () => {
    const later = new Date('2028-01-10T12:00:00Z');
    assert.equal(upgradeSummary(availableUpgrades('1.37.2', catalog, later)), '1.37 past end of support (kup catalog update)');
    assert.equal(upgradeSummary(availableUpgrades('1.37.1', catalog, later)), '1.37 past end of support (kup catalog update)');
  });
});
