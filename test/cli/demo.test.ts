/**
 * `npm start` (`kup demo`) as a new user meets it: the demo cluster comes up, and the commands it prints work as
 * printed, the upgrade included, on the catalog kup ships.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const KUP = join(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');

describe('kup demo', () => {
  it('starts a cluster, registers it, and the upgrade it prints succeeds as printed; Ctrl-C stops it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-demo-'));
    const env = { ...process.env, KUP_DATA_DIR: dataDir };
    const child = spawn(process.execPath, [KUP, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the demo did not start in 60 s: ${out}`)), 60_000);
        child.stdout.on('data', () => {
          if (out.includes('Ctrl-C stops the cluster')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`the demo exited: ${out}`)));
      });
      const upgrade = /npx kup (upgrade demo .*)/.exec(out)?.[1];
      assert.ok(upgrade, out);
      // The printed command, word by word as a shell would split it (the acknowledgement's reason is quoted).
      const words = [...upgrade.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
      const run = spawnSync(process.execPath, [KUP, ...words], { env, encoding: 'utf8', timeout: 240_000 });
      assert.equal(run.status, 0, `${upgrade}\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /succeeded \| control plane 1\/1/);
      const list = spawnSync(process.execPath, [KUP, 'cluster', 'list'], { env, encoding: 'utf8', timeout: 60_000 });
      const to = /--to (\S+)/.exec(upgrade)?.[1] ?? '?';
      assert.match(list.stdout, new RegExp(`^demo\\s+sim\\s+v${to.replace(/\./g, '\\.')}\\s`, 'm'), list.stdout);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, out);
  });
});
