import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkCpuQuantity, checkMemoryQuantity } from './quantity.ts';

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
