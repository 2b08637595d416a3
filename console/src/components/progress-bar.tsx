/** Props of {@link ProgressBar}. */
export interface ProgressBarProps {
  /** 0-100. */
  readonly percent: number;
  readonly label: string;
}

/** A progress bar with its number, for screen readers too. */
export function ProgressBar({ percent, label }: ProgressBarProps) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <span
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
    >
      <span className="progress-fill" style={{ width: `${value}%` }} />
      <span className="progress-text">{value} %</span>
    </span>
  );
}
