#!/usr/bin/env node
// Builds the programs of the real control-plane suites (test/real, test/differential, test/capi) before the tests
// run, so that CI prints the cold build time on its own line rather than inside a test's output. What is built
// already is not built again (seconds on a warm cache).
//
//   node --import tsx scripts/build-real.mjs
import { CLUSTER_API_VERSION, ensureBuilt, ensureClusterApiBuilt } from '../src/local/build.ts';

const VERSIONS = ['1.35.4', '1.36.1'];
const started = Date.now();
const log = (line) => console.log(`build-real: ${line}`);
for (const version of VERSIONS) await ensureBuilt(version, { log });
log(`programs of ${VERSIONS.join(' and ')} ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
const capiStarted = Date.now();
await ensureClusterApiBuilt({ log });
log(`Cluster API ${CLUSTER_API_VERSION} managers ready in ${((Date.now() - capiStarted) / 1000).toFixed(0)} s`);
