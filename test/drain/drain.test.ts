/**
 * kup's drain against kube-sim, case by case as kubectl drain behaves (k8s.io/kubectl/pkg/drain), each case on a
 * fresh cluster and each checking the cluster afterwards through the API: the node's cordon, which pods are gone or
 * replaced, DaemonSet and static pods kept, PDB status, and nothing left half-done. Where kubectl's own wording is
 * the contract (refusals), the real kubectl runs against the same cluster and the texts are compared.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../src/clock/wait-for.ts';
import type { DrainEvent, DrainResult } from '../../src/drain/drain.ts';
import { markUnschedulable, uncordonNode } from '../../src/drain/cordon.ts';
import { drainNode } from '../../src/drain/drain.ts';
import { DrainError, DrainErrorCode } from '../../src/drain/errors.ts';
import { watchNodePods } from '../../src/drain/wait.ts';
import { systemClock } from '../../src/drain/clock.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { partialApi } from '../helpers/partial-api.ts';
import { api, requestCount, simIdle } from '../helpers/sim.ts';
import {
  TARGET,
  allPods,
  drainScenario,
  getNode,
  isCordoned,
  openSpare,
  pdbStatus,
  podsOn,
  startCase,
  uidsByName,
} from './helpers.ts';

function failed(r: DrainResult): asserts r is Extract<DrainResult, { status: 'failed' }> {
  assert.equal(r.status, 'failed', `expected a failed drain, got ${r.status}`);
}

function drained(r: DrainResult): void {
  assert.equal(r.status, 'drained', r.status === 'failed' ? r.error.message : '');
}

/** The pods of the default namespace on the target, and all of them, before a drain. */
async function before(c: { cluster: Parameters<typeof podsOn>[0] }) {
  const all = await allPods(c.cluster);
  return { all, uids: uidsByName(all), onTarget: all.filter((p) => p.node === TARGET) };
}

const DS = `  - { kind: DaemonSet, name: agent }`;

/**
 * kubectl has no implicit budget. The cases that evict several pods of a Deployment with no PDB while the spare is
 * closed (no replacement can start, so the implicit budget would hold all but the first) drain as kubectl does; the
 * implicit budget has cases of its own (pdb-gate.test.ts).
 */
const AS_KUBECTL = { implicitBudget: false } as const;

describe('kup drain against kube-sim, as kubectl drain', { timeout: 180_000 }, () => {
  it('refuses a node with DaemonSet pods without --ignore-daemonsets: nothing evicted, node left cordoned, kubectl says the same', async () => {
    const c = await startCase(drainScenario('ds-refused', `${DS}\n  - { kind: Deployment, name: web, replicas: 2 }`), {
      expectOnTarget: 3,
    });
    try {
      const was = await before(c);
      const r = await drainNode(c.conn, TARGET, { timeoutMs: 10_000 });
      failed(r);
      assert.ok(r.error instanceof DrainError);
      assert.equal(r.error.code, DrainErrorCode.podsRefused);
      assert.match(
        r.error.message,
        /^KUP-DRAIN-002: cannot drain node workers-0: cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): default\/agent-\w+/,
      );
      const refused = r.remaining.filter((i) => i.state === 'refused');
      assert.ok(refused.length >= 1 && refused.every((i) => i.flag === '--ignore-daemonsets'));
      assert.equal(r.nodeCordoned, true);
      assert.equal(r.cordonedByDrain, true);
      assert.deepEqual(r.evicted, []);
      // The cluster: cordoned, every pod the same pod.
      assert.equal(await isCordoned(c.cluster, TARGET), true);
      assert.deepEqual(uidsByName(await allPods(c.cluster)), was.uids);

      // kubectl on the same node refuses with the same words.
      const kubectl = kubectlFor(c.cluster.kubeconfig);
      const k = await kubectl(['drain', TARGET, '--timeout=10s']);
      assert.notEqual(k.code, 0);
      const theirs = /cannot delete DaemonSet-managed Pods[^\n]*?(?=, continuing command|\n|$)/.exec(k.stderr)?.[0];
      assert.ok(theirs, k.stderr);
      assert.ok(r.error.message.endsWith(theirs), `kup: ${r.error.message}\nkubectl: ${theirs}`);
    } finally {
      await c.stop();
    }
  });

  it('--ignore-daemonsets keeps DaemonSet pods and evicts the rest', async () => {
    const c = await startCase(drainScenario('ds-ignored', `${DS}\n  - { kind: Deployment, name: web, replicas: 2 }`), {
      expectOnTarget: 3,
    });
    try {
      const was = await before(c);
      const events: DrainEvent[] = [];
      const r = await drainNode(c.conn, TARGET, {
        ...AS_KUBECTL,
        ignoreDaemonSets: true,
        timeoutMs: 15_000,
        onProgress: (e) => events.push(e),
      });
      drained(r);
      const left = await podsOn(c.cluster, TARGET);
      assert.deepEqual(
        left.filter((p) => !p.terminating).map((p) => p.ownerKind),
        left.map(() => 'DaemonSet'),
        'only DaemonSet pods stay',
      );
      for (const p of left) assert.equal(was.uids.get(`${p.namespace}/${p.name}`), p.uid, `${p.name} is the same pod`);
      assert.ok(left.some((p) => p.app === 'agent'));
      assert.ok(r.skipped.some((s) => s.reason === 'daemonset' && s.pod.name.startsWith('agent-')));
      const webBefore = was.onTarget
        .filter((p) => p.app === 'web')
        .map((p) => p.name)
        .sort();
      assert.deepEqual(
        r.evicted
          .filter((p) => p.name.startsWith('web-'))
          .map((p) => p.name)
          .sort(),
        webBefore,
      );
      assert.equal(await isCordoned(c.cluster, TARGET), true);
      assert.deepEqual(events[0], { type: 'cordoned', node: TARGET, alreadyCordoned: false, dryRun: 'none' });
      assert.deepEqual(events.at(-1), { type: 'drained', node: TARGET, dryRun: 'none' });
      // The replacements exist (Pending: the spare is still closed), under new names.
      const web = (await allPods(c.cluster)).filter((p) => p.app === 'web');
      assert.equal(web.length, 2);
      assert.ok(web.every((p) => !webBefore.includes(p.name)));
      // The caller uncordons (the engine, after the upgrade), exactly as kubectl uncordon does: null deletes the field.
      assert.equal((await uncordonNode(c.conn, TARGET)).changed, true);
      const spec = (await getNode(c.cluster, TARGET))['spec'] as Record<string, unknown>;
      assert.equal('unschedulable' in spec, false, JSON.stringify(spec));
      assert.equal((await uncordonNode(c.conn, TARGET)).changed, false, 'already uncordoned');
    } finally {
      await c.stop();
    }
  });

  it('a DaemonSet list its caller shares replaces the drain\'s own; a DaemonSet missing from it is read on its own; pods are read page by page', async () => {
    const c = await startCase(drainScenario('ds-shared', `${DS}\n  - { kind: Deployment, name: web, replicas: 2 }`), {
      expectOnTarget: 3,
    });
    try {
      const count = (verb: string) => requestCount(c.cluster, { verb, resource: 'daemonsets' });
      const [lists, gets] = [await count('LIST'), await count('GET')];
      const onTarget = await podsOn(c.cluster, TARGET);
      const daemonSetPods = onTarget.filter((p) => p.ownerKind === 'DaemonSet').length;
      assert.ok(daemonSetPods >= 1);
      let asked = 0;
      const r = await drainNode(c.conn, TARGET, {
        ...AS_KUBECTL,
        ignoreDaemonSets: true,
        timeoutMs: 15_000,
        // One pod a page: the pods are read page by page, following each page's continue token.
        chunkSize: 1,
        // A list from before the agent DaemonSet existed.
        daemonSets: () => {
          asked += 1;
          return Promise.resolve(new Set<string>());
        },
      });
      drained(r);
      assert.equal(asked, 1);
      assert.ok(r.skipped.some((s) => s.reason === 'daemonset' && s.pod.name.startsWith('agent-')));
      assert.equal(r.evicted.filter((p) => p.name.startsWith('web-')).length, onTarget.filter((p) => p.app === 'web').length);
      // One GET for each DaemonSet with a pod on the node (the scenario's agent, and the cluster's own).
      assert.deepEqual([(await count('LIST')) - lists, (await count('GET')) - gets], [0, daemonSetPods]);
    } finally {
      await c.stop();
    }
  });

  it('skips mirror (static) pods: draining the control-plane node leaves them', async () => {
    const c = await startCase(drainScenario('mirror', DS));
    try {
      const was = await before(c);
      const statics = was.all.filter((p) => p.node === 'control-plane-0' && p.ownerKind === 'Node');
      assert.ok(statics.length >= 4, 'kube-sim runs the control plane as static pods');
      const r = await drainNode(c.conn, 'control-plane-0', { ignoreDaemonSets: true, timeoutMs: 15_000 });
      drained(r);
      assert.deepEqual(
        r.skipped
          .filter((s) => s.reason === 'mirror')
          .map((s) => s.pod.name)
          .sort(),
        statics.map((p) => p.name).sort(),
      );
      const after = uidsByName(await podsOn(c.cluster, 'control-plane-0'));
      for (const p of statics) assert.equal(after.get(`${p.namespace}/${p.name}`), p.uid, `${p.name} untouched`);
      assert.equal(await isCordoned(c.cluster, 'control-plane-0'), true);
    } finally {
      await c.stop();
    }
  });

  it('refuses emptyDir pods without --delete-emptydir-data, and evicts them with it', async () => {
    const c = await startCase(
      drainScenario('emptydir', `  - { kind: Deployment, name: cache, replicas: 2, emptyDir: true }`),
      { expectOnTarget: 2 },
    );
    try {
      const was = await before(c);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 10_000 });
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.podsRefused);
      assert.match(
        r.error.message,
        /cannot delete Pods with local storage \(use --delete-emptydir-data to override\): default\/cache-\S+, default\/cache-\S+/,
      );
      assert.deepEqual(
        r.remaining.map((i) => [i.state, i.flag]),
        [
          ['refused', '--delete-emptydir-data'],
          ['refused', '--delete-emptydir-data'],
        ],
      );
      assert.deepEqual(uidsByName(await allPods(c.cluster)), was.uids, 'nothing evicted');
      assert.equal(await isCordoned(c.cluster, TARGET), true);

      const again = await drainNode(c.conn, TARGET, {
        ...AS_KUBECTL,
        ignoreDaemonSets: true,
        deleteEmptyDirData: true,
        timeoutMs: 15_000,
      });
      drained(again);
      assert.equal(again.cordonedByDrain, false, 'the first drain had cordoned it');
      assert.deepEqual(
        (await podsOn(c.cluster, TARGET)).filter((p) => p.app === 'cache'),
        [],
      );
    } finally {
      await c.stop();
    }
  });

  it('refuses a pod without a controller without --force; with it, deletes it for good', async () => {
    const c = await startCase(drainScenario('unmanaged', `  - { kind: Pod, name: debug, node: ${TARGET} }`), {
      expectOnTarget: 1,
    });
    try {
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 10_000 });
      failed(r);
      assert.equal(
        r.error.message,
        'KUP-DRAIN-002: cannot drain node workers-0: cannot delete Pods that declare no controller (use --force to override): default/debug',
      );
      assert.equal(r.remaining[0]?.flag, '--force');
      assert.equal((await podsOn(c.cluster, TARGET)).filter((p) => p.name === 'debug').length, 1);

      const forced = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, force: true, timeoutMs: 15_000 });
      drained(forced);
      assert.ok(
        forced.warnings.some(
          (w) => w.message === 'deleting Pods that declare no controller' && w.pods[0]?.name === 'debug',
        ),
      );
      assert.ok(forced.evicted.some((p) => p.name === 'debug'));
      // It goes once its grace period is over, and nothing recreates it: no controller has work left.
      await waitFor(async () => !(await allPods(c.cluster)).some((p) => p.name === 'debug'), { message: 'debug gone' });
      await simIdle(c.cluster);
      assert.deepEqual(
        (await allPods(c.cluster)).filter((p) => p.name === 'debug'),
        [],
      );
    } finally {
      await c.stop();
    }
  });

  it('waits on a blocking PDB, which clears as replacements come up elsewhere', async () => {
    const c = await startCase(
      drainScenario('pdb-clears', `  - { kind: Deployment, name: web, replicas: 3, pdb: { maxUnavailable: 1 } }`),
      { expectOnTarget: 3 },
    );
    try {
      await openSpare(c.cluster);
      const events: DrainEvent[] = [];
      const evictionsBefore = await requestCount(c.cluster, { subresource: 'eviction' });
      const r = await drainNode(c.conn, TARGET, {
        ignoreDaemonSets: true,
        timeoutMs: 30_000,
        onProgress: (e) => events.push(e),
      });
      drained(r);
      // Retries wait on the budget's status (a watch), so refusals stay few: kubectl would retry each blocked pod
      // every 5 s and GET it each time.
      const evictions = (await requestCount(c.cluster, { subresource: 'eviction' })) - evictionsBefore;
      const refused = await requestCount(c.cluster, { subresource: 'eviction', code: '429' });
      assert.ok(
        evictions <= r.evicted.length + 4,
        `${evictions} eviction requests for ${r.evicted.length} pods (${refused} refused)`,
      );
      const blocked = events.filter((e): e is Extract<DrainEvent, { type: 'blocked' }> => e.type === 'blocked');
      assert.ok(blocked.length >= 1, 'at least one eviction waited for the budget');
      assert.deepEqual(blocked[0]?.holds[0]?.pdb, { namespace: 'default', name: 'web' });
      // Pods the budget cannot let go yet are held back before asking (no refused request), and go as it allows.
      assert.equal(
        blocked[0]?.message,
        'the disruption budget web allows no disruption now; waiting for it to allow one',
      );
      assert.equal(blocked[0]?.status, undefined);
      // The cluster: no web pod on the node, three Ready on the spare, the budget whole again.
      const web = await waitFor(async () => {
        const pods = (await allPods(c.cluster)).filter((p) => p.app === 'web');
        return pods.length === 3 && pods.every((p) => p.ready && p.node === 'spare-0') ? pods : undefined;
      }, { message: '3 web pods Ready on spare-0', timeoutMs: 20_000 });
      assert.equal(web.length, 3);
      const status = await waitFor(async () => {
        const s = await pdbStatus(c.cluster, 'default', 'web');
        return s['currentHealthy'] === 3 && s['disruptionsAllowed'] === 1 ? s : undefined;
      }, { message: 'PDB whole', timeoutMs: 20_000 });
      assert.equal(status['desiredHealthy'], 2);
      assert.equal(await isCordoned(c.cluster, TARGET), true);
    } finally {
      await c.stop();
    }
  });

  it('hands each disruption a budget allows to one pod: evictions in flight are not given out again (no 429)', async () => {
    // A budget allowing 3 disruptions over 12 pods: each eviction writes a status while others are in flight.
    const c = await startCase(
      drainScenario('pdb-in-flight', `  - { kind: Deployment, name: web, replicas: 12, pdb: { maxUnavailable: 3 } }`),
      { expectOnTarget: 12 },
    );
    try {
      await openSpare(c.cluster);
      const evictionsBefore = await requestCount(c.cluster, { subresource: 'eviction' });
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 60_000 });
      drained(r);
      assert.equal(r.evicted.filter((p) => p.name.startsWith('web-')).length, 12);
      const evictions = (await requestCount(c.cluster, { subresource: 'eviction' })) - evictionsBefore;
      const refused = await requestCount(c.cluster, { subresource: 'eviction', code: '429' });
      assert.equal(refused, 0, `${refused} of ${evictions} evictions refused with 429`);
      assert.equal(evictions, r.evicted.length, 'one eviction request per pod');
      assert.deepEqual((await podsOn(c.cluster, TARGET)).filter((p) => p.ownerKind !== 'DaemonSet'), []);
    } finally {
      await c.stop();
    }
  });

  it('a line behind one budget longer than the gate’s 5 s keeps its place: no pod gives up to be refused (no 429)', async () => {
    // 55 pods one at a time, a round every ~100 ms (podStart): the last waits about 5.5 s, with news all along.
    const c = await startCase(
      drainScenario('pdb-long-line', `  - { kind: Deployment, name: web, replicas: 55, pdb: { maxUnavailable: 1 } }`),
      { expectOnTarget: 55 },
    );
    try {
      await openSpare(c.cluster);
      const started = Date.now();
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 60_000 });
      drained(r);
      assert.ok(Date.now() - started > 5000, 'the line was longer than the gate’s timeout');
      const refused = await requestCount(c.cluster, { subresource: 'eviction', code: '429' });
      assert.equal(refused, 0, `${refused} evictions refused with 429`);
      assert.equal(r.evicted.filter((p) => p.name.startsWith('web-')).length, 55);
    } finally {
      await c.stop();
    }
  });

  it('times out on a PDB that never allows a disruption: names the pod and the PDB, leaves the node cordoned, changes nothing else', async () => {
    const c = await startCase(
      drainScenario('pdb-timeout', `${DS}\n  - { kind: Deployment, name: web, replicas: 2, pdb: { minAvailable: 2 } }`),
      { expectOnTarget: 3 },
    );
    try {
      const was = await before(c);
      const pdbBefore = await pdbStatus(c.cluster, 'default', 'web');
      const started = Date.now();
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 1500 });
      const took = Date.now() - started;
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.timedOut);
      assert.ok(took >= 1500 && took < 6000, `the deadline holds (${took} ms)`);
      const webPods = was.onTarget
        .filter((p) => p.app === 'web')
        .map((p) => `default/${p.name}`)
        .sort();
      assert.match(r.error.message, /^KUP-DRAIN-003: drain of node workers-0 timed out after 1\.5s: 2 pods left: /);
      for (const p of webPods)
        assert.ok(
          r.error.message.includes(`${p} blocked by PDB default/web (needs 2 healthy, has 2)`),
          r.error.message,
        );
      assert.deepEqual(
        r.remaining.map((i) => [`${i.pod.namespace}/${i.pod.name}`, i.state, i.holds?.[0]?.pdb.name]).sort(),
        webPods.map((p) => [p, 'blocked', 'web']),
      );
      assert.equal(r.nodeCordoned, true);
      assert.equal(r.error.nodeCordoned, true);
      // The cluster: cordoned (a drain never uncordons), every pod the same but those evicted (CoreDNS, when the
      // scheduler put it on the node: kubectl evicts it too), the budget untouched.
      assert.equal(await isCordoned(c.cluster, TARGET), true);
      assert.ok(
        r.evicted.every((p) => p.namespace === 'kube-system' && p.name.startsWith('coredns-')),
        JSON.stringify(r.evicted),
      );
      const evicted = new Set(r.evicted.map((p) => p.uid));
      const after = uidsByName(await allPods(c.cluster));
      for (const [key, uid] of was.uids)
        if (!evicted.has(uid)) assert.equal(after.get(key), uid, `${key} is the same pod`);
      const pdbAfter = await pdbStatus(c.cluster, 'default', 'web');
      assert.equal(pdbAfter['disruptionsAllowed'], 0);
      assert.equal(pdbAfter['currentHealthy'], pdbBefore['currentHealthy']);
      assert.deepEqual(pdbAfter['disruptedPods'] ?? {}, pdbBefore['disruptedPods'] ?? {});
    } finally {
      await c.stop();
    }
  });

  it('a pod under two PDBs: the API server’s 500 is surfaced, naming both budgets; the other pods are evicted', async () => {
    const c = await startCase(
      drainScenario(
        'two-pdbs',
        `  - { kind: Deployment, name: api, replicas: 1, pdb: { maxUnavailable: 1 } }
  - { kind: Deployment, name: api-canary, replicas: 1, labels: { app: api, track: canary }, pdb: { maxUnavailable: 1 } }`,
      ),
      { expectOnTarget: 2 },
    );
    try {
      const was = await before(c);
      const canary = was.onTarget.find((p) => p.name.startsWith('api-canary-'));
      const stable = was.onTarget.find((p) => p.name.startsWith('api-') && !p.name.startsWith('api-canary-'));
      assert.ok(canary && stable);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 15_000 });
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.evictionFailed);
      assert.ok(
        r.error.message.includes(
          `eviction of default/${canary.name} failed: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support. (PDBs default/api, default/api-canary)`,
        ),
        r.error.message,
      );
      const issue = r.remaining.find((i) => i.pod.name === canary.name);
      assert.equal(issue?.state, 'failed');
      assert.deepEqual(issue?.holds?.map((h) => h.pdb.name).sort(), ['api', 'api-canary']);
      // The cluster: the canary pod is the same pod; the stable one is gone; the node stays cordoned.
      const after = await allPods(c.cluster);
      assert.equal(after.find((p) => p.name === canary.name)?.uid, canary.uid);
      assert.equal(
        after.find((p) => p.name === stable.name),
        undefined,
      );
      assert.equal(await isCordoned(c.cluster, TARGET), true);
    } finally {
      await c.stop();
    }
  });

  it('--pod-selector drains only the matching pods (and so needs no DaemonSet flag)', async () => {
    const c = await startCase(
      drainScenario(
        'pod-selector',
        `${DS}\n  - { kind: Deployment, name: web, replicas: 2 }\n  - { kind: Deployment, name: api, replicas: 1 }`,
      ),
      { expectOnTarget: 4 },
    );
    try {
      const was = await before(c);
      const r = await drainNode(c.conn, TARGET, { ...AS_KUBECTL, podSelector: 'app=web', timeoutMs: 15_000 });
      drained(r);
      assert.deepEqual(
        r.evicted.map((p) => p.name).sort(),
        was.onTarget
          .filter((p) => p.app === 'web')
          .map((p) => p.name)
          .sort(),
      );
      const after = uidsByName(await podsOn(c.cluster, TARGET));
      for (const p of was.onTarget.filter((x) => x.app !== 'web'))
        assert.equal(after.get(`${p.namespace}/${p.name}`), p.uid, `${p.name} stays`);
      assert.equal([...after.keys()].filter((k) => k.startsWith('default/web-')).length, 0);
    } finally {
      await c.stop();
    }
  });

  it('--dry-run=client and --dry-run=server change nothing', async () => {
    const c = await startCase(
      drainScenario('dry-run', `${DS}\n  - { kind: Deployment, name: web, replicas: 2, pdb: { maxUnavailable: 1 } }`),
      { expectOnTarget: 3 },
    );
    try {
      const was = await before(c);
      const pdbBefore = await pdbStatus(c.cluster, 'default', 'web');
      for (const dryRun of ['client', 'server'] as const) {
        const events: DrainEvent[] = [];
        const r = await drainNode(c.conn, TARGET, {
          ignoreDaemonSets: true,
          dryRun,
          timeoutMs: 10_000,
          onProgress: (e) => events.push(e),
        });
        assert.equal(r.dryRun, dryRun);
        assert.equal(r.nodeCordoned, false, `${dryRun}: not cordoned`);
        assert.equal(await isCordoned(c.cluster, TARGET), false, `${dryRun}: the node is not cordoned`);
        assert.deepEqual(uidsByName(await allPods(c.cluster)), was.uids, `${dryRun}: every pod the same`);
        assert.ok(events.some((e) => e.type === 'evicting' && e.dryRun === dryRun));
        if (dryRun === 'client') {
          drained(r);
          assert.equal(r.evicted.filter((p) => p.name.startsWith('web-')).length, 2);
        } else {
          // The server checks the budget: one of the two evictions is allowed, the other would wait.
          assert.ok(r.evicted.filter((p) => p.name.startsWith('web-')).length >= 1);
        }
      }
      const pdbAfter = await pdbStatus(c.cluster, 'default', 'web');
      assert.equal(pdbAfter['disruptionsAllowed'], pdbBefore['disruptionsAllowed']);
      assert.deepEqual(pdbAfter['disruptedPods'] ?? {}, {});
    } finally {
      await c.stop();
    }
  });

  it('--disable-eviction deletes the pods directly, past a PDB that would block eviction', async () => {
    const c = await startCase(
      drainScenario('disable-eviction', `  - { kind: Deployment, name: web, replicas: 2, pdb: { minAvailable: 2 } }`),
      { expectOnTarget: 2 },
    );
    try {
      const was = await before(c);
      const events: DrainEvent[] = [];
      const r = await drainNode(c.conn, TARGET, {
        ignoreDaemonSets: true,
        disableEviction: true,
        timeoutMs: 15_000,
        onProgress: (e) => events.push(e),
      });
      drained(r);
      assert.deepEqual(
        r.deleted
          .filter((p) => p.name.startsWith('web-'))
          .map((p) => p.name)
          .sort(),
        was.onTarget
          .filter((p) => p.app === 'web')
          .map((p) => p.name)
          .sort(),
      );
      assert.deepEqual(r.evicted, []);
      assert.ok(!events.some((e) => e.type === 'blocked'));
      assert.ok(events.some((e) => e.type === 'deleted'));
      assert.deepEqual(
        (await podsOn(c.cluster, TARGET)).filter((p) => p.app === 'web'),
        [],
      );
    } finally {
      await c.stop();
    }
  });

  it('a refusing admission webhook fails the pod with its message (KUP-DRAIN-004), no retry storm', async () => {
    const c = await startCase(
      drainScenario(
        'webhook',
        `  - { kind: Deployment, name: guarded, replicas: 1 }\n  - { kind: Deployment, name: web, replicas: 1 }`,
        `faults: { evictionRefused: [{ name: guarded }] }`,
      ),
      { expectOnTarget: 2 },
    );
    try {
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 10_000 });
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.evictionFailed);
      assert.match(
        r.error.message,
        /eviction of default\/guarded-\S+ failed: admission webhook "[^"]+" denied the request/,
      );
      const after = await podsOn(c.cluster, TARGET);
      assert.equal(after.filter((p) => p.app === 'guarded').length, 1);
      assert.equal(after.filter((p) => p.app === 'web').length, 0, 'the other pod is evicted');
    } finally {
      await c.stop();
    }
  });

  it('a StatefulSet pod recreated under its own name counts as gone (new UID)', async () => {
    const c = await startCase(drainScenario('statefulset', `  - { kind: StatefulSet, name: db, replicas: 1 }`), {
      expectOnTarget: 1,
    });
    try {
      await openSpare(c.cluster);
      const was = await before(c);
      const old = was.onTarget.find((p) => p.name === 'db-0');
      assert.ok(old);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 15_000 });
      drained(r);
      const fresh = await waitFor(async () => {
        const p = (await allPods(c.cluster)).find((x) => x.name === 'db-0');
        return p && p.uid !== old.uid && p.node === 'spare-0' ? p : undefined;
      }, { message: 'db-0 back on spare-0', timeoutMs: 20_000 });
      assert.notEqual(fresh.uid, old.uid);
    } finally {
      await c.stop();
    }
  });

  it('survives watches that drop and a history too short to resume (410: relist)', async () => {
    const c = await startCase(
      drainScenario(
        'watch-faults',
        `  - { kind: Deployment, name: web, replicas: 6, pdb: { maxUnavailable: 1 } }`,
        `faults: { dropWatchesEveryMs: 150 }`,
      ),
      { expectOnTarget: 6, historyLimit: 20 },
    );
    try {
      await openSpare(c.cluster);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, timeoutMs: 30_000 });
      drained(r);
      assert.deepEqual(
        (await podsOn(c.cluster, TARGET)).filter((p) => p.app === 'web'),
        [],
      );

      // The watcher on its own: from a resourceVersion the short history no longer holds, it must relist.
      const list = await c.conn.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=spare-0' });
      const victim = list.items.find((p) => p.metadata?.labels?.['app'] === 'web');
      assert.ok(victim?.metadata?.uid && victim.metadata.name);
      // Churn in the pods collection pushes the list's resourceVersion out of the 20 events of history.
      const other = list.items.find((p) => p !== victim);
      assert.ok(other?.metadata?.name && other.metadata.namespace);
      for (let i = 0; i < 30; i++) {
        const res = await api(
          c.cluster,
          'PATCH',
          `/api/v1/namespaces/${other.metadata.namespace}/pods/${other.metadata.name}`,
          { metadata: { annotations: { churn: String(i) } } },
          { 'Content-Type': 'application/merge-patch+json' },
        );
        assert.equal(res.status, 200);
      }
      const presence = watchNodePods(
        c.conn,
        'spare-0',
        { pods: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' },
        { clock: systemClock },
      );
      try {
        await c.conn.core.deleteNamespacedPod({
          namespace: 'default',
          name: victim.metadata.name,
          gracePeriodSeconds: 0,
        });
        await Promise.race([
          presence.whenGone(victim.metadata.uid),
          new Promise((_, reject) => setTimeout(() => reject(new Error('the watcher never saw the pod go')), 10_000)),
        ]);
        assert.ok(presence.stats.relists >= 1, `relisted (${JSON.stringify(presence.stats)})`);
      } finally {
        await presence.close();
      }
    } finally {
      await c.stop();
    }
  });

  it('retries through API errors (10% of requests answered 500/503)', async () => {
    const c = await startCase(
      drainScenario('api-errors', `  - { kind: Deployment, name: web, replicas: 8 }`, `faults: { apiErrorRate: 0.1 }`),
      { expectOnTarget: 8 },
    );
    try {
      const r = await drainNode(c.conn, TARGET, { ...AS_KUBECTL, ignoreDaemonSets: true, timeoutMs: 30_000 });
      drained(r);
      assert.deepEqual(
        (await podsOn(c.cluster, TARGET)).filter((p) => p.app === 'web'),
        [],
      );
    } finally {
      await c.stop();
    }
  });

  it('cancellation: the result says the drain was cancelled and the node is left cordoned', async () => {
    const c = await startCase(
      drainScenario('cancel', `  - { kind: Deployment, name: web, replicas: 2, pdb: { minAvailable: 2 } }`),
      { expectOnTarget: 2 },
    );
    try {
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error('operator pressed ^C')), 500);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, signal: ctl.signal });
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.cancelled);
      assert.match(
        r.error.message,
        /^KUP-DRAIN-005: drain of node workers-0 cancelled: 2 pods left: .*blocked by PDB default\/web/,
      );
      assert.equal(r.nodeCordoned, true);
      assert.equal(await isCordoned(c.cluster, TARGET), true);
      await assert.rejects(drainNode(c.conn, TARGET, { signal: ctl.signal }), /operator pressed/);
    } finally {
      await c.stop();
    }
  });

  it('a node its caller cordoned (the engine): one PATCH each (none when just now), no read of the node, and a failed drain leaves it cordoned', async () => {
    const c = await startCase(
      drainScenario('cordoned', `  - { kind: Deployment, name: web, replicas: 2, pdb: { minAvailable: 2 } }`),
      { expectOnTarget: 2 },
    );
    try {
      const reads = () => requestCount(c.cluster, { verb: 'GET', resource: 'nodes' });
      const patches = () => requestCount(c.cluster, { verb: 'PATCH', resource: 'nodes' });
      const [readsBefore, patchesBefore] = [await reads(), await patches()];
      const node = await markUnschedulable(c.conn, TARGET);
      assert.equal(node.spec?.unschedulable, true);
      const r = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, cordoned: true, timeoutMs: 1_000 });
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.timedOut);
      assert.equal(r.nodeCordoned, true);
      assert.deepEqual([(await reads()) - readsBefore, (await patches()) - patchesBefore], [0, 2]);
      assert.equal(await isCordoned(c.cluster, TARGET), true);
      // Cordoned by the caller just now: the drain does not repeat it.
      const [readsThen, patchesThen] = [await reads(), await patches()];
      const again = await drainNode(c.conn, TARGET, { ignoreDaemonSets: true, cordoned: 'just-now', timeoutMs: 500 });
      failed(again);
      assert.equal(again.nodeCordoned, true);
      assert.deepEqual([(await reads()) - readsThen, (await patches()) - patchesThen], [0, 0]);
      await assert.rejects(markUnschedulable(c.conn, 'workers-9'), (err: unknown) => err instanceof DrainError && err.code === DrainErrorCode.nodeNotFound);
    } finally {
      await c.stop();
    }
  });

  it('a missing node is KUP-DRAIN-001 and cordons nothing', async () => {
    const c = await startCase(drainScenario('missing', `  - { kind: Deployment, name: web, replicas: 1 }`));
    try {
      const r = await drainNode(c.conn, 'workers-9', {});
      failed(r);
      assert.equal(r.error.code, DrainErrorCode.nodeNotFound);
      assert.equal(r.error.message, 'KUP-DRAIN-001: node "workers-9" not found');
      assert.equal(r.nodeCordoned, false);
    } finally {
      await c.stop();
    }
  });

  it('deletes the pods, as kubectl does, on an API server whose discovery serves no pods/eviction: a PDB cannot hold them there', async () => {
    const c = await startCase(
      drainScenario('no-eviction', `${DS}\n  - { kind: Deployment, name: web, replicas: 2, pdb: { minAvailable: 2 } }`),
      { expectOnTarget: 3 },
    );
    try {
      const was = await before(c);
      await openSpare(c.cluster);
      const events: DrainEvent[] = [];
      const r = await drainNode(partialApi(c.conn, { noEviction: true, noReadyz: false, noVersion: false, blankKubelets: false }), TARGET, {
        ignoreDaemonSets: true,
        timeoutMs: 20_000,
        onProgress: (e) => events.push(e),
      });
      drained(r);
      const webPods = was.onTarget.filter((p) => p.app === 'web').map((p) => p.name).sort();
      assert.deepEqual(r.deleted.filter((p) => p.namespace === 'default').map((p) => p.name).sort(), webPods);
      assert.deepEqual(r.evicted, []);
      const unsupported = events.find((e) => e.type === 'eviction-unsupported');
      assert.ok(unsupported, 'the drain says it deletes');
      assert.match(unsupported.reason, /serves no pods\/eviction \(discovery of \/api\/v1\)/);
      assert.ok(events.every((e) => e.type !== 'evicting' || e.method === 'delete'));
      // The cluster: the web pods are gone from the node (deleted past their budget) and replaced on the spare.
      const now = await allPods(c.cluster);
      for (const name of webPods) assert.ok(!now.some((p) => p.name === name), `${name} is gone`);
      await waitFor(async () => (await allPods(c.cluster)).filter((p) => p.app === 'web' && p.ready && p.node === 'spare-0').length === 2, {
        timeoutMs: 10_000,
        message: 'web replaced on spare-0',
      });
    } finally {
      await c.stop();
    }
  });
});
