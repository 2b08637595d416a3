import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CatalogSourceError } from './catalog-source-error.ts';
import { readCatalogSource } from './upstream-formats.ts';

const data = (name: string): string => readFileSync(join(import.meta.dirname, '../../test/data/catalog', name), 'utf8');

function refused(text: string, message: RegExp): void {
  assert.throws(
    () => readCatalogSource(text, 'src.json'),
    (err: unknown) => err instanceof CatalogSourceError && err.code === 'KUP-CATALOG-010' && message.test(err.message),
  );
}

describe('readCatalogSource', () => {
  it('reads the endoflife.date API answer: support dates per minor, the .0 and the latest patch of each', () => {
    const read = readCatalogSource(data('endoflife-date-kubernetes.json'), 'eol.json');
    assert.equal(read.format, 'endoflife.date');
    if (!('minors' in read)) return;
    assert.equal(read.published, '2026-11-19');
    assert.deepEqual(read.minors[0], {
      minor: '1.37',
      releaseDate: '2026-08-26',
      maintenanceStart: '2027-08-28',
      endOfLife: '2027-10-28',
    });
    assert.deepEqual(
      read.releases.filter((r) => r.version.startsWith('1.37.')),
      [
        { version: '1.37.0', releaseDate: '2026-08-26' },
        { version: '1.37.3', releaseDate: '2026-11-18' },
      ],
    );
  });

  it('reads the older endoflife.date answer (/api/kubernetes.json), where a day not known is false', () => {
    const read = readCatalogSource(
      JSON.stringify([
        {
          cycle: '1.37',
          releaseDate: '2026-08-26',
          support: false,
          eol: '2027-10-28',
          latest: '1.37.3',
          latestReleaseDate: '2026-11-18',
          lts: false,
        },
      ]),
      'old.json',
    );
    assert.equal(read.format, 'endoflife.date');
    if (!('minors' in read)) return;
    assert.deepEqual(read.minors, [{ minor: '1.37', releaseDate: '2026-08-26', endOfLife: '2027-10-28' }]);
    assert.deepEqual(
      read.releases.map((r) => r.version),
      ['1.37.0', '1.37.3'],
    );
  });

  it('reads kubernetes/website releases.yaml: every patch with its day, eolDate, maintenanceModeStartDate', () => {
    const read = readCatalogSource(data('kubernetes-website-releases.yaml'), 'releases.yaml');
    assert.equal(read.format, 'kubernetes-website');
    if (!('minors' in read)) return;
    assert.deepEqual(read.minors[0], {
      minor: '1.38',
      releaseDate: '2026-12-16',
      maintenanceStart: '2027-12-28',
      endOfLife: '2028-02-28',
      releaseNotes: 'https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.38.md',
    });
    assert.deepEqual(
      read.releases.map((r) => r.version),
      ['1.38.0', '1.37.0', '1.37.1', '1.37.2', '1.37.3', '1.37.4', '1.35.9', '1.35.10'],
    );
  });

  it("reads kubernetes/website schedule.yaml's past patches, not the planned next one", () => {
    const schedule = `schedules:
- release: 1.30
  releaseDate: 2025-04-17
  maintenanceModeStartDate: 2025-04-28
  endOfLifeDate: 2025-07-15
  previousPatches:
    - release: 1.30.1
      cherryPickDeadline: ""
      targetDate: 2024-05-15
    - release: 1.30.0
      cherryPickDeadline: ""
      targetDate: 2024-04-17
- release: "1.37"
  releaseDate: 2026-08-26
  maintenanceModeStartDate: 2027-08-28
  endOfLifeDate: 2027-10-28
  next:
    release: 1.37.5
    cherryPickDeadline: 2027-01-09
    targetDate: 2027-01-13
  previousPatches:
  - release: 1.37.4
    cherryPickDeadline: 2026-12-05
    targetDate: 2026-12-09
  - release: 1.37.3
    targetDate: 2026-11-18
`;
    const read = readCatalogSource(schedule, 'schedule.yaml');
    assert.equal(read.format, 'kubernetes-website');
    if (!('minors' in read)) return;
    // \`release: 1.30\` unquoted is the minor 1.30, not 1.3; the .0 among the patches is the release day (the line's
    // own releaseDate here has the wrong year, as one of upstream's once had).
    assert.deepEqual(read.minors[0], {
      minor: '1.30',
      releaseDate: '2024-04-17',
      maintenanceStart: '2025-04-28',
      endOfLife: '2025-07-15',
    });
    assert.deepEqual(
      read.releases.map((r) => `${r.version} ${r.releaseDate}`),
      ['1.30.1 2024-05-15', '1.30.0 2024-04-17', '1.37.0 2026-08-26', '1.37.4 2026-12-09', '1.37.3 2026-11-18'],
    );
  });

  it("hands kup's own format over whole", () => {
    assert.deepEqual(readCatalogSource('{"schemaVersion": 1, "minors": []}', 'k.json'), {
      format: 'kup',
      json: { schemaVersion: 1, minors: [] },
    });
  });

  it('names the field that is wrong, and refuses what is in none of the formats', () => {
    const eol = JSON.parse(data('endoflife-date-kubernetes.json')) as {
      result: { releases: Record<string, unknown>[] };
    };
    const broken = structuredClone(eol);
    (broken.result.releases[1] as Record<string, unknown>)['eolFrom'] = 'June 2027';
    refused(
      JSON.stringify(broken),
      /^KUP-CATALOG-010: src\.json: result\.releases\[1\]\.eolFrom: "June 2027" is not a date/,
    );
    const otherMinor = structuredClone(eol);
    (otherMinor.result.releases[0] as Record<string, unknown>)['latest'] = { name: '1.36.9', date: '2026-11-18' };
    refused(JSON.stringify(otherMinor), /result\.releases\[0\]\.latest\.name: "1\.36\.9" is not a release of 1\.37/);
    refused(
      JSON.stringify({ result: { name: 'nodejs', releases: [] } }),
      /result\.name: "nodejs": this is endoflife\.date's answer for another product/,
    );
    refused(
      data('kubernetes-website-releases.yaml').replace('releaseDate: "2026-09-15"', 'releaseDate: "soon"'),
      /releases\[1\]\.patchReleases\[1\]\.releaseDate: "soon" is not a date/,
    );
    refused(
      'releases:\n  - version: "v1.37"\n    patchReleases:\n      - version: "v1.37.0-rc.1"\n        releaseDate: "2026-08-19"\n',
      /"v1\.37\.0-rc\.1" is not a Kubernetes release/,
    );
    refused(
      '{"hello": "world"}',
      /not a catalog kup reads: expected kup's catalog .* endoflife\.date .* kubernetes\/website/,
    );
    refused('{: [', /neither JSON nor YAML/);
  });
});
