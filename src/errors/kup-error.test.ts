import { MaintenanceError, MaintenanceErrorCode } from '../maintenance/errors.ts';
import { RolloutError, RolloutErrorCode } from '../fleet-rollouts/errors.ts';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { CatalogSourceError } from '../catalog/catalog-file.ts';
import { PrecheckError } from '../checks/errors.ts';
import type { PrecheckErrorCode } from '../checks/errors.ts';
import { DrainUsageError } from '../cli/commands/drain.ts';
import { UsageError } from '../cli/io.ts';
import { RemoteError } from '../cli/remote.ts';
import { ForbiddenError, UnauthorizedError } from '../server/auth.ts';
import { ApiError } from '../server/errors.ts';
import { SecretKeyError } from '../server/secrets.ts';
import { CredentialsMissingError } from '../server/service.ts';
import { ClusterRegistryError, RegistryErrorCode } from '../clusters/registry.ts';
import { DrainError, DrainErrorCode } from '../drain/errors.ts';
import { LabelSelectorSyntaxError } from '../drain/selectors.ts';
import { BatchValidationError, BatchWorkloadsFailingError } from '../engine/actions/validate.ts';
import { NodeWaitTimeout } from '../engine/actions/node-wait.ts';
import { RunNotFoundError } from '../engine/apply-event.ts';
import { RunLeaseHeldError } from '../engine/executor.ts';
import { ProviderError, ProviderErrorCode } from '../engine/provider.ts';
import { ClusterNotRegisteredError } from '../engine/runs.ts';
import { ClusterError, ClusterErrorCode } from '../kube-api/errors.ts';
import { ClusterBusyError, LeaseLostError, RunConflictError, StoreError, StoreErrorCode } from '../persistence/errors.ts';
import { BatchPolicyError } from '../rollout/batches.ts';
import { RunErrorCode, RunTransitionError } from '../rollout/machine/errors.ts';
import { PlanError, PlanErrorCode } from '../rollout/plan-errors.ts';
import { CatalogError, UpgradePathError, VersionParseError } from '../versions/errors.ts';
import type { CatalogErrorCode, UpgradePathErrorCode } from '../versions/errors.ts';
import { KUP_ERROR_KINDS, KupError } from './kup-error.ts';
import { ClusterSessionClosedError } from '../engine/cluster-session.ts';
import { LocalClusterError, LocalErrorCode } from '../local/errors.ts';
import type { LocalErrorReason } from '../local/errors.ts';
import { DemoFleetError, DemoFleetErrorCode } from '../demo/errors.ts';
import type { DemoFleetErrorReason } from '../demo/errors.ts';

const SRC = join(import.meta.dirname, '..');

const pathCodes: UpgradePathErrorCode[] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(
  (n) => `KUP-PATH-00${n}` as UpgradePathErrorCode,
);
const catalogCodes: CatalogErrorCode[] = ['KUP-CATALOG-001', 'KUP-CATALOG-002', 'KUP-CATALOG-003'];
const precheckCodes: PrecheckErrorCode[] = [
  'KUP-PRECHECK-001',
  'KUP-PRECHECK-002',
  'KUP-PRECHECK-003',
  'KUP-PRECHECK-004',
];

/** One instance of every kup error class for every code it can carry, by class name. */
const samples: Record<string, readonly Error[]> = {
  VersionParseError: [new VersionParseError('1.x', 'MAJOR.MINOR.PATCH')],
  CatalogError: catalogCodes.map((code) => new CatalogError(code, 'releases[0].version', 'is missing')),
  UpgradePathError: pathCodes.map((code) => new UpgradePathError(code, 'refused', { from: '1.30.4', to: '1.32.0' })),
  CatalogSourceError: [new CatalogSourceError('/tmp/catalog.json', 'not JSON')],
  PrecheckError: precheckCodes.map((code) => new PrecheckError(code, 'bad')),
  BatchPolicyError: [new BatchPolicyError('fixed:0', 'is not a policy')],
  PlanError: Object.values(PlanErrorCode).map((code) => new PlanError(code, 'bad', { cluster: 'prod' })),
  RunTransitionError: Object.values(RunErrorCode).map(
    (code) => new RunTransitionError(code, 'refused', { runId: 'run-1' }),
  ),
  RunNotFoundError: [new RunNotFoundError('run-1')],
  NodeWaitTimeout: [new NodeWaitTimeout('w-1', 60_000, 'NotReady')],
  BatchValidationError: [new BatchValidationError([{ kind: 'node', name: 'w-1', message: 'NotReady' }], 60_000)],
  BatchWorkloadsFailingError: [
    new BatchWorkloadsFailingError([
      { pod: 'shop/cart-1', node: 'w-1', workload: 'Deployment/shop/cart', failure: { container: 'app', reason: 'CrashLoopBackOff', restarts: 2 } },
    ]),
  ],
  ClusterNotRegisteredError: [new ClusterNotRegisteredError('prod')],
  RunLeaseHeldError: [new RunLeaseHeldError('run-1', 'host-1', 0)],
  ProviderError: Object.values(ProviderErrorCode).map(
    (code) => new ProviderError(code, 'sim: failed', { node: 'w-1' }),
  ),
  StoreError: Object.values(StoreErrorCode).map((code) => new StoreError(code, 'failed', { run: 'run-1' })),
  RunConflictError: [new RunConflictError('run-1', 3, 4)],
  ClusterBusyError: [new ClusterBusyError('prod', { id: 'run-1', phase: 'paused' }, 'run-2')],
  ClusterSessionClosedError: [new ClusterSessionClosedError('prod')],
  LeaseLostError: [new LeaseLostError('run-1', 'host-1', undefined)],
  ClusterRegistryError: Object.values(RegistryErrorCode).flatMap((code) => [
    new ClusterRegistryError(code, 'refused', { cluster: 'prod' }),
    new ClusterRegistryError(code, 'refused', { cluster: 'prod', field: 'name' }),
  ]),
  UsageError: [new UsageError('--to VERSION is required')],
  DrainUsageError: [new DrainUsageError('invalid argument "x" for "--timeout" flag', '--timeout')],
  LabelSelectorSyntaxError: [new LabelSelectorSyntaxError('a=b=c', 'invalid value "b=c"')],
  DrainError: Object.values(DrainErrorCode).map((code) => new DrainError(code, 'failed', 'w-1', true)),
  ClusterError: Object.values(ClusterErrorCode).map((code) => new ClusterError(code, 'failed', { cluster: 'prod' })),
  LocalClusterError: (Object.keys(LocalErrorCode) as LocalErrorReason[]).map((reason) => new LocalClusterError(reason, 'failed')),
  UnauthorizedError: [new UnauthorizedError('no credentials')],
  ForbiddenError: [new ForbiddenError('viewer', 'admin', 'registering a cluster')],
  ApiError: [new ApiError('KUP-API-001', 'body.x is not a known field', { kind: 'invalid-input', details: { field: 'body.x' } })],
  SecretKeyError: [new SecretKeyError('KUP-SECRET-001', 'the key has 3 bytes', { kind: 'invalid-input' })],
  CredentialsMissingError: [new CredentialsMissingError('prod')],
  // The service's message, which starts with its code already.
  RemoteError: [new RemoteError('KUP-RUN-001', 'KUP-RUN-001: refused', { kind: 'conflict', plainMessage: true })],
  MaintenanceError: Object.values(MaintenanceErrorCode).map((code) => new MaintenanceError(code, 'windows[0].start', 'is not HH:MM')),
  RolloutError: Object.values(RolloutErrorCode).map((code) => new RolloutError(code, 'refused', { rollout: 'ro-1' })),
  DemoFleetError: (Object.keys(DemoFleetErrorCode) as DemoFleetErrorReason[]).map((reason) => new DemoFleetError(reason, 'failed', { cluster: 'dev' })),
};

/** Classes whose message is another tool's words or the usage text, without the code in front. */
const PLAIN_MESSAGES = new Set(['UsageError', 'DrainUsageError', 'LabelSelectorSyntaxError']);

/** Codes two classes raise for one and the same refusal. */
const SHARED_CODES = new Set([
  // A bad label selector: the parser's own error, quoted by kup drain as kubectl quotes it, or the drain's.
  'KUP-DRAIN-007',
]);

/** Error classes that no test can construct (not exported); the scan below still holds them to KupError. */
const UNEXPORTED = new Set(['DeadlineReached']);

/**
 * Every `.ts` file under `dir`, but kube-sim's (its own program, which imports nothing of kup) and the folders kup
 * shares with it (src/k8s, src/clock: they import nothing outside themselves, so their errors are their own).
 */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ['kube-sim', 'k8s', 'clock'].includes(relative(SRC, path)) ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `class Name<...> extends Base` declarations of a source text. */
function classDeclarations(text: string): { name: string; base: string }[] {
  return [...text.matchAll(/\bclass\s+(\w+)\s*(?:<[^{]*?>)?\s+extends\s+([\w.]+)/g)].map((m) => ({
    name: m[1] ?? '',
    base: m[2] ?? '',
  }));
}

describe('KupError subclasses', () => {
  it('are KupErrors with a stable code, a kind, and their own name', () => {
    for (const [className, errors] of Object.entries(samples)) {
      assert.ok(errors.length > 0, className);
      for (const err of errors) {
        const what = `${className}: ${err.message}`;
        assert.ok(err instanceof KupError, what);
        assert.equal(err.name, className);
        assert.equal(err.constructor.name, className);
        const code: string = (err as KupError).code;
        assert.match(code, /^KUP-[A-Z]+-\d{3}$/, what);
        assert.ok(KUP_ERROR_KINDS.includes(err.kind), what);
        assert.equal(typeof err.retryable, 'boolean', what);
        if (PLAIN_MESSAGES.has(className)) assert.doesNotMatch(err.message, /^KUP-/, what);
        else assert.ok(err.message.startsWith(`${code}: `), what);
      }
    }
  });

  it('each own their codes: no code names two different errors', () => {
    const owner = new Map<string, Error>();
    for (const [className, errors] of Object.entries(samples)) {
      // A RemoteError carries the code the service answered with: the code belongs to the service's error.
      if (className === 'RemoteError') continue;
      for (const err of errors) {
        const code: string = (err as KupError).code;
        const other = owner.get(code);
        // One class and its subclasses (a StoreError and its RunConflictError) are one error.
        const related =
          other === undefined ||
          err instanceof other.constructor ||
          other instanceof (err.constructor as typeof Error) ||
          SHARED_CODES.has(code);
        assert.ok(related, `${code} is used by ${other?.name ?? ''} and ${className}`);
        owner.set(code, err);
      }
    }
  });

  it('keep their messages and fields', () => {
    assert.equal(new RunNotFoundError('run-1').message, 'KUP-RUN-404: run run-1 does not exist');
    assert.equal(
      new BatchPolicyError('fixed:0', 'is not a policy').message,
      'KUP-BATCH-001: batch policy "fixed:0" is not a policy (expected exponential, fixed:N or percent:P)',
    );
    assert.equal(new UsageError('--to VERSION is required').message, '--to VERSION is required');
    const drain = new DrainError(DrainErrorCode.timedOut, 'timed out', 'w-1', true);
    assert.equal(drain.message, 'KUP-DRAIN-003: timed out');
    assert.deepEqual([drain.node, drain.nodeCordoned, drain.pods], ['w-1', true, []]);
    const store = new RunConflictError('run-1', 3, 4);
    assert.ok(store instanceof StoreError);
    assert.deepEqual([store.code, store.details, store.expectedVersion], ['KUP-STORE-005', { run: 'run-1' }, 3]);
  });

  it('chain their cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new ClusterError(ClusterErrorCode.unreachable, 'cannot reach', {}, { cause });
    assert.equal(err.cause, cause);
    assert.equal(err.retryable, true);
    assert.equal('cause' in new RunNotFoundError('run-1'), false);
  });

  it('say what sort of failure they are', () => {
    const kinds = (errors: readonly Error[]) => errors.map((e) => (e as KupError).kind);
    assert.equal(new UsageError('x').kind, 'invalid-input');
    assert.equal(new RunNotFoundError('run-1').kind, 'not-found');
    assert.equal(new RunLeaseHeldError('run-1', 'h', 0).kind, 'conflict');
    assert.equal(new RunLeaseHeldError('run-1', 'h', 0).retryable, true);
    assert.deepEqual(kinds(samples['PrecheckError'] ?? []), [
      'invalid-input',
      'invalid-input',
      'invalid-input',
      'cancelled',
    ]);
    assert.deepEqual(kinds(samples['RunTransitionError'] ?? []), ['conflict', 'conflict', 'internal', 'internal']);
    // A registry error with a field at fault is the caller's input, whatever its code.
    const registry = (samples['ClusterRegistryError'] ?? []) as ClusterRegistryError[];
    for (const err of registry.filter((e) => e.isInputError)) assert.equal(err.kind, 'invalid-input', err.message);
    assert.equal(new ProviderError(ProviderErrorCode.unreachable, 'x', { retryable: true }).retryable, true);
    assert.equal(new DrainError(DrainErrorCode.apiFailure, 'x', 'w-1', false).retryable, true);
    assert.equal(new DrainError(DrainErrorCode.timedOut, 'x', 'w-1', true).retryable, false);
  });
});

describe('kup source', () => {
  const declarations = sources(SRC).flatMap((path) =>
    classDeclarations(readFileSync(path, 'utf8')).map((d) => ({ ...d, path: relative(SRC, path) })),
  );

  it('finds the error classes it scans for (the scan cannot pass by finding nothing)', () => {
    const names = declarations.map((d) => d.name);
    for (const name of ['KupError', 'DrainError', 'StoreError', 'RunConflictError', 'DeadlineReached']) {
      assert.ok(names.includes(name), name);
    }
  });

  it('has no class outside kube-sim and the shared folders that extends Error directly, KupError excepted', () => {
    const direct = declarations.filter((d) => d.base === 'Error' && d.path !== join('errors', 'kup-error.ts'));
    assert.deepEqual(
      direct.map((d) => `${d.path}: class ${d.name} extends Error (extend KupError)`),
      [],
    );
  });

  it('has every error class in the samples above, so each is checked for its code', () => {
    const errorClasses = declarations.filter(
      (d) => d.name !== 'KupError' && (d.base === 'KupError' || d.base.endsWith('Error')),
    );
    const unchecked = errorClasses.filter((d) => !(d.name in samples) && !UNEXPORTED.has(d.name));
    assert.deepEqual(
      unchecked.map((d) => `${d.path}: ${d.name}`),
      [],
    );
  });
});
