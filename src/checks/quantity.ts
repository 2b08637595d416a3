/**
 * Resource quantities on the checks' side: read leniently (a snapshot must not fail on one odd object; the rules
 * read 0 instead), with Kubernetes' own rules from src/k8s/quantity.ts, and written back as short text for messages.
 *
 * @module
 */
import { cpuMillis, memoryBytes as exactMemoryBytes } from '../k8s/quantity.ts';

/** CPU quantity in millicores (0 when absent or unreadable). */
export function cpuMilli(text: string | number | undefined): number {
  return lenient(cpuMillis, text);
}

/** Memory quantity in bytes (0 when absent or unreadable). */
export function memoryBytes(text: string | number | undefined): number {
  return lenient(exactMemoryBytes, text);
}

function lenient(read: (text: string | number) => number, text: string | number | undefined): number {
  if (text === undefined) return 0;
  try {
    return read(text);
  } catch {
    return 0;
  }
}

/** `250m` or `2` (cores). */
export function formatCpu(milli: number): string {
  if (milli % 1000 === 0) return String(milli / 1000);
  return milli >= 10_000 ? `${(milli / 1000).toFixed(1)}` : `${Math.round(milli)}m`;
}

/** `512Mi`, `1.5Gi`. */
export function formatMemory(bytes: number): string {
  const units: [string, number][] = [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(bytes) >= size) {
      const v = bytes / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;
    }
  }
  return String(bytes);
}
