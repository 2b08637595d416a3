/**
 * Acknowledgements: an operator accepts a blocker for one run, with a reason that the report keeps. Written on the
 * command line as `RULE[/OBJECT]=REASON` (`pdb-blockers/shop/web=owner agreed to 2 min of downtime`).
 *
 * @module
 */
import { PrecheckError } from './errors.ts';
import type { Acknowledgement, AcknowledgementOutcome, Finding, ObjectRef } from './types.ts';
import { RULE_IDS, isRuleId } from './types.ts';

/**
 * Reads `RULE[/OBJECT]=REASON`.
 * @throws {PrecheckError} `KUP-PRECHECK-001` naming the text: no `=`, an empty reason, an unknown rule.
 */
export function parseAcknowledgement(text: string): Acknowledgement {
  const eq = text.indexOf('=');
  if (eq < 0)
    throw new PrecheckError('KUP-PRECHECK-001', `acknowledgement "${text}" has no reason: write RULE[/OBJECT]=REASON`);
  const target = text.slice(0, eq).trim();
  const reason = text.slice(eq + 1).trim();
  if (reason === '')
    throw new PrecheckError(
      'KUP-PRECHECK-001',
      `acknowledgement "${text}" has an empty reason: say why the blocker is acceptable`,
    );
  const slash = target.indexOf('/');
  const rule = slash < 0 ? target : target.slice(0, slash);
  const object = slash < 0 ? undefined : target.slice(slash + 1);
  if (!isRuleId(rule)) {
    throw new PrecheckError(
      'KUP-PRECHECK-001',
      `acknowledgement "${text}" names an unknown rule "${rule}" (rules: ${RULE_IDS.join(', ')})`,
    );
  }
  if (object !== undefined && object === '')
    throw new PrecheckError('KUP-PRECHECK-001', `acknowledgement "${text}" has an empty object after "${rule}/"`);
  return { rule, ...(object !== undefined ? { object } : {}), reason };
}

/** Whether `text` (`Kind/namespace/name`, `namespace/name`, `Kind/name` or `name`) names the object. */
export function objectMatches(ref: ObjectRef, text: string): boolean {
  const parts = text.split('/');
  const kindIs = (k: string | undefined) => k !== undefined && k.toLowerCase() === ref.kind.toLowerCase();
  switch (parts.length) {
    case 1:
      return parts[0] === ref.name;
    case 2:
      return ref.namespace !== undefined
        ? parts[0] === ref.namespace && parts[1] === ref.name
        : kindIs(parts[0]) && parts[1] === ref.name;
    case 3:
      return kindIs(parts[0]) && parts[1] === ref.namespace && parts[2] === ref.name;
    default:
      return false;
  }
}

/**
 * Marks the blockers the acknowledgements cover. Warnings and information are never marked: only a blocker needs
 * accepting. Returns the findings (same order) and how many blockers each acknowledgement covered.
 */
export function applyAcknowledgements(
  findings: readonly Finding[],
  acknowledgements: readonly Acknowledgement[],
): { findings: Finding[]; outcomes: AcknowledgementOutcome[] } {
  const matched = acknowledgements.map(() => 0);
  const out = findings.map((f) => {
    if (f.severity !== 'blocker') return f;
    const i = acknowledgements.findIndex(
      (a) => a.rule === f.rule && (a.object === undefined || f.objects.some((o) => objectMatches(o, a.object ?? ''))),
    );
    const ack = acknowledgements[i];
    if (ack === undefined) return f;
    matched[i] = (matched[i] ?? 0) + 1;
    return { ...f, acknowledged: { reason: ack.reason } };
  });
  return { findings: out, outcomes: acknowledgements.map((a, i) => ({ ...a, matched: matched[i] ?? 0 })) };
}
