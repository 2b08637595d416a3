/**
 * kubectl drain's filters, case by case and in kubectl's order (k8s.io/kubectl/pkg/drain/filters.go).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { DaemonSetLookup } from './filters.ts';
import { FilterMessage, daemonSetsToLookUp, filterPods, formatRefusals, formatWarnings } from './filters.ts';

interface PodSpecLite {
  name: string;
  namespace?: string;
  owner?: 'ReplicaSet' | 'DaemonSet' | 'StatefulSet' | 'Job' | 'Unknown';
  ownerName?: string;
  /** An owner reference that is not the controller (controller: false). */
  nonControllerOwner?: boolean;
  emptyDir?: boolean;
  mirror?: boolean;
  phase?: string;
  deletedSecondsAgo?: number;
}

const NOW = Date.parse('2026-01-01T00:00:00Z');

function pod(p: PodSpecLite): V1Pod {
  const ownerReferences = p.owner
    ? [
        {
          apiVersion: 'apps/v1',
          kind: p.owner,
          name: p.ownerName ?? `${p.name}-owner`,
          uid: `u-${p.name}-owner`,
          controller: !p.nonControllerOwner,
        },
      ]
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace ?? 'default',
      uid: `uid-${p.name}`,
      ...(ownerReferences ? { ownerReferences } : {}),
      ...(p.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'abc' } } : {}),
      ...(p.deletedSecondsAgo !== undefined ? { deletionTimestamp: new Date(NOW - p.deletedSecondsAgo * 1000) } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'x' }],
      ...(p.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
    },
    status: { phase: p.phase ?? 'Running' },
  };
}

const allFound: DaemonSetLookup = () => 'found';
const names = (pods: V1Pod[]) => pods.map((p) => p.metadata?.name);

describe('filterPods', () => {
  it('passes pods with a controller and no local storage', () => {
    const r = filterPods(
      [pod({ name: 'web-1', owner: 'ReplicaSet' }), pod({ name: 'db-0', owner: 'StatefulSet' })],
      allFound,
    );
    assert.deepEqual(names(r.delete), ['web-1', 'db-0']);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.skip, []);
  });

  it('refuses DaemonSet pods without --ignore-daemonsets', () => {
    const r = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet' })], allFound);
    assert.deepEqual(r.delete, []);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]?.reason, `cannot delete ${FilterMessage.daemonSetFatal}`);
    assert.equal(r.errors[0]?.flag, '--ignore-daemonsets');
  });

  it('keeps DaemonSet pods with --ignore-daemonsets, with kubectl warning', () => {
    const r = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet', namespace: 'kube-system' })], allFound, {
      ignoreDaemonSets: true,
    });
    assert.deepEqual(r.delete, []);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.skip, [
      { pod: { namespace: 'kube-system', name: 'agent-x', uid: 'uid-agent-x' }, reason: 'daemonset' },
    ]);
    assert.equal(formatWarnings(r.warnings), 'ignoring DaemonSet-managed Pods: kube-system/agent-x');
  });

  it('an orphaned DaemonSet pod: refused without --force (the GET error), deleted with it (the warning is dropped by the later filters, as in kubectl)', () => {
    const gone: DaemonSetLookup = () => 'not-found';
    const without = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet', ownerName: 'agent' })], gone, {
      ignoreDaemonSets: true,
    });
    assert.equal(without.errors[0]?.reason, 'cannot delete daemonsets.apps "agent" not found');
    assert.equal(without.errors[0]?.flag, '--force');
    const withForce = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet', ownerName: 'agent' })], gone, {
      force: true,
    });
    assert.deepEqual(names(withForce.delete), ['agent-x']);
    assert.deepEqual(withForce.warnings, []);
  });

  it('a failed DaemonSet lookup refuses the pod with the error, even with --force', () => {
    const broken: DaemonSetLookup = () => ({ error: 'the server is currently unable to handle the request' });
    const r = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet' })], broken, {
      force: true,
      ignoreDaemonSets: true,
    });
    assert.equal(r.errors[0]?.reason, 'cannot delete the server is currently unable to handle the request');
    assert.equal(r.errors[0]?.flag, undefined);
  });

  it('finished DaemonSet pods are deleted without asking for the DaemonSet', () => {
    let asked = 0;
    const r = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet', phase: 'Succeeded' })], () => {
      asked += 1;
      return 'found';
    });
    assert.deepEqual(names(r.delete), ['agent-x']);
    assert.equal(asked, 0);
    assert.deepEqual(daemonSetsToLookUp([pod({ name: 'a', owner: 'DaemonSet', phase: 'Failed' })]), []);
  });

  it('skips mirror (static) pods, silently', () => {
    const r = filterPods([pod({ name: 'kube-apiserver-cp-0', mirror: true, namespace: 'kube-system' })], allFound);
    assert.deepEqual(r.delete, []);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.skip.map((s) => s.reason),
      ['mirror'],
    );
  });

  it('refuses emptyDir pods without --delete-emptydir-data', () => {
    const r = filterPods([pod({ name: 'cache-1', owner: 'ReplicaSet', emptyDir: true })], allFound);
    assert.equal(r.errors[0]?.reason, 'cannot delete Pods with local storage (use --delete-emptydir-data to override)');
    assert.equal(r.errors[0]?.flag, '--delete-emptydir-data');
  });

  it('evicts emptyDir pods with --delete-emptydir-data; the local-storage warning is dropped by the next filter, as in kubectl', () => {
    const r = filterPods([pod({ name: 'cache-1', owner: 'ReplicaSet', emptyDir: true })], allFound, {
      deleteEmptyDirData: true,
    });
    assert.deepEqual(names(r.delete), ['cache-1']);
    assert.deepEqual(r.warnings, []);
  });

  it('finished emptyDir pods and finished unmanaged pods pass without flags', () => {
    const r = filterPods(
      [pod({ name: 'job-x', emptyDir: true, phase: 'Succeeded' }), pod({ name: 'bare-done', phase: 'Failed' })],
      allFound,
    );
    assert.deepEqual(names(r.delete), ['job-x', 'bare-done']);
    assert.deepEqual(r.errors, []);
  });

  it('refuses pods without a controller unless --force, and warns with it', () => {
    const refused = filterPods([pod({ name: 'bare' })], allFound);
    assert.equal(refused.errors[0]?.reason, FilterMessage.unmanagedFatal);
    assert.equal(refused.errors[0]?.flag, '--force');
    const forced = filterPods([pod({ name: 'bare' })], allFound, { force: true });
    assert.deepEqual(names(forced.delete), ['bare']);
    assert.equal(formatWarnings(forced.warnings), 'deleting Pods that declare no controller: default/bare');
  });

  it('an owner reference that is not a controller does not count as a controller', () => {
    const r = filterPods([pod({ name: 'adopted', owner: 'ReplicaSet', nonControllerOwner: true })], allFound);
    assert.equal(r.errors[0]?.flag, '--force');
  });

  it('a controller of an unknown kind counts as a controller (kubectl checks only that there is one)', () => {
    const r = filterPods([pod({ name: 'custom', owner: 'Unknown' })], allFound);
    assert.deepEqual(names(r.delete), ['custom']);
  });

  it('order: the DaemonSet filter decides before the emptyDir and controller filters', () => {
    const r = filterPods([pod({ name: 'agent-x', owner: 'DaemonSet', emptyDir: true })], allFound);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]?.flag, '--ignore-daemonsets');
  });

  it('order: a mirror pod without a controller is skipped, not refused', () => {
    const r = filterPods([pod({ name: 'etcd-cp-0', mirror: true, emptyDir: true })], allFound);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.skip.map((s) => s.reason),
      ['mirror'],
    );
  });

  it('order: an emptyDir pod without a controller is refused for its local storage first', () => {
    const r = filterPods([pod({ name: 'scratch', emptyDir: true })], allFound, { force: true });
    assert.equal(r.errors[0]?.flag, '--delete-emptydir-data');
    const both = filterPods([pod({ name: 'scratch', emptyDir: true })], allFound, {
      force: true,
      deleteEmptyDirData: true,
    });
    assert.deepEqual(names(both.delete), ['scratch']);
    assert.equal(formatWarnings(both.warnings), 'deleting Pods that declare no controller: default/scratch');
  });

  it('skips pods deleted longer ago than --skip-wait-for-delete-timeout, first of all', () => {
    const pods = [
      pod({ name: 'stuck', owner: 'DaemonSet', deletedSecondsAgo: 120 }),
      pod({ name: 'recent', owner: 'ReplicaSet', deletedSecondsAgo: 5 }),
    ];
    const r = filterPods(pods, allFound, { skipWaitForDeleteTimeoutSeconds: 60, now: () => NOW });
    assert.deepEqual(
      r.skip.map((s) => [s.pod.name, s.reason]),
      [['stuck', 'deleted-long-ago']],
    );
    assert.deepEqual(names(r.delete), ['recent']);
    const off = filterPods(pods, allFound, { now: () => NOW, ignoreDaemonSets: true });
    assert.deepEqual(
      off.skip.map((s) => s.reason),
      ['daemonset'],
    );
  });

  it('reports every refusal together, grouped by reason in the order met', () => {
    const r = filterPods(
      [
        pod({ name: 'agent-a', owner: 'DaemonSet', namespace: 'kube-system' }),
        pod({ name: 'cache-1', owner: 'ReplicaSet', emptyDir: true }),
        pod({ name: 'web-1', owner: 'ReplicaSet' }),
        pod({ name: 'bare' }),
        pod({ name: 'agent-b', owner: 'DaemonSet', namespace: 'monitoring' }),
      ],
      allFound,
    );
    assert.deepEqual(names(r.delete), ['web-1']);
    assert.equal(
      formatRefusals(r.errors),
      'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/agent-a, monitoring/agent-b, ' +
        'cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache-1, ' +
        'cannot delete Pods that declare no controller (use --force to override): default/bare',
    );
  });

  it('groups warnings by message, joined as kubectl prints them', () => {
    const r = filterPods(
      [
        pod({ name: 'agent-a', owner: 'DaemonSet' }),
        pod({ name: 'bare' }),
        pod({ name: 'agent-b', owner: 'DaemonSet' }),
      ],
      allFound,
      { ignoreDaemonSets: true, force: true },
    );
    assert.equal(
      formatWarnings(r.warnings),
      'ignoring DaemonSet-managed Pods: default/agent-a, default/agent-b; deleting Pods that declare no controller: default/bare',
    );
  });

  it('daemonSetsToLookUp names each DaemonSet once', () => {
    const pods = [
      pod({ name: 'a-1', owner: 'DaemonSet', ownerName: 'a' }),
      pod({ name: 'a-2', owner: 'DaemonSet', ownerName: 'a' }),
      pod({ name: 'b-1', owner: 'DaemonSet', ownerName: 'b', namespace: 'x' }),
      pod({ name: 'web', owner: 'ReplicaSet' }),
    ];
    assert.deepEqual(daemonSetsToLookUp(pods), [
      { namespace: 'default', name: 'a' },
      { namespace: 'x', name: 'b' },
    ]);
  });
});
