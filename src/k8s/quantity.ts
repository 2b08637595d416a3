/**
 * Kubernetes resource quantities (`500m`, `2`, `-1.5`, `512Mi`, `1.5Gi`, `1e3`, `+2k`), as apimachinery's
 * `resource.ParseQuantity` reads them, for kup and kube-sim alike.
 *
 * The grammar (apimachinery `pkg/api/resource/quantity.go`): an optional sign, a decimal number (`1`, `1.5`, `.5`,
 * `5.`), then one suffix: binary SI (`Ki Mi Gi Ti Pi Ei`), decimal SI (`n u m k M G T P E`, or none), or a decimal
 * exponent (`e3`, `E-2`, `e+6`). Nothing else: no spaces, no `K`, no `KB`. The arithmetic is exact (BigInt), so `0.1`
 * CPU is 100 millicores, not 101; results round as Kubernetes' `ScaledValue` does, up and away from zero.
 *
 * @module
 */

/** A parsed quantity: its value is `(negative ? -1 : 1) x mantissa x 10^exp10 x 2^exp2`. */
export interface Quantity {
  readonly negative: boolean;
  readonly mantissa: bigint;
  readonly exp10: number;
  readonly exp2: number;
  /** The suffix as written: `''`, `m`, `Mi`, `e3`, ... */
  readonly suffix: string;
  /** How the quantity is written: `DecimalSI` (`1k`, `500m`, `2`), `BinarySI` (`1Ki`), `DecimalExponent` (`1e3`). */
  readonly format: QuantityFormat;
}

/** The three ways Kubernetes writes a quantity. */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?/;
const EXPONENT = /^[eE]([+-]?\d+)$/;

const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  '': 0,
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIX: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/**
 * An exponent past this is refused rather than computed: 10^400 is already past every int64 Kubernetes can hold,
 * and it keeps a hostile `1e999999999` from building a huge BigInt.
 */
const MAX_EXPONENT = 400;

function invalid(text: string | number, why: string): RangeError {
  return new RangeError(`invalid quantity ${JSON.stringify(text)}: ${why}`);
}

const EXPECTED = 'expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)';

/** Plain text for a finite number: YAML and JSON may give `cpu: 2` or `cpu: 0.5`. */
function numberText(n: number): string | undefined {
  // String() may give exponent form (`1e-7`, `1e+21`), which is a valid quantity too.
  return Number.isFinite(n) ? String(n) : undefined;
}

/**
 * Reads a quantity, or explains why it is not one.
 *
 * @throws RangeError `invalid quantity "<text>": ...` when `text` is not a quantity.
 */
export function parseQuantity(text: string | number): Quantity {
  const source = typeof text === 'number' ? numberText(text) : text;
  if (source === undefined) throw invalid(text, 'not a finite number');
  const number = NUMBER.exec(source);
  const whole = number?.[2] ?? '';
  const fraction = number?.[3] ?? '';
  // apimachinery reads a bare sign or a bare "." as zero; no client writes one, and refusing it catches typos.
  if (number === null || whole.length + fraction.length === 0) throw invalid(text, EXPECTED);
  const suffix = source.slice(number[0].length);
  let exp10: number;
  let exp2 = 0;
  let format: QuantityFormat;
  const decimal = DECIMAL_SUFFIX[suffix];
  const binary = BINARY_SUFFIX[suffix];
  const exponent = EXPONENT.exec(suffix);
  if (decimal !== undefined) {
    exp10 = decimal;
    format = 'DecimalSI';
  } else if (binary !== undefined) {
    exp10 = 0;
    exp2 = binary;
    format = 'BinarySI';
  } else if (exponent !== null) {
    exp10 = Number(exponent[1]);
    format = 'DecimalExponent';
    if (Math.abs(exp10) > MAX_EXPONENT) throw invalid(text, `exponent ${exponent[1]} is out of range`);
  } else {
    throw invalid(text, `unknown suffix ${JSON.stringify(suffix)}; ${EXPECTED}`);
  }
  return {
    negative: number[1] === '-',
    mantissa: BigInt(`${whole}${fraction}` || '0'),
    exp10: exp10 - fraction.length,
    exp2,
    suffix,
    format,
  };
}

/** Like {@link parseQuantity}, but `undefined` instead of an error. */
export function tryParseQuantity(text: string | number): Quantity | undefined {
  try {
    return parseQuantity(text);
  } catch {
    return undefined;
  }
}

/** Whether the quantity is exactly zero (`0`, `0m`, `-0.0Gi`). */
export function isZeroQuantity(q: Quantity): boolean {
  return q.mantissa === 0n;
}

/**
 * The quantity in units of 10^-scale, rounded up and away from zero (`ScaledValue`), as an exact safe integer:
 * scale 3 is millis, scale 0 whole units.
 *
 * @throws RangeError when the result is not a safe integer.
 */
export function scaledValue(q: Quantity, scale: number, original: string | number = formatDebug(q)): number {
  if (q.mantissa === 0n) return 0;
  const e = q.exp10 + scale;
  if (e > MAX_EXPONENT) throw new RangeError(`quantity ${JSON.stringify(original)} is too large`);
  // Past this many digits the result cannot be >= 1 without also being huge: it rounds to one unit.
  if (e < -MAX_EXPONENT) return q.negative ? -1 : 1;
  const numerator = q.mantissa * 2n ** BigInt(q.exp2) * 10n ** BigInt(Math.max(e, 0));
  const denominator = 10n ** BigInt(Math.max(-e, 0));
  const magnitude = (numerator + denominator - 1n) / denominator;
  if (magnitude > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`quantity ${JSON.stringify(original)} is too large`);
  }
  return q.negative ? -Number(magnitude) : Number(magnitude);
}

function formatDebug(q: Quantity): string {
  return `${q.negative ? '-' : ''}${q.mantissa}e${q.exp10}*2^${q.exp2}`;
}

/**
 * The value in base units as a floating-point number: cores for CPU, bytes for memory (`"500m"` -> 0.5, `"1Gi"` ->
 * 1073741824). Use {@link cpuMillis} or {@link memoryBytes} for exact integers.
 *
 * @throws RangeError when `text` is not a quantity.
 */
export function quantityValue(text: string | number): number {
  const q = parseQuantity(text);
  // Dividing by 10^n is exact where multiplying by 10^-n is not (500 / 1000 vs 500 * 0.001).
  const magnitude =
    q.exp10 >= 0
      ? Number(q.mantissa) * 10 ** q.exp10 * 2 ** q.exp2
      : (Number(q.mantissa) * 2 ** q.exp2) / 10 ** -q.exp10;
  return q.negative ? -magnitude : magnitude;
}

function nonNegative(text: string | number): Quantity {
  const q = parseQuantity(text);
  // Requests, limits, capacity and allocatable must be >= 0 (ValidateNonnegativeQuantity); -0 is zero.
  if (q.negative && q.mantissa !== 0n) throw invalid(text, 'a resource amount must be greater than or equal to 0');
  return q;
}

/**
 * A CPU amount in millicores, rounded up as Kubernetes does (`"2"` -> 2000, `"250m"` -> 250, `"0.1"` -> 100,
 * `"100u"` -> 1).
 *
 * @throws RangeError when `text` is not a quantity, is negative, or is too large.
 */
export function cpuMillis(text: string | number): number {
  return scaledValue(nonNegative(text), 3, text);
}

/**
 * A memory (or storage) amount in bytes, rounded up (`"512Mi"` -> 536870912, `"1G"` -> 1000000000).
 *
 * @throws RangeError when `text` is not a quantity, is negative, or is too large.
 */
export function memoryBytes(text: string | number): number {
  return scaledValue(nonNegative(text), 0, text);
}
