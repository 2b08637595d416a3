#!/usr/bin/env node
// Installs the official Kubernetes Python client into a venv under .cache/python when it is missing (or at another
// version), for the tests that drive kube-sim with it. Prints where it is and how long the install took.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pinned client release. */
const PYTHON_CLIENT_VERSION = '37.0.2';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.cache/python');
const python = join(venv, 'bin/python');

function installed() {
  if (!existsSync(python)) return undefined;
  const r = spawnSync(python, ['-c', 'import kubernetes; print(kubernetes.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

if (installed() !== PYTHON_CLIENT_VERSION) {
  const started = Date.now();
  if (!existsSync(python)) {
    const made = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    if (made.status !== 0) process.exit(made.status ?? 1);
  }
  const pip = spawnSync(python, ['-m', 'pip', 'install', '-q', `kubernetes==${PYTHON_CLIENT_VERSION}`], {
    stdio: 'inherit',
  });
  if (pip.status !== 0) process.exit(pip.status ?? 1);
  console.log(
    `python client: installed kubernetes ${PYTHON_CLIENT_VERSION} into ${venv} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
// Byte-compile the venv: with PYTHONDONTWRITEBYTECODE set (as on our machines), or after the venv was copied (which
// makes every .pyc older than its source), each run of the harness would compile the client's ~600 modules again,
// about 1.5 s per run. compileall writes the .pyc files regardless, and is a quick stat pass when they are current.
const compiled = spawnSync(
  python,
  // A module that does not compile (some packages ship files for other Python versions) is only not cached: no exit code.
  ['-c', "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_paths()['purelib'], quiet=2)"],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
console.log(python);
