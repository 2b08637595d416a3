/**
 * Several kups on one PostgreSQL database, end to end: three real `kup work --db postgres://...` processes share the
 * upgrades of three kube-sim clusters through the runs' leases, and the one driving a run is killed with SIGKILL in
 * the middle of its pools. Then: every run succeeded; the killed executor's runs were taken over by another process
 * and continued from their last committed step; the event log of each run has no gap, every step ended once, and
 * its events come from one lease owner at a time (an owner's events never resume once another's have begun).
 *
 * The database is a throwaway PostgreSQL server (Debian's binaries, a temp directory, a loopback port); the
 * simulated clusters run in this process; only kup is killed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterRegistry } from '../../src/clusters/registry.ts';
import { loadRun } from '../../src/engine/apply-event.ts';
import { createRun, openCluster } from '../../src/engine/runs.ts';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import { openStore } from '../../src/persistence/store.ts';
import { defaultCatalog } from '../../src/versions/index.ts';
import type { PostgresServer } from '../helpers/postgres.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { assertRunSurvived, killReplicaInPools } from '../helpers/replicas.ts';
import { FAST_TIMINGS, providers, wallClock } from '../helpers/rollout.ts';
import { startFromYaml } from '../helpers/sim.ts';

const KUP_BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');
const CLUSTERS = ['alpha', 'beta', 'gamma'] as const;
const REPLICAS = 3;
/** A short lease, so that a live kup takes over from the dead one within about a second. */
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

/** One `kup work` process. */
interface Replica {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startReplica(url: string, dataDir: string): Replica {
  // The URL by environment, as a service's would be (argv is visible to every user of the host).
  const child = spawn(process.execPath, [KUP_BIN, 'work', '--data-dir', dataDir], {
    env: { ...process.env, KUP_DB: url, KUP_LEASE_TTL_MS: String(LEASE_TTL_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, exited, output: () => out };
}

describe('three kup replicas on one PostgreSQL, one killed with SIGKILL', { timeout: 300_000 }, () => {
  let server: PostgresServer;
  let store: KupStore;
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
    const url = await server.createDatabase('kup_replicas');
    store = await openStore({ url });
    const dir = mkdtempSync(join(tmpdir(), 'kup-replicas-'));
    const registry = new ClusterRegistry({ clusters: store.clusters, now: () => Date.now(), providers });
    const runIds: string[] = [];
    for (const name of CLUSTERS) {
      const sim = await startFromYaml(scenario(name));
      sims.push(sim);
      const kubeconfigPath = join(dir, `${name}.kubeconfig`);
      writeFileSync(kubeconfigPath, sim.kubeconfig, { mode: 0o600 });
      await registry.add({ name, kubeconfigPath, provider: 'sim' });
      const cluster = await openCluster(store, name, { providers, clock: wallClock });
      runIds.push(
        (await createRun(store, cluster, { to: '1.36.1' }, defaultCatalog(), wallClock, AbortSignal.timeout(30_000)))
          .runId,
      );
    }

    for (let i = 0; i < REPLICAS; i++) replicas.push(startReplica(url, join(dir, 'data')));

    // The victim: the replica driving a run that is in its pools, once it has finished a worker node of it.
    const { replica: victimReplica, killed } = await killReplicaInPools(store, replicas, runIds, (m) =>
      t.diagnostic(m),
    );

    for (const r of replicas.filter((r) => r !== victimReplica)) {
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 180_000);
      const { code, signal } = await r.exited;
      clearTimeout(timer);
      assert.equal(code, 0, `a surviving replica exited ${code ?? signal}:\n${r.output()}`);
    }

    for (const runId of runIds) {
      const { state } = await loadRun(store, runId);
      const owners = assertRunSurvived(runId, state, await store.events.list(runId), killed);
      t.diagnostic(`run ${runId}: driven by ${owners.join(' -> ')}`);
    }
  });
});
