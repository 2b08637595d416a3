/**
 * What every kup command shares: where it writes, the usage error (exit 2), and the data directory.
 */
import { resolve } from 'node:path';
import { KupError } from '../errors/kup-error.ts';
import type { StoreLocation } from '../persistence/store.ts';

/** The streams a command writes to. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Bad input on the command line: exit code 2, the message names the flag or value. */
export class UsageError extends KupError<'KUP-CLI-001'> {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    // The message is the usage text the user reads after `kup:`; the code is for the API and logs.
    super('KUP-CLI-001', message, { kind: 'invalid-input', plainMessage: true, cause: options?.cause });
  }
}

/** kup's data directory: `--data-dir`, else KUP_DATA_DIR, else `.kup` in the working directory. */
export function dataDir(flag?: string): string {
  return resolve(flag ?? process.env['KUP_DATA_DIR'] ?? '.kup');
}

/**
 * Where kup's store is: a PostgreSQL database (`--db postgres://...`, else KUP_DB), shared by several kups, or the
 * SQLite file in the data directory. The URL is not checked for reachability here, only for its form.
 *
 * @throws {UsageError} when the URL is not a PostgreSQL one (the message shows it without its password).
 */
export function storeLocation(flags: { readonly dataDir?: string | undefined; readonly db?: string | undefined }): StoreLocation {
  const fromFlag = flags.db !== undefined;
  const url = flags.db ?? process.env['KUP_DB'];
  if (url === undefined || (url === '' && !fromFlag)) return { dataDir: dataDir(flags.dataDir) };
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') || parsed.hostname === '') {
    const shown = parsed === undefined ? 'it' : `"${parsed.protocol}//${parsed.host}${parsed.pathname}"`;
    throw new UsageError(`${fromFlag ? '--db' : 'KUP_DB'}: ${shown} is not a PostgreSQL URL like postgres://user:password@host:5432/kup`);
  }
  return { url };
}
