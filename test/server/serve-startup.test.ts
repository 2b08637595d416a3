/**
 * `kup serve` when its start fails after the app was built (here: the port is taken): it says why and exits 1, with
 * nothing it started left running to keep the process alive (the app's ready hook had started the maintenance
 * scheduler and the rollout driver).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const KUP = join(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');

describe('kup serve start-up', () => {
  it('exits 1 naming the taken port, and stops what it started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'kup-serve-taken-'));
      const result = await new Promise<{ code: number | null; killed: boolean; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [KUP, 'serve', '--listen', `127.0.0.1:${port}`, '--log-level', 'silent'],
          { env: { ...process.env, KUP_DATA_DIR: dataDir }, timeout: 60_000 },
          (err, _stdout, stderr) =>
            resolve({
              code: err === null ? 0 : typeof err.code === 'number' ? err.code : null,
              killed: err?.killed === true,
              stderr,
            }),
        );
      });
      assert.equal(result.killed, false, `kup serve stayed alive after its start failed: ${result.stderr}`);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
