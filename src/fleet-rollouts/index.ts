/**
 * Fleet rollouts: one upgrade across many clusters in ordered, health-gated stages. Pure: the driver in the engine
 * performs the effects.
 *
 * @module
 */
export { createRolloutState, parseRolloutSpec } from './create.ts';
export type { CreateRolloutOptions } from './create.ts';
export { RolloutError, RolloutErrorCode } from './errors.ts';
export type { RolloutErrorDetails } from './errors.ts';
export { baselineOf, failingGates } from './health-gates.ts';
export type { GateFailure, HealthObservation } from './health-gates.ts';
export { pendingRolloutEffects, reviveRolloutState, transitionRollout } from './transition.ts';
export type {
  ClusterLabels,
  ClusterPhase,
  ClusterProgress,
  ClusterRunOutcome,
  HealthBaseline,
  HealthSignal,
  RolloutCause,
  RolloutEffect,
  RolloutEvent,
  RolloutLogEntry,
  RolloutLogOutcome,
  RolloutPauseReason,
  RolloutPhase,
  RolloutSpec,
  RolloutState,
  RolloutStatus,
  RolloutTarget,
  RolloutTransitionResult,
  StagePhase,
  StageSelector,
  StageSpec,
  StageState,
} from './types.ts';
