import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, summary, testSnapshot } from '../test-fixtures.ts';
import { apiHealthRule, failingReadyzChecks } from './api-health.ts';

describe('api-health', () => {
  it('passes a healthy API server', () => {
    assert.deepEqual(run(apiHealthRule, testSnapshot()), []);
  });

  it('blocks when /readyz does not answer, once, whatever else failed with it', () => {
    const findings = run(
      apiHealthRule,
      testSnapshot({
        readyz: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:6443' },
        problems: [{ part: 'pods', message: 'ECONNREFUSED' }],
      }),
    );
    assert.deepEqual(summary(findings), ['blocker api-health']);
    assert.match(findings[0]?.message ?? '', /did not answer \/readyz: connect ECONNREFUSED/);
  });

  it('blocks on failing readyz checks and names them', () => {
    const body = '[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\nreadyz check failed\n';
    assert.deepEqual(failingReadyzChecks(body), ['etcd failed: reason withheld']);
    const findings = run(apiHealthRule, testSnapshot({ readyz: { ok: true, status: 500, body } }));
    assert.deepEqual(summary(findings), ['blocker api-health']);
    assert.match(findings[0]?.message ?? '', /answered 500; failing checks: etcd failed/);
  });

  it('reports parts it could not read: nodes and pods block, others warn', () => {
    const findings = run(
      apiHealthRule,
      testSnapshot({
        problems: [
          { part: 'pods', message: 'HTTP 403: forbidden' },
          { part: '/metrics', message: 'HTTP 403' },
        ],
      }),
    );
    assert.deepEqual(summary(findings), ['blocker api-health', 'warning api-health']);
    assert.match(findings[0]?.message ?? '', /could not read pods: HTTP 403: forbidden/);
  });

  it('says what to do about an unread part by the answer: credentials for 401/403, a partial server for 404, its logs for 5xx', () => {
    const findings = run(
      apiHealthRule,
      testSnapshot({
        problems: [
          { part: 'pods', message: 'HTTP 403: forbidden', status: 403 },
          { part: 'replicasets.apps', message: 'HTTP 500', status: 500 },
          { part: 'flowschemas.flowcontrol.apiserver.k8s.io', message: 'HTTP 404', status: 404 },
          { part: '/metrics', message: 'socket hang up' },
        ],
      }),
    );
    assert.deepEqual(
      findings.map((f) => f.remediation.split(/[:(]/)[0]),
      [
        'Check the credentials allow list on that resource ',
        'The API server failed to answer ',
        'The API server does not serve that resource ',
        'Check that the API server answers that read ',
      ],
    );
  });
});
