#!/usr/bin/env node
// Installs the system packages the tests need when they are missing, so a fresh machine needs no hand set-up.
// kubectl is part of every machine's image here. Debian's chromium runs the web console's end-to-end tests, driven by
// playwright-core (which never downloads a browser of its own).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** Whether Debian's PostgreSQL server is installed: its binaries live in /usr/lib/postgresql/<version>/bin, not on PATH. */
function hasPostgresServer() {
  try {
    return readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`) && existsSync(`/usr/lib/postgresql/${v}/bin/postgres`));
  } catch {
    return false;
  }
}

// The store's tests start a throwaway PostgreSQL server (test/helpers/postgres.ts).
const required = [
  { pkg: 'postgresql', present: hasPostgresServer },
  { pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') },
];
const missing = required.filter((r) => !r.present());
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
