/**
 * Pod spec validation (k8s.io/kubernetes `pkg/apis/core/validation` ValidatePodSpec), for pods and for the pod
 * templates of workloads: containers, ports, resources, probes, enums, volumes and tolerations.
 */
import { tryParseQuantity, quantityValue } from '../../../k8s/quantity.ts';
import { isRecord } from '../../model/wire.ts';
import type { StatusCause } from '../status.ts';
import { duplicate, enumCause, forbidden, invalidValue, minimumCause, notSupported, required } from './field-errors.ts';
import { causesFor, dns1123LabelProblems, labelCauses, portNameProblems, qualifiedNameProblems } from './names.ts';

/** The restart policies a pod may have. */
export const ALL_RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const QUANTITY_SYNTAX = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Where a pod spec sits and what its owner allows. */
export interface PodSpecContext {
  /** The field path of the spec: `spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`. */
  path: string;
  /** The restart policies the owner allows (a Deployment's pods must restart Always, a Job's must not). */
  restartPolicies: readonly string[];
}

/** Every problem of a pod spec. */
export function podSpecCauses(spec: unknown, ctx: PodSpecContext): StatusCause[] {
  const { path } = ctx;
  if (!isRecord(spec)) return [required(path)];
  const causes: StatusCause[] = [];
  const volumes = volumeNames(spec['volumes'], `${path}.volumes`, causes);
  const containers = spec['containers'];
  const names = new Set<string>();
  if (!Array.isArray(containers) || containers.length === 0) causes.push(required(`${path}.containers`));
  else
    containers.forEach((c: unknown, i) =>
      causes.push(...containerCauses(c, `${path}.containers[${i}]`, names, volumes)),
    );
  const init = spec['initContainers'];
  if (Array.isArray(init))
    init.forEach((c: unknown, i) => causes.push(...containerCauses(c, `${path}.initContainers[${i}]`, names, volumes)));

  const restartPolicy = spec['restartPolicy'];
  if (
    restartPolicy !== undefined &&
    !(typeof restartPolicy === 'string' && ctx.restartPolicies.includes(restartPolicy))
  ) {
    causes.push(notSupported(`${path}.restartPolicy`, restartPolicy, ctx.restartPolicies));
  }
  causes.push(...enumCause(`${path}.dnsPolicy`, spec['dnsPolicy'], DNS_POLICIES));
  if (spec['dnsPolicy'] === 'None' && !isRecord(spec['dnsConfig'])) {
    causes.push(required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  }
  causes.push(...minimumCause(`${path}.terminationGracePeriodSeconds`, spec['terminationGracePeriodSeconds'], 0));
  const deadline = spec['activeDeadlineSeconds'];
  if (deadline !== undefined && deadline !== null && (typeof deadline !== 'number' || deadline < 1)) {
    causes.push(invalidValue(`${path}.activeDeadlineSeconds`, deadline, 'must be between 1 and 2147483647, inclusive'));
  }
  causes.push(...labelCauses(`${path}.nodeSelector`, spec['nodeSelector']));
  const tolerations = spec['tolerations'];
  if (Array.isArray(tolerations))
    tolerations.forEach((t: unknown, i) => causes.push(...tolerationCauses(t, `${path}.tolerations[${i}]`)));
  return causes;
}

function volumeNames(volumes: unknown, path: string, causes: StatusCause[]): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(volumes)) return names;
  volumes.forEach((v: unknown, i) => {
    const name = isRecord(v) ? v['name'] : undefined;
    if (typeof name !== 'string' || name === '') {
      causes.push(required(`${path}[${i}].name`));
      return;
    }
    causes.push(...causesFor(`${path}[${i}].name`, name, dns1123LabelProblems(name)));
    if (names.has(name)) causes.push(duplicate(`${path}[${i}].name`, name));
    names.add(name);
  });
  return names;
}

function containerCauses(c: unknown, path: string, names: Set<string>, volumes: ReadonlySet<string>): StatusCause[] {
  if (!isRecord(c)) return [required(path)];
  const causes: StatusCause[] = [];
  const name = c['name'];
  if (typeof name !== 'string' || name === '') causes.push(required(`${path}.name`));
  else {
    causes.push(...causesFor(`${path}.name`, name, dns1123LabelProblems(name)));
    if (names.has(name)) causes.push(duplicate(`${path}.name`, name));
    names.add(name);
  }
  const image = c['image'];
  if (typeof image !== 'string' || image.trim() === '') causes.push(required(`${path}.image`));
  else if (image !== image.trim())
    causes.push(invalidValue(`${path}.image`, image, 'must not have leading or trailing whitespace'));
  causes.push(...enumCause(`${path}.imagePullPolicy`, c['imagePullPolicy'], PULL_POLICIES));
  const tmp = c['terminationMessagePolicy'];
  if (tmp !== undefined && tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    causes.push(invalidValue(`${path}.terminationMessagePolicy`, tmp, "must be 'File' or 'FallbackToLogsOnError'"));
  }
  causes.push(...portCauses(c['ports'], `${path}.ports`));
  causes.push(...resourceCauses(c['resources'], `${path}.resources`));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    causes.push(...probeCauses(c[probe], `${path}.${probe}`, probe !== 'readinessProbe'));
  }
  const mounts = c['volumeMounts'];
  if (Array.isArray(mounts)) {
    mounts.forEach((m: unknown, i) => {
      const mountName = isRecord(m) ? m['name'] : undefined;
      if (typeof mountName !== 'string' || mountName === '') causes.push(required(`${path}.volumeMounts[${i}].name`));
      else if (!volumes.has(mountName)) {
        causes.push({
          reason: 'FieldValueNotFound',
          field: `${path}.volumeMounts[${i}].name`,
          message: `Not found: ${JSON.stringify(mountName)}`,
        });
      }
      if (!isRecord(m) || typeof m['mountPath'] !== 'string' || m['mountPath'] === '')
        causes.push(required(`${path}.volumeMounts[${i}].mountPath`));
    });
  }
  const env = c['env'];
  if (Array.isArray(env)) {
    env.forEach((e: unknown, i) => {
      if (!isRecord(e) || typeof e['name'] !== 'string' || e['name'] === '')
        causes.push(required(`${path}.env[${i}].name`));
    });
  }
  return causes;
}

function portCauses(ports: unknown, path: string): StatusCause[] {
  if (!Array.isArray(ports)) return [];
  const causes: StatusCause[] = [];
  const names = new Set<string>();
  ports.forEach((p: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(p)) return void causes.push(required(at));
    const name = p['name'];
    if (typeof name === 'string' && name !== '') {
      causes.push(...causesFor(`${at}.name`, name, portNameProblems(name)));
      if (names.has(name)) causes.push(duplicate(`${at}.name`, name));
      names.add(name);
    }
    const port = p['containerPort'];
    if (port === undefined || port === 0) causes.push(required(`${at}.containerPort`));
    else causes.push(...portNumberCauses(`${at}.containerPort`, port));
    if (p['hostPort'] !== undefined && p['hostPort'] !== 0)
      causes.push(...portNumberCauses(`${at}.hostPort`, p['hostPort']));
    causes.push(...enumCause(`${at}.protocol`, p['protocol'], PROTOCOLS));
  });
  return causes;
}

/** A port number in 1..65535. */
export function portNumberCauses(field: string, port: unknown): StatusCause[] {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : [invalidValue(field, port, 'must be between 1 and 65535, inclusive')];
}

/** Parsed quantities by their text: pods repeat a handful of them (`100m`, `128Mi`), and parsing is exact BigInt work. */
const quantityCache = new Map<string, number | undefined>();
const QUANTITY_CACHE_CAP = 10_000;

/** The value of a quantity, or undefined when it does not parse. */
function quantityOf(raw: string | number): number | undefined {
  const key = String(raw);
  if (quantityCache.has(key)) return quantityCache.get(key);
  const value = tryParseQuantity(raw) ? quantityValue(raw) : undefined;
  if (quantityCache.size >= QUANTITY_CACHE_CAP) quantityCache.clear();
  quantityCache.set(key, value);
  return value;
}

/** Requests and limits: valid non-negative quantities, and no request above its limit. */
export function resourceCauses(resources: unknown, path: string): StatusCause[] {
  if (!isRecord(resources)) return [];
  const causes: StatusCause[] = [];
  const read = (list: unknown, listPath: string): Map<string, { text: string; value: number }> => {
    const parsed = new Map<string, { text: string; value: number }>();
    if (!isRecord(list)) return parsed;
    for (const [key, raw] of Object.entries(list)) {
      const field = `${listPath}[${key}]`;
      causes.push(...causesFor(field, key, resourceNameProblems(key)));
      const value = typeof raw === 'string' || typeof raw === 'number' ? quantityOf(raw) : undefined;
      if (value === undefined) {
        causes.push(invalidValue(field, raw, QUANTITY_SYNTAX));
        continue;
      }
      if (value < 0) causes.push(invalidValue(field, String(raw), 'must be greater than or equal to 0'));
      parsed.set(key, { text: String(raw), value });
    }
    return parsed;
  };
  const limits = read(resources['limits'], `${path}.limits`);
  const requests = read(resources['requests'], `${path}.requests`);
  for (const [key, request] of requests) {
    const limit = limits.get(key);
    if (limit && request.value > limit.value) {
      causes.push(
        invalidValue(`${path}.requests`, request.text, `must be less than or equal to ${key} limit of ${limit.text}`),
      );
    }
  }
  return causes;
}

/** Standard resource names have no prefix; anything else must be a qualified name with a domain. */
function resourceNameProblems(name: string): string[] {
  if (['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods'].includes(name) || name.startsWith('hugepages-'))
    return [];
  const problems = qualifiedNameProblems(name);
  if (problems.length === 0 && !name.includes('/')) return ['must be a standard resource type or fully qualified'];
  return problems;
}

function probeCauses(probe: unknown, path: string, successMustBeOne: boolean): StatusCause[] {
  if (probe === undefined || probe === null) return [];
  if (!isRecord(probe)) return [invalidValue(path, probe, 'must be an object')];
  const causes: StatusCause[] = [];
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length === 0) causes.push(required(path, 'must specify a handler type'));
  else if (handlers.length > 1)
    causes.push(forbidden(`${path}.${handlers[1] ?? ''}`, 'may not specify more than 1 handler type'));
  for (const field of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ]) {
    causes.push(...minimumCause(`${path}.${field}`, probe[field], 0));
  }
  const success = probe['successThreshold'];
  if (successMustBeOne && typeof success === 'number' && success !== 1)
    causes.push(invalidValue(`${path}.successThreshold`, success, 'must be 1'));
  const httpGet = probe['httpGet'];
  if (isRecord(httpGet)) {
    causes.push(...enumCause(`${path}.httpGet.scheme`, httpGet['scheme'], ['HTTP', 'HTTPS']));
    causes.push(...probePortCauses(`${path}.httpGet.port`, httpGet['port']));
  }
  const tcp = probe['tcpSocket'];
  if (isRecord(tcp)) causes.push(...probePortCauses(`${path}.tcpSocket.port`, tcp['port']));
  return causes;
}

function probePortCauses(field: string, port: unknown): StatusCause[] {
  if (typeof port === 'string') return causesFor(field, port, portNameProblems(port));
  return portNumberCauses(field, port);
}

function tolerationCauses(t: unknown, path: string): StatusCause[] {
  if (!isRecord(t)) return [required(path)];
  const causes: StatusCause[] = [];
  const key = typeof t['key'] === 'string' ? t['key'] : '';
  const operator = t['operator'] ?? 'Equal';
  if (key !== '') causes.push(...causesFor(`${path}.key`, key, qualifiedNameProblems(key)));
  else if (operator !== 'Exists') {
    causes.push(
      invalidValue(
        `${path}.operator`,
        operator,
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      ),
    );
  }
  if (!TOLERATION_OPERATORS.includes(operator as string))
    causes.push(notSupported(`${path}.operator`, operator, TOLERATION_OPERATORS));
  if (operator === 'Exists' && typeof t['value'] === 'string' && t['value'] !== '') {
    causes.push(invalidValue(`${path}.operator`, t['value'], "value must be empty when `operator` is 'Exists'"));
  }
  const effect = t['effect'];
  if (effect !== undefined && effect !== '') causes.push(...enumCause(`${path}.effect`, effect, TAINT_EFFECTS));
  if (t['tolerationSeconds'] !== undefined && t['tolerationSeconds'] !== null && effect !== 'NoExecute') {
    causes.push(
      invalidValue(`${path}.effect`, effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"),
    );
  }
  return causes;
}

/** Taints (a node's spec.taints): key, effect. */
export function taintCauses(taints: unknown, path: string): StatusCause[] {
  if (!Array.isArray(taints)) return [];
  const causes: StatusCause[] = [];
  taints.forEach((t: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(t)) return void causes.push(required(at));
    const key = t['key'];
    if (typeof key !== 'string' || key === '') causes.push(required(`${at}.key`));
    else causes.push(...causesFor(`${at}.key`, key, qualifiedNameProblems(key)));
    if (t['effect'] === undefined || t['effect'] === '') causes.push(required(`${at}.effect`));
    else causes.push(...enumCause(`${at}.effect`, t['effect'], TAINT_EFFECTS));
  });
  return causes;
}
