#!/usr/bin/env node
// kube-sim's standalone entry: a simulated Kubernetes cluster on 127.0.0.1, from the build in dist/.
import { loadProgram } from './run-built.mjs';

const { main } = await loadProgram('kube-sim/main');
process.exitCode = await main(process.argv.slice(2));
