import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../rollout/plan.ts';
import { fakeTopology } from '../rollout/machine/test-driver.ts';
import type { UpgradeStrategy } from '../rollout/plan-types.ts';
import { ProviderError } from './provider.ts';
import { refuseUnsupportedStrategies } from './runs.ts';
import { uncalledProvider } from './test-fixtures.ts';

const planFor = (strategy: UpgradeStrategy) =>
  buildPlan({
    cluster: 'c',
    topology: fakeTopology({ cp: 1, pools: { w: 2 }, version: '1.30.4' }),
    change: { kind: 'image', images: { w: 'img-new' } },
    defaults: { strategy },
  });

describe('a plan against what the provider can do', () => {
  it('refuses blue-green where the provider cannot hold a green set of nodes, naming the pool', () => {
    const limited = uncalledProvider('cloud', { replace: true, inPlace: false, snapshot: true });
    assert.throws(
      () => refuseUnsupportedStrategies(planFor('blue-green'), limited),
      (err: unknown) =>
        err instanceof ProviderError &&
        err.code === 'KUP-PROVIDER-011' &&
        err.pool === 'w' &&
        /provider cloud cannot hold a green set of nodes beside the blue one: pool w cannot move by blue-green/.test(
          err.message,
        ),
    );
    assert.throws(
      () => refuseUnsupportedStrategies(planFor('in-place'), limited),
      /cannot upgrade worker nodes in place/,
    );
    refuseUnsupportedStrategies(planFor('replace'), limited);
  });

  it('accepts blue-green where the provider says it can', () => {
    refuseUnsupportedStrategies(
      planFor('blue-green'),
      uncalledProvider('sim', { replace: true, inPlace: true, snapshot: true, blueGreen: true }),
    );
  });
});
