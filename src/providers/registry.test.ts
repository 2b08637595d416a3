/**
 * The provider registry: one descriptor per provider, asked both by `kup cluster add` (validate) and by the engine
 * (create), so both accept the same settings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProviderError, ProviderErrorCode } from '../engine/provider.ts';
import type { ProviderFactory } from '../engine/provider-factory.ts';
import type { KubeconfigTarget, ProviderDescriptor } from './registry.ts';
import { CAPI_PROVIDER, LOCAL_PROVIDER, ProviderRegistry, SIM_PROVIDER, builtInProviders } from './registry.ts';
import { OFFLINE_KUBECONFIG, uncalledProvider } from '../engine/test-fixtures.ts';

/** A provider whose every call fails: the registry tests create it and call nothing. */
const FAILING_PROVIDER = uncalledProvider('like', { replace: false, inPlace: false, snapshot: false });

const TARGET: KubeconfigTarget = { path: '/k', context: 'c', server: 'https://127.0.0.1:9', user: 'u', hasToken: true };

describe('the capi provider descriptor', () => {
  const settings = { managementKubeconfig: '/etc/kup/mgmt.kubeconfig', cluster: 'team-a/shop' };

  it('accepts the management kubeconfig, the Cluster as NS/NAME and its optional settings', () => {
    assert.deepEqual(CAPI_PROVIDER.validate(settings, TARGET), { settings });
    const more = { ...settings, managementContext: 'admin', pollIntervalMs: 500, operationTimeoutMs: 60_000 };
    assert.deepEqual(CAPI_PROVIDER.validate(more), { settings: more });
  });

  it('refuses what it cannot use, naming the setting', () => {
    assert.deepEqual(CAPI_PROVIDER.validate({ cluster: 'team-a/shop' }), {
      problem:
        'provider capi needs the setting "managementKubeconfig": the absolute path of the management cluster\'s kubeconfig (--kubeconfig MGMT)',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, managementKubeconfig: 'mgmt.kubeconfig' }), {
      problem:
        'provider capi needs the setting "managementKubeconfig": the absolute path of the management cluster\'s kubeconfig (--kubeconfig MGMT)',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ managementKubeconfig: '/k' }), {
      problem: 'provider capi needs the setting "cluster": the Cluster object as NAMESPACE/NAME (--cluster NS/NAME)',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, cluster: 'shop' }), {
      problem: 'provider capi: the Cluster must be NAMESPACE/NAME (a namespace and a Cluster\'s name), got "shop"',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, cluster: 'Team/shop' }), {
      problem: 'provider capi: the Cluster must be NAMESPACE/NAME (a namespace and a Cluster\'s name), got "Team/shop"',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, pollIntervalMs: 0 }), {
      problem: 'provider capi setting "pollIntervalMs" must be a number of milliseconds > 0, got 0',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, workerRollout: 'cluster-api' }), {
      problem: 'provider capi setting "workerRollout" must be "kup" or "delegate", got "cluster-api"',
    });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, workerRollout: 'delegate' }), { settings: { ...settings, workerRollout: 'delegate' } });
    assert.deepEqual(CAPI_PROVIDER.validate({ ...settings, mode: 'fast' }), {
      problem:
        'provider capi has no setting "mode" (its settings: managementKubeconfig, cluster, managementContext, pollIntervalMs, operationTimeoutMs, workerRollout)',
    });
  });

  it('creates a provider that replaces nodes and says it has no snapshot, in-place upgrade or downgrade, and nodes that report no image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kup-capi-'));
    const kubeconfig = join(dir, 'mgmt.kubeconfig');
    writeFileSync(kubeconfig, OFFLINE_KUBECONFIG);
    const provider = CAPI_PROVIDER.create({ ...settings, managementKubeconfig: kubeconfig }, { name: 'shop' }, {});
    assert.equal(provider.name, 'capi');
    assert.deepEqual(provider.capabilities, {
      replace: true,
      inPlace: false,
      snapshot: false,
      controlPlaneDowngrade: false,
      drainsControlPlane: true,
      nodesReportImage: false,
    });
  });
});

describe('the sim provider descriptor', () => {
  it('accepts no settings or its timings, and refuses anything else naming the setting', () => {
    assert.deepEqual(SIM_PROVIDER.validate(undefined, TARGET), { settings: {} });
    assert.deepEqual(SIM_PROVIDER.validate({}, TARGET), { settings: {} });
    assert.deepEqual(SIM_PROVIDER.validate({ pollIntervalMs: 10, retryBudgetMs: 300 }, TARGET), {
      settings: { pollIntervalMs: 10, retryBudgetMs: 300 },
    });
    assert.deepEqual(SIM_PROVIDER.validate({ url: 'https://x' }, TARGET), {
      problem:
        'provider sim has no setting "url" (its settings: pollIntervalMs, operationTimeoutMs, apiHealthTimeoutMs, requestTimeoutMs, retryBudgetMs, maxConnections)',
    });
    assert.deepEqual(SIM_PROVIDER.validate({ pollIntervalMs: 0 }, TARGET), {
      problem: 'provider sim setting "pollIntervalMs" must be a number of milliseconds > 0, got 0',
    });
    assert.match(
      String((SIM_PROVIDER.validate('fast', TARGET) as { problem: string }).problem),
      /^provider sim takes an object of settings/,
    );
  });

  it('needs a bearer token when it is told the kubeconfig context', () => {
    assert.deepEqual(SIM_PROVIDER.validate({}, { ...TARGET, user: 'basic', hasToken: false }), {
      problem: `provider sim needs a bearer token, and user "basic" of context "c" has none (kube-sim's kubeconfig carries one)`,
    });
  });

  it('creates from every setting it accepts: what registration lets in, a run can use', () => {
    const providers = builtInProviders();
    for (const settings of [
      {},
      { pollIntervalMs: 10 },
      { operationTimeoutMs: 1, apiHealthTimeoutMs: 2, requestTimeoutMs: 3, retryBudgetMs: 4 },
      { maxConnections: 8 },
    ]) {
      const verdict = SIM_PROVIDER.validate(settings, TARGET);
      assert.ok('settings' in verdict, JSON.stringify(verdict));
      const provider = providers.create('sim', verdict.settings, { name: 'dev', kubeconfig: OFFLINE_KUBECONFIG });
      assert.equal(provider.name, 'sim');
      provider.close?.();
    }
    assert.throws(
      () => providers.create('sim', { url: 'https://x' }, { name: 'dev', kubeconfig: OFFLINE_KUBECONFIG }),
      (err: unknown) =>
        err instanceof ProviderError &&
        err.code === ProviderErrorCode.configuration &&
        err.message ===
          'KUP-PROVIDER-001: cluster dev: provider sim has no setting "url" (its settings: pollIntervalMs, operationTimeoutMs, apiHealthTimeoutMs, requestTimeoutMs, retryBudgetMs, maxConnections)',
    );
  });
});

describe('ProviderRegistry', () => {
  /** A provider of another kind, to show the registry holds what it is given. */
  const created: string[] = [];
  const OTHER: ProviderDescriptor = {
    name: 'other',
    description: 'a provider of the test',
    validate: (settings) =>
      settings === undefined ||
      (typeof settings === 'object' && settings !== null && Object.keys(settings).length === 0)
        ? { settings: {} }
        : { problem: 'other takes no settings' },
    create: (_settings, cluster) => {
      created.push(cluster.name);
      return { ...FAILING_PROVIDER, name: 'other' };
    },
  };

  it('is the engine’s provider factory: it creates by name, and names the known ones for an unknown name', () => {
    const factory: ProviderFactory = new ProviderRegistry([SIM_PROVIDER, OTHER]);
    assert.equal(factory.create('other', {}, { name: 'prod' }).name, 'other');
    assert.deepEqual(created, ['prod']);
    assert.throws(
      () => factory.create('gke', {}, { name: 'prod' }),
      (err: unknown) =>
        err instanceof ProviderError &&
        err.code === ProviderErrorCode.unknownProvider &&
        err.message === 'KUP-PROVIDER-012: cluster prod: unknown provider "gke" (known providers: sim, other)',
    );
  });

  it('lists its providers in order, and refuses two of one name', () => {
    const registry = new ProviderRegistry([SIM_PROVIDER, OTHER]);
    assert.deepEqual(registry.names, ['sim', 'other']);
    assert.equal(registry.get('other'), OTHER);
    assert.equal(registry.get('gke'), undefined);
    assert.deepEqual(builtInProviders().names, ['sim', 'local', 'capi']);
    assert.throws(() => new ProviderRegistry([SIM_PROVIDER, SIM_PROVIDER]), /^Error: two providers are named "sim"$/);
  });
});

describe('the local provider descriptor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kup-local-registry-'));
  const kubeconfig = (extensions: unknown) => {
    const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'local', cluster: { server: TARGET.server, extensions } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'local', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    return path;
  };

  it('reads the control API from the kubeconfig kup local start wrote, and stores it', () => {
    const path = kubeconfig([{ name: 'kup.dev/local-control-api', extension: { server: 'https://127.0.0.1:4567' } }]);
    assert.deepEqual(LOCAL_PROVIDER.validate(undefined, { ...TARGET, path }), { settings: { controlServer: 'https://127.0.0.1:4567' } });
    assert.deepEqual(LOCAL_PROVIDER.validate({ controlServer: 'https://127.0.0.1:1', pollIntervalMs: 5 }), {
      settings: { controlServer: 'https://127.0.0.1:1', pollIntervalMs: 5 },
    });
  });

  it('refuses a kubeconfig without the control API, a control API off loopback, and unknown settings', () => {
    const path = kubeconfig(undefined);
    assert.match(
      String((LOCAL_PROVIDER.validate({}, { ...TARGET, path }) as { problem: string }).problem),
      /has no "kup\.dev\/local-control-api" extension: use the kubeconfig 'kup local start' wrote/,
    );
    assert.deepEqual(LOCAL_PROVIDER.validate({ controlServer: 'https://10.0.0.1:443' }), {
      problem: 'provider local setting "controlServer" must be https://127.0.0.1:PORT (the control API listens on loopback only), got https://10.0.0.1:443',
    });
    assert.match(String((LOCAL_PROVIDER.validate({ url: 'x' }) as { problem: string }).problem), /^provider local has no setting "url"/);
    assert.deepEqual(LOCAL_PROVIDER.validate({}), { problem: 'provider local needs the setting "controlServer" (the control API of kup local start)' });
  });

  it('creates a provider named local from the settings it accepts', () => {
    const provider = builtInProviders().create('local', { controlServer: 'https://127.0.0.1:4567' }, { name: 'dev', kubeconfig: OFFLINE_KUBECONFIG });
    assert.equal(provider.name, 'local');
    assert.deepEqual(provider.capabilities, { replace: true, inPlace: true, snapshot: true, blueGreen: true });
    provider.close?.();
  });
});
