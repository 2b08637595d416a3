/**
 * kup's data directory holds the clusters' kubeconfig paths, the runs, their logs and the catalog: it and everything
 * kup writes in it are its owner's alone (0700 directories, 0600 files), whichever command creates it first and
 * whatever the umask.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, parse, resolve } from 'node:path';
import { StoreError, StoreErrorCode } from './errors.ts';

/** Mode of the directories kup creates. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of the files kup creates. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` and its missing parents, each with mode 0700; returns its absolute path. A directory that exists is
 * left as it is.
 *
 * Walks the path itself rather than asking for `mkdir -p` (`{ recursive: true }`): Node's recursive mkdir spins
 * forever, holding the event loop (so no SIGTERM is heard), on paths it cannot create under a pseudo file system
 * such as `/proc`; a component that cannot be created here is an error naming it.
 *
 * @throws {StoreError} KUP-STORE-001 naming the path that cannot be created, or that is not a directory.
 */
export function ensurePrivateDir(dir: string): string {
  const path = resolve(dir);
  const missing: string[] = [];
  for (let at = path; at !== parse(at).root; at = dirname(at)) {
    if (isDirectory(at)) break;
    missing.unshift(at);
  }
  for (const component of missing) {
    try {
      mkdirSync(component, { mode: PRIVATE_DIR_MODE });
      // mkdir's mode is masked by the umask; 0700 is what the directory must have.
      chmodSync(component, PRIVATE_DIR_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(component)) continue;
      throw new StoreError(StoreErrorCode.open, `cannot create the directory ${component} (for ${path}): ${(err as Error).message}`, { path }, { cause: err });
    }
  }
  if (!isDirectory(path)) throw new StoreError(StoreErrorCode.open, `${path} is not a directory`, { path });
  return path;
}

/**
 * Creates `file` if missing, with mode 0600, and leaves it closed: SQLite then opens an existing (empty) file, and its
 * WAL and shared-memory files take the database file's mode. An existing file is left as it is.
 */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
}

/** Opens `file` for appending, creating it with mode 0600 (a run's log). */
export function openPrivateAppend(file: string): number {
  return openSync(file, 'a', PRIVATE_FILE_MODE);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
