/**
 * The versions domain: semver for Kubernetes, the version catalog, the skew policy and the upgrade-path planner.
 * Pure code: no I/O, no clock (callers pass `now`), no cluster client.
 *
 * @module
 */
export { CatalogError, UpgradePathError, VersionParseError } from './errors.ts';
export type { CatalogErrorCode, UpgradePathErrorCode, UpgradePathErrorDetails, VersionErrorCode } from './errors.ts';

export {
  compareMinors,
  compareVersions,
  formatMinor,
  formatVersion,
  isPrerelease,
  minorDistance,
  minorOf,
  nextMinor,
  normalizeVersion,
  parseKubeletVersion,
  parseMinor,
  parseVersion,
  PRERELEASE_KINDS,
  sameMinor,
  tryParseVersion,
  versionsEqual,
} from './semver.ts';
export type {
  FormatVersionOptions,
  KubeVersion,
  MinorVersion,
  Prerelease,
  PrereleaseKind,
  ReportedVersion,
} from './semver.ts';

export {
  CLASSIFICATIONS,
  classifyImageVersion,
  classifyMinor,
  classifyRelease,
  CONFIDENCES,
  defaultCatalog,
  DEPRECATION_WINDOW_MONTHS,
  findMachineImage,
  findMinor,
  findRelease,
  isKnownVersion,
  knownMinors,
  latestPatch,
  loadCatalog,
  previousPatch,
  RELEASE_SOURCES,
  releaseClassification,
  releasesOfMinor,
  removedApisBetween,
  serializeCatalog,
} from './catalog.ts';
export type {
  Catalog,
  Classification,
  ComponentCompatibility,
  Confidence,
  KubernetesMinor,
  KubernetesRelease,
  MachineImage,
  MachineImageVersion,
  MinorReleasesOptions,
  ReleaseSource,
  RemovedApi,
} from './catalog.ts';

export { componentCompatibility } from './components.ts';
export type { CompatibilityVerdict } from './components.ts';

export {
  apiserversSkewOk,
  controlPlaneComponentSkewOk,
  kubectlSkewOk,
  kubeletSkewOk,
  kubeProxySkewOk,
  maxKubeletSkew,
  skewViolations,
} from './skew.ts';
export type {
  ControlPlaneVersions,
  PoolVersions,
  SkewComponent,
  SkewProblem,
  SkewViolation,
  VersionInput,
} from './skew.ts';

export { planUpgradePath } from './path.ts';
export type {
  PathNote,
  PlanPathInput,
  PlanPathOptions,
  PoolInput,
  PoolMoveReason,
  UpgradePath,
  UpgradePathKind,
  UpgradeStep,
  WorkerStrategy,
} from './path.ts';

export { availableUpgrades } from './available-upgrades.ts';
export type {
  AvailableUpgrades,
  AvailableUpgradesOptions,
  AvailableVersion,
  PastEndOfSupport,
  WayForward,
} from './available-upgrades.ts';

export { compareDotted, nodeRequirementsAt, parseKernelVersion, parseRuntimeVersion } from './node-requirements.ts';
export type { EffectiveNodeRequirements, RequirementFrom } from './node-requirements.ts';
export type { NodeRequirements } from './catalog-types.ts';

export { latestUsablePatch, newestReleasedMinor, oldestSupportedMinor } from './support.ts';

export { catalogOverview } from './overview.ts';
export type { MinorOverview, ReleaseOverview } from './overview.ts';
