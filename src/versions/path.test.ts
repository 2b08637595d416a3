import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalog } from './catalog.ts';
import { UpgradePathError, VersionParseError } from './errors.ts';
import { planUpgradePath } from './path.ts';
import type { PathNote, PlanPathInput, PlanPathOptions, UpgradePath } from './path-types.ts';
import { testCatalog } from './test-catalog.ts';

const real = defaultCatalog();
const at = (iso: string): Date => new Date(iso);
/** 2025-01-10: 1.28 has ended, 1.29 is in maintenance, latest patches 1.29.12, 1.30.8, 1.31.4. */
const jan2025 = at('2025-01-10T12:00:00Z');

function refuses(
  run: () => UpgradePath,
  code: string,
  message: string,
  check: (err: UpgradePathError) => void = () => undefined,
): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof UpgradePathError, `expected UpgradePathError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    check(err);
    return true;
  });
}

function notesOf<K extends PathNote['kind']>(path: UpgradePath, kind: K): Extract<PathNote, { kind: K }>[] {
  return path.notes.filter((n): n is Extract<PathNote, { kind: K }> => n.kind === kind);
}

describe('planUpgradePath: control plane goes minor by minor', () => {
  const input: PlanPathInput = {
    controlPlane: 'v1.28.15',
    pools: [
      { name: 'general', kubelet: 'v1.28.15' },
      { name: 'gpu', kubelet: 'v1.28.15-eks-abc123' },
    ],
    target: '1.31.4',
  };

  it('passes through the latest patch of every minor in between; workers follow each hop when asked', () => {
    const path = planUpgradePath(input, real, { now: jan2025, workerStrategy: 'follow' });
    assert.equal(path.kind, 'upgrade');
    assert.equal(path.from, '1.28.15');
    assert.equal(path.to, '1.31.4');
    assert.equal(path.workerStrategy, 'follow');
    assert.deepEqual(path.steps, [
      { kind: 'control-plane', from: '1.28.15', to: '1.29.12' },
      { kind: 'pool', pool: 'general', from: '1.28.15', to: '1.29.12', reason: 'follow' },
      { kind: 'pool', pool: 'gpu', from: '1.28.15', to: '1.29.12', reason: 'follow' },
      { kind: 'control-plane', from: '1.29.12', to: '1.30.8' },
      { kind: 'pool', pool: 'general', from: '1.29.12', to: '1.30.8', reason: 'follow' },
      { kind: 'pool', pool: 'gpu', from: '1.29.12', to: '1.30.8', reason: 'follow' },
      { kind: 'control-plane', from: '1.30.8', to: '1.31.4' },
      { kind: 'pool', pool: 'general', from: '1.30.8', to: '1.31.4', reason: 'target' },
      { kind: 'pool', pool: 'gpu', from: '1.30.8', to: '1.31.4', reason: 'target' },
    ]);
    assert.deepEqual(notesOf(path, 'workers-skip-hops'), []);
  });

  it('carries the upgrade notes and removed APIs of every minor crossed', () => {
    const path = planUpgradePath(input, real, { now: jan2025 });
    const notes = notesOf(path, 'upgrade-notes');
    assert.deepEqual(
      notes.map((n) => n.minor),
      ['1.29', '1.30', '1.31'],
    );
    assert.equal(
      notes[0]?.releaseNotes,
      'https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.29.md',
    );
    assert.deepEqual(
      notes[0]?.removedApis.map((a) => `${a.group}/${a.version} ${a.kind}`),
      [
        'flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema',
        'flowcontrol.apiserver.k8s.io/v1beta2 PriorityLevelConfiguration',
      ],
    );
    assert.deepEqual(notes[1]?.removedApis, []);
    assert.ok(notes.every((n) => n.notes.length > 0));
  });

  it('by default (minimal workers), moves pools once at the end and says which hops they skip', () => {
    const path = planUpgradePath(input, real, { now: jan2025 });
    assert.equal(path.workerStrategy, 'minimal');
    assert.deepEqual(path.steps, [
      { kind: 'control-plane', from: '1.28.15', to: '1.29.12' },
      { kind: 'control-plane', from: '1.29.12', to: '1.30.8' },
      { kind: 'control-plane', from: '1.30.8', to: '1.31.4' },
      { kind: 'pool', pool: 'general', from: '1.28.15', to: '1.31.4', reason: 'target' },
      { kind: 'pool', pool: 'gpu', from: '1.28.15', to: '1.31.4', reason: 'target' },
    ]);
    const skips = notesOf(path, 'workers-skip-hops');
    assert.deepEqual(
      skips.map(({ pool, skipped, kubeletPath }) => ({ pool, skipped, kubeletPath })),
      [
        { pool: 'general', skipped: ['1.29.12', '1.30.8'], kubeletPath: ['1.28.15', '1.31.4'] },
        { pool: 'gpu', skipped: ['1.29.12', '1.30.8'], kubeletPath: ['1.28.15', '1.31.4'] },
      ],
    );
    assert.equal(
      skips[0]?.message,
      'pool "general" skips control-plane hops 1.29.12, 1.30.8: its kubelet goes 1.28.15 -> 1.31.4 within the skew policy',
    );
  });

  it('applies the older two-minor skew while the API server is below 1.28', () => {
    // 2023-09-01: latest patches 1.25.13, 1.26.8, 1.27.5, 1.28.1.
    const path = planUpgradePath(
      { controlPlane: '1.24.17', pools: [{ name: 'w', kubelet: '1.24.17' }], target: '1.28.1' },
      real,
      { now: at('2023-09-01T12:00:00Z'), workerStrategy: 'minimal' },
    );
    assert.deepEqual(path.steps, [
      { kind: 'control-plane', from: '1.24.17', to: '1.25.13' },
      { kind: 'control-plane', from: '1.25.13', to: '1.26.8' },
      { kind: 'pool', pool: 'w', from: '1.24.17', to: '1.26.8', reason: 'skew' },
      { kind: 'control-plane', from: '1.26.8', to: '1.27.5' },
      { kind: 'control-plane', from: '1.27.5', to: '1.28.1' },
      { kind: 'pool', pool: 'w', from: '1.26.8', to: '1.28.1', reason: 'target' },
    ]);
    assert.deepEqual(
      notesOf(path, 'pool-moved-for-skew').map((n) => n.message),
      [
        'pool "w": kubelet 1.24.17 would be 3 minors behind 1.27.5 (1.27 allows 2), so it moves to 1.26.8 before that hop',
      ],
    );
    assert.deepEqual(
      notesOf(path, 'workers-skip-hops')[0]?.message,
      'pool "w" skips control-plane hops 1.25.13, 1.27.5: its kubelet goes 1.24.17 -> 1.26.8 -> 1.28.1 within the skew policy',
    );
  });
});

describe('planUpgradePath: kubelets three minors behind', () => {
  const input: PlanPathInput = {
    controlPlane: '1.30.8',
    pools: [
      { name: 'old', kubelet: '1.27.16' },
      { name: 'current', kubelet: '1.30.8' },
    ],
    target: '1.31.4',
  };

  for (const workerStrategy of ['minimal', 'follow'] as const) {
    it(`moves a pool that would fall four minors behind before the hop (${workerStrategy})`, () => {
      const path = planUpgradePath(input, real, { now: jan2025, workerStrategy });
      assert.deepEqual(path.steps, [
        { kind: 'pool', pool: 'old', from: '1.27.16', to: '1.30.8', reason: 'skew' },
        { kind: 'control-plane', from: '1.30.8', to: '1.31.4' },
        { kind: 'pool', pool: 'old', from: '1.30.8', to: '1.31.4', reason: 'target' },
        { kind: 'pool', pool: 'current', from: '1.30.8', to: '1.31.4', reason: 'target' },
      ]);
      assert.deepEqual(notesOf(path, 'pool-moved-for-skew'), [
        {
          kind: 'pool-moved-for-skew',
          pool: 'old',
          beforeHop: '1.31.4',
          message:
            'pool "old": kubelet 1.27.16 would be 4 minors behind 1.31.4 (1.31 allows 3), so it moves to 1.30.8 before that hop',
        },
      ]);
    });
  }

  it('brings back a pool that is already out of policy before anything else moves', () => {
    const path = planUpgradePath(
      { controlPlane: '1.31.2', pools: [{ name: 'stale', kubelet: '1.27.16' }], target: '1.31.4' },
      real,
      { now: jan2025 },
    );
    assert.deepEqual(path.steps, [
      { kind: 'pool', pool: 'stale', from: '1.27.16', to: '1.31.2', reason: 'skew' },
      { kind: 'control-plane', from: '1.31.2', to: '1.31.4' },
      { kind: 'pool', pool: 'stale', from: '1.31.2', to: '1.31.4', reason: 'target' },
    ]);
    assert.equal(
      notesOf(path, 'pool-out-of-skew')[0]?.message,
      'pool "stale": kubelet 1.27.16 is 4 minors behind the control plane 1.31.2, outside the skew policy; it moves to 1.31.2 first',
    );
  });
});

describe('planUpgradePath: patches, nothing to do, lagging workers', () => {
  it('upgrades a patch in one hop, with no minor notes', () => {
    const path = planUpgradePath(
      { controlPlane: '1.30.2', pools: [{ name: 'w', kubelet: '1.30.2' }], target: '1.30.8' },
      real,
      { now: jan2025 },
    );
    assert.deepEqual(path.steps, [
      { kind: 'control-plane', from: '1.30.2', to: '1.30.8' },
      { kind: 'pool', pool: 'w', from: '1.30.2', to: '1.30.8', reason: 'target' },
    ]);
    assert.deepEqual(path.notes, []);
  });

  it('returns nothing-to-do when control plane and pools are at the target, vendor suffixes aside', () => {
    const path = planUpgradePath(
      { controlPlane: 'v1.31.4-eks-abc', pools: [{ name: 'w', kubelet: 'v1.31.4-eks-def' }], target: 'v1.31.4' },
      real,
      { now: jan2025 },
    );
    assert.deepEqual(path, {
      kind: 'nothing-to-do',
      from: '1.31.4',
      to: '1.31.4',
      workerStrategy: 'minimal',
      steps: [],
      notes: [],
    });
  });

  it('moves only the lagging pools when the control plane is already at the target', () => {
    const path = planUpgradePath(
      {
        controlPlane: '1.31.4',
        pools: [
          { name: 'lag', kubelet: '1.29.12' },
          { name: 'done', kubelet: '1.31.4' },
        ],
        target: '1.31.4',
      },
      real,
      { now: jan2025 },
    );
    assert.equal(path.kind, 'upgrade');
    assert.deepEqual(path.steps, [{ kind: 'pool', pool: 'lag', from: '1.29.12', to: '1.31.4', reason: 'target' }]);
  });

  it('says when the target is near its end of support', () => {
    const path = planUpgradePath({ controlPlane: '1.29.10', pools: [], target: '1.29.12' }, real, { now: jan2025 });
    assert.deepEqual(notesOf(path, 'target-classification'), [
      {
        kind: 'target-classification',
        version: '1.29.12',
        classification: 'deprecated',
        message: 'target 1.29.12 is near its end of support',
      },
    ]);
  });

  it('moves an expired cluster toward support without allowExpired, and refuses an expired target off that way', () => {
    const now = at('2026-12-07T12:00:00Z');
    const toSupport = planUpgradePath({ controlPlane: '1.30.6', pools: [{ name: 'w', kubelet: '1.30.6' }], target: '1.35.9' }, real, { now });
    assert.deepEqual(
      toSupport.steps.filter((s) => s.kind === 'control-plane').map((s) => s.to),
      ['1.31.14', '1.32.13', '1.33.13', '1.34.12', '1.35.9'],
    );
    // An expired hop as the target: the latest patch of an expired minor between 1.30 and 1.35 is on the way.
    for (const target of ['1.30.14', '1.32.13', '1.34.12']) {
      const path = planUpgradePath({ controlPlane: '1.30.6', pools: [], target }, real, { now });
      assert.equal(path.kind, 'upgrade', target);
      assert.deepEqual(notesOf(path, 'target-classification').map((n) => n.message), [
        `target ${target} is past its end of support, but it is on the way from 1.30.6 toward a supported minor`,
      ]);
    }
    // Off the way: an older patch of an expired minor, and the one-patch-back downgrade.
    for (const target of ['1.31.2', '1.30.5']) {
      assert.throws(
        () => planUpgradePath({ controlPlane: '1.30.6', pools: [], target }, real, { now }),
        (err: unknown) => err instanceof UpgradePathError && err.code === 'KUP-PATH-005',
        target,
      );
      assert.notEqual(planUpgradePath({ controlPlane: '1.30.6', pools: [], target }, real, { now, allowExpired: true }).kind, 'nothing-to-do');
    }
  });

  it('notes control-plane hops through expired releases on the way to a supported target', () => {
    const path = planUpgradePath({ controlPlane: '1.32.13', pools: [], target: '1.35.5' }, real, {
      now: at('2026-11-15T12:00:00Z'),
    });
    assert.deepEqual(
      path.steps.map((s) => s.to),
      ['1.33.13', '1.34.12', '1.35.5'],
    );
    assert.deepEqual(
      notesOf(path, 'expired-hop').map((n) => n.version),
      ['1.33.13', '1.34.12'],
    );
  });

  it('is plain data that survives a JSON round trip', () => {
    const path = planUpgradePath(
      { controlPlane: '1.28.15', pools: [{ name: 'w', kubelet: '1.28.15' }], target: '1.31.4' },
      real,
      { now: jan2025, workerStrategy: 'minimal' },
    );
    assert.deepEqual(JSON.parse(JSON.stringify(path)), path);
  });
});

describe('planUpgradePath: pre-releases', () => {
  const catalog = testCatalog();
  const dec2025 = at('2025-12-01T00:00:00Z');
  const input: PlanPathInput = {
    controlPlane: '1.32.2',
    pools: [{ name: 'w', kubelet: '1.32.2' }],
    target: '1.33.0-rc.1',
  };

  it('refuses a release-candidate target unless previews are allowed', () => {
    refuses(
      () => planUpgradePath(input, catalog, { now: dec2025 }),
      'KUP-PATH-004',
      'KUP-PATH-004: target 1.33.0-rc.1 is a preview release; set allowPreview to use it',
    );
  });

  it('plans to a release candidate when allowed, and says so', () => {
    const path = planUpgradePath(input, catalog, { now: dec2025, allowPreview: true });
    assert.deepEqual(path.steps, [
      { kind: 'control-plane', from: '1.32.2', to: '1.33.0-rc.1' },
      { kind: 'pool', pool: 'w', from: '1.32.2', to: '1.33.0-rc.1', reason: 'target' },
    ]);
    assert.deepEqual(path.notes[0], {
      kind: 'target-classification',
      version: '1.33.0-rc.1',
      classification: 'preview',
      message: 'target 1.33.0-rc.1 is a preview release (allowed)',
    });
    assert.deepEqual(
      notesOf(path, 'upgrade-notes').map((n) => n.minor),
      ['1.33'],
    );
  });

  it('refuses a GA target released after now as a preview', () => {
    refuses(
      () =>
        planUpgradePath({ controlPlane: '1.35.4', pools: [], target: '1.36.0' }, real, {
          now: at('2026-04-20T00:00:00Z'),
        }),
      'KUP-PATH-004',
      'KUP-PATH-004: target 1.36.0 is a preview release; set allowPreview to use it',
    );
  });

  it('moves a cluster off a release candidate to the GA release', () => {
    const path = planUpgradePath(
      { controlPlane: 'v1.32.0-rc.1', pools: [{ name: 'w', kubelet: 'v1.32.0-rc.1+k3s1' }], target: '1.32.2' },
      catalog,
      { now: dec2025 },
    );
    assert.deepEqual(path.steps, [
      { kind: 'control-plane', from: '1.32.0-rc.1', to: '1.32.2' },
      { kind: 'pool', pool: 'w', from: '1.32.0-rc.1', to: '1.32.2', reason: 'target' },
    ]);
  });

  it('never passes through a release candidate on the way', () => {
    const path = planUpgradePath({ controlPlane: '1.31.1', pools: [], target: '1.32.2' }, catalog, { now: dec2025 });
    assert.deepEqual(path.steps, [{ kind: 'control-plane', from: '1.31.1', to: '1.32.2' }]);
    const twoMinors = planUpgradePath({ controlPlane: '1.30.2', pools: [], target: '1.32.2' }, catalog, {
      now: dec2025,
    });
    assert.deepEqual(
      twoMinors.steps.map((s) => s.to),
      ['1.31.1', '1.32.2'],
    );
  });
});

describe('planUpgradePath: downgrade', () => {
  const jan2023 = at('2023-01-01T00:00:00Z');

  it('goes back one patch of the same minor, nodes before the control plane', () => {
    const path = planUpgradePath(
      {
        controlPlane: '1.24.9',
        pools: [
          { name: 'a', kubelet: '1.24.9' },
          { name: 'b', kubelet: 'v1.23.17' },
        ],
        target: '1.24.8',
      },
      real,
      { now: jan2023 },
    );
    assert.equal(path.kind, 'downgrade');
    assert.deepEqual(path.steps, [
      { kind: 'pool', pool: 'a', from: '1.24.9', to: '1.24.8', reason: 'downgrade' },
      { kind: 'control-plane', from: '1.24.9', to: '1.24.8' },
    ]);
    assert.deepEqual(
      notesOf(path, 'pool-unchanged').map((n) => n.pool),
      ['b'],
    );
  });

  it('refuses a downgrade to another minor', () => {
    refuses(
      () => planUpgradePath({ controlPlane: '1.31.4', pools: [], target: '1.30.8' }, real, { now: jan2025 }),
      'KUP-PATH-002',
      'KUP-PATH-002: cannot downgrade 1.31.4 to 1.30.8: a downgrade stays within minor 1.31 and goes back one patch only',
      (err) => {
        assert.equal(err.from, '1.31.4');
        assert.equal(err.to, '1.30.8');
      },
    );
  });

  it('refuses a downgrade of more than one patch', () => {
    refuses(
      () => planUpgradePath({ controlPlane: '1.24.9', pools: [], target: '1.24.7' }, real, { now: jan2023 }),
      'KUP-PATH-003',
      'KUP-PATH-003: cannot downgrade 1.24.9 to 1.24.7: downgrade goes back one patch only; only 1.24.8 is allowed',
    );
  });

  it('refuses a downgrade from the first patch of a minor, or to a release candidate', () => {
    refuses(
      () =>
        planUpgradePath({ controlPlane: '1.32.0', pools: [], target: '1.32.0-rc.1' }, testCatalog(), {
          now: at('2025-12-01T00:00:00Z'),
          allowPreview: true,
        }),
      'KUP-PATH-003',
      'KUP-PATH-003: cannot downgrade 1.32.0 to 1.32.0-rc.1: downgrade goes back one patch only; 1.32.0 has no previous patch',
    );
  });
});

describe('planUpgradePath: refusals', () => {
  const ok: PlanPathInput = { controlPlane: '1.30.8', pools: [{ name: 'w', kubelet: '1.30.8' }], target: '1.31.4' };
  const options: PlanPathOptions = { now: jan2025 };

  it('refuses a target the catalog does not know', () => {
    refuses(
      () => planUpgradePath({ ...ok, target: '1.31.99' }, real, options),
      'KUP-PATH-001',
      'KUP-PATH-001: target 1.31.99 is not in the catalog',
    );
  });

  it('refuses a control-plane version the catalog does not know', () => {
    refuses(
      () => planUpgradePath({ ...ok, controlPlane: 'v1.23.17' }, real, options),
      'KUP-PATH-001',
      'KUP-PATH-001: control-plane version 1.23.17 is not in the catalog',
    );
  });

  it('refuses versions it cannot read, keeping the parse error as cause', () => {
    refuses(
      () => planUpgradePath({ ...ok, target: 'latest' }, real, options),
      'KUP-PATH-001',
      'KUP-PATH-001: target "latest" is not a Kubernetes version',
      (err) => {
        assert.ok(err.cause instanceof VersionParseError);
      },
    );
    refuses(
      () => planUpgradePath({ ...ok, target: '1.31.4-eks-abc' }, real, options),
      'KUP-PATH-001',
      'KUP-PATH-001: target "1.31.4-eks-abc" is not a Kubernetes version',
    );
    refuses(
      () => planUpgradePath({ ...ok, controlPlane: 'n/a' }, real, options),
      'KUP-PATH-001',
      'KUP-PATH-001: control-plane version "n/a" is not a Kubernetes version',
    );
  });

  it('refuses an expired target unless expired targets are allowed', () => {
    const nov2026 = at('2026-11-15T12:00:00Z');
    const input = { controlPlane: '1.33.5', pools: [], target: '1.34.8' };
    refuses(
      () => planUpgradePath(input, real, { now: nov2026 }),
      'KUP-PATH-005',
      'KUP-PATH-005: target 1.34.8 is past its end of support; set allowExpired to use it',
    );
    const path = planUpgradePath(input, real, { now: nov2026, allowExpired: true });
    assert.deepEqual(path.steps, [{ kind: 'control-plane', from: '1.33.5', to: '1.34.8' }]);
    assert.equal(path.notes[0]?.message, 'target 1.34.8 is past its end of support (allowed)');
  });

  it('refuses to skip a minor that has no release in the catalog', () => {
    refuses(
      () =>
        planUpgradePath(
          { controlPlane: '1.30.2', pools: [], target: '1.32.2' },
          testCatalog({ withoutReleasesOf: ['1.31'] }),
          { now: at('2025-12-01T00:00:00Z') },
        ),
      'KUP-PATH-006',
      'KUP-PATH-006: cannot go from 1.30.2 to 1.32.2: minor 1.31 has no released GA version in the catalog and the control plane cannot skip a minor',
    );
  });

  it('refuses a cluster whose kubelet is newer than its control plane', () => {
    refuses(
      () => planUpgradePath({ ...ok, pools: [{ name: 'ahead', kubelet: 'v1.31.0' }] }, real, options),
      'KUP-PATH-007',
      'KUP-PATH-007: pool "ahead": kubelet 1.31.0 is newer than the control plane 1.30.8; the skew policy never allows that, fix the pool before planning',
      (err) => assert.equal(err.pool, 'ahead'),
    );
  });

  it('refuses a pool whose kubelet version cannot be read', () => {
    refuses(
      () => planUpgradePath({ ...ok, pools: [{ name: 'x', kubelet: 'unknown' }] }, real, options),
      'KUP-PATH-008',
      'KUP-PATH-008: pool "x": kubelet version "unknown" is not a Kubernetes version',
      (err) => {
        assert.equal(err.pool, 'x');
        assert.ok(err.cause instanceof VersionParseError);
      },
    );
  });

  it('refuses two pools with one name', () => {
    refuses(
      () =>
        planUpgradePath(
          {
            ...ok,
            pools: [
              { name: 'w', kubelet: '1.30.8' },
              { name: 'w', kubelet: '1.30.8' },
            ],
          },
          real,
          options,
        ),
      'KUP-PATH-009',
      'KUP-PATH-009: two worker pools are named "w"',
    );
  });
});
