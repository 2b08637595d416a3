/**
 * Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1.5Gi`, `1e3`), as the simulated scheduler and kubelets need
 * them. Rounding follows Kubernetes: CPU rounds up to whole millicores, memory up to whole bytes. The arithmetic is
 * exact (BigInt), so `0.1` CPU is 100 millicores, not 101.
 */

import { describeValue as describe } from './errors.ts';

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

const DECIMAL_SUFFIX: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** value = mantissa x 10^exp10 x 2^exp2 */
interface QuantityParts {
  mantissa: bigint;
  exp10: number;
  exp2: number;
  suffix: string;
}

function parts(q: string | number): QuantityParts | undefined {
  const text = typeof q === 'number' ? numberText(q) : q;
  if (text === undefined) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [whole = '', fraction = ''] = (m[1] ?? '').split('.');
  const exponent = m[2] === undefined ? 0 : Number(m[2]);
  // Bounds keep BigInt powers cheap; Kubernetes itself caps quantities near 2^63.
  if (Math.abs(exponent) > 64) return undefined;
  const suffix = m[3] ?? '';
  return {
    mantissa: BigInt(`${whole}${fraction}` || '0'),
    exp10: exponent - fraction.length + (DECIMAL_SUFFIX[suffix] ?? 0),
    exp2: BINARY_SUFFIX[suffix] ?? 0,
    suffix,
  };
}

/** Plain decimal text for a non-negative finite number (YAML may give `cpu: 2` or `cpu: 0.5`). */
function numberText(n: number): string | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  // String() may give exponent form (`1e-7`), which is a valid quantity too.
  return String(n);
}

/** ceil(value x 10^scale) as a safe integer. */
function ceilScaled(p: QuantityParts, scale: number, original: string | number): number {
  const e = p.exp10 + scale;
  const numerator = p.mantissa * 2n ** BigInt(p.exp2) * 10n ** BigInt(Math.max(e, 0));
  const denominator = 10n ** BigInt(Math.max(-e, 0));
  const result = (numerator + denominator - 1n) / denominator;
  if (result > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`quantity ${JSON.stringify(original)} is too large`);
  return Number(result);
}

function mustParse(q: string | number): QuantityParts {
  const p = parts(q);
  if (!p) {
    throw new RangeError(
      `invalid quantity ${JSON.stringify(q)}: expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)`,
    );
  }
  return p;
}

/**
 * The value of a quantity in base units: cores for CPU, bytes for memory (`"500m"` -> 0.5, `"1Gi"` -> 1073741824).
 * A floating-point result; use {@link cpuMillis} or {@link memoryBytes} for exact integers.
 * @throws RangeError when `q` is not a quantity.
 */
export function parseQuantity(q: string | number): number {
  const p = mustParse(q);
  return Number(p.mantissa) * 10 ** p.exp10 * 2 ** p.exp2;
}

/**
 * A CPU quantity in millicores, rounded up as Kubernetes does (`"2"` -> 2000, `"250m"` -> 250, `"0.1"` -> 100).
 * @throws RangeError when `q` is not a quantity.
 */
export function cpuMillis(q: string | number): number {
  return ceilScaled(mustParse(q), 3, q);
}

/**
 * A memory quantity in bytes, rounded up (`"512Mi"` -> 536870912, `"1G"` -> 1000000000).
 * @throws RangeError when `q` is not a quantity.
 */
export function memoryBytes(q: string | number): number {
  return ceilScaled(mustParse(q), 0, q);
}

/** The result of checking a quantity a scenario wrote: its canonical text, or what is wrong with it. */
export type QuantityCheck = { ok: true; value: string } | { ok: false; problem: string };

function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Checks a CPU quantity as a scenario writes it (a string, or a YAML number such as `2` or `0.5`).
 * `positive` rejects zero (node capacity).
 */
export function checkCpuQuantity(value: unknown, positive = false): QuantityCheck {
  const expected = 'must be a CPU quantity in cores ("2", "0.5") or millicores ("500m")';
  if (typeof value !== 'string' && typeof value !== 'number')
    return { ok: false, problem: `${expected}, got ${describe(value)}` };
  const p = parts(value);
  const text = typeof value === 'number' ? numberText(value) : value;
  if (!p || text === undefined)
    return { ok: false, problem: `${expected}, got ${shown(value)}${cpuHint(String(value))}` };
  if (p.suffix !== '' && p.suffix !== 'm') {
    const hint =
      p.suffix === 'M' ? `; "M" means millions of cores: did you mean ${JSON.stringify(text.replace(/M$/, 'm'))}?` : '';
    return { ok: false, problem: `${expected}, got ${shown(value)}${hint}` };
  }
  if (positive && p.mantissa === 0n) return { ok: false, problem: `must be more than zero, got ${shown(value)}` };
  return { ok: true, value: text };
}

function cpuHint(text: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*(cores?|cpus?|vcpus?)$/i.exec(text.trim());
  return m ? `; did you mean ${JSON.stringify(m[1])}?` : '';
}

/** Checks a memory quantity as a scenario writes it; `positive` rejects zero (node capacity). */
export function checkMemoryQuantity(value: unknown, positive = false): QuantityCheck {
  const expected = 'must be a memory quantity like "512Mi" or "4Gi"';
  if (typeof value !== 'string' && typeof value !== 'number')
    return { ok: false, problem: `${expected}, got ${describe(value)}` };
  const text = typeof value === 'number' ? numberText(value) : value;
  const p = parts(value);
  if (!p || text === undefined)
    return { ok: false, problem: `${expected}, got ${shown(value)}${memoryHint(String(value))}` };
  if (p.suffix === 'm' || p.suffix === 'u' || p.suffix === 'n') {
    const fixed = text.replace(/[mun]$/, 'Mi');
    return {
      ok: false,
      problem: `${expected}, got ${shown(value)}; "${p.suffix}" means fractions of a byte: did you mean ${JSON.stringify(fixed)}?`,
    };
  }
  if (positive && p.mantissa === 0n) return { ok: false, problem: `must be more than zero, got ${shown(value)}` };
  return { ok: true, value: text };
}

/** `4GB` -> `4Gi`, `512mi` -> `512Mi`, `1 Gi` -> `1Gi`. */
function memoryHint(text: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpPeE])(i|b|ib|iB|B)?$/.exec(text.trim());
  if (!m) return '';
  const unit = (m[2] ?? '').toUpperCase();
  const suggestion = `${m[1]}${unit}i`;
  return parts(suggestion) ? `; did you mean ${JSON.stringify(suggestion)}?` : '';
}
