import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeRecord } from '../snapshot-types.ts';
import type { RuleInput } from '../types.ts';
import { ruleInput, summary, testNode, testSnapshot } from '../test-fixtures.ts';
import { nodeRuntimeRule } from './node-runtime.ts';

const now = Date.parse('2026-12-07T00:00:00Z');

/** A node reporting a runtime and kernel, at 1.35.5. */
function node(
  name: string,
  runtime: string,
  o: { pool?: string; controlPlane?: boolean; kernel?: string } = {},
): NodeRecord {
  return {
    ...testNode(name, {
      kubelet: 'v1.35.5',
      ...(o.pool ? { pool: o.pool } : {}),
      ...(o.controlPlane ? { controlPlane: true } : {}),
    }),
    containerRuntimeVersion: runtime,
    kernelVersion: o.kernel ?? '6.8.0-1015-aws',
    osImage: 'ubuntu-2204',
  };
}

function check(
  nodes: NodeRecord[],
  extra: Partial<RuleInput> = {},
  o: { target?: string; from?: string; phase?: 'precheck' | 'postcheck' } = {},
) {
  const snapshot = testSnapshot({ gitVersion: `v${o.from ?? '1.35.5'}`, nodes });
  return nodeRuntimeRule.check({
    ...ruleInput(snapshot, { target: o.target ?? '1.36.1', now, phase: o.phase ?? 'precheck' }),
    ...extra,
  });
}

describe('node-runtime', () => {
  const cluster = [
    node('control-plane-0', 'containerd://1.7.22', { controlPlane: true }),
    node('workers-0', 'containerd://1.7.22'),
    node('workers-1', 'containerd://1.7.22'),
    node('fresh-0', 'containerd://2.1.4', { pool: 'fresh' }),
  ];

  it('blocks an in-place upgrade to 1.36 of nodes on containerd 1.x, control plane included', () => {
    const findings = check(cluster, { nodeStrategy: 'in-place' });
    assert.deepEqual(summary(findings), [
      'blocker node-runtime Node/control-plane-0',
      'blocker node-runtime Node/workers-0,Node/workers-1',
    ]);
    assert.match(
      findings[1]?.message ?? '',
      /^pool workers: workers-0 runs containerd 1\.7\.22 \(1\.36 needs containerd 2\.0\.0 or later\); workers-1 runs/,
    );
    assert.match(
      findings[1]?.message ?? '',
      /an in-place upgrade keeps the node's runtime and kernel, so the 1\.36\.1 kubelet would not run there/,
    );
    assert.match(findings[1]?.remediation ?? '', /--strategy replace/);
  });

  it('warns, naming the image, when rolling replacement replaces the workers; the control plane still blocks', () => {
    const findings = check(cluster, { nodeStrategy: 'replace', images: { workers: 'ubuntu-2404-kube-v1.36.1' } });
    assert.deepEqual(summary(findings), [
      'blocker node-runtime Node/control-plane-0',
      'warning node-runtime Node/workers-0,Node/workers-1',
    ]);
    assert.match(
      findings[1]?.message ?? '',
      /boots their replacements from image ubuntu-2404-kube-v1\.36\.1, which must bring what 1\.36\.1 needs/,
    );
    const byDefault = check(cluster.slice(1));
    assert.match(byDefault[0]?.message ?? '', /from the provider's machine image for 1\.36\.1/);
    assert.equal(byDefault[0]?.severity, 'warning');
  });

  it('has nothing to say to a patch of 1.35, to containerd 2 nodes, or to a runtime the catalog does not name', () => {
    assert.deepEqual(check(cluster, { nodeStrategy: 'in-place' }, { target: '1.35.5', from: '1.35.4' }), []);
    assert.deepEqual(
      check([node('w-0', 'containerd://2.0.0'), node('w-1', 'cri-o://1.36.0')], { nodeStrategy: 'in-place' }),
      [],
    );
  });

  it('blocks a kernel older than the target asks for, and one too old for cgroup v2, and says how to check cgroup v2', () => {
    const findings = check(
      [node('old-0', 'containerd://2.1.4', { kernel: '4.14.355-1' })],
      { nodeStrategy: 'in-place' },
      { from: '1.34.8', target: '1.35.5' },
    );
    assert.deepEqual(summary(findings), ['blocker node-runtime Node/old-0', 'info node-runtime']);
    assert.match(findings[0]?.message ?? '', /old-0 runs kernel 4\.14\.355-1 \(1\.32 needs 4\.19 or later\)/);
    assert.match(findings[1]?.message ?? '', /entering 1\.35: the kubelet refuses to start on a cgroup v1 host/);
    assert.match(findings[1]?.remediation ?? '', /stat -fc %T \/sys\/fs\/cgroup\//);
  });

  it('after the upgrade, blocks any node the target does not support, but the quarantined ones', () => {
    const after = [node('workers-9', 'containerd://1.7.22'), node('workers-3', 'containerd://1.7.22')];
    const findings = check(
      after,
      { quarantined: ['workers-3'] },
      { phase: 'postcheck', from: '1.36.1', target: '1.36.1' },
    );
    assert.deepEqual(summary(findings), ['blocker node-runtime Node/workers-9']);
    assert.match(findings[0]?.message ?? '', /^pool workers after the upgrade: workers-9 runs containerd 1\.7\.22/);
  });
});
