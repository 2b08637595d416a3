/**
 * The databases kup's store runs on, for conformance tests: every repository test runs once on SQLite and once on
 * PostgreSQL (a throwaway server, started on first use and stopped after the file's tests).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { databasePath } from '../../src/persistence/database.ts';
import type { KupStore } from '../../src/persistence/store.ts';
import { openStore } from '../../src/persistence/store.ts';
import type { PostgresServer } from './postgres.ts';
import { startPostgres } from './postgres.ts';

/** A new, empty database of one backend. */
export interface TestDatabase {
  /** Opens a store on it, migrating it; call again for a second kup (another process, another replica). */
  open(): Promise<KupStore>;
  /** Where `open` opens: `{ dataDir }` or `{ url }`. */
  readonly location: { readonly dataDir: string } | { readonly url: string };
  /** Runs raw SQL on it through a connection of its own, past kup's repositories. */
  exec(sql: string): Promise<void>;
}

/** One database kup's store runs on. */
export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty database. */
  fresh(): Promise<TestDatabase>;
}

/**
 * SQLite and PostgreSQL. Call at the top level of a test file: it registers the hook that stops the PostgreSQL
 * server after the file's tests.
 */
export function storeBackends(): readonly StoreBackend[] {
  let server: Promise<PostgresServer> | undefined;
  let databases = 0;
  after(async () => {
    if (server !== undefined) await (await server).stop();
  });
  return [
    {
      name: 'sqlite',
      fresh: () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'kup-store-'));
        return Promise.resolve({
          location: { dataDir },
          open: () => openStore({ dataDir }),
          // async: a refused statement rejects, as PostgreSQL's does.
          // eslint-disable-next-line @typescript-eslint/require-await
          exec: async (sql: string) => {
            const db = new BetterSqlite3(databasePath(dataDir));
            try {
              db.exec(sql);
            } finally {
              db.close();
            }
          },
        });
      },
    },
    {
      name: 'postgres',
      fresh: async () => {
        server ??= startPostgres();
        const url = await (await server).createDatabase(`kup_${process.pid}_${++databases}`);
        return {
          location: { url },
          open: () => openStore({ url }),
          exec: async (sql: string) => {
            const client = new pg.Client({ connectionString: url });
            await client.connect();
            try {
              await client.query(sql);
            } finally {
              await client.end();
            }
          },
        };
      },
    },
  ];
}
