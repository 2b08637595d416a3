/**
 * The version catalog: read it (every minor with its classification, end of support and latest patch, and the
 * catalog's age), and update it (admin) from a document in the body or an http(s) URL, as `kup catalog update`
 * does: validated whole, installed atomically, the changes listed.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import { catalogAge } from '../../catalog/catalog-age.ts';
import { describeCatalogChanges } from '../../catalog/catalog-changes.ts';
import { activeCatalog, installCatalog } from '../../catalog/catalog-file.ts';
import { ensurePrivateDir } from '../../persistence/private-files.ts';
import { catalogOverview } from '../../versions/index.ts';
import type { ServerApp } from '../app.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';
import { Document, responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const CatalogView = Type.Object({
  source: Type.Union([Type.Literal('installed'), Type.Literal('shipped')]),
  age: Document,
  minors: Type.Array(Document),
});

const CatalogUpdate = Type.Object(
  {
    document: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description: "A catalog (kup's format) or upstream release data (endoflife.date, kubernetes/website)",
        },
      ),
    ),
    from: Type.Optional(
      Type.String({ pattern: '^https?://', maxLength: 2048, description: 'An http(s) URL to read it from' }),
    ),
  },
  { additionalProperties: false },
);

/** Registers the catalog routes. */
export function registerCatalogRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/api/v1/catalog',
    {
      config: { access: 'viewer' },
      schema: { summary: 'The version catalog in force', response: responses({ 200: CatalogView }) },
    },
    async () => {
      const { catalog, source } = await activeCatalog(service.dataDir);
      const now = new Date(service.clock.now());
      return {
        source,
        age: catalogAge(catalog, now) as unknown as Record<string, unknown>,
        minors: catalogOverview(catalog, now).map((m) => m as unknown as Record<string, unknown>),
      };
    },
  );

  app.put(
    '/api/v1/catalog',
    {
      config: { access: 'admin', audit: 'updating the catalog' },
      schema: {
        summary: 'Install a newer catalog (kup catalog update)',
        body: CatalogUpdate,
        response: responses(
          { 200: Type.Object({ format: Type.String(), replaced: Type.String(), changes: Type.Array(Type.String()) }) },
          [403, 422],
        ),
      },
    },
    async (request) => {
      const { document, from } = request.body;
      if ((document === undefined) === (from === undefined)) {
        throw new ApiError(ApiErrorCode.invalid, 'give exactly one of document and from', {
          kind: 'invalid-input',
          details: { field: 'body.document' },
        });
      }
      let source = from ?? '';
      let temporary: string | undefined;
      if (document !== undefined) {
        // installCatalog reads a source by name: the document goes through a private file that is removed after.
        const dir = ensurePrivateDir(join(service.dataDir, 'tmp'));
        temporary = join(dir, `catalog-${randomBytes(6).toString('hex')}.json`);
        await writeFile(temporary, JSON.stringify(document), { mode: 0o600 });
        source = temporary;
      }
      try {
        const installed = await installCatalog(service.dataDir, source, {
          now: new Date(service.clock.now()),
          signal: AbortSignal.timeout(60_000),
        });
        request.auditTarget = `catalog (${installed.format})`;
        return {
          format: installed.format,
          replaced: installed.replaced,
          changes: describeCatalogChanges(installed.changes, installed.catalog),
        };
      } finally {
        if (temporary !== undefined) await rm(temporary, { force: true });
      }
    },
  );
}
