import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableUpgrades, defaultCatalog } from '../../versions/index.ts';
import { upgradeSummary } from './cluster.ts';

describe('the UPGRADE column of kup cluster list', () => {
  const catalog = defaultCatalog();
  const nov2026 = new Date('2026-11-22T12:00:00Z');

  it('names the newest patch and the newest release of the next minor', () => {
    assert.equal(upgradeSummary(availableUpgrades('1.35.2', catalog, nov2026)), 'patch 1.35.9, minor 1.36.5');
  });

  it('says a cluster whose newer versions are all past their end of support is stuck, not up to date', () => {
    assert.equal(upgradeSummary(availableUpgrades('1.33.12', catalog, nov2026)), 'none supported (newest 1.34.12 is expired: --allow-expired)');
    assert.equal(upgradeSummary(availableUpgrades('1.37.2', catalog, nov2026)), 'up to date');
  });
});
