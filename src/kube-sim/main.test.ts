import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withVersion } from './main.ts';
import { defaultDemoScenario } from './scenario/generate.ts';

describe('kube-sim start --version', () => {
  it("moves the demo's control plane and pools to the version, with the images named for it", () => {
    const demo = defaultDemoScenario();
    const moved = withVersion(
      { ...demo, pools: [...demo.pools, { ...demo.pools[0]!, name: 'pinned', machineImage: 'flatcar-4081' }] },
      '1.35.4',
    );
    assert.equal(moved.kubernetesVersion, '1.35.4');
    assert.equal(moved.controlPlane.machineImage, 'ubuntu-2204-kube-v1.35.4');
    assert.deepEqual(
      moved.pools.map((p) => [p.name, p.kubeletVersion, p.machineImage]),
      [
        ['general', '1.35.4', 'ubuntu-2204-kube-v1.35.4'],
        ['highmem', '1.35.4', 'ubuntu-2204-kube-v1.35.4'],
        ['pinned', '1.35.4', 'flatcar-4081'],
      ],
    );
  });
});
