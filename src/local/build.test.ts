/**
 * The build cache of the local control plane's programs: what is built is not built again, and two processes asking
 * for one program build it once. (Building itself is exercised by test/real/, which builds from the Go proxy.)
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureBuilt, ensureProgram } from './build.ts';
import { LocalClusterError } from './errors.ts';

async function fakeKwok(cacheDir: string): Promise<void> {
  await mkdir(join(cacheDir, 'kwok-0.8.0'), { recursive: true });
  await writeFile(join(cacheDir, 'kwok-0.8.0', 'kwok'), '');
}

describe('the local build cache', () => {
  it('refuses a version that is not X.Y.Z, naming it', async () => {
    await assert.rejects(
      ensureBuilt('1.35', { cacheDir: await mkdtemp(join(tmpdir(), 'kup-build-')) }),
      (err: unknown) =>
        err instanceof LocalClusterError &&
        err.code === 'KUP-LOCAL-001' &&
        /version "1\.35" is not a Kubernetes release X\.Y\.Z/.test(err.message),
    );
  });

  it('returns a program already built without building it', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'kup-build-'));
    await fakeKwok(cacheDir);
    const lines: string[] = [];
    assert.equal(
      await ensureProgram('kwok', '0.8.0', cacheDir, { log: (l) => lines.push(l) }),
      join(cacheDir, 'kwok-0.8.0'),
    );
    assert.deepEqual(lines, [], 'nothing built');
  });

  it('waits for the process that holds the lock, and takes the program it built', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'kup-build-'));
    // A live holder (this process): the waiter must not take the lock over, only wait for the outputs.
    await mkdir(join(cacheDir, 'kwok-0.8.0.lock'));
    await writeFile(join(cacheDir, 'kwok-0.8.0.lock', 'pid'), String(process.pid));
    const lines: string[] = [];
    const waiting = ensureProgram('kwok', '0.8.0', cacheDir, { log: (l) => lines.push(l) });
    await fakeKwok(cacheDir);
    assert.equal(await waiting, join(cacheDir, 'kwok-0.8.0'));
    assert.deepEqual(lines, [`waiting for process ${process.pid}, which builds kwok 0.8.0`]);
  });
});
