/**
 * The CLI against a running service (`--server URL`, or `KUP_SERVER`): the cluster list, plan, upgrade, status,
 * pause, resume, cancel and rollback commands call the API and print what they print locally. The token comes from
 * `KUP_TOKEN`, else from `~/.config/kup/config.json` (`{ "server": URL, "token": T }`), which must be the user's alone
 * (mode 0600): a token readable by others is refused rather than used.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';
import { KUP_ERROR_KINDS } from '../errors/kup-error.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './io.ts';

/** Where the CLI's service settings live. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'kup', 'config.json');
}

/** The service the CLI talks to, when it is told one: `--server URL` in `args`, else KUP_SERVER, else none. */
export function remoteServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { url: string; args: string[]; from: '--server' | 'KUP_SERVER' } | undefined {
  const rest: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--server') {
      url = args[i + 1];
      if (url === undefined) throw new UsageError('--server needs a URL');
      i++;
    } else if (arg.startsWith('--server=')) url = arg.slice('--server='.length);
    else rest.push(arg);
  }
  const from = url !== undefined ? '--server' : 'KUP_SERVER';
  url ??= env['KUP_SERVER'] || undefined;
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`${from}: "${url}" is not an http(s) URL`);
  return { url: url.replace(/\/+$/, ''), args: rest, from };
}

/** An error the service answered with, as the CLI reports it (its kind gives the exit code). */
export class RemoteError extends KupError<`KUP-${string}-${number}`> {
  override readonly name = 'RemoteError';
}

/** A client of the service's API. */
export class RemoteClient {
  readonly #url: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
  }

  /** Calls the API; an error envelope rejects as a RemoteError with the service's code, kind and message. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.#url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new RemoteError('KUP-CLI-010', `cannot reach the service at ${this.#url}: ${(err as Error).message}`, {
        kind: 'unavailable',
        cause: err,
      });
    }
    if (res.ok) return (await this.#json(res)) as T;
    throw await this.#refusal(res);
  }

  /**
   * Opens a Server-Sent Events stream at `path`, after event `lastEventId` (sent as `Last-Event-ID` when not 0).
   * Rejects as {@link call} does: an error envelope as its RemoteError, an unreachable service as KUP-CLI-010.
   */
  async openStream(path: string, lastEventId: number, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.#url}${path}`, {
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'text/event-stream',
          ...(lastEventId > 0 ? { 'last-event-id': String(lastEventId) } : {}),
        },
        signal,
      });
    } catch (err) {
      throw new RemoteError('KUP-CLI-010', `cannot reach the service at ${this.#url}: ${(err as Error).message}`, {
        kind: 'unavailable',
        cause: err,
      });
    }
    if (res.ok) return res;
    throw await this.#refusal(res);
  }

  async #json(res: Response): Promise<unknown> {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new RemoteError('KUP-CLI-011', `the service at ${this.#url} answered ${res.status} with no JSON`, {
        kind: res.status === 502 || res.status === 503 || res.status === 504 ? 'unavailable' : 'failed',
      });
    }
  }

  /** The RemoteError of an answer that is not 2xx: the service's envelope, its code, kind and message. */
  async #refusal(res: Response): Promise<RemoteError> {
    let parsed: unknown;
    try {
      parsed = await this.#json(res);
    } catch (err) {
      return err as RemoteError;
    }
    const error = (parsed as { error?: { code?: string; kind?: string; message?: string } }).error;
    const kind = (KUP_ERROR_KINDS as readonly string[]).includes(error?.kind ?? '')
      ? (error?.kind as KupErrorKind)
      : 'failed';
    const code = /^KUP-[A-Z]+-\d+$/.test(error?.code ?? '')
      ? (error?.code as `KUP-${string}-${number}`)
      : 'KUP-CLI-011';
    // The message already starts with its code.
    return new RemoteError(code, error?.message ?? `the service answered ${res.status}`, { kind, plainMessage: true });
  }
}

/** The token: KUP_TOKEN, else the config file's (which must be mode 0600). */
export function remoteToken(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['KUP_TOKEN'];
  if (fromEnv) return fromEnv.trim();
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`no token for the service: set KUP_TOKEN, or write {"token": "..."} to ${path} (mode 0600)`);
  }
  if ((statSync(path).mode & 0o077) !== 0)
    throw new UsageError(`${path} is readable by others: chmod 600 ${path} (it holds a token)`);
  let token: unknown;
  try {
    token = (JSON.parse(text) as { token?: unknown }).token;
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof token !== 'string' || token === '') throw new UsageError(`${path} has no "token"`);
  return token;
}

interface RunDetail {
  id: string;
  phase: string;
  summary: string;
  notice: string;
  active: boolean;
  status: unknown;
  progress: unknown;
}

interface EventDoc {
  id: number;
  at: string;
  outcome: string;
  step: string;
  node?: string;
  message: string;
}

/** parseArgs, its refusals as usage errors (exit 2). */
function parse<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(
      `${(err as Error).message} (with --server, the service's data is used: --data-dir does not apply)`,
    );
  }
}

/** Runs a command against the service; resolves to its exit code. */
export async function runRemoteCommand(
  command: string,
  args: string[],
  url: string,
  io: CliIo,
  signal: () => AbortSignal,
): Promise<number> {
  const client = new RemoteClient(url, remoteToken());
  switch (command) {
    case 'status':
      return status(client, args, io, signal);
    case 'upgrade':
      return (await import('./remote-upgrade.ts')).remoteUpgrade(client, args, io, signal);
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'rollback':
      return control(client, command, args, io);
    case 'cluster':
      return clusterList(client, args, io);
    case 'plan':
      return plan(client, args, io);
    case 'versions':
      return versions(client, args, io);
    case 'precheck':
      return precheck(client, args, io);
    case 'webhook':
      return (await import('./commands/webhooks.ts')).runWebhookCommand(client, args, io);
    default:
      throw new UsageError(`kup ${command} does not talk to a service yet (${REMOTE_LIST} do)`);
  }
}

/** What talks to a service, for the messages of what does not. */
const REMOTE_LIST = 'versions, precheck, plan, upgrade, status, pause, resume, cancel, rollback, cluster list and webhook';

async function status(client: RemoteClient, args: string[], io: CliIo, signal: () => AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, {
    watch: { type: 'boolean', short: 'w' },
    output: { type: 'string', short: 'o' },
  });
  const target = positionals[0];
  if (!target) throw new UsageError('kup status needs a RUN id or a CLUSTER');
  let runId = target;
  if (!target.startsWith('run-')) {
    const latest = (
      await client.call<{ items: { id: string }[] }>(
        'GET',
        `/api/v1/runs?cluster=${encodeURIComponent(target)}&limit=1`,
      )
    ).items[0];
    if (!latest) throw new UsageError(`no run for cluster "${target}"`);
    runId = latest.id;
  }
  const path = `/api/v1/runs/${encodeURIComponent(runId)}`;
  let detail = await client.call<RunDetail>('GET', path);
  if (values.output === 'json') {
    io.stdout.write(`${JSON.stringify({ runId, status: detail.status, progress: detail.progress }, null, 2)}\n`);
    return 0;
  }
  const print = (e: EventDoc) =>
    io.stdout.write(
      `${e.at.slice(11, 19)} ${e.outcome.padEnd(10)} ${e.step}${e.node ? ` ${e.node}` : ''}: ${e.message}\n`,
    );
  let after = 0;
  for (;;) {
    const page = await client.call<{ items: EventDoc[]; next: number }>(
      'GET',
      `${path}/events?after=${after}&limit=1000`,
    );
    page.items.forEach(print);
    after = page.next;
    if (page.items.length < 1000) break;
  }
  io.stdout.write(`${detail.summary}\n`);
  if (values.watch === true && detail.active) {
    // --watch: the run's live events from the last one printed, each batch followed by the run's line, to its end.
    const { followRunEvents } = await import('./remote-events.ts');
    const { systemClock } = await import('../clock/clock.ts');
    const stop = new AbortController();
    for await (const item of followRunEvents(client, runId, {
      clock: systemClock,
      signal: AbortSignal.any([signal(), stop.signal]),
      after,
    })) {
      // The run's end writes an event: what happened while the stream was down comes with the stream open again.
      if (item.type === 'open') continue;
      item.events.forEach(print);
      try {
        detail = await client.call<RunDetail>('GET', path);
      } catch (err) {
        // The service went away between the event and the read: the next events (or the last ones again) tell.
        if (err instanceof RemoteError && err.kind === 'unavailable') continue;
        throw err;
      }
      io.stdout.write(`${detail.summary}\n`);
      if (!detail.active) stop.abort();
    }
  }
  if (detail.phase === 'paused' && detail.notice) io.stdout.write(detail.notice.split('\n').slice(1).join('\n'));
  return 0;
}

async function control(client: RemoteClient, command: string, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { message: { type: 'string' }, 'replace-node': { type: 'boolean' } });
  const runId = positionals[0];
  if (!runId) throw new UsageError(`kup ${command} needs a RUN id`);
  if (values['replace-node'] === true && command !== 'resume')
    throw new UsageError(`--replace-node is an option of kup resume, not of kup ${command}`);
  const detail = await client.call<RunDetail>('POST', `/api/v1/runs/${encodeURIComponent(runId)}/${command}`, {
    ...(values.message !== undefined ? { message: values.message } : {}),
    ...(values['replace-node'] === true ? { replaceNode: true } : {}),
  });
  io.stdout.write(`run ${runId}: ${detail.summary}\n`);
  return 0;
}

async function clusterList(client: RemoteClient, args: string[], io: CliIo): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals[0] !== 'list' || positionals.length > 1)
    throw new UsageError('with --server, kup cluster does list only');
  const { items } = await client.call<{
    items: {
      name: string;
      provider: string;
      version: string | null;
      nodes: number | null;
      health: { reachable: boolean };
      upgrades: { summary: string } | null;
    }[];
  }>('GET', '/api/v1/clusters');
  if (items.length === 0) {
    io.stdout.write('No clusters registered. Add one: kup cluster add NAME --kubeconfig FILE --provider sim\n');
    return 0;
  }
  const { table } = await import('./commands/cluster.ts');
  const rows = [['NAME', 'PROVIDER', 'VERSION', 'NODES', 'UPGRADE']];
  for (const c of items) {
    rows.push(
      c.health.reachable
        ? [c.name, c.provider, c.version ?? '-', String(c.nodes ?? '-'), c.upgrades?.summary ?? '-']
        : [c.name, c.provider, 'unreachable', '-', '-'],
    );
  }
  io.stdout.write(`${table(rows)}\n`);
  return 0;
}

async function plan(client: RemoteClient, args: string[], io: CliIo): Promise<number> {
  const { planArguments } = await import('./commands/runs.ts');
  const { name, request, json } = planArguments(args);
  const answer = await client.call<{
    plan: unknown;
    text: string;
    precheck?: unknown;
    precheckText?: string;
    blocked: boolean;
  }>('POST', `/api/v1/clusters/${encodeURIComponent(name)}/plans`, request);
  if (json) {
    const doc = { plan: answer.plan, ...(answer.precheck !== undefined ? { precheck: answer.precheck } : {}) };
    io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } else {
    io.stdout.write(answer.text);
    if (answer.precheckText !== undefined) io.stdout.write(`\n${answer.precheckText}`);
  }
  return answer.blocked ? 1 : 0;
}

async function versions(client: RemoteClient, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    cluster: { type: 'string' },
    output: { type: 'string', short: 'o' },
    all: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`kup versions takes no argument ("${positionals[0]}")`);
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: "${output}" is not one of table, json`);
  const { writeVersions } = await import('./commands/versions.ts');
  type View = Parameters<typeof writeVersions>[1];
  const catalog = await client.call<{ source: string; age: View['age']; minors: View['minors'] }>(
    'GET',
    '/api/v1/catalog',
  );
  let cluster: View['cluster'];
  if (values.cluster !== undefined) {
    const name = values.cluster;
    const answer = await client
      .call<{ cluster: string; version: string; upgrades: NonNullable<View['cluster']>['upgrades'] }>(
        'GET',
        `/api/v1/clusters/${encodeURIComponent(name)}/versions`,
      )
      .catch((err: unknown) => {
        // As locally: a name that is not registered is bad input (exit 2).
        if (err instanceof RemoteError && err.kind === 'not-found')
          throw new UsageError(`--cluster: "${name}" is not registered (kup cluster list shows the registered ones)`);
        throw err;
      });
    cluster = { name: answer.cluster, version: answer.version, upgrades: answer.upgrades };
  }
  const minors = catalog.minors.filter((m) => values.all === true || m.classification !== 'expired');
  writeVersions(io, { source: catalog.source, age: catalog.age, minors, ...(cluster ? { cluster } : {}) }, output);
  return 0;
}

async function precheck(client: RemoteClient, args: string[], io: CliIo): Promise<number> {
  const { parsePrecheckArgs, notRegistered } = await import('./commands/precheck.ts');
  // Bad input is reported as kup precheck reports it locally.
  const usageFail = (message: string): number => {
    io.stderr.write(`kup precheck: ${message}\n\nRun 'kup precheck --help' for the flags.\n`);
    return 2;
  };
  let parsed: ReturnType<typeof parsePrecheckArgs>;
  try {
    parsed = parsePrecheckArgs(args);
    if (parsed === 'help') throw new UsageError('--help');
    if (parsed.cluster === undefined)
      throw new UsageError('with --server, name a cluster the service knows: --cluster NAME (not --kubeconfig)');
    for (const [given, flag] of [
      [parsed.postcheck, '--postcheck'],
      [parsed.baseline !== undefined, '--baseline'],
      [parsed.dataDir !== undefined, '--data-dir'],
      [parsed.db !== undefined, '--db'],
      [args.some((a) => a === '--timeout' || a.startsWith('--timeout=')), '--timeout'],
    ] as const)
      if (given) throw new UsageError(`${flag} does not apply with --server (the service runs the precheck)`);
  } catch (err) {
    if (err instanceof UsageError) return usageFail(err.message);
    throw err;
  }
  const name = parsed.cluster;
  const body = {
    to: parsed.to,
    ...(parsed.acknowledgements.length > 0 ? { acknowledgements: parsed.acknowledgements } : {}),
    ...(parsed.allowPreview ? { allowPreview: true } : {}),
    ...(parsed.allowExpired ? { allowExpired: true } : {}),
    ...(parsed.workerStrategy !== undefined ? { workerStrategy: parsed.workerStrategy } : {}),
    ...(parsed.batchPolicy !== undefined || parsed.nodeStrategy !== undefined
      ? {
          poolOptions: {
            ...(parsed.batchPolicy !== undefined ? { batchPolicy: parsed.batchPolicy } : {}),
            ...(parsed.nodeStrategy !== undefined ? { strategy: parsed.nodeStrategy } : {}),
          },
        }
      : {}),
  };
  let answer: { blockers: number; report: unknown; text: string };
  try {
    answer = await client.call('POST', `/api/v1/clusters/${encodeURIComponent(name)}/prechecks`, body);
  } catch (err) {
    if (err instanceof RemoteError && err.kind === 'not-found') return usageFail(notRegistered(name));
    throw err;
  }
  if (parsed.output === 'json') io.stdout.write(`${JSON.stringify(answer.report, null, 2)}\n`);
  else io.stdout.write(answer.text);
  return answer.blockers === 0 ? 0 : 1;
}
