/** autoscaling HorizontalPodAutoscalers: upstream printHorizontalPodAutoscaler with formatHPAMetrics. */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { int, nameOf, obj, objs, optInt, optObj, str } from './fields.ts';
import { ageSince } from './time.ts';
import type { Printer, WireObject } from './types.ts';

/** HPAs: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE. */
export const horizontalPodAutoscalerPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Reference', 'string', DOCS.horizontalPodAutoscaler.scaleTargetRef),
    column('Targets', 'string', DOCS.horizontalPodAutoscaler.metrics),
    column('MinPods', 'string', DOCS.horizontalPodAutoscaler.minReplicas),
    column('MaxPods', 'string', DOCS.horizontalPodAutoscaler.maxReplicas),
    column('Replicas', 'string', DOCS.horizontalPodAutoscaler.currentReplicas),
    AGE_COLUMN,
  ],
  printRow(hpa, { now }) {
    const spec = obj(hpa.spec);
    const target = obj(spec.scaleTargetRef);
    // minReplicas defaults to 1 when stored.
    const minReplicas = optInt(spec.minReplicas) ?? 1;
    return {
      cells: [
        nameOf(hpa),
        `${str(target.kind)}/${str(target.name)}`,
        formatMetrics(objs(spec.metrics), objs(obj(hpa.status).currentMetrics)),
        String(minReplicas),
        int(spec.maxReplicas),
        int(obj(hpa.status).currentReplicas),
        ageSince(obj(hpa.metadata).creationTimestamp, now),
      ],
    };
  },
};

/** Quantity.String() of a *Quantity: the stored (canonical) string, `<nil>` for a nil pointer. */
function quantity(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '<nil>';
}

function percent(value: unknown): string | undefined {
  const n = optInt(value);
  return n === undefined ? undefined : `${n}%`;
}

/** One metric as `current/target`: `cpu: 45%/80%`, `1k/500 (avg)`, `<unknown>/10`. */
function formatMetric(spec: WireObject, status: WireObject | undefined): string {
  switch (spec.type) {
    case 'External':
    case 'Object': {
      const field = spec.type === 'External' ? 'external' : 'object';
      const targetSpec = obj(obj(spec[field]).target);
      const current = status ? optObj(status[field]) : undefined;
      const currentValue = obj(current?.current);
      if (targetSpec.averageValue !== undefined && targetSpec.averageValue !== null) {
        const cur = current && currentValue.averageValue != null ? quantity(currentValue.averageValue) : '<unknown>';
        return `${cur}/${quantity(targetSpec.averageValue)} (avg)`;
      }
      const cur = current ? quantity(currentValue.value) : '<unknown>';
      return `${cur}/${quantity(targetSpec.value)}`;
    }
    case 'Pods': {
      const current = status ? optObj(status.pods) : undefined;
      const cur = current ? quantity(obj(current.current).averageValue) : '<unknown>';
      return `${cur}/${quantity(obj(obj(spec.pods).target).averageValue)}`;
    }
    case 'Resource':
    case 'ContainerResource': {
      const field = spec.type === 'Resource' ? 'resource' : 'containerResource';
      const source = obj(spec[field]);
      const targetSpec = obj(source.target);
      const current = status ? optObj(status[field]) : undefined;
      const name = str(source.name);
      if (targetSpec.averageValue !== undefined && targetSpec.averageValue !== null) {
        const cur = current ? quantity(obj(current.current).averageValue) : '<unknown>';
        return `${name}: ${cur}/${quantity(targetSpec.averageValue)}`;
      }
      const cur = (current && percent(obj(current.current).averageUtilization)) ?? '<unknown>';
      return `${name}: ${cur}/${percent(targetSpec.averageUtilization) ?? '<auto>'}`;
    }
    default:
      return '<unknown type>';
  }
}

/** formatHPAMetrics: the first two metrics, then ` + N more...`; `<none>` without metrics. */
function formatMetrics(specs: WireObject[], statuses: WireObject[]): string {
  if (specs.length === 0) return '<none>';
  const max = 2;
  // Statuses line up with specs by index, as upstream reads them.
  const all = specs.map((spec, i) => formatMetric(spec, statuses[i]));
  const joined = all.slice(0, max).join(', ');
  return all.length > max ? `${joined} + ${all.length - max} more...` : joined;
}
