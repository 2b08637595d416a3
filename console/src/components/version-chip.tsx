import type { Classification } from '../api/types.ts';
import { day } from '../format.ts';

/** Props of {@link VersionChip}. */
export interface VersionChipProps {
  /** null: the cluster does not answer. */
  readonly version: string | null;
  readonly classification: Classification;
  readonly endOfSupport?: string | null | undefined;
  /** A newer version can be chosen: shows the upgrade marker. */
  readonly upgradeTo?: string | undefined;
}

/** A Kubernetes version coloured by its classification, as Gardener's dashboard shows it. */
export function VersionChip({ version, classification, endOfSupport, upgradeTo }: VersionChipProps) {
  if (version === null) return <span className="chip chip-unknown">unknown</span>;
  const title = [
    `${version}: ${classification}`,
    endOfSupport ? `end of support ${day(endOfSupport)}` : null,
    upgradeTo ? `upgrade available to ${upgradeTo}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <span className={`chip chip-${classification}`} title={title}>
      <span>{version}</span>
      <span className="visually-hidden"> ({classification})</span>
      {upgradeTo && (
        <span className="upgrade-marker" aria-label={`upgrade available to ${upgradeTo}`}>
          ↑
        </span>
      )}
    </span>
  );
}
