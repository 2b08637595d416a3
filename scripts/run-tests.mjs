#!/usr/bin/env node
// Runs every test with Node's own test runner (TypeScript through tsx), after building dist/ for bin/.
// Unit tests sit beside the code (src/**/*.test.ts); end-to-end tests live in test/ by area.
// `--unit` runs only the unit tests; any other arguments are passed to `node --test` (e.g. a file).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));

function findTests(dir) {
  const found = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

const files = explicit.length > 0 ? explicit : [...findTests('src'), ...(unitOnly ? [] : findTests('test'))];
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
if (!unitOnly && explicit.length === 0) {
  // kubectl tests need a clean discovery cache; system packages come from the project's own script.
  const prep = spawnSync(process.execPath, ['scripts/ensure-system-deps.mjs'], { stdio: 'inherit' });
  if (prep.status !== 0) process.exit(prep.status ?? 1);
}
// End-to-end tests spawn bin/kup.mjs, which runs dist/: build it from the sources as they are, here, once, rather
// than in whichever test's kup process first finds it stale (its time would count against that test's timeout).
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, KUP_TEST: '1' } },
);
process.exit(result.status ?? 1);
