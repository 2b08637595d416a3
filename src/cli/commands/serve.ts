/**
 * `kup serve`: kup as a service (src/server). It opens the store, creates the admin token on first start, starts the
 * supervisor (which resumes every run whose driver died) and listens on loopback unless told otherwise. SIGTERM or
 * SIGINT stops it gracefully: no new request or run is taken, executors commit what they have and release their
 * leases, sessions close, and the process exits 0.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { systemClock } from '../../clock/clock.ts';
import { ensurePrivateDir } from '../../persistence/private-files.ts';
import { openSqliteStore } from '../../persistence/store.ts';
import type { KupStore } from '../../persistence/store.ts';
import { builtInProviders } from '../../providers/registry.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir as resolveDataDir } from '../io.ts';

/** Usage of `kup serve`. */
export const SERVE_USAGE = `Usage: kup serve [--listen 127.0.0.1:PORT] [--data-dir D] [--demo] [--admin-token-file F]
                 [--tls-cert FILE --tls-key FILE] [--max-runs N] [--log-level info]

kup as a service: the REST API under /api/v1 (OpenAPI at /api/v1/openapi.json), live events (Server-Sent Events),
/healthz, /readyz and /metrics. The service drives runs itself, at most --max-runs at once, and resumes every run
whose driver died. On first start it creates an admin token and prints it once (--admin-token-file F writes it to F,
mode 0600, instead). Uploaded kubeconfigs are encrypted at rest with KUP_SECRET_KEY (32 bytes, base64 or hex) or a
key file created in the data directory.

Flags:
  --listen HOST:PORT         where to listen (default 127.0.0.1:7070; loopback unless told otherwise)
  --data-dir D               kup's data directory (default $KUP_DATA_DIR, else .kup)
  --demo                     also start a simulated cluster and register it as "demo"
  --admin-token-file F       write the admin token to F (0600), and create a new one when F holds none that is live
  --tls-cert FILE, --tls-key FILE   serve HTTPS with this certificate and key (PEM)
  --max-runs N               runs driven at once (default 16)
  --log-level L              pino level: trace, debug, info, warn, error (default info); logs are JSON on stderr`;

interface ServeArgs {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly demo: boolean;
  readonly adminTokenFile?: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly maxRuns: number;
  readonly logLevel: string;
}

function parse(args: string[]): ServeArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        db: { type: 'string' },
        demo: { type: 'boolean' },
        'admin-token-file': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'max-runs': { type: 'string' },
        'log-level': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${SERVE_USAGE}`);
  }
  if (typeof values['db'] === 'string')
    throw new UsageError('--db: this kup stores its data in SQLite only (--data-dir); PostgreSQL is not built in yet');
  const listen = typeof values['listen'] === 'string' ? values['listen'] : '127.0.0.1:7070';
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m?.[1] || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`--listen: "${listen}" is not HOST:PORT (e.g. 127.0.0.1:7070)`);
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((typeof cert === 'string') !== (typeof key === 'string'))
    throw new UsageError('--tls-cert and --tls-key go together');
  const maxRuns = typeof values['max-runs'] === 'string' ? Number(values['max-runs']) : 16;
  if (!Number.isInteger(maxRuns) || maxRuns < 1 || maxRuns > 10_000)
    throw new UsageError(`--max-runs: "${String(values['max-runs'])}" is not a whole number from 1 to 10000`);
  const logLevel = typeof values['log-level'] === 'string' ? values['log-level'] : 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel))
    throw new UsageError(`--log-level: "${logLevel}" is not trace, debug, info, warn, error, fatal or silent`);
  return {
    host: m[1].replace(/^\[|\]$/g, ''),
    port,
    dataDir: resolveDataDir(typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined),
    demo: values['demo'] === true,
    ...(typeof values['admin-token-file'] === 'string' ? { adminTokenFile: values['admin-token-file'] } : {}),
    ...(typeof cert === 'string' && typeof key === 'string' ? { tls: { cert, key } } : {}),
    maxRuns,
    logLevel,
  };
}

/** Runs `kup serve` until SIGTERM or SIGINT; resolves to the exit code. */
export async function runServeCommand(args: string[], io: CliIo): Promise<number> {
  const options = parse(args);
  const [{ buildApp }, { KupService }, { SecretBox, loadSecretKey }, { DEFAULT_CONSOLE_DIR }] = await Promise.all([
    import('../../server/app.ts'),
    import('../../server/service.ts'),
    import('../../server/secrets.ts'),
    import('../../server/console-assets.ts'),
  ]);
  const https = options.tls
    ? { cert: readPem(options.tls.cert, '--tls-cert'), key: readPem(options.tls.key, '--tls-key') }
    : undefined;
  ensurePrivateDir(options.dataDir);
  // Logs are JSON on stderr: stdout carries the lines a person or a script reads (the URL, the token).
  const log = pino(
    {
      level: options.logLevel,
      base: { service: 'kup' },
      // The one header that carries a secret never reaches a log line, even at trace level.
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', '*.kubeconfig', 'kubeconfig', '*.token', 'token'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
  const { key } = loadSecretKey(options.dataDir);
  const store = openSqliteStore({ dataDir: options.dataDir });
  const service = new KupService({
    dataDir: options.dataDir,
    store,
    clock: systemClock,
    providers: builtInProviders(),
    secrets: new SecretBox(key),
    log,
    maxConcurrentRuns: options.maxRuns,
  });
  let stopDemo: (() => Promise<void>) | undefined;
  try {
    if (options.demo) stopDemo = await startDemo(service, options.dataDir, io);
    const adminToken = await service.ensureAdminToken(options.adminTokenFile);
    if (options.adminTokenFile !== undefined) chmodSync(options.adminTokenFile, 0o600);
    await service.start();
    const app = await buildApp(service, https ? { https } : {});
    const address = await app.listen({ host: options.host, port: options.port });
    io.stdout.write(
      `kup serve: listening on ${address} (API ${address}/api/v1, OpenAPI ${address}/api/v1/openapi.json)\n`,
    );
    io.stdout.write(
      existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html'))
        ? `kup serve: web console at ${address}/console/ (sign in with a token)\n`
        : `kup serve: the web console is not built (run npm install or node scripts/build-console.mjs); the API works without it\n`,
    );
    if (adminToken !== undefined) {
      io.stdout.write(
        options.adminTokenFile !== undefined
          ? `kup serve: admin token written to ${options.adminTokenFile}\n`
          : `kup serve: admin token (shown once, keep it): ${adminToken}\n`,
      );
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        io.stdout.write(
          `kup serve: ${signal}: stopping (runs in flight are handed back, to resume at the next start)\n`,
        );
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    // Stop taking requests and work, then let the executors reach a committed state and release their leases.
    const closing = app.close();
    await service.stop();
    await closing;
    await stopDemo?.();
    io.stdout.write('kup serve: stopped\n');
    return 0;
  } catch (err) {
    await service.stop().catch(() => undefined);
    await stopDemo?.().catch(() => undefined);
    throw err;
  }
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * `--demo`: a simulated cluster in-process, registered as "demo" (as `kup demo` does), until the demo fleet lands.
 * Resolves to the function that stops it.
 */
async function startDemo(
  service: { readonly store: KupStore },
  dataDir: string,
  io: CliIo,
): Promise<() => Promise<void>> {
  const dir = ensurePrivateDir(join(dataDir, 'demo'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const [{ startSimCluster }, { simStartOptions, withVersion }, { activeCatalog }, { catalogOverview }] =
    await Promise.all([
      import('../../kube-sim/sim-cluster.ts'),
      import('../../kube-sim/main.ts'),
      import('../../catalog/catalog-file.ts'),
      import('../../versions/index.ts'),
    ]);
  const { catalog } = await activeCatalog(dataDir);
  const supported = catalogOverview(catalog, new Date()).filter((m) => m.classification === 'supported' && m.latest);
  const version = (supported[1] ?? supported[0])?.releases.find((r) => r.classification !== 'preview')?.version;
  const { scenario } = await simStartOptions(['--kubeconfig', kubeconfigPath]);
  const cluster = await startSimCluster({
    scenario: version ? withVersion(scenario, version) : scenario,
    kubeconfigPath,
  });
  const store = service.store;
  // Each start builds a new simulated cluster: the runs of the previous one describe a cluster that is gone.
  if (await store.clusters.get('demo')) await store.clusters.remove('demo', Date.now(), { purgeHistory: true });
  await store.clusters.add({
    name: 'demo',
    kubeconfigPath,
    provider: 'sim',
    providerSettings: {},
    addedAt: Date.now(),
  });
  io.stdout.write(
    `kup serve: demo cluster "demo" (kube-sim, Kubernetes ${cluster.version().gitVersion}) at ${cluster.url}\n`,
  );
  return () => cluster.stop();
}
