/**
 * The catalog in force: the one kup ships, or a newer one installed with `kup catalog update` into the data
 * directory. New patch releases arrive as data, without a new kup. An update is validated whole before it replaces
 * the file (write to a temporary file, then rename), so a bad catalog never half-lands.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KupError } from '../errors/kup-error.ts';
import type { Catalog } from '../versions/index.ts';
import { CatalogError, defaultCatalog, loadCatalog, serializeCatalog } from '../versions/index.ts';
import { PRIVATE_FILE_MODE, ensurePrivateDir } from '../persistence/private-files.ts';

/** Errors of reading or installing a catalog. */
export class CatalogSourceError extends KupError<'KUP-CATALOG-010'> {
  override readonly name = 'CatalogSourceError';
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    // The source is what the user named (`--from`, or the file a `catalog update` installed): bad input, even when
    // it cannot be fetched, as `kup catalog update` has always said with exit code 2.
    super('KUP-CATALOG-010', `${source}: ${message}`, { kind: 'invalid-input', cause: options?.cause });
  }
}

/** Where the installed catalog lives in a data directory. */
export function catalogPath(dataDir: string): string {
  return join(dataDir, 'catalog.json');
}

/** The catalog in force for a data directory: the installed one if any, else the shipped one. */
export async function activeCatalog(dataDir: string): Promise<{ catalog: Catalog; source: 'installed' | 'shipped' }> {
  let text: string;
  try {
    text = await readFile(catalogPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { catalog: defaultCatalog(), source: 'shipped' };
    throw new CatalogSourceError(catalogPath(dataDir), (err as Error).message, { cause: err });
  }
  return { catalog: parseCatalogText(text, catalogPath(dataDir)), source: 'installed' };
}

/** Reads a catalog from a file or an http(s) URL, validates it, and installs it into the data directory. */
export async function installCatalog(dataDir: string, from: string, signal?: AbortSignal): Promise<Catalog> {
  const text = await readSource(from, signal);
  const catalog = parseCatalogText(text, from);
  ensurePrivateDir(dataDir);
  const target = catalogPath(dataDir);
  const temporary = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, serializeCatalog(catalog), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  await rename(temporary, target);
  return catalog;
}

function parseCatalogText(text: string, source: string): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CatalogSourceError(source, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return loadCatalog(json);
  } catch (err) {
    if (err instanceof CatalogError) throw new CatalogSourceError(source, err.message, { cause: err });
    throw err;
  }
}

async function readSource(from: string, signal?: AbortSignal): Promise<string> {
  if (/^https?:\/\//.test(from)) {
    let res: Response;
    try {
      res = await fetch(from, { ...(signal ? { signal } : {}), headers: { Accept: 'application/json' } });
    } catch (err) {
      throw new CatalogSourceError(from, `cannot fetch: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new CatalogSourceError(from, `HTTP ${res.status} ${res.statusText}`);
    return res.text();
  }
  try {
    return await readFile(from, 'utf8');
  } catch (err) {
    throw new CatalogSourceError(from, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
