import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1NodeSystemInfo, V1Pod } from '@kubernetes/client-node';
import { componentOfImage, parseImage } from './images.ts';
import { cpuMilli, formatCpu, formatMemory, memoryBytes } from './quantity.ts';
import { RecordConverter, lastAppliedOf } from './records.ts';
import { fitsNode } from './selectors.ts';
import { parseDeprecatedApiMetric } from './snapshot.ts';
import { testNode } from './test-fixtures.ts';

describe('quantities', () => {
  it('reads CPU and memory as Kubernetes writes them', () => {
    assert.deepEqual(['100m', '0.5', '2', '1500m', undefined].map(cpuMilli), [100, 500, 2000, 1500, 0]);
    assert.deepEqual(['128Mi', '1Gi', '1G', '129e6', '512'].map(memoryBytes), [134217728, 1073741824, 1e9, 129e6, 512]);
    assert.equal(formatCpu(2500), '2500m');
    assert.equal(formatCpu(3000), '3');
    assert.equal(formatMemory(1.5 * 2 ** 30), '1.5Gi');
  });
});

describe('records', () => {
  it('reduces a pod: effective requests, owner, emptyDir, mirror, shared labels', () => {
    const converter = new RecordConverter();
    const pod = (name: string): V1Pod => ({
      metadata: {
        name,
        namespace: 'shop',
        labels: { app: 'web' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'u', controller: true }],
        deletionTimestamp: new Date('2025-01-01T00:00:00Z'),
      },
      spec: {
        nodeName: 'workers-0',
        containers: [
          { name: 'a', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
          { name: 'b', resources: { requests: { cpu: '200m' } } },
        ],
        initContainers: [{ name: 'init', resources: { requests: { cpu: '1', memory: '32Mi' } } }],
        volumes: [
          { name: 'scratch', emptyDir: {} },
          { name: 'data', persistentVolumeClaim: { claimName: 'data-0' } },
        ],
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
      },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const a = converter.pod(pod('a'));
    const b = converter.pod(pod('b'));
    assert.deepEqual(a.requests, { cpuMilli: 1000, memoryBytes: 64 * 2 ** 20 });
    assert.deepEqual(a.owner, { kind: 'ReplicaSet', name: 'web-1' });
    assert.equal(a.emptyDir, true);
    assert.deepEqual(a.pvcs, ['data-0']);
    assert.equal(a.deletingAt, Date.parse('2025-01-01T00:00:00Z'));
    assert.equal(a.ready, true);
    assert.equal(a.labels, b.labels, 'pods of one template share one labels object');
    assert.equal(a.scheduling, b.scheduling, 'and one constraints object');
  });

  it('keeps both halves of a required node affinity term: label expressions and metadata.name fields', () => {
    const record = new RecordConverter().pod({
      metadata: { name: 'agent-x', namespace: 'kube-system' },
      spec: {
        containers: [{ name: 'a' }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }],
                  matchFields: [{ key: 'metadata.name', operator: 'In', values: ['workers-0'] }],
                },
              ],
            },
          },
        },
      },
    });
    assert.deepEqual(record.scheduling?.nodeAffinity, [
      {
        matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }],
        matchFields: [{ key: 'metadata.name', operator: 'In', values: ['workers-0'] }],
      },
    ]);
    assert.ok(fitsNode(record.scheduling, testNode('workers-0', { labels: { zone: 'a' } })));
    assert.ok(!fitsNode(record.scheduling, testNode('workers-1', { labels: { zone: 'a' } })));
  });

  it('reduces a node: pool, role, readiness, allocatable', () => {
    const node: V1Node = {
      metadata: { name: 'ip-10-0-0-1', labels: { 'eks.amazonaws.com/nodegroup': 'general' } },
      spec: { unschedulable: true },
      status: {
        allocatable: { cpu: '3920m', memory: '15Gi', pods: '58' },
        conditions: [
          { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
          { type: 'DiskPressure', status: 'True' },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.30.4-eks-a737599',
          kubeProxyVersion: 'v1.30.4-eks-a737599',
        } as unknown as V1NodeSystemInfo,
      },
    };
    const r = new RecordConverter().node(node);
    assert.equal(r.pool, 'general');
    assert.equal(r.role, 'worker');
    assert.equal(r.ready, 'False');
    assert.equal(r.readyReason, 'KubeletNotReady');
    assert.deepEqual(r.pressure, ['DiskPressure']);
    assert.deepEqual(r.allocatable, { cpuMilli: 3920, memoryBytes: 15 * 2 ** 30, pods: 58 });
    assert.equal(r.unschedulable, true);
  });

  it('reads the apiVersion of a last-applied configuration', () => {
    assert.deepEqual(
      lastAppliedOf({
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration':
            '{"apiVersion":"policy/v1beta1","kind":"PodDisruptionBudget","metadata":{}}\n',
        },
      }),
      { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget' },
    );
    assert.equal(
      lastAppliedOf({ annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'not json' } }),
      undefined,
    );
  });
});

describe('metrics', () => {
  it('parses apiserver_requested_deprecated_apis, ignoring zero gauges and other series', () => {
    const text = [
      '# TYPE apiserver_requested_deprecated_apis gauge',
      'apiserver_requested_deprecated_apis{group="policy",removed_release="1.25",resource="poddisruptionbudgets",subresource="",version="v1beta1"} 1',
      'apiserver_requested_deprecated_apis{group="batch",removed_release="1.25",resource="cronjobs",subresource="",version="v1beta1"} 0',
      'apiserver_request_total{code="200",group="policy"} 7',
    ].join('\n');
    assert.deepEqual(parseDeprecatedApiMetric(text), [
      {
        group: 'policy',
        version: 'v1beta1',
        resource: 'poddisruptionbudgets',
        subresource: '',
        removedRelease: '1.25',
      },
    ]);
  });
});

describe('images and selectors', () => {
  it('reads image references and recognises components', () => {
    assert.deepEqual(parseImage('registry.k8s.io/kube-apiserver:v1.30.4'), {
      repository: 'registry.k8s.io/kube-apiserver',
      tag: 'v1.30.4',
    });
    assert.deepEqual(parseImage('localhost:5000/app@sha256:abc'), { repository: 'localhost:5000/app', tag: 'latest' });
    assert.deepEqual(
      [
        'docker.io/calico/node:v3.28.0',
        'registry.k8s.io/coredns/coredns:v1.11.3',
        'registry.k8s.io/ingress-nginx/controller:v1.11.2@sha256:x',
        'quay.io/cilium/cilium:v1.15.6',
        'nginx:1.27',
      ].map(componentOfImage),
      ['calico', 'coredns', 'ingress-nginx', 'cilium', undefined],
    );
  });

  it('places pods as the scheduler filters them (the rules themselves are tested in src/k8s)', () => {
    const node = testNode('n', {
      labels: { zone: 'a', size: '8' },
      taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    });
    assert.ok(!fitsNode(undefined, node));
    assert.ok(
      fitsNode(
        {
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }],
          nodeAffinity: [{ matchExpressions: [{ key: 'size', operator: 'Gt', values: ['4'] }] }],
        },
        node,
      ),
    );
    assert.ok(
      !fitsNode(
        {
          tolerations: [{ operator: 'Exists' }],
          nodeAffinity: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }],
        },
        node,
      ),
    );
    assert.ok(
      fitsNode(
        {
          tolerations: [{ operator: 'Exists' }],
          nodeAffinity: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] }],
        },
        node,
      ),
      'matchFields on metadata.name',
    );
    assert.ok(
      !fitsNode(
        {
          tolerations: [{ operator: 'Exists' }],
          nodeAffinity: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['m'] }] }],
        },
        node,
      ),
    );
    const cordoned = testNode('c', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
    assert.ok(fitsNode(undefined, cordoned), 'a cordon is node state, not a taint filter');
  });
});
