/** `kup local start`'s flags: what it accepts, and bad input named. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseLocalStart } from './main.ts';

describe('kup local start flags', () => {
  it('takes a version, pools or a worker count, and a kubeconfig', () => {
    assert.deepEqual(parseLocalStart(['--version', '1.35.4', '--kubeconfig', 'k']), {
      version: '1.35.4',
      pools: [{ name: 'workers', size: 2 }],
      kubeconfigPath: resolve('k'),
      keepData: false,
    });
    assert.deepEqual(
      parseLocalStart(['--version', '1.35.4', '--pools', 'general=3,batch=0', '--kubeconfig', 'k', '--keep-data'])
        .pools,
      [
        { name: 'general', size: 3 },
        { name: 'batch', size: 0 },
      ],
    );
    assert.deepEqual(parseLocalStart(['--version', '1.36.1', '--workers', '5', '--kubeconfig', 'k']).pools, [
      { name: 'workers', size: 5 },
    ]);
  });

  it('names what is wrong', () => {
    const refused = (args: string[], message: RegExp) =>
      assert.throws(
        () => parseLocalStart(args),
        (err: unknown) =>
          err instanceof Error && err.message.startsWith('KUP-LOCAL-001: ') && message.test(err.message),
      );
    refused(['--kubeconfig', 'k'], /--version V is required/);
    refused(['--version', '1.35', '--kubeconfig', 'k'], /--version: "1\.35" is not a Kubernetes release X\.Y\.Z/);
    refused(['--version', '1.35.4'], /--kubeconfig OUT is required/);
    refused(
      ['--version', '1.35.4', '--kubeconfig', 'k', '--workers', 'two'],
      /--workers: "two" is not a number of nodes/,
    );
    refused(['--version', '1.35.4', '--kubeconfig', 'k', '--pools', 'Big=2'], /--pools: "Big=2" is not NAME=N/);
    refused(['--version', '1.35.4', '--kubeconfig', 'k', '--pools', 'a=1,a=2'], /pool "a" is named twice/);
    refused(['--version', '1.35.4', '--kubeconfig', 'k', '--workers', '1', '--pools', 'a=1'], /give one of them/);
    refused(['--version', '1.35.4', '--kubeconfig', 'k', '--nodes', '3'], /Unknown option '--nodes'/);
  });
});
