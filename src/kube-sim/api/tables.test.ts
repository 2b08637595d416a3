import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Table, TableOptions } from './tables.ts';
import { buildTable, humanDuration } from './tables.ts';

const NOW = Date.parse('2024-06-01T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** An RFC 3339 timestamp `ms` before NOW, as stored objects carry them. */
function ago(ms: number): string {
  return new Date(NOW - ms).toISOString().replace('.000Z', 'Z');
}

const OPTIONS: TableOptions = { includeObject: 'Metadata', now: NOW };

const RESOURCES = {
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node' },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod' },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' },
  events: { group: '', version: 'v1', plural: 'events', kind: 'Event' },
  services: { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  endpoints: { group: '', version: 'v1', plural: 'endpoints', kind: 'Endpoints' },
  configmaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  serviceaccounts: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount' },
  persistentvolumeclaims: { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim' },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
  replicasets: { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet' },
  daemonsets: { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet' },
  statefulsets: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' },
  controllerrevisions: { group: 'apps', version: 'v1', plural: 'controllerrevisions', kind: 'ControllerRevision' },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job' },
  cronjobs: { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob' },
  poddisruptionbudgets: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' },
  horizontalpodautoscalers: {
    group: 'autoscaling',
    version: 'v2',
    plural: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
  },
  flowschemas: { group: 'flowcontrol.apiserver.k8s.io', version: 'v1', plural: 'flowschemas', kind: 'FlowSchema' },
} as const;

type ResourceName = keyof typeof RESOURCES;

function table(resource: ResourceName, objects: Record<string, unknown>[], options: TableOptions = OPTIONS): Table {
  return buildTable(RESOURCES[resource], objects, options);
}

/** The row of one object as a map from column name to cell, so assertions read like `kubectl get -o wide`. */
function row(resource: ResourceName, object: Record<string, unknown>): Record<string, unknown> {
  const t = table(resource, [object]);
  const first = t.rows[0];
  assert.ok(first);
  assert.equal(first.cells.length, t.columnDefinitions.length, 'one cell per column');
  return Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, first.cells[i]]));
}

function meta(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    namespace: 'shop',
    uid: `uid-${name}`,
    resourceVersion: '42',
    creationTimestamp: ago(5 * MINUTE + 12 * SECOND),
    ...extra,
  };
}

describe('humanDuration', () => {
  // staging/src/k8s.io/apimachinery/pkg/util/duration/duration_test.go, TestHumanDuration.
  const cases: [number, string][] = [
    [SECOND, '1s'],
    [70 * SECOND, '70s'],
    [190 * SECOND, '3m10s'],
    [70 * MINUTE, '70m'],
    [47 * HOUR, '47h'],
    [49 * HOUR, '2d1h'],
    [(8 * 24 + 2) * HOUR, '8d'],
    [367 * DAY, '367d'],
    [(365 * 2 * 24 + 25) * HOUR, '2y1d'],
    [(365 * 8 * 24 + 2) * HOUR, '8y'],
  ];
  // TestHumanDurationBoundaries (-2s+1ns becomes -1999ms: durations here are whole milliseconds).
  const boundaries: [number, string][] = [
    [-2 * SECOND, '<invalid>'],
    [-2 * SECOND + 1, '0s'],
    [0, '0s'],
    [SECOND - 1, '0s'],
    [2 * MINUTE - 1, '119s'],
    [2 * MINUTE, '2m'],
    [2 * MINUTE + SECOND, '2m1s'],
    [10 * MINUTE - 1, '9m59s'],
    [10 * MINUTE, '10m'],
    [10 * MINUTE + SECOND, '10m'],
    [3 * HOUR - 1, '179m'],
    [3 * HOUR, '3h'],
    [3 * HOUR + MINUTE, '3h1m'],
    [8 * HOUR - 1, '7h59m'],
    [8 * HOUR, '8h'],
    [8 * HOUR + 59 * MINUTE, '8h'],
    [2 * DAY - 1, '47h'],
    [2 * DAY, '2d'],
    [2 * DAY + HOUR, '2d1h'],
    [8 * DAY - 1, '7d23h'],
    [8 * DAY, '8d'],
    [8 * DAY + 23 * HOUR, '8d'],
    [2 * 365 * DAY - 1, '729d'],
    [2 * 365 * DAY, '2y'],
    [2 * 365 * DAY + 23 * HOUR, '2y'],
    [2 * 365 * DAY + 23 * HOUR + 59 * MINUTE, '2y'],
    [2 * 365 * DAY + DAY - 1, '2y'],
    [2 * 365 * DAY + DAY, '2y1d'],
    [3 * 365 * DAY, '3y'],
    [4 * 365 * DAY, '4y'],
    [5 * 365 * DAY, '5y'],
    [6 * 365 * DAY, '6y'],
    [7 * 365 * DAY, '7y'],
    [8 * 365 * DAY - 1, '7y364d'],
    [8 * 365 * DAY, '8y'],
    [8 * 365 * DAY + 364 * DAY, '8y'],
    [9 * 365 * DAY, '9y'],
  ];
  for (const [ms, want] of [...cases, ...boundaries]) {
    it(`${ms}ms is ${want}`, () => assert.equal(humanDuration(ms), want));
  }

  it('is <invalid> for NaN', () => assert.equal(humanDuration(Number.NaN), '<invalid>'));
});

describe('nodes', () => {
  const readyNode = (
    name: string,
    status: string | undefined,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: meta(name, { namespace: undefined, labels: { 'kubernetes.io/hostname': name } }),
    spec: {},
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        ...(status === undefined ? [] : [{ type: 'Ready', status }]),
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.0.5' },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.29.4',
        osImage: 'Ubuntu 22.04.4 LTS',
        kernelVersion: '5.15.0-105-generic',
        containerRuntimeVersion: 'containerd://1.7.13',
      },
    },
    ...extra,
  });

  it('prints a ready control-plane node with its version and the wide columns', () => {
    const node = readyNode('cp-1', 'True');
    (node.metadata as Record<string, unknown>).labels = { 'node-role.kubernetes.io/control-plane': '' };
    assert.deepEqual(row('nodes', node), {
      Name: 'cp-1',
      Status: 'Ready',
      Roles: 'control-plane',
      Age: '5m12s',
      Version: 'v1.29.4',
      'Internal-IP': '10.0.0.5',
      'External-IP': '<none>',
      'OS-Image': 'Ubuntu 22.04.4 LTS',
      'Kernel-Version': '5.15.0-105-generic',
      'Container-Runtime': 'containerd://1.7.13',
    });
  });

  it('prints NotReady for Ready=False and for Ready=Unknown, Unknown without a Ready condition', () => {
    assert.equal(row('nodes', readyNode('a', 'False')).Status, 'NotReady');
    assert.equal(row('nodes', readyNode('b', 'Unknown')).Status, 'NotReady');
    assert.equal(row('nodes', readyNode('c', undefined)).Status, 'Unknown');
  });

  it('appends SchedulingDisabled to a cordoned node', () => {
    assert.equal(
      row('nodes', readyNode('a', 'True', { spec: { unschedulable: true } })).Status,
      'Ready,SchedulingDisabled',
    );
    assert.equal(
      row('nodes', readyNode('b', 'False', { spec: { unschedulable: true } })).Status,
      'NotReady,SchedulingDisabled',
    );
  });

  it('prints <none> without role labels, and sorted roles from both label forms', () => {
    assert.equal(row('nodes', readyNode('w', 'True')).Roles, '<none>');
    const node = readyNode('x', 'True');
    (node.metadata as Record<string, unknown>).labels = {
      'node-role.kubernetes.io/worker': '',
      'node-role.kubernetes.io/': '',
      'kubernetes.io/role': 'infra',
      'node-role.kubernetes.io/control-plane': '',
    };
    assert.equal(row('nodes', node).Roles, 'control-plane,infra,worker');
  });

  it('prints <unknown> for missing node info and an empty version', () => {
    const r = row('nodes', { metadata: { name: 'bare' } });
    assert.equal(r.Version, '');
    assert.equal(r.Age, '<unknown>');
    assert.equal(r['OS-Image'], '<unknown>');
    assert.equal(r['Internal-IP'], '<none>');
  });

  it('has the upstream columns, wide ones at priority 1', () => {
    const t = table('nodes', []);
    assert.deepEqual(
      t.columnDefinitions.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Status', 'string', '', 0],
        ['Roles', 'string', '', 0],
        ['Age', 'string', '', 0],
        ['Version', 'string', '', 0],
        ['Internal-IP', 'string', '', 1],
        ['External-IP', 'string', '', 1],
        ['OS-Image', 'string', '', 1],
        ['Kernel-Version', 'string', '', 1],
        ['Container-Runtime', 'string', '', 1],
      ],
    );
    assert.equal(t.columnDefinitions[4]?.description, 'Kubelet Version reported by the node.');
  });
});

describe('pods', () => {
  const running = (ready = true) => ({
    state: { running: { startedAt: ago(HOUR) } },
    ready,
    restartCount: 0,
    started: true,
  });

  function pod(extra: {
    metadata?: Record<string, unknown>;
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
  }) {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta('cart-7d9', extra.metadata),
      spec: { nodeName: 'worker-1', containers: [{ name: 'app', image: 'cart:1' }], ...extra.spec },
      status: extra.status ?? {},
    };
  }

  it('prints a running pod 1/1 with its IP, node and <none> placeholders', () => {
    const r = row(
      'pods',
      pod({
        status: {
          phase: 'Running',
          podIP: '10.1.0.7',
          podIPs: [{ ip: '10.1.0.7' }],
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [{ name: 'app', ...running() }],
        },
      }),
    );
    assert.deepEqual(r, {
      Name: 'cart-7d9',
      Ready: '1/1',
      Status: 'Running',
      Restarts: '0',
      Age: '5m12s',
      IP: '10.1.0.7',
      Node: 'worker-1',
      'Nominated Node': '<none>',
      'Readiness Gates': '<none>',
    });
  });

  it('counts only ready running containers, and reads podIP when podIPs is absent', () => {
    const r = row(
      'pods',
      pod({
        spec: { containers: [{ name: 'a' }, { name: 'b' }] },
        status: {
          phase: 'Running',
          podIP: '10.1.0.8',
          containerStatuses: [
            { name: 'a', ...running() },
            { name: 'b', ...running(false) },
          ],
        },
      }),
    );
    assert.equal(r.Ready, '1/2');
    assert.equal(r.IP, '10.1.0.8');
  });

  it('prints a pending pod with no statuses as 0/1 Pending on no node', () => {
    const r = row('pods', pod({ spec: { nodeName: undefined }, status: { phase: 'Pending' } }));
    assert.equal(r.Ready, '0/1');
    assert.equal(r.Status, 'Pending');
    assert.equal(r.Node, '<none>');
    assert.equal(r.IP, '<none>');
  });

  it('prints Terminating once deletionTimestamp is set, unless the pod already finished', () => {
    const deleting = { deletionTimestamp: ago(10 * SECOND), deletionGracePeriodSeconds: 30 };
    const live = { phase: 'Running', containerStatuses: [{ name: 'app', ...running() }] };
    assert.equal(row('pods', pod({ metadata: deleting, status: live })).Status, 'Terminating');
    const done = {
      phase: 'Succeeded',
      containerStatuses: [
        { name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } }, ready: false, restartCount: 0 },
      ],
    };
    assert.equal(row('pods', pod({ metadata: deleting, status: done })).Status, 'Completed');
    assert.equal(row('pods', pod({ metadata: deleting, status: { ...live, reason: 'NodeLost' } })).Status, 'Unknown');
  });

  it('prints the waiting reason and the restarts with the age of the last one', () => {
    const r = row(
      'pods',
      pod({
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'app',
              state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s' } },
              lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(2 * MINUTE + 5 * SECOND) } },
              ready: false,
              restartCount: 5,
            },
          ],
        },
      }),
    );
    assert.equal(r.Status, 'CrashLoopBackOff');
    assert.equal(r.Ready, '0/1');
    assert.equal(r.Restarts, '5 (2m5s ago)');
  });

  it('prints ExitCode and Signal for terminations without a reason', () => {
    const terminated = (t: Record<string, unknown>) =>
      row(
        'pods',
        pod({
          status: { phase: 'Running', containerStatuses: [{ name: 'app', state: { terminated: t }, restartCount: 0 }] },
        }),
      ).Status;
    assert.equal(terminated({ exitCode: 137 }), 'ExitCode:137');
    assert.equal(terminated({ exitCode: 0, signal: 9 }), 'Signal:9');
  });

  it('prints Init:0/1 while the first init container runs, and its failure reasons', () => {
    const withInit = (initStatus: Record<string, unknown>) =>
      row(
        'pods',
        pod({
          spec: { initContainers: [{ name: 'migrate', image: 'cart-migrate:1' }] },
          status: {
            phase: 'Pending',
            conditions: [{ type: 'Initialized', status: 'False' }],
            initContainerStatuses: [{ name: 'migrate', restartCount: 0, ready: false, ...initStatus }],
            containerStatuses: [
              { name: 'app', state: { waiting: { reason: 'PodInitializing' } }, ready: false, restartCount: 0 },
            ],
          },
        }),
      );
    const r = withInit({ state: { running: { startedAt: ago(SECOND) } } });
    assert.equal(r.Status, 'Init:0/1');
    assert.equal(r.Ready, '0/1');
    assert.equal(
      withInit({ state: { waiting: { reason: 'CrashLoopBackOff' } }, restartCount: 3 }).Status,
      'Init:CrashLoopBackOff',
    );
    assert.equal(withInit({ state: { terminated: { exitCode: 2, reason: 'Error' } } }).Status, 'Init:Error');
    assert.equal(withInit({ state: { terminated: { exitCode: 2 } } }).Status, 'Init:ExitCode:2');
    assert.equal(withInit({ state: { waiting: { reason: 'CrashLoopBackOff' } }, restartCount: 3 }).Restarts, '3');
  });

  it('counts a started sidecar (restartable init container) in READY and moves on to the app containers', () => {
    const r = row(
      'pods',
      pod({
        spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
        status: {
          phase: 'Running',
          conditions: [
            { type: 'Initialized', status: 'True' },
            { type: 'Ready', status: 'True' },
          ],
          initContainerStatuses: [
            { name: 'proxy', started: true, ready: true, restartCount: 1, state: { running: {} } },
          ],
          containerStatuses: [{ name: 'app', ...running() }],
        },
      }),
    );
    assert.equal(r.Ready, '2/2');
    assert.equal(r.Status, 'Running');
    assert.equal(r.Restarts, '1');
  });

  it('prints Running, not Completed, while another container still runs', () => {
    const r = row(
      'pods',
      pod({
        spec: { containers: [{ name: 'app' }, { name: 'job' }] },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { name: 'app', ...running() },
            { name: 'job', state: { terminated: { exitCode: 0, reason: 'Completed' } }, restartCount: 0 },
          ],
        },
      }),
    );
    assert.equal(r.Status, 'Running');
  });

  it('prints SchedulingGated, nominated node and readiness gates', () => {
    const r = row(
      'pods',
      pod({
        spec: {
          nodeName: undefined,
          readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/db' }],
        },
        status: {
          phase: 'Pending',
          nominatedNodeName: 'worker-2',
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' },
            { type: 'example.com/lb', status: 'True' },
          ],
        },
      }),
    );
    assert.equal(r.Status, 'SchedulingGated');
    assert.equal(r['Nominated Node'], 'worker-2');
    assert.equal(r['Readiness Gates'], '1/2');
  });

  it('marks finished pods with the Completed row condition', () => {
    const t = table('pods', [
      pod({ status: { phase: 'Succeeded' } }),
      pod({ status: { phase: 'Failed' } }),
      pod({ status: { phase: 'Running' } }),
    ]);
    assert.deepEqual(t.rows[0]?.conditions, [
      { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
    ]);
    assert.equal(t.rows[1]?.conditions?.[0]?.reason, 'Failed');
    assert.equal(t.rows[2]?.conditions, undefined);
    assert.equal('conditions' in (t.rows[2] ?? {}), false);
  });

  it('has RESTARTS as a string column and four wide columns', () => {
    const cols = table('pods', []).columnDefinitions;
    assert.deepEqual(
      cols.map((c) => `${c.name}:${c.type}:${c.priority}`),
      [
        'Name:string:0',
        'Ready:string:0',
        'Status:string:0',
        'Restarts:string:0',
        'Age:string:0',
        'IP:string:1',
        'Node:string:1',
        'Nominated Node:string:1',
        'Readiness Gates:string:1',
      ],
    );
  });
});

describe('poddisruptionbudgets', () => {
  const pdb = (spec: Record<string, unknown>, disruptionsAllowed?: number) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta('cart-pdb', { creationTimestamp: ago(3 * DAY + 4 * HOUR) }),
    spec: { selector: { matchLabels: { app: 'cart' } }, ...spec },
    status:
      disruptionsAllowed === undefined
        ? {}
        : { disruptionsAllowed, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 },
  });

  it('prints an integer minAvailable, N/A for maxUnavailable and the allowed disruptions as a number', () => {
    assert.deepEqual(row('poddisruptionbudgets', pdb({ minAvailable: 2 }, 1)), {
      Name: 'cart-pdb',
      'Min Available': '2',
      'Max Unavailable': 'N/A',
      'Allowed Disruptions': 1,
      Age: '3d4h',
    });
  });

  it('prints a percentage minAvailable as given', () => {
    const r = row('poddisruptionbudgets', pdb({ minAvailable: '50%' }, 0));
    assert.equal(r['Min Available'], '50%');
    assert.equal(r['Allowed Disruptions'], 0);
  });

  it('prints maxUnavailable with N/A for minAvailable, and 0 before the controller has written status', () => {
    const r = row('poddisruptionbudgets', pdb({ maxUnavailable: 1 }));
    assert.equal(r['Min Available'], 'N/A');
    assert.equal(r['Max Unavailable'], '1');
    assert.equal(r['Allowed Disruptions'], 0);
    assert.equal(row('poddisruptionbudgets', pdb({ maxUnavailable: '25%' }))['Max Unavailable'], '25%');
  });

  it('uses the same printer for policy/v1beta1', () => {
    const t = buildTable(
      { group: 'policy', version: 'v1beta1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
      [pdb({ minAvailable: 1 }, 2)],
      OPTIONS,
    );
    assert.deepEqual(
      t.columnDefinitions.map((c) => c.name),
      ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age'],
    );
    assert.equal(t.columnDefinitions[3]?.type, 'integer');
  });
});

describe('apps workloads', () => {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: {
      containers: [
        { name: 'web', image: 'nginx:1.25' },
        { name: 'log', image: 'fluent-bit:3' },
      ],
    },
  };

  it('prints a deployment READY ready/desired, UP-TO-DATE and AVAILABLE as numbers, and its wide columns', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web', { creationTimestamp: ago(26 * HOUR) }),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', tier: 'front' } }, template },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    };
    assert.deepEqual(row('deployments', deployment), {
      Name: 'web',
      Ready: '2/3',
      'Up-to-date': 3,
      Available: 2,
      Age: '26h',
      Containers: 'web,log',
      Images: 'nginx:1.25,fluent-bit:3',
      Selector: 'app=web,tier=front',
    });
  });

  it('defaults a deployment to one replica and zero status, and prints set-based selectors sorted by key', () => {
    const r = row('deployments', {
      metadata: meta('api'),
      spec: {
        selector: {
          matchLabels: { tier: 'back' },
          matchExpressions: [
            { key: 'env', operator: 'In', values: ['prod', 'canary'] },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
        template,
      },
    });
    assert.equal(r.Ready, '0/1');
    assert.equal(r['Up-to-date'], 0);
    assert.equal(r.Selector, 'env in (canary,prod),!legacy,tier=back');
  });

  it('prints <invalid> (deployments) or <error> (others) for a selector upstream cannot convert', () => {
    const selector = { matchExpressions: [{ key: 'app', operator: 'Bogus', values: ['x'] }] };
    assert.equal(row('deployments', { metadata: meta('d'), spec: { selector } }).Selector, '<invalid>');
    assert.equal(row('replicasets', { metadata: meta('r'), spec: { selector } }).Selector, '<error>');
    assert.equal(row('deployments', { metadata: meta('e'), spec: { selector: {} } }).Selector, '');
    assert.equal(row('replicasets', { metadata: meta('e'), spec: { selector: {} } }).Selector, '<none>');
  });

  it('prints replica sets, daemon sets and stateful sets', () => {
    assert.deepEqual(
      table('replicasets', [
        {
          metadata: meta('web-5d8f'),
          spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template },
          status: { replicas: 2, readyReplicas: 1 },
        },
      ]).rows[0]?.cells,
      ['web-5d8f', 2, 2, 1, '5m12s', 'web,log', 'nginx:1.25,fluent-bit:3', 'app=web'],
    );
    const ds = row('daemonsets', {
      metadata: meta('node-exporter'),
      spec: {
        selector: { matchLabels: { app: 'ne' } },
        template: {
          spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'ne', image: 'ne:1' }] },
        },
      },
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      },
    });
    assert.deepEqual(
      [ds.Desired, ds.Current, ds.Ready, ds['Up-to-date'], ds.Available, ds['Node Selector'], ds.Selector],
      [3, 3, 2, 3, 2, 'kubernetes.io/os=linux', 'app=ne'],
    );
    assert.equal(row('daemonsets', { metadata: meta('x') })['Node Selector'], '<none>');
    const sts = row('statefulsets', {
      metadata: meta('db'),
      spec: { replicas: 3, template },
      status: { readyReplicas: 3 },
    });
    assert.deepEqual(sts, {
      Name: 'db',
      Ready: '3/3',
      Age: '5m12s',
      Containers: 'web,log',
      Images: 'nginx:1.25,fluent-bit:3',
    });
  });

  it('prints a controller revision with its controller', () => {
    const r = row('controllerrevisions', {
      metadata: meta('ne-7c9', {
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'node-exporter', uid: 'u', controller: true },
        ],
      }),
      revision: 4,
    });
    assert.equal(r.Controller, 'daemonset.apps/node-exporter');
    assert.equal(r.Revision, 4);
    assert.equal(row('controllerrevisions', { metadata: meta('orphan'), revision: 1 }).Controller, '<none>');
  });
});

describe('batch', () => {
  it('prints jobs with status, completions and duration', () => {
    const running = row('jobs', {
      metadata: meta('backup'),
      spec: { completions: 3, parallelism: 1 },
      status: { succeeded: 1, startTime: ago(90 * SECOND) },
    });
    assert.deepEqual([running.Status, running.Completions, running.Duration], ['Running', '1/3', '90s']);
    const done = row('jobs', {
      metadata: meta('migrate'),
      spec: {},
      status: {
        succeeded: 1,
        startTime: ago(HOUR),
        completionTime: ago(HOUR - 3 * MINUTE - 10 * SECOND),
        conditions: [{ type: 'Complete', status: 'True' }],
      },
    });
    assert.deepEqual([done.Status, done.Completions, done.Duration], ['Complete', '1/1', '3m10s']);
    assert.equal(row('jobs', { metadata: meta('p'), spec: { parallelism: 4 } }).Completions, '0/1 of 4');
    assert.equal(row('jobs', { metadata: meta('p'), spec: {} }).Duration, '');
  });

  it('prints cron jobs with <none> for an unset time zone and last schedule', () => {
    const r = row('cronjobs', {
      metadata: meta('nightly'),
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:1' }] } } } },
      },
      status: {},
    });
    assert.deepEqual(
      [r.Schedule, r.Timezone, r.Suspend, r.Active, r['Last Schedule'], r.Containers, r.Selector],
      ['0 3 * * *', '<none>', 'False', 0, '<none>', 'b', '<none>'],
    );
    const s = row('cronjobs', {
      metadata: meta('n'),
      spec: { schedule: '@hourly', timeZone: 'Etc/UTC', suspend: true },
      status: { active: [{ name: 'n-1' }], lastScheduleTime: ago(12 * MINUTE) },
    });
    assert.deepEqual([s.Timezone, s.Suspend, s.Active, s['Last Schedule']], ['Etc/UTC', 'True', 1, '12m']);
  });
});

describe('core objects', () => {
  it('prints namespaces, config maps, secrets and service accounts', () => {
    assert.deepEqual(
      table('namespaces', [{ metadata: meta('shop'), status: { phase: 'Terminating' } }]).rows[0]?.cells,
      ['shop', 'Terminating', '5m12s'],
    );
    assert.deepEqual(table('namespaces', [{ metadata: meta('new') }]).rows[0]?.cells, ['new', 'Active', '5m12s']);
    assert.deepEqual(
      table('configmaps', [{ metadata: meta('cfg'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }]).rows[0]
        ?.cells,
      ['cfg', 3, '5m12s'],
    );
    assert.deepEqual(
      table('secrets', [{ metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }])
        .rows[0]?.cells,
      ['tls', 'kubernetes.io/tls', 2, '5m12s'],
    );
    assert.deepEqual(table('secrets', [{ metadata: meta('plain') }]).rows[0]?.cells, ['plain', 'Opaque', 0, '5m12s']);
    assert.deepEqual(table('serviceaccounts', [{ metadata: meta('default') }]).rows[0]?.cells, ['default', 0, '5m12s']);
  });

  it('prints services of each type', () => {
    const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
      row('services', { metadata: meta('web'), spec, status });
    assert.deepEqual(
      svc({
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        selector: { k8s: 'dns' },
      }),
      {
        Name: 'web',
        Type: 'ClusterIP',
        'Cluster-IP': '10.96.0.10',
        'External-IP': '<none>',
        'Port(s)': '53/UDP,53/TCP',
        Age: '5m12s',
        Selector: 'k8s=dns',
      },
    );
    const np = svc({ type: 'NodePort', clusterIP: '10.96.1.1', ports: [{ port: 80, nodePort: 30080 }] });
    assert.deepEqual([np['Cluster-IP'], np['Port(s)'], np.Selector], ['10.96.1.1', '80:30080/TCP', '<none>']);
    assert.equal(svc({ type: 'LoadBalancer', ports: [] })['External-IP'], '<pending>');
    assert.equal(svc({ type: 'LoadBalancer' })['Port(s)'], '<none>');
    assert.equal(
      svc(
        { type: 'LoadBalancer', externalIPs: ['192.0.2.9'] },
        { loadBalancer: { ingress: [{ ip: '203.0.113.7' }, { hostname: 'a-very-long-load-balancer.example.com' }] } },
      )['External-IP'],
      '203.0.113.7,a-very-long-load-balancer.example.com,192.0.2.9',
    );
    assert.equal(svc({ type: 'ExternalName', externalName: 'db.example.com' })['External-IP'], 'db.example.com');
    assert.equal(svc({ clusterIP: 'None' })['Cluster-IP'], 'None');
  });

  it('prints endpoints, three at most', () => {
    const addresses = (...ips: string[]) => ips.map((ip) => ({ ip }));
    assert.equal(row('endpoints', { metadata: meta('web') }).Endpoints, '<none>');
    assert.equal(
      row('endpoints', {
        metadata: meta('web'),
        subsets: [{ addresses: addresses('10.1.0.1', 'fd00::1'), ports: [{ port: 8080 }] }],
      }).Endpoints,
      '10.1.0.1:8080,[fd00::1]:8080',
    );
    assert.equal(
      row('endpoints', {
        metadata: meta('web'),
        subsets: [{ addresses: addresses('10.1.0.1', '10.1.0.2', '10.1.0.3'), ports: [{ port: 80 }, { port: 443 }] }],
      }).Endpoints,
      '10.1.0.1:80,10.1.0.2:80,10.1.0.3:80 + 3 more...',
    );
    assert.equal(
      row('endpoints', { metadata: meta('headless'), subsets: [{ addresses: addresses('10.1.0.9') }] }).Endpoints,
      '10.1.0.9',
    );
  });

  it('prints persistent volume claims, bound and pending', () => {
    const bound = row('persistentvolumeclaims', {
      metadata: meta('data'),
      spec: { volumeName: 'pv-1', storageClassName: 'standard', resources: { requests: { storage: '5Gi' } } },
      status: { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'] },
    });
    assert.deepEqual(bound, {
      Name: 'data',
      Status: 'Bound',
      Volume: 'pv-1',
      Capacity: '10Gi',
      'Access Modes': 'RWO,RWX',
      StorageClass: 'standard',
      VolumeAttributesClass: '<unset>',
      Age: '5m12s',
      VolumeMode: 'Filesystem',
    });
    const pending = row('persistentvolumeclaims', {
      metadata: meta('new', { deletionTimestamp: ago(SECOND) }),
      spec: { resources: { requests: { storage: '1Gi' } } },
    });
    assert.deepEqual(
      [pending.Status, pending.Volume, pending.Capacity, pending['Access Modes'], pending.StorageClass],
      ['Terminating', '', '', '', ''],
    );
  });

  it('prints events with the wide columns in upstream order', () => {
    const t = table('events', [
      {
        metadata: meta('cart-7d9.17c'),
        involvedObject: { kind: 'Pod', name: 'cart-7d9', namespace: 'shop', fieldPath: 'spec.containers{app}' },
        reason: 'BackOff',
        message: 'Back-off restarting failed container\n',
        source: { component: 'kubelet', host: 'worker-1' },
        firstTimestamp: ago(HOUR),
        lastTimestamp: ago(30 * SECOND),
        count: 12,
        type: 'Warning',
      },
      {
        metadata: meta('new-api'),
        involvedObject: { kind: 'Node' },
        reason: 'Rebooted',
        eventTime: '2024-06-01T11:59:00.123456Z',
        reportingComponent: 'kubelet',
        type: 'Normal',
      },
    ]);
    assert.deepEqual(
      t.columnDefinitions.map((c) => `${c.name}:${c.priority}`),
      [
        'Last Seen:0',
        'Type:0',
        'Reason:0',
        'Object:0',
        'Subobject:1',
        'Source:1',
        'Message:0',
        'First Seen:1',
        'Count:1',
        'Name:1',
      ],
    );
    assert.deepEqual(t.rows[0]?.cells, [
      '30s',
      'Warning',
      'BackOff',
      'pod/cart-7d9',
      'spec.containers{app}',
      'kubelet, worker-1',
      'Back-off restarting failed container',
      '60m',
      12,
      'cart-7d9.17c',
    ]);
    assert.deepEqual(t.rows[1]?.cells, ['59s', 'Normal', 'Rebooted', 'node', '', 'kubelet', '', '59s', 1, 'new-api']);
  });

  it('prints leases with their holder', () => {
    assert.deepEqual(
      table('leases', [{ metadata: meta('kup-run'), spec: { holderIdentity: 'kup-1' } }]).rows[0]?.cells,
      ['kup-run', 'kup-1', '5m12s'],
    );
    assert.deepEqual(table('leases', [{ metadata: meta('free'), spec: {} }]).rows[0]?.cells, ['free', '', '5m12s']);
  });
});

describe('cluster-level printers', () => {
  it('prints HPA targets', () => {
    const r = row('horizontalpodautoscalers', {
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          { type: 'Pods', pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '100' } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '512Mi' } } },
        ],
      },
      status: {
        currentReplicas: 3,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 45, averageValue: '450m' } } },
        ],
      },
    });
    assert.deepEqual(
      [r.Reference, r.Targets, r.MinPods, r.MaxPods, r.Replicas],
      ['Deployment/web', 'cpu: 45%/80%, <unknown>/100 + 1 more...', '1', 10, 3],
    );
    assert.equal(row('horizontalpodautoscalers', { metadata: meta('x'), spec: { minReplicas: 2 } }).Targets, '<none>');
  });

  it('sorts flow schemas by matching precedence, then name, as upstream lists them', () => {
    const fs = (name: string, matchingPrecedence?: number) => ({
      metadata: meta(name),
      spec: {
        priorityLevelConfiguration: { name: 'workload-low' },
        ...(matchingPrecedence ? { matchingPrecedence } : {}),
        distinguisherMethod: { type: 'ByUser' },
      },
      status: { conditions: [{ type: 'Dangling', status: 'False' }] },
    });
    const t = table('flowschemas', [
      fs('service-accounts', 9000),
      fs('b-default'),
      fs('exempt', 1),
      fs('a-default', 1000),
    ]);
    assert.deepEqual(
      t.rows.map((r) => [r.cells[0], r.cells[2]]),
      [
        ['exempt', 1],
        ['a-default', 1000],
        ['b-default', 1000],
        ['service-accounts', 9000],
      ],
    );
    assert.deepEqual(t.rows[0]?.cells.slice(1), ['workload-low', 1, 'ByUser', '5m12s', 'False']);
  });
});

describe('default table', () => {
  it('prints Name and Created At for a resource without a printer', () => {
    const t = buildTable(
      { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole' },
      [
        { metadata: { name: 'admin', creationTimestamp: '2024-05-30T08:15:00Z' } },
        { metadata: { name: 'odd', creationTimestamp: '2024-05-30T10:15:00+02:00' } },
        { metadata: { name: 'none' } },
      ],
      OPTIONS,
    );
    assert.deepEqual(t.columnDefinitions, [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description:
          'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
        priority: 0,
      },
      {
        name: 'Created At',
        type: 'date',
        format: '',
        description:
          'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
        priority: 0,
      },
    ]);
    assert.deepEqual(
      t.rows.map((r) => r.cells),
      [
        ['admin', '2024-05-30T08:15:00Z'],
        ['odd', '2024-05-30T08:15:00Z'],
        ['none', '0001-01-01T00:00:00Z'],
      ],
    );
  });

  it('keys printers by group, so a same-named plural of another group gets the default table', () => {
    const t = buildTable(
      { group: 'example.com', version: 'v1', plural: 'pods', kind: 'Pod' },
      [{ metadata: meta('x') }],
      OPTIONS,
    );
    assert.deepEqual(
      t.columnDefinitions.map((c) => c.name),
      ['Name', 'Created At'],
    );
  });
});

describe('table envelope and includeObject', () => {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta('cfg', { labels: { app: 'shop' }, managedFields: [{ manager: 'kubectl' }] }),
    data: { a: '1' },
  };

  it('is a meta.k8s.io/v1 Table carrying the list metadata that is set', () => {
    const t = table('configmaps', [cm], {
      ...OPTIONS,
      listMeta: { resourceVersion: '1234', continue: 'abc', remainingItemCount: 7 },
    });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.metadata, { resourceVersion: '1234', continue: 'abc', remainingItemCount: 7 });
    assert.deepEqual(table('configmaps', [cm, cm], { ...OPTIONS, listMeta: { resourceVersion: '9' } }).metadata, {
      resourceVersion: '9',
    });
    assert.deepEqual(table('configmaps', [], { ...OPTIONS, listMeta: {} }).rows, []);
  });

  it("takes a lone object's resourceVersion when no list metadata is given (a single-object GET)", () => {
    assert.deepEqual(table('configmaps', [cm]).metadata, { resourceVersion: '42' });
  });

  it('carries PartialObjectMetadata with the whole metadata for Metadata (kubectl default)', () => {
    const t = table('configmaps', [cm]);
    assert.deepEqual(t.rows[0]?.object, {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: cm.metadata,
    });
  });

  it('carries the full object at the requested version for Object (kubectl --sort-by)', () => {
    const t = table('configmaps', [cm], { ...OPTIONS, includeObject: 'Object' });
    assert.deepEqual(t.rows[0]?.object, cm);
    const stored = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta('p'),
      spec: { minAvailable: 1 },
    };
    const beta = buildTable(
      { group: 'policy', version: 'v1beta1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
      [stored],
      { ...OPTIONS, includeObject: 'Object' },
    );
    assert.deepEqual(beta.rows[0]?.object, { ...stored, apiVersion: 'policy/v1beta1' });
    const bare = buildTable(RESOURCES.leases, [{ metadata: meta('l') }], { ...OPTIONS, includeObject: 'Object' });
    assert.deepEqual(bare.rows[0]?.object, {
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: meta('l'),
    });
  });

  it('carries null for None, as the apiserver serialises an empty RawExtension', () => {
    const t = table('configmaps', [cm], { ...OPTIONS, includeObject: 'None' });
    assert.equal(t.rows[0]?.object, null);
    assert.equal(JSON.stringify(t.rows[0]), '{"cells":["cfg",1,"5m12s"],"object":null}');
  });

  it('gives every resource one cell per column, even for an empty object', () => {
    for (const name of Object.keys(RESOURCES) as ResourceName[]) {
      const t = table(name, [{}, { metadata: { name: 'x' } }]);
      for (const r of t.rows) assert.equal(r.cells.length, t.columnDefinitions.length, name);
      assert.ok(
        t.columnDefinitions.every((c) => c.description.length > 0),
        `${name} columns are described`,
      );
    }
  });
});
