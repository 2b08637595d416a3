import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { KupStore } from '../persistence/store.ts';
import { openSqliteStore } from '../persistence/store.ts';
import { builtInProviders } from '../providers/registry.ts';
import { defaultCatalog } from '../versions/index.ts';
import { ClusterRegistry, ClusterRegistryError, inspectCluster, readKubeconfig } from './registry.ts';

let dir: string;
let store: KupStore;
let registry: ClusterRegistry;

/** A kubeconfig with the given contexts; users named `*-token` carry a bearer token. */
function kubeconfig(name: string, contexts: { name: string; user: string; server?: string }[], current?: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: contexts.map((c) => ({ name: `${c.name}-cluster`, cluster: { server: c.server ?? 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': true } })),
      users: contexts.map((c) => ({ name: c.user, user: c.user.endsWith('-token') ? { token: 'secret' } : { username: 'admin', password: 'x' } })),
      contexts: contexts.map((c) => ({ name: c.name, context: { cluster: `${c.name}-cluster`, user: c.user } })),
      ...(current !== undefined ? { 'current-context': current } : {}),
    }),
  );
  return path;
}

function refused(code: string, field: string | undefined, message: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ClusterRegistryError, `expected a ClusterRegistryError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.details.field, field);
    assert.equal(err.isInputError, field !== undefined);
    assert.match(err.message, message);
    return true;
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kup-registry-'));
  store = openSqliteStore({ dataDir: join(dir, 'data') });
  registry = new ClusterRegistry({ clusters: store.clusters, now: () => 1_700_000_000_000, cwd: dir, providers: builtInProviders() });
});

afterEach(async () => {
  await store.close();
});

describe('cluster registry: add', () => {
  it('registers a cluster, recording the absolute kubeconfig path and the current context it was added with', async () => {
    kubeconfig('kc.yaml', [{ name: 'admin@prod', user: 'prod-token' }, { name: 'other', user: 'o-token' }], 'admin@prod');
    const added = await registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim' });
    assert.deepEqual(added, {
      name: 'prod',
      kubeconfigPath: join(dir, 'kc.yaml'),
      context: 'admin@prod',
      provider: 'sim',
      providerSettings: {},
      addedAt: 1_700_000_000_000,
    });
    assert.deepEqual(await registry.show('prod'), added);
    const explicit = await registry.add({ name: 'prod-2', kubeconfigPath: join(dir, 'kc.yaml'), context: 'other', provider: 'sim' });
    assert.equal(explicit.context, 'other');
    assert.deepEqual((await registry.list()).map((c) => c.name), ['prod', 'prod-2']);
  });

  it('refuses names that are not DNS labels', async () => {
    const path = kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }], 'a');
    for (const name of ['Prod', 'prod_1', '-prod', 'prod-', 'prod.eu', '', 'a'.repeat(64)]) {
      await assert.rejects(registry.add({ name, kubeconfigPath: path, provider: 'sim' }), refused('KUP-REGISTRY-001', 'name', /is not a DNS label/), name);
    }
    assert.equal((await registry.add({ name: 'a'.repeat(63), kubeconfigPath: path, provider: 'sim' })).name.length, 63);
    assert.deepEqual((await registry.list()).length, 1);
  });

  it('refuses a kubeconfig that is missing, a directory, or not a kubeconfig', async () => {
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'missing.yaml', provider: 'sim' }),
      refused('KUP-REGISTRY-002', 'kubeconfig', new RegExp(`kubeconfig ${join(dir, 'missing.yaml')} does not exist`)),
    );
    mkdirSync(join(dir, 'a-dir'));
    await assert.rejects(registry.add({ name: 'prod', kubeconfigPath: 'a-dir', provider: 'sim' }), refused('KUP-REGISTRY-002', 'kubeconfig', /cannot be read \(not a file\)/));
    writeFileSync(join(dir, 'garbage.yaml'), 'clusters: [: not yaml');
    await assert.rejects(registry.add({ name: 'prod', kubeconfigPath: 'garbage.yaml', provider: 'sim' }), refused('KUP-REGISTRY-002', 'kubeconfig', /is not valid/));
    assert.deepEqual(await registry.list(), []);
  });

  it('refuses a context the kubeconfig does not have, listing those it has, and a file without a current context', async () => {
    kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }, { name: 'b', user: 'b-token' }]);
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', context: 'c', provider: 'sim' }),
      refused('KUP-REGISTRY-003', 'context', /context "c" is not in kubeconfig .*kc\.yaml \(it has: a, b\)/),
    );
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim' }),
      refused('KUP-REGISTRY-003', 'context', /has no current context: pass --context \(it has: a, b\)/),
    );
  });

  it('refuses an unknown provider, naming those it knows, and a sim cluster whose user has no token', async () => {
    kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }, { name: 'basic', user: 'basic-auth' }], 'a');
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'aws' }),
      refused('KUP-REGISTRY-004', 'provider', /unknown provider "aws": kup knows "sim"/),
    );
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', context: 'basic', provider: 'sim' }),
      refused('KUP-REGISTRY-004', 'provider', /provider sim needs a bearer token, and user "basic-auth" of context "basic" has none/),
    );
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim', providerSettings: { url: 'https://x' } }),
      refused('KUP-REGISTRY-004', 'provider', /provider sim has no setting "url" \(its settings: pollIntervalMs, /),
    );
  });

  it('stores the sim timings the engine builds its provider with: one descriptor answers both', async () => {
    kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }], 'a');
    const providers = builtInProviders();
    const added = await registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim', providerSettings: { pollIntervalMs: 10, retryBudgetMs: 300 } });
    assert.deepEqual(added.providerSettings, { pollIntervalMs: 10, retryBudgetMs: 300 });
    const provider = providers.create(added.provider, added.providerSettings, { name: added.name, kubeconfigPath: added.kubeconfigPath });
    assert.equal(provider.name, 'sim');
    provider.close?.();
  });

  it('refuses a duplicate name, saying what is registered under it', async () => {
    kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }], 'a');
    await registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim' });
    await assert.rejects(
      registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim' }),
      refused('KUP-REGISTRY-005', undefined, /a cluster named prod is already registered \(kubeconfig .*kc\.yaml, context a, provider sim\): remove it first/),
    );
  });
});

describe('cluster registry: show and remove', () => {
  it('names a cluster that is not registered', async () => {
    await assert.rejects(registry.show('ghost'), refused('KUP-REGISTRY-006', undefined, /no cluster named ghost is registered/));
    await assert.rejects(registry.remove('ghost'), refused('KUP-REGISTRY-006', undefined, /no cluster named ghost/));
  });

  it('refuses to remove a cluster while a run of it is active, naming the run', async () => {
    kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }], 'a');
    await registry.add({ name: 'prod', kubeconfigPath: 'kc.yaml', provider: 'sim' });
    await store.runs.create({ id: 'run-20250115-093012-4f1a2b', cluster: 'prod', target: '1.31.5', plan: {}, state: {}, phase: 'paused', createdAt: 1 });
    await assert.rejects(registry.remove('prod'), (err: unknown) => {
      assert.ok(err instanceof ClusterRegistryError);
      assert.equal(
        err.message,
        'KUP-REGISTRY-007: cluster prod has an active run: run-20250115-093012-4f1a2b; let it finish or cancel it first (kup cancel run-20250115-093012-4f1a2b)',
      );
      assert.deepEqual(err.details.activeRuns, ['run-20250115-093012-4f1a2b']);
      return true;
    });
    assert.ok(await store.clusters.get('prod'));
    await store.runs.saveState('run-20250115-093012-4f1a2b', 1, { state: {}, phase: 'cancelled', active: false, at: 2 });
    const removed = await registry.remove('prod');
    assert.deepEqual([removed.runsKept, removed.runsRemoved], [1, 0]);
    assert.deepEqual(await registry.list(), []);
    assert.equal((await store.runs.get('run-20250115-093012-4f1a2b'))?.phase, 'cancelled', 'the run stays in the history');
  });
});

describe('readKubeconfig', () => {
  it('tells the server, user and whether it has a token', async () => {
    const path = kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token', server: 'https://10.0.0.1:6443' }], 'a');
    assert.deepEqual(await readKubeconfig(path), { path, context: 'a', server: 'https://10.0.0.1:6443', user: 'a-token', hasToken: true });
  });
});

describe('inspectCluster', () => {
  it('answers "unreachable" with the reason when nothing listens, and when the kubeconfig is gone', async () => {
    const path = kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token', server: 'https://127.0.0.1:1' }], 'a');
    const cluster = await registry.add({ name: 'down', kubeconfigPath: path, provider: 'sim' });
    const options = { catalog: defaultCatalog(), now: new Date('2025-01-15'), timeoutMs: 2000 };
    const down = await inspectCluster(cluster, options);
    assert.equal(down.reachable, false);
    assert.ok(!down.reachable && down.server === 'https://127.0.0.1:1' && /ECONNREFUSED/.test(down.error), JSON.stringify(down));
    const gone = await inspectCluster({ ...cluster, kubeconfigPath: join(dir, 'deleted.yaml') }, options);
    assert.ok(!gone.reachable && /KUP-CLUSTER-001/.test(gone.error), JSON.stringify(gone));
  });

  it('stops at once when its signal is aborted', async () => {
    const path = kubeconfig('kc.yaml', [{ name: 'a', user: 'a-token' }], 'a');
    const cluster = await registry.add({ name: 'x', kubeconfigPath: path, provider: 'sim' });
    await assert.rejects(
      inspectCluster(cluster, { catalog: defaultCatalog(), now: new Date(), signal: AbortSignal.abort(new Error('stop')) }),
      /stop/,
    );
  });
});
