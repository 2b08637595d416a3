/**
 * Builds the programs of a real local control plane from their Go modules, through the Go module proxy: never a
 * downloaded binary. Each program is a small module of ours (`src/local/go/<program>/`) whose go.mod is generated
 * here for the version asked, built into `<cacheDir>/<program>-<version>/`; a program already there is not rebuilt.
 *
 * - `controlplane`: one binary for kube-apiserver, kube-controller-manager and kube-scheduler (its first argument
 *   picks one), requiring `k8s.io/kubernetes` at the version with each of its staging modules replaced by
 *   `v0.<minor>.<patch>` (the upstream go.mod points them at `./staging/...`, which a consumer cannot use), and the
 *   version stamped by ldflags as Kubernetes' own build does (else it reports `v0.0.0-master`).
 * - `etcd`: the etcd server over `etcdmain`, with etcdctl and etcdutl (snapshot save and restore) built from the
 *   same module graph.
 * - `kwok`: `sigs.k8s.io/kwok/cmd/kwok`, which plays the kubelets of the nodes.
 * - `capi`: Cluster API's managers (core, kubeadm control plane, kubeadm bootstrap, and the Docker infrastructure
 *   provider, whose in-memory backend simulates machines and workload API servers), from `sigs.k8s.io/cluster-api`
 *   and `sigs.k8s.io/cluster-api/test` at the version; test/capi runs them on a real control plane.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalClusterError } from './errors.ts';

/** The etcd release every local control plane runs (apiservers 1.33 to 1.37 accept 3.6). */
export const ETCD_VERSION = '3.6.16';
/** The kwok release that plays the nodes. */
export const KWOK_VERSION = '0.8.0';

/** The Cluster API release whose managers test/capi runs. */
export const CLUSTER_API_VERSION = '1.11.5';

/** A program kup builds. */
export type LocalProgram = 'controlplane' | 'etcd' | 'kwok' | 'capi';

/** Cluster API's managers, by the file each is built to, and the main package it is built from. */
export const CLUSTER_API_MANAGERS = {
  'capi-manager': 'sigs.k8s.io/cluster-api',
  'kubeadm-control-plane-manager': 'sigs.k8s.io/cluster-api/controlplane/kubeadm',
  'kubeadm-bootstrap-manager': 'sigs.k8s.io/cluster-api/bootstrap/kubeadm',
  'capd-manager': 'sigs.k8s.io/cluster-api/test/infrastructure/docker',
} as const;
/** One of Cluster API's managers. */
export type ClusterApiManager = keyof typeof CLUSTER_API_MANAGERS;

/** Where the built programs of one cluster version are. */
export interface LocalBinaries {
  /** The multi-call control-plane binary (`controlplane kube-apiserver ...`). */
  readonly controlPlane: string;
  readonly etcd: string;
  readonly etcdctl: string;
  readonly etcdutl: string;
  readonly kwok: string;
}

/** Options of {@link ensureBuilt}. */
export interface BuildOptions {
  /** Folder of the built programs. @default `<repo>/.cache/real` */
  readonly cacheDir?: string;
  /** Told what is built and how long it took, one line each. @default nothing */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The repository root: the folder of kup's package.json (the Go templates live under src/local/go there). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('kup: cannot find the repository root (package.json) above ' + import.meta.url);
    dir = up;
  }
  return dir;
}

/** The default cache folder of built programs. */
export function defaultCacheDir(): string {
  return join(repoRoot(), '.cache', 'real');
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * Builds what is missing of the programs of a control plane at `version` (`1.35.4`) and returns their paths.
 * @throws LocalClusterError `KUP-LOCAL-001` for a version that is not `X.Y.Z`, `KUP-LOCAL-002` when Go is missing
 *   or a build fails (the message carries the end of Go's output).
 */
export async function ensureBuilt(version: string, options: BuildOptions = {}): Promise<LocalBinaries> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  if (!VERSION.test(version)) {
    throw new LocalClusterError(
      'invalidInput',
      `version "${version}" is not a Kubernetes release X.Y.Z (e.g. 1.35.4)`,
    );
  }
  const controlPlaneDir = await ensureProgram('controlplane', version, cacheDir, options);
  const etcdDir = await ensureProgram('etcd', ETCD_VERSION, cacheDir, options);
  const kwokDir = await ensureProgram('kwok', KWOK_VERSION, cacheDir, options);
  return {
    controlPlane: join(controlPlaneDir, 'controlplane'),
    etcd: join(etcdDir, 'etcd'),
    etcdctl: join(etcdDir, 'etcdctl'),
    etcdutl: join(etcdDir, 'etcdutl'),
    kwok: join(kwokDir, 'kwok'),
  };
}

/** Cluster API's managers, built, and the sources of the modules they come from (their CRDs and webhooks). */
export interface ClusterApiBuild {
  readonly version: string;
  /** Path of each manager's binary. */
  readonly managers: Readonly<Record<ClusterApiManager, string>>;
  /** Folder of `sigs.k8s.io/cluster-api` in the Go module cache (read only). */
  readonly coreModuleDir: string;
  /** Folder of `sigs.k8s.io/cluster-api/test` in the Go module cache (read only). */
  readonly testModuleDir: string;
}

/**
 * Builds what is missing of Cluster API's managers at {@link CLUSTER_API_VERSION} (about 5 minutes on an empty Go
 * build cache) and returns their paths with the module folders their manifests are read from.
 * @throws LocalClusterError `KUP-LOCAL-002` when Go is missing or a build fails.
 */
export async function ensureClusterApiBuilt(options: BuildOptions = {}): Promise<ClusterApiBuild> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const version = CLUSTER_API_VERSION;
  const dir = await ensureProgram('capi', version, cacheDir, options);
  const moduleDir = async (module: string) => {
    const info = JSON.parse(
      await go(['mod', 'download', '-json', `${module}@v${version}`], cacheDir, options.signal),
    ) as {
      Dir?: string;
      Error?: string;
    };
    if (info.Dir === undefined) {
      throw new LocalClusterError(
        'buildFailed',
        `${module} v${version} is not on the Go module proxy: ${info.Error ?? 'no folder'}`,
      );
    }
    return info.Dir;
  };
  const managers = Object.fromEntries(
    Object.keys(CLUSTER_API_MANAGERS).map((file) => [file, join(dir, file)]),
  ) as Record<ClusterApiManager, string>;
  return {
    version,
    managers,
    coreModuleDir: await moduleDir('sigs.k8s.io/cluster-api'),
    testModuleDir: await moduleDir('sigs.k8s.io/cluster-api/test'),
  };
}

/** The files a built program's folder holds once the build is complete. */
const OUTPUTS: Readonly<Record<LocalProgram, readonly string[]>> = {
  controlplane: ['controlplane'],
  etcd: ['etcd', 'etcdctl', 'etcdutl'],
  kwok: ['kwok'],
  capi: Object.keys(CLUSTER_API_MANAGERS),
};

/**
 * Builds one program at one version unless it is built already; resolves to its folder. Two processes asking for
 * the same program (two test files, a test and `kup local start`) build it once: the first holds a lock folder with
 * its pid, the others wait for it (a lock whose process is gone is taken over).
 */
export async function ensureProgram(
  program: LocalProgram,
  version: string,
  cacheDir: string,
  options: BuildOptions = {},
): Promise<string> {
  const outDir = join(cacheDir, `${program}-${version}`);
  const built = () => OUTPUTS[program].every((file) => existsSync(join(outDir, file)));
  if (built()) return outDir;
  const log = options.log ?? (() => {});
  await mkdir(cacheDir, { recursive: true });
  const lock = `${outDir}.lock`;
  let waiting = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
    if (holder > 0 && !alive(holder)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!waiting) log(`waiting for process ${holder || '?'}, which builds ${program} ${version}`);
    waiting = true;
    // Polled: the other builder is another process, and a build takes minutes.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    if (built()) return outDir;
  }
  try {
    if (built()) return outDir;
    await build(program, version, outDir, cacheDir, log, options.signal);
    return outDir;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function build(
  program: LocalProgram,
  version: string,
  outDir: string,
  cacheDir: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  log(`building ${program} ${version} into ${outDir} (from the Go module proxy; minutes on a cold cache)`);
  const srcDir = join(cacheDir, 'src', `${program}-${version}`);
  await rm(srcDir, { recursive: true, force: true });
  await mkdir(srcDir, { recursive: true });
  const template = join(repoRoot(), 'src', 'local', 'go', program);
  for (const file of await readdir(template)) await copyFile(join(template, file), join(srcDir, file));
  await writeFile(join(srcDir, 'go.mod'), await goMod(program, version, srcDir, signal));
  await go(['mod', 'tidy'], srcDir, signal);
  // Built into a temporary folder and renamed: the outputs appear together or not at all.
  const tmpDir = `${outDir}.tmp-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  for (const args of buildCommands(program, version, tmpDir)) await go(args, srcDir, signal);
  await rm(outDir, { recursive: true, force: true });
  await rename(tmpDir, outDir);
  log(`built ${program} ${version} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function goMod(program: LocalProgram, version: string, srcDir: string, signal?: AbortSignal): Promise<string> {
  switch (program) {
    case 'controlplane':
      return controlPlaneGoMod(version, srcDir, signal);
    case 'etcd':
      return [
        'module kup.local/etcd',
        '',
        'go 1.26.0',
        '',
        'require (',
        ...['server', 'etcdctl', 'etcdutl'].map((m) => `\tgo.etcd.io/etcd/${m}/v3 v${version}`),
        ')',
        '',
      ].join('\n');
    case 'kwok':
      return ['module kup.local/kwok', '', 'go 1.26.0', '', `require sigs.k8s.io/kwok v${version}`, ''].join('\n');
    case 'capi':
      return [
        'module kup.local/capi',
        '',
        'go 1.26.0',
        '',
        'require (',
        `\tsigs.k8s.io/cluster-api v${version}`,
        `\tsigs.k8s.io/cluster-api/test v${version}`,
        ')',
        '',
      ].join('\n');
  }
}

/**
 * The control plane's go.mod: upstream's `go` and `godebug` lines, k8s.io/kubernetes at the version, and one replace
 * per staging module that upstream's go.mod lists (31 up to 1.35, 33 from 1.36).
 */
async function controlPlaneGoMod(version: string, srcDir: string, signal?: AbortSignal): Promise<string> {
  const info = JSON.parse(await go(['mod', 'download', '-json', `k8s.io/kubernetes@v${version}`], srcDir, signal)) as {
    GoMod?: string;
    Error?: string;
  };
  if (info.GoMod === undefined) {
    throw new LocalClusterError(
      'buildFailed',
      `k8s.io/kubernetes v${version} is not on the Go module proxy: ${info.Error ?? 'no go.mod'}`,
    );
  }
  const upstream = await readFile(info.GoMod, 'utf8');
  const [, , minor, patch] = VERSION.exec(version) ?? [];
  const header = upstream.split('\n').filter((line) => /^(go|godebug) /.test(line));
  const staging = [...upstream.matchAll(/^\s*(\S+) => \.\/staging\/\S+/gm)].map((m) => m[1] ?? '');
  return [
    'module kup.local/controlplane',
    '',
    ...header,
    '',
    `require k8s.io/kubernetes v${version}`,
    '',
    'replace (',
    ...staging.map((module) => `\t${module} => ${module} v0.${minor}.${patch}`),
    ')',
    '',
  ].join('\n');
}

/** Version ldflags as Kubernetes' hack/lib/version.sh sets them, on both packages that report a version. */
function versionLdflags(version: string): string {
  const [, major, minor] = VERSION.exec(version) ?? [];
  const values = { gitVersion: `v${version}`, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => Object.entries(values).map(([name, value]) => `-X ${pkg}.${name}=${value}`))
    .join(' ');
}

function buildCommands(program: LocalProgram, version: string, outDir: string): string[][] {
  const build = (ldflags: string, ...rest: string[]) => [
    'build',
    '-trimpath',
    '-ldflags',
    `-s -w ${ldflags}`.trim(),
    ...rest,
  ];
  switch (program) {
    case 'controlplane':
      return [build(versionLdflags(version), '-o', join(outDir, 'controlplane'), '.')];
    case 'etcd':
      return [
        build('', '-o', join(outDir, 'etcd'), '.'),
        build('', '-o', outDir + '/', 'go.etcd.io/etcd/etcdctl/v3', 'go.etcd.io/etcd/etcdutl/v3'),
      ];
    case 'kwok':
      return [build('', '-o', join(outDir, 'kwok'), 'sigs.k8s.io/kwok/cmd/kwok')];
    case 'capi':
      // One at a time: each link peaks at about 1.4 GB, and they share the build cache.
      return Object.entries(CLUSTER_API_MANAGERS).map(([file, pkg]) => build('', '-o', join(outDir, file), pkg));
  }
}

/** Runs `go ARGS` in `cwd` and resolves to its stdout; rejects with the end of its output when it fails. */
function go(args: readonly string[], cwd: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      env: { ...process.env, GOFLAGS: process.env['GOFLAGS'] ?? '-mod=mod' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('error', (err) => {
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new LocalClusterError(
              'buildFailed',
              'go is not on PATH: a local control plane is built from Go modules (Go 1.26 or newer)',
            )
          : err,
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new LocalClusterError('buildFailed', `go ${args.join(' ')} (in ${cwd}) exited ${code}:\n${stderr.trim()}`),
        );
    });
  });
}
