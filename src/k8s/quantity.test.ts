import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuMillis,
  isZeroQuantity,
  memoryBytes,
  parseQuantity,
  quantityValue,
  scaledValue,
  tryParseQuantity,
} from './quantity.ts';

describe('parseQuantity', () => {
  it('reads every suffix family and says which format it is', () => {
    assert.deepEqual(parseQuantity('500m'), {
      negative: false,
      mantissa: 500n,
      exp10: -3,
      exp2: 0,
      suffix: 'm',
      format: 'DecimalSI',
    });
    assert.equal(parseQuantity('1Gi').format, 'BinarySI');
    assert.equal(parseQuantity('1e3').format, 'DecimalExponent');
    assert.equal(parseQuantity('2').format, 'DecimalSI');
  });

  it('accepts the number forms apimachinery accepts: signs, leading and trailing dots', () => {
    for (const text of ['+1', '-1', '.5', '5.', '1.', '0.5', '-.5m', '+1.5Gi', '007', '1E', '1e-3', '1E+3', '1.5e3'])
      assert.ok(tryParseQuantity(text) !== undefined, text);
    assert.equal(parseQuantity('-1').negative, true);
  });

  it('reads 1E as exa, not as an exponent without digits', () => {
    assert.equal(quantityValue('1E'), 1e18);
    assert.equal(tryParseQuantity('1e'), undefined);
  });

  it('refuses what apimachinery refuses, with a clear error', () => {
    for (const text of [
      '',
      ' 1',
      '1 ',
      '1 m',
      'two',
      '1K',
      '1KB',
      '1Kib',
      '1mi',
      '1.2.3',
      '--1',
      '1e1.5',
      '1Gi1',
      '0x10',
      'm',
    ])
      assert.throws(() => parseQuantity(text), { name: 'RangeError', message: /^invalid quantity / }, text);
    assert.throws(() => parseQuantity('1KB'), {
      message:
        'invalid quantity "1KB": unknown suffix "KB"; expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)',
    });
    assert.throws(() => parseQuantity('two'), { message: /invalid quantity "two": expected a number/ });
  });

  it('refuses non-finite numbers and absurd exponents', () => {
    assert.throws(() => parseQuantity(Number.NaN), RangeError);
    assert.throws(() => parseQuantity(Number.POSITIVE_INFINITY), RangeError);
    assert.throws(() => parseQuantity('1e999999999'), { message: /exponent 999999999 is out of range/ });
  });

  it('takes JSON and YAML numbers, exponent form included', () => {
    assert.equal(cpuMillis(0.25), 250);
    assert.equal(memoryBytes(1e15), 1e15);
    assert.equal(cpuMillis(1e-7), 1);
  });
});

describe('quantityValue', () => {
  it('returns base units as a float', () => {
    assert.equal(quantityValue('500m'), 0.5);
    assert.equal(quantityValue('1Gi'), 1_073_741_824);
    assert.equal(quantityValue('2'), 2);
    assert.equal(quantityValue(3), 3);
    assert.equal(quantityValue('-1.5k'), -1500);
    assert.equal(quantityValue('1e-3'), 0.001);
  });
});

describe('scaledValue', () => {
  it('rounds up and away from zero, as ScaledValue does', () => {
    assert.equal(scaledValue(parseQuantity('1.5m'), 3), 2);
    assert.equal(scaledValue(parseQuantity('-1.5m'), 3), -2);
    assert.equal(scaledValue(parseQuantity('1n'), 0), 1);
    assert.equal(scaledValue(parseQuantity('1e-400'), -1), 1);
    assert.equal(scaledValue(parseQuantity('-0'), 3), 0);
  });
});

describe('cpuMillis', () => {
  it('reads cores and millicores', () => {
    assert.equal(cpuMillis('2'), 2000);
    assert.equal(cpuMillis('500m'), 500);
    assert.equal(cpuMillis('0.5'), 500);
    assert.equal(cpuMillis(2), 2000);
    assert.equal(cpuMillis('1k'), 1_000_000);
  });

  it('is exact where floating point is not', () => {
    // 0.1 * 1000 is 100.00000000000001 in floating point; Kubernetes says 100m.
    assert.equal(cpuMillis('0.1'), 100);
    assert.equal(cpuMillis('0.3'), 300);
    assert.equal(cpuMillis('1.1'), 1100);
    assert.equal(cpuMillis('4.35'), 4350);
  });

  it('rounds sub-millicore values up', () => {
    assert.equal(cpuMillis('0.0001'), 1);
    assert.equal(cpuMillis('100u'), 1);
    assert.equal(cpuMillis('1n'), 1);
    assert.equal(cpuMillis('0'), 0);
  });

  it('reads exponents', () => {
    assert.equal(cpuMillis('1e3'), 1_000_000);
    assert.equal(cpuMillis('5e-1'), 500);
    assert.equal(cpuMillis('5E-1'), 500);
  });

  it('refuses negative amounts, as resource validation does, but takes minus zero', () => {
    assert.throws(() => cpuMillis('-1'), {
      name: 'RangeError',
      message: 'invalid quantity "-1": a resource amount must be greater than or equal to 0',
    });
    assert.equal(cpuMillis('-0'), 0);
    assert.equal(cpuMillis('+250m'), 250);
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
    assert.equal(memoryBytes('1Ti'), 2 ** 40);
    assert.equal(memoryBytes('1Pi'), 2 ** 50);
    assert.equal(memoryBytes('1P'), 1e15);
    assert.equal(memoryBytes('1T'), 1e12);
    assert.equal(memoryBytes('1M'), 1e6);
    assert.equal(memoryBytes('1000'), 1000);
  });

  it('rounds fractions of a byte up', () => {
    assert.equal(memoryBytes('1500m'), 2);
    assert.equal(memoryBytes('0.1Ki'), 103);
  });

  it('refuses values past the safe-integer range instead of losing precision', () => {
    assert.throws(() => memoryBytes('8Ei'), { name: 'RangeError', message: 'quantity "8Ei" is too large' });
    assert.throws(() => memoryBytes('1e300'), { message: /too large/ });
  });
});

describe('isZeroQuantity', () => {
  it('sees zero in every spelling', () => {
    for (const text of ['0', '0m', '-0.0Gi', '0e9', '.0']) assert.ok(isZeroQuantity(parseQuantity(text)), text);
    assert.ok(!isZeroQuantity(parseQuantity('1n')));
  });
});
