import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scenarioFromObject } from '../kube-sim/scenario/parse.ts';
import { DemoFleetError } from './errors.ts';
import { atRecordedVersions, readFleetState, versionsOfTopology, writeFleetState } from './fleet-state.ts';

const node = (kubeletVersion: string) => ({
  name: `n-${kubeletVersion}`,
  kubeletVersion,
  machineImage: `img-${kubeletVersion}`,
});

describe('demo fleet state', () => {
  it('records a half-upgraded pool at its oldest node, and the control plane at its oldest node', () => {
    const versions = versionsOfTopology({
      kubernetesVersion: '1.35.9',
      controlPlane: [node('1.36.5'), node('1.35.9')],
      pools: [
        {
          name: 'general',
          kubeletVersion: '1.36.5',
          machineImage: 'img-1.36.5',
          nodes: [node('1.36.5'), node('1.35.9'), node('1.36.5')],
        },
        { name: 'empty', kubeletVersion: '1.36.5', machineImage: 'img-1.36.5', nodes: [] },
      ],
    });
    assert.deepEqual(versions, {
      kubernetesVersion: '1.35.9',
      controlPlaneImage: 'img-1.35.9',
      pools: {
        general: { kubeletVersion: '1.35.9', machineImage: 'img-1.35.9' },
        empty: { kubeletVersion: '1.36.5', machineImage: 'img-1.36.5' },
      },
    });
  });

  it('rebuilds a scenario at recorded versions, keeping pools the record does not name', () => {
    const scenario = scenarioFromObject({
      name: 'dev',
      kubernetesVersion: '1.35.9',
      pools: [
        { name: 'a', nodes: 1 },
        { name: 'b', nodes: 2 },
      ],
    });
    const rebuilt = atRecordedVersions(scenario, {
      kubernetesVersion: '1.36.5',
      controlPlaneImage: 'cp-img',
      pools: { a: { kubeletVersion: '1.36.5', machineImage: 'a-img' } },
    });
    assert.equal(rebuilt.kubernetesVersion, '1.36.5');
    assert.equal(rebuilt.controlPlane.machineImage, 'cp-img');
    assert.deepEqual(
      rebuilt.pools.map((p) => `${p.name}:${p.kubeletVersion}:${p.machineImage}:${p.nodes}`),
      ['a:1.36.5:a-img:1', `b:1.35.9:${scenario.pools[1]?.machineImage}:2`],
    );
  });

  it('round-trips through its file (0600), reads a missing file as an empty fleet, and names a broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kup-fleet-state-'));
    const path = join(dir, 'fleet.json');
    assert.deepEqual(readFleetState(path), { clusters: {} });
    const state = {
      clusters: {
        dev: {
          port: 4321,
          token: 't',
          versions: {
            kubernetesVersion: '1.36.5',
            controlPlaneImage: 'i',
            pools: { w: { kubeletVersion: '1.36.5', machineImage: 'i' } },
          },
        },
      },
    };
    writeFleetState(path, state);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readFleetState(path), state);
    writeFileSync(path, '{"format":1,"clusters":{"dev":{"port":"x"}}}');
    assert.throws(
      () => readFleetState(path),
      (err: unknown) => {
        assert.ok(err instanceof DemoFleetError);
        assert.equal(err.code, 'KUP-DEMO-002');
        assert.match(err.message, /clusters\.dev\.versions: not an object.*remove it to start the fleet anew/);
        return true;
      },
    );
  });
});
