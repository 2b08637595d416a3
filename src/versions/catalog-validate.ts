/**
 * Turns untrusted JSON (the shipped data, a file or a URL given to `kup catalog update`) into a {@link Catalog},
 * or throws a {@link CatalogError} that names the bad field (`KUP-CATALOG-001: releases[3].version: "1.3x.0" is
 * not a version`).
 *
 * @module
 */
import type {
  Catalog,
  Classification,
  ComponentCompatibility,
  Confidence,
  KubernetesMinor,
  KubernetesRelease,
  MachineImage,
  MachineImageVersion,
  ReleaseSource,
  NodeRequirements,
  RemovedApi,
} from './catalog-types.ts';
import { CLASSIFICATIONS, CONFIDENCES, RELEASE_SOURCES } from './catalog-types.ts';
import { CatalogError } from './errors.ts';
import {
  compareMinors,
  compareVersions,
  formatMinor,
  formatVersion,
  minorOf,
  parseMinor,
  parseVersion,
  tryParseVersion,
} from './semver.ts';

type Fields = Record<string, unknown>;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MINOR_TEXT = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const API_VERSION = /^v\d+(?:(?:alpha|beta)\d+)?$/;

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function invalid(field: string, value: unknown, expected: string): CatalogError {
  const problem = value === undefined ? `is missing (expected ${expected})` : `${show(value)} is not ${expected}`;
  return new CatalogError('KUP-CATALOG-001', field, problem);
}

function record(value: unknown, field: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, value, 'an object');
  return value as Fields;
}

function list(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(field, value, 'a list');
  return value;
}

function optionalList(value: unknown, field: string): readonly unknown[] {
  return value === undefined ? [] : list(value, field);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, value, 'a non-empty string');
  return value;
}

function date(value: unknown, field: string): string {
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const parsed = new Date(Date.UTC(y, mo - 1, d));
    // Date.UTC rolls 2024-02-30 over to March: a real calendar day reads back unchanged.
    if (parsed.getUTCFullYear() === y && parsed.getUTCMonth() === mo - 1 && parsed.getUTCDate() === d) {
      return value as string;
    }
  }
  throw invalid(field, value, 'a date (YYYY-MM-DD)');
}

function optionalDate(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : date(value, field);
}

function version(value: unknown, field: string): string {
  const parsed = typeof value === 'string' ? tryParseVersion(value) : undefined;
  if (!parsed) throw invalid(field, value, 'a version');
  return formatVersion(parsed);
}

function minor(value: unknown, field: string): string {
  const m = typeof value === 'string' ? MINOR_TEXT.exec(value) : null;
  if (!m) throw invalid(field, value, 'a minor version (MAJOR.MINOR)');
  return `${Number(m[1])}.${Number(m[2])}`;
}

function url(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) throw invalid(field, value, 'an http(s) URL');
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(field, value, `one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function optionalClassification(value: unknown, field: string): Classification | undefined {
  return value === undefined ? undefined : oneOf(value, CLASSIFICATIONS, field);
}

function confidence(value: unknown, field: string): Confidence {
  return value === undefined ? 'documented' : oneOf(value, CONFIDENCES, field);
}

function optionalSource(value: unknown, field: string): { source?: ReleaseSource } {
  return value === undefined ? {} : { source: oneOf(value, RELEASE_SOURCES, field) };
}

function strings(value: unknown, field: string): readonly string[] {
  return list(value, field).map((item, i) => text(item, `${field}[${i}]`));
}

function notBefore(later: string, earlier: string, field: string, earlierName: string): void {
  if (later < earlier) {
    throw new CatalogError('KUP-CATALOG-001', field, `${show(later)} is before ${earlierName} ${show(earlier)}`);
  }
}

function unique(seen: Set<string>, key: string, field: string, what: string): void {
  if (seen.has(key)) throw new CatalogError('KUP-CATALOG-002', field, `${what} ${show(key)} appears twice`);
  seen.add(key);
}

function loadMinor(value: unknown, field: string): KubernetesMinor {
  const f = record(value, field);
  const releaseDate = date(f.releaseDate, `${field}.releaseDate`);
  const endOfLife = date(f.endOfLife, `${field}.endOfLife`);
  notBefore(endOfLife, releaseDate, `${field}.endOfLife`, 'releaseDate');
  const maintenanceStart = optionalDate(f.maintenanceStart, `${field}.maintenanceStart`);
  if (maintenanceStart !== undefined) {
    notBefore(maintenanceStart, releaseDate, `${field}.maintenanceStart`, 'releaseDate');
    notBefore(endOfLife, maintenanceStart, `${field}.endOfLife`, 'maintenanceStart');
  }
  return {
    minor: minor(f.minor, `${field}.minor`),
    releaseDate,
    ...(maintenanceStart === undefined ? {} : { maintenanceStart }),
    endOfLife,
    releaseNotes: url(f.releaseNotes, `${field}.releaseNotes`),
    upgradeNotes: f.upgradeNotes === undefined ? [] : strings(f.upgradeNotes, `${field}.upgradeNotes`),
    ...optionalSource(f.source, `${field}.source`),
    ...(f.nodeRequirements === undefined
      ? {}
      : { nodeRequirements: loadNodeRequirements(f.nodeRequirements, `${field}.nodeRequirements`) }),
  };
}

const DOTTED = /^\d+(\.\d+){0,2}$/;

function dotted(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DOTTED.test(value)) throw invalid(field, value, 'a version such as 2.0 or 4.19.0');
  return value;
}

function loadNodeRequirements(value: unknown, field: string): NodeRequirements {
  const f = record(value, field);
  const runtimes =
    f.containerRuntimes === undefined ? undefined : record(f.containerRuntimes, `${field}.containerRuntimes`);
  if (f.cgroupV2 !== undefined && typeof f.cgroupV2 !== 'boolean') {
    throw invalid(`${field}.cgroupV2`, f.cgroupV2, 'true or false');
  }
  return {
    ...(runtimes === undefined
      ? {}
      : {
          containerRuntimes: Object.fromEntries(
            Object.entries(runtimes).map(([name, min]) => [name, dotted(min, `${field}.containerRuntimes.${name}`)]),
          ),
        }),
    ...(f.minKernel === undefined ? {} : { minKernel: dotted(f.minKernel, `${field}.minKernel`) }),
    ...(f.cgroupV2 === true ? { cgroupV2: true } : {}),
    source: url(f.source, `${field}.source`),
  };
}

function loadRelease(value: unknown, field: string): KubernetesRelease {
  const f = record(value, field);
  const classification = optionalClassification(f.classification, `${field}.classification`);
  return {
    version: version(f.version, `${field}.version`),
    releaseDate: date(f.releaseDate, `${field}.releaseDate`),
    ...(classification === undefined ? {} : { classification }),
    ...optionalSource(f.source, `${field}.source`),
  };
}

function loadRemovedApi(value: unknown, field: string): RemovedApi {
  const f = record(value, field);
  if (typeof f.group !== 'string') throw invalid(`${field}.group`, f.group, 'a string (empty for the core group)');
  const apiVersion = text(f.version, `${field}.version`);
  if (!API_VERSION.test(apiVersion)) throw invalid(`${field}.version`, apiVersion, 'an API version such as v1beta1');
  if (f.replacement !== null) text(f.replacement, `${field}.replacement`);
  const note = f.note === undefined ? undefined : text(f.note, `${field}.note`);
  return {
    group: f.group,
    version: apiVersion,
    kind: text(f.kind, `${field}.kind`),
    removedIn: minor(f.removedIn, `${field}.removedIn`),
    replacement: f.replacement as string | null,
    ...(note === undefined ? {} : { note }),
  };
}

function loadComponent(value: unknown, field: string): ComponentCompatibility {
  const f = record(value, field);
  const versions = record(f.versions, `${field}.versions`);
  const from = version(versions.from, `${field}.versions.from`);
  const below = versions.below === undefined ? undefined : version(versions.below, `${field}.versions.below`);
  if (below !== undefined && compareVersions(parseVersion(below), parseVersion(from)) <= 0) {
    throw new CatalogError(
      'KUP-CATALOG-001',
      `${field}.versions.below`,
      `${show(below)} is not above from ${show(from)}`,
    );
  }
  const kube = record(f.kubernetes, `${field}.kubernetes`);
  const kFrom = minor(kube.from, `${field}.kubernetes.from`);
  const kTo = kube.to === undefined ? undefined : minor(kube.to, `${field}.kubernetes.to`);
  if (kTo !== undefined && compareMinorText(kTo, kFrom) < 0) {
    throw new CatalogError('KUP-CATALOG-001', `${field}.kubernetes.to`, `${show(kTo)} is before from ${show(kFrom)}`);
  }
  const note = f.note === undefined ? undefined : text(f.note, `${field}.note`);
  return {
    component: text(f.component, `${field}.component`),
    versions: below === undefined ? { from } : { from, below },
    kubernetes: kTo === undefined ? { from: kFrom } : { from: kFrom, to: kTo },
    confidence: confidence(f.confidence, `${field}.confidence`),
    ...(note === undefined ? {} : { note }),
  };
}

function loadImageVersion(value: unknown, field: string): MachineImageVersion {
  const f = record(value, field);
  const releaseDate = optionalDate(f.releaseDate, `${field}.releaseDate`);
  const expiresAt = optionalDate(f.expiresAt, `${field}.expiresAt`);
  if (releaseDate !== undefined && expiresAt !== undefined) {
    notBefore(expiresAt, releaseDate, `${field}.expiresAt`, 'releaseDate');
  }
  const classification = optionalClassification(f.classification, `${field}.classification`);
  return {
    version: text(f.version, `${field}.version`),
    ...(releaseDate === undefined ? {} : { releaseDate }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(classification === undefined ? {} : { classification }),
  };
}

function loadImage(value: unknown, field: string): MachineImage {
  const f = record(value, field);
  const seen = new Set<string>();
  const versions = list(f.versions, `${field}.versions`).map((v, i) => {
    const loaded = loadImageVersion(v, `${field}.versions[${i}]`);
    unique(seen, loaded.version, `${field}.versions[${i}].version`, 'image version');
    return loaded;
  });
  if (versions.length === 0) throw invalid(`${field}.versions`, f.versions, 'a non-empty list');
  return { name: text(f.name, `${field}.name`), versions, confidence: confidence(f.confidence, `${field}.confidence`) };
}

function compareMinorText(a: string, b: string): number {
  return compareMinors(parseMinor(a), parseMinor(b));
}

/**
 * Validates catalog JSON and returns the catalog, with versions normalised (no `v` prefix) and minors and releases
 * sorted oldest first. Unknown fields are ignored, so newer catalogs with extra data still load.
 *
 * @param json - Parsed JSON of any origin.
 * @throws {CatalogError} `KUP-CATALOG-001` for a missing or malformed field, `KUP-CATALOG-002` for a duplicate
 *   entry, `KUP-CATALOG-003` for a release of a minor the catalog does not declare.
 */
export function loadCatalog(json: unknown): Catalog {
  const root = record(json, '(catalog)');
  if (root.schemaVersion !== 1) {
    throw new CatalogError(
      'KUP-CATALOG-001',
      'schemaVersion',
      `${show(root.schemaVersion)} is not supported (expected 1)`,
    );
  }

  const minorKeys = new Set<string>();
  const minors = list(root.minors, 'minors').map((m, i) => {
    const loaded = loadMinor(m, `minors[${i}]`);
    unique(minorKeys, loaded.minor, `minors[${i}].minor`, 'minor');
    return loaded;
  });

  const versionKeys = new Set<string>();
  const releases = list(root.releases, 'releases').map((r, i) => {
    const loaded = loadRelease(r, `releases[${i}]`);
    unique(versionKeys, loaded.version, `releases[${i}].version`, 'version');
    const line = formatMinor(minorOf(parseVersion(loaded.version)));
    if (!minorKeys.has(line)) {
      throw new CatalogError(
        'KUP-CATALOG-003',
        `releases[${i}].version`,
        `minor ${line} of ${show(loaded.version)} is not declared in minors`,
      );
    }
    return loaded;
  });

  const imageNames = new Set<string>();
  const machineImages = optionalList(root.machineImages, 'machineImages').map((m, i) => {
    const loaded = loadImage(m, `machineImages[${i}]`);
    unique(imageNames, loaded.name, `machineImages[${i}].name`, 'machine image');
    return loaded;
  });

  const published = optionalDate(root.published, 'published');
  return {
    schemaVersion: 1,
    ...(published === undefined ? {} : { published }),
    about: root.about === undefined ? [] : strings(root.about, 'about'),
    minors: [...minors].sort((a, b) => compareMinorText(a.minor, b.minor)),
    releases: [...releases].sort((a, b) => compareVersions(parseVersion(a.version), parseVersion(b.version))),
    removedApis: optionalList(root.removedApis, 'removedApis').map((a, i) => loadRemovedApi(a, `removedApis[${i}]`)),
    components: optionalList(root.components, 'components').map((c, i) => loadComponent(c, `components[${i}]`)),
    machineImages,
  };
}
