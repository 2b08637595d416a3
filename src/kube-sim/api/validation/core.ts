/**
 * Validation of the core kinds other than Pod (k8s.io/kubernetes `pkg/apis/core/validation`): Services,
 * PersistentVolumeClaims, ConfigMaps, Secrets and Nodes.
 */
import { isIP } from 'node:net';
import type { KubeObject } from '../../model/wire.ts';
import { isRecord } from '../../model/wire.ts';
import type { StatusCause } from '../status.ts';
import { duplicate, enumCause, invalidValue, notSupported, required } from './field-errors.ts';
import { causesFor, labelCauses, portNameProblems } from './names.ts';
import { portNumberCauses, resourceCauses, taintCauses } from './pod-spec.ts';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_DATA_BYTES = 1024 * 1024;

/** v1 Service. */
export function serviceCauses(obj: KubeObject): StatusCause[] {
  const spec = obj.spec ?? {};
  const causes: StatusCause[] = [];
  const type = spec['type'];
  causes.push(...enumCause('spec.type', type, SERVICE_TYPES));
  const clusterIPs = Array.isArray(spec['clusterIPs']) ? (spec['clusterIPs'] as unknown[]) : [];
  const headless = spec['clusterIP'] === 'None';
  clusterIPs.forEach((ip, i) => {
    if (ip !== 'None' && (typeof ip !== 'string' || isIP(ip) === 0)) {
      causes.push(
        invalidValue(`spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
      );
    }
  });
  if (type === 'ExternalName') {
    const externalName = spec['externalName'];
    if (typeof externalName !== 'string' || externalName === '') causes.push(required('spec.externalName'));
  }
  const ports = Array.isArray(spec['ports']) ? (spec['ports'] as unknown[]) : [];
  if (ports.length === 0 && type !== 'ExternalName' && !headless) causes.push(required('spec.ports'));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (!isRecord(p)) return void causes.push(required(at));
    const name = p['name'];
    if (typeof name !== 'string' || name === '') {
      if (ports.length > 1) causes.push(required(`${at}.name`));
    } else {
      causes.push(...causesFor(`${at}.name`, name, portNameProblems(name)));
      if (names.has(name)) causes.push(duplicate(`${at}.name`, name));
      names.add(name);
    }
    causes.push(...portNumberCauses(`${at}.port`, p['port']));
    causes.push(...enumCause(`${at}.protocol`, p['protocol'], PROTOCOLS));
    const target = p['targetPort'];
    if (typeof target === 'string') causes.push(...causesFor(`${at}.targetPort`, target, portNameProblems(target)));
    else if (target !== undefined && target !== 0) causes.push(...portNumberCauses(`${at}.targetPort`, target));
    const nodePort = p['nodePort'];
    if (nodePort !== undefined && nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        causes.push({
          reason: 'FieldValueForbidden',
          field: `${at}.nodePort`,
          message: "Forbidden: may not be used when `type` is 'ClusterIP'",
        });
      } else causes.push(...portNumberCauses(`${at}.nodePort`, nodePort));
    }
  });
  causes.push(...enumCause('spec.sessionAffinity', spec['sessionAffinity'], ['ClientIP', 'None']));
  causes.push(
    ...enumCause('spec.ipFamilyPolicy', spec['ipFamilyPolicy'], ['PreferDualStack', 'RequireDualStack', 'SingleStack']),
  );
  causes.push(...enumCause('spec.internalTrafficPolicy', spec['internalTrafficPolicy'], ['Cluster', 'Local']));
  const external = spec['externalTrafficPolicy'];
  if (external !== undefined && external !== '') {
    if (type !== 'NodePort' && type !== 'LoadBalancer') {
      causes.push(
        invalidValue('spec.externalTrafficPolicy', external, 'may only be set for externally-accessible services'),
      );
    } else causes.push(...enumCause('spec.externalTrafficPolicy', external, ['Cluster', 'Local']));
  }
  const families = spec['ipFamilies'];
  if (Array.isArray(families))
    families.forEach((f: unknown, i) => causes.push(...enumCause(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6'])));
  causes.push(...labelCauses('spec.selector', spec['selector']));
  return causes;
}

/** v1 PersistentVolumeClaim: access modes and a storage request. */
export function pvcCauses(obj: KubeObject): StatusCause[] {
  return pvcSpecCauses(obj.spec, 'spec');
}

/** A PersistentVolumeClaim spec at `path` (also a StatefulSet's volumeClaimTemplates[i].spec). */
export function pvcSpecCauses(spec: unknown, path: string): StatusCause[] {
  if (!isRecord(spec)) return [required(path)];
  const causes: StatusCause[] = [];
  const modes = spec['accessModes'];
  if (!Array.isArray(modes) || modes.length === 0)
    causes.push(required(`${path}.accessModes`, 'at least 1 access mode is required'));
  else {
    for (const mode of modes) {
      if (!ACCESS_MODES.includes(mode as string)) causes.push(notSupported(`${path}.accessModes`, mode, ACCESS_MODES));
    }
    if (modes.includes('ReadWriteOncePod') && modes.length > 1) {
      causes.push(invalidValue(`${path}.accessModes`, modes, 'may not use ReadWriteOncePod with other access modes'));
    }
  }
  const resources = spec['resources'];
  const requests = isRecord(resources) ? resources['requests'] : undefined;
  if (!isRecord(requests) || requests['storage'] === undefined) causes.push(required(`${path}.resources[storage]`));
  causes.push(...resourceCauses(resources, `${path}.resources`));
  causes.push(...enumCause(`${path}.volumeMode`, spec['volumeMode'], ['Block', 'Filesystem']));
  return causes;
}

/** Keys of a ConfigMap's or Secret's data, and the 1 MiB cap on its size. */
function dataCauses(obj: KubeObject, kind: 'ConfigMap' | 'Secret'): StatusCause[] {
  const causes: StatusCause[] = [];
  let size = 0;
  const seen = new Set<string>();
  const fields = kind === 'ConfigMap' ? ['data', 'binaryData'] : ['data', 'stringData'];
  for (const field of fields) {
    const data = (obj as unknown as Record<string, unknown>)[field];
    if (!isRecord(data)) continue;
    for (const [key, value] of Object.entries(data)) {
      if (!CONFIG_KEY.test(key) || key === '.' || key === '..' || key.startsWith('..') || key.length > 253) {
        causes.push(
          invalidValue(
            `${field}[${key}]`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
      if (kind === 'ConfigMap' && seen.has(key)) causes.push(duplicate(`${field}[${key}]`, key));
      seen.add(key);
      size += typeof value === 'string' ? value.length : 0;
    }
  }
  if (size > MAX_DATA_BYTES) {
    causes.push({
      reason: 'FieldValueTooLong',
      field: kind === 'ConfigMap' ? '' : 'data',
      message: `Too long: must have at most ${MAX_DATA_BYTES} bytes`,
    });
  }
  return causes;
}

/** v1 ConfigMap. */
export function configMapCauses(obj: KubeObject): StatusCause[] {
  return dataCauses(obj, 'ConfigMap');
}

/** v1 Secret: data keys, and the keys its type requires. */
export function secretCauses(obj: KubeObject): StatusCause[] {
  const causes = dataCauses(obj, 'Secret');
  const record = obj as unknown as Record<string, unknown>;
  const data = {
    ...(isRecord(record['data']) ? record['data'] : {}),
    ...(isRecord(record['stringData']) ? record['stringData'] : {}),
  };
  const requiredKeys: Record<string, string[]> = {
    'kubernetes.io/tls': ['tls.crt', 'tls.key'],
    'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
    'kubernetes.io/dockercfg': ['.dockercfg'],
  };
  for (const key of requiredKeys[String(record['type'])] ?? []) {
    if (data[key] === undefined) causes.push(required(`data[${key}]`));
  }
  if (
    record['type'] === 'kubernetes.io/service-account-token' &&
    !obj.metadata.annotations?.['kubernetes.io/service-account.name']
  ) {
    causes.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
  }
  return causes;
}

/** v1 Node: pod CIDRs and taints. */
export function nodeCauses(obj: KubeObject): StatusCause[] {
  const spec = obj.spec ?? {};
  const causes = taintCauses(spec['taints'], 'spec.taints');
  const cidrs = Array.isArray(spec['podCIDRs']) ? (spec['podCIDRs'] as unknown[]) : [];
  cidrs.forEach((cidr, i) => {
    if (!isCidr(cidr))
      causes.push(
        invalidValue(`spec.podCIDRs[${i}]`, cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'),
      );
  });
  if (cidrs.length > 0 && spec['podCIDR'] !== undefined && spec['podCIDR'] !== cidrs[0]) {
    causes.push(invalidValue('spec.podCIDR', spec['podCIDR'], 'must match the first entry of spec.podCIDRs'));
  }
  return causes;
}

function isCidr(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const [ip = '', bits, ...rest] = value.split('/');
  const family = isIP(ip);
  if (family === 0 || bits === undefined || rest.length > 0 || !/^\d+$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
