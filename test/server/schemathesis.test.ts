/**
 * schemathesis (PyPI) fuzzes kup serve from its own OpenAPI document, bounded in cases: no answer is a 5xx, and none
 * breaks the schema it is documented with. The catalog update is left out: its `from` is a URL the service would
 * fetch, and this machine reaches no host but its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';

let svc: TestService;
let st: string;

before(async () => {
  // Installed once into .cache/schemathesis (a venv), like the Python client.
  const installed = spawnSync(process.execPath, ['scripts/ensure-schemathesis.mjs'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  assert.equal(installed.status, 0, 'schemathesis installs');
  st = installed.stdout.trim().split('\n').pop() ?? '';
  svc = await startService();
});

after(async () => {
  await svc?.close();
});

describe('the OpenAPI document', () => {
  it('holds under schemathesis: no 5xx, no answer outside its schema', async () => {
    const args = [
      'run',
      `${svc.url}/api/v1/openapi.json`,
      '-H',
      `Authorization: Bearer ${svc.adminToken}`,
      '--checks',
      'not_a_server_error,response_schema_conformance,status_code_conformance',
      '--max-examples',
      '10',
      '--seed',
      '1',
      '--phases',
      'examples,fuzzing',
      '--exclude-path',
      '/api/v1/catalog',
      '--no-color',
    ];
    // Asynchronously: the service under test answers from this process's event loop.
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(st, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('close', (c) => resolve({ code: c, output: text }));
    });
    assert.equal(code, 0, output.slice(-6000));
    assert.match(output, /Tested: [1-9]/);
  });
});
