/**
 * `kup sim start` as a user runs it: a process that serves until SIGINT/SIGTERM, writes a kubeconfig the real
 * kubectl can use, and refuses bad input with exit code 2 and a message naming the problem.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kubectlFor, ok } from '../helpers/kubectl.ts';

const KUP = join(import.meta.dirname, '..', '..', 'bin', 'kup.mjs');

function runKup(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KUP, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kup sim start', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`serves a cluster kubectl can use and stops cleanly on ${signal}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kup-sim-cli-'));
      const kubeconfig = join(dir, 'kubeconfig');
      const child = spawn(process.execPath, [KUP, 'sim', 'start', '--version', '1.31.4', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not ready in 30 s: ${out}`)), 30_000);
        child.stdout.on('data', () => {
          if (out.includes('serving https://127.0.0.1:')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const url = /serving (https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      assert.ok(url);
      assert.match(readFileSync(kubeconfig, 'utf8'), new RegExp(url.replace(/[.]/g, '\\.')));
      const kubectl = kubectlFor(readFileSync(kubeconfig, 'utf8'));
      assert.match(await ok(kubectl(['get', 'nodes'])), /control-plane-0\s+Ready\s+control-plane\s+\S+\s+v1\.31\.4/);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      assert.equal(await exited, 0);
      assert.match(out, new RegExp(`${signal}: stopping`));
      const after = await kubectl(['get', 'nodes', '--request-timeout=2s']);
      assert.notEqual(after.code, 0, 'the server is gone');
    });
  }

  it('refuses bad input with exit code 2 and names the problem', () => {
    const missing = runKup(['sim', 'start']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--kubeconfig OUT is required/);
    const version = runKup(['sim', 'start', '--version', '1.31', '--kubeconfig', '/tmp/x']);
    assert.equal(version.code, 2);
    assert.match(version.stderr, /--version: "1\.31" is not a Kubernetes version like 1\.30\.4/);
    const nodes = runKup(['sim', 'start', '--nodes', 'ten', '--kubeconfig', '/tmp/x']);
    assert.equal(nodes.code, 2);
    assert.match(nodes.stderr, /--nodes: must be a whole number from 1 to 20000, got "ten"/);
    const dir = mkdtempSync(join(tmpdir(), 'kup-sim-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nkubernetesVersion: 1.30.4\npools:\n  - name: a\n    nodse: 3\n');
    const scenario = runKup(['sim', 'start', '--scenario', bad, '--kubeconfig', join(dir, 'k')]);
    assert.equal(scenario.code, 2);
    assert.match(scenario.stderr, /pools\[0\]\.nodse/);
    const unknown = runKup(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });
});
