/**
 * A host of simulated clusters for `bench/fleet.ts`: starts `--clusters N` kube-sim clusters of `--nodes M` worker
 * nodes each in this one process (each its own HTTPS server on a loopback port, reached over HTTP like any cluster),
 * writes their kubeconfigs to `--dir`, prints one JSON line per cluster, then `ready`, and stops them on SIGTERM.
 * The benchmark runs several hosts so that the simulators' CPU is not kup's.
 *
 *   node --import tsx bench/fleet-sims.ts --clusters 25 --nodes 50 --version 1.35.9 --prefix a --dir /tmp/x
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scenarioFromObject } from '../src/kube-sim/scenario/parse.ts';
import type { SimCluster } from '../src/kube-sim/sim-cluster.ts';
import { startSimCluster } from '../src/kube-sim/sim-cluster.ts';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '50' },
    version: { type: 'string' },
    prefix: { type: 'string', default: 'c' },
    dir: { type: 'string' },
  },
});
if (values.version === undefined || values.dir === undefined) throw new Error('--version and --dir are required');
const count = Number(values.clusters);
const nodes = Number(values.nodes);
const version = values.version;
const dir = values.dir;

/**
 * One cluster: a control-plane node and a pool of `nodes` workers, two pods a worker under a budget that lets a tenth
 * go at once, a DaemonSet. Timings near the sim's defaults: a rollout is mostly waiting on boots and pod starts, as on
 * a real cluster, so running many at once costs what kup and the sims add, not what they wait for.
 */
function scenario(name: string) {
  return scenarioFromObject({
    name,
    kubernetesVersion: version,
    pools: [{ name: 'workers', nodes, capacity: { cpu: '8', memory: '32Gi', pods: 110 } }],
    workloads: [
      {
        kind: 'Deployment',
        name: 'web',
        namespace: 'shop',
        replicas: nodes * 2,
        requests: { cpu: '100m', memory: '128Mi' },
        pdb: { maxUnavailable: '10%' },
      },
      {
        kind: 'DaemonSet',
        name: 'log-agent',
        namespace: 'logging',
        requests: { cpu: '50m', memory: '64Mi' },
        tolerations: [{ operator: 'Exists' }],
      },
    ],
    timings: {
      podStart: 500,
      podTermination: 500,
      nodeBoot: 2000,
      componentRestart: 500,
      apiUnavailable: 300,
      nodeHeartbeat: 5000,
      nodeMonitorGrace: 40000,
    },
  });
}

const sims: SimCluster[] = [];
// Started a few at a time: each builds its PKI and its objects on this one thread.
for (let i = 0; i < count; i += 5) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(5, count - i) }, (_, j) => {
      const name = `${values.prefix}-${i + j}`;
      return startSimCluster({ scenario: scenario(name), kubeconfigPath: join(dir, `${name}.kubeconfig`) });
    }),
  );
  sims.push(...batch);
}
for (const sim of sims)
  process.stdout.write(`${JSON.stringify({ name: sim.name, kubeconfigPath: join(dir, `${sim.name}.kubeconfig`) })}\n`);
process.stdout.write('ready\n');
const stop = () => {
  void Promise.all(sims.map((s) => s.stop())).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
