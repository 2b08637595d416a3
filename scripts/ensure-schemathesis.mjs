#!/usr/bin/env node
// Installs schemathesis (PyPI) into a venv under .cache/schemathesis when it is missing (or at another version), for
// the test that fuzzes kup serve against its own OpenAPI document. Prints the path of its `st` command.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pinned release. */
const SCHEMATHESIS_VERSION = '4.32.5';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.cache/schemathesis');
const python = join(venv, 'bin/python');
const st = join(venv, 'bin/st');

function installed() {
  if (!existsSync(python)) return undefined;
  const r = spawnSync(python, ['-c', 'import importlib.metadata as m; print(m.version("schemathesis"))'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

if (installed() !== SCHEMATHESIS_VERSION) {
  const started = Date.now();
  if (!existsSync(python)) {
    const made = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    if (made.status !== 0) process.exit(made.status ?? 1);
  }
  const pip = spawnSync(python, ['-m', 'pip', 'install', '-q', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (pip.status !== 0) process.exit(pip.status ?? 1);
  console.error(`schemathesis ${SCHEMATHESIS_VERSION} installed into ${venv} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
console.log(st);
