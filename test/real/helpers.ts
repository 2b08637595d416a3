/**
 * What the tests on a real control plane share: starting one (building what is missing, with the build time
 * printed), a watcher of a Deployment's available pods that is independent of kup, and reading what the running
 * binaries say of themselves.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../../src/local/build.ts';
import type { PoolOptions } from '../../src/local/cluster.ts';
import { startLocal } from '../../src/local/main.ts';
import type { RunningLocalCluster } from '../../src/local/main.ts';

/** Whether the real control-plane suite is switched off (`KUP_SKIP_REAL=1`, as `npm run test:fast` sets it). */
export const SKIP_REAL =
  process.env['KUP_SKIP_REAL'] === '1' ? 'KUP_SKIP_REAL=1: the real control-plane suite is off' : false;

/** The two consecutive supported minors of the catalog the suite moves between. */
export const FROM = '1.35.4';
export const TO = '1.36.1';

/** Builds the programs of both versions (printing what is built and how long it takes). */
export async function buildBoth(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => process.stdout.write(`# real: ${line}\n`);
  await ensureBuilt(FROM, { log });
  await ensureBuilt(TO, { log });
  log(`binaries of ${FROM} and ${TO} ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** A started cluster, its kubeconfig file, and a folder for kup's data. */
export interface RealFixture {
  readonly running: RunningLocalCluster;
  readonly kubeconfigPath: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Starts a cluster at `version` with `pools`, its kubeconfig in a temp folder. */
export async function startReal(version: string, pools: readonly PoolOptions[]): Promise<RealFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'kup-real-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const running = await startLocal(
    { version, pools, kubeconfigPath, dataDir: join(dir, 'cluster'), keepData: false },
    (line) => process.stdout.write(`# local: ${line}\n`),
  );
  return {
    running,
    kubeconfigPath,
    dataDir: join(dir, 'kup'),
    async close() {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the binary of a running component says of itself (`<binary> <component> --version`). */
export async function binaryVersion(pid: number, component: string): Promise<string> {
  const exe = await readlink(`/proc/${pid}/exe`);
  return new Promise((resolve, reject) => {
    execFile(exe, [component, '--version'], (err, stdout) =>
      err ? reject(new Error(`${exe} ${component} --version: ${err.message}`)) : resolve(stdout.trim()),
    );
  });
}

/** A record of a Deployment's available pods over time, kept by a watch of its own (not kup's). */
export interface AvailabilityWatch {
  /** The fewest available pods seen while the watch ran (after the first list). */
  readonly minAvailable: () => number;
  /** Every change of the count: `[time, count]`. */
  readonly timeline: () => readonly (readonly [number, number])[];
  stop(): void;
}

interface PodEvent {
  type: string;
  object: {
    metadata: { name: string; deletionTimestamp?: string };
    status?: { conditions?: { type: string; status: string }[] };
  };
}

/**
 * Watches the pods of `selector` in `namespace` and counts those available (Ready and not terminating). When the
 * API server goes away (a control-plane upgrade restarts it), it lists again and watches from there: while it is
 * away nothing can be evicted, and the list says what changed meanwhile.
 */
export function watchAvailability(fx: RealFixture, namespace: string, selector: string): AvailabilityWatch {
  const { server, caCertPem, token } = fx.running.cluster;
  const pods = new Map<string, boolean>();
  const timeline: [number, number][] = [];
  let min = Number.POSITIVE_INFINITY;
  let stopped = false;
  let current: ReturnType<typeof request> | undefined;
  const count = () => [...pods.values()].filter(Boolean).length;
  const record = () => {
    const n = count();
    if (timeline.at(-1)?.[1] !== n) timeline.push([Date.now(), n]);
    min = Math.min(min, n);
  };
  const available = (o: PodEvent['object']) =>
    o.metadata.deletionTimestamp === undefined &&
    (o.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const path = `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`;
  const get = (url: string, onBody: (res: IncomingMessage) => void, onFail: () => void) => {
    current = request(server + url, { ca: caCertPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        onFail();
        return;
      }
      onBody(res);
    });
    current.on('error', onFail);
    current.end();
  };
  const retry = () => {
    if (!stopped) setTimeout(list, 200);
  };
  const list = () => {
    get(
      path,
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          const body = JSON.parse(text) as { metadata: { resourceVersion: string }; items: PodEvent['object'][] };
          pods.clear();
          for (const item of body.items) pods.set(item.metadata.name, available(item));
          record();
          watch(body.metadata.resourceVersion);
        });
      },
      retry,
    );
  };
  const watch = (resourceVersion: string) => {
    get(
      `${path}&watch=true&allowWatchBookmarks=false&resourceVersion=${resourceVersion}`,
      (res) => {
        let buffer = '';
        res.on('data', (c: Buffer) => {
          buffer += c.toString();
          let newline;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim() === '') continue;
            const event = JSON.parse(line) as PodEvent;
            if (event.type === 'DELETED') pods.delete(event.object.metadata.name);
            else if (event.type === 'ADDED' || event.type === 'MODIFIED')
              pods.set(event.object.metadata.name, available(event.object));
            record();
          }
        });
        res.on('end', retry);
        res.on('error', retry);
      },
      retry,
    );
  };
  list();
  return {
    minAvailable: () => min,
    timeline: () => timeline,
    stop() {
      stopped = true;
      current?.destroy();
    },
  };
}
