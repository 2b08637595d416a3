/**
 * Which operator commands a run takes in its present state, asked of the state machine itself: each command is
 * tried on the state (the transition is pure, so trying changes nothing) and is allowed exactly when the machine
 * neither refuses it nor ignores it (a pause of a paused run changes nothing, so it is not offered). A console offers Pause, Resume, Cancel and Rollback from this, so a button is never enabled for a
 * command the engine would refuse, nor disabled for one it would take.
 *
 * @module
 */
import { RunTransitionError } from './errors.ts';
import { transition } from './transition.ts';
import type { RunEvent, RunState } from './types.ts';

/** The commands an operator gives a run. */
export type OperatorCommand = 'pause' | 'resume' | 'cancel' | 'rollback';

/** Whether each command would be taken now. */
export type AllowedCommands = Readonly<Record<OperatorCommand, boolean>>;

const COMMAND_EVENTS: Readonly<Record<OperatorCommand, RunEvent>> = {
  pause: { type: 'pause-requested' },
  resume: { type: 'resume-requested' },
  cancel: { type: 'cancel-requested' },
  rollback: { type: 'rollback-requested' },
};

/** The commands `state` takes at `now`. */
export function allowedCommands(state: RunState, now: number): AllowedCommands {
  const allowed = (command: OperatorCommand): boolean => {
    try {
      return transition(state, COMMAND_EVENTS[command], now).state !== state;
    } catch (err) {
      // Refusals are the machine's answer; anything else is a defect and must surface.
      if (err instanceof RunTransitionError && err.kind === 'conflict') return false;
      throw err;
    }
  };
  return {
    pause: allowed('pause'),
    resume: allowed('resume'),
    cancel: allowed('cancel'),
    rollback: allowed('rollback'),
  };
}
