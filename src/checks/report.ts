/**
 * The report for people (a table, blockers first, each finding with its remedy) and for machines (`-o json`: a
 * versioned document with every finding).
 *
 * @module
 */
import { refName } from './cluster-index.ts';
import type { Finding, ObjectRef, Report } from './types.ts';

/** The JSON document of a report (`kup precheck -o json`). */
export interface ReportDocument extends Report {
  readonly apiVersion: 'kup.dev/v1alpha1';
  readonly kind: 'PrecheckReport' | 'PostcheckReport';
  readonly summary: {
    readonly blockers: number;
    readonly acknowledged: number;
    readonly warnings: number;
    readonly info: number;
  };
}

/** The report as its JSON document. */
export function reportDocument(report: Report): ReportDocument {
  return {
    apiVersion: 'kup.dev/v1alpha1',
    kind: report.phase === 'precheck' ? 'PrecheckReport' : 'PostcheckReport',
    summary: {
      blockers: report.blockers.length,
      acknowledged: report.acknowledged.length,
      warnings: report.findings.filter((f) => f.severity === 'warning').length,
      info: report.findings.filter((f) => f.severity === 'info').length,
    },
    ...report,
  };
}

function objectText(objects: readonly ObjectRef[], max = 3): string {
  if (objects.length === 0) return '-';
  const shown = objects.slice(0, max).map((o) => `${o.kind}/${refName(o)}`);
  return objects.length > max ? `${shown.join(', ')} (+${objects.length - max})` : shown.join(', ');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function severityText(f: Finding): string {
  if (f.acknowledged) return 'ACKED';
  return f.severity.toUpperCase();
}

/** Options of {@link formatReportTable}. */
export interface FormatReportOptions {
  /** Width to wrap messages at. @default 120 */
  readonly width?: number;
  /** Leave out info findings. @default false */
  readonly hideInfo?: boolean;
}

/** The report as text for people. */
export function formatReportTable(report: Report, options: FormatReportOptions = {}): string {
  const width = options.width ?? 120;
  const out: string[] = [];
  const title = report.phase === 'precheck' ? 'Precheck' : 'Post-upgrade validation';
  const downgrade = report.path?.kind === 'downgrade';
  out.push(
    `${title} of cluster ${report.cluster} (${report.server}): ${report.from || '?'} -> ${report.to}${downgrade ? ' (downgrade)' : ''}`,
  );
  if (report.path !== undefined && report.path.steps.length > 0) {
    out.push('Path:');
    report.path.steps.forEach((s, i) => {
      out.push(
        s.kind === 'control-plane'
          ? `  ${i + 1}. control plane ${s.from} -> ${s.to}`
          : `  ${i + 1}. pool ${s.pool} ${s.from} -> ${s.to}${s.reason === 'skew' ? ' (first, for the skew policy)' : ''}`,
      );
    });
  }
  out.push(`Batch policy: ${report.batchPolicy}`);
  out.push('');
  const shown = report.findings.filter((f) => !(options.hideInfo && f.severity === 'info'));
  if (shown.length === 0) out.push('No findings.');
  else {
    const ruleWidth = Math.max(4, ...shown.map((f) => f.rule.length));
    out.push(`${'SEVERITY'.padEnd(9)}${'RULE'.padEnd(ruleWidth + 2)}OBJECTS`);
    const indent = ' '.repeat(11);
    for (const f of shown) {
      out.push(`${severityText(f).padEnd(9)}${f.rule.padEnd(ruleWidth + 2)}${objectText(f.objects)}`);
      for (const line of wrap(f.message, width - indent.length)) out.push(`${indent}${line}`);
      const fix = f.acknowledged ? `acknowledged: ${f.acknowledged.reason}` : `fix: ${f.remediation}`;
      wrap(fix, width - indent.length - 2).forEach((line, i) => out.push(`${indent}${i === 0 ? '' : '  '}${line}`));
      if (f.sources && f.sources.length > 0) out.push(`${indent}source: ${f.sources.join(', ')}`);
    }
  }
  out.push('');
  out.push('Rules:');
  for (const r of report.rules) out.push(`  ${r.status.toUpperCase().padEnd(8)} ${r.id.padEnd(24)} ${r.title}`);
  for (const a of report.acknowledgements) {
    if (a.matched === 0)
      out.push(`Note: acknowledgement ${a.rule}${a.object ? `/${a.object}` : ''} matched no blocker.`);
  }
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  out.push('');
  out.push(
    `Result: ${report.blockers.length} blocker${report.blockers.length === 1 ? '' : 's'}` +
      `${report.acknowledged.length > 0 ? ` (+${report.acknowledged.length} acknowledged)` : ''}, ${warnings} warning${warnings === 1 ? '' : 's'}` +
      ` in ${(report.durationMs / 1000).toFixed(1)} s: ${report.blockers.length === 0 ? (report.phase === 'precheck' ? `the ${downgrade ? 'downgrade' : 'upgrade'} may start` : 'the cluster is healthy at the target') : report.phase === 'precheck' ? 'fix or acknowledge the blockers' : 'the cluster is not healthy at the target'}.`,
  );
  return `${out.join('\n')}\n`;
}
