/**
 * Server-side field validation as the apiserver does it on create, update and patch: fields the type does not know
 * are dropped, and reported as `Warning:` headers (`fieldValidation=Warn`, the default), rejected with 400
 * (`Strict`), or dropped silently (`Ignore`). Duplicate fields in a JSON body are treated the same way (the last one
 * wins). The types come from schema/.
 */
import type { FieldDescription, TypeDescription } from './schema/types.ts';
import { jsonFields, typeDescription } from './schema/types.ts';
import { StatusError } from './status.ts';

/** The `fieldValidation` directive of a write. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const DIRECTIVES: readonly FieldValidation[] = ['Ignore', 'Strict', 'Warn'];

/**
 * The directive of a request: the `fieldValidation` query parameter, Warn when absent (the apiserver's default).
 *
 * @throws StatusError 422 for a value that is not one of the three.
 */
export function fieldValidationOf(
  q: URLSearchParams,
  options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
): FieldValidation {
  const value = q.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  if ((DIRECTIVES as readonly string[]).includes(value)) return value as FieldValidation;
  const message = `fieldValidation: Unsupported value: ${JSON.stringify(value)}: supported values: "Ignore", "Strict", "Warn"`;
  throw new StatusError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: ${message}`, {
    group: 'meta.k8s.io',
    kind: options,
    causes: [
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(value)}: supported values: "Ignore", "Strict", "Warn"`,
        field: 'fieldValidation',
      },
    ],
  });
}

/** An object with its unknown fields removed, and their paths (`spec.foo`, `spec.containers[0].bar`). */
export interface PruneResult {
  readonly object: Record<string, unknown>;
  readonly unknown: readonly string[];
}

/**
 * Removes every field the type description of `typeName` does not know, at any depth (maps and lists included). A
 * value of the wrong JSON type is left for validation to refuse.
 */
export function pruneUnknownFields(object: Record<string, unknown>, typeName: string): PruneResult {
  const type = typeDescription(typeName);
  if (!type) return { object, unknown: [] };
  const unknown: string[] = [];
  const pruned = pruneMessage(object, type, '', unknown, true);
  return { object: pruned, unknown };
}

function pruneMessage(
  obj: Record<string, unknown>,
  type: TypeDescription,
  path: string,
  unknown: string[],
  root: boolean,
): Record<string, unknown> {
  const fields = jsonFields(type);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = fields.get(key);
    if (field === undefined && !(root && (key === 'apiVersion' || key === 'kind'))) {
      unknown.push(join(path, key));
      continue;
    }
    Object.defineProperty(out, key, {
      value: field ? pruneValue(value, field, join(path, key), unknown) : value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}

function pruneValue(value: unknown, field: FieldDescription, path: string, unknown: string[]): unknown {
  if (field.type.kind !== 'message') return value;
  const inner = typeDescription(field.type.name);
  if (!inner) return value;
  const one = (v: unknown, p: string): unknown => (isObject(v) ? pruneMessage(v, inner, p, unknown, false) : v);
  if (field.shape === 'list') return Array.isArray(value) ? value.map((v, i) => one(v, `${path}[${i}]`)) : value;
  if (field.shape === 'map') {
    if (!isObject(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v, `${path}.${k}`)]));
  }
  return one(value, path);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The paths of keys that occur twice in one object of a JSON text (`metadata.name`, `spec.containers[0].image`).
 * The text must be valid JSON (parse it first); a scan, no second parse tree.
 */
export function duplicateJsonFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        const keyPath = join(path, key);
        if (seen.has(key)) out.push(keyPath);
        seen.add(key);
        ws();
        i++; // ':'
        value(keyPath);
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !',}] \t\n\r'.includes(text[i] ?? '')) i++;
    }
  };
  value('');
  return out;
}

/**
 * Applies a directive to what was found: Strict throws, Warn returns the warnings to send, Ignore returns none.
 *
 * @throws StatusError 400 under Strict when anything was found, naming each field as the apiserver does.
 */
export function fieldProblems(
  directive: FieldValidation,
  found: { unknown: readonly string[]; duplicates: readonly string[] },
  kind: { kind: string; version: string },
): string[] {
  const problems = [
    ...found.duplicates.map((p) => `duplicate field ${JSON.stringify(p)}`),
    ...found.unknown.map((p) => `unknown field ${JSON.stringify(p)}`),
  ];
  if (problems.length === 0 || directive === 'Ignore') return [];
  if (directive === 'Strict') {
    throw new StatusError(
      400,
      'BadRequest',
      `${kind.kind} in version ${JSON.stringify(kind.version)} cannot be handled as a ${kind.kind}: strict decoding error: ${problems.join(', ')}`,
    );
  }
  return problems;
}
