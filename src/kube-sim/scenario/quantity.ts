/**
 * Resource quantities as a scenario writes them (`cpu: 2`, `memory: 512Mi`): the Kubernetes rules (src/k8s/quantity.ts)
 * plus the checks and hints a hand-written file needs (`500M` CPU, `4GB`, millibytes), since Kubernetes would accept
 * some of those and mean something nobody wants.
 */

import type { Quantity } from '../../k8s/quantity.ts';
import { isZeroQuantity, tryParseQuantity } from '../../k8s/quantity.ts';
import { describeValue as describe } from './errors.ts';

/** A scenario's quantity: a non-negative finite number, or text Kubernetes reads as a non-negative quantity. */
function parts(value: string | number): Quantity | undefined {
  if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) return undefined;
  const q = tryParseQuantity(value);
  return q === undefined || q.negative ? undefined : q;
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
  const text = String(value);
  if (!p) return { ok: false, problem: `${expected}, got ${shown(value)}${cpuHint(String(value))}` };
  if (p.suffix !== '' && p.suffix !== 'm') {
    const hint =
      p.suffix === 'M' ? `; "M" means millions of cores: did you mean ${JSON.stringify(text.replace(/M$/, 'm'))}?` : '';
    return { ok: false, problem: `${expected}, got ${shown(value)}${hint}` };
  }
  if (positive && isZeroQuantity(p)) return { ok: false, problem: `must be more than zero, got ${shown(value)}` };
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
  const text = String(value);
  const p = parts(value);
  if (!p) return { ok: false, problem: `${expected}, got ${shown(value)}${memoryHint(String(value))}` };
  if (p.suffix === 'm' || p.suffix === 'u' || p.suffix === 'n') {
    const fixed = text.replace(/[mun]$/, 'Mi');
    return {
      ok: false,
      problem: `${expected}, got ${shown(value)}; "${p.suffix}" means fractions of a byte: did you mean ${JSON.stringify(fixed)}?`,
    };
  }
  if (positive && isZeroQuantity(p)) return { ok: false, problem: `must be more than zero, got ${shown(value)}` };
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
