/**
 * kubectl drain's pod filters (`k8s.io/kubectl/pkg/drain/filters.go`), in kubectl's order and with kubectl's
 * messages, as pure functions over the listed pods and the DaemonSets they name:
 *
 *   1. skip-deleted: pods deleted more than `--skip-wait-for-delete-timeout` seconds ago are skipped;
 *   2. DaemonSet: DaemonSet pods are refused without `--ignore-daemonsets` and kept with it; a pod whose DaemonSet
 *      is gone is deleted with `--force` (warning) and refused without it;
 *   3. mirror: static pods (`kubernetes.io/config.mirror`) are skipped;
 *   4. local storage: pods with an emptyDir are refused without `--delete-emptydir-data`;
 *   5. unreplicated: pods without a controller are refused without `--force`.
 *
 * Finished pods (Succeeded, Failed) pass every filter but the first two. As in kubectl, the first filter that does
 * not delete a pod decides, and otherwise the last filter's verdict is the pod's: so "deleting Pods with local
 * storage" is never shown when a later filter passes the pod (kubectl's own TODO), and kup shows the same.
 */
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { PodRef } from './types.ts';
import { formatPod, podRef } from './types.ts';

/** kubectl's messages, verbatim. */
export const FilterMessage = {
  daemonSetFatal: 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)',
  daemonSetWarning: 'ignoring DaemonSet-managed Pods',
  localStorageFatal: 'Pods with local storage (use --delete-emptydir-data to override)',
  localStorageWarning: 'deleting Pods with local storage',
  unmanagedFatal: 'cannot delete Pods that declare no controller (use --force to override)',
  unmanagedWarning: 'deleting Pods that declare no controller',
} as const;

/** The annotation the kubelet puts on the API copy of a static pod. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** What the drain knows of a DaemonSet a pod names: it exists, it is gone, or the GET failed (its message). */
export type DaemonSetLookup = (namespace: string, name: string) => 'found' | 'not-found' | { error: string };

/** Flags the filters read (kubectl's names). */
export interface FilterOptions {
  /** `--ignore-daemonsets`. @default false */
  ignoreDaemonSets?: boolean;
  /** `--delete-emptydir-data`. @default false */
  deleteEmptyDirData?: boolean;
  /** `--force`. @default false */
  force?: boolean;
  /** `--skip-wait-for-delete-timeout`; 0 never skips. @default 0 */
  skipWaitForDeleteTimeoutSeconds?: number;
  /** The clock of the skip-deleted filter. @default Date.now */
  now?: () => number;
}

/** Why a pod is left on the node without an error. */
export type SkipReason = 'daemonset' | 'mirror' | 'deleted-long-ago';

/** A pod the drain leaves on the node. */
export interface SkippedPod {
  pod: PodRef;
  reason: SkipReason;
}

/** A pod the drain refuses; `flag` is the kubectl flag that would let it through (absent for a failed lookup). */
export interface RefusedPod {
  pod: PodRef;
  /** kubectl's error text for the group, e.g. `cannot delete Pods with local storage (use --delete-emptydir-data to override)`. */
  reason: string;
  flag?: '--ignore-daemonsets' | '--delete-emptydir-data' | '--force';
}

/** A warning kubectl would print, with the pods it is about. */
export interface FilterWarning {
  message: string;
  pods: PodRef[];
}

/** The filters' verdict over one node's pods. */
export interface FilterResult {
  /** Pods to evict (or delete), in list order. */
  delete: V1Pod[];
  skip: SkippedPod[];
  /** Grouped by message, in the order first seen. */
  warnings: FilterWarning[];
  /** Any error means nothing may be evicted (kubectl reports them together and stops). */
  errors: RefusedPod[];
}

type Verdict =
  | { kind: 'okay' }
  | { kind: 'skip'; reason: SkipReason }
  | { kind: 'warning'; delete: boolean; message: string; skipReason?: SkipReason }
  | { kind: 'error'; message: string; flag?: RefusedPod['flag'] };

type Filter = (pod: V1Pod) => Verdict;

const OKAY: Verdict = { kind: 'okay' };

/** The controller owner reference (`controller: true`), as metav1.GetControllerOf. */
export function controllerOf(pod: V1Pod): V1OwnerReference | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.controller === true);
}

function finished(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function hasLocalStorage(pod: V1Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined && v.emptyDir !== null);
}

function deletionTime(pod: V1Pod): number | undefined {
  const ts: unknown = pod.metadata?.deletionTimestamp;
  if (ts instanceof Date) return ts.getTime();
  if (typeof ts === 'string') return Date.parse(ts);
  return undefined;
}

/** The filters in kubectl's order. */
function makeFilters(options: FilterOptions, daemonSets: DaemonSetLookup): Filter[] {
  const skipAfter = options.skipWaitForDeleteTimeoutSeconds ?? 0;
  const now = options.now ?? Date.now;

  const skipDeleted: Filter = (pod) => {
    const deleted = deletionTime(pod);
    if (skipAfter > 0 && deleted !== undefined && Math.floor((now() - deleted) / 1000) > skipAfter) {
      return { kind: 'skip', reason: 'deleted-long-ago' };
    }
    return OKAY;
  };

  const daemonSet: Filter = (pod) => {
    const ref = controllerOf(pod);
    if (ref?.kind !== 'DaemonSet') return OKAY;
    if (finished(pod)) return OKAY;
    const found = daemonSets(pod.metadata?.namespace ?? '', ref.name);
    if (found !== 'found') {
      const message = found === 'not-found' ? `daemonsets.apps "${ref.name}" not found` : found.error;
      if (found === 'not-found' && options.force) return { kind: 'warning', delete: true, message };
      return found === 'not-found' ? { kind: 'error', message, flag: '--force' } : { kind: 'error', message };
    }
    if (!options.ignoreDaemonSets)
      return { kind: 'error', message: FilterMessage.daemonSetFatal, flag: '--ignore-daemonsets' };
    return { kind: 'warning', delete: false, message: FilterMessage.daemonSetWarning, skipReason: 'daemonset' };
  };

  const mirror: Filter = (pod) =>
    pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined ? { kind: 'skip', reason: 'mirror' } : OKAY;

  const localStorage: Filter = (pod) => {
    if (!hasLocalStorage(pod) || finished(pod)) return OKAY;
    if (!options.deleteEmptyDirData) {
      return { kind: 'error', message: FilterMessage.localStorageFatal, flag: '--delete-emptydir-data' };
    }
    return { kind: 'warning', delete: true, message: FilterMessage.localStorageWarning };
  };

  const unreplicated: Filter = (pod) => {
    if (finished(pod) || controllerOf(pod) !== undefined) return OKAY;
    if (options.force) return { kind: 'warning', delete: true, message: FilterMessage.unmanagedWarning };
    return { kind: 'error', message: FilterMessage.unmanagedFatal, flag: '--force' };
  };

  return [skipDeleted, daemonSet, mirror, localStorage, unreplicated];
}

function deletes(v: Verdict): boolean {
  return v.kind === 'okay' || (v.kind === 'warning' && v.delete);
}

/** kubectl's grouping prefix: a message that does not start with "cannot delete" gets it. */
function errorText(message: string): string {
  return message.toLowerCase().startsWith('cannot delete') ? message : `cannot delete ${message}`;
}

/**
 * Runs kubectl's filters over a node's pods. Pure: the DaemonSets the pods name are looked up beforehand
 * (see `daemonSetsToLookUp`).
 */
export function filterPods(
  pods: readonly V1Pod[],
  daemonSets: DaemonSetLookup,
  options: FilterOptions = {},
): FilterResult {
  const filters = makeFilters(options, daemonSets);
  const result: FilterResult = { delete: [], skip: [], warnings: [], errors: [] };
  for (const pod of pods) {
    let verdict: Verdict = OKAY;
    for (const filter of filters) {
      verdict = filter(pod);
      if (!deletes(verdict)) break; // short-circuit as kubectl does: the first filter that keeps the pod decides
    }
    const ref = podRef(pod);
    switch (verdict.kind) {
      case 'okay':
        result.delete.push(pod);
        break;
      case 'skip':
        result.skip.push({ pod: ref, reason: verdict.reason });
        break;
      case 'warning': {
        if (verdict.delete) result.delete.push(pod);
        else result.skip.push({ pod: ref, reason: verdict.skipReason ?? 'daemonset' });
        const group = result.warnings.find((w) => w.message === verdict.message);
        if (group) group.pods.push(ref);
        else result.warnings.push({ message: verdict.message, pods: [ref] });
        break;
      }
      case 'error':
        result.errors.push({
          pod: ref,
          reason: errorText(verdict.message),
          ...(verdict.flag ? { flag: verdict.flag } : {}),
        });
        break;
    }
  }
  return result;
}

/** The DaemonSets (namespace, name) the DaemonSet filter will ask about, each once. */
export function daemonSetsToLookUp(pods: readonly V1Pod[]): Array<{ namespace: string; name: string }> {
  const seen = new Map<string, { namespace: string; name: string }>();
  for (const pod of pods) {
    const ref = controllerOf(pod);
    if (ref?.kind !== 'DaemonSet' || finished(pod)) continue;
    const namespace = pod.metadata?.namespace ?? '';
    seen.set(`${namespace}/${ref.name}`, { namespace, name: ref.name });
  }
  return [...seen.values()];
}

/** kubectl's warning line body: `ignoring DaemonSet-managed Pods: ns/a, ns/b; deleting Pods that ...: ns/c`. */
export function formatWarnings(warnings: readonly FilterWarning[]): string {
  return warnings.map((w) => `${w.message}: ${w.pods.map(formatPod).join(', ')}`).join('; ');
}

/** kubectl's refusal text: one `<reason>: ns/a, ns/b` per reason, in the order met, joined with `, `. */
export function formatRefusals(errors: readonly RefusedPod[]): string {
  const groups = new Map<string, PodRef[]>();
  for (const e of errors) groups.set(e.reason, [...(groups.get(e.reason) ?? []), e.pod]);
  return [...groups].map(([reason, pods]) => `${reason}: ${pods.map(formatPod).join(', ')}`).join(', ');
}
