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
import { DEFAULT_MAX_CONCURRENT_RUNS } from '../../engine/supervisor.ts';
import { ensurePrivateDir } from '../../persistence/private-files.ts';
import { openStore } from '../../persistence/store.ts';
import type { KupStore, StoreLocation } from '../../persistence/store.ts';
import { builtInProviders } from '../../providers/registry.ts';
import type { CliIo } from '../io.ts';
import { UsageError, dataDir as resolveDataDir, storeLocation } from '../io.ts';

/** Usage of `kup serve`. */
export const SERVE_USAGE = `Usage: kup serve [--listen 127.0.0.1:PORT] [--data-dir D | --db postgres://...] [--demo] [--admin-token-file F]
                 [--tls-cert FILE --tls-key FILE] [--max-runs N] [--log-level info]

kup as a service: the REST API under /api/v1 (OpenAPI at /api/v1/openapi.json), live events (Server-Sent Events),
/healthz, /readyz and /metrics. The service drives runs itself, at most --max-runs at once, and resumes every run
whose driver died. On first start it creates an admin token and prints it once (--admin-token-file F writes it to F,
mode 0600, instead). Uploaded kubeconfigs are encrypted at rest with KUP_SECRET_KEY (32 bytes, base64 or hex) or a
key file created in the data directory.

Flags:
  --listen HOST:PORT         where to listen (default 127.0.0.1:7070; loopback unless told otherwise)
  --data-dir D               kup's data directory (default $KUP_DATA_DIR, else .kup)
  --db postgres://...        keep clusters and runs in this PostgreSQL database (default $KUP_DB), shared by several
                             kup serve replicas: each run is driven by one of them at a time (its lease), and a
                             replica that dies has its runs taken over. Give every replica the same KUP_SECRET_KEY.
  --demo                     also start the demo fleet: simulated clusters dev, staging, prod, legacy and expired,
                             registered, and rebuilt at their recorded versions on the next start
  --admin-token-file F       write the admin token to F (0600), and create a new one when F holds none that is live
  --tls-cert FILE, --tls-key FILE   serve HTTPS with this certificate and key (PEM)
  --max-runs N               runs driven at once (default 256)
  --log-level L              pino level: trace, debug, info, warn, error (default info); logs are JSON on stderr`;

interface ServeArgs {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Where the store is: the data directory's SQLite file, or `--db`/KUP_DB's PostgreSQL database. */
  readonly store: StoreLocation;
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
  const listen = typeof values['listen'] === 'string' ? values['listen'] : '127.0.0.1:7070';
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m?.[1] || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`--listen: "${listen}" is not HOST:PORT (e.g. 127.0.0.1:7070)`);
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((typeof cert === 'string') !== (typeof key === 'string'))
    throw new UsageError('--tls-cert and --tls-key go together');
  const maxRuns = typeof values['max-runs'] === 'string' ? Number(values['max-runs']) : DEFAULT_MAX_CONCURRENT_RUNS;
  if (!Number.isInteger(maxRuns) || maxRuns < 1 || maxRuns > 10_000)
    throw new UsageError(`--max-runs: "${String(values['max-runs'])}" is not a whole number from 1 to 10000`);
  const logLevel = typeof values['log-level'] === 'string' ? values['log-level'] : 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel))
    throw new UsageError(`--log-level: "${logLevel}" is not trace, debug, info, warn, error, fatal or silent`);
  return {
    host: m[1].replace(/^\[|\]$/g, ''),
    port,
    dataDir: resolveDataDir(typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined),
    store: storeLocation({ dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined, db: typeof values['db'] === 'string' ? values['db'] : undefined }),
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
  const store = await openStore(options.store);
  // Replicas on one database take a dead one's runs over once its leases expire (KUP_LEASE_TTL_MS, as kup work).
  const leaseTtlMs = process.env['KUP_LEASE_TTL_MS'] !== undefined ? Number(process.env['KUP_LEASE_TTL_MS']) : undefined;
  const service = new KupService({
    dataDir: options.dataDir,
    store,
    clock: systemClock,
    providers: builtInProviders(),
    secrets: new SecretBox(key),
    log,
    maxConcurrentRuns: options.maxRuns,
    ...(leaseTtlMs !== undefined && Number.isFinite(leaseTtlMs) && leaseTtlMs > 0 ? { leaseTtlMs } : {}),
  });
  let stopDemo: (() => Promise<void>) | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    if (options.demo) stopDemo = await startDemo(service, options.dataDir, io);
    const adminToken = await service.ensureAdminToken(options.adminTokenFile);
    if (options.adminTokenFile !== undefined) chmodSync(options.adminTokenFile, 0o600);
    await service.start();
    app = await buildApp(service, https ? { https } : {});
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
    // What started before the failure stops: the app's listener and what its ready hook started (the maintenance
    // scheduler, the rollout driver), the service, the demo fleet; else their timers would keep the process alive.
    const closing = app?.close().catch(() => undefined);
    await service.stop().catch(() => undefined);
    await closing;
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
 * `--demo`: the demo fleet (src/demo/fleet.ts): five simulated clusters in-process, each on its own loopback port,
 * registered in the service's store, rebuilt at their recorded versions when the service starts again. Resolves to
 * the function that stops them (after the service has handed its runs back, so their last versions are recorded).
 */
async function startDemo(service: { readonly store: KupStore }, dataDir: string, io: CliIo): Promise<() => Promise<void>> {
  const [{ startDemoFleet }, { activeCatalog }] = await Promise.all([import('../../demo/fleet.ts'), import('../../catalog/catalog-file.ts')]);
  const { catalog } = await activeCatalog(dataDir);
  const fleet = await startDemoFleet({ dataDir, store: service.store, catalog });
  for (const c of fleet.clusters) {
    io.stdout.write(`kup serve: demo cluster "${c.name}" at Kubernetes ${c.version()}${c.restored ? ' (as recorded)' : ''}: ${c.about}
`);
  }
  io.stdout.write(`kup serve: demo kubeconfigs in ${fleet.dir} (kubectl --kubeconfig ${join(fleet.dir, 'prod.kubeconfig')} get nodes)\n`);
  return () => fleet.stop();
}
