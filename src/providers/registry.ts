/**
 * Which provider drives a registered cluster: the cluster registry stores a provider name and its settings (plain
 * JSON), and this turns them into a {@link Provider}. Settings are checked here, so a typo in a registered cluster
 * is an error naming the setting rather than a default silently used.
 */
import type { Clock } from '../clock/clock.ts';
import type { Provider } from '../engine/provider.ts';
import { ProviderError, ProviderErrorCode } from '../engine/provider.ts';
import { SIM_PROVIDER_NAME, createSimProvider } from './sim/sim-provider.ts';
import type { SimProviderOptions } from './sim/sim-provider.ts';

/** The names {@link providerFor} knows. */
export const KNOWN_PROVIDERS: readonly string[] = Object.freeze([SIM_PROVIDER_NAME]);

/** A provider's settings as the cluster registry stores them. */
export type ProviderSettings = Readonly<Record<string, unknown>>;

/** How to reach the cluster a provider serves (a registered cluster's connection fields). */
export interface ProviderClusterRef {
  /** The cluster's name in the registry, for error messages. */
  readonly name: string;
  /** Path of its kubeconfig. */
  readonly kubeconfigPath?: string;
  /** Its kubeconfig document, instead of a file. */
  readonly kubeconfig?: string;
  /** Context of the kubeconfig. @default the kubeconfig's current context */
  readonly context?: string;
}

/** What the engine passes to every provider it creates. */
export interface ProviderForOptions {
  /** The engine's clock. @default the wall clock */
  readonly clock?: Clock;
}

/** The settings the `sim` provider accepts: milliseconds, each > 0. */
const SIM_SETTINGS = [
  'pollIntervalMs',
  'operationTimeoutMs',
  'apiHealthTimeoutMs',
  'requestTimeoutMs',
  'retryBudgetMs',
] as const;
type SimSetting = (typeof SIM_SETTINGS)[number];

/**
 * The provider named `name` for `cluster`, configured by `settings`.
 * @throws ProviderError `KUP-PROVIDER-012` for a name no provider has (the message lists the known ones),
 *   `KUP-PROVIDER-001` for settings it does not accept or a kubeconfig it cannot use.
 */
export function providerFor(
  name: string,
  settings: ProviderSettings,
  cluster: ProviderClusterRef,
  options: ProviderForOptions = {},
): Provider {
  switch (name) {
    case SIM_PROVIDER_NAME:
      return createSimProvider({
        ...(cluster.kubeconfigPath !== undefined ? { kubeconfigPath: cluster.kubeconfigPath } : {}),
        ...(cluster.kubeconfig !== undefined ? { kubeconfig: cluster.kubeconfig } : {}),
        ...(cluster.context !== undefined ? { context: cluster.context } : {}),
        ...(options.clock !== undefined ? { clock: options.clock } : {}),
        ...simSettings(settings, cluster.name),
      });
    default:
      throw new ProviderError(
        ProviderErrorCode.unknownProvider,
        `cluster ${cluster.name}: unknown provider "${name}" (known providers: ${KNOWN_PROVIDERS.join(', ')})`,
        { provider: name },
      );
  }
}

function simSettings(settings: ProviderSettings, cluster: string): Partial<SimProviderOptions> {
  const values: Partial<Record<SimSetting, number>> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (!(SIM_SETTINGS as readonly string[]).includes(key)) {
      throw new ProviderError(
        ProviderErrorCode.configuration,
        `cluster ${cluster}: provider sim has no setting "${key}" (its settings: ${SIM_SETTINGS.join(', ')})`,
        { provider: SIM_PROVIDER_NAME },
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ProviderError(
        ProviderErrorCode.configuration,
        `cluster ${cluster}: provider sim setting "${key}" must be a number of milliseconds > 0, got ${JSON.stringify(value)}`,
        { provider: SIM_PROVIDER_NAME },
      );
    }
    values[key as SimSetting] = value;
  }
  const { retryBudgetMs, ...rest } = values;
  return { ...rest, ...(retryBudgetMs !== undefined ? { retry: { budgetMs: retryBudgetMs } } : {}) };
}
