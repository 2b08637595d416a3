import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import type { StoreEvent } from './object-store.ts';
import { ObjectStore } from './object-store.ts';

function pod(namespace: string, name: string, node?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: `${namespace}-${name}`, resourceVersion: '', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: node ? { nodeName: node } : {},
  };
}

function newStore(historyLimit?: number): ObjectStore {
  const store = new ObjectStore(historyLimit !== undefined ? { historyLimit } : {});
  store.register('core/pods', { group: '', plural: 'pods' });
  store.addIndex('core/pods', 'spec.nodeName', (o) => (typeof o.spec?.['nodeName'] === 'string' ? [o.spec['nodeName']] : []));
  return store;
}

describe('ObjectStore', () => {
  it('stamps a new resourceVersion on every write and rejects duplicates with 409 AlreadyExists', () => {
    const store = newStore();
    const a = store.create('core/pods', pod('default', 'a'));
    const b = store.update('core/pods', { ...a, spec: { nodeName: 'n1' } });
    assert.notEqual(a.metadata.resourceVersion, b.metadata.resourceVersion);
    assert.throws(
      () => store.create('core/pods', pod('default', 'a')),
      (err: unknown) => err instanceof StatusError && err.code === 409 && err.reason === 'AlreadyExists' && err.message === 'pods "a" already exists',
    );
  });

  it('refuses an update with a stale resourceVersion (409 Conflict)', () => {
    const store = newStore();
    const a = store.create('core/pods', pod('default', 'a'));
    store.update('core/pods', { ...a, spec: { nodeName: 'n1' } });
    assert.throws(
      () => store.update('core/pods', { ...a, spec: { nodeName: 'n2' } }, a.metadata.resourceVersion),
      (err: unknown) => err instanceof StatusError && err.reason === 'Conflict' && /the object has been modified/.test(err.message),
    );
  });

  it('does not write when only the resourceVersion would change', () => {
    const store = newStore();
    const a = store.create('core/pods', pod('default', 'a'));
    const again = store.update('core/pods', { ...a });
    assert.equal(again.metadata.resourceVersion, a.metadata.resourceVersion);
  });

  it('lists in key order by namespace and pages with limit and afterKey', () => {
    const store = newStore();
    for (const name of ['c', 'a', 'b']) store.create('core/pods', pod('ns1', name));
    store.create('core/pods', pod('ns0', 'z'));
    store.create('core/pods', pod('ns2', 'y'));
    assert.deepEqual(store.list('core/pods', { namespace: 'ns1' }).items.map((o) => o.metadata.name), ['a', 'b', 'c']);
    const first = store.list('core/pods', { limit: 2 });
    assert.deepEqual(first.items.map((o) => o.metadata.name), ['z', 'a']);
    assert.equal(first.lastKey, 'ns1/a');
    const second = store.list('core/pods', { limit: 2, afterKey: first.lastKey });
    assert.deepEqual(second.items.map((o) => o.metadata.name), ['b', 'c']);
    const third = store.list('core/pods', { limit: 2, afterKey: second.lastKey as string });
    assert.deepEqual(third.items.map((o) => o.metadata.name), ['y']);
    assert.equal(third.lastKey, undefined);
  });

  it('keeps lists in key order through creates and deletes between them (a key deleted and created again too)', () => {
    const store = newStore();
    const names = (): string[] => store.list('core/pods').items.map((o) => o.metadata.name);
    for (const name of ['d', 'b', 'f']) store.create('core/pods', pod('ns', name));
    assert.deepEqual(names(), ['b', 'd', 'f']);
    store.create('core/pods', pod('ns', 'e'));
    store.remove('core/pods', 'ns', 'b');
    store.create('core/pods', pod('ns', 'a'));
    store.remove('core/pods', 'ns', 'd');
    store.create('core/pods', pod('ns', 'd')); // deleted and created again: listed once
    store.create('core/pods', pod('ns', 'c'));
    store.remove('core/pods', 'ns', 'c'); // created and deleted between two lists: not listed
    assert.deepEqual(names(), ['a', 'd', 'e', 'f']);
    assert.deepEqual(store.list('core/pods', { limit: 2, afterKey: 'ns/a' }).items.map((o) => o.metadata.name), ['d', 'e']);
  });

  it('keeps the secondary index in line with updates and deletes', () => {
    const store = newStore();
    const a = store.create('core/pods', pod('default', 'a', 'n1'));
    store.create('core/pods', pod('default', 'b', 'n1'));
    assert.equal(store.byIndex('core/pods', 'spec.nodeName', 'n1').length, 2);
    const moved = store.update('core/pods', { ...a, spec: { nodeName: 'n2' } });
    assert.deepEqual(store.byIndex('core/pods', 'spec.nodeName', 'n1').map((o) => o.metadata.name), ['b']);
    const labelled = store.update('core/pods', { ...moved, metadata: { ...moved.metadata, labels: { x: 'y' } } });
    assert.equal(store.byIndex('core/pods', 'spec.nodeName', 'n2')[0], labelled, 'the index hands out the object as stored now');
    store.remove('core/pods', 'default', 'b');
    assert.equal(store.byIndex('core/pods', 'spec.nodeName', 'n1').length, 0);
    assert.equal(store.list('core/pods', { index: { name: 'spec.nodeName', value: 'n2' } }).items.length, 1);
  });

  it('replays history to a watch that starts from a past revision', () => {
    const store = newStore();
    const a = store.create('core/pods', pod('default', 'a'));
    store.update('core/pods', { ...a, spec: { nodeName: 'n1' } });
    store.remove('core/pods', 'default', 'a');
    const live: StoreEvent[] = [];
    const { replay, stop } = store.watch('core/pods', Number(a.metadata.resourceVersion), (e) => live.push(e));
    assert.deepEqual(replay.map((e) => e.type), ['MODIFIED', 'DELETED']);
    store.create('core/pods', pod('default', 'b'));
    assert.deepEqual(live.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED b']);
    stop();
  });

  it('answers 410 Expired to a watch from a compacted revision', () => {
    const store = newStore(2);
    const a = store.create('core/pods', pod('default', 'a'));
    for (let i = 0; i < 5; i++) store.create('core/pods', pod('default', `p${i}`));
    assert.throws(
      () => store.watch('core/pods', Number(a.metadata.resourceVersion), () => {}),
      (err: unknown) => err instanceof StatusError && err.code === 410 && /too old resource version/.test(err.message),
    );
  });

  it('tells dropped watchers and restores a dump', () => {
    const store = newStore();
    store.create('core/pods', pod('default', 'a'));
    const snapshot = store.dump();
    store.create('core/pods', pod('default', 'b'));
    let dropped = 0;
    store.watch('core/pods', undefined, () => {}, () => (dropped += 1));
    assert.equal(store.dropWatchers(), 1);
    assert.equal(dropped, 1);
    store.restore(snapshot);
    assert.deepEqual(store.list('core/pods').items.map((o) => o.metadata.name), ['a']);
  });

  it('hands a triggered watch only the events of objects that have, or had, its value', () => {
    const store = newStore();
    const seen = (trigger: Parameters<ObjectStore['watch']>[4]) => {
      const events: string[] = [];
      const { stop } = store.watch('core/pods', undefined, (e) => events.push(`${e.type} ${e.object.metadata.name}`), () => {}, trigger);
      return { events, stop };
    };
    const onN1 = seen({ index: 'spec.nodeName', value: 'n1' });
    const named = seen({ key: 'default/b' });
    const all = seen(undefined);
    const a = store.create('core/pods', pod('default', 'a'));
    const a1 = store.update('core/pods', { ...a, spec: { nodeName: 'n1' } });
    const b = store.create('core/pods', pod('default', 'b', 'n2'));
    store.update('core/pods', { ...a1, metadata: { ...a1.metadata, labels: { x: 'y' } } });
    store.remove('core/pods', 'default', 'a');
    named.stop();
    store.update('core/pods', { ...b, metadata: { ...b.metadata, labels: { x: 'y' } } });
    assert.deepEqual(onN1.events, ['MODIFIED a', 'MODIFIED a', 'DELETED a']);
    assert.deepEqual(named.events, ['ADDED b']);
    assert.equal(all.events.length, 6);
    assert.equal(store.dropWatchers(), 2, 'the stopped watch is gone; the triggered and the plain one are dropped');
  });
});

