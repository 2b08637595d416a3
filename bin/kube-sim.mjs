#!/usr/bin/env node
// kube-sim's standalone entry: a simulated Kubernetes cluster on 127.0.0.1.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/kube-sim/main.ts');
process.exitCode = await main(process.argv.slice(2));
