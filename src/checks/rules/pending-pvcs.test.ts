import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testPod, testSnapshot } from '../test-fixtures.ts';
import { pendingPvcsRule } from './pending-pvcs.ts';

describe('pending-pvcs', () => {
  it('warns on claims that are not Bound and names the pods that mount them', () => {
    const snapshot = testSnapshot({
      pvcs: [
        { namespace: 'data', name: 'bound', phase: 'Bound' },
        { namespace: 'data', name: 'waiting', phase: 'Pending', storageClass: 'fast' },
      ],
      pods: [testPod('db-0', { namespace: 'data', owner: 'StatefulSet/db', phase: 'Pending', pvcs: ['waiting'] })],
    });
    const findings = run(pendingPvcsRule, snapshot);
    assert.deepEqual(summary(findings), ['warning pending-pvcs PersistentVolumeClaim/data/waiting,Pod/data/db-0']);
    assert.match(findings[0]?.message ?? '', /is Pending \(storage class fast\); used by db-0/);
  });
});
