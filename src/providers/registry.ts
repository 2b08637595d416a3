/**
 * The providers kup knows, one descriptor each: its name, a line of description, how a cluster's settings for it
 * are checked, and how it is created. The cluster registry checks `kup cluster add` with the same descriptor the
 * engine (through the {@link ProviderFactory} the CLI passes it) builds the provider with, so what registration
 * accepts is what a run can use. Settings are checked in both places, so a typo in a registered cluster is an error
 * naming the setting rather than a default silently used.
 */
import type { Provider } from '../engine/provider.ts';
import { ProviderError, ProviderErrorCode } from '../engine/provider.ts';
import type {
  ProviderClusterRef,
  ProviderCreateOptions,
  ProviderFactory,
  ProviderSettings,
} from '../engine/provider-factory.ts';
import { SIM_PROVIDER_NAME, createSimProvider } from './sim/sim-provider.ts';
import type { SimProviderOptions } from './sim/sim-provider.ts';
import {
  LOCAL_PROVIDER_NAME,
  LOCAL_TIMING_SETTINGS,
  checkControlServer,
  controlServerFromKubeconfig,
  createLocalProvider,
} from './local/local-provider.ts';
import { CAPI_PROVIDER_NAME, createCapiProvider } from './capi/capi-provider.ts';
import { parseClusterReference } from './capi/workload-kubeconfig.ts';

/** What a provider is told of the kubeconfig context a cluster is reached through, when it is registered. */
export interface KubeconfigTarget {
  /** Absolute path of the file. */
  readonly path: string;
  readonly context: string;
  /** The API server URL. */
  readonly server: string;
  readonly user: string;
  /** Whether the user authenticates with a bearer token. */
  readonly hasToken: boolean;
}

/** A provider's answer on a cluster's settings: the settings to store (normalized), or the problem in one sentence. */
export type SettingsVerdict = { readonly settings: ProviderSettings } | { readonly problem: string };

/** A provider kup can use: what the cluster registry and the engine both ask. */
export interface ProviderDescriptor {
  /** The name clusters are registered with (`--provider`). */
  readonly name: string;
  /** One line for `kup cluster add --help`. */
  readonly description: string;
  /**
   * Checks (and normalizes) a cluster's settings for this provider. `target` is the kubeconfig context the cluster is
   * reached through, when known (registration reads it; creating the provider of a stored cluster does not).
   */
  validate(settings: unknown, target?: KubeconfigTarget): SettingsVerdict;
  /** Creates the provider for `cluster` from settings {@link validate} accepted. */
  create(settings: ProviderSettings, cluster: ProviderClusterRef, options: ProviderCreateOptions): Provider;
}

/** The settings the `sim` provider accepts: milliseconds, each > 0. */
const SIM_SETTINGS = [
  'pollIntervalMs',
  'operationTimeoutMs',
  'apiHealthTimeoutMs',
  'requestTimeoutMs',
  'retryBudgetMs',
  'maxConnections',
] as const;

/** The one sim setting that is a count, not milliseconds: connections to the infrastructure API open at once. */
const SIM_COUNT_SETTING = 'maxConnections';
type SimSetting = (typeof SIM_SETTINGS)[number];

/**
 * The `sim` provider: kube-sim's infrastructure API. It derives the infrastructure URL from the kubeconfig's server
 * and authenticates with the kubeconfig's bearer token, so that token must be there; its settings are optional
 * timings and the connections it opens at once ({@link SIM_SETTINGS}).
 */
export const SIM_PROVIDER: ProviderDescriptor = {
  name: SIM_PROVIDER_NAME,
  description: "kube-sim's infrastructure API (/sim/v1 on the API server, with the kubeconfig's token)",
  validate(settings, target) {
    const given = settings ?? {};
    if (typeof given !== 'object' || Array.isArray(given)) {
      return {
        problem: `provider sim takes an object of settings (${SIM_SETTINGS.join(', ')}), got ${JSON.stringify(given)}`,
      };
    }
    const values: Record<string, number> = {};
    for (const [key, value] of Object.entries(given)) {
      if (!(SIM_SETTINGS as readonly string[]).includes(key)) {
        return { problem: `provider sim has no setting "${key}" (its settings: ${SIM_SETTINGS.join(', ')})` };
      }
      if (key === SIM_COUNT_SETTING) {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1024) {
          return { problem: `provider sim setting "${key}" must be a whole number from 1 to 1024, got ${JSON.stringify(value)}` };
        }
      } else if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        return {
          problem: `provider sim setting "${key}" must be a number of milliseconds > 0, got ${JSON.stringify(value)}`,
        };
      }
      values[key] = value;
    }
    if (target !== undefined && !target.hasToken) {
      return {
        problem: `provider sim needs a bearer token, and user "${target.user}" of context "${target.context}" has none (kube-sim's kubeconfig carries one)`,
      };
    }
    return { settings: values };
  },
  create(settings, cluster, options) {
    const { retryBudgetMs, ...timings } = settings as Partial<Record<SimSetting, number>>;
    const simOptions: SimProviderOptions = {
      ...(cluster.kubeconfigPath !== undefined ? { kubeconfigPath: cluster.kubeconfigPath } : {}),
      ...(cluster.kubeconfig !== undefined ? { kubeconfig: cluster.kubeconfig } : {}),
      ...(cluster.context !== undefined ? { context: cluster.context } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...timings,
      ...(retryBudgetMs !== undefined ? { retry: { budgetMs: retryBudgetMs } } : {}),
    };
    return createSimProvider(simOptions);
  },
};

/**
 * The `local` provider: a real control plane started by `kup local start`, through its control API. Its one required
 * setting, `controlServer` (the control API's URL), is read from the kubeconfig at registration; the sim provider's
 * timings are optional.
 */
export const LOCAL_PROVIDER: ProviderDescriptor = {
  name: LOCAL_PROVIDER_NAME,
  description: "a real control plane on this host started by 'kup local start' (its control API, named in the kubeconfig)",
  validate(settings, target) {
    const given = settings ?? {};
    if (typeof given !== 'object' || Array.isArray(given)) {
      return { problem: `provider local takes an object of settings (controlServer, ${LOCAL_TIMING_SETTINGS.join(', ')}), got ${JSON.stringify(given)}` };
    }
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(given)) {
      if (key === 'controlServer') {
        const problem = checkControlServer(value);
        if (problem !== undefined) return { problem: `provider local ${problem}` };
      } else if (!(LOCAL_TIMING_SETTINGS as readonly string[]).includes(key)) {
        return { problem: `provider local has no setting "${key}" (its settings: controlServer, ${LOCAL_TIMING_SETTINGS.join(', ')})` };
      } else if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        return { problem: `provider local setting "${key}" must be a number of milliseconds > 0, got ${JSON.stringify(value)}` };
      }
      values[key] = value;
    }
    if (values['controlServer'] === undefined) {
      if (target === undefined) return { problem: 'provider local needs the setting "controlServer" (the control API of kup local start)' };
      const found = controlServerFromKubeconfig(target.path, target.server);
      if ('problem' in found) return { problem: `provider local: ${found.problem}` };
      const problem = checkControlServer(found.server);
      if (problem !== undefined) return { problem: `provider local: ${problem}` };
      values['controlServer'] = found.server;
    }
    if (target !== undefined && !target.hasToken) {
      return { problem: `provider local needs a bearer token, and user "${target.user}" of context "${target.context}" has none (the kubeconfig of kup local start carries one)` };
    }
    return { settings: values };
  },
  create(settings, cluster, options) {
    return createLocalProvider(settings, cluster, options);
  },
};

/** The settings the `capi` provider accepts besides `managementKubeconfig` and `cluster`. */
const CAPI_OPTIONAL_SETTINGS = ['managementContext', 'pollIntervalMs', 'operationTimeoutMs', 'workerRollout'] as const;

/**
 * The `capi` provider: a workload cluster Cluster API manages, through its objects on the management cluster. Its
 * settings: `managementKubeconfig` (an absolute path), `cluster` (`NAMESPACE/NAME` of the Cluster object), and
 * optionally `managementContext`, `workerRollout` (`kup` or `delegate`, see `CapiProviderOptions`) and the timings
 * `pollIntervalMs`, `operationTimeoutMs`. `kup cluster add --provider
 * capi --kubeconfig MGMT --cluster NS/NAME` fills them in (and registers the workload cluster's own kubeconfig).
 */
export const CAPI_PROVIDER: ProviderDescriptor = {
  name: CAPI_PROVIDER_NAME,
  description: 'a workload cluster Cluster API manages (its Cluster, control plane and MachineDeployments on the management cluster)',
  validate(settings) {
    const all = ['managementKubeconfig', 'cluster', ...CAPI_OPTIONAL_SETTINGS];
    const given = settings ?? {};
    if (typeof given !== 'object' || Array.isArray(given)) {
      return { problem: `provider capi takes an object of settings (${all.join(', ')}), got ${JSON.stringify(given)}` };
    }
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(given)) {
      if (!all.includes(key)) return { problem: `provider capi has no setting "${key}" (its settings: ${all.join(', ')})` };
      if (key === 'pollIntervalMs' || key === 'operationTimeoutMs') {
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
          return { problem: `provider capi setting "${key}" must be a number of milliseconds > 0, got ${JSON.stringify(value)}` };
        }
      } else if (key === 'workerRollout') {
        if (value !== 'kup' && value !== 'delegate') {
          return { problem: `provider capi setting "workerRollout" must be "kup" or "delegate", got ${JSON.stringify(value)}` };
        }
      } else if (typeof value !== 'string' || value === '') {
        return { problem: `provider capi setting "${key}" must be a non-empty string, got ${JSON.stringify(value)}` };
      }
      values[key] = value;
    }
    const kubeconfig = values['managementKubeconfig'];
    if (typeof kubeconfig !== 'string' || !kubeconfig.startsWith('/')) {
      return { problem: 'provider capi needs the setting "managementKubeconfig": the absolute path of the management cluster\'s kubeconfig (--kubeconfig MGMT)' };
    }
    if (values['cluster'] === undefined) {
      return { problem: 'provider capi needs the setting "cluster": the Cluster object as NAMESPACE/NAME (--cluster NS/NAME)' };
    }
    const ref = parseClusterReference(values['cluster']);
    if ('problem' in ref) return { problem: `provider capi: ${ref.problem}` };
    return { settings: values };
  },
  create(settings, _cluster, options) {
    const ref = parseClusterReference(settings['cluster']);
    if ('problem' in ref) throw new Error(`provider capi: ${ref.problem}`);
    const number = (key: string) => (typeof settings[key] === 'number' ? { [key]: settings[key] } : {});
    return createCapiProvider({
      managementKubeconfig: String(settings['managementKubeconfig']),
      ...(typeof settings['managementContext'] === 'string' ? { managementContext: settings['managementContext'] } : {}),
      namespace: ref.namespace,
      cluster: ref.name,
      ...number('pollIntervalMs'),
      ...number('operationTimeoutMs'),
      ...(settings['workerRollout'] === 'delegate' ? { workerRollout: 'delegate' as const } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
  },
};

/** The providers clusters may use, by name: the {@link ProviderFactory} the engine is given. */
export class ProviderRegistry implements ProviderFactory {
  readonly #byName: ReadonlyMap<string, ProviderDescriptor>;

  /** @param descriptors - the providers; names must differ. */
  constructor(descriptors: readonly ProviderDescriptor[]) {
    const byName = new Map<string, ProviderDescriptor>();
    for (const d of descriptors) {
      if (byName.has(d.name)) throw new Error(`two providers are named "${d.name}"`);
      byName.set(d.name, d);
    }
    this.#byName = byName;
  }

  /** The names of the providers, in the order given. */
  get names(): readonly string[] {
    return [...this.#byName.keys()];
  }

  /** The descriptors, in the order given. */
  get descriptors(): readonly ProviderDescriptor[] {
    return [...this.#byName.values()];
  }

  /** The provider named `name`, if there is one. */
  get(name: string): ProviderDescriptor | undefined {
    return this.#byName.get(name);
  }

  /**
   * The provider named `name` for `cluster`, configured by `settings` (checked again: a stored cluster may predate a
   * change of what its provider accepts).
   * @throws ProviderError `KUP-PROVIDER-012` for a name no provider has (the message lists the known ones),
   *   `KUP-PROVIDER-001` for settings it does not accept or a kubeconfig it cannot use.
   */
  create(
    name: string,
    settings: ProviderSettings,
    cluster: ProviderClusterRef,
    options: ProviderCreateOptions = {},
  ): Provider {
    const descriptor = this.#byName.get(name);
    if (descriptor === undefined) {
      throw new ProviderError(
        ProviderErrorCode.unknownProvider,
        `cluster ${cluster.name}: unknown provider "${name}" (known providers: ${this.names.join(', ')})`,
        { provider: name },
      );
    }
    const verdict = descriptor.validate(settings);
    if ('problem' in verdict) {
      throw new ProviderError(ProviderErrorCode.configuration, `cluster ${cluster.name}: ${verdict.problem}`, {
        provider: name,
      });
    }
    return descriptor.create(verdict.settings, cluster, options);
  }
}

/** The providers this kup ships: what the CLI wires into the cluster registry and the engine. */
export function builtInProviders(): ProviderRegistry {
  return new ProviderRegistry([SIM_PROVIDER, LOCAL_PROVIDER, CAPI_PROVIDER]);
}

/**
 * Shorthand for `builtInProviders().create(...)`.
 * @throws ProviderError as {@link ProviderRegistry.create}.
 */
export function providerFor(
  name: string,
  settings: ProviderSettings,
  cluster: ProviderClusterRef,
  options: ProviderCreateOptions = {},
): Provider {
  return builtInProviders().create(name, settings, cluster, options);
}
