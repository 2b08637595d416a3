/**
 * Durations as kup prints them to people: `45s`, `1m30s`, `2m`, `1h5m`.
 */

/** `ms` rounded to the second, in the largest units that read well. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
