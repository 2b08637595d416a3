// The console's pure parts: the fleet's search, filters and sort, and the run timeline read off engine events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSummary, RunEvent } from '../../console/src/api/types.ts';
import { DEFAULT_QUERY, applyQuery, compareVersions } from '../../console/src/pages/fleet-filter.ts';
import { availabilitySeries } from '../../console/src/availability.ts';
import { nodeStates, timeline } from '../../console/src/run-timeline.ts';

function cluster(name: string, version: string, extra: Partial<ClusterSummary> = {}): ClusterSummary {
  return {
    name,
    provider: 'sim',
    server: null,
    version,
    classification: 'supported',
    endOfSupport: null,
    releaseNotes: null,
    upgradeNotes: [],
    health: 'healthy',
    healthMessage: null,
    pools: [],
    availableUpgrades: [],
    activeRun: null,
    ...extra,
  };
}

describe('fleet query', () => {
  const fleet = [
    cluster('prod', '1.30.2', { availableUpgrades: ['1.31.0'], endOfSupport: '2027-06-28' }),
    cluster('dev', '1.9.0', { classification: 'expired', health: 'unreachable', endOfSupport: '2025-01-01' }),
    cluster('staging', '1.10.1', { activeRun: { id: 'r1', phase: 'upgrading-pools', percent: 40 } }),
    cluster('edge', '1.30.2', {
      pools: [{ name: 'p', kubeletVersions: ['1.30.2'], image: 'a', imageUpgrade: 'b', nodes: 1 }],
    }),
  ];

  it('compares versions as numbers, not text', () => {
    assert.ok(compareVersions('1.10.1', '1.9.0') > 0);
    assert.ok(compareVersions('v1.30.2', '1.30.10') < 0);
    assert.equal(compareVersions('1.30.2', '1.30.2'), 0);
  });

  it('sorts by version numerically, then by name, and reverses', () => {
    const up = applyQuery(fleet, { ...DEFAULT_QUERY, sort: 'version' }).map((c) => c.name);
    assert.deepEqual(up, ['dev', 'staging', 'edge', 'prod']);
    const down = applyQuery(fleet, { ...DEFAULT_QUERY, sort: 'version', descending: true }).map((c) => c.name);
    assert.deepEqual(down, ['prod', 'edge', 'staging', 'dev']);
  });

  it('filters by search, classification, health and what can be upgraded or is running', () => {
    const names = (q: Partial<typeof DEFAULT_QUERY>) =>
      applyQuery(fleet, { ...DEFAULT_QUERY, ...q }).map((c) => c.name);
    assert.deepEqual(names({ search: 'PRO' }), ['prod']);
    assert.deepEqual(names({ search: '1.30' }), ['edge', 'prod']);
    assert.deepEqual(names({ classification: 'expired' }), ['dev']);
    assert.deepEqual(names({ health: 'unreachable' }), ['dev']);
    assert.deepEqual(names({ only: 'upgradable' }), ['edge', 'prod'], 'a pool image upgrade counts');
    assert.deepEqual(names({ only: 'running' }), ['staging']);
    assert.deepEqual(names({ sort: 'end-of-support' }), ['dev', 'prod', 'edge', 'staging'], 'unknown dates last');
  });
});

describe('run timeline', () => {
  let id = 0;
  const ev = (at: number, node: string, action: string, outcome: string): RunEvent => ({
    id: ++id,
    runId: 'r1',
    at,
    step: `pool/app/${node}`,
    node,
    outcome,
    message: `${action} ${outcome}`,
    data: { action },
  });

  it('pairs each action start with its end per node; an unfinished one runs on', () => {
    const events = [
      { id: ++id, runId: 'r1', at: 0, step: 'run', outcome: 'created', message: 'created' },
      ev(10, 'n1', 'cordon', 'started'),
      ev(11, 'n1', 'cordon', 'succeeded'),
      ev(11, 'n1', 'drain', 'started'),
      ev(12, 'n2', 'cordon', 'started'),
      ev(15, 'n1', 'drain', 'retrying'),
      ev(20, 'n1', 'drain', 'failed'),
      ev(21, 'n2', 'cordon', 'succeeded'),
      ev(22, 'n2', 'drain', 'started'),
    ];
    assert.deepEqual(timeline(events), [
      { node: 'n1', action: 'cordon', start: 10, end: 11, outcome: 'succeeded' },
      { node: 'n1', action: 'drain', start: 11, end: 20, outcome: 'failed' },
      { node: 'n2', action: 'cordon', start: 12, end: 21, outcome: 'succeeded' },
      { node: 'n2', action: 'drain', start: 22, end: null, outcome: 'running' },
    ]);
  });

  it("draws an action that is logged only when it ends from the node's previous event", () => {
    const bars = timeline([
      { id: ++id, runId: 'r1', at: 100, step: 'pool/w/n1', node: 'n1', outcome: 'started', message: 'replacing n1' },
      ev(130, 'n1', 'replace-node', 'succeeded'),
      ev(150, 'n1', 'cordon', 'succeeded'),
      ev(400, 'n1', 'drain', 'failed'),
    ]);
    assert.deepEqual(
      bars.map((b) => [b.action, b.start, b.end, b.outcome]),
      [
        ['replace-node', 100, 130, 'succeeded'],
        ['cordon', 130, 150, 'succeeded'],
        ['drain', 150, 400, 'failed'],
      ],
    );
  });

  it("names each node's state as Rancher does: waiting nodes are absent, then cordoned, draining, replacing, done", () => {
    const states = nodeStates(
      timeline([
        ev(1, 'a', 'cordon', 'started'),
        ev(2, 'a', 'cordon', 'succeeded'),
        ev(3, 'b', 'cordon', 'started'),
        ev(4, 'b', 'cordon', 'succeeded'),
        ev(5, 'b', 'drain', 'started'),
        ev(6, 'c', 'replace-node', 'started'),
        ev(7, 'd', 'uncordon', 'started'),
        ev(8, 'd', 'uncordon', 'succeeded'),
        ev(9, 'e', 'replace-node', 'started'),
        ev(10, 'e', 'replace-node', 'succeeded'),
      ]),
    );
    assert.deepEqual(Object.fromEntries(states), {
      a: 'cordoned',
      b: 'draining',
      c: 'replacing',
      d: 'done',
      e: 'ready',
    });
  });
});

describe('availability', () => {
  function sample(id: number, at: number, pdbs: unknown): RunEvent {
    return { id, runId: 'r', at, step: 'availability', outcome: 'sampled', message: '', data: { pdbs } };
  }

  it("reads each PDB's healthy pods and floor off the samples, and counts the samples below the floor", () => {
    const events: RunEvent[] = [
      sample(1, 1000, [
        { pdb: 'shop/web', currentHealthy: 3, desiredHealthy: 2 },
        { pdb: 'app/api', currentHealthy: 2, desiredHealthy: 1 },
      ]),
      { id: 2, runId: 'r', at: 1500, step: 'pool/workers/batch-1', node: 'w-0', outcome: 'started', message: '' },
      sample(3, 2000, [{ pdb: 'shop/web', currentHealthy: 1, desiredHealthy: 2 }]),
      sample(4, 3000, 'not a list'),
    ];
    assert.deepEqual(availabilitySeries(events), [
      { pdb: 'app/api', healthy: [{ at: 1000, value: 2 }], floor: [{ at: 1000, value: 1 }], below: 0 },
      {
        pdb: 'shop/web',
        healthy: [
          { at: 1000, value: 3 },
          { at: 2000, value: 1 },
        ],
        floor: [
          { at: 1000, value: 2 },
          { at: 2000, value: 2 },
        ],
        below: 1,
      },
    ]);
  });
});
