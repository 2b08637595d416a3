/**
 * Exit codes of failed commands, through `main` as the `kup` binary runs it: 2 for bad input, 1 for everything else,
 * and the error's message without a stack trace, since each of these is a kup error and says what went wrong.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';

async function kup(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _e, cb) => (append(chunk.toString()), cb()) });
  const code = await main(args, { stdout: sink(() => undefined), stderr: sink((s) => (stderr += s)) });
  return { code, stderr };
}

describe('kup exit codes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kup-exit-'));
  const cases: { args: string[]; code: number; stderr: RegExp }[] = [
    { args: ['frobnicate'], code: 2, stderr: /^kup: unknown command "frobnicate"/ },
    { args: ['versions', '-o', 'yaml'], code: 2, stderr: /^kup: -o: "yaml" is not one of table, json/ },
    { args: ['plan'], code: 2, stderr: /^kup: kup plan needs a CLUSTER/ },
    { args: ['drain'], code: 2, stderr: /^kup drain: a node name is required/ },
    { args: ['precheck', '--to', '1.31.0'], code: 2, stderr: /^kup precheck: --kubeconfig FILE is required/ },
    {
      args: ['cluster', 'add', 'x', '--data-dir', dataDir],
      code: 2,
      stderr: /^kup cluster: --kubeconfig FILE is required/,
    },
    {
      args: ['catalog', 'update', '--from', join(dataDir, 'missing.json'), '--data-dir', dataDir],
      code: 2,
      stderr: /^kup: KUP-CATALOG-010: .*missing\.json: cannot read: ENOENT/,
    },
    { args: ['status', 'prod', '--data-dir', dataDir], code: 2, stderr: /^kup: no run for cluster "prod"/ },
    { args: ['sim', 'start'], code: 2, stderr: /^kup: --kubeconfig OUT is required/ },
    {
      args: ['pause', 'run-nope', '--data-dir', dataDir],
      code: 1,
      stderr: /^kup: KUP-RUN-404: run run-nope does not exist/,
    },
    {
      args: ['plan', 'prod', '--to', '1.31.0', '--data-dir', dataDir],
      code: 1,
      stderr: /^kup: KUP-RUN-012: cluster "prod" is not registered/,
    },
    {
      args: ['cluster', 'remove', 'prod', '--data-dir', dataDir],
      code: 1,
      stderr: /^kup cluster: KUP-REGISTRY-006: no cluster named prod is registered/,
    },
    {
      args: ['versions', '--kubeconfig', join(dataDir, 'missing')],
      code: 1,
      stderr: /^kup: KUP-CLUSTER-001: cannot read kubeconfig/,
    },
  ];
  for (const { args, code, stderr } of cases) {
    it(`kup ${args.filter((a) => !a.startsWith(dataDir)).join(' ')}: exit ${code}`, async () => {
      const res = await kup(args);
      assert.equal(res.code, code, res.stderr);
      assert.match(res.stderr, stderr);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace for a kup error');
    });
  }
});
