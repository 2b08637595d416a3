/**
 * `kup --db postgres://...` end to end, through the real bin: clusters registered in a PostgreSQL database (nothing
 * written to the data directory's SQLite file), read back by another kup through KUP_DB, and a URL that is not a
 * PostgreSQL one refused as bad input (exit 2) without its password in the message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { databasePath } from '../../src/persistence/database.ts';
import { openStore } from '../../src/persistence/store.ts';
import type { PostgresServer } from '../helpers/postgres.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { startFromYaml } from '../helpers/sim.ts';

const KUP_BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');

function kup(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [KUP_BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

describe('kup with --db postgres://...', { timeout: 120_000 }, () => {
  let server: PostgresServer;
  let sim: SimCluster;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'kup-cli-pg-'));
  const dataDir = join(dir, 'data');

  before(async () => {
    server = await startPostgres();
    url = (await server.createDatabase('kup_cli')).replace('postgres://kup@', 'postgres://kup:s3cret@');
    sim = await startFromYaml(`
name: prod
kubernetesVersion: '1.35.5'
controlPlane: { nodes: 1 }
pools:
  - { name: workers, nodes: 2 }
timings: { zeroDelay: true }
`);
  });

  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it('registers a cluster in the database, and another kup reads it through KUP_DB', async () => {
    const kubeconfig = join(dir, 'prod.kubeconfig');
    writeFileSync(kubeconfig, sim.kubeconfig, { mode: 0o600 });
    const added = await kup([
      'cluster',
      'add',
      'prod',
      '--kubeconfig',
      kubeconfig,
      '--provider',
      'sim',
      '--db',
      url,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.ok(!existsSync(databasePath(dataDir)), 'nothing was written to the SQLite file of the data directory');

    const listed = await kup(['cluster', 'list', '-o', 'json', '--data-dir', dataDir], { KUP_DB: url });
    assert.equal(listed.code, 0, listed.stderr);
    const clusters = JSON.parse(listed.stdout) as { name: string; version?: string }[];
    assert.deepEqual(
      clusters.map((c) => [c.name, c.version]),
      [['prod', 'v1.35.5']],
    );
    assert.ok(
      !`${added.stdout}${added.stderr}${listed.stdout}${listed.stderr}`.includes('s3cret'),
      'the password is never printed',
    );

    // The same row, read from the database itself.
    const store = await openStore({ url });
    try {
      assert.equal((await store.clusters.get('prod'))?.kubeconfigPath, kubeconfig);
    } finally {
      await store.close();
    }
  });

  it('kup maintenance and kup rollout work on the database too (--db, or KUP_DB)', async () => {
    const set = await kup([
      'maintenance',
      'set',
      'prod',
      '--window',
      'sat 02:00 4h UTC',
      '--label',
      'env=prod',
      '--db',
      url,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(set.code, 0, set.stderr);
    const shown = await kup(['maintenance', 'show', 'prod', '-o', 'json', '--data-dir', dataDir], { KUP_DB: url });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /"env": "prod"/);
    const spec = join(dir, 'rollout.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'to-1-36',
        target: { to: '1.36.1' },
        stages: [{ name: 'prod', clusters: { labels: { env: 'prod' } } }],
      }),
    );
    const created = await kup(['rollout', 'create', '-f', spec, '--db', url, '--data-dir', dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const listed = await kup(['rollout', 'list', '-o', 'json', '--data-dir', dataDir], { KUP_DB: url });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /"name": "to-1-36"/);
    assert.ok(!existsSync(databasePath(dataDir)), 'nothing was written to the SQLite file of the data directory');
    const store = await openStore({ url });
    try {
      assert.deepEqual(
        (await store.rollouts.list()).map((r) => r.name),
        ['to-1-36'],
      );
    } finally {
      await store.close();
    }
  });

  it('refuses a URL that is not a PostgreSQL one as bad input, without printing its password', async () => {
    const bad = await kup(['cluster', 'list', '--db', 'mysql://kup:s3cret@db.example/kup', '--data-dir', dataDir]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(
      bad.stderr,
      /--db: "mysql:\/\/db\.example\/kup" is not a PostgreSQL URL like postgres:\/\/user:password@host:5432\/kup/,
    );
    assert.ok(!bad.stderr.includes('s3cret'));
    const fromEnv = await kup(['status', 'run-x', '--data-dir', dataDir], { KUP_DB: 'not a url' });
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(fromEnv.stderr, /KUP_DB: it is not a PostgreSQL URL/);
  });
});
