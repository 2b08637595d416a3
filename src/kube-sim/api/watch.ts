/**
 * The watch verb: a chunked stream of one JSON event per line, as the apiserver writes it. Without a
 * resourceVersion (or with "0") existing objects arrive first as synthetic ADDED events; with one, kept history is
 * replayed and a compacted revision is answered with an ERROR event (410 Expired) after the 200, as the real
 * server does. Selectors filter with transitions: an object that starts matching arrives as ADDED, one that stops
 * matching as DELETED.
 */
import type { ServerResponse } from 'node:http';
import type { ResourceDef } from './resources.ts';
import { StatusError, badRequest } from './status.ts';
import type { ObjectStore, StoreEvent, WatchTrigger } from '../store/object-store.ts';
import { pinnedScope } from '../store/object-store.ts';
import type { KubeObject } from '../model/wire.ts';

/** What a watch needs to know. */
export interface WatchRequest {
  def: ResourceDef;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  timeoutSeconds: number;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  matches: (obj: KubeObject) => boolean;
  /** The one value the field selector pins, if any: only objects with it are listed, and only their events come. */
  trigger?: WatchTrigger;
  /** Turns a stored object into what is sent (version conversion, Table rows). */
  render: (obj: KubeObject, type: string) => unknown;
}

/** Interval between BOOKMARK events when the client allows them. */
const BOOKMARK_INTERVAL_MS = 5_000;

/** Serves one watch until the timeout, the client leaves, or the store drops its watchers. */
export function serveWatch(store: ObjectStore, req: WatchRequest, res: ServerResponse, onClose: () => void): void {
  const rv = req.resourceVersion;
  let fromRevision: number | undefined;
  if (rv !== undefined && rv !== '' && rv !== '0') {
    if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${rv}`);
    fromRevision = Number(rv);
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  // The apiserver sends the headers at once: clients (client-node's fetch) wait for them before reading events.
  res.flushHeaders();
  let open = true;
  const write = (type: string, object: unknown) => {
    if (open) res.write(JSON.stringify({ type, object }) + '\n');
  };
  const inScope = (obj: KubeObject) => req.namespace === undefined || obj.metadata.namespace === req.namespace;
  const deliver = (event: StoreEvent) => {
    const now = inScope(event.object) && req.matches(event.object);
    const before = event.previous !== undefined && inScope(event.previous) && req.matches(event.previous);
    if (event.type === 'ADDED') {
      if (now) write('ADDED', req.render(event.object, 'ADDED'));
    } else if (event.type === 'DELETED') {
      if (before || now) write('DELETED', req.render(event.object, 'DELETED'));
    } else if (now && before) write('MODIFIED', req.render(event.object, 'MODIFIED'));
    else if (now) write('ADDED', req.render(event.object, 'ADDED'));
    else if (before) write('DELETED', req.render(event.object, 'DELETED'));
  };
  let subscription: { replay: StoreEvent[]; stop: () => void } | undefined;
  try {
    subscription = store.watch(req.def.storage, fromRevision, (event) => deliver(event), () => finish(), req.trigger);
  } catch (err) {
    if (err instanceof StatusError) {
      write('ERROR', err.toStatus());
      open = false;
      res.end();
      onClose();
      return;
    }
    throw err;
  }
  if (fromRevision === undefined) {
    // Synthetic ADDED events for what exists now, then live events.
    for (const obj of store.list(req.def.storage, { namespace: req.namespace, ...pinnedScope(req.trigger) }).items) {
      if (req.matches(obj)) write('ADDED', req.render(obj, 'ADDED'));
    }
    if (req.sendInitialEvents && req.allowBookmarks) {
      write('BOOKMARK', bookmark(req.def, String(store.currentRevision()), true));
    }
  } else {
    for (const event of subscription.replay) deliver(event);
  }
  const bookmarks = req.allowBookmarks
    ? setInterval(() => write('BOOKMARK', bookmark(req.def, String(store.currentRevision()), false)), BOOKMARK_INTERVAL_MS)
    : undefined;
  const timeout = setTimeout(() => finish(), req.timeoutSeconds * 1000);
  function finish() {
    if (!open) return;
    open = false;
    subscription?.stop();
    clearTimeout(timeout);
    if (bookmarks) clearInterval(bookmarks);
    res.end();
    onClose();
  }
  res.on('close', finish);
}

function bookmark(def: ResourceDef, resourceVersion: string, initialEventsEnd: boolean): unknown {
  return {
    kind: def.kind,
    apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
    metadata: {
      resourceVersion,
      ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
    },
  };
}
