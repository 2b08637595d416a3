/**
 * Builds the client-go harness (test/clients/go) into .cache/clients once per source change, and runs it against a
 * cluster's kubeconfig. The first build compiles client-go (minutes on a loaded machine); later ones reuse the
 * binary, or Go's build cache when a source changed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const source = join(root, 'test/clients/go');
const binary = join(root, '.cache/clients/client-go-harness');

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function exec(
  file: string,
  args: string[],
  options: { cwd?: string; timeoutMs: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Builds the harness when it is missing or older than its sources; returns its path. */
export async function buildGoHarness(): Promise<string> {
  const newest = Math.max(...['main.go', 'go.mod', 'go.sum'].map((f) => mtime(join(source, f))));
  if (mtime(binary) > newest) {
    console.log(`client-go harness: reusing ${binary}`);
    return binary;
  }
  mkdirSync(dirname(binary), { recursive: true });
  const started = Date.now();
  const r = await exec('go', ['build', '-o', binary, '.'], { cwd: source, timeoutMs: 20 * 60_000 });
  if (r.code !== 0) throw new Error(`go build of the client-go harness failed: ${r.stderr}`);
  console.log(`client-go harness: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return binary;
}

/** Runs one harness command; `json` is its one line of output, parsed, when it succeeded. */
export async function runGoHarness(
  binaryPath: string,
  kubeconfigPath: string,
  args: string[],
): Promise<{ code: number; stderr: string; json: Record<string, unknown> | undefined }> {
  const r = await exec(binaryPath, ['-kubeconfig', kubeconfigPath, ...args], { timeoutMs: 90_000 });
  return {
    code: r.code,
    stderr: r.stderr,
    json: r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined,
  };
}
