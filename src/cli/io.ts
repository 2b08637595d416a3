/**
 * What every kup command shares: where it writes, the usage error (exit 2), and the data directory.
 */
import { resolve } from 'node:path';
import { KupError } from '../errors/kup-error.ts';

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
