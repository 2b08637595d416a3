/**
 * A Cluster API management cluster on this host: a real control plane (src/local) with Cluster API's managers
 * (core, kubeadm control plane, kubeadm bootstrap, and the Docker infrastructure provider whose in-memory backend
 * plays machines and workload API servers) running against it as processes.
 *
 * What `clusterctl init` and the providers' kustomize overlays do in a real cluster is done here by hand: the CRDs are
 * rendered with `kubectl kustomize <provider>/config/crd` (it adds the conversion-webhook patches and the contract
 * labels) and their webhooks (conversion, defaulting, validation) are pointed at the managers' loopback ports with a
 * CA of ours, since the managers serve their webhooks with no way to turn them off.
 *
 * Some of these servers listen on all interfaces (the in-memory workload API servers, the managers' diagnostics): run
 * this only inside a network namespace of its own (test/capi/stack.ts starts it under `unshare --net`).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { waitFor } from '../../src/clock/wait-for.ts';
import { generateServingPki } from '../../src/kube-sim/tls.ts';
import type { ClusterApiBuild, ClusterApiManager } from '../../src/local/build.ts';
import { startLocal } from '../../src/local/main.ts';
import type { RunningLocalCluster } from '../../src/local/main.ts';
import { LocalProcess } from '../../src/local/processes.ts';

/** One of Cluster API's providers as this stack runs it. */
interface ManagerSpec {
  readonly manager: ClusterApiManager;
  /** Folder of the provider's `config/` under its module. */
  readonly configDir: (build: ClusterApiBuild) => string;
  /** Prefix of its webhook configurations' names (the providers' kustomize overlays add one each). */
  readonly prefix: string;
  readonly webhookPort: number;
  readonly healthPort: number;
  readonly diagnosticsPort: number;
}

const MANAGERS: readonly ManagerSpec[] = [
  {
    manager: 'capi-manager',
    configDir: (b) => join(b.coreModuleDir, 'config'),
    prefix: 'capi',
    webhookPort: 9441,
    healthPort: 9451,
    diagnosticsPort: 9461,
  },
  {
    manager: 'kubeadm-control-plane-manager',
    configDir: (b) => join(b.coreModuleDir, 'controlplane', 'kubeadm', 'config'),
    prefix: 'capi-kubeadm-control-plane',
    webhookPort: 9442,
    healthPort: 9452,
    diagnosticsPort: 9462,
  },
  {
    manager: 'kubeadm-bootstrap-manager',
    configDir: (b) => join(b.coreModuleDir, 'bootstrap', 'kubeadm', 'config'),
    prefix: 'capi-kubeadm-bootstrap',
    webhookPort: 9443,
    healthPort: 9453,
    diagnosticsPort: 9463,
  },
  {
    manager: 'capd-manager',
    configDir: (b) => join(b.testModuleDir, 'infrastructure', 'docker', 'config'),
    prefix: 'capd',
    webhookPort: 9444,
    healthPort: 9454,
    diagnosticsPort: 9464,
  },
];

/** Options of {@link startManagement}. */
export interface ManagementOptions {
  /** The built managers and their modules' folders. */
  readonly build: ClusterApiBuild;
  /** Kubernetes version of the management cluster's control plane. */
  readonly version: string;
  /** Folder of the cluster's data, the managers' logs and certificates (created). */
  readonly dir: string;
  readonly log: (line: string) => void;
}

/** A running management cluster. */
export interface Management {
  readonly local: RunningLocalCluster;
  /** Path of the management cluster's kubeconfig (admin). */
  readonly kubeconfigPath: string;
  stop(): Promise<void>;
}

/** Starts the control plane, installs Cluster API's CRDs and webhooks, starts the managers and waits until ready. */
export async function startManagement(options: ManagementOptions): Promise<Management> {
  const { build, dir, log } = options;
  await mkdir(join(dir, 'logs'), { recursive: true });
  const kubeconfigPath = join(dir, 'management.kubeconfig');
  const local = await startLocal(
    { version: options.version, pools: [], kubeconfigPath, dataDir: join(dir, 'cluster'), keepData: true },
    (line) => log(`local: ${line}`),
  );
  const processes: LocalProcess[] = [];
  const stop = async () => {
    for (const p of processes.reverse()) await p.stop();
    await local.stop();
  };
  try {
    const certDir = join(dir, 'webhook-certs');
    await mkdir(certDir, { recursive: true });
    const pki = await generateServingPki({ commonName: 'capi-webhooks', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    await writeFile(join(certDir, 'tls.crt'), pki.certPem);
    await writeFile(join(certDir, 'tls.key'), pki.keyPem, { mode: 0o600 });
    const caBundle = Buffer.from(pki.caCertPem).toString('base64');

    const documents: unknown[] = [];
    for (const spec of MANAGERS) {
      const crds = await kubectl(kubeconfigPath, ['kustomize', join(spec.configDir(build), 'crd')]);
      for (const doc of parseAllDocuments(crds)) documents.push(pointCrd(doc.toJS() as Manifest, spec, caBundle));
      const webhooks = join(spec.configDir(build), 'webhook', 'manifests.yaml');
      const text = await kubectl(kubeconfigPath, ['create', '--dry-run=client', '-o', 'yaml', '-f', webhooks]);
      for (const doc of parseAllDocuments(text)) {
        const manifest = doc.toJS() as Manifest | null;
        if (manifest === null) continue;
        const items = manifest.kind === 'List' ? (manifest['items'] as Manifest[]) : [manifest];
        for (const item of items) documents.push(pointWebhooks(item, spec, caBundle));
      }
    }
    const manifests = join(dir, 'cluster-api.yaml');
    await writeFile(manifests, documents.map((d) => stringify(d)).join('---\n'));
    await kubectl(kubeconfigPath, ['apply', '--server-side', '-f', manifests]);
    // A manager maps its kinds through discovery once, at start: the CRDs must be served before it starts.
    await kubectl(kubeconfigPath, ['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
    log(`applied ${documents.length} CRDs and webhook configurations`);

    for (const spec of MANAGERS) {
      processes.push(
        LocalProcess.start({
          name: spec.manager,
          command: '/usr/bin/env',
          args: [
            `KUBECONFIG=${kubeconfigPath}`,
            'POD_IP=127.0.0.1',
            build.managers[spec.manager],
            '--leader-elect=false',
            `--webhook-port=${spec.webhookPort}`,
            `--webhook-cert-dir=${certDir}`,
            `--health-addr=127.0.0.1:${spec.healthPort}`,
            `--diagnostics-address=127.0.0.1:${spec.diagnosticsPort}`,
            '--insecure-diagnostics',
            '--feature-gates=ClusterTopology=true',
            '--sync-period=1m',
          ],
          logFile: join(dir, 'logs', `${spec.manager}.log`),
          stopGraceMs: 5_000,
        }),
      );
    }
    for (const spec of MANAGERS) {
      await waitFor(() => ready(spec.healthPort), {
        timeoutMs: 180_000,
        intervalMs: 500,
        message: `${spec.manager} did not become ready (log: ${join(dir, 'logs', `${spec.manager}.log`)})`,
      });
    }
    log(`Cluster API managers ready (logs in ${join(dir, 'logs')})`);
    return { local, kubeconfigPath, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

type Manifest = Record<string, unknown> & { kind?: string; metadata?: Record<string, unknown> };

/** A CRD whose conversion webhook (if any) calls the manager's loopback port with our CA. */
function pointCrd(crd: Manifest, spec: ManagerSpec, caBundle: string): Manifest {
  const conversion = (crd['spec'] as { conversion?: { webhook?: { clientConfig?: Record<string, unknown> } } })
    .conversion;
  if (conversion?.webhook?.clientConfig !== undefined) {
    conversion.webhook.clientConfig = { url: `https://127.0.0.1:${spec.webhookPort}/convert`, caBundle };
  }
  return crd;
}

/** A webhook configuration named as the provider's overlay names it, calling the manager's port with our CA. */
function pointWebhooks(config: Manifest, spec: ManagerSpec, caBundle: string): Manifest {
  const metadata = config.metadata ?? {};
  metadata['name'] = `${spec.prefix}-${String(metadata['name'])}`;
  for (const hook of (config['webhooks'] as { clientConfig: { service?: { path?: string } } }[] | undefined) ?? []) {
    const path = hook.clientConfig.service?.path ?? '/';
    hook.clientConfig = { url: `https://127.0.0.1:${spec.webhookPort}${path}`, caBundle } as never;
  }
  return config;
}

async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return res.ok;
  } catch {
    return false;
  }
}

function kubectl(kubeconfigPath: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfigPath, ...args],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
