/**
 * The name and label syntaxes of apimachinery's `util/validation`, with the messages the API server prints.
 */
import type { StatusCause } from '../status.ts';
import { invalidValue } from './field-errors.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The problems of `value` as a DNS-1123 label (container names, namespaces): none when valid. */
export function dns1123LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) {
    problems.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return problems;
}

/** The problems of `value` as a DNS-1123 subdomain (most object names). */
export function dns1123SubdomainProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 253) problems.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    problems.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return problems;
}

/** The problems of `value` as a DNS-1035 label (Service names: they become DNS names that must not start with a digit). */
export function dns1035LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(value)) {
    problems.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return problems;
}

/**
 * Label keys and values already found valid. Every write checks every label, and a cluster repeats a few thousand
 * of them over and over; the syntax rules never change, so a valid string stays valid. Capped, then started afresh.
 */
const validKeys = new Set<string>();
const validValues = new Set<string>();
const KNOWN_VALID_CAP = 50_000;

function memoValid(known: Set<string>, value: string, check: (value: string) => string[]): string[] {
  if (known.has(value)) return [];
  const problems = check(value);
  if (problems.length === 0) {
    if (known.size >= KNOWN_VALID_CAP) known.clear();
    known.add(value);
  }
  return problems;
}

/** The problems of a label value. */
export function labelValueProblems(value: string): string[] {
  return memoValid(validValues, value, uncachedLabelValueProblems);
}

function uncachedLabelValueProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value)) {
    problems.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return problems;
}

/** The problems of a qualified name (label and annotation keys: `[prefix/]name`). */
export function qualifiedNameProblems(value: string): string[] {
  return memoValid(validKeys, value, uncachedQualifiedNameProblems);
}

function uncachedQualifiedNameProblems(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const problems: string[] = [];
  if (parts.length === 2) {
    const [prefix = '', rest = ''] = parts;
    name = rest;
    if (prefix.length === 0) problems.push('prefix part must be non-empty');
    else problems.push(...dns1123SubdomainProblems(prefix).map((p) => `prefix part ${p}`));
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) problems.push('name part must be non-empty');
  else {
    if (name.length > 63) problems.push('name part must be no more than 63 characters');
    if (!QUALIFIED_NAME_PART.test(name)) {
      problems.push(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      );
    }
  }
  return problems;
}

/** The problems of a port name (IANA_SVC_NAME: at most 15 characters, at least one letter, no `--`). */
export function portNameProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 15) problems.push('must be no more than 15 characters');
  if (!IANA_SVC_NAME.test(value))
    problems.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (value.includes('--')) problems.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(value)) problems.push('must contain at least one letter (a-z)');
  return problems;
}

/** One Invalid cause per problem. */
export function causesFor(field: string, value: unknown, problems: readonly string[]): StatusCause[] {
  return problems.map((p) => invalidValue(field, value, p));
}

/** `labels` validated as metadata.labels (or a template's, or a selector's matchLabels): keys and values. */
export function labelCauses(field: string, labels: unknown): StatusCause[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels))
    return [invalidValue(field, labels, 'must be a map of strings')];
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    if (validKeys.has(key) && typeof value === 'string' && validValues.has(value)) continue;
    causes.push(...causesFor(field, key, qualifiedNameProblems(key)));
    if (typeof value !== 'string') causes.push(invalidValue(field, value, 'must be a string'));
    else causes.push(...causesFor(field, value, labelValueProblems(value)));
  }
  return causes;
}

/** Annotation keys are qualified names; their total size is capped at 256 KiB. */
export function annotationCauses(field: string, annotations: unknown): StatusCause[] {
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== 'object' || Array.isArray(annotations))
    return [invalidValue(field, annotations, 'must be a map of strings')];
  const causes: StatusCause[] = [];
  let size = 0;
  for (const [key, value] of Object.entries(annotations as Record<string, unknown>)) {
    causes.push(...causesFor(field, key, qualifiedNameProblems(key.toLowerCase())));
    size += key.length + (typeof value === 'string' ? value.length : 0);
  }
  if (size > 256 * 1024)
    causes.push({ reason: 'FieldValueTooLong', field, message: `Too long: must have at most 262144 bytes` });
  return causes;
}
