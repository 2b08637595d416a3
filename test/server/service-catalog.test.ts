/**
 * The service's catalog: read once per change of its file (every inspection of every cluster asks for it), and an
 * update (through the API, or `kup catalog update` on the data directory) is what the next call returns.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installCatalog } from '../../src/catalog/catalog-file.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';

const shipped = JSON.parse(readFileSync(join(import.meta.dirname, '../../src/versions/catalog-data.json'), 'utf8')) as {
  releases: { version: string; releaseDate: string }[];
};
const newest = (releases: readonly { version: string }[]) =>
  releases
    .map((r) => r.version)
    .sort()
    .at(-1);

describe('the service catalog', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
  });
  after(async () => {
    await svc.close();
  });

  it('is read once per change of its file, and an update is what the next call returns', async () => {
    const first = await svc.service.catalog();
    assert.equal(await svc.service.catalog(), first, 'the shipped catalog, built once');

    const newer = { ...shipped, releases: [...shipped.releases, { version: '1.37.9', releaseDate: '2026-11-10' }] };
    const put = await svc.call('PUT', '/api/v1/catalog', { body: { document: newer } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const updated = await svc.service.catalog();
    assert.notEqual(updated, first);
    assert.equal(newest(updated.releases), '1.37.9');
    assert.equal(await svc.service.catalog(), updated, 'read once');

    // Another process (the CLI on the same data directory) installs one.
    const file = join(svc.dataDir, 'newest.json');
    writeFileSync(
      file,
      JSON.stringify({ ...newer, releases: [...newer.releases, { version: '1.37.10', releaseDate: '2026-11-20' }] }),
    );
    await installCatalog(svc.dataDir, file);
    assert.ok((await svc.service.catalog()).releases.some((r) => r.version === '1.37.10'));
  });
});
