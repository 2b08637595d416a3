/**
 * A real Kubernetes control plane on this host: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
 * built from their Go modules ({@link ensureBuilt}), on loopback ports, with a throwaway PKI and a static token; kwok
 * plays the kubelets of the nodes. It is what `kup local start` runs and what the local provider upgrades, through
 * the control API (control-api.ts) that puts this object on the wire.
 *
 * The control plane is one "node" (`control-plane-0`): a Node object kwok keeps Ready, whose kubelet version says
 * the version of the process set. Upgrading it swaps the binaries in kubeadm's order (kube-apiserver,
 * kube-controller-manager, kube-scheduler, then the kubelet), each component healthy before the next. Worker nodes are
 * kwok nodes in pools; replacing one creates a new Node at the new kubelet version. Snapshots are etcd snapshots
 * (etcdctl snapshot save); a restore stops everything, restores the data directory with etcdutl and starts the
 * control plane from the binaries of the version it ran when the snapshot was taken.
 */
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { generateServingPki } from '../kube-sim/tls.ts';
import { buildKubeconfig } from '../kube-sim/kubeconfig.ts';
import { apiRequest, replyText } from './api.ts';
import type { ApiTarget } from './api.ts';
import { ETCD_VERSION, ensureBuilt } from './build.ts';
import type { LocalBinaries } from './build.ts';
import { LocalClusterError } from './errors.ts';
import { LocalProcess } from './processes.ts';
import { kwokStages } from './stages.ts';

/** The name of the control plane's node. */
export const CONTROL_PLANE_NODE = 'control-plane-0';
/** The label that names a worker node's pool (kube-sim's too). */
export const POOL_LABEL = 'kup.dev/pool';
/** The annotation that carries a node's machine image. */
export const IMAGE_ANNOTATION = 'kup.dev/machine-image';
/** The annotation kwok selects the nodes it plays by. */
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

/** The components of the control plane, in the order kubeadm upgrades them. */
export const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
/** One of the control plane's components. */
export type LocalComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];

/** A worker pool to create at start. */
export interface PoolOptions {
  readonly name: string;
  readonly size: number;
}

/** Options of {@link LocalCluster.start}. */
export interface LocalClusterOptions {
  /** Kubernetes version of the control plane and the nodes, `X.Y.Z`. */
  readonly version: string;
  /** Worker pools. @default one pool "workers" of 2 nodes */
  readonly pools?: readonly PoolOptions[];
  /** Folder of the cluster's PKI, etcd data, logs and snapshots (created; removed by {@link LocalCluster.stop}). */
  readonly dataDir: string;
  /** Where built programs are cached. @default build.ts's default */
  readonly cacheDir?: string;
  /** Cluster name in the kubeconfig. @default "local" */
  readonly name?: string;
  /** Told what happens (builds, starts, stops), one line each. @default nothing */
  readonly log?: (line: string) => void;
  /** Keep the data folder when stopping (its logs). @default false */
  readonly keepDataDir?: boolean;
  /** Aborting it stops the start (a build in progress, a wait for health) and what it started. */
  readonly signal?: AbortSignal;
}

/** A pool as the infrastructure knows it: what new nodes get. */
export interface LocalPool {
  readonly name: string;
  readonly kubeletVersion: string;
  readonly machineImage: string;
  /** Index of the next node created in the pool (`<pool>-<index>`). */
  readonly nextIndex: number;
}

/** A snapshot taken by {@link LocalCluster.takeSnapshot}. */
export interface LocalSnapshot {
  readonly id: string;
  readonly name: string;
  readonly takenAt: string;
  readonly sizeBytes: number;
  /** The version the control plane ran. */
  readonly version: string;
  /** The pools' templates when it was taken. */
  readonly pools: readonly LocalPool[];
}

/** One node of the topology. */
export interface LocalNodeView {
  readonly name: string;
  readonly pool?: string;
  readonly kubeletVersion: string;
  readonly machineImage: string;
}

/** The default machine image of a version (kwok nodes boot nothing: the name is what a replacement changes). */
export function defaultImage(version: string): string {
  return `kwok-node-v${version}`;
}

interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  readonly kwok: number;
}

interface Paths {
  readonly pki: string;
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly saKey: string;
  readonly saPub: string;
  readonly tokens: string;
  readonly kubeconfig: string;
  readonly stages: string;
  readonly etcdData: string;
  readonly logs: string;
  readonly snapshots: string;
}

/** A running local cluster. Create it with {@link LocalCluster.start}; stop it with {@link LocalCluster.stop}. */
export class LocalCluster {
  readonly name: string;
  /** The API server URL. */
  readonly server: string;
  readonly caCertPem: string;
  /** Serving pair for 127.0.0.1 signed by the cluster's CA (the control API serves with it too). */
  readonly servingCertPem: string;
  readonly servingKeyPem: string;
  /** The admin bearer token (system:masters). */
  readonly token: string;
  readonly dataDir: string;
  readonly #paths: Paths;
  readonly #ports: Ports;
  readonly #options: LocalClusterOptions;
  readonly #log: (line: string) => void;
  #version: string;
  /** The version each component runs now (they differ in the middle of an upgrade). */
  readonly #componentVersions = new Map<LocalComponent, string>();
  readonly #processes = new Map<string, LocalProcess>();
  #pools = new Map<string, LocalPool>();
  readonly #snapshots: LocalSnapshot[] = [];
  /** Serializes what restarts processes or takes snapshots: one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #started = false;

  private constructor(init: {
    options: LocalClusterOptions;
    paths: Paths;
    ports: Ports;
    caCertPem: string;
    servingCertPem: string;
    servingKeyPem: string;
    token: string;
  }) {
    this.#options = init.options;
    this.name = init.options.name ?? 'local';
    this.dataDir = init.options.dataDir;
    this.#paths = init.paths;
    this.#ports = init.ports;
    this.server = `https://127.0.0.1:${init.ports.apiserver}`;
    this.caCertPem = init.caCertPem;
    this.servingCertPem = init.servingCertPem;
    this.servingKeyPem = init.servingKeyPem;
    this.token = init.token;
    this.#log = init.options.log ?? (() => {});
    this.#version = init.options.version;
  }

  /**
   * Builds what is missing, then starts etcd, the control plane and kwok, and creates the nodes of the pools.
   * Resolves when the API answers ready and every node is Ready. On failure, stops what it started.
   */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const pools = options.pools ?? [{ name: 'workers', size: 2 }];
    for (const pool of pools) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(pool.name) || !Number.isInteger(pool.size) || pool.size < 0) {
        throw new LocalClusterError(
          'invalidInput',
          `pool "${pool.name}" of size ${pool.size}: a pool is a DNS label and a size >= 0`,
        );
      }
    }
    await ensureBuilt(options.version, {
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      log: options.log ?? (() => {}),
    });
    const paths = pathsOf(options.dataDir);
    await mkdir(paths.pki, { recursive: true });
    await mkdir(paths.logs, { recursive: true });
    await mkdir(paths.snapshots, { recursive: true });
    const pki = await generateServingPki({
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default'],
      ips: ['127.0.0.1'],
    });
    const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const token = randomBytes(24).toString('hex');
    const ports = await freePorts();
    const name = options.name ?? 'local';
    const server = `https://127.0.0.1:${ports.apiserver}`;
    await writeFile(paths.caCert, pki.caCertPem);
    await writeFile(paths.servingCert, pki.certPem);
    await writeFile(paths.servingKey, pki.keyPem, { mode: 0o600 });
    await writeFile(paths.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(paths.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(paths.tokens, `${token},kup-admin,kup-admin,"system:masters"\n`, { mode: 0o600 });
    await writeFile(paths.kubeconfig, buildKubeconfig({ name, server, caCertPem: pki.caCertPem, token }), {
      mode: 0o600,
    });
    await writeFile(paths.stages, kwokStages());
    const cluster = new LocalCluster({
      options,
      paths,
      ports,
      caCertPem: pki.caCertPem,
      servingCertPem: pki.certPem,
      servingKeyPem: pki.keyPem,
      token,
    });
    try {
      await cluster.#startAll(options.version);
      for (const pool of pools) {
        cluster.#pools.set(pool.name, {
          name: pool.name,
          kubeletVersion: options.version,
          machineImage: defaultImage(options.version),
          nextIndex: 0,
        });
        for (let i = 0; i < pool.size; i++) await cluster.#createWorker(pool.name, options.version);
      }
      await cluster.waitNodesReady();
      cluster.#started = true;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The kubeconfig document (admin token, the cluster's CA). */
  kubeconfig(): Promise<string> {
    return readFile(this.#paths.kubeconfig, 'utf8');
  }

  /** The version the control plane runs (the last component's, in the middle of an upgrade). */
  get version(): string {
    return this.#version;
  }

  /** The version each control-plane component runs. */
  componentVersions(): Record<LocalComponent | 'etcd', string> {
    return {
      etcd: ETCD_VERSION,
      'kube-apiserver': this.#componentVersions.get('kube-apiserver') ?? this.#version,
      'kube-controller-manager': this.#componentVersions.get('kube-controller-manager') ?? this.#version,
      'kube-scheduler': this.#componentVersions.get('kube-scheduler') ?? this.#version,
    };
  }

  /** The processes running now, by component name, with their process ids. */
  processIds(): Record<string, number> {
    return Object.fromEntries([...this.#processes].map(([name, p]) => [name, p.pid]));
  }

  /** The pools' templates. */
  pools(): LocalPool[] {
    return [...this.#pools.values()];
  }

  /** The snapshots taken, oldest first. */
  snapshots(): readonly LocalSnapshot[] {
    return this.#snapshots;
  }

  #api(): ApiTarget {
    return { server: this.server, caCertPem: this.caCertPem, token: this.token };
  }

  /** Runs `work` after everything queued before it: one process restart, snapshot or restore at a time. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  // ---- processes ----

  async #startAll(version: string): Promise<void> {
    const signal = this.#options.signal;
    await this.#startEtcd();
    for (const component of CONTROL_PLANE_COMPONENTS) {
      signal?.throwIfAborted();
      await this.#startComponent(component, version);
    }
    signal?.throwIfAborted();
    await this.#startKwok();
    await this.#ensureControlPlaneNode(version);
  }

  async #startEtcd(): Promise<void> {
    const bins = await this.#binaries(this.#version);
    const { etcdClient, etcdPeer } = this.#ports;
    const peer = `http://127.0.0.1:${etcdPeer}`;
    const client = `http://127.0.0.1:${etcdClient}`;
    this.#spawn(
      'etcd',
      bins.etcd,
      [
        '--name=local',
        `--data-dir=${this.#paths.etcdData}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=local=${peer}`,
        '--log-level=warn',
      ],
      10_000,
    );
    await this.#waitHealthy(
      'etcd',
      () => httpGet(`${client}/health`),
      (r) => r.status === 200 && r.text.includes('"health":"true"'),
    );
  }

  async #binaries(version: string): Promise<LocalBinaries> {
    return ensureBuilt(version, {
      ...(this.#options.cacheDir !== undefined ? { cacheDir: this.#options.cacheDir } : {}),
      log: this.#log,
    });
  }

  async #startComponent(component: LocalComponent, version: string): Promise<void> {
    const bins = await this.#binaries(version);
    const p = this.#paths;
    const ports = this.#ports;
    switch (component) {
      case 'kube-apiserver':
        this.#spawn(
          component,
          bins.controlPlane,
          [
            component,
            `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${ports.apiserver}`,
            // A documentation address (RFC 5737) nothing connects to: on loopback the endpoint reconciler complains
            // every few seconds that the advertised address is not reachable from pods.
            '--advertise-address=192.0.2.10',
            `--tls-cert-file=${p.servingCert}`,
            `--tls-private-key-file=${p.servingKey}`,
            `--token-auth-file=${p.tokens}`,
            '--authorization-mode=RBAC',
            '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
            `--service-account-key-file=${p.saPub}`,
            `--service-account-signing-key-file=${p.saKey}`,
            '--service-cluster-ip-range=10.96.0.0/16',
            '--allow-privileged=true',
            `--cert-dir=${join(this.dataDir, 'apiserver-certs')}`,
            '--profiling=false',
          ],
          5_000,
        );
        await this.#waitHealthy(
          component,
          () => this.#apiGet('/readyz'),
          (r) => r.status === 200,
        );
        break;
      case 'kube-controller-manager':
        this.#spawn(
          component,
          bins.controlPlane,
          [
            component,
            `--kubeconfig=${p.kubeconfig}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${ports.controllerManager}`,
            // One instance, and it must not quit when its apiserver restarts (a leader that loses its lease exits).
            '--leader-elect=false',
            `--service-account-private-key-file=${p.saKey}`,
            `--root-ca-file=${p.caCert}`,
            '--profiling=false',
          ],
          5_000,
        );
        await this.#waitHealthy(
          component,
          () => httpsGetInsecure(`https://127.0.0.1:${ports.controllerManager}/healthz`),
          (r) => r.status === 200,
        );
        break;
      case 'kube-scheduler':
        this.#spawn(
          component,
          bins.controlPlane,
          [
            component,
            `--kubeconfig=${p.kubeconfig}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${ports.scheduler}`,
            '--leader-elect=false',
            '--profiling=false',
          ],
          5_000,
        );
        await this.#waitHealthy(
          component,
          () => httpsGetInsecure(`https://127.0.0.1:${ports.scheduler}/healthz`),
          (r) => r.status === 200,
        );
        break;
    }
    this.#componentVersions.set(component, version);
    this.#log(`${component} ${version} is healthy (pid ${this.#processes.get(component)?.pid})`);
  }

  async #startKwok(): Promise<void> {
    const bins = await this.#binaries(this.#version);
    this.#spawn(
      'kwok',
      bins.kwok,
      [
        `--kubeconfig=${this.#paths.kubeconfig}`,
        `--config=${this.#paths.stages}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
        '--node-lease-duration-seconds=40',
        '--cidr=10.244.0.1/16',
        '--node-ip=10.0.0.1',
        `--server-address=127.0.0.1:${this.#ports.kwok}`,
      ],
      5_000,
    );
    await this.#waitHealthy(
      'kwok',
      () => httpGet(`http://127.0.0.1:${this.#ports.kwok}/healthz`),
      (r) => r.status === 200,
    );
  }

  #spawn(name: string, command: string, args: string[], stopGraceMs: number): void {
    if (this.#stopped) throw new LocalClusterError('startFailed', `${name}: not started, the cluster is stopping`);
    const process = LocalProcess.start({
      name,
      command,
      args,
      logFile: join(this.#paths.logs, `${name}.log`),
      stopGraceMs,
    });
    this.#processes.set(name, process);
  }

  async #stopProcess(name: string): Promise<void> {
    const process = this.#processes.get(name);
    if (!process) return;
    await process.stop();
    this.#processes.delete(name);
  }

  /** Polls a health endpoint until `ok`, failing early when the process exits. Polling: the process has no watch. */
  async #waitHealthy(
    name: string,
    probe: () => Promise<{ status: number; text: string }>,
    ok: (r: { status: number; text: string }) => boolean,
    timeoutMs = 120_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      // Only while starting: once started, the cluster's waits (an upgrade, a restore) finish what they began.
      if (!this.#started) this.#options.signal?.throwIfAborted();
      const process = this.#processes.get(name);
      if (process?.exitCode !== undefined) {
        const tail = await readFile(process.spec.logFile, 'utf8').then(
          (t) => t.trim().split('\n').slice(-8).join('\n'),
          () => '',
        );
        throw new LocalClusterError(
          'startFailed',
          `${name} exited (${process.exitCode}) before it was healthy; the end of ${process.spec.logFile}:\n${tail}`,
        );
      }
      try {
        const r = await probe();
        if (ok(r)) return;
        last = `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new LocalClusterError('startFailed', `${name} is not healthy after ${timeoutMs / 1000} s: ${last}`);
      }
      await delay(250);
    }
  }

  async #apiGet(path: string): Promise<{ status: number; text: string }> {
    const reply = await apiRequest(this.#api(), 'GET', path);
    return { status: reply.status, text: typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body) };
  }

  // ---- nodes ----

  async #ensureControlPlaneNode(version: string): Promise<void> {
    const existing = await apiRequest(this.#api(), 'GET', `/api/v1/nodes/${CONTROL_PLANE_NODE}`);
    if (existing.status === 200) return;
    await this.#createNode(CONTROL_PLANE_NODE, version, defaultImage(version), {
      labels: { 'node-role.kubernetes.io/control-plane': '' },
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    });
  }

  async #createNode(
    name: string,
    version: string,
    image: string,
    extra: { labels?: Record<string, string>; taints?: readonly Record<string, string>[] } = {},
  ): Promise<void> {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          ...extra.labels,
        },
        annotations: { [KWOK_ANNOTATION]: 'fake', [IMAGE_ANNOTATION]: image },
      },
      spec: { taints: extra.taints ?? [] },
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        nodeInfo: {
          kubeletVersion: `v${version}`,
          kubeProxyVersion: `v${version}`,
          osImage: image,
          operatingSystem: 'linux',
          architecture: 'amd64',
          containerRuntimeVersion: 'kwok',
          kernelVersion: 'kwok',
          machineID: '',
          systemUUID: '',
          bootID: '',
        },
      },
    };
    const reply = await apiRequest(this.#api(), 'POST', '/api/v1/nodes', node);
    if (reply.status !== 201) {
      throw new LocalClusterError(
        reply.status === 409 ? 'conflict' : 'startFailed',
        `create node ${name}: HTTP ${reply.status}: ${replyText(reply)}`,
      );
    }
  }

  async #createWorker(poolName: string, version: string, image?: string): Promise<string> {
    const pool = this.#pools.get(poolName);
    if (!pool) throw new LocalClusterError('notFound', `pool "${poolName}" not found`);
    const machineImage = image ?? defaultImage(version);
    // Names are never reused: a replacement's name says it is a new machine, as a cloud's instance names do.
    let index = pool.nextIndex;
    for (;;) {
      const name = `${poolName}-${index}`;
      index++;
      try {
        await this.#createNode(name, version, machineImage, { labels: { [POOL_LABEL]: poolName } });
        this.#pools.set(poolName, { name: poolName, kubeletVersion: version, machineImage, nextIndex: index });
        return name;
      } catch (err) {
        // A name a restored snapshot's etcd still has: take the next one.
        if (!(err instanceof LocalClusterError && err.reason === 'conflict')) throw err;
      }
    }
  }

  /** The nodes as the API server lists them. */
  async nodes(): Promise<LocalNodeView[]> {
    const reply = await apiRequest(this.#api(), 'GET', '/api/v1/nodes');
    if (reply.status !== 200)
      throw new LocalClusterError('startFailed', `list nodes: HTTP ${reply.status}: ${replyText(reply)}`);
    const items = (reply.body as { items?: NodeObject[] }).items ?? [];
    return items.map((n) => ({
      name: n.metadata.name,
      ...(n.metadata.labels?.[POOL_LABEL] !== undefined ? { pool: n.metadata.labels[POOL_LABEL] } : {}),
      kubeletVersion: (n.status?.nodeInfo?.kubeletVersion ?? '').replace(/^v/, ''),
      machineImage: n.metadata.annotations?.[IMAGE_ANNOTATION] ?? '',
    }));
  }

  /** Resolves when every node reports Ready (kwok's node-initialize stage). Polls: a few nodes, rarely. */
  async waitNodesReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = await apiRequest(this.#api(), 'GET', '/api/v1/nodes');
      const items = (reply.body as { items?: NodeObject[] }).items ?? [];
      const notReady = items
        .filter((n) => !(n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((n) => n.metadata.name);
      if (reply.status === 200 && notReady.length === 0) return;
      if (Date.now() > deadline)
        throw new LocalClusterError(
          'startFailed',
          `nodes not Ready after ${timeoutMs / 1000} s: ${notReady.join(', ')}`,
        );
      await delay(250);
    }
  }

  /** Creates a node in `pool` at `version` (and `image`); resolves with its name once the Node object exists. */
  addWorker(pool: string, version: string, image?: string): Promise<string> {
    return this.#createWorker(pool, version, image);
  }

  /** Deletes a worker node's Node object (the pod GC controller deletes its pods). A node already gone resolves. */
  async deleteWorker(name: string): Promise<boolean> {
    if (name === CONTROL_PLANE_NODE)
      throw new LocalClusterError('rejected', `${name} is the control plane: it cannot be deleted`);
    const reply = await apiRequest(this.#api(), 'DELETE', `/api/v1/nodes/${encodeURIComponent(name)}`);
    if (reply.status === 404) return false;
    if (reply.status >= 300)
      throw new LocalClusterError('startFailed', `delete node ${name}: HTTP ${reply.status}: ${replyText(reply)}`);
    return true;
  }

  /** Sets a node's kubelet version (and image) in place, as a kubelet restarted at the new version reports it. */
  async setKubelet(name: string, version: string, image?: string): Promise<void> {
    if (image !== undefined) {
      const meta = await apiRequest(
        this.#api(),
        'PATCH',
        `/api/v1/nodes/${encodeURIComponent(name)}`,
        { metadata: { annotations: { [IMAGE_ANNOTATION]: image } } },
        'application/merge-patch+json',
      );
      if (meta.status !== 200)
        throw new LocalClusterError(
          meta.status === 404 ? 'notFound' : 'startFailed',
          `node ${name}: HTTP ${meta.status}: ${replyText(meta)}`,
        );
    }
    const reply = await apiRequest(
      this.#api(),
      'PATCH',
      `/api/v1/nodes/${encodeURIComponent(name)}/status`,
      { status: { nodeInfo: { kubeletVersion: `v${version}`, kubeProxyVersion: `v${version}` } } },
      'application/merge-patch+json',
    );
    if (reply.status !== 200)
      throw new LocalClusterError(
        reply.status === 404 ? 'notFound' : 'startFailed',
        `node ${name}: HTTP ${reply.status}: ${replyText(reply)}`,
      );
  }

  // ---- upgrade, snapshot, restore ----

  /**
   * Upgrades the control plane to `version`: builds its binaries first (nothing is stopped before they exist), then
   * restarts kube-apiserver, kube-controller-manager and kube-scheduler from them one by one, each healthy before
   * the next, then the control-plane node's kubelet. `onStep` hears each step.
   */
  upgradeControlPlane(
    version: string,
    onStep: (step: LocalComponent | 'kubelet' | 'done', message: string) => void = () => {},
  ): Promise<void> {
    return this.#serial(async () => {
      await this.#binaries(version);
      for (const component of CONTROL_PLANE_COMPONENTS) {
        if (this.#componentVersions.get(component) === version) continue;
        onStep(component, `upgrading ${component} to ${version}`);
        this.#log(`stopping ${component} ${this.#componentVersions.get(component) ?? '?'}`);
        await this.#stopProcess(component);
        await this.#startComponent(component, version);
      }
      onStep('kubelet', `upgrading the kubelet of ${CONTROL_PLANE_NODE} to ${version}`);
      await this.setKubelet(CONTROL_PLANE_NODE, version);
      this.#version = version;
      onStep('done', `control plane runs ${version}`);
    });
  }

  /** Takes an etcd snapshot (etcdctl snapshot save) and records the versions the hosts run. */
  takeSnapshot(name: string): Promise<LocalSnapshot> {
    return this.#serial(async () => {
      const existing = this.#snapshots.find((s) => s.name === name);
      if (existing) return existing;
      const id = `snap-${this.#snapshots.length + 1}`;
      const file = join(this.#paths.snapshots, `${id}.db`);
      const bins = await this.#binaries(this.#version);
      await run(
        bins.etcdctl,
        [`--endpoints=http://127.0.0.1:${this.#ports.etcdClient}`, 'snapshot', 'save', file],
        'snapshotFailed',
      );
      const snapshot: LocalSnapshot = {
        id,
        name,
        takenAt: new Date().toISOString(),
        sizeBytes: (await stat(file)).size,
        version: this.#version,
        pools: this.pools(),
      };
      this.#snapshots.push(snapshot);
      this.#log(`snapshot ${id} (${name}) taken: ${snapshot.sizeBytes} bytes of etcd at ${this.#version}`);
      return snapshot;
    });
  }

  /**
   * Restores a snapshot: stops kwok, the control plane and etcd, restores etcd's data directory from the snapshot
   * (etcdutl snapshot restore), and starts everything again from the binaries of the version the snapshot was taken
   * at: the Node objects come back with the kubelet versions they had.
   */
  restoreSnapshot(id: string): Promise<void> {
    return this.#serial(async () => {
      const snapshot = this.#snapshots.find((s) => s.id === id);
      if (!snapshot)
        throw new LocalClusterError(
          'notFound',
          `snapshot "${id}" not found (snapshots: ${this.#snapshots.map((s) => s.id).join(', ') || 'none'})`,
        );
      const bins = await this.#binaries(snapshot.version);
      this.#log(`restoring snapshot ${id}: stopping kwok, the control plane and etcd`);
      for (const name of ['kwok', ...[...CONTROL_PLANE_COMPONENTS].reverse(), 'etcd']) await this.#stopProcess(name);
      const restored = `${this.#paths.etcdData}.restore`;
      await rm(restored, { recursive: true, force: true });
      const peer = `http://127.0.0.1:${this.#ports.etcdPeer}`;
      await run(
        bins.etcdutl,
        [
          'snapshot',
          'restore',
          join(this.#paths.snapshots, `${id}.db`),
          `--data-dir=${restored}`,
          '--name=local',
          `--initial-cluster=local=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
        ],
        'snapshotFailed',
      );
      await rm(this.#paths.etcdData, { recursive: true, force: true });
      await rename(restored, this.#paths.etcdData);
      this.#version = snapshot.version;
      this.#componentVersions.clear();
      this.#pools = new Map(
        snapshot.pools.map((p) => [
          p.name,
          { ...p, nextIndex: Math.max(p.nextIndex, this.#pools.get(p.name)?.nextIndex ?? 0) },
        ]),
      );
      await this.#startAll(snapshot.version);
      this.#log(`snapshot ${id} restored: the control plane runs ${snapshot.version} again`);
    });
  }

  /** Stops kwok, the control plane and etcd (in that order), and removes the data folder unless told to keep it. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // An upgrade or a restore in progress starts no process from now on (#spawn refuses): wait for it to end, so
    // that nothing it starts outlives the stop.
    await this.#queue;
    for (const name of ['kwok', ...[...CONTROL_PLANE_COMPONENTS].reverse(), 'etcd']) {
      await this.#stopProcess(name).catch(() => undefined);
    }
    if (!this.#options.keepDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

interface NodeObject {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { nodeInfo?: { kubeletVersion?: string }; conditions?: { type: string; status: string }[] };
}

function pathsOf(dataDir: string): Paths {
  const pki = join(dataDir, 'pki');
  return {
    pki,
    caCert: join(pki, 'ca.crt'),
    servingCert: join(pki, 'apiserver.crt'),
    servingKey: join(pki, 'apiserver.key'),
    saKey: join(pki, 'sa.key'),
    saPub: join(pki, 'sa.pub'),
    tokens: join(pki, 'tokens.csv'),
    kubeconfig: join(dataDir, 'admin.kubeconfig'),
    stages: join(dataDir, 'kwok-stages.yaml'),
    etcdData: join(dataDir, 'etcd'),
    logs: join(dataDir, 'logs'),
    snapshots: join(dataDir, 'snapshots'),
  };
}

/** Ports free on loopback now, all different (held open together while chosen, then released). */
async function freePorts(): Promise<Ports> {
  const servers = await Promise.all(
    Array.from(
      { length: 6 },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  const [etcdClient = 0, etcdPeer = 0, apiserver = 0, controllerManager = 0, scheduler = 0, kwok = 0] = ports;
  return { etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok };
}

function httpGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 5_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** A health check of a component serving its own self-signed certificate on loopback: its identity is its port. */
function httpsGetInsecure(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { timeout: 5_000, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

function run(command: string, args: readonly string[], reason: 'snapshotFailed'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new LocalClusterError(reason, `${command} ${args.join(' ')}: ${(stderr || err.message).trim()}`, {
            cause: err,
          }),
        );
      else resolve(stdout);
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
