#!/usr/bin/env node
// Builds the web console (console/, React + Vite) into dist/console, which `kup serve` serves under /console/.
// Run by scripts/build.mjs (so by `npm install` and the test runner). Skipped when nothing it reads changed since the
// last build: a fingerprint of the console's files (path, size, mtime) and of package-lock.json is kept beside the
// output, so an unchanged tree costs a directory walk (~2 ms), not a Vite build (~5-10 s).
//
//   node scripts/build-console.mjs [--force]
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'console');
const out = join(root, 'dist', 'console');
const stampPath = join(out, '.fingerprint');

/** What the build reads, as one hash: every file under console/, the lock file and this script. */
function fingerprint() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const s = statSync(path);
        hash.update(`${relative(root, path)}\0${s.size}\0${s.mtimeMs}\n`);
      }
    }
  };
  walk(source);
  for (const file of [join(root, 'package-lock.json'), fileURLToPath(import.meta.url)]) {
    const s = statSync(file);
    hash.update(`${relative(root, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/** Builds the console unless dist/console already holds a build of it; resolves to whether it built. */
export async function buildConsole({ force = false } = {}) {
  const print = fingerprint();
  let built;
  try {
    built = readFileSync(stampPath, 'utf8');
  } catch {
    built = undefined;
  }
  if (built === print && !force) return false;
  const { build } = await import('vite');
  const react = (await import('@vitejs/plugin-react')).default;
  // Built next to the old one and renamed into place: a running `kup serve` serves the old build or the new one.
  const temp = `${out}.${process.pid}.tmp`;
  await build({
    configFile: false,
    root: source,
    base: '/console/',
    plugins: [react()],
    logLevel: 'warn',
    build: {
      outDir: temp,
      emptyOutDir: true,
      sourcemap: false,
      target: 'es2022',
      reportCompressedSize: false,
    },
  });
  writeFileSync(join(temp, '.fingerprint'), print);
  mkdirSync(dirname(out), { recursive: true });
  const old = `${out}.${process.pid}.old`;
  try {
    renameSync(out, old);
  } catch {
    // no earlier build
  }
  renameSync(temp, out);
  rmSync(old, { recursive: true, force: true });
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const built = await buildConsole({ force: process.argv.includes('--force') });
  console.log(`build: dist/console ${built ? 'built' : 'up to date'} in ${Math.round(performance.now() - started)} ms`);
}
