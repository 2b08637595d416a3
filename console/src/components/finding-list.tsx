import type { Finding, ObjectRef } from '../api/types.ts';

/** `Kind/namespace/name`, as kup's reports and acknowledgements name objects. */
export function objectName(o: ObjectRef): string {
  return `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

/** Props of {@link FindingList}. */
export interface FindingListProps {
  readonly findings: readonly Finding[];
  /** Renders after a blocker's remedy (the dialog's acknowledgement field). */
  readonly renderBlockerExtra?: (finding: Finding) => React.ReactNode;
}

const ORDER = { blocker: 0, warning: 1, info: 2 } as const;

/** Precheck findings, blockers first: status, objects and remedy (EKS's upgrade insights). */
export function FindingList({ findings, renderBlockerExtra }: FindingListProps) {
  if (findings.length === 0) return <p className="ok">Every check passed.</p>;
  const sorted = [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
  return (
    <ul className="findings">
      {sorted.map((f, i) => (
        <li key={`${f.rule}-${i}`} className={`finding finding-${f.severity}`}>
          <div className="finding-head">
            <span className={`badge badge-${f.severity}`}>{f.severity}</span> <strong>{f.rule}</strong>
            {f.acknowledged && <span className="badge badge-info">acknowledged: {f.acknowledged.reason}</span>}
          </div>
          <p>{f.message}</p>
          {f.objects.length > 0 && (
            <details>
              <summary>
                {f.objects.length} object{f.objects.length === 1 ? '' : 's'}
              </summary>
              <ul className="mono small">
                {f.objects.map((o) => (
                  <li key={objectName(o)}>{objectName(o)}</li>
                ))}
              </ul>
            </details>
          )}
          {f.remediation && (
            <p className="remedy">
              <span className="muted">What to do: </span>
              {f.remediation}
            </p>
          )}
          {f.severity === 'blocker' && renderBlockerExtra?.(f)}
        </li>
      ))}
    </ul>
  );
}
