/**
 * `kup drain`'s command line: kubectl's flags and defaults, Go durations, usage errors that name the flag (exit 2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DrainUsageError, parseDrainArgs, parseGoDuration, runDrainCommand } from '../../src/cli/commands/drain.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    out,
    err,
  };
}

describe('parseGoDuration', () => {
  it('reads Go durations as kubectl --timeout does', () => {
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('0s'), 0);
    assert.equal(parseGoDuration('90s'), 90_000);
    assert.equal(parseGoDuration('2m'), 120_000);
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.equal(parseGoDuration('250ms'), 250);
  });
  it('refuses what Go refuses, naming the flag', () => {
    for (const bad of ['', '90', '2 m', 'm', '1d', '-5s']) {
      assert.throws(
        () => parseGoDuration(bad),
        (e: unknown) => e instanceof DrainUsageError && e.flag === '--timeout',
        bad,
      );
    }
  });
});

describe('parseDrainArgs', () => {
  it("has kubectl's defaults", () => {
    const c = parseDrainArgs(['workers-1']);
    assert.notEqual(c, 'help');
    if (c === 'help') return;
    assert.equal(c.node, 'workers-1');
    assert.deepEqual(c.options, {
      ignoreDaemonSets: false,
      deleteEmptyDirData: false,
      force: false,
      gracePeriodSeconds: -1,
      timeoutMs: 0,
      podSelector: '',
      disableEviction: false,
      dryRun: 'none',
      skipWaitForDeleteTimeoutSeconds: 0,
      chunkSize: 500,
      concurrency: 50,
    });
    assert.equal(c.qps, 100);
    assert.equal(c.burst, 200);
  });
  it('--implicit-budget off turns the implicit budget off (on by default: no option); anything else is refused', () => {
    const c = parseDrainArgs(['workers-1', '--implicit-budget', 'off']);
    assert.ok(c !== 'help');
    assert.equal(c.options.implicitBudget, false);
    const on = parseDrainArgs(['workers-1', '--implicit-budget=on']);
    assert.ok(on !== 'help');
    assert.equal(on.options.implicitBudget, undefined);
    assert.throws(
      () => parseDrainArgs(['workers-1', '--implicit-budget', 'no']),
      (e: unknown) => e instanceof DrainUsageError && e.flag === '--implicit-budget',
    );
  });

  it('reads every kubectl flag, in both --flag=value and --flag value forms', () => {
    const c = parseDrainArgs([
      'n1',
      '--kubeconfig',
      '/tmp/k',
      '--context=prod',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--force=true',
      '--grace-period=-1',
      '--timeout',
      '2m',
      '--pod-selector=app=web',
      '--disable-eviction=false',
      '--dry-run=server',
      '--skip-wait-for-delete-timeout=30',
      '--qps=20',
      '--burst',
      '40',
      '--concurrency=8',
    ]);
    if (c === 'help') throw new Error('unexpected help');
    assert.equal(c.kubeconfigPath, '/tmp/k');
    assert.equal(c.context, 'prod');
    assert.equal(c.options.ignoreDaemonSets, true);
    assert.equal(c.options.deleteEmptyDirData, true);
    assert.equal(c.options.force, true);
    assert.equal(c.options.gracePeriodSeconds, -1);
    assert.equal(c.options.timeoutMs, 120_000);
    assert.equal(c.options.podSelector, 'app=web');
    assert.equal(c.options.disableEviction, false);
    assert.equal(c.options.dryRun, 'server');
    assert.equal(c.options.skipWaitForDeleteTimeoutSeconds, 30);
    assert.equal(c.qps, 20);
    assert.equal(c.burst, 40);
    assert.equal(c.options.concurrency, 8);
  });

  it('takes the deprecated --delete-local-data as --delete-emptydir-data', () => {
    const c = parseDrainArgs(['n1', '--delete-local-data']);
    assert.ok(c !== 'help' && c.options.deleteEmptyDirData);
  });

  it('usage errors name the flag', () => {
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [[], undefined, /node name is required/],
      [['a', 'b'], undefined, /one node at a time/],
      [['n', '--dry-run=maybe'], '--dry-run', /must be "none", "server", or "client"/],
      [['n', '--grace-period=soon'], '--grace-period', /expected an integer/],
      [['n', '--timeout=5'], '--timeout', /duration/],
      [['n', '--pod-selector=app=we b'], '--pod-selector', /must be a valid label selector/],
      [['n', '--bogus'], '--bogus', /Unknown option '--bogus'/],
      [['n', '--qps=0'], '--qps', /at least 1/],
    ];
    for (const [args, flag, message] of cases) {
      assert.throws(
        () => parseDrainArgs(args),
        (e: unknown) => e instanceof DrainUsageError && e.flag === flag && message.test(e.message),
        args.join(' '),
      );
    }
  });
});

describe('runDrainCommand input errors', () => {
  it('exits 2 and prints the usage for bad flags, without touching a cluster', async () => {
    const c = capture();
    assert.equal(await runDrainCommand(['n1', '--timeout=forever'], c.io), 2);
    assert.match(c.err.join(''), /kup drain: invalid argument "forever" for "--timeout" flag/);
    assert.match(c.err.join(''), /Usage: kup drain NODE/);
  });

  it('exits 2 for a kubeconfig that cannot be read', async () => {
    const c = capture();
    assert.equal(await runDrainCommand(['n1', '--kubeconfig', '/nonexistent/kubeconfig'], c.io), 2);
    assert.match(c.err.join(''), /KUP-CLUSTER-001/);
  });

  it('--help prints the usage and exits 0', async () => {
    const c = capture();
    assert.equal(await runDrainCommand(['--help'], c.io), 0);
    assert.match(c.out.join(''), /--ignore-daemonsets/);
  });
});
