/**
 * The scale subresource (`deployments/scale`, `replicasets/scale`, `statefulsets/scale`) as the apiserver serves
 * it: an `autoscaling/v1` Scale built from the workload (spec.replicas, status.replicas, status.selector as a label
 * selector string), and writes that change only the workload's spec.replicas.
 */
import { SelectorParseError, fromLabelSelectorObject, selectorToString } from '../../k8s/label-selector.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.ts';
import type { PatchType, Registry, WriteOptions } from './registry.ts';
import type { ResourceDef } from './resources.ts';
import { badRequest, invalid } from './status.ts';

/** An autoscaling/v1 Scale. */
export interface Scale {
  kind: 'Scale';
  apiVersion: 'autoscaling/v1';
  metadata: Record<string, unknown>;
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
}

/** The Scale of a workload, as `GET .../scale` answers. */
export function scaleOf(obj: KubeObject): Scale {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  const selector = selectorString(spec['selector']);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), uid, resourceVersion, creationTimestamp },
    spec: { replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : 1 },
    status: {
      replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0,
      ...(selector !== undefined ? { selector } : {}),
    },
  };
}

/**
 * The replicas a Scale written by a client asks for, validated as the apiserver's `ValidateScale` does; `name` is
 * the workload's (a Scale naming another object is refused as the update would be).
 */
export function replicasOf(body: unknown, name: string): { replicas: number; resourceVersion: string | undefined } {
  if (!isRecord(body)) throw badRequest('the request body must be a Scale object');
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  if (meta['name'] !== undefined && meta['name'] !== name) {
    throw badRequest(
      `the name of the object (${JSON.stringify(meta['name'])}) does not match the name on the URL (${name})`,
    );
  }
  const spec = isRecord(body['spec']) ? body['spec'] : {};
  const replicas = spec['replicas'] ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
    throw badRequest(
      `Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${typeof replicas} into Go struct field ScaleSpec.spec.replicas of type int32`,
    );
  }
  if (replicas < 0) {
    throw invalid('Scale', 'autoscaling', name, [
      { field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` },
    ]);
  }
  const rv = meta['resourceVersion'];
  return { replicas, resourceVersion: typeof rv === 'string' && rv !== '' ? rv : undefined };
}

/** `metav1.LabelSelectorAsSelector(...).String()`; undefined when there is no (valid) selector. */
function selectorString(selector: unknown): string | undefined {
  if (!isRecord(selector)) return undefined;
  try {
    return selectorToString(fromLabelSelectorObject(selector));
  } catch (err) {
    if (err instanceof SelectorParseError) return undefined;
    throw err;
  }
}

/** Writes a Scale: PUT sends a whole Scale, PATCH a patch of the current one; both answer the new Scale. */
export function writeScale(
  registry: Registry,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
  change: { put: unknown } | { patch: unknown; type: PatchType },
  options: WriteOptions,
): Scale {
  const current = registry.get(def, namespace, name);
  let desired: unknown;
  if ('put' in change) {
    desired = change.put;
  } else {
    const scale = scaleOf(current);
    desired =
      change.type === 'json'
        ? applyJsonPatch(scale, change.patch)
        : change.type === 'merge'
          ? applyMergePatch(scale, change.patch)
          : applyStrategicMergePatch(scale, change.patch, 'Scale');
  }
  const { replicas, resourceVersion } = replicasOf(desired, name);
  const updated = registry.update(
    def,
    namespace,
    name,
    {
      ...current,
      spec: { ...current.spec, replicas },
      metadata: { ...current.metadata, resourceVersion: resourceVersion ?? current.metadata.resourceVersion },
    },
    options,
  );
  return scaleOf(updated);
}
