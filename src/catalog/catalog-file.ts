/**
 * The catalog in force: the one kup ships, or a newer one installed with `kup catalog update` into the data
 * directory. New patch releases arrive as data, without a new kup. An update is kup's own catalog format, or upstream
 * release data (endoflife.date, kubernetes/website) merged into the catalog in force; it is validated whole before it
 * replaces the file (write to a temporary file, then rename), so a bad catalog never half-lands.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog } from '../versions/index.ts';
import { CatalogError, defaultCatalog, loadCatalog, serializeCatalog } from '../versions/index.ts';
import { PRIVATE_FILE_MODE, ensurePrivateDir } from '../persistence/private-files.ts';
import type { CatalogChanges } from './catalog-changes.ts';
import { catalogChanges } from './catalog-changes.ts';
import { mergeReleaseData } from './catalog-merge.ts';
import { CatalogSourceError } from './catalog-source-error.ts';
import type { CatalogFormat } from './upstream-formats.ts';
import { readCatalogSource } from './upstream-formats.ts';

export { CatalogSourceError } from './catalog-source-error.ts';

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

/** Options of {@link installCatalog}. */
export interface InstallCatalogOptions {
  readonly signal?: AbortSignal;
  /** The install day: a merged catalog's `published` day when its source gives none. @default the current time */
  readonly now?: Date;
}

/** What {@link installCatalog} installed. */
export interface InstalledCatalog {
  readonly catalog: Catalog;
  /** The format the source was in. */
  readonly format: CatalogFormat;
  /** Whether it replaced an installed catalog or the shipped one. */
  readonly replaced: 'installed' | 'shipped';
  readonly changes: CatalogChanges;
  /** Minors of upstream data older than the catalog's oldest, left out. */
  readonly leftOut: readonly string[];
}

/**
 * Reads a catalog from a file or an http(s) URL (kup's format, the endoflife.date API, or kubernetes/website release
 * data merged into the catalog in force), validates it whole and installs it into the data directory atomically.
 * @throws {CatalogSourceError} when the source cannot be read or is not a valid catalog; the catalog in force stays.
 */
export async function installCatalog(dataDir: string, from: string, options: InstallCatalogOptions = {}): Promise<InstalledCatalog> {
  const text = await readSource(from, options.signal);
  const data = readCatalogSource(text, from);
  const current = await activeCatalog(dataDir);
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  const merged = data.format === 'kup' ? { catalog: validate(data.json, from), leftOut: [] } : mergeReleaseData(current.catalog, data, from, today);
  const { catalog } = merged;
  ensurePrivateDir(dataDir);
  const target = catalogPath(dataDir);
  const temporary = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, serializeCatalog(catalog), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  return { catalog, format: data.format, replaced: current.source, changes: catalogChanges(current.catalog, catalog), leftOut: merged.leftOut };
}

function parseCatalogText(text: string, source: string): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CatalogSourceError(source, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  return validate(json, source);
}

function validate(json: unknown, source: string): Catalog {
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
      res = await fetch(from, { ...(signal ? { signal } : {}), headers: { Accept: 'application/json, application/yaml;q=0.9, text/plain;q=0.8' } });
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
