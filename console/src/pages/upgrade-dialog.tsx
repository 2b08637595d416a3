import { useEffect, useId, useRef, useState } from 'react';
import type { ClusterDetail, Finding, Plan, UpgradeOptions, VersionOption } from '../api/types.ts';
import { FindingList, objectName } from '../components/finding-list.tsx';
import { Problem } from '../components/problem.tsx';
import { VersionChip } from '../components/version-chip.tsx';
import { day, duration } from '../format.ts';
import { may, useSession } from '../session.ts';
import { useApi } from '../use-api.ts';

/** Props of {@link UpgradeDialog}. */
export interface UpgradeDialogProps {
  readonly cluster: ClusterDetail;
  readonly options: readonly VersionOption[];
  /** A Kubernetes version, or the pools' machine images. */
  readonly mode: 'version' | 'image';
  /** Called with the id of the run it started, or null when closed without one. */
  readonly onClose: (started: string | null) => void;
}

type Step = 'choose' | 'confirm';

type Submit = { readonly state: 'idle' | 'sending' } | { readonly state: 'failed'; readonly error: Error };

/** Shortest reason accepted for acknowledging a blocker: a word or two is not a reason. */
const MIN_REASON = 10;

const BATCH_POLICIES = [
  { value: 'exponential', label: '1 node, then doubling (ACK)' },
  { value: 'fixed:1', label: 'one node at a time' },
  { value: 'percent:10', label: '10 % of the pool at a time' },
] as const;

/** A blocker's key: the rule and its first object, as an acknowledgement names it. */
function blockerKey(f: Finding): string {
  const first = f.objects[0];
  return first ? `${f.rule}/${objectName(first)}` : f.rule;
}

/**
 * Upgrade in two steps, as the seeds' consoles do: choose (target, path, notes, precheck, strategy, surge, batch
 * policy, the plan), then confirm. A precheck blocker disables the upgrade until it is acknowledged with a written
 * reason; the acknowledgement goes with the run.
 */
export function UpgradeDialog({ cluster, options, mode, onClose }: UpgradeDialogProps) {
  const { api, identity } = useSession();
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const eligible = options.filter((v) => v.eligible);
  const imageTargets = [...new Set(cluster.pools.flatMap((p) => (p.imageUpgrade ? [p.imageUpgrade] : [])))];
  const [target, setTarget] = useState(
    mode === 'version' ? (eligible.filter((v) => v.kind !== 'downgrade').pop()?.version ?? '') : '',
  );
  const [image, setImage] = useState(mode === 'image' ? (imageTargets[0] ?? '') : '');
  const [batchPolicy, setBatchPolicy] = useState<string>('exponential');
  const [strategy, setStrategy] = useState<'replace' | 'in-place'>('replace');
  const [maxSurge, setMaxSurge] = useState(1);
  const [reasons, setReasons] = useState<Readonly<Record<string, string>>>({});
  const [step, setStep] = useState<Step>('choose');
  const [submit, setSubmit] = useState<Submit>({ state: 'idle' });

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const chosen = options.find((v) => v.version === target);
  const base: UpgradeOptions = {
    ...(mode === 'version' && target ? { to: target } : {}),
    ...(mode === 'image' && image ? { image } : {}),
    poolOptions: { batchPolicy, strategy, ...(strategy === 'replace' ? { maxSurge } : {}) },
  };
  const key = JSON.stringify(base);
  // The plan, with the precheck of its target, follows every choice (acknowledgements aside: they do not change it).
  const [planned] = useApi(
    (signal) =>
      (mode === 'version' ? target : image)
        ? api.plan(cluster.name, JSON.parse(key) as UpgradeOptions, signal)
        : Promise.resolve(null),
    [api, cluster.name, key],
    { keepStale: false },
  );
  const response = planned.state === 'ready' ? planned.value : null;
  const report = response?.precheck;
  const blockers = (report?.findings ?? []).filter((f) => f.severity === 'blocker' && !f.acknowledged);
  const unacknowledged = blockers.filter((f) => (reasons[blockerKey(f)] ?? '').trim().length < MIN_REASON);
  const canAcknowledge = may(identity.role, 'acknowledge');
  const request: UpgradeOptions = {
    ...base,
    ...(blockers.length > 0
      ? {
          acknowledgements: blockers.map((f) => {
            const first = f.objects[0];
            return {
              rule: f.rule,
              ...(first ? { object: objectName(first) } : {}),
              reason: (reasons[blockerKey(f)] ?? '').trim(),
            };
          }),
        }
      : {}),
  };

  const close = (started: string | null) => {
    ref.current?.close();
    onClose(started);
  };
  const ready = response !== null && unacknowledged.length === 0;
  const start = () => {
    setSubmit({ state: 'sending' });
    api.createRun(cluster.name, request).then(
      (run) => close(run.id),
      (error: unknown) =>
        setSubmit({ state: 'failed', error: error instanceof Error ? error : new Error(String(error)) }),
    );
  };
  const hops = response?.plan ? controlPlaneHops(response.plan) : [];

  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} onCancel={() => onClose(null)}>
      <form method="dialog" onSubmit={(e) => e.preventDefault()}>
        <h2 id={`${id}-title`}>
          {mode === 'version' ? `Upgrade ${cluster.name}` : `Update machine images of ${cluster.name}`}
          <span className="muted small"> · step {step === 'choose' ? 1 : 2} of 2</span>
        </h2>
        {step === 'choose' ? (
          <>
            {mode === 'version' ? (
              <fieldset>
                <legend>Target version</legend>
                <p className="small">
                  Now{' '}
                  <VersionChip
                    version={cluster.version}
                    classification={cluster.classification}
                    endOfSupport={cluster.endOfSupport}
                  />
                </p>
                {eligible.map((v) => (
                  <label key={v.version} className="choice">
                    <input
                      type="radio"
                      name="target"
                      value={v.version}
                      checked={target === v.version}
                      onChange={() => setTarget(v.version)}
                    />
                    <VersionChip version={v.version} classification={v.classification} endOfSupport={v.endOfSupport} />
                    <span className="small muted">
                      {v.kind === 'downgrade' ? 'one patch back · ' : ''}end of support {day(v.endOfSupport)}
                    </span>
                  </label>
                ))}
                <p className="hint">{cluster.versionsHint}</p>
                {options.some((v) => !v.eligible) && (
                  <p className="hint">
                    Not offered:{' '}
                    {options
                      .filter((v) => !v.eligible)
                      .map((v) => `${v.version} (${v.reason ?? 'not eligible'})`)
                      .join('; ')}
                  </p>
                )}
              </fieldset>
            ) : (
              <label>
                Machine image{' '}
                <select value={image} onChange={(e) => setImage(e.target.value)}>
                  {imageTargets.map((i) => (
                    <option key={i} value={i}>
                      {i}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {(chosen || hops.length > 0) && (
              <section aria-label="Path and notes" className="panel">
                {hops.length > 0 && (
                  <p>
                    Path: <strong>{[cluster.version, ...hops].join(' → ')}</strong>
                  </p>
                )}
                {chosen?.releaseNotes && (
                  <p>
                    <a href={safeUrl(chosen.releaseNotes)} target="_blank" rel="noreferrer noopener">
                      Release notes of {chosen.version.split('.').slice(0, 2).join('.')}
                    </a>
                  </p>
                )}
                {chosen && chosen.upgradeNotes.length > 0 && (
                  <ul className="small">
                    {chosen.upgradeNotes.map((n) => (
                      <li key={n}>{n}</li>
                    ))}
                  </ul>
                )}
              </section>
            )}
            <fieldset className="options">
              <legend>How</legend>
              <label>
                Strategy
                <select value={strategy} onChange={(e) => setStrategy(e.target.value as 'replace' | 'in-place')}>
                  <option value="replace">replace nodes (rolling)</option>
                  <option value="in-place">upgrade in place</option>
                </select>
              </label>
              {strategy === 'replace' && (
                <label>
                  Surge
                  <input
                    type="number"
                    min={0}
                    max={10}
                    value={maxSurge}
                    onChange={(e) => setMaxSurge(Math.max(0, Math.min(10, Number(e.target.value) || 0)))}
                  />
                </label>
              )}
              <label>
                Batch policy
                <select value={batchPolicy} onChange={(e) => setBatchPolicy(e.target.value)}>
                  {BATCH_POLICIES.map((b) => (
                    <option key={b.value} value={b.value}>
                      {b.label}
                    </option>
                  ))}
                </select>
              </label>
            </fieldset>
            <section aria-labelledby={`${id}-precheck`} aria-busy={planned.state === 'loading'}>
              <h3 id={`${id}-precheck`}>Precheck</h3>
              {planned.state === 'loading' && <p className="muted">Checking {cluster.name} and planning…</p>}
              {planned.state === 'failed' && <Problem error={planned.error} title="kup cannot plan this upgrade" />}
              {report && (
                <FindingList
                  findings={report.findings}
                  renderBlockerExtra={(f: Finding) =>
                    f.acknowledged ? null : canAcknowledge ? (
                      <label className="acknowledge">
                        Acknowledge this blocker: why is it safe to go on? (at least {MIN_REASON} characters)
                        <textarea
                          value={reasons[blockerKey(f)] ?? ''}
                          onChange={(e) => setReasons({ ...reasons, [blockerKey(f)]: e.target.value })}
                          rows={2}
                        />
                      </label>
                    ) : null
                  }
                />
              )}
            </section>
            <section aria-labelledby={`${id}-plan`}>
              <h3 id={`${id}-plan`}>Plan</h3>
              {response && <PlanView plan={response.plan} />}
            </section>
            {unacknowledged.length > 0 && (
              <p className="error" role="status">
                {unacknowledged.length} blocker{unacknowledged.length === 1 ? '' : 's'} to acknowledge before upgrading.
              </p>
            )}
            <div className="buttons">
              <button type="button" onClick={() => close(null)}>
                Cancel
              </button>
              <button type="button" className="primary" disabled={!ready} onClick={() => setStep('confirm')}>
                Review upgrade
              </button>
            </div>
          </>
        ) : (
          <>
            <p>
              {mode === 'version' ? (
                <>
                  Upgrade <strong>{cluster.name}</strong> from <strong>{cluster.version}</strong> to{' '}
                  <strong>{target}</strong>
                </>
              ) : (
                <>
                  Move the pools of <strong>{cluster.name}</strong> to image <strong>{image}</strong>
                </>
              )}
              {response && <> in about {duration(response.plan.expectedDurationMs)}</>}. kup takes a snapshot first,
              upgrades the control plane node by node, then replaces the worker nodes batch by batch; workloads move as
              their PodDisruptionBudgets allow. The API server may be briefly unavailable while the control plane
              upgrades.
            </p>
            {response?.plan.pointOfNoReturn && <p className="warn">{response.plan.pointOfNoReturn.message}</p>}
            {blockers.length > 0 && (
              <p className="warn">
                {blockers.length} blocker{blockers.length === 1 ? '' : 's'} acknowledged with your reason.
              </p>
            )}
            {submit.state === 'failed' && <Problem error={submit.error} title="The upgrade was refused" />}
            <div className="buttons">
              <button type="button" onClick={() => setStep('choose')}>
                Back
              </button>
              <button type="button" className="primary" disabled={submit.state === 'sending'} onClick={start}>
                {submit.state === 'sending' ? 'Starting…' : 'Confirm upgrade'}
              </button>
            </div>
          </>
        )}
      </form>
    </dialog>
  );
}

/** The control plane's versions, one per hop, from the plan's phases (`control-plane` phases name their target). */
function controlPlaneHops(plan: Plan): string[] {
  const hops = plan.phases.filter((p) => p.kind === 'control-plane').map((p) => (p as { to?: string }).to ?? '');
  return hops.filter(Boolean).length > 0 ? hops.filter(Boolean) : plan.from !== plan.to ? [plan.to] : [];
}

function PlanView({ plan }: { readonly plan: Plan }) {
  const steps = plan.phases.flatMap((p) =>
    p.batches.flatMap((b) => b.steps.map((s) => ({ phase: p.key, batch: b.key, ...s }))),
  );
  return (
    <>
      <p>
        {plan.phases.length} phases, {steps.length} steps, expected to take {duration(plan.expectedDurationMs)}.
        {plan.pointOfNoReturn && (
          <>
            {' '}
            Point of no return: <strong>{plan.pointOfNoReturn.key}</strong> on {plan.pointOfNoReturn.node} (after it,
            going back means restoring the snapshot).
          </>
        )}
      </p>
      {plan.notes.length > 0 && (
        <ul className="small">
          {plan.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <details>
        <summary>Every step</summary>
        <ol className="small mono">
          {steps.map((s) => (
            <li key={s.key}>
              {s.batch}: {s.key}
            </li>
          ))}
        </ol>
      </details>
    </>
  );
}

/** Only http(s) links from the catalog are followed: a `javascript:` URL in data is shown as nothing. */
function safeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
