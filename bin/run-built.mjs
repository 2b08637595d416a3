// What bin/kup.mjs and bin/kube-sim.mjs share: run a program of dist/, built from the sources as they are.
//
// When dist/ is missing or older than src/ (a developer edited a file and did not rebuild), this rebuilds it first
// rather than falling back to tsx: esbuild takes about half a second, once, and every later start is fast again,
// where tsx would cost over a second at every start and leave dist/ stale. Running the old build would be quicker
// still, and dishonest: the user would run code that is no longer in the sources. Only when esbuild is not installed
// (an install without devDependencies) does it fall back to tsx, which runs the sources as they are.
import { build, distIsFresh } from '../scripts/build.mjs';

/**
 * Imports `dist/<program>.js`, rebuilt first when stale, or without esbuild `src/<program>.ts` through tsx; resolves
 * to the module. Stack traces name the .ts lines either way.
 */
export async function loadProgram(program) {
  if (!distIsFresh()) {
    try {
      await build();
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes("'esbuild'")) {
        // esbuild has printed what does not compile; tsx would stop at the same place.
        process.stderr.write(`cannot build dist/ from src/: ${Array.isArray(err?.errors) ? 'see above' : err}\n`);
        process.exit(1);
      }
      const { register } = await import('tsx/esm/api');
      register();
      return import(`../src/${program}.ts`);
    }
  }
  process.setSourceMapsEnabled(true);
  return import(`../dist/${program}.js`);
}
