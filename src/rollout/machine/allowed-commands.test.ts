import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../plan.ts';
import { allowedCommands } from './allowed-commands.ts';
import { createRunState } from './state.ts';
import { Driver, FakeCluster, fakeTopology, oneMinorPath, phaseOf } from './test-driver.ts';
import { transition } from './transition.ts';

const T0 = Date.UTC(2025, 0, 1);

function driver(): Driver {
  const topology = fakeTopology({ cp: 1, pools: { w: 3 }, version: '1.30.4' });
  const state = createRunState(
    buildPlan({ cluster: 'c', topology, change: { kind: 'version', path: oneMinorPath() } }),
    { runId: 'run', now: T0 },
  );
  return new Driver(state, new FakeCluster(topology));
}

describe('allowedCommands', () => {
  it('follows the machine through a run: running, paused, and finished', () => {
    const d = driver();
    d.send({ type: 'started' });
    d.run((s) => s.status.phase === 'upgrading-pools');
    assert.deepEqual(allowedCommands(d.state, d.now), { pause: true, resume: false, cancel: true, rollback: false });

    d.send({ type: 'pause-requested' });
    assert.equal(phaseOf(d), 'paused');
    // The steps started before the pause still run: no rollback until they finish.
    assert.deepEqual(allowedCommands(d.state, d.now), { pause: false, resume: true, cancel: true, rollback: false });
    d.run();
    assert.deepEqual(allowedCommands(d.state, d.now), { pause: false, resume: true, cancel: true, rollback: true });

    d.send({ type: 'resume-requested' });
    d.run();
    assert.equal(phaseOf(d), 'succeeded');
    assert.deepEqual(allowedCommands(d.state, d.now), { pause: false, resume: false, cancel: false, rollback: true });
  });

  it('agrees with the transition on every command in every state the run passes through', () => {
    const d = driver();
    d.send({ type: 'started' });
    const commands = {
      pause: 'pause-requested',
      resume: 'resume-requested',
      cancel: 'cancel-requested',
      rollback: 'rollback-requested',
    } as const;
    let checked = 0;
    d.run((state) => {
      const allowed = allowedCommands(state, d.now);
      for (const [command, type] of Object.entries(commands)) {
        let took: boolean;
        try {
          took = transition(state, { type }, d.now).state !== state;
        } catch {
          took = false;
        }
        assert.equal(allowed[command as keyof typeof commands], took, `${command} in ${state.status.phase}`);
        checked++;
      }
      return false;
    });
    assert.ok(checked > 20, `checked ${checked}`);
  });

  it('leaves the state as it was', () => {
    const d = driver();
    d.send({ type: 'started' });
    const before = JSON.stringify(d.state);
    allowedCommands(d.state, d.now);
    assert.equal(JSON.stringify(d.state), before);
  });
});
