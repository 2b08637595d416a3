/**
 * The error of a catalog source (a file or URL given to `kup catalog update`, or the installed catalog) that cannot
 * be read or is not a catalog.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';

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
