/**
 * Reading a container fault rule (`faults.containerFaults[]` in a scenario, `containerFaults` of the infrastructure
 * API's `PUT /sim/v1/faults`): one reader, so both say the same about bad input.
 */
import type { ContainerFailure, ContainerFaultRule } from './types.ts';

/** The failures a rule may name. */
export const CONTAINER_FAILURES: readonly ContainerFailure[] = ['image-pull', 'crash-loop', 'not-ready'];

const RULE_KEYS = ['image', 'failure', 'minKubeletVersion', 'exitCode', 'exitAfterMs'];
const VERSION = /^v?\d+\.\d+(\.\d+)?$/;

/** A problem with one field of a rule: the field's name (empty for the rule itself) and what is wrong. */
export interface RuleProblem {
  field: string;
  message: string;
}

/** The rule `value` describes, or the problems that keep it from being one. */
export function readContainerFaultRule(value: unknown): ContainerFaultRule | RuleProblem[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [{ field: '', message: 'must be a mapping with image and failure' }];
  const r = value as Record<string, unknown>;
  const problems: RuleProblem[] = [];
  for (const key of Object.keys(r))
    if (!RULE_KEYS.includes(key))
      problems.push({ field: key, message: `unknown field (known: ${RULE_KEYS.join(', ')})` });
  const image = r['image'];
  if (typeof image !== 'string' || image.trim() === '')
    problems.push({ field: 'image', message: 'an image or a glob such as "*:broken" is required' });
  const failure = r['failure'];
  if (typeof failure !== 'string' || !(CONTAINER_FAILURES as readonly string[]).includes(failure))
    problems.push({ field: 'failure', message: `must be one of ${CONTAINER_FAILURES.join(', ')}` });
  const min = r['minKubeletVersion'];
  if (min !== undefined && (typeof min !== 'string' || !VERSION.test(min)))
    problems.push({ field: 'minKubeletVersion', message: 'must be a version such as 1.31 or 1.31.2' });
  const exitCode = r['exitCode'];
  if (exitCode !== undefined && (!Number.isInteger(exitCode) || (exitCode as number) < 0 || (exitCode as number) > 255))
    problems.push({ field: 'exitCode', message: 'must be a whole number from 0 to 255' });
  const exitAfter = r['exitAfterMs'];
  if (
    exitAfter !== undefined &&
    (!Number.isInteger(exitAfter) || (exitAfter as number) < 0 || (exitAfter as number) > 86_400_000)
  )
    problems.push({ field: 'exitAfterMs', message: 'must be a whole number of milliseconds from 0 to 86400000' });
  if ((exitCode !== undefined || exitAfter !== undefined) && failure !== 'crash-loop')
    problems.push({ field: 'failure', message: 'exitCode and exitAfterMs apply to crash-loop only' });
  if (problems.length > 0) return problems;
  return {
    image: image as string,
    failure: failure as ContainerFailure,
    ...(typeof min === 'string' ? { minKubeletVersion: min.replace(/^v/, '') } : {}),
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
    ...(typeof exitAfter === 'number' ? { exitAfterMs: exitAfter } : {}),
  };
}
