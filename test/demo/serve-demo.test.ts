/**
 * `npm start` (`kup serve --demo`) as a new user meets it: the service comes up with the demo fleet registered and
 * reachable, prints where it listens, writes the admin token where it was asked to (0600), answers the fleet through
 * the API with each cluster's version read from the cluster, and stops on SIGTERM with exit code 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const KUP = join(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');

describe('kup serve --demo', () => {
  it('serves the demo fleet: five clusters through the API, with their versions; SIGTERM stops it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kup-serve-demo-'));
    const tokenFile = join(dataDir, 'admin-token');
    const child = spawn(
      process.execPath,
      [KUP, 'serve', '--demo', '--listen', '127.0.0.1:0', '--admin-token-file', tokenFile, '--log-level', 'warn'],
      {
        env: { ...process.env, KUP_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kup serve --demo did not listen in 90 s: ${out}`)), 90_000);
        child.stdout.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m?.[1] && out.includes('admin token written')) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', () => reject(new Error(`kup serve --demo exited: ${out}`)));
      });
      for (const name of ['dev', 'staging', 'prod', 'legacy', 'expired'])
        assert.match(out, new RegExp(`demo cluster "${name}" at Kubernetes v\\d+\\.\\d+\\.\\d+`));
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      const token = readFileSync(tokenFile, 'utf8').trim();
      const res = await fetch(`${url}/api/v1/clusters`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        items: {
          name: string;
          provider: string;
          version: string | null;
          nodes: number | null;
          health: { reachable: boolean };
        }[];
      };
      const byName = new Map(body.items.map((c) => [c.name, c]));
      assert.deepEqual([...byName.keys()].sort(), ['dev', 'expired', 'legacy', 'prod', 'staging']);
      for (const c of body.items) {
        assert.equal(c.provider, 'sim');
        assert.equal(c.health.reachable, true, `${c.name}: ${JSON.stringify(c)}`);
        // The version the API shows is the one the cluster reports, as printed at start.
        assert.ok(
          c.version !== null &&
            out.includes(
              `demo cluster "${c.name}" at Kubernetes ${c.version.startsWith('v') ? c.version : `v${c.version}`}`,
            ),
          `${c.name}: ${c.version}\n${out}`,
        );
      }
      assert.equal(byName.get('prod')?.nodes, 3 + 8 + 8);
      assert.equal(byName.get('staging')?.nodes, 1 + 6);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /kup serve: stopped/);
  });
});
