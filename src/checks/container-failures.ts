/**
 * Containers that will not run without a change to the image, the spec or the node: what the batch validation and
 * the `failing-pods` rule look for, and how both name the workload a pod belongs to, so a workload recorded as
 * failing before the upgrade is recognised after it.
 *
 * @module
 */

/**
 * Waiting reasons of a container that the kubelet keeps retrying in vain (`CrashLoopBackOff`, the image pull
 * errors, a config it cannot create the container from). `ContainerCreating` and `PodInitializing` are progress.
 */
const FAILURE_REASONS: ReadonlySet<string> = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** One failing container of a pod. */
export interface ContainerFailure {
  readonly container: string;
  /** The waiting reason (`CrashLoopBackOff`, `ImagePullBackOff`, ...). */
  readonly reason: string;
  /** The kubelet's message (the pull error, the back-off), when it gave one. */
  readonly message?: string;
  readonly restarts: number;
}

/** A container status as the wire carries it, reduced to what is read here. */
export interface WireContainerStatus {
  readonly name?: string;
  readonly restartCount?: number;
  readonly state?: { readonly waiting?: { readonly reason?: string; readonly message?: string } };
}

/** The failing containers of a pod, from its `containerStatuses` and `initContainerStatuses`. */
export function containerFailures(statuses: readonly WireContainerStatus[] | undefined): ContainerFailure[] {
  const out: ContainerFailure[] = [];
  for (const s of statuses ?? []) {
    const reason = s.state?.waiting?.reason;
    if (reason === undefined || !FAILURE_REASONS.has(reason)) continue;
    const message = s.state?.waiting?.message;
    out.push({ container: s.name ?? '', reason, ...(message ? { message } : {}), restarts: s.restartCount ?? 0 });
  }
  return out;
}

/**
 * `Kind/namespace/name` of the workload a pod belongs to: its controller, a ReplicaSet's Deployment when the pod
 * carries the `pod-template-hash` its ReplicaSet's name ends with, or the pod itself when it has no controller.
 */
export function podWorkloadKey(
  namespace: string,
  name: string,
  owner: { readonly kind: string; readonly name: string } | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): string {
  if (owner === undefined) return `Pod/${namespace}/${name}`;
  const hash = labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`))
    return `Deployment/${namespace}/${owner.name.slice(0, -hash.length - 1)}`;
  return `${owner.kind}/${namespace}/${owner.name}`;
}

/** `container app of shop/cart-7d9-x2v: CrashLoopBackOff (3 restarts)`, for messages. */
export function describeFailure(pod: string, f: ContainerFailure): string {
  const restarts = f.reason === 'CrashLoopBackOff' ? ` (${f.restarts} restart${f.restarts === 1 ? '' : 's'})` : '';
  return `container ${f.container} of pod ${pod}: ${f.reason}${restarts}`;
}
