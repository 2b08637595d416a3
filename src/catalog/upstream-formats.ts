/**
 * Release data in the formats Kubernetes users already have, read into the facts kup's catalog needs (minor lines
 * with their support dates, patch releases with their days):
 * - the endoflife.date API: `GET https://endoflife.date/api/v1/products/kubernetes` (one cycle per minor, with
 *   `releaseDate`, `eoasFrom` (end of active support: maintenance mode), `eolFrom` and the `latest` patch), and the
 *   older `GET /api/kubernetes.json` (a list of cycles with `eol`, `latest`, `latestReleaseDate`);
 * - the kubernetes/website release data: `data/releases/releases.yaml` (`releases[].patchReleases[].releaseDate`,
 *   `eolDate`, `maintenanceModeStartDate`) and `data/releases/schedule.yaml` (`schedules[].previousPatches`).
 * Neither carries what only kup's catalog has (upgrade notes, removed APIs, component compatibility, images): those
 * come from the catalog in force when the two are merged (see catalog-merge.ts).
 *
 * @module
 */
import { parse as parseYaml } from 'yaml';
import { formatMinor, formatVersion, isPrerelease, minorOf, tryParseVersion } from '../versions/index.ts';
import { CatalogSourceError } from './catalog-source-error.ts';

/** Which format a catalog source is in. */
export type CatalogFormat = 'kup' | 'endoflife.date' | 'kubernetes-website';

/** A minor line as upstream data gives it; what a format does not carry is absent. */
export interface UpstreamMinor {
  /** `MAJOR.MINOR`. */
  readonly minor: string;
  readonly releaseDate?: string;
  readonly maintenanceStart?: string;
  readonly endOfLife?: string;
  readonly releaseNotes?: string;
}

/** A published patch release as upstream data gives it. */
export interface UpstreamRelease {
  readonly version: string;
  readonly releaseDate: string;
}

/** Release facts read from an upstream format. */
export interface UpstreamReleaseData {
  readonly format: Exclude<CatalogFormat, 'kup'>;
  readonly minors: readonly UpstreamMinor[];
  readonly releases: readonly UpstreamRelease[];
  /** The day the data was generated, when the format says so. */
  readonly published?: string;
}

/** What a source holds: a whole kup catalog (JSON to validate), or upstream release facts to merge. */
export type CatalogSourceData = { readonly format: 'kup'; readonly json: unknown } | UpstreamReleaseData;

type Fields = Record<string, unknown>;

const MINOR = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const DAY = /^(\d{4}-\d{2}-\d{2})(?:$|T)/;

/**
 * Reads a catalog source's text in any of the formats above.
 * @param source - What the user named (a file or URL), for messages.
 * @throws {CatalogSourceError} naming the field when the data is not what its format says, or when the text is in
 *   none of the formats.
 */
export function readCatalogSource(text: string, source: string): CatalogSourceData {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (jsonError) {
    try {
      // Every scalar a string: the website's older files write `release: 1.30` unquoted, which YAML reads as 1.3.
      doc = parseYaml(text, { schema: 'failsafe' });
    } catch {
      throw new CatalogSourceError(source, `neither JSON nor YAML: ${(jsonError as Error).message}`, {
        cause: jsonError,
      });
    }
  }
  const at = (field: string, problem: string) => new CatalogSourceError(source, `${field}: ${problem}`);
  if (Array.isArray(doc) && doc.every((c) => isRecord(c) && 'cycle' in c)) return endOfLifeCycles(doc as Fields[], at);
  if (isRecord(doc)) {
    if ('schemaVersion' in doc) return { format: 'kup', json: doc };
    if (isRecord(doc['result'])) return endOfLifeProduct(doc, at);
    if (Array.isArray(doc['releases']) && doc['releases'].some((r) => isRecord(r) && 'patchReleases' in r)) {
      return websiteReleases(doc['releases'], at);
    }
    if (Array.isArray(doc['schedules'])) return websiteSchedule(doc['schedules'], at);
  }
  throw new CatalogSourceError(
    source,
    'not a catalog kup reads: expected kup\'s catalog (JSON with "schemaVersion"), the endoflife.date API answer ' +
      '(/api/v1/products/kubernetes), or kubernetes/website release data (data/releases/releases.yaml or schedule.yaml)',
  );
}

type At = (field: string, problem: string) => CatalogSourceError;

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return value instanceof Date ? value.toISOString() : (JSON.stringify(value) ?? String(value));
}

/** A calendar day from a `YYYY-MM-DD` string, a timestamp, or a YAML date; `null`/absent is `undefined`. */
function day(value: unknown, field: string, at: At): string | undefined {
  // endoflife.date writes `false` (and for some products `true`) where a day is not known.
  if (value === undefined || value === null || typeof value === 'boolean') return undefined;
  // YAML read with every scalar a string: an empty or null day is not given.
  if (value === '' || value === 'null' || value === '~') return undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10);
  const m = typeof value === 'string' ? DAY.exec(value) : null;
  if (!m?.[1]) throw at(field, `${show(value)} is not a date (YYYY-MM-DD)`);
  return m[1];
}

function requiredDay(value: unknown, field: string, at: At): string {
  const found = day(value, field, at);
  if (found === undefined) throw at(field, 'is missing (expected a date, YYYY-MM-DD)');
  return found;
}

function minorName(value: unknown, field: string, at: At): string {
  const m = typeof value === 'string' ? MINOR.exec(value) : null;
  if (!m) throw at(field, `${show(value)} is not a Kubernetes minor version (MAJOR.MINOR)`);
  return `${Number(m[1])}.${Number(m[2])}`;
}

/** A GA patch version of `minor`; pre-releases and versions of another minor are refused. */
function patchVersion(value: unknown, minor: string, field: string, at: At): string {
  const parsed = typeof value === 'string' ? tryParseVersion(value) : undefined;
  if (!parsed || isPrerelease(parsed))
    throw at(field, `${show(value)} is not a Kubernetes release (MAJOR.MINOR.PATCH)`);
  if (formatMinor(minorOf(parsed)) !== minor) throw at(field, `${show(value)} is not a release of ${minor}`);
  return formatVersion(parsed);
}

function link(value: unknown): string | undefined {
  return typeof value === 'string' && /^https?:\/\/\S+$/.test(value) ? value : undefined;
}

function list(value: unknown, field: string, at: At): readonly unknown[] {
  if (!Array.isArray(value)) throw at(field, `${show(value)} is not a list`);
  return value;
}

function entry(value: unknown, field: string, at: At): Fields {
  if (!isRecord(value)) throw at(field, `${show(value)} is not an object`);
  return value;
}

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}

/** endoflife.date API v1: `{ schema_version, generated_at, last_modified, result: { name, releases: [...] } }`. */
function endOfLifeProduct(doc: Fields, at: At): UpstreamReleaseData {
  const result = doc['result'] as Fields;
  if (result['name'] !== undefined && result['name'] !== 'kubernetes') {
    throw at(
      'result.name',
      `${show(result['name'])}: this is endoflife.date's answer for another product (kup reads /api/v1/products/kubernetes)`,
    );
  }
  const minors: UpstreamMinor[] = [];
  const releases: UpstreamRelease[] = [];
  list(result['releases'], 'result.releases', at).forEach((value, i) => {
    const field = `result.releases[${i}]`;
    const cycle = entry(value, field, at);
    const minor = minorName(cycle['name'], `${field}.name`, at);
    const releaseDate = day(cycle['releaseDate'], `${field}.releaseDate`, at);
    minors.push(
      defined({
        minor,
        releaseDate,
        maintenanceStart: day(cycle['eoasFrom'], `${field}.eoasFrom`, at),
        endOfLife: day(cycle['eolFrom'], `${field}.eolFrom`, at),
      }),
    );
    if (releaseDate !== undefined) releases.push({ version: `${minor}.0`, releaseDate });
    if (cycle['latest'] !== undefined && cycle['latest'] !== null) {
      const latest = entry(cycle['latest'], `${field}.latest`, at);
      releases.push({
        version: patchVersion(latest['name'], minor, `${field}.latest.name`, at),
        releaseDate: requiredDay(latest['date'], `${field}.latest.date`, at),
      });
    }
  });
  const published = day(
    doc['last_modified'] ?? doc['generated_at'],
    doc['last_modified'] === undefined ? 'generated_at' : 'last_modified',
    at,
  );
  return defined({ format: 'endoflife.date' as const, minors, releases: unique(releases), published });
}

/** endoflife.date's older API: `GET /api/kubernetes.json`, a list of `{ cycle, releaseDate, eol, latest, latestReleaseDate }`. */
function endOfLifeCycles(cycles: readonly Fields[], at: At): UpstreamReleaseData {
  const minors: UpstreamMinor[] = [];
  const releases: UpstreamRelease[] = [];
  cycles.forEach((cycle, i) => {
    const field = `[${i}]`;
    const minor = minorName(cycle['cycle'], `${field}.cycle`, at);
    const releaseDate = day(cycle['releaseDate'], `${field}.releaseDate`, at);
    minors.push(
      defined({
        minor,
        releaseDate,
        maintenanceStart: day(cycle['support'], `${field}.support`, at),
        endOfLife: day(cycle['eol'], `${field}.eol`, at),
      }),
    );
    if (releaseDate !== undefined) releases.push({ version: `${minor}.0`, releaseDate });
    if (cycle['latest'] !== undefined) {
      releases.push({
        version: patchVersion(cycle['latest'], minor, `${field}.latest`, at),
        releaseDate: requiredDay(cycle['latestReleaseDate'], `${field}.latestReleaseDate`, at),
      });
    }
  });
  return { format: 'endoflife.date', minors, releases: unique(releases) };
}

/** kubernetes/website `data/releases/releases.yaml`: `releases[]` with `eolDate`, `maintenanceModeStartDate`, `patchReleases[]`. */
function websiteReleases(lines: readonly unknown[], at: At): UpstreamReleaseData {
  const minors: UpstreamMinor[] = [];
  const releases: UpstreamRelease[] = [];
  lines.forEach((value, i) => {
    const field = `releases[${i}]`;
    const line = entry(value, field, at);
    const minor = minorName(line['version'], `${field}.version`, at);
    const patches =
      line['patchReleases'] === undefined ? [] : list(line['patchReleases'], `${field}.patchReleases`, at);
    const patchList = patches.map((p, j) => {
      const pf = `${field}.patchReleases[${j}]`;
      const patch = entry(p, pf, at);
      return {
        version: patchVersion(patch['version'], minor, `${pf}.version`, at),
        releaseDate: requiredDay(patch['releaseDate'], `${pf}.releaseDate`, at),
      };
    });
    releases.push(...patchList);
    const links = isRecord(line['links']) ? line['links'] : {};
    minors.push(
      defined({
        minor,
        releaseDate: patchList.find((p) => p.version === `${minor}.0`)?.releaseDate,
        maintenanceStart: day(line['maintenanceModeStartDate'], `${field}.maintenanceModeStartDate`, at),
        endOfLife: day(line['eolDate'], `${field}.eolDate`, at),
        releaseNotes: link(links['changelog']),
      }),
    );
  });
  return { format: 'kubernetes-website', minors, releases: unique(releases) };
}

/**
 * kubernetes/website `data/releases/schedule.yaml`: `schedules[]` with `releaseDate`, `maintenanceModeStartDate`,
 * `endOfLifeDate` and `previousPatches[]` (`release`, `targetDate`). `next` is a plan, not a release: not read.
 */
function websiteSchedule(schedules: readonly unknown[], at: At): UpstreamReleaseData {
  const minors: UpstreamMinor[] = [];
  const releases: UpstreamRelease[] = [];
  schedules.forEach((value, i) => {
    const field = `schedules[${i}]`;
    const line = entry(value, field, at);
    const minor = minorName(line['release'], `${field}.release`, at);
    const previous =
      line['previousPatches'] === undefined ? [] : list(line['previousPatches'], `${field}.previousPatches`, at);
    const patches = previous.map((p, j) => {
      const pf = `${field}.previousPatches[${j}]`;
      const patch = entry(p, pf, at);
      return {
        version: patchVersion(patch['release'], minor, `${pf}.release`, at),
        releaseDate: requiredDay(patch['targetDate'], `${pf}.targetDate`, at),
      };
    });
    // The `.0` among the patches is the record of the release; the line's own `releaseDate` stands in without it.
    const first = patches.find((p) => p.version === `${minor}.0`)?.releaseDate;
    const releaseDate = first ?? day(line['releaseDate'], `${field}.releaseDate`, at);
    minors.push(
      defined({
        minor,
        releaseDate,
        maintenanceStart: day(line['maintenanceModeStartDate'], `${field}.maintenanceModeStartDate`, at),
        endOfLife: day(line['endOfLifeDate'], `${field}.endOfLifeDate`, at),
      }),
    );
    if (first === undefined && releaseDate !== undefined) releases.push({ version: `${minor}.0`, releaseDate });
    releases.push(...patches);
  });
  return { format: 'kubernetes-website', minors, releases: unique(releases) };
}

/** One entry per version (the first one wins: a format may list the `.0` twice, as cycle and as patch). */
function unique(releases: readonly UpstreamRelease[]): UpstreamRelease[] {
  const seen = new Set<string>();
  return releases.filter((r) => (seen.has(r.version) ? false : (seen.add(r.version), true)));
}
