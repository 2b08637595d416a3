/**
 * The run state machine of a rollout: a pure transition function over a persisted state, the effects it asks for,
 * the effects to perform again after a crash, rollback planning and the progress view.
 *
 * @module
 */
export { transition } from './transition.ts';
export { effectOf, pendingEffects } from './effects.ts';
export { progressOf } from './progress.ts';
export type { ControlPlaneProgress, Eta, InFlightProgress, PoolProgress, RunProgress } from './progress.ts';
export { RESTORE_KEY, ROLLBACK_POSTCHECK_KEY, rollbackAvailability } from './rollback.ts';
export type { RollbackAvailability } from './rollback.ts';
export {
  DEFAULT_MAX_PAUSE_MS,
  DEFAULT_RUN_OPTIONS,
  PRECHECK_KEY,
  TERMINAL_PHASES,
  createRunState,
  currentNode,
  idempotencyKey,
  isTerminal,
  reviveRunState,
  storedRunState,
} from './state.ts';
export type { CreateRunOptions, ForwardPhase, StoredRunState } from './state.ts';
export { RunErrorCode, RunTransitionError } from './errors.ts';
export type { RollbackRefusal } from './errors.ts';
export type {
  AcknowledgedBlocker,
  ActionEffect,
  ActivePhase,
  BlockedPod,
  DrainTimeoutPolicy,
  Effect,
  FailureCause,
  FailureCode,
  ForcedDrain,
  InFlightAction,
  PauseReason,
  PrecheckBlocker,
  QuarantinedNode,
  ResolvedRunOptions,
  RollbackAction,
  RollbackBatch,
  RollbackMode,
  RollbackState,
  RollbackStep,
  RunEvent,
  RunLogEntry,
  RunLogOutcome,
  RunOptions,
  RunPhase,
  RunState,
  RunStatus,
  StepResult,
  TransitionResult,
  UnitFailure,
  UnitProgress,
  UnitStage,
} from './types.ts';
