import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalog } from './catalog.ts';
import { componentCompatibility } from './components.ts';

describe('componentCompatibility', () => {
  const catalog = defaultCatalog();

  it('finds the entry that covers the component version and checks the minor', () => {
    const ok = componentCompatibility(catalog, 'ingress-nginx', 'v1.9.4', '1.28');
    assert.equal(ok.status, 'compatible');
    const tooNew = componentCompatibility(catalog, 'ingress-nginx', 'v1.9.4', '1.29');
    assert.equal(tooNew.status, 'incompatible');
    assert.deepEqual(tooNew.status === 'incompatible' && tooNew.entry.kubernetes, { from: '1.25', to: '1.28' });
    assert.equal(componentCompatibility(catalog, 'ingress-nginx', 'v1.9.6', '1.29').status, 'compatible');
  });

  it('follows the skew policy for kube-proxy images', () => {
    assert.equal(componentCompatibility(catalog, 'kube-proxy', 'v1.25.16', '1.28').status, 'compatible');
    assert.equal(componentCompatibility(catalog, 'kube-proxy', 'v1.24.17', '1.27').status, 'incompatible');
    assert.equal(componentCompatibility(catalog, 'kube-proxy', 'v1.31.0', '1.30').status, 'incompatible');
  });

  it('flags CoreDNS versions that read EndpointSlice v1beta1 on 1.25 and later', () => {
    assert.equal(componentCompatibility(catalog, 'coredns', '1.8.0', '1.25').status, 'incompatible');
    assert.equal(componentCompatibility(catalog, 'coredns', 'v1.11.3', '1.32').status, 'compatible');
  });

  it('cannot say anything about versions or components it has no entry for', () => {
    assert.deepEqual(componentCompatibility(catalog, 'calico', 'v2.6.0', '1.30'), { status: 'unknown' });
    assert.deepEqual(componentCompatibility(catalog, 'weave', '2.8.1', '1.30'), { status: 'unknown' });
  });

  it('says how sure the entry is', () => {
    const verdict = componentCompatibility(catalog, 'cilium', '1.18.2', '1.33');
    assert.equal(verdict.status, 'compatible');
    assert.equal(verdict.status === 'compatible' && verdict.entry.confidence, 'documented');
  });
});
