/**
 * One call of the capi provider, made from inside the stack's network namespace (the test process is outside it):
 * the provider is built by kup's provider registry from the settings `kup cluster add` stored, as the engine builds
 * it. Prints `{"result": ...}` or `{"error": {"code", "message"}}` as one line of JSON.
 *
 *   node --import tsx test/capi/provider-call.ts SETTINGS_JSON METHOD ARGS_JSON
 */
import { builtInProviders } from '../../src/providers/registry.ts';

const [settingsJson, method, argsJson] = process.argv.slice(2);
const provider = builtInProviders().create('capi', JSON.parse(settingsJson ?? '{}') as Record<string, unknown>, {
  name: 'test',
});
const signal = new AbortController().signal;
const args = JSON.parse(argsJson ?? '[]') as unknown[];
try {
  let result: unknown;
  switch (method) {
    case 'describeTopology':
      result = await provider.describeTopology(signal);
      break;
    case 'upgradeControlPlaneNode':
      result = await provider.upgradeControlPlaneNode(String(args[0]), String(args[1]), String(args[2]), signal);
      break;
    case 'replaceWorkerNode':
      result = await provider.replaceWorkerNode(
        String(args[0]),
        args[1] as { version: string },
        String(args[2]),
        signal,
      );
      break;
    case 'deleteWorkerNode':
      result = await provider.deleteWorkerNode(String(args[0]), String(args[1]), signal);
      break;
    case 'syncRunPhase':
      if (provider.syncRunPhase === undefined) throw new Error('the capi provider has no syncRunPhase');
      result = await provider.syncRunPhase(args[0] as 'running' | 'paused' | 'ended', signal);
      break;
    default:
      throw new Error(`no provider method "${method}"`);
  }
  process.stdout.write(`${JSON.stringify({ result: result ?? null })}\n`);
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
}
