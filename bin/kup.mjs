#!/usr/bin/env node
// kup's command-line entry: runs the build in dist/ (see run-built.mjs for when it rebuilds).
import { loadProgram } from './run-built.mjs';

// `kup ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await loadProgram('cli/main');
process.exitCode = await main(process.argv.slice(2));
