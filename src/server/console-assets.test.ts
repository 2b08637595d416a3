import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consoleAsset } from './console-assets.ts';

describe('consoleAsset', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kup-console-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>kup</title>');
    await writeFile(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    await writeFile(join(dir, '.fingerprint'), 'x');
    await writeFile(join(dir, '..', 'secret-beside-console'), 'no');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(join(dir, '..', 'secret-beside-console'), { force: true });
  });

  it('serves hashed assets for a year and the page without caching', async () => {
    const js = await consoleAsset('/assets/index-abc.js', dir);
    assert.equal(js.status, 200);
    assert.equal(js.status === 200 && js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(js.status === 200 ? (js.headers['cache-control'] ?? '') : '', /immutable/);
    const page = await consoleAsset('', dir);
    assert.equal(page.status === 200 && page.body.toString(), '<!doctype html><title>kup</title>');
    assert.equal(page.status === 200 && page.headers['cache-control'], 'no-cache');
    assert.match(page.status === 200 ? (page.headers['content-security-policy'] ?? '') : '', /script-src 'self'/);
  });

  it('answers any other path with the app, but a missing asset with 404', async () => {
    const deep = await consoleAsset('/clusters/prod', dir);
    assert.equal(deep.status === 200 && deep.headers['content-type'], 'text/html; charset=utf-8');
    assert.deepEqual(await consoleAsset('/assets/gone-123.js', dir), { status: 404, notBuilt: false });
  });

  it('never reaches outside the build, nor its dot files', async () => {
    for (const path of [
      '/../secret-beside-console',
      '/%2e%2e/secret-beside-console',
      '/assets/..%2f..%2fsecret-beside-console',
      '/a%00b',
      '/%E0%A4%A',
    ]) {
      const got = await consoleAsset(path, dir);
      assert.ok(got.status === 404 || !got.body.toString().includes('no'), path);
      if (got.status === 200) assert.equal(got.body.toString(), '<!doctype html><title>kup</title>', path);
    }
    const dot = await consoleAsset('/.fingerprint', dir);
    assert.equal(dot.status === 200 && dot.body.toString(), '<!doctype html><title>kup</title>');
  });

  it('says when the console was never built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'kup-console-empty-'));
    try {
      assert.deepEqual(await consoleAsset('/', empty), { status: 404, notBuilt: true });
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
