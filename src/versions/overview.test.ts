import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalog } from './catalog.ts';
import { catalogOverview } from './overview.ts';
import { testCatalog } from './test-catalog.ts';

describe('catalogOverview', () => {
  it('lists minors newest first with their stage on the day asked', () => {
    const rows = catalogOverview(defaultCatalog(), new Date('2026-11-15T12:00:00Z'));
    assert.deepEqual(
      rows.slice(0, 4).map((r) => [r.minor, r.classification, r.latest]),
      [
        ['1.37', 'supported', '1.37.2'],
        ['1.36', 'supported', '1.36.5'],
        ['1.35', 'supported', '1.35.9'],
        ['1.34', 'expired', '1.34.12'],
      ],
    );
    assert.equal(rows.at(-1)?.minor, '1.24');
  });

  it('shows a minor with only release candidates as preview without a latest GA patch', () => {
    const row = catalogOverview(testCatalog(), new Date('2025-12-01T00:00:00Z'))[0];
    assert.equal(row?.minor, '1.33');
    assert.equal(row?.classification, 'preview');
    assert.equal(row?.latest, undefined);
    assert.deepEqual(row?.releases, [{ version: '1.33.0-rc.1', releaseDate: '2025-10-01', classification: 'preview' }]);
  });
});
