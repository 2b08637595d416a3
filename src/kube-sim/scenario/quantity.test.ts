import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkCpuQuantity, checkMemoryQuantity, cpuMillis, memoryBytes, parseQuantity } from './quantity.ts';

describe('cpuMillis', () => {
  it('reads cores and millicores', () => {
    assert.equal(cpuMillis('2'), 2000);
    assert.equal(cpuMillis('500m'), 500);
    assert.equal(cpuMillis('0.5'), 500);
    assert.equal(cpuMillis(2), 2000);
    assert.equal(cpuMillis(0.25), 250);
  });

  it('is exact where floating point is not', () => {
    // 0.1 * 1000 is 100.00000000000001 in floating point; Kubernetes says 100m.
    assert.equal(cpuMillis('0.1'), 100);
    assert.equal(cpuMillis('0.3'), 300);
    assert.equal(cpuMillis('1.1'), 1100);
  });

  it('rounds sub-millicore values up, as Kubernetes does', () => {
    assert.equal(cpuMillis('0.0001'), 1);
    assert.equal(cpuMillis('100u'), 1);
    assert.equal(cpuMillis('0'), 0);
  });

  it('reads exponents', () => {
    assert.equal(cpuMillis('1e3'), 1_000_000);
    assert.equal(cpuMillis('5e-1'), 500);
  });

  it('throws RangeError on text that is not a quantity', () => {
    assert.throws(() => cpuMillis('two'), { name: 'RangeError', message: /invalid quantity "two"/ });
    assert.throws(() => cpuMillis('-1'), RangeError);
    assert.throws(() => cpuMillis('1 m'), RangeError);
    assert.throws(() => cpuMillis(''), RangeError);
  });
});

describe('memoryBytes', () => {
  it('reads binary and decimal suffixes', () => {
    assert.equal(memoryBytes('512Mi'), 512 * 2 ** 20);
    assert.equal(memoryBytes('4Gi'), 4 * 2 ** 30);
    assert.equal(memoryBytes('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(memoryBytes('1G'), 1e9);
    assert.equal(memoryBytes('128k'), 128_000);
    assert.equal(memoryBytes('1Ki'), 1024);
    assert.equal(memoryBytes('1P'), 1e15);
    assert.equal(memoryBytes('1000'), 1000);
  });

  it('refuses values past the safe-integer range instead of losing precision', () => {
    assert.throws(() => memoryBytes('8Ei'), { name: 'RangeError', message: /too large/ });
  });
});

describe('parseQuantity', () => {
  it('returns base units', () => {
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('1Gi'), 1_073_741_824);
    assert.equal(parseQuantity('2'), 2);
    assert.equal(parseQuantity(3), 3);
  });
});

describe('checkCpuQuantity', () => {
  it('accepts cores, millicores and YAML numbers, keeping the text', () => {
    assert.deepEqual(checkCpuQuantity('250m'), { ok: true, value: '250m' });
    assert.deepEqual(checkCpuQuantity(2), { ok: true, value: '2' });
    assert.deepEqual(checkCpuQuantity(0.5), { ok: true, value: '0.5' });
  });

  it('explains the mega-for-milli mistake', () => {
    assert.deepEqual(checkCpuQuantity('500M'), {
      ok: false,
      problem:
        'must be a CPU quantity in cores ("2", "0.5") or millicores ("500m"), got "500M"; "M" means millions of cores: did you mean "500m"?',
    });
  });

  it('suggests the number for "2 cores"', () => {
    const check = checkCpuQuantity('2 cores');
    assert.equal(check.ok, false);
    assert.match(check.ok ? '' : check.problem, /got "2 cores"; did you mean "2"\?$/);
  });

  it('rejects memory suffixes and zero capacity', () => {
    assert.equal(checkCpuQuantity('1Gi').ok, false);
    assert.deepEqual(checkCpuQuantity('0', true), { ok: false, problem: 'must be more than zero, got "0"' });
    assert.deepEqual(checkCpuQuantity('0'), { ok: true, value: '0' });
  });
});

describe('checkMemoryQuantity', () => {
  it('suggests binary suffixes for GB, lower-case units and spaces', () => {
    assert.deepEqual(checkMemoryQuantity('4GB'), {
      ok: false,
      problem: 'must be a memory quantity like "512Mi" or "4Gi", got "4GB"; did you mean "4Gi"?',
    });
    const lower = checkMemoryQuantity('512mi');
    assert.equal(lower.ok, false);
    assert.match(lower.ok ? '' : lower.problem, /did you mean "512Mi"\?$/);
    const spaced = checkMemoryQuantity('1 Gi');
    assert.match(spaced.ok ? '' : spaced.problem, /did you mean "1Gi"\?$/);
  });

  it('catches millibytes, which Kubernetes accepts but nobody means', () => {
    assert.deepEqual(checkMemoryQuantity('512m'), {
      ok: false,
      problem:
        'must be a memory quantity like "512Mi" or "4Gi", got "512m"; "m" means fractions of a byte: did you mean "512Mi"?',
    });
  });

  it('rejects lists, booleans and negative numbers', () => {
    assert.deepEqual(checkMemoryQuantity(['1Gi']), {
      ok: false,
      problem: 'must be a memory quantity like "512Mi" or "4Gi", got a list',
    });
    assert.equal(checkMemoryQuantity(true).ok, false);
    assert.equal(checkMemoryQuantity(-1).ok, false);
  });
});
