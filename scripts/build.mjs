#!/usr/bin/env node
// Builds kup's two programs (the CLI and kube-sim) to JavaScript in dist/, so that `kup` starts as plain Node
// instead of transpiling its TypeScript at every start. Run by `npm install` (the `prepare` script), by the test
// runner, and by bin/ when dist/ is older than the sources.
//
// - ESM with code splitting: dist/cli/main.js holds little more than the argument switch, and each command's modules
//   are chunks loaded by its dynamic import, so `kup versions` reads no simulator, SQLite or client-node code.
// - Packages stay external: node_modules is loaded as installed (native better-sqlite3, client-node's own files),
//   and a dependency upgrade needs no rebuild.
// - Source maps, which bin/ turns on, so that a stack trace names the .ts line.
//
//   node scripts/build.mjs [--clean] [--metafile FILE]
//   --clean     also delete files of earlier builds (the chunks' names change with their content)
//   --metafile  write esbuild's metafile to FILE, to see what each entry and chunk loads
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Written after each build with the time the build started: sources newer than that are not in dist/. */
const stampPath = join(dist, '.built-at');

/** Built program -> its source; bin/ imports `dist/<name>.js`. */
const ENTRY_POINTS = {
  'cli/main': 'src/cli/main.ts',
  'kube-sim/main': 'src/kube-sim/main.ts',
};

/**
 * Builds dist/ from src/ and resolves to esbuild's metafile.
 *
 * Every file is written to a temporary name and renamed into place, chunks before the entries that import them: a kup
 * process starting while another one rebuilds reads either the old build or the new one, never half a file. Older
 * chunks stay (a running `kup work` may still import one lazily) unless `clean` is set.
 */
export async function build({ clean = false } = {}) {
  const startedAt = Date.now();
  // esbuild is loaded here rather than at the top: bin/ imports this module and pays for esbuild only to rebuild.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ENTRY_POINTS,
    outdir: 'dist',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    // A chunk is named after the module that gave it its name (`runs-XXXX.js`): readable in a stack trace.
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const entries = new Set(Object.keys(ENTRY_POINTS).flatMap((name) => [`${name}.js`, `${name}.js.map`]));
  const files = [...result.outputFiles].sort(
    (a, b) => Number(entries.has(relative(dist, a.path))) - Number(entries.has(relative(dist, b.path))),
  );
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.contents);
    renameSync(temp, file.path);
  }
  if (clean) {
    const written = new Set(files.map((f) => f.path));
    for (const path of listFiles(dist)) if (!written.has(path) && path !== stampPath) rmSync(path);
  }
  writeFileSync(stampPath, `${startedAt}\n`);
  return result.metafile;
}

/**
 * Whether dist/ holds a build of the sources as they are: no file under src/ (tests aside) nor this script changed
 * since the last build started. Directories count too, so that adding, removing or renaming a file is a change.
 * About 5 ms for the ~280 files of src/.
 */
export function distIsFresh() {
  let builtAt;
  try {
    builtAt = Number(readFileSync(stampPath, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isFinite(builtAt) || statSync(fileURLToPath(import.meta.url)).mtimeMs > builtAt) return false;
  const newer = (dir) => {
    if (statSync(dir).mtimeMs > builtAt) return true;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() ? newer(path) : !entry.name.endsWith('.test.ts') && statSync(path).mtimeMs > builtAt)
        return true;
    }
    return false;
  };
  return !newer(join(root, 'src'));
}

function listFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { clean: { type: 'boolean' }, metafile: { type: 'string' } } });
  const started = performance.now();
  const metafile = await build({ clean: values.clean ?? false });
  if (values.metafile) writeFileSync(values.metafile, JSON.stringify(metafile, null, 2));
  console.log(`build: dist/ in ${Math.round(performance.now() - started)} ms`);
}
