/**
 * The program test/capi/stack.ts runs inside a network namespace of its own: it starts the management cluster
 * (management.ts), prints one line `CAPI-STACK-READY <json>` on stdout when it is ready, and stops everything when
 * its stdin closes or it gets SIGTERM. Nothing it starts is reachable from outside the namespace.
 *
 *   node --import tsx test/capi/stack-main.ts DIR VERSION BUILD_JSON
 */
import type { ClusterApiBuild } from '../../src/local/build.ts';
import { startManagement } from './management.ts';

const [dir, version, buildJson] = process.argv.slice(2);
if (dir === undefined || version === undefined || buildJson === undefined) {
  process.stderr.write('usage: stack-main.ts DIR VERSION BUILD_JSON\n');
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`# capi: ${line}\n`);
const management = await startManagement({ build: JSON.parse(buildJson) as ClusterApiBuild, version, dir, log });
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= management.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log(`stop failed: ${String(err)}`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
process.stdout.write(`CAPI-STACK-READY ${JSON.stringify({ kubeconfigPath: management.kubeconfigPath })}\n`);
