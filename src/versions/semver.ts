/**
 * Kubernetes version numbers: parse, format, compare.
 *
 * Two parsers, one rule each:
 * - {@link parseVersion} is strict. It accepts what the Kubernetes project publishes: `[v]MAJOR.MINOR.PATCH`,
 *   optionally followed by a Kubernetes pre-release `-alpha.N`, `-beta.N` or `-rc.N`. Catalog data and user targets
 *   go through it.
 * - {@link parseKubeletVersion} reads what clusters report (`status.nodeInfo.kubeletVersion`, `/version`
 *   gitVersion). Vendors append build suffixes (`v1.30.4-eks-abc123`, `v1.30.4-gke.1200`, `v1.30.4+k3s1`).
 *   The rule: after `MAJOR.MINOR.PATCH`, a Kubernetes pre-release (`-alpha.N`/`-beta.N`/`-rc.N`) is kept;
 *   anything else that starts with `-`, `+` or `.` is a vendor suffix and is set aside, leaving the core version.
 *   So `v1.30.4-eks-abc` is 1.30.4, and `v1.34.0-rc.1+k3s1` is 1.34.0-rc.1.
 *
 * @module
 */
import { VersionParseError } from './errors.ts';

/** The pre-release stages Kubernetes publishes, in order. */
export const PRERELEASE_KINDS = ['alpha', 'beta', 'rc'] as const;

/** A Kubernetes pre-release stage. */
export type PrereleaseKind = (typeof PRERELEASE_KINDS)[number];

/** A Kubernetes pre-release tag, e.g. `rc.1`. */
export interface Prerelease {
  readonly kind: PrereleaseKind;
  readonly number: number;
}

/** A parsed Kubernetes version. */
export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Present for alpha, beta and release-candidate builds; absent for GA releases. */
  readonly prerelease?: Prerelease;
}

/** A Kubernetes minor release line, e.g. 1.30. */
export interface MinorVersion {
  readonly major: number;
  readonly minor: number;
}

/** A version read from a cluster, with the vendor suffix that was set aside. */
export interface ReportedVersion {
  readonly version: KubeVersion;
  /** The vendor or build suffix, e.g. `-eks-abc123`; empty when there was none. */
  readonly suffix: string;
}

const NUM = '(0|[1-9]\\d*)';
const CORE = `v?${NUM}\\.${NUM}\\.${NUM}`;
const PRE = `-(alpha|beta|rc)\\.${NUM}`;
const STRICT = new RegExp(`^${CORE}(?:${PRE})?$`);
const LENIENT = new RegExp(`^${CORE}(?:${PRE}(?=$|[-+.]))?((?:[-+.].*)?)$`);
const MINOR = new RegExp(`^v?${NUM}\\.${NUM}$`);
const EXPECTED = '[v]MAJOR.MINOR.PATCH[-alpha.N|-beta.N|-rc.N]';

function build(
  major: string | undefined,
  minor: string | undefined,
  patch: string | undefined,
  kind: string | undefined,
  num: string | undefined,
): KubeVersion {
  const core = { major: Number(major), minor: Number(minor), patch: Number(patch) };
  if (kind === undefined || num === undefined) return core;
  return { ...core, prerelease: { kind: kind as PrereleaseKind, number: Number(num) } };
}

/**
 * Parses a Kubernetes version strictly (`v1.30.4`, `1.30.4`, `1.34.0-rc.1`).
 * @throws {VersionParseError} `KUP-VERSION-001` when the text is anything else.
 */
export function parseVersion(text: string): KubeVersion {
  const m = STRICT.exec(text);
  if (!m) throw new VersionParseError(text, EXPECTED);
  return build(m[1], m[2], m[3], m[4], m[5]);
}

/** Like {@link parseVersion} but returns `undefined` instead of throwing. */
export function tryParseVersion(text: string): KubeVersion | undefined {
  const m = STRICT.exec(text);
  return m ? build(m[1], m[2], m[3], m[4], m[5]) : undefined;
}

/**
 * Parses a version as a cluster reports it, setting a vendor suffix aside (see the module rule).
 * @throws {VersionParseError} `KUP-VERSION-001` when no `MAJOR.MINOR.PATCH` core can be read.
 */
export function parseKubeletVersion(text: string): ReportedVersion {
  const m = LENIENT.exec(text);
  if (!m) throw new VersionParseError(text, `${EXPECTED} with an optional vendor suffix such as -eks-abc or +k3s1`);
  return { version: build(m[1], m[2], m[3], m[4], m[5]), suffix: m[6] ?? '' };
}

/**
 * Parses a minor release line (`1.30`, `v1.30`).
 * @throws {VersionParseError} `KUP-VERSION-001` when the text is anything else.
 */
export function parseMinor(text: string): MinorVersion {
  const m = MINOR.exec(text);
  if (!m) throw new VersionParseError(text, '[v]MAJOR.MINOR');
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** Options of {@link formatVersion}. */
export interface FormatVersionOptions {
  /**
   * Prefix the result with `v`, as Kubernetes tags and `kubectl get nodes` do.
   * @default false
   */
  readonly withV?: boolean;
}

/** Formats a version: `1.30.4`, `1.34.0-rc.1`, or with `withV` `v1.30.4`. */
export function formatVersion(version: KubeVersion, options: FormatVersionOptions = {}): string {
  const pre = version.prerelease ? `-${version.prerelease.kind}.${version.prerelease.number}` : '';
  return `${options.withV === true ? 'v' : ''}${version.major}.${version.minor}.${version.patch}${pre}`;
}

/** Formats a minor release line: `1.30`. */
export function formatMinor(minor: MinorVersion): string {
  return `${minor.major}.${minor.minor}`;
}

/** Normalises a version string to the catalog's form (`v1.30.4` -> `1.30.4`). */
export function normalizeVersion(text: string): string {
  return formatVersion(parseVersion(text));
}

/** The minor release line of a version. */
export function minorOf(version: KubeVersion): MinorVersion {
  return { major: version.major, minor: version.minor };
}

/** True for alpha, beta and release-candidate builds. */
export function isPrerelease(version: KubeVersion): boolean {
  return version.prerelease !== undefined;
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Orders minors: negative when `a` is older than `b`. */
export function compareMinors(a: MinorVersion, b: MinorVersion): -1 | 0 | 1 {
  return sign(a.major - b.major || a.minor - b.minor);
}

/**
 * Orders versions: negative when `a` is older than `b`.
 * Pre-releases sort before their GA release, in the order alpha < beta < rc.
 */
export function compareVersions(a: KubeVersion, b: KubeVersion): -1 | 0 | 1 {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return sign(core);
  if (a.prerelease === undefined || b.prerelease === undefined) {
    // GA sorts after any pre-release of the same core version.
    return a.prerelease === b.prerelease ? 0 : a.prerelease === undefined ? 1 : -1;
  }
  const stage = PRERELEASE_KINDS.indexOf(a.prerelease.kind) - PRERELEASE_KINDS.indexOf(b.prerelease.kind);
  return sign(stage || a.prerelease.number - b.prerelease.number);
}

/** True when both versions are identical, pre-release included. */
export function versionsEqual(a: KubeVersion, b: KubeVersion): boolean {
  return compareVersions(a, b) === 0;
}

/** True when both versions belong to the same minor release line. */
export function sameMinor(a: MinorVersion, b: MinorVersion): boolean {
  return compareMinors(a, b) === 0;
}

/**
 * Number of minors from `from` to `to` (positive when `to` is newer).
 * Kubernetes has only ever had major 1; a different major counts as 1000 minors, which is out of every skew rule.
 */
export function minorDistance(from: MinorVersion, to: MinorVersion): number {
  return (to.major - from.major) * 1000 + (to.minor - from.minor);
}

/** The minor after `minor` (1.30 -> 1.31). */
export function nextMinor(minor: MinorVersion): MinorVersion {
  return { major: minor.major, minor: minor.minor + 1 };
}
