/**
 * The `local` provider: a real control plane running as processes on this host (`kup local start`), reached through
 * its control API. That API speaks kube-sim's infrastructure protocol on a port of its own (ADR 012), so this
 * provider is the sim provider's client pointed there: the same idempotency, polling, retry and error handling.
 *
 * Where the control API is comes from the cluster's kubeconfig: `kup local start` writes it as an extension of the
 * cluster entry (`kup.dev/local-control-api`), and `kup cluster add --provider local` stores it in the cluster's
 * settings (`controlServer`).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Provider } from '../../engine/provider.ts';
import type { ProviderClusterRef, ProviderCreateOptions, ProviderSettings } from '../../engine/provider-factory.ts';
import { LOCAL_API_PREFIX, LOCAL_CONTROL_EXTENSION } from '../../local/protocol.ts';
import { createSimProvider } from '../sim/sim-provider.ts';
import type { SimProviderOptions } from '../sim/sim-provider.ts';

/** The provider's name in the cluster registry. */
export const LOCAL_PROVIDER_NAME = 'local';

/** The timings the local provider accepts, in milliseconds (the sim provider's). */
export const LOCAL_TIMING_SETTINGS = [
  'pollIntervalMs',
  'operationTimeoutMs',
  'apiHealthTimeoutMs',
  'requestTimeoutMs',
  'retryBudgetMs',
] as const;

/**
 * The control API URL a kubeconfig written by `kup local start` names for the cluster served at `server`, or a
 * sentence saying why there is none.
 */
export function controlServerFromKubeconfig(path: string, server: string): { server: string } | { problem: string } {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return { problem: `cannot read ${path}: ${(err as Error).message}` };
  }
  const clusters =
    (
      doc as {
        clusters?: {
          cluster?: { server?: string; extensions?: { name?: string; extension?: { server?: unknown } }[] };
        }[];
      }
    ).clusters ?? [];
  const entry = clusters.find((c) => c.cluster?.server === server);
  const url = entry?.cluster?.extensions?.find((e) => e.name === LOCAL_CONTROL_EXTENSION)?.extension?.server;
  if (typeof url !== 'string') {
    return {
      problem: `the kubeconfig's cluster ${server} has no "${LOCAL_CONTROL_EXTENSION}" extension: use the kubeconfig 'kup local start' wrote`,
    };
  }
  return { server: url };
}

/** Checks a control API URL: HTTPS on loopback (the control API never listens elsewhere). */
export function checkControlServer(value: unknown): string | undefined {
  if (typeof value !== 'string') return `setting "controlServer" must be a URL, got ${JSON.stringify(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `setting "controlServer" is not a URL: ${value}`;
  }
  if (
    url.protocol !== 'https:' ||
    !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) ||
    url.pathname !== '/'
  ) {
    return `setting "controlServer" must be https://127.0.0.1:PORT (the control API listens on loopback only), got ${value}`;
  }
  return undefined;
}

/** Creates the local provider from settings the registry checked. */
export function createLocalProvider(
  settings: ProviderSettings,
  cluster: ProviderClusterRef,
  options: ProviderCreateOptions,
): Provider {
  const { controlServer, retryBudgetMs, ...timings } = settings as {
    controlServer: string;
    retryBudgetMs?: number;
  } & Record<string, number>;
  const simOptions: SimProviderOptions = {
    ...(cluster.kubeconfigPath !== undefined ? { kubeconfigPath: cluster.kubeconfigPath } : {}),
    ...(cluster.kubeconfig !== undefined ? { kubeconfig: cluster.kubeconfig } : {}),
    ...(cluster.context !== undefined ? { context: cluster.context } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    // A control-plane upgrade restarts real processes: polled every half second rather than kube-sim's 100 ms.
    pollIntervalMs: 500,
    ...timings,
    ...(retryBudgetMs !== undefined ? { retry: { budgetMs: retryBudgetMs } } : {}),
    infrastructure: {
      provider: LOCAL_PROVIDER_NAME,
      server: controlServer.replace(/\/+$/, ''),
      pathPrefix: LOCAL_API_PREFIX,
    },
  };
  return createSimProvider(simOptions);
}
