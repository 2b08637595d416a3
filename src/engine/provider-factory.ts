/**
 * How the engine gets the provider of a registered cluster: from a factory the composition root hands it (the CLI
 * passes kup's provider registry, `src/providers/registry.ts`). The engine owns this interface and imports no
 * provider: providers depend on the engine, never the other way.
 */
import type { Clock } from '../clock/clock.ts';
import type { Provider } from './provider.ts';

/** A provider's settings as the cluster registry stores them (plain JSON). */
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
export interface ProviderCreateOptions {
  /** The engine's clock: the provider's polling, backoff and deadlines wait on it. @default the wall clock */
  readonly clock?: Clock;
}

/** Builds providers by the name and settings a registered cluster has. */
export interface ProviderFactory {
  /**
   * The provider named `name` for `cluster`, configured by `settings`.
   * @throws ProviderError `KUP-PROVIDER-012` for a name it does not know, `KUP-PROVIDER-001` for settings the
   *   provider does not accept or a kubeconfig it cannot use.
   */
  create(
    name: string,
    settings: ProviderSettings,
    cluster: ProviderClusterRef,
    options?: ProviderCreateOptions,
  ): Provider;
}
