import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldSelectorError, equalityValue, matchesFields, parseFieldSelector } from './field-selector.ts';

const pods = { group: '', plural: 'pods' };
const nodes = { group: '', plural: 'nodes' };
const deployments = { group: 'apps', plural: 'deployments' };

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop' },
  spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'web' },
  status: { phase: 'Running', podIP: '10.0.0.7', podIPs: [{ ip: '10.0.0.7' }, { ip: 'fd00::7' }] },
};

function podMatches(text: string, obj: Record<string, unknown> = pod): boolean {
  return matchesFields(parseFieldSelector(text, pods), obj);
}

function rejection(text: string, resource: { group: string; plural: string }): FieldSelectorError {
  try {
    parseFieldSelector(text, resource);
  } catch (err) {
    assert.ok(err instanceof FieldSelectorError, `expected FieldSelectorError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseFieldSelector', () => {
  it('parses =, == and != terms, sorted, and treats empty as everything', () => {
    const sel = parseFieldSelector('status.phase!=Failed,spec.nodeName==node-a,metadata.name=web-1', pods);
    assert.deepEqual(sel.requirements, [
      { field: 'metadata.name', operator: '=', value: 'web-1' },
      { field: 'spec.nodeName', operator: '=', value: 'node-a' },
      { field: 'status.phase', operator: '!=', value: 'Failed' },
    ]);
    assert.deepEqual(parseFieldSelector('', pods).requirements, []);
    assert.deepEqual(parseFieldSelector(',,', pods).requirements, []);
  });

  it('unescapes \\, \\= and \\\\ in values', () => {
    const sel = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d', deployments);
    assert.deepEqual(sel.requirements, [{ field: 'metadata.name', operator: '=', value: 'a,b=c\\d' }]);
  });

  it('rejects bad syntax and bad escapes with apimachinery messages', () => {
    assert.equal(
      rejection('spec.nodeName', pods).message,
      "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'",
    );
    assert.equal(rejection('metadata.name=a\\b', pods).message, 'invalid field selector: invalid escape sequence: \\b');
    assert.equal(rejection('metadata.name=a\\', pods).message, 'invalid field selector: invalid escape sequence: \\');
    assert.equal(
      rejection('metadata.name=a=b', pods).message,
      'invalid field selector: unescapedRune character in value: 61',
    );
  });

  it('accepts exactly the pod field labels upstream registers', () => {
    for (const label of [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ]) {
      assert.equal(parseFieldSelector(`${label}=x`, pods).requirements[0]?.field, label);
    }
    const err = rejection('spec.containers=x', pods);
    assert.equal(err.message, 'field label not supported: spec.containers');
    assert.equal(err.label, 'spec.containers');
  });

  it('maps the legacy pod label spec.host to spec.nodeName', () => {
    const sel = parseFieldSelector('spec.host=node-a', pods);
    assert.deepEqual(sel.requirements, [{ field: 'spec.nodeName', operator: '=', value: 'node-a' }]);
    assert.equal(equalityValue(sel, 'spec.nodeName'), 'node-a');
  });

  it('accepts only metadata.name and spec.unschedulable for nodes', () => {
    assert.equal(parseFieldSelector('spec.unschedulable=true,metadata.name=n1', nodes).requirements.length, 2);
    assert.equal(rejection('metadata.namespace=x', nodes).message, 'field label not supported: metadata.namespace');
  });

  it('knows the other core resources with their own labels', () => {
    const core = (plural: string) => ({ group: '', plural });
    assert.equal(parseFieldSelector('type=kubernetes.io/tls', core('secrets')).requirements.length, 1);
    assert.equal(parseFieldSelector('status.phase=Active', core('namespaces')).requirements.length, 1);
    assert.equal(
      rejection('metadata.namespace=x', core('namespaces')).message,
      'field label not supported: metadata.namespace',
    );
    assert.equal(parseFieldSelector('status.replicas=3', core('replicationcontrollers')).requirements.length, 1);
    assert.equal(
      parseFieldSelector('spec.clusterIP=None,spec.type=ClusterIP', core('services')).requirements.length,
      2,
    );
    const events = parseFieldSelector(
      'involvedObject.kind=Pod,involvedObject.name=web-1,reason=Evicted,type=Warning,source=kubelet,reportingComponent=kubelet',
      core('events'),
    );
    assert.equal(events.requirements.length, 6);
    assert.equal(rejection('message=x', core('events')).message, 'field label not supported: message');
  });

  it('maps events.k8s.io spellings onto the core event fields', () => {
    const sel = parseFieldSelector('regarding.name=web-1,reportingController=kubelet', {
      group: 'events.k8s.io',
      plural: 'events',
    });
    assert.deepEqual(
      sel.requirements.map((r) => r.field),
      ['involvedObject.name', 'reportingComponent'],
    );
    assert.equal(
      rejection('involvedObject.name=x', { group: 'events.k8s.io', plural: 'events' }).message,
      'field label not supported: involvedObject.name',
    );
  });

  it('uses the Job wording for batch/jobs', () => {
    const jobs = { group: 'batch', plural: 'jobs' };
    assert.equal(parseFieldSelector('status.successful=1', jobs).requirements.length, 1);
    assert.equal(rejection('status.active=1', jobs).message, 'field label "status.active" not supported for Job');
  });

  it('falls back to name and namespace, with the default wording, for everything else', () => {
    assert.equal(parseFieldSelector('metadata.name=a,metadata.namespace=b', deployments).requirements.length, 2);
    assert.equal(
      parseFieldSelector('metadata.namespace=b', { group: 'storage.k8s.io', plural: 'storageclasses' }).requirements
        .length,
      1,
      'cluster-scoped resources accept metadata.namespace too',
    );
    assert.equal(
      rejection('status.replicas=1', deployments).message,
      '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    assert.equal(
      rejection('status.replicas=1', { group: 'apps', plural: 'replicasets' }).label,
      'status.replicas',
      'apps/v1 registers no field label conversion: only the defaults',
    );
  });

  it('reports the first bad term in sort order', () => {
    assert.equal(rejection('zz=1,aa=1', pods).message, 'field label not supported: aa');
  });
});

describe('matchesFields', () => {
  it('matches the pod fields kubectl drain and the scheduler use', () => {
    assert.equal(podMatches('spec.nodeName=node-a'), true);
    assert.equal(podMatches('spec.nodeName=node-b'), false);
    assert.equal(podMatches('spec.nodeName!=node-b'), true);
    assert.equal(podMatches('metadata.name=web-1,metadata.namespace=shop'), true);
    assert.equal(podMatches('metadata.namespace=other'), false);
    assert.equal(podMatches('status.phase!=Succeeded,status.phase!=Failed'), true);
    assert.equal(
      podMatches('spec.restartPolicy=Always,spec.schedulerName=default-scheduler,spec.serviceAccountName=web'),
      true,
    );
  });

  it('reads status.podIP from the first podIPs entry, falling back to podIP', () => {
    assert.equal(podMatches('status.podIP=10.0.0.7'), true);
    assert.equal(podMatches('status.podIP=fd00::7'), false);
    assert.equal(podMatches('status.podIP=10.1.1.1', { status: { podIP: '10.1.1.1' } }), true);
    assert.equal(podMatches('status.podIP=', { status: {} }), true);
  });

  it('never matches status.podIPs against an address (it is not a selectable pod field)', () => {
    assert.equal(podMatches('status.podIPs=10.0.0.7'), false);
    assert.equal(podMatches('status.podIPs='), true);
  });

  it('reads missing strings as ""', () => {
    const pending = { metadata: { name: 'p', namespace: 'shop' }, spec: {}, status: { phase: 'Pending' } };
    assert.equal(podMatches('spec.nodeName=', pending), true);
    assert.equal(podMatches('spec.nodeName!=', pending), false);
    assert.equal(podMatches('status.nominatedNodeName=', pending), true);
  });

  it('compares booleans as "true"/"false" with false as the default', () => {
    assert.equal(podMatches('spec.hostNetwork=false'), true);
    assert.equal(podMatches('spec.hostNetwork=true', { spec: { hostNetwork: true } }), true);
    const node = (spec: Record<string, unknown>) => ({ metadata: { name: 'n1' }, spec });
    const cordoned = parseFieldSelector('spec.unschedulable=true', nodes);
    const schedulable = parseFieldSelector('spec.unschedulable=false', nodes);
    assert.equal(matchesFields(cordoned, node({ unschedulable: true })), true);
    assert.equal(matchesFields(cordoned, node({})), false);
    assert.equal(matchesFields(schedulable, node({})), true, 'a missing spec.unschedulable is "false"');
    assert.equal(matchesFields(schedulable, node({ unschedulable: false })), true);
  });

  it('matches counters as decimal strings with 0 by default', () => {
    const jobs = { group: 'batch', plural: 'jobs' };
    assert.equal(matchesFields(parseFieldSelector('status.successful=2', jobs), { status: { succeeded: 2 } }), true);
    assert.equal(matchesFields(parseFieldSelector('status.successful=0', jobs), { status: {} }), true);
    const rcs = { group: '', plural: 'replicationcontrollers' };
    assert.equal(matchesFields(parseFieldSelector('status.replicas=0', rcs), {}), true);
  });

  it('matches events in either API shape, with source falling back to the reporting controller', () => {
    const core = { group: '', plural: 'events' };
    const v1Event = {
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop' },
      reason: 'Killing',
      type: 'Normal',
      source: { component: 'kubelet' },
    };
    const newEvent = {
      regarding: { kind: 'Pod', name: 'web-1' },
      reportingController: 'disruption-controller',
      reason: 'Evicted',
      type: 'Normal',
    };
    assert.equal(matchesFields(parseFieldSelector('involvedObject.name=web-1,source=kubelet', core), v1Event), true);
    assert.equal(matchesFields(parseFieldSelector('involvedObject.kind=Pod,reason=Evicted', core), newEvent), true);
    assert.equal(matchesFields(parseFieldSelector('source=disruption-controller', core), newEvent), true);
    assert.equal(matchesFields(parseFieldSelector('reportingComponent=disruption-controller', core), newEvent), true);
    assert.equal(matchesFields(parseFieldSelector('reportingComponent=', core), v1Event), true);
  });

  it('matches secrets by type', () => {
    const secrets = { group: '', plural: 'secrets' };
    assert.equal(matchesFields(parseFieldSelector('type=Opaque', secrets), { type: 'Opaque' }), true);
    assert.equal(matchesFields(parseFieldSelector('type!=Opaque', secrets), { type: 'kubernetes.io/tls' }), true);
  });

  it('matches everything with the empty selector', () => {
    assert.equal(podMatches(''), true);
    assert.equal(podMatches('', {}), true);
  });
});

describe('equalityValue', () => {
  it('returns the value a field is pinned to with = or ==', () => {
    assert.equal(
      equalityValue(parseFieldSelector('spec.nodeName=node-a,status.phase!=Failed', pods), 'spec.nodeName'),
      'node-a',
    );
    assert.equal(equalityValue(parseFieldSelector('spec.nodeName==node-a', pods), 'spec.nodeName'), 'node-a');
    assert.equal(equalityValue(parseFieldSelector('spec.nodeName=', pods), 'spec.nodeName'), '');
  });

  it('returns undefined for != or an absent field', () => {
    assert.equal(equalityValue(parseFieldSelector('spec.nodeName!=node-a', pods), 'spec.nodeName'), undefined);
    assert.equal(equalityValue(parseFieldSelector('status.phase=Running', pods), 'spec.nodeName'), undefined);
  });
});
