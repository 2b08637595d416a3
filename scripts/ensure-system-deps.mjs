#!/usr/bin/env node
// Installs the system packages the tests need when they are missing, so a fresh machine needs no hand set-up.
// kubectl is part of every machine's image here. Debian's chromium runs the web console's end-to-end tests, driven by
// playwright-core (which never downloads a browser of its own).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const required = [{ path: '/usr/bin/chromium', pkg: 'chromium' }];
const missing = required.filter((r) => !existsSync(r.path));
if (missing.length > 0) {
  const packages = missing.map((m) => m.pkg);
  console.log(`installing system packages: ${packages.join(' ')}`);
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  if (update.status !== 0) process.exit(update.status ?? 1);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
if (kubectl.status !== 0) {
  console.error('kubectl is not on the PATH: the end-to-end tests drive the real kubectl against kube-sim.');
  process.exit(1);
}
