import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalog } from './catalog.ts';
import { classifyImageVersion, classifyMinor, classifyRelease, releaseClassification } from './classification.ts';
import { testCatalog } from './test-catalog.ts';

const at = (iso: string): Date => new Date(iso);

describe('releaseClassification (shipped catalog)', () => {
  const catalog = defaultCatalog();
  const november2026 = at('2026-11-15T12:00:00Z');

  it('classifies by the release calendar on the day asked', () => {
    assert.equal(releaseClassification(catalog, '1.36.1', november2026), 'supported');
    assert.equal(releaseClassification(catalog, '1.35.5', november2026), 'supported');
    assert.equal(releaseClassification(catalog, '1.34.8', november2026), 'expired');
    assert.equal(releaseClassification(catalog, '1.24.17', november2026), 'expired');
  });

  it('is deprecated from maintenance start to the end-of-life day, inclusive', () => {
    assert.equal(releaseClassification(catalog, '1.34.8', at('2026-08-26T23:59:59Z')), 'supported');
    assert.equal(releaseClassification(catalog, '1.34.8', at('2026-08-27T00:00:00Z')), 'deprecated');
    assert.equal(releaseClassification(catalog, '1.34.8', at('2026-10-27T23:59:59Z')), 'deprecated');
    assert.equal(releaseClassification(catalog, '1.34.8', at('2026-10-28T00:00:00Z')), 'expired');
  });

  it('is preview before its release day', () => {
    assert.equal(releaseClassification(catalog, '1.36.0', at('2026-04-21T23:00:00Z')), 'preview');
    assert.equal(releaseClassification(catalog, '1.36.0', at('2026-04-22T00:00:00Z')), 'supported');
  });

  it('does not classify what it does not know', () => {
    assert.equal(releaseClassification(catalog, '1.23.17', november2026), undefined);
    assert.equal(releaseClassification(catalog, 'nonsense', november2026), undefined);
  });
});

describe('classifyRelease', () => {
  const minor = {
    minor: '1.32',
    releaseDate: '2025-07-10',
    endOfLife: '2026-07-31',
    releaseNotes: 'https://example.com',
    upgradeNotes: [],
  };

  it('makes release candidates preview', () => {
    assert.equal(
      classifyRelease({ version: '1.32.0-rc.1', releaseDate: '2025-07-01' }, minor, at('2025-12-01T00:00:00Z')),
      'preview',
    );
  });

  it('lets a pinned classification win over dates', () => {
    assert.equal(
      classifyRelease(
        { version: '1.32.1', releaseDate: '2025-08-10', classification: 'deprecated' },
        minor,
        at('2025-09-01T00:00:00Z'),
      ),
      'deprecated',
    );
    assert.equal(
      classifyRelease(
        { version: '1.32.0-rc.1', releaseDate: '2025-07-01', classification: 'supported' },
        minor,
        at('2025-09-01T00:00:00Z'),
      ),
      'supported',
    );
  });

  it('defaults the deprecation window to two months before end of life', () => {
    const release = { version: '1.32.1', releaseDate: '2025-08-10' };
    assert.equal(classifyRelease(release, minor, at('2026-05-30T23:59:59Z')), 'supported');
    assert.equal(classifyRelease(release, minor, at('2026-05-31T00:00:00Z')), 'deprecated');
  });
});

describe('classifyMinor', () => {
  const catalog = testCatalog();

  it('keeps a minor in preview while it has only release candidates', () => {
    assert.equal(classifyMinor(catalog, '1.33', at('2026-01-01T00:00:00Z')), 'preview');
  });

  it('classifies a released minor by its dates', () => {
    assert.equal(classifyMinor(catalog, '1.32', at('2025-07-09T00:00:00Z')), 'preview');
    assert.equal(classifyMinor(catalog, '1.32', at('2025-07-10T00:00:00Z')), 'supported');
    assert.equal(classifyMinor(catalog, '1.30', at('2025-12-15T00:00:00Z')), 'deprecated');
    assert.equal(classifyMinor(catalog, '1.30', at('2026-02-01T00:00:00Z')), 'expired');
    assert.equal(classifyMinor(catalog, '1.29', at('2026-02-01T00:00:00Z')), undefined);
  });
});

describe('classifyImageVersion', () => {
  const now = at('2026-11-15T00:00:00Z');

  it('uses release and expiry dates', () => {
    assert.equal(classifyImageVersion({ version: '1', releaseDate: '2026-12-01' }, now), 'preview');
    assert.equal(classifyImageVersion({ version: '1', expiresAt: '2026-11-14' }, now), 'expired');
    assert.equal(classifyImageVersion({ version: '1', expiresAt: '2027-01-10' }, now), 'deprecated');
    assert.equal(classifyImageVersion({ version: '1', expiresAt: '2027-06-30' }, now), 'supported');
    assert.equal(classifyImageVersion({ version: '1' }, now), 'supported');
  });

  it('lets a pinned classification win', () => {
    assert.equal(
      classifyImageVersion(
        { version: '22.04.4', expiresAt: '2027-04-30', classification: 'deprecated' },
        at('2025-01-01T00:00:00Z'),
      ),
      'deprecated',
    );
  });

  it('classifies the shipped images', () => {
    const images = defaultCatalog().machineImages;
    const ubuntu2004 = images.find((i) => i.name === 'ubuntu-20.04')?.versions[0];
    assert.ok(ubuntu2004);
    assert.equal(classifyImageVersion(ubuntu2004, now), 'expired');
  });
});
