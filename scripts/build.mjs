#!/usr/bin/env node
// Builds kup's two programs (the CLI and kube-sim) to JavaScript in dist/, so that `kup` starts as plain Node
// instead of transpiling its TypeScript at every start. Run by `npm install` (the `prepare` script), by the test
// runner, and by bin/ when dist/ is older than the sources.
//
// - ESM with code splitting: dist/cli/main.js holds little more than the argument switch, and each command's modules
//   are chunks loaded by its dynamic import, so `kup versions` reads no simulator, SQLite or client-node code.
// - Packages stay external: node_modules is loaded as installed (native better-sqlite3, one copy on disk). One
//   exception, @kubernetes/client-node, is loaded from a bundle of its own in dist/vendor/: see VENDORED.
// - Source maps, which bin/ turns on, so that a stack trace names the .ts line.
//
//   node scripts/build.mjs [--clean] [--metafile FILE]
//   --clean     also delete files of earlier builds (the chunks' names change with their content)
//   --metafile  write esbuild's metafile to FILE, to see what each entry and chunk loads
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Written after each build with the time the build started: sources newer than that are not in dist/. */
const stampPath = join(dist, '.built-at');

/**
 * The one package the build does not load from node_modules: @kubernetes/client-node is about 940 ES modules, one per
 * API class and model, and Node 20 takes 0.5-0.6 s to resolve, read and compile them one by one, which alone misses
 * "a command reaches its first request within 0.3 s". The build imports it as `#client-node` (package.json's
 * `imports`) from dist/vendor/client-node.js: one file, whitespace and comments out, holding only what kup imports of
 * it (tree-shaken: 2.6 MB rather than 5.7 MB for the whole package). Its dependencies come along; the optional ones
 * it requires inside a `try` (bufferutil, ...) stay unresolved there, as they do in node_modules without them. That
 * bundle takes seconds to build, so it is rebuilt only when the installed version or the names kup imports change.
 */
const VENDORED = '@kubernetes/client-node';
const VENDORED_ALIAS = '#client-node';
const vendorDir = join(dist, 'vendor');
const vendorPath = join(vendorDir, 'client-node.js');
/** The installed version and the names imported, as of the bundle in dist/vendor/. */
const vendorStampPath = join(vendorDir, 'client-node.built');
/** The web console's build (scripts/build-console.mjs), which a clean build of the programs leaves alone. */
const consoleDir = join(dist, 'console');

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
 * chunks stay (a running `kup work` may still import one lazily) unless `clean` is set, which also rebuilds the
 * client-node bundle.
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
    plugins: [vendoredAlias],
    sourcemap: 'linked',
    // A chunk is named after the module that gave it its name (`runs-XXXX.js`): readable in a stack trace.
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  await buildVendored(esbuild, importedNames(result.outputFiles), { force: clean });
  const entries = new Set(Object.keys(ENTRY_POINTS).flatMap((name) => [`${name}.js`, `${name}.js.map`]));
  const files = [...result.outputFiles].sort(
    (a, b) => Number(entries.has(relative(dist, a.path))) - Number(entries.has(relative(dist, b.path))),
  );
  writeAtomically(files);
  if (clean) {
    const written = new Set(files.map((f) => f.path));
    for (const path of listFiles(dist)) {
      if (!written.has(path) && path !== stampPath && !path.startsWith(vendorDir) && !path.startsWith(consoleDir)) rmSync(path);
    }
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
  if (!existsSync(vendorPath)) return false;
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

/** client-node's imports become `#client-node`, which Node resolves through package.json's `imports`. */
const vendoredAlias = {
  name: 'vendored-alias',
  setup(b) {
    b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: VENDORED_ALIAS, external: true }));
  },
};

/**
 * The names the built code imports from client-node, read off esbuild's output, which writes an import in one of three
 * forms: `import { A, B as C } from "#client-node"`, `const { A } = await import("#client-node")`, and
 * `import * as ns from "#client-node"` with `ns.A` where used. Any other form fails the build rather than leave a
 * name out of the bundle.
 */
function importedNames(files) {
  const names = new Set();
  const from = `"${VENDORED_ALIAS}"`;
  for (const file of files) {
    if (!file.path.endsWith('.js')) continue;
    const text = file.text;
    let read = 0;
    for (const m of text.matchAll(new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*${from}`, 'g'))) {
      read++;
      for (const spec of m[1].split(',')) names.add(spec.trim().split(/\s+as\s+/)[0]);
    }
    // `[^{}]`: the braces of the destructuring itself, not those of a function whose first statement it is.
    for (const m of text.matchAll(new RegExp(`\\{([^{}]*)\\}\\s*=\\s*await import\\(${from}\\)`, 'g'))) {
      read++;
      for (const spec of m[1].split(',')) names.add(spec.trim().split(/\s*:\s*/)[0]);
    }
    for (const m of text.matchAll(new RegExp(`import\\s*\\*\\s*as\\s*([\\w$]+)\\s*from\\s*${from}`, 'g'))) {
      read++;
      const member = new RegExp(`(?<![\\w$.])${m[1].replace(/\$/g, '\\$')}\\.([A-Za-z_$][\\w$]*)`, 'g');
      for (const n of text.matchAll(member)) names.add(n[1]);
    }
    if (read !== text.split(from).length - 1) {
      throw new Error(`${relative(root, file.path)} imports ${VENDORED} in a form the build cannot read: import names`);
    }
  }
  names.delete('');
  return [...names].sort();
}

/**
 * Bundles `names` of client-node to dist/vendor/client-node.js, unless that bundle already holds them from the
 * installed version (or `force`: a clean build, as `npm install` runs, makes everything anew).
 */
async function buildVendored(esbuild, names, { force }) {
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules', VENDORED, 'package.json'), 'utf8'));
  const stamp = `${version}\n${names.join(' ')}\n`;
  let built;
  try {
    built = readFileSync(vendorStampPath, 'utf8');
  } catch {
    built = undefined;
  }
  if (built === stamp && !force) return;
  const result = await esbuild.build({
    absWorkingDir: root,
    stdin: {
      contents: `export { ${names.join(', ')} } from '${VENDORED}';`,
      resolveDir: root,
      sourcefile: 'client-node.js',
    },
    outfile: vendorPath,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Its CommonJS dependencies call require(): give the bundle one.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    minifyWhitespace: true,
    // No source map: Node parses a linked map as it loads the file (0.1 s for this one), and a stack frame in
    // client-node's code names its function either way.
    sourcemap: false,
    write: false,
    logLevel: 'error',
  });
  writeAtomically(result.outputFiles);
  writeFileSync(vendorStampPath, stamp);
}

/** Writes each file to a temporary name and renames it into place, in order. */
function writeAtomically(files) {
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.contents);
    renameSync(temp, file.path);
  }
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
  // The web console, when its sources changed (a few ms otherwise); a clean build makes it anew too.
  const consoleStarted = performance.now();
  const { buildConsole } = await import('./build-console.mjs');
  const built = await buildConsole({ force: values.clean ?? false });
  console.log(`build: dist/console ${built ? 'built' : 'up to date'} in ${Math.round(performance.now() - consoleStarted)} ms`);
}
