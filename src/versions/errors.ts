/**
 * Errors of the versions domain. Each carries a stable code at the start of its message
 * (`KUP-VERSION-001: ...`) and the structured fields a caller needs to react without parsing text.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';

/** Codes of {@link VersionParseError}. */
export type VersionErrorCode = 'KUP-VERSION-001';

/** Codes of {@link CatalogError}. */
export type CatalogErrorCode =
  /** A field is missing or has a value of the wrong shape. */
  | 'KUP-CATALOG-001'
  /** Two entries claim the same key (version, minor, image name). */
  | 'KUP-CATALOG-002'
  /** An entry refers to something the catalog does not hold (a release of an undeclared minor). */
  | 'KUP-CATALOG-003';

/** Codes of {@link UpgradePathError}: why a path was refused. */
export type UpgradePathErrorCode =
  /** The control-plane version or the target is not in the catalog. */
  | 'KUP-PATH-001'
  /** Downgrade to another minor. */
  | 'KUP-PATH-002'
  /** Downgrade further than the previous patch of the same minor. */
  | 'KUP-PATH-003'
  /** Target is a preview release and previews were not allowed. */
  | 'KUP-PATH-004'
  /** Target is past its end of support and expired targets were not allowed. */
  | 'KUP-PATH-005'
  /** A minor the control plane must pass through has no release in the catalog. */
  | 'KUP-PATH-006'
  /** A worker pool runs a kubelet newer than the control plane: the cluster is already out of policy. */
  | 'KUP-PATH-007'
  /** A worker pool's kubelet version cannot be read. */
  | 'KUP-PATH-008'
  /** Two worker pools share a name. */
  | 'KUP-PATH-009';

/** A string is not a Kubernetes version. */
export class VersionParseError extends KupError<VersionErrorCode> {
  override readonly name = 'VersionParseError';
  /** The text that failed to parse. */
  readonly input: string;

  constructor(input: string, expected: string) {
    super('KUP-VERSION-001', `${JSON.stringify(input)} is not a Kubernetes version (expected ${expected})`, {
      kind: 'invalid-input',
    });
    this.input = input;
  }
}

/** Catalog data failed validation; `field` is the path of the bad value, e.g. `releases[3].version`. */
export class CatalogError extends KupError<CatalogErrorCode> {
  override readonly name = 'CatalogError';
  /** Path of the offending field inside the catalog document. */
  readonly field: string;

  constructor(code: CatalogErrorCode, field: string, problem: string, options?: { cause?: unknown }) {
    // A catalog is data given to kup (`kup catalog update`): a bad one is bad input.
    super(code, `${field}: ${problem}`, { kind: 'invalid-input', cause: options?.cause });
    this.field = field;
  }
}

/** Structured context of an {@link UpgradePathError}. */
export interface UpgradePathErrorDetails {
  /** Current control-plane version, as given. */
  readonly from?: string;
  /** Requested target version, as given. */
  readonly to?: string;
  /** Worker pool concerned, when the refusal is about one pool. */
  readonly pool?: string;
}

/** The planner refused to build an upgrade path; the code says why. */
export class UpgradePathError extends KupError<UpgradePathErrorCode, UpgradePathErrorDetails> {
  override readonly name = 'UpgradePathError';
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly pool: string | undefined;

  constructor(
    code: UpgradePathErrorCode,
    message: string,
    details: UpgradePathErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, { kind: upgradePathKind(code), details, cause: options?.cause });
    this.from = details.from;
    this.to = details.to;
    this.pool = details.pool;
  }
}

/**
 * A refused path is the skew policy saying no (`rejected`); a pool whose kubelet version cannot be read, or two pools
 * with one name, is the cluster's topology that cannot be used (`failed`).
 */
function upgradePathKind(code: UpgradePathErrorCode): 'rejected' | 'failed' {
  return code === 'KUP-PATH-008' || code === 'KUP-PATH-009' ? 'failed' : 'rejected';
}
