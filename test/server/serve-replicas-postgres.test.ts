/**
 * Issue 17's "several replicas" done-means test: three `kup serve --db postgres://...` processes on one PostgreSQL
 * database upgrade three kube-sim clusters, each run created through a different replica's REST API, and the replica
 * driving a run is killed with SIGKILL in the middle of its pools. Then: every run completes (the dead replica's runs
 * taken over by the others, from their last committed step), no run was driven by two replicas at once (each lease
 * owner's stretch of a run's event log ends before the next one's begins), and no event is lost. The survivors stop
 * on SIGTERM with exit 0.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import { ClusterRegistry } from '../../src/clusters/registry.ts';
import { loadRun } from '../../src/engine/apply-event.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import { openStore } from '../../src/persistence/store.ts';
import type { PostgresServer } from '../helpers/postgres.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { assertRunSurvived, killReplicaInPools } from '../helpers/replicas.ts';
import { FAST_TIMINGS, providers } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';

const KUP_BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');
const CLUSTERS = ['alpha', 'beta', 'gamma'] as const;
/** A short lease, so that a live replica takes over from the dead one within about a second. */
const LEASE_TTL_MS = 1000;

function scenario(name: string): string {
  return `
name: ${name}
kubernetesVersion: '1.35.5'
controlPlane: { nodes: 1 }
pools:
  - { name: app, nodes: 4 }
workloads:
  - { kind: Deployment, name: web, namespace: shop, replicas: 4, pdb: { maxUnavailable: 1 } }
${FAST_TIMINGS}
`;
}

/** One `kup serve` process. */
interface Replica {
  readonly child: ChildProcess;
  /** Its API's base URL, once it listens. */
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startReplica(db: string, dataDir: string, tokenFile: string, secretKey: string): Replica {
  // The database URL by environment, as an operator's service unit would give it (argv is visible to every user).
  const child = spawn(
    process.execPath,
    [
      KUP_BIN,
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      dataDir,
      '--admin-token-file',
      tokenFile,
      '--log-level',
      'warn',
    ],
    {
      env: { ...process.env, KUP_DB: db, KUP_SECRET_KEY: secretKey, KUP_LEASE_TTL_MS: String(LEASE_TTL_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  const url = new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      out += `${line}\n`;
      const m = /listening on (https?:\/\/\S+) /.exec(line);
      if (m?.[1] !== undefined) resolveUrl(m[1]);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`kup serve exited ${code ?? signal} before listening:\n${out}`)),
    );
  });
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { child, url, exited, output: () => out };
}

describe('three kup serve replicas on one PostgreSQL, one killed with SIGKILL', { timeout: 300_000 }, () => {
  let server: PostgresServer;
  let store: KupStore | undefined;
  const sims: SimCluster[] = [];
  const replicas: Replica[] = [];

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await store?.close();
    for (const sim of sims) await sim.stop();
    await server?.stop();
  });

  it('completes every run, each driven by one replica at a time, with no event lost', async (t) => {
    const db = await server.createDatabase('kup_serve_replicas');
    const dir = mkdtempSync(join(tmpdir(), 'kup-serve-replicas-'));
    const tokenFile = join(dir, 'admin-token');
    // One key for every replica: a kubeconfig one sealed, another opens.
    const secretKey = randomBytes(32).toString('hex');

    // The first replica migrates the database and creates the admin token; the others find both.
    replicas.push(startReplica(db, join(dir, 'data-0'), tokenFile, secretKey));
    await replicas[0]!.url;
    for (let i = 1; i < 3; i++) replicas.push(startReplica(db, join(dir, `data-${i}`), tokenFile, secretKey));
    const urls = await Promise.all(replicas.map((r) => r.url));
    const token = readFileSync(tokenFile, 'utf8').trim();

    store = await openStore({ url: db });
    const registry = new ClusterRegistry({ clusters: store.clusters, now: () => Date.now(), providers });
    const runIds: string[] = [];
    for (const [i, name] of CLUSTERS.entries()) {
      const sim = await startFromYaml(scenario(name));
      sims.push(sim);
      const kubeconfigPath = join(dir, `${name}.kubeconfig`);
      writeFileSync(kubeconfigPath, sim.kubeconfig, { mode: 0o600 });
      await registry.add({ name, kubeconfigPath, provider: 'sim' });
      // Each run through another replica's API.
      const res = await fetch(`${urls[i]!}/api/v1/runs`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ cluster: name, to: '1.36.1' }),
      });
      const body = (await res.json()) as { id?: string };
      assert.equal(res.status, 201, JSON.stringify(body));
      assert.ok(body.id !== undefined, JSON.stringify(body));
      runIds.push(body.id);
    }

    // The victim: the replica driving a run that is in its pools, once it has finished a worker node of it.
    const { replica: victimReplica, killed } = await killReplicaInPools(store, replicas, runIds, (m) =>
      t.diagnostic(m),
    );

    await waitFor(
      async () => {
        for (const runId of runIds) if ((await store!.runs.get(runId))?.active !== false) return false;
        return true;
      },
      {
        message: async () =>
          `every run to end: ${JSON.stringify(await store!.runs.list())}\n${replicas.map((r) => r.output()).join('\n---\n')}`,
        timeoutMs: 180_000,
        intervalMs: 100,
      },
    );
    for (const runId of runIds) {
      const { state } = await loadRun(store, runId);
      const owners = assertRunSurvived(runId, state, await store.events.list(runId), killed);
      t.diagnostic(`run ${runId}: driven by ${owners.join(' -> ')}`);
    }

    // The survivors stop gracefully.
    for (const r of replicas.filter((r) => r !== victimReplica)) {
      r.child.kill('SIGTERM');
      const { code, signal } = await r.exited;
      assert.equal(code, 0, `a surviving replica exited ${code ?? signal} on SIGTERM:\n${r.output()}`);
    }
    assert.deepEqual(
      (await store.runs.list()).filter((r) => r.lease !== undefined).map((r) => `${r.id}: ${r.lease?.owner}`),
      [],
      'no lease is left held once every run ended and the survivors stopped',
    );
  });
});
