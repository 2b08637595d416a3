/**
 * Kubernetes resource quantities (`100m`, `1.5`, `512Mi`, `2G`, `1e3`) as numbers, and back to short text for
 * messages.
 *
 * @module
 */

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** A quantity in base units (cores, bytes, count); `undefined` when the text is not a quantity. */
export function parseQuantity(text: string | number | undefined): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  if (text === undefined) return undefined;
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2].slice(1));
  return base * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** CPU quantity in millicores (0 when absent or unreadable). */
export function cpuMilli(text: string | number | undefined): number {
  const v = parseQuantity(text);
  return v === undefined ? 0 : Math.ceil(v * 1000 - 1e-9);
}

/** Memory quantity in bytes (0 when absent or unreadable). */
export function memoryBytes(text: string | number | undefined): number {
  const v = parseQuantity(text);
  return v === undefined ? 0 : Math.ceil(v - 1e-9);
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
