import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, it } from 'node:test';
import { openSqliteStore } from '../../persistence/store.ts';
import { runMaintenanceCommand } from './maintenance.ts';
import { runRolloutCommand } from './rollouts.ts';

let dir: string;

function io(): { io: { stdout: PassThrough; stderr: PassThrough }; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => (o += d.toString()));
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  return { io: { stdout, stderr }, out: () => o, err: () => e };
}

async function kup(
  run: typeof runMaintenanceCommand,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const c = io();
  const code = await run([...args, '--data-dir', dir], c.io, () => Date.UTC(2026, 11, 7, 9));
  return { code, out: c.out(), err: c.err() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kup-cli-lifecycle-'));
  const store = openSqliteStore({ dataDir: dir });
  for (const name of ['dev-1', 'prod-1'])
    await store.clusters.add({
      name,
      kubeconfigPath: join(dir, `${name}.kubeconfig`),
      provider: 'sim',
      providerSettings: {},
      addedAt: 1,
    });
  await store.close();
});

describe('kup maintenance set', () => {
  it('saves windows, exclusions, a policy and labels; bad input exits 2 naming the field', async () => {
    const set = await kup(runMaintenanceCommand, [
      'set',
      'dev-1',
      '--window',
      'sat,sun 02:00 4h Europe/Berlin',
      '--exclusion',
      'freeze 2026-12-20 2027-01-06 no-minor-upgrades Europe/Berlin',
      '--kubernetes',
      'stable',
      '--stable-min-age',
      '14',
      '--images',
      'patch',
      '--label',
      'env=dev',
    ]);
    assert.equal(set.code, 0, set.err);
    const store = openSqliteStore({ dataDir: dir });
    const row = await store.lifecycle.get('dev-1');
    await store.close();
    assert.deepEqual(row?.labels, { env: 'dev' });
    assert.deepEqual(row?.policy, { kubernetes: 'stable', stableMinAgeDays: 14, images: 'patch' });
    assert.deepEqual(row?.schedule, {
      windows: [{ days: ['sun', 'sat'], start: '02:00', durationMinutes: 240, timeZone: 'Europe/Berlin' }],
      exclusions: [
        {
          name: 'freeze',
          start: '2026-12-20',
          end: '2027-01-06',
          scope: 'no-minor-upgrades',
          timeZone: 'Europe/Berlin',
        },
      ],
    });
    const bad = await kup(runMaintenanceCommand, ['set', 'dev-1', '--window', 'sat 2:00 4h UTC']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /KUP-MAINT-001: windows\[0\]\.start: "2:00" is not a time of day HH:MM/);
    const zone = await kup(runMaintenanceCommand, ['set', 'dev-1', '--window', 'sat 02:00 4h Mars/Olympus']);
    assert.equal(zone.code, 2);
    assert.match(zone.err, /windows\[0\]\.timeZone/);
    assert.equal((await kup(runMaintenanceCommand, ['set', 'nope', '--kubernetes', 'patch'])).code, 2);
  });
});

describe('kup rollout', () => {
  it('creates a rollout from a spec, lists and shows it, and takes the operator’s commands', async () => {
    const spec = join(dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'to-1-31',
        target: { to: '1.31.4' },
        stages: [
          { name: 'dev', clusters: { labels: { env: 'dev' } } },
          { name: 'prod', clusters: { names: ['prod-1'] }, approval: true },
        ],
      }),
    );
    const created = await kup(runRolloutCommand, ['create', '-f', spec]);
    assert.equal(created.code, 0, created.err);
    const id = /rollout (ro-\S+) created/.exec(created.out)?.[1] ?? '';
    assert.match(created.out, /> dev: baselining\n {6}dev-1: pending/);
    assert.match(created.out, /prod: pending, needs approval/);
    assert.match((await kup(runRolloutCommand, ['list'])).out, new RegExp(`${id}\\s+to-1-31\\s+running\\s+dev`));
    const refused = await kup(runRolloutCommand, ['approve', id, '--stage', 'qa']);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /--stage: qa is not a stage of rollout .* \(dev, prod\)/);
    assert.equal((await kup(runRolloutCommand, ['approve', id, '--stage', 'prod', '--by', 'alice'])).code, 0);
    assert.match((await kup(runRolloutCommand, ['pause', id, '--message', 'incident'])).out, /paused: incident/);
    assert.equal((await kup(runRolloutCommand, ['pause', 'ro-none'])).code, 1);
    assert.match((await kup(runRolloutCommand, ['resume', id])).out, /: running/);
    const shown = await kup(runRolloutCommand, ['show', id]);
    assert.match(shown.out, /approved by alice/);
    assert.match(shown.out, /stage prod approved by alice/);
    assert.match((await kup(runRolloutCommand, ['cancel', id])).out, /: cancelled/);
    assert.equal(
      (await kup(runRolloutCommand, ['resume', id])).code,
      1,
      'a cancelled rollout does not resume (conflict)',
    );
  });
});
