import { useEffect, useId, useRef, useState } from 'react';
import type { ClusterDetail, CreateRunRequest, Finding, PlanSummary, Run, VersionOption } from '../api/types.ts';
import { FindingList } from '../components/finding-list.tsx';
import { Problem } from '../components/problem.tsx';
import { VersionChip } from '../components/version-chip.tsx';
import { day, duration } from '../format.ts';
import { useSession } from '../session.ts';
import { useApi } from '../use-api.ts';

/** Props of {@link UpgradeDialog}. */
export interface UpgradeDialogProps {
  readonly cluster: ClusterDetail;
  readonly options: readonly VersionOption[];
  /** A Kubernetes version, or the pools' machine images. */
  readonly mode: 'version' | 'image';
  /** Called with the run it started, or null when closed without one. */
  readonly onClose: (started: Run | null) => void;
}

type Step = 'choose' | 'confirm';

/** What is loading or was loaded for the chosen target. */
type Check<T> =
  | { readonly state: 'idle' }
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly error: Error }
  | { readonly state: 'ready'; readonly value: T };

/**
 * Upgrade in two steps, as the seeds' consoles do: choose (target, path, notes, precheck, batch policy, strategy, the
 * plan), then confirm. A precheck blocker disables the upgrade until it is acknowledged with a written reason.
 */
export function UpgradeDialog({ cluster, options, mode, onClose }: UpgradeDialogProps) {
  const { api } = useSession();
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const eligible = options.filter((v) => v.eligible);
  const imageTargets = [...new Set(cluster.pools.flatMap((p) => (p.imageUpgrade ? [p.imageUpgrade] : [])))];
  const [target, setTarget] = useState(mode === 'version' ? (eligible[0]?.version ?? '') : '');
  const [image, setImage] = useState(mode === 'image' ? (imageTargets[0] ?? '') : '');
  const [batchPolicy, setBatchPolicy] = useState<'one' | 'doubling'>('doubling');
  const [strategy, setStrategy] = useState<'replace' | 'in-place'>('replace');
  const [maxSurge, setMaxSurge] = useState(1);
  const [reasons, setReasons] = useState<Readonly<Record<string, string>>>({});
  const [step, setStep] = useState<Step>('choose');
  const [submit, setSubmit] = useState<Check<Run>>({ state: 'idle' });

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const chosen = options.find((v) => v.version === target);
  const checkTarget = mode === 'version' ? target : cluster.version;
  // A new target runs the precheck against it.
  const [precheck] = useApi(
    (signal) => (checkTarget ? api.precheck(cluster.name, checkTarget, signal) : Promise.resolve(null)),
    [api, cluster.name, checkTarget],
    { keepStale: false },
  );
  const blockers =
    precheck.state === 'ready' && precheck.value ? precheck.value.findings.filter((f) => f.severity === 'blocker') : [];
  const unacknowledged = blockers.filter((f) => (reasons[f.rule] ?? '').trim().length < 10);
  const request: CreateRunRequest = {
    cluster: cluster.name,
    ...(mode === 'version' && target ? { to: target } : {}),
    ...(mode === 'image' && image ? { image } : {}),
    strategy,
    ...(strategy === 'replace' ? { maxSurge } : {}),
    batchPolicy,
    ...(blockers.length > 0
      ? { acknowledge: blockers.map((f) => ({ rule: f.rule, reason: (reasons[f.rule] ?? '').trim() })) }
      : {}),
  };
  const requestKey = JSON.stringify({ ...request, acknowledge: undefined });

  // The plan follows every option.
  const [plan] = useApi(
    (signal) =>
      (mode === 'version' ? target : image)
        ? api.plan(JSON.parse(requestKey) as CreateRunRequest, signal)
        : Promise.resolve(null),
    [api, requestKey],
    { keepStale: false },
  );

  const close = (started: Run | null) => {
    ref.current?.close();
    onClose(started);
  };
  const ready =
    precheck.state === 'ready' &&
    precheck.value !== null &&
    plan.state === 'ready' &&
    plan.value !== null &&
    unacknowledged.length === 0;
  const start = () => {
    setSubmit({ state: 'loading' });
    api.createRun(request).then(
      (run) => close(run),
      (error: unknown) => setSubmit({ state: 'failed', error: asError(error) }),
    );
  };

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
                    <span className="small muted">end of support {day(v.endOfSupport)}</span>
                  </label>
                ))}
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
                Machine image
                <select value={image} onChange={(e) => setImage(e.target.value)}>
                  {imageTargets.map((i) => (
                    <option key={i} value={i}>
                      {i}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {chosen && (
              <section aria-label="Path and notes" className="panel">
                <p>
                  Path: <strong>{(chosen.path ?? [cluster.version, chosen.version]).join(' → ')}</strong>
                </p>
                {chosen.releaseNotes && (
                  <p>
                    Upgrade notes:{' '}
                    <a href={safeUrl(chosen.releaseNotes)} target="_blank" rel="noreferrer noopener">
                      release notes of {chosen.version}
                    </a>
                  </p>
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
                    onChange={(e) => setMaxSurge(Math.max(0, Number(e.target.value)))}
                  />
                </label>
              )}
              <label>
                Batch policy
                <select value={batchPolicy} onChange={(e) => setBatchPolicy(e.target.value as 'one' | 'doubling')}>
                  <option value="doubling">1 node, then doubling (at most 10 %)</option>
                  <option value="one">one node at a time</option>
                </select>
              </label>
            </fieldset>
            <section aria-labelledby={`${id}-precheck`} aria-busy={precheck.state === 'loading'}>
              <h3 id={`${id}-precheck`}>Precheck</h3>
              {precheck.state === 'loading' && (
                <p className="muted">
                  Checking {cluster.name} against {checkTarget}…
                </p>
              )}
              {precheck.state === 'failed' && <Problem error={precheck.error} title="The precheck could not run" />}
              {precheck.state === 'ready' && precheck.value && (
                <FindingList
                  findings={precheck.value.findings}
                  renderBlockerExtra={(f: Finding) => (
                    <label className="acknowledge">
                      Acknowledge this blocker: why is it safe to go on? (at least 10 characters)
                      <textarea
                        value={reasons[f.rule] ?? ''}
                        onChange={(e) => setReasons({ ...reasons, [f.rule]: e.target.value })}
                        rows={2}
                      />
                    </label>
                  )}
                />
              )}
            </section>
            <section aria-labelledby={`${id}-plan`}>
              <h3 id={`${id}-plan`}>Plan</h3>
              {plan.state === 'loading' && <p className="muted">Planning…</p>}
              {plan.state === 'failed' && <Problem error={plan.error} title="kup cannot plan this upgrade" />}
              {plan.state === 'ready' && plan.value && <PlanView plan={plan.value} />}
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
              {plan.state === 'ready' && plan.value && <> in about {duration(plan.value.expectedMs)}</>}. Nodes are
              replaced one batch at a time; workloads move as their PodDisruptionBudgets allow. The API server may be
              briefly unavailable while the control plane upgrades.
            </p>
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
              <button type="button" className="primary" disabled={submit.state === 'loading'} onClick={start}>
                {submit.state === 'loading' ? 'Starting…' : 'Confirm upgrade'}
              </button>
            </div>
          </>
        )}
      </form>
    </dialog>
  );
}

function PlanView({ plan }: { readonly plan: PlanSummary }) {
  return (
    <>
      <p>
        {plan.steps.length} steps, expected to take {duration(plan.expectedMs)}.
        {plan.pointOfNoReturn && (
          <>
            {' '}
            Point of no return: <strong>{plan.pointOfNoReturn}</strong> (after it, going back means restoring the
            snapshot).
          </>
        )}
      </p>
      <details>
        <summary>Every step</summary>
        <ol className="small mono">
          {plan.steps.map((s) => (
            <li key={s.key}>
              {s.key}: {s.actions.join(', ')}
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

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
