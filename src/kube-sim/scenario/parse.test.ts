import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { DEFAULT_SYSTEM_COMPONENTS, DEFAULT_TIMINGS, ZERO_DELAY_TIMINGS } from './defaults.ts';
import { ScenarioError, type ScenarioIssue } from './errors.ts';
import { defaultDemoScenario, generateScenario } from './generate.ts';
import { parseScenario, scenarioFromObject } from './parse.ts';
import { scenarioTotals } from './totals.ts';
import type { Scenario } from './types.ts';

function example(name: string): { path: string; text: string } {
  const path = fileURLToPath(new URL(`./examples/${name}`, import.meta.url));
  return { path, text: readFileSync(path, 'utf8') };
}

/** The ScenarioError that parsing `yaml` throws. */
function rejection(yaml: string, source = 'scenario.yaml'): ScenarioError {
  try {
    parseScenario(yaml, source);
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `expected ScenarioError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the scenario to be rejected');
}

/** The message lines for `yaml`. */
function problems(yaml: string): string[] {
  return rejection(yaml).message.split('\n');
}

const V = 'kubernetesVersion: "1.30.4"\n';

/** A scenario with one pool `general` of 3 nodes, plus `rest`. */
function withPool(rest: string): string {
  return `${V}pools:\n  - name: general\n    nodes: 3\n${rest}`;
}

describe('parseScenario: examples', () => {
  it('parses small.yaml', () => {
    const { path, text } = example('small.yaml');
    const s = parseScenario(text, path);
    assert.equal(s.name, 'small');
    assert.equal(s.kubernetesVersion, '1.30.4');
    assert.equal(s.controlPlane.nodes, 1);
    assert.deepEqual(
      s.pools.map((p) => [p.name, p.nodes, p.kubeletVersion]),
      [['workers', 3, '1.30.4']],
    );
    assert.deepEqual(s.timings, ZERO_DELAY_TIMINGS);
    assert.deepEqual(scenarioTotals(s).podsByKind, { Deployment: 5, StatefulSet: 0, DaemonSet: 4, Pod: 0 });
  });

  it('parses ha-two-pools.yaml', () => {
    const { path, text } = example('ha-two-pools.yaml');
    const s = parseScenario(text, path);
    assert.equal(s.name, 'ha-two-pools');
    assert.match(s.kubernetesVersion, /^1\.29\.\d+$/);
    assert.equal(s.controlPlane.nodes, 3);
    assert.deepEqual(
      s.pools.map((p) => [p.name, p.nodes]),
      [
        ['app', 10],
        ['batch', 10],
      ],
    );
    assert.deepEqual(s.pools[1]?.taints, [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }]);
    assert.equal(s.timings.nodeBoot, 3000);
    assert.equal(s.timings.podStart, 500);
    const debug = s.workloads.find((w) => w.name === 'debug');
    assert.equal(debug?.kind === 'Pod' ? debug.node : undefined, 'app-0');
    assert.deepEqual(
      s.legacyObjects.map((o) => `${o.apiVersion} ${o.kind} ${o.namespace ?? ''}/${o.name}`),
      ['policy/v1beta1 PodDisruptionBudget shop/frontend-legacy', 'batch/v1beta1 CronJob batch/nightly-report'],
    );
    // log-agent tolerates everything: 3 control-plane + 20 workers.
    assert.equal(scenarioTotals(s).podsByKind.DaemonSet, 23);
  });

  it('survives a round trip through YAML and validation unchanged', () => {
    for (const name of ['small.yaml', 'ha-two-pools.yaml']) {
      const { text } = example(name);
      const s = parseScenario(text);
      assert.deepEqual(parseScenario(stringify(s)), s);
      assert.deepEqual(scenarioFromObject(s), s);
    }
  });
});

describe('parseScenario: defaults', () => {
  it('fills every field from a version alone', () => {
    const s = parseScenario(V, 'tiny.yaml');
    const expected: Scenario = {
      name: 'tiny',
      kubernetesVersion: '1.30.4',
      controlPlane: {
        nodes: 1,
        machineImage: 'ubuntu-2204-kube-v1.30.4',
        capacity: { cpu: '4', memory: '16Gi', pods: 110 },
      },
      pools: [],
      workloads: [],
      legacyObjects: [],
      timings: { ...DEFAULT_TIMINGS },
      faults: {
        apiErrorRate: 0,
        apiLatencyMs: 0,
        nodesNeverReady: [],
        nodesNotReady: [],
        nodesKubeletDown: [],
        containerFaults: [],
        evictionRefused: [],
        snapshotFailure: false,
      },
      systemComponents: { coreDnsVersion: '1.11.3', cni: { name: 'calico', version: 'v3.28.0' } },
    };
    assert.deepEqual(s, expected);
  });

  it('names the scenario "scenario" when there is no usable file name', () => {
    assert.equal(parseScenario(V).name, 'scenario');
    assert.equal(parseScenario(V, 'My Cluster.yaml').name, 'scenario');
    assert.equal(parseScenario(`name: prod-eu\n${V}`, 'x.yaml').name, 'prod-eu');
  });

  it('defaults pools and workloads field by field', () => {
    const s = parseScenario(`${V}pools:
  - name: general
    nodes: 2
    kubeletVersion: "1.29.9"
    capacity: { memory: 64Gi }
workloads:
  - kind: Deployment
    name: web
    labels: { tier: front }
    requests: { cpu: 1 }
  - kind: DaemonSet
    name: agent
  - kind: Pod
    name: one-off
  - kind: StatefulSet
    name: db
    pdb: { maxUnavailable: 1 }
`);
    assert.deepEqual(s.pools[0], {
      name: 'general',
      nodes: 2,
      kubeletVersion: '1.29.9',
      machineImage: 'ubuntu-2204-kube-v1.29.9',
      capacity: { cpu: '8', memory: '64Gi', pods: 110 },
      labels: {},
      taints: [],
    });
    assert.deepEqual(s.workloads[0], {
      kind: 'Deployment',
      name: 'web',
      namespace: 'default',
      replicas: 1,
      labels: { app: 'web', tier: 'front' },
      requests: { cpu: '1', memory: '32Mi' },
      emptyDir: false,
      nodeSelector: {},
      tolerations: [],
      terminationGracePeriodSeconds: 30,
      image: 'registry.k8s.io/pause:3.9',
    });
    assert.equal(s.workloads[1]?.kind, 'DaemonSet');
    assert.ok(!('replicas' in (s.workloads[1] ?? {})));
    assert.deepEqual(s.workloads[2]?.kind === 'Pod' ? s.workloads[2].node : 'pinned', undefined);
    assert.deepEqual(s.workloads[3]?.pdb, { maxUnavailable: 1 });
  });

  it('applies zeroDelay first, then explicit timings and duration units', () => {
    const s = parseScenario(`${V}timings:\n  zeroDelay: true\n  nodeBoot: 1.5s\n  podStart: 20\n`);
    assert.deepEqual(s.timings, { ...ZERO_DELAY_TIMINGS, nodeBoot: 1500, podStart: 20 });
    assert.equal(parseScenario(`${V}timings:\n  nodeMonitorGrace: 1m\n`).timings.nodeMonitorGrace, 60_000);
  });

  it('treats an empty value (null) as absent', () => {
    const s = parseScenario(`${V}pools:\nworkloads:\nfaults:\n  apiErrorRate:\n`);
    assert.deepEqual(s.pools, []);
    assert.equal(s.faults.apiErrorRate, 0);
  });

  it('keeps defaults unshared between scenarios', () => {
    const a = parseScenario(V);
    a.timings.podStart = 99;
    a.systemComponents.cni.name = 'cilium';
    assert.equal(parseScenario(V).timings.podStart, DEFAULT_TIMINGS.podStart);
    assert.equal(DEFAULT_SYSTEM_COMPONENTS.cni.name, 'calico');
  });

  it('supports anchors and merge keys, with x- keys at the top as a place to define them', () => {
    const s = parseScenario(`${V}x-small: &small { requests: { cpu: 50m, memory: 64Mi }, namespace: shop }
workloads:
  - { <<: *small, kind: Deployment, name: a }
  - { <<: *small, kind: Deployment, name: b, namespace: other }
`);
    assert.deepEqual(
      s.workloads.map((w) => [w.name, w.namespace, w.requests.cpu]),
      [
        ['a', 'shop', '50m'],
        ['b', 'other', '50m'],
      ],
    );
  });
});

describe('parseScenario: faults and references', () => {
  it('resolves node references to names, and keeps pool wildcards for nodesNeverReady', () => {
    const s = parseScenario(
      withPool(`faults:
  apiErrorRate: 0.05
  apiLatencyMs: 20
  dropWatchesEveryMs: 30000
  nodesNotReady: [general/1, control-plane-0]
  nodesKubeletDown: [general/2]
  nodesNeverReady: [general/*, general-7]
  containerFaults:
    - { image: '*:broken', failure: image-pull }
    - { image: shop/cart*, failure: crash-loop, minKubeletVersion: v1.31, exitCode: 137, exitAfterMs: 0 }
  evictionRefused:
    - { name: web }
  snapshotFailure: true
workloads:
  - { kind: Deployment, name: web }
`),
    );
    assert.deepEqual(s.faults, {
      apiErrorRate: 0.05,
      apiLatencyMs: 20,
      dropWatchesEveryMs: 30000,
      nodesNotReady: ['general-1', 'control-plane-0'],
      nodesKubeletDown: ['general-2'],
      containerFaults: [
        { image: '*:broken', failure: 'image-pull' },
        { image: 'shop/cart*', failure: 'crash-loop', minKubeletVersion: '1.31', exitCode: 137, exitAfterMs: 0 },
      ],
      nodesNeverReady: ['general/*', 'general-7'],
      evictionRefused: [{ namespace: 'default', name: 'web' }],
      snapshotFailure: true,
    });
  });

  it('names each bad field of a container fault rule', () => {
    assert.throws(
      () =>
        parseScenario(
          withPool(`faults:
  containerFaults:
    - { image: '', failure: explode }
    - { image: app, failure: not-ready, exitCode: 1, minKubeletVersion: latest }
`),
        ),
      (err: Error) => {
        assert.match(err.message, /faults\.containerFaults\[0\]\.image: an image or a glob/);
        assert.match(err.message, /faults\.containerFaults\[0\]\.failure: must be one of image-pull, crash-loop, not-ready/);
        assert.match(err.message, /faults\.containerFaults\[1\]\.minKubeletVersion: must be a version/);
        assert.match(err.message, /faults\.containerFaults\[1\]\.failure: exitCode and exitAfterMs apply to crash-loop only/);
        return true;
      },
    );
  });

  it('pins a bare pod to a node by name or pool/index', () => {
    const s = parseScenario(
      withPool(
        'workloads:\n  - { kind: Pod, name: a, node: general-2 }\n  - { kind: Pod, name: b, node: control-plane/0 }\n',
      ),
    );
    assert.deepEqual(
      s.workloads.map((w) => (w.kind === 'Pod' ? w.node : undefined)),
      ['general-2', 'control-plane-0'],
    );
  });
});

describe('parseScenario: generate', () => {
  it('builds the cluster from the generator and keeps the other sections', () => {
    const s = parseScenario(`name: bench
kubernetesVersion: "1.29.3"
generate: { nodes: 40, pods: 300, seed: 7 }
timings: { zeroDelay: true }
faults: { nodesNotReady: [general-1/0] }
`);
    assert.equal(s.name, 'bench');
    assert.equal(s.kubernetesVersion, '1.29.3');
    const totals = scenarioTotals(s);
    assert.equal(totals.workerNodes, 40);
    assert.equal(totals.pods, 300);
    assert.deepEqual(s.timings, ZERO_DELAY_TIMINGS);
    assert.deepEqual(s.faults.nodesNotReady, ['general-1-0']);
    const direct = generateScenario({ nodes: 40, pods: 300, seed: 7, version: '1.29.3' });
    assert.deepEqual(s.workloads, direct.workloads);
  });

  it('rejects generate combined with pools, and reports generator limits under generate', () => {
    assert.deepEqual(problems(`${V}generate: { nodes: 2, pods: 1 }\npools: []\n`), [
      'scenario.yaml: pools: cannot be combined with generate: the generator makes the control plane, pools and workloads',
    ]);
    assert.deepEqual(problems(`${V}generate: { nodes: 2, pods: 1, pools: 3 }\n`), [
      'scenario.yaml: generate.pools: must be a whole number from 1 to 2, got 3',
    ]);
    assert.deepEqual(problems(`${V}generate: { pods: 1, node: 3 }\n`), [
      'scenario.yaml: generate.nodes: is required (worker nodes to generate)',
      'scenario.yaml: generate.node: unknown key; did you mean "nodes"?',
    ]);
  });
});

describe('parseScenario: errors', () => {
  it('names the file, the path and the problem', () => {
    const err = rejection(`${V}pools:\n  - name: a\n    nodes: 1\n  - name: b\n    nodes: ten\n`);
    assert.equal(err.message, 'scenario.yaml: pools[1].nodes: must be a whole number >= 0, got "ten"');
    assert.equal(err.source, 'scenario.yaml');
    assert.equal(err.code, 'KUP-SIM-SCENARIO');
    assert.deepEqual(err.issues, [
      {
        path: 'pools[1].nodes',
        segments: ['pools', 1, 'nodes'],
        problem: 'must be a whole number >= 0, got "ten"',
        line: 6,
        column: 5,
      } satisfies ScenarioIssue,
    ]);
  });

  it('reports every problem at once, in document order', () => {
    const lines = problems(`kubernetesVersion: v1.30.4
pools:
  - name: Web_1
    nodes: -1
workloads:
  - kind: Deployment
    name: web
    replicas: 2.5
`);
    assert.deepEqual(lines, [
      'scenario.yaml: kubernetesVersion: must be "x.y.z" without the leading "v": write "1.30.4", got "v1.30.4"',
      'scenario.yaml: pools[0].name: must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters), got "Web_1"; did you mean "web-1"?',
      'scenario.yaml: pools[0].nodes: must be a whole number >= 0, got -1',
      'scenario.yaml: workloads[0].replicas: must be a whole number >= 0, got 2.5',
    ]);
  });

  it('rejects YAML that does not parse, with its line', () => {
    const err = rejection(`${V}pools:\n  - name: a\n    nodes: 1\n    nodes: 2\n`);
    assert.match(err.message, /^scenario\.yaml: invalid YAML at line 5, column 5: Map keys must be unique/);
    assert.equal(err.issues[0]?.line, 5);
    assert.match(rejection('pools: [\n').message, /^scenario\.yaml: invalid YAML at line \d+/);
  });

  it('rejects a document that is not a mapping', () => {
    assert.deepEqual(problems(''), ['scenario.yaml: must be a mapping, got nothing']);
    assert.deepEqual(problems('- a\n- b\n'), ['scenario.yaml: must be a mapping, got a list']);
    assert.throws(() => scenarioFromObject(42), {
      name: 'ScenarioError',
      message: 'scenario: must be a mapping, got 42',
    });
  });

  it('rejects unknown keys, suggesting the key that was meant', () => {
    assert.deepEqual(problems(`${V}pool:\n  - name: a\n`), ['scenario.yaml: pool: unknown key; did you mean "pools"?']);
    assert.deepEqual(problems(withPool('    machineImg: x\n')), [
      'scenario.yaml: pools[0].machineImg: unknown key; did you mean "machineImage"?',
    ]);
    assert.deepEqual(problems(`${V}workloads:\n  - kind: Deployment\n    name: a\n    nodeSelecter: {}\n`), [
      'scenario.yaml: workloads[0].nodeSelecter: unknown key; did you mean "nodeSelector"?',
    ]);
    assert.deepEqual(problems(`${V}timings:\n  podStartup: 1\n`), [
      'scenario.yaml: timings.podStartup: unknown key; did you mean "podStart"?',
    ]);
    assert.deepEqual(problems(`${V}controlPlane:\n  colour: blue\n`), [
      'scenario.yaml: controlPlane.colour: unknown key; expected one of nodes, machineImage, capacity',
    ]);
  });

  it('explains keys that belong to another workload kind', () => {
    assert.deepEqual(
      problems(
        `${V}workloads:\n  - { kind: DaemonSet, name: a, replicas: 3 }\n  - { kind: Deployment, name: b, node: x }\n`,
      ),
      [
        'scenario.yaml: workloads[0].replicas: not allowed for a DaemonSet: it runs one pod on every node its nodeSelector and tolerations allow',
        'scenario.yaml: workloads[1].node: only a bare Pod can name its node; use nodeSelector',
      ],
    );
  });

  it('validates kinds with a suggestion', () => {
    assert.deepEqual(problems(`${V}workloads:\n  - { kind: deployment, name: a }\n  - { name: b }\n`), [
      'scenario.yaml: workloads[0].kind: must be one of "Deployment", "StatefulSet", "DaemonSet", "Pod", got "deployment"; did you mean "Deployment"?',
      'scenario.yaml: workloads[1].kind: is required (Deployment, StatefulSet, DaemonSet, Pod)',
    ]);
  });

  it('validates Kubernetes versions', () => {
    assert.deepEqual(problems('name: x\n'), [
      'scenario.yaml: kubernetesVersion: is required (the control-plane version, e.g. "1.30.4")',
    ]);
    assert.deepEqual(problems('kubernetesVersion: 1.30\n'), [
      'scenario.yaml: kubernetesVersion: must be a version string "x.y.z" such as "1.30.4", got the number 1.3 (quote the version)',
    ]);
    assert.deepEqual(problems('kubernetesVersion: "1.30"\n'), [
      'scenario.yaml: kubernetesVersion: must be a full version "x.y.z" (major.minor.patch) such as "1.30.0", got "1.30"',
    ]);
    assert.deepEqual(problems(withPool('    kubeletVersion: latest\n')), [
      'scenario.yaml: pools[0].kubeletVersion: must be a version "x.y.z" such as "1.30.4", got "latest"',
    ]);
  });

  it('validates quantities', () => {
    assert.deepEqual(
      problems(
        withPool(
          '    capacity: { cpu: 500M, memory: 4GB, pods: 0 }\nworkloads:\n  - { kind: Pod, name: a, requests: { memory: 512m } }\n',
        ),
      ),
      [
        'scenario.yaml: pools[0].capacity.cpu: must be a CPU quantity in cores ("2", "0.5") or millicores ("500m"), got "500M"; "M" means millions of cores: did you mean "500m"?',
        'scenario.yaml: pools[0].capacity.memory: must be a memory quantity like "512Mi" or "4Gi", got "4GB"; did you mean "4Gi"?',
        'scenario.yaml: pools[0].capacity.pods: must be a whole number >= 1, got 0',
        'scenario.yaml: workloads[0].requests.memory: must be a memory quantity like "512Mi" or "4Gi", got "512m"; "m" means fractions of a byte: did you mean "512Mi"?',
      ],
    );
  });

  it('requires unique names', () => {
    assert.deepEqual(
      problems(
        `${V}pools:\n  - { name: a, nodes: 1 }\n  - { name: a, nodes: 2 }\n  - { name: control-plane, nodes: 1 }\n`,
      ),
      [
        'scenario.yaml: pools[1].name: duplicate pool name "a" (also pools[0])',
        'scenario.yaml: pools[2].name: "control-plane" is reserved for the control-plane nodes',
      ],
    );
    assert.deepEqual(
      problems(
        `${V}workloads:\n  - { kind: Deployment, name: web, namespace: shop }\n  - { kind: StatefulSet, name: web, namespace: shop }\n  - { kind: Deployment, name: web }\n`,
      ),
      [
        'scenario.yaml: workloads[1].name: duplicate workload shop/web (also workloads[0]); names must be unique within a namespace',
      ],
    );
    assert.deepEqual(
      problems(`${V}workloads:\n  - { kind: StatefulSet, name: db, replicas: 2 }\n  - { kind: Pod, name: db-1 }\n`),
      ['scenario.yaml: workloads[1].name: pod name default/db-1 is also a pod of the StatefulSet in workloads[0]'],
    );
  });

  it('validates pod disruption budgets', () => {
    assert.deepEqual(
      problems(`${V}workloads:
  - { kind: Deployment, name: a, pdb: { minAvailable: 1, maxUnavailable: 1 } }
  - { kind: Deployment, name: b, pdb: {} }
  - { kind: Deployment, name: c, pdb: { minAvailable: "150%" } }
  - { kind: Deployment, name: d, pdb: { maxUnavailable: "2" } }
  - { kind: Deployment, name: e, pdb: { maxUnavailable: 1, unhealthyPodEvictionPolicy: Always } }
`),
      [
        'scenario.yaml: workloads[0].pdb: must set exactly one of minAvailable or maxUnavailable, not both',
        'scenario.yaml: workloads[1].pdb: must set exactly one of minAvailable or maxUnavailable',
        'scenario.yaml: workloads[2].pdb.minAvailable: must be a whole number >= 0 or a percentage from "0%" to "100%", got "150%"',
        'scenario.yaml: workloads[3].pdb.maxUnavailable: must be a whole number or a percentage like "50%", got the string "2" (write 2 without quotes)',
        'scenario.yaml: workloads[4].pdb.unhealthyPodEvictionPolicy: must be one of "IfHealthyBudget", "AlwaysAllow", got "Always"; did you mean "AlwaysAllow"?',
      ],
    );
    const ok = parseScenario(
      `${V}workloads:\n  - { kind: Deployment, name: a, pdb: { minAvailable: "50%", unhealthyPodEvictionPolicy: AlwaysAllow } }\n`,
    );
    assert.deepEqual(ok.workloads[0]?.pdb, { minAvailable: '50%', unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('validates taints, tolerations and labels', () => {
    assert.deepEqual(
      problems(`${V}pools:
  - name: a
    nodes: 1
    labels: { zone: 1, "bad key!": x, kup.dev/pool: a }
    taints:
      - { key: dedicated, value: gpu }
      - { key: dedicated, effect: NoSchedul }
workloads:
  - kind: Deployment
    name: w
    tolerations:
      - { operator: Equal, value: x }
      - { key: k, operator: Exists, value: v }
      - { key: k, effect: NoSchedule, tolerationSeconds: 30 }
`),
      [
        'scenario.yaml: pools[0].labels.zone: must be a string (quote it: "1"), got 1',
        'scenario.yaml: pools[0].labels["bad key!"]: must be a label key ([prefix/]name; name of letters, digits, "-", "_" and ".", at most 63 characters), got "bad key!"',
        'scenario.yaml: pools[0].labels["kup.dev/pool"]: is set by the simulator on every node and cannot be set by a pool',
        'scenario.yaml: pools[0].taints[0].effect: is required (NoSchedule, PreferNoSchedule, NoExecute)',
        'scenario.yaml: pools[0].taints[1].effect: must be one of "NoSchedule", "PreferNoSchedule", "NoExecute", got "NoSchedul"; did you mean "NoSchedule"?',
        'scenario.yaml: workloads[0].tolerations[0].key: is required unless operator is Exists (an empty key with Exists tolerates every taint)',
        'scenario.yaml: workloads[0].tolerations[1].value: must be empty when operator is Exists',
        'scenario.yaml: workloads[0].tolerations[2].tolerationSeconds: is only allowed with effect NoExecute',
      ],
    );
  });

  it('validates legacy objects against the removed APIs', () => {
    assert.deepEqual(
      problems(`${V}workloads:
  - { kind: Deployment, name: web, pdb: { maxUnavailable: 1 } }
legacyObjects:
  - { apiVersion: policy/v1beta1, kind: PodDisruptionBudgets, name: a }
  - { apiVersion: apps/v1, kind: Deployment, name: b }
  - { apiVersion: rbac.authorization.k8s.io/v1beta1, kind: ClusterRole, namespace: x, name: c }
  - { apiVersion: policy/v1beta1, kind: PodDisruptionBudget, name: web }
  - { apiVersion: policy/v1beta1, kind: PodDisruptionBudget, name: d, spec: [] }
`),
      [
        'scenario.yaml: legacyObjects[0].kind: "PodDisruptionBudgets" has no removed API version kube-sim knows; did you mean "PodDisruptionBudget"?',
        'scenario.yaml: legacyObjects[1].apiVersion: "apps/v1" is not a removed version of Deployment; use one of "extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"',
        'scenario.yaml: legacyObjects[2].namespace: must not be set: ClusterRole is cluster-scoped',
        'scenario.yaml: legacyObjects[3].name: is the same object as the PDB of the Deployment default/web',
        'scenario.yaml: legacyObjects[4].spec: must be a mapping, got a list',
      ],
    );
    const ok = parseScenario(`${V}legacyObjects:
  - apiVersion: rbac.authorization.k8s.io/v1beta1
    kind: ClusterRole
    name: old-reader
    fields: { rules: [{ apiGroups: [""], resources: [pods], verbs: [get] }] }
`);
    assert.deepEqual(ok.legacyObjects, [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1beta1',
        kind: 'ClusterRole',
        name: 'old-reader',
        fields: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
      },
    ]);
  });

  it('validates timings', () => {
    assert.deepEqual(
      problems(
        `${V}timings:\n  podStart: 2 seconds\n  nodeHeartbeat: 1s\n  nodeMonitorGrace: 500ms\n  zeroDelay: yes\n`,
      ),
      [
        'scenario.yaml: timings.podStart: must be milliseconds >= 0 (500) or a duration with a unit ("500ms", "2s", "1m"), got "2 seconds"',
        'scenario.yaml: timings.nodeMonitorGrace: must be longer than nodeHeartbeat (1000ms) or healthy nodes flap to NotReady, got 500ms',
        'scenario.yaml: timings.zeroDelay: must be true or false, got "yes"',
      ],
    );
  });

  it('validates faults and their references', () => {
    assert.deepEqual(
      problems(
        withPool(`workloads:
  - { kind: Deployment, name: web, namespace: shop }
  - { kind: Pod, name: p, node: general-3 }
faults:
  apiErrorRate: 1.5
  nodesNotReady: [genral-1, general/9, general/*, general-1, general/1]
  nodesNeverReady: [gpu/*]
  evictionRefused: [{ namespace: shop, name: wbe }]
`),
      ),
      [
        'scenario.yaml: workloads[1].node: pool "general" has 3 nodes (indexes 0-2), got "general-3"',
        'scenario.yaml: faults.apiErrorRate: must be a number from 0 to 1, got 1.5',
        'scenario.yaml: faults.nodesNotReady[0]: unknown node "genral-1": nodes are named <pool>-<index> ("general-0") or control-plane-<index>, or written pool/index; did you mean "general-1"?',
        'scenario.yaml: faults.nodesNotReady[1]: pool "general" has 3 nodes (indexes 0-2), got "general/9"',
        'scenario.yaml: faults.nodesNotReady[2]: unknown node "general/*": nodes are named <pool>-<index> ("general-0") or control-plane-<index>, or written pool/index',
        'scenario.yaml: faults.nodesNotReady[4]: lists node general-1 twice',
        'scenario.yaml: faults.nodesNeverReady[0]: unknown node "gpu/*": nodes are named <pool>-<index> ("general-0") or control-plane-<index>, written pool/index, or pool/* for every node of a pool',
        'scenario.yaml: faults.evictionRefused[0]: no workload shop/wbe in workloads; did you mean "web"?',
      ],
    );
  });

  it('validates system components', () => {
    assert.deepEqual(
      problems(`${V}systemComponents:\n  coreDnsVersion: v1.11.3\n  cni: { name: Calico, version: latest }\n`),
      [
        'scenario.yaml: systemComponents.coreDnsVersion: must be "x.y.z" without the leading "v": write "1.11.3", got "v1.11.3"',
        'scenario.yaml: systemComponents.cni.name: must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters), got "Calico"; did you mean "calico"?',
        'scenario.yaml: systemComponents.cni.version: must be a version such as "v3.28.0" or "1.15.6", got "latest"',
      ],
    );
  });

  it('gives lines for problems inside flow mappings and for missing keys', () => {
    const err = rejection(`${V}pools:\n  - { name: a, nodes: 1 }\n  - { name: b }\n`);
    assert.equal(err.message, 'scenario.yaml: pools[1].nodes: is required (worker nodes in the pool)');
    // The key is missing, so the issue points at the pool that lacks it.
    assert.deepEqual([err.issues[0]?.line, err.issues[0]?.column], [4, 5]);
  });
});

describe('scenarioFromObject', () => {
  it('accepts plain data and built scenarios alike', () => {
    const demo = defaultDemoScenario();
    assert.deepEqual(scenarioFromObject(demo), demo);
    const s = scenarioFromObject({ kubernetesVersion: '1.31.0', pools: [{ name: 'p', nodes: 1 }] });
    assert.equal(s.pools[0]?.kubeletVersion, '1.31.0');
  });

  it('leaves the source out of messages when there is none', () => {
    assert.throws(() => scenarioFromObject({ kubernetesVersion: '1.31.0', pools: [{ name: 'p', nodes: 'ten' }] }), {
      name: 'ScenarioError',
      message: 'pools[0].nodes: must be a whole number >= 0, got "ten"',
    });
  });

  it('caps long messages but keeps every issue', () => {
    const pools = Array.from({ length: 40 }, (_, i) => ({ name: `p${i}`, nodes: -1 }));
    try {
      scenarioFromObject({ kubernetesVersion: '1.31.0', pools });
      assert.fail('expected a ScenarioError');
    } catch (err) {
      assert.ok(err instanceof ScenarioError);
      assert.equal(err.issues.length, 40);
      const lines = err.message.split('\n');
      assert.equal(lines.length, 26);
      assert.equal(lines.at(-1), '... and 15 more problems');
    }
  });
});
