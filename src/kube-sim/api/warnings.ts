/**
 * `Warning:` response headers as the apiserver sends them (RFC 7234 code 299, agent `-`), which kubectl prints as
 * `Warning: <text>` and client-go hands to its warning handler; and the deprecation warning of a deprecated API.
 */
import type { ServerResponse } from 'node:http';
import type { ResourceDef } from './resources.ts';
import { groupVersion } from './resources.ts';

/** Adds one warning to the reply (before its head is written); several warnings are several headers. */
export function addWarning(res: ServerResponse, text: string): void {
  const value = `299 - ${JSON.stringify(text)}`;
  const existing = res.getHeader('Warning');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  if (!list.includes(value)) res.setHeader('Warning', [...list, value]);
}

/**
 * The apiserver's deprecation warning for a request to a deprecated version, or undefined when `def` is not
 * deprecated: `policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1
 * PodDisruptionBudget`. The replacement is the version of the same resource that was served and not deprecated
 * when `def` was deprecated (flowcontrol v1beta2 names v1beta3, v1beta3 names v1); none when there is none (PSP).
 */
export function deprecationWarning(def: ResourceDef, all: readonly ResourceDef[]): string | undefined {
  if (def.deprecatedIn === undefined) return undefined;
  let text = `${groupVersion(def)} ${def.kind} is deprecated in v1.${def.deprecatedIn}+`;
  if (def.removedIn !== undefined) text += `, unavailable in v1.${def.removedIn}+`;
  const at = def.deprecatedIn;
  const replacement = all.find(
    (r) =>
      r.storage === def.storage &&
      r.version !== def.version &&
      (r.introducedIn === undefined || r.introducedIn <= at) &&
      (r.deprecatedIn === undefined || r.deprecatedIn > at),
  );
  if (replacement) text += `; use ${groupVersion(replacement)} ${replacement.kind}`;
  return text;
}
