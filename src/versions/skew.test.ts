import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VersionParseError } from './errors.ts';
import { parseVersion } from './semver.ts';
import {
  apiserversSkewOk,
  controlPlaneComponentSkewOk,
  kubectlSkewOk,
  kubeletSkewOk,
  kubeProxySkewOk,
  maxKubeletSkew,
  skewViolations,
} from './skew.ts';

describe('kubeletSkewOk', () => {
  it('allows a kubelet up to three minors older than a 1.28+ API server', () => {
    assert.equal(kubeletSkewOk('1.31.2', '1.31.0'), true);
    assert.equal(kubeletSkewOk('1.31.2', '1.28.15'), true);
    assert.equal(kubeletSkewOk('1.31.2', '1.27.16'), false);
  });

  it('allows only two minors before the policy widened in 1.28', () => {
    assert.equal(maxKubeletSkew('1.27.16'), 2);
    assert.equal(maxKubeletSkew('1.28.0'), 3);
    assert.equal(kubeletSkewOk('1.27.16', '1.25.0'), true);
    assert.equal(kubeletSkewOk('1.27.16', '1.24.17'), false);
  });

  it('never allows a kubelet newer than the API server, patch levels aside', () => {
    assert.equal(kubeletSkewOk('1.30.14', '1.31.0'), false);
    assert.equal(kubeletSkewOk('1.30.2', '1.30.9'), true);
  });

  it('reads vendor versions and parsed versions alike', () => {
    assert.equal(kubeletSkewOk('v1.31.2-eks-abc', 'v1.28.15-eks-def'), true);
    assert.equal(kubeletSkewOk(parseVersion('1.31.2'), 'v1.27.1+k3s1'), false);
  });

  it('throws on a version it cannot read', () => {
    assert.throws(() => kubeletSkewOk('1.31.2', 'kubelet'), VersionParseError);
  });
});

describe('control-plane component skew', () => {
  it('allows controller-manager, scheduler and CCM one minor older, never newer', () => {
    assert.equal(controlPlaneComponentSkewOk('1.31.0', '1.31.0'), true);
    assert.equal(controlPlaneComponentSkewOk('1.31.0', '1.30.5'), true);
    assert.equal(controlPlaneComponentSkewOk('1.31.0', '1.29.5'), false);
    assert.equal(controlPlaneComponentSkewOk('1.30.5', '1.31.0'), false);
  });

  it('keeps HA API servers within one minor', () => {
    assert.equal(apiserversSkewOk(['1.30.5', '1.31.0', '1.31.2']), true);
    assert.equal(apiserversSkewOk(['1.29.5', '1.31.0']), false);
  });

  it('keeps kubectl within one minor either way', () => {
    assert.equal(kubectlSkewOk('1.31.0', '1.32.1'), true);
    assert.equal(kubectlSkewOk('1.31.0', '1.30.1'), true);
    assert.equal(kubectlSkewOk('1.31.0', '1.33.0'), false);
  });

  it('applies the kubelet rule to kube-proxy, and keeps it within three minors of its kubelet', () => {
    assert.equal(kubeProxySkewOk('1.31.0', '1.28.0'), true);
    assert.equal(kubeProxySkewOk('1.31.0', '1.32.0'), false);
    assert.equal(kubeProxySkewOk('1.31.0', '1.28.0', '1.31.0'), true);
  });
});

describe('skewViolations', () => {
  it('returns nothing for a cluster within policy', () => {
    assert.deepEqual(
      skewViolations('1.31.2', [
        { name: 'a', kubelet: 'v1.28.15' },
        { name: 'b', kubelet: 'v1.31.2-eks-1' },
      ]),
      [],
    );
  });

  it('says which pool is out of policy and why', () => {
    const found = skewViolations('1.31.2', [
      { name: 'old', kubelet: '1.27.16' },
      { name: 'ahead', kubelet: '1.32.0' },
      { name: 'fine', kubelet: '1.30.1' },
    ]);
    assert.deepEqual(
      found.map(({ component, problem, pool, version, minorsBehind, allowed }) => ({
        component,
        problem,
        pool,
        version,
        minorsBehind,
        allowed,
      })),
      [
        { component: 'kubelet', problem: 'too-old', pool: 'old', version: '1.27.16', minorsBehind: 4, allowed: 3 },
        {
          component: 'kubelet',
          problem: 'newer-than-apiserver',
          pool: 'ahead',
          version: '1.32.0',
          minorsBehind: -1,
          allowed: 3,
        },
      ],
    );
    assert.equal(
      found[0]?.message,
      'pool "old": kubelet 1.27.16 is 4 minors behind kube-apiserver 1.31.2; 1.31 allows 3',
    );
    assert.equal(
      found[1]?.message,
      'pool "ahead": kubelet 1.32.0 is newer than kube-apiserver 1.31.2; it must never be newer',
    );
  });

  it('checks kube-proxy against the API server and against its kubelet', () => {
    const found = skewViolations('1.31.2', [{ name: 'p', kubelet: '1.31.2', kubeProxy: '1.27.0' }]);
    assert.deepEqual(
      found.map((v) => `${v.component}:${v.problem}`),
      ['kube-proxy:too-old', 'kube-proxy:too-far-from-kubelet'],
    );
  });

  it('checks control-plane components against the oldest API server', () => {
    const found = skewViolations(
      {
        apiservers: ['1.30.5', '1.31.2'],
        controllerManagers: ['1.31.2'],
        schedulers: ['1.28.0'],
        cloudControllerManagers: ['1.30.5'],
      },
      [{ name: 'w', kubelet: '1.30.5' }],
    );
    assert.deepEqual(
      found.map((v) => ({ component: v.component, problem: v.problem, apiserver: v.apiserver })),
      [
        { component: 'kube-controller-manager', problem: 'newer-than-apiserver', apiserver: '1.30.5' },
        { component: 'kube-scheduler', problem: 'too-old', apiserver: '1.30.5' },
      ],
    );
  });

  it('reports API servers more than one minor apart', () => {
    const found = skewViolations({ apiservers: ['1.29.5', '1.31.2'] }, []);
    assert.equal(found.length, 1);
    assert.equal(found[0]?.problem, 'apiserver-spread');
    assert.equal(found[0]?.message, 'kube-apiserver instances 1.29.5 and 1.31.2 are more than 1 minor apart');
  });
});
