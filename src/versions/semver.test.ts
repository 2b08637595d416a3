import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VersionParseError } from './errors.ts';
import {
  compareVersions,
  formatMinor,
  formatVersion,
  isPrerelease,
  minorDistance,
  nextMinor,
  normalizeVersion,
  parseKubeletVersion,
  parseMinor,
  parseVersion,
  tryParseVersion,
  versionsEqual,
} from './semver.ts';

describe('parseVersion', () => {
  it('reads versions with and without the v prefix as the same version', () => {
    assert.deepEqual(parseVersion('v1.30.4'), { major: 1, minor: 30, patch: 4 });
    assert.deepEqual(parseVersion('1.30.4'), { major: 1, minor: 30, patch: 4 });
  });

  it('reads Kubernetes pre-releases', () => {
    assert.deepEqual(parseVersion('1.34.0-rc.1'), {
      major: 1,
      minor: 34,
      patch: 0,
      prerelease: { kind: 'rc', number: 1 },
    });
    assert.deepEqual(parseVersion('v1.35.0-alpha.0').prerelease, { kind: 'alpha', number: 0 });
    assert.deepEqual(parseVersion('v1.35.0-beta.2').prerelease, { kind: 'beta', number: 2 });
    assert.equal(isPrerelease(parseVersion('1.34.0-rc.1')), true);
    assert.equal(isPrerelease(parseVersion('1.34.0')), false);
  });

  for (const bad of [
    '1.3x.0',
    '1.30',
    '01.30.4',
    '1.30.04',
    '1.30.4-eks-abc',
    '1.30.4-rc1',
    'v1.30.4 ',
    '',
    'latest',
  ]) {
    it(`refuses ${JSON.stringify(bad)} with KUP-VERSION-001`, () => {
      assert.throws(
        () => parseVersion(bad),
        (err: unknown) =>
          err instanceof VersionParseError &&
          err.input === bad &&
          err.message.startsWith(`KUP-VERSION-001: ${JSON.stringify(bad)} is not a Kubernetes version (expected`),
      );
      assert.equal(tryParseVersion(bad), undefined);
    });
  }
});

describe('parseKubeletVersion', () => {
  it('sets a vendor suffix aside and keeps the core version', () => {
    assert.deepEqual(parseKubeletVersion('v1.30.4-eks-abc123'), {
      version: { major: 1, minor: 30, patch: 4 },
      suffix: '-eks-abc123',
    });
    assert.deepEqual(parseKubeletVersion('v1.30.4-gke.1200').version, { major: 1, minor: 30, patch: 4 });
    assert.deepEqual(parseKubeletVersion('v1.30.4+k3s1'), {
      version: { major: 1, minor: 30, patch: 4 },
      suffix: '+k3s1',
    });
    assert.deepEqual(parseKubeletVersion('v1.31.2'), { version: { major: 1, minor: 31, patch: 2 }, suffix: '' });
  });

  it('keeps a Kubernetes pre-release and drops what follows it', () => {
    assert.deepEqual(parseKubeletVersion('v1.34.0-rc.1+k3s1'), {
      version: { major: 1, minor: 34, patch: 0, prerelease: { kind: 'rc', number: 1 } },
      suffix: '+k3s1',
    });
  });

  it('treats a suffix that only looks like a pre-release as a vendor suffix', () => {
    assert.deepEqual(parseKubeletVersion('v1.30.4-rc.1x').version, { major: 1, minor: 30, patch: 4 });
  });

  for (const bad of ['v1.30', 'kubelet', 'v1.30.4abc']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseKubeletVersion(bad), VersionParseError);
    });
  }
});

describe('formatVersion', () => {
  it('writes the catalog form by default and the tag form on request', () => {
    assert.equal(formatVersion(parseVersion('v1.30.4')), '1.30.4');
    assert.equal(formatVersion(parseVersion('1.30.4'), { withV: true }), 'v1.30.4');
    assert.equal(formatVersion(parseVersion('v1.34.0-rc.1')), '1.34.0-rc.1');
    assert.equal(normalizeVersion('v1.29.15'), '1.29.15');
  });

  it('round-trips every shape it parses', () => {
    for (const text of ['1.0.0', '1.30.14', '1.34.0-alpha.3', '1.34.0-beta.0', '1.34.0-rc.2']) {
      assert.equal(formatVersion(parseVersion(text)), text);
    }
  });
});

describe('compareVersions', () => {
  it('orders pre-releases before their GA and by stage, and patches numerically', () => {
    const ordered = [
      '1.29.9',
      '1.29.10',
      '1.34.0-alpha.1',
      '1.34.0-alpha.2',
      '1.34.0-beta.0',
      '1.34.0-rc.1',
      '1.34.0-rc.2',
      '1.34.0',
      '1.34.1',
      '1.35.0',
    ];
    const shuffled = [...ordered].reverse().map(parseVersion);
    assert.deepEqual(
      shuffled.sort(compareVersions).map((v) => formatVersion(v)),
      ordered,
    );
  });

  it('is zero only for identical versions', () => {
    assert.equal(compareVersions(parseVersion('v1.30.4'), parseVersion('1.30.4')), 0);
    assert.equal(versionsEqual(parseVersion('1.34.0'), parseVersion('1.34.0-rc.1')), false);
    assert.equal(compareVersions(parseVersion('1.34.0'), parseVersion('1.34.0-rc.1')), 1);
    assert.equal(compareVersions(parseVersion('1.34.0-rc.1'), parseVersion('1.34.0')), -1);
  });
});

describe('minors', () => {
  it('parses, formats and steps minor lines', () => {
    assert.deepEqual(parseMinor('v1.30'), { major: 1, minor: 30 });
    assert.equal(formatMinor(nextMinor(parseMinor('1.30'))), '1.31');
    assert.equal(minorDistance(parseMinor('1.28'), parseMinor('1.31')), 3);
    assert.equal(minorDistance(parseMinor('1.31'), parseMinor('1.28')), -3);
  });

  it('refuses a minor that is not MAJOR.MINOR', () => {
    assert.throws(
      () => parseMinor('1.30.1'),
      /KUP-VERSION-001: "1\.30\.1" is not a Kubernetes version \(expected \[v\]MAJOR\.MINOR\)/,
    );
  });
});
