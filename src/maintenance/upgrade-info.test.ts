import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCatalog } from '../versions/catalog-validate.ts';
import { testCatalog } from '../versions/test-catalog.ts';
import type { AutoUpgradePolicy } from './auto-upgrade.ts';
import { chooseImage, chooseKubernetes, DEFAULT_POLICY, parsePolicy } from './auto-upgrade.ts';
import { MaintenanceError } from './errors.ts';
import type { MaintenanceSchedule } from './schedule.ts';
import { EMPTY_SCHEDULE, parseSchedule } from './schedule.ts';
import type { UpgradeInformationInput } from './upgrade-info.ts';
import { upgradeInformation } from './upgrade-info.ts';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The test catalog (1.30-1.32 released, 1.33 only a release candidate) with an image. */
const catalog = loadCatalog({
  ...testCatalog(),
  machineImages: [
    {
      name: 'ubuntu',
      confidence: 'estimated',
      versions: [
        { version: '22.04.3', releaseDate: '2024-01-01', expiresAt: '2025-06-01' },
        { version: '22.04.4', releaseDate: '2025-02-01' },
        { version: '22.04.5', releaseDate: '2025-05-01' },
        { version: '24.04.1', releaseDate: '2025-06-01' },
        { version: '24.10.1', releaseDate: '2026-01-01' },
      ],
    },
  ],
});
const policy = (p: Partial<AutoUpgradePolicy>): AutoUpgradePolicy => ({ ...DEFAULT_POLICY, ...p });
const SEPT = t('2025-09-20T12:00:00Z'); // 1.32.0 is 72 days old; 1.33 is only a release candidate

describe('Kubernetes auto-upgrade channels', () => {
  const to = (current: string, p: Partial<AutoUpgradePolicy>, now = SEPT): string | undefined => {
    const c = chooseKubernetes(catalog, policy(p), current, now);
    return c.action === 'upgrade' ? `${c.to} (${c.trigger})` : undefined;
  };

  it('patch: the latest patch of the minor the cluster runs', () => {
    assert.equal(to('1.31.0', { kubernetes: 'patch' }), '1.31.1 (patch)');
    assert.equal(to('1.31.1', { kubernetes: 'patch' }), undefined);
  });

  it('rapid: one minor per run toward the newest released minor, never a preview', () => {
    assert.equal(to('1.30.0', { kubernetes: 'rapid' }), '1.31.1 (rapid)');
    assert.equal(to('1.31.1', { kubernetes: 'rapid' }), '1.32.2 (rapid)');
    assert.equal(to('1.32.2', { kubernetes: 'rapid' }), undefined, '1.33.0-rc.1 is a preview');
  });

  it("stable: only a minor whose .0 is old enough; the cluster's own patches meanwhile", () => {
    assert.equal(to('1.31.0', { kubernetes: 'stable', stableMinAgeDays: 90 }), '1.31.1 (stable)');
    assert.equal(to('1.31.1', { kubernetes: 'stable', stableMinAgeDays: 90 }), undefined);
    assert.equal(to('1.31.1', { kubernetes: 'stable', stableMinAgeDays: 72 }), '1.32.2 (stable)');
    assert.equal(
      to('1.31.1', { kubernetes: 'stable', stableMinAgeDays: 90 }, t('2025-10-08T00:00:00Z')),
      '1.32.2 (stable)',
    );
  });

  it('an expired minor moves to the latest patch of the next minor even with auto-upgrade off, hop by hop', () => {
    const feb = t('2026-02-15T00:00:00Z'); // 1.30 ended 2026-01-31
    const c = chooseKubernetes(catalog, DEFAULT_POLICY, '1.30.0', feb);
    assert.equal(c.action, 'upgrade');
    assert.equal(c.action === 'upgrade' && `${c.to} ${c.trigger} minor=${c.minor}`, '1.31.1 expired minor=true');
    assert.match(c.message, /1\.30 is past its end of support \(2026-01-31\).*1\.31\.1.*even with auto-upgrade off/);
    // Two minors behind: one hop now, the next once it is on 1.31.
    assert.equal(to('1.30.2', {}, t('2026-05-15T00:00:00Z')), '1.31.1 (expired)');
    assert.equal(to('1.31.1', {}, t('2026-05-15T00:00:00Z')), '1.32.2 (expired)');
    assert.equal(to('1.31.1', {}, feb), undefined, 'supported: nothing under none');
  });

  it('refuses a malformed policy naming the field', () => {
    assert.deepEqual(parsePolicy({}), DEFAULT_POLICY);
    for (const [input, field] of [
      [{ kubernetes: 'fast' }, 'policy.kubernetes'],
      [{ images: 'latest' }, 'policy.images'],
      [{ stableMinAgeDays: -1 }, 'policy.stableMinAgeDays'],
    ] as const) {
      assert.throws(
        () => parsePolicy(input),
        (e: unknown) => e instanceof MaintenanceError && e.field === field,
        field,
      );
    }
  });
});

describe('machine image auto-upgrade', () => {
  const to = (version: string, images: AutoUpgradePolicy['images']): string | undefined => {
    const c = chooseImage(catalog, policy({ images }), 'ubuntu', version, SEPT);
    return c.action === 'upgrade' ? `${c.to} (${c.trigger})` : undefined;
  };

  it('moves within the scope of the policy, never to an unreleased version', () => {
    assert.equal(to('22.04.4', 'none'), undefined);
    assert.equal(to('22.04.4', 'patch'), '22.04.5 (patch)');
    assert.equal(to('22.04.4', 'minor'), '22.04.5 (minor)');
    assert.equal(to('22.04.4', 'major'), '24.04.1 (major)', '24.10.1 is not out yet');
  });

  it('moves an expired image to the newest usable version under any policy', () => {
    assert.equal(to('22.04.3', 'none'), '24.04.1 (expired)');
  });
});

describe('upgrade information', () => {
  // Saturdays 02:00-06:00 in Berlin.
  const saturdays: MaintenanceSchedule = parseSchedule({
    windows: [{ days: ['sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
    exclusions: [],
  });
  const base: UpgradeInformationInput = {
    cluster: 'shop',
    controlPlane: '1.31.0',
    pools: [{ name: 'default', version: '1.31.0', image: { name: 'ubuntu', version: '22.04.4' } }],
    apisInUse: [],
    policy: policy({ kubernetes: 'rapid', images: 'patch' }),
    schedule: saturdays,
    catalog,
    now: SEPT, // a Saturday, 14:00 in Berlin: after that day's window
  };

  it('names the next window, the targets and why', () => {
    const info = upgradeInformation(base);
    assert.equal(info.kubernetes.action === 'upgrade' && info.kubernetes.to, '1.32.2');
    assert.equal(info.run?.to, '1.32.2');
    assert.deepEqual(info.run?.images, { default: { image: 'ubuntu', from: '22.04.4', to: '22.04.5' } });
    assert.equal(iso(info.run?.next?.start), '2025-09-27T00:00:00.000Z');
    assert.equal(info.run?.openNow, null);
    assert.equal(info.controlPlane.endOfSupport, '2026-04-30');
    assert.ok(
      info.reasons.some((r) => r.includes('runs in the next window, 2025-09-27T00:00:00.000Z')),
      info.reasons.join('\n'),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(info)), info, 'plain JSON');
  });

  it('holds a minor upgrade while the cluster uses an API the target removes, naming the objects; patches still come', () => {
    const info = upgradeInformation({
      ...base,
      apisInUse: [{ apiVersion: 'example.k8s.io/v1beta1', kind: 'Widget', objects: ['shop/cart', 'shop/till'] }],
    });
    assert.deepEqual(info.kubernetes.heldBy, [
      {
        apiVersion: 'example.k8s.io/v1beta1',
        kind: 'Widget',
        removedIn: '1.32',
        replacement: 'example.k8s.io/v1',
        objects: ['shop/cart', 'shop/till'],
      },
    ]);
    assert.equal(info.run?.to, '1.31.1', 'the latest patch of 1.31 meanwhile');
    assert.equal(info.run?.kind.minor, false);
    assert.ok(
      info.reasons.some((r) =>
        /1\.32\.2 is held: .*example\.k8s\.io\/v1beta1 Widget \(removed in 1\.32: shop\/cart, shop\/till\).*migrate it to example\.k8s\.io\/v1/.test(
          r,
        ),
      ),
      info.reasons.join('\n'),
    );
  });

  it('holds the forced move off an expired minor on a removed API too, and says both', () => {
    const info = upgradeInformation({
      ...base,
      controlPlane: '1.31.1',
      policy: DEFAULT_POLICY,
      pools: [],
      apisInUse: [{ apiVersion: 'example.k8s.io/v1beta1', kind: 'Widget', objects: [] }],
      now: t('2026-05-15T00:00:00Z'),
    });
    assert.equal(info.controlPlane.classification, 'expired');
    assert.equal(info.kubernetes.action === 'upgrade' && info.kubernetes.trigger, 'expired');
    assert.equal(info.kubernetes.heldBy?.length, 1);
    assert.equal(info.run, null, 'no newer patch of 1.31: nothing runs');
  });

  it('an exclusion of the right scope holds the run and says until when', () => {
    const schedule = parseSchedule({
      windows: saturdays.windows,
      exclusions: [
        {
          name: 'freeze',
          start: '2025-09-26',
          end: '2025-10-05',
          scope: 'no-minor-upgrades',
          timeZone: 'Europe/Berlin',
        },
      ],
    });
    const inside = upgradeInformation({ ...base, schedule, now: t('2025-09-27T01:00:00Z') });
    assert.equal(inside.run?.openNow, null);
    assert.deepEqual(
      inside.run?.heldByExclusions.map((e) => e.name),
      ['freeze'],
    );
    assert.equal(iso(inside.run?.next?.start), '2025-10-11T00:00:00.000Z');
    assert.ok(inside.window.open, 'the window itself is open');
    // A patch-only policy is not held by a no-minor-upgrades exclusion.
    const patch = upgradeInformation({
      ...base,
      schedule,
      policy: policy({ kubernetes: 'patch' }),
      now: t('2025-09-27T01:00:00Z'),
    });
    assert.equal(patch.run?.to, '1.31.1');
    assert.equal(iso(patch.run?.openNow?.end), '2025-09-27T04:00:00.000Z');
  });

  it('moves pools left behind the control plane up to it, under any channel but none', () => {
    // A run moved the control plane to 1.31.1 (the patch channel's answer) and ended before the pool.
    const behind = { ...base, controlPlane: '1.31.1', pools: [{ name: 'default', version: '1.31.0' }] };
    const info = upgradeInformation({ ...behind, policy: policy({ kubernetes: 'patch' }) });
    assert.equal(info.kubernetes.action, 'none');
    assert.equal(info.run?.to, '1.31.1');
    assert.deepEqual(info.run?.kind, { minor: false, nodes: true });
    assert.ok(
      info.reasons.includes("pool default: runs 1.31.0, behind the control plane's 1.31.1: its nodes move to it"),
      info.reasons.join('\n'),
    );
    assert.equal(upgradeInformation({ ...behind, policy: DEFAULT_POLICY }).run, null, 'auto-upgrade off: left alone');
  });

  it('names the run that holds the cluster first: an automatic one paused between windows, or any other', () => {
    const paused = upgradeInformation({
      ...base,
      activeRun: {
        id: 'run-1',
        trigger: 'automatic',
        phase: 'paused',
        pauseMessage: 'the maintenance window ended; resumes when the next window opens, 2025-09-27T00:00:00.000Z',
      },
    });
    assert.equal(paused.activeRun?.id, 'run-1');
    assert.equal(
      paused.reasons[0],
      'run run-1 (automatic) is paused: the maintenance window ended; resumes when the next window opens, 2025-09-27T00:00:00.000Z',
    );
    const manual = upgradeInformation({
      ...base,
      activeRun: { id: 'run-2', trigger: 'manual', phase: 'upgrading-pools' },
    });
    assert.equal(manual.reasons[0], 'run run-2 (manual) is upgrading-pools: no automatic run starts beside it');
    assert.equal(upgradeInformation(base).activeRun, undefined);
  });

  it('without a window nothing starts, and it says so', () => {
    const info = upgradeInformation({ ...base, schedule: EMPTY_SCHEDULE });
    assert.equal(info.run?.next, null);
    assert.ok(info.reasons.includes('no maintenance window: automatic upgrades never start (set one)'));
  });
});
