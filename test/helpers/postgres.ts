/**
 * A throwaway PostgreSQL server for tests: Debian's binaries (`/usr/lib/postgresql/<version>/bin`, installed by
 * scripts/ensure-system-deps.mjs), a cluster made by `initdb` in a temp directory, a free loopback port, its unix
 * socket in the same directory, and every file removed when it stops. PostgreSQL refuses to run as root: under root
 * the server runs as the `postgres` user Debian's package creates (or `nobody`), which owns the temp directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running throwaway server. */
export interface PostgresServer {
  /** `postgres://kup@127.0.0.1:<port>/postgres` (no password: the cluster trusts loopback). */
  readonly url: string;
  readonly port: number;
  /** A URL of a new, empty database on the server. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its files. */
  stop(): Promise<void>;
}

/** The directory of PostgreSQL's server binaries: `$KUP_POSTGRES_BIN`, Debian's newest, or `pg_config --bindir`. */
export function postgresBinDir(): string {
  const fromEnv = process.env['KUP_POSTGRES_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(debian, versions[0], 'bin');
  }
  const config = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = config.status === 0 ? config.stdout.trim() : '';
  if (dir !== '' && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error("PostgreSQL's server is not installed (no initdb): run node scripts/ensure-system-deps.mjs");
}

/** Whom the server runs as: undefined for the current user, a non-root one when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root and no postgres or nobody user to run PostgreSQL as');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts a throwaway server; call `stop()` when done (an `after` hook). */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'kup-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'kup', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    {
      encoding: 'utf8',
      ...(user ?? {}),
    },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }
  // A port found free can be taken before the server binds it: try another one then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(bin, data, dir, port, user);
      return serverOf(child, dir, port);
    } catch (err) {
      if (attempt >= 3 || !/could not bind|Address already in use/i.test((err as Error).message)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** Starts `postgres` and resolves once it says it accepts connections (its log line), or rejects with its log. */
function launch(
  bin: string,
  data: string,
  socketDir: string,
  port: number,
  user: { uid: number; gid: number } | undefined,
): Promise<ChildProcess> {
  const child = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      socketDir,
      '-c',
      'listen_addresses=127.0.0.1',
      // A test database lost to a power cut is no loss: skip the fsyncs.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
      '-c',
      'logging_collector=off',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}) },
  );
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('database system is ready to accept connections')) {
        child.stderr?.off('data', onData);
        // Keep draining its log, or the server blocks once the pipe is full.
        child.stderr?.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`postgres exited (${code}) before accepting connections: ${log}`));
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function serverOf(child: ChildProcess, dir: string, port: number): PostgresServer {
  const url = `postgres://kup@127.0.0.1:${port}/postgres`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    port,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://kup@127.0.0.1:${port}/${name}`;
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGINT: fast shutdown (connections ended, no checkpoint wait beyond what is needed).
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
