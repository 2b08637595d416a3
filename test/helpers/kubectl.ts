/**
 * Runs the real kubectl against a cluster, with a fresh discovery cache (kubectl caches discovery for 6 h).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a kubectl run printed. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One kubectl run: stdin, a timeout, and environment variables to add (EDITOR for `kubectl edit`). */
export interface KubectlRunOptions {
  input?: string;
  /** @default 60000 */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** A kubectl bound to one kubeconfig and one cache dir. */
export interface Kubectl {
  (args: string[], options?: KubectlRunOptions): Promise<KubectlResult>;
  readonly kubeconfigPath: string;
}

/** Writes the kubeconfig to a temp dir and returns a kubectl runner for it. */
export function kubectlFor(kubeconfig: string): Kubectl {
  const dir = mkdtempSync(join(tmpdir(), 'kup-kubectl-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  const cacheDir = join(dir, 'cache');
  const run = (args: string[], options: KubectlRunOptions = {}) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfigPath, '--cache-dir', cacheDir, ...args],
        { timeout: options.timeoutMs ?? 60_000, maxBuffer: 512 * 1024 * 1024, env: { ...process.env, ...options.env, HOME: dir } },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  return Object.assign(run, { kubeconfigPath });
}

/** Asserts success and returns stdout; on failure the error carries what kubectl said. */
export async function ok(result: Promise<KubectlResult>): Promise<string> {
  const r = await result;
  if (r.code !== 0) throw new Error(`kubectl exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
