// What bin/kup.mjs and bin/kube-sim.mjs share: run a program of dist/, built from the sources as they are.
//
// When dist/ is missing or older than src/ (a developer edited a file and did not rebuild), this rebuilds it before
// it runs: esbuild takes under a second, once, and every later start is fast again. Falling back to tsx would cost
// over a second at every start until someone rebuilt, and tsx needs esbuild as much as the build does. Running the
// old build would be quicker still, and dishonest: the user would run code that is no longer in the sources.
import { build, distIsFresh } from '../scripts/build.mjs';

/** Imports `dist/<program>.js`, rebuilt first when stale, and resolves to the module. */
export async function loadProgram(program) {
  if (!distIsFresh()) {
    try {
      await build();
    } catch (err) {
      // esbuild has printed what does not compile (the sources as they are would not run either).
      process.stderr.write(`cannot build dist/ from src/: ${Array.isArray(err?.errors) ? 'see above' : err}\n`);
      process.exit(1);
    }
  }
  // The build's source maps: a stack trace names the .ts line.
  process.setSourceMapsEnabled(true);
  return import(`../dist/${program}.js`);
}
