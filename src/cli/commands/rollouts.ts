/**
 * `kup rollout create|list|show|approve|pause|resume|cancel`: fleet rollouts in kup's data directory. A rollout moves
 * while `kup serve` runs on the same data directory (its rollout driver performs what the rollout asks); these
 * commands create it and give the operator's commands. Exit codes: 0 done, 1 refused or failed, 2 bad input.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { applyRolloutEvent, createRollout, loadRollout } from '../../engine/rollouts.ts';
import { exitCodeOf } from '../../errors/codes.ts';
import type { RolloutEvent, RolloutState } from '../../fleet-rollouts/index.ts';
import { RolloutError, RolloutErrorCode, reviveRolloutState } from '../../fleet-rollouts/index.ts';
import { openStore } from '../../persistence/store.ts';
import type { KupStore } from '../../persistence/store.ts';
import type { CliIo } from '../io.ts';
import { UsageError, storeLocation } from '../io.ts';

/** Usage of `kup rollout`. */
export const ROLLOUT_USAGE = `Usage:
  kup rollout create -f SPEC.json
  kup rollout list [-o table|json]
  kup rollout show ID [-o table|json]
  kup rollout approve ID --stage NAME [--by NAME]
  kup rollout pause ID [--message TEXT]
  kup rollout resume ID
  kup rollout cancel ID

A fleet rollout upgrades many clusters in ordered stages: each stage a set of clusters (by name, or by the labels set
with 'kup maintenance set --label'), at most maxConcurrency at a time, a health-gated soak after its last cluster, and
optionally an approval before it starts. A failed or paused cluster run, or a failing health gate during a soak
(new crash-looping or Pending pods, an unhealthy PDB, a node not Ready), pauses the rollout naming the cluster.
'kup serve' on the same data directory drives it.

The spec (JSON):
  {"name": "to-1-31", "target": {"to": "1.31.4"},
   "stages": [{"name": "dev", "clusters": {"labels": {"env": "dev"}}, "maxConcurrency": 2, "soakMinutes": 30},
              {"name": "prod", "clusters": {"names": ["prod-eu", "prod-us"]}, "approval": true}]}

Flags:
  -f, --file F               the rollout spec (create)
  --stage NAME               the stage to approve
  --by NAME                  who approves (default $USER)
  --message TEXT             why it is paused
  -o, --output table|json    output format of list and show (default table)
  --data-dir D               kup's data directory (default $KUP_DATA_DIR, else .kup)
  --db postgres://...        the PostgreSQL database of the service's replicas (default $KUP_DB)

Exit codes: 0 done, 1 refused or failed, 2 bad input.`;

const SUBCOMMANDS = ['create', 'list', 'show', 'approve', 'pause', 'resume', 'cancel'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

/** Runs `kup rollout` with `args` (after `rollout`); resolves to the exit code. */
export async function runRolloutCommand(args: string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  let store: KupStore | undefined;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        file: { type: 'string', short: 'f' },
        stage: { type: 'string' },
        by: { type: 'string' },
        message: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'data-dir': { type: 'string' },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true) {
      io.stdout.write(`${ROLLOUT_USAGE}\n`);
      return 0;
    }
    const [sub, id, ...extra] = positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub))
      throw new UsageError(`unknown rollout command "${sub ?? ''}" (${SUBCOMMANDS.join(', ')})`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0] ?? ''}"`);
    const output = values.output ?? 'table';
    if (output !== 'table' && output !== 'json') throw new UsageError(`--output: "${output}" is not table or json`);
    if (sub !== 'create' && sub !== 'list' && id === undefined)
      throw new UsageError(`kup rollout ${sub} needs the rollout's ID`);
    store = await openStore({ ...storeLocation({ dataDir: values['data-dir'], db: values.db }), now });
    return await dispatch(sub as Sub, id ?? '', { ...values, output }, store, io, now);
  } catch (err) {
    const usage =
      err instanceof UsageError ||
      (err instanceof Error && 'code' in err && err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
    io.stderr.write(
      `kup rollout: ${err instanceof Error ? err.message : String(err)}${usage ? "\n\nRun 'kup rollout --help' for the usage." : ''}\n`,
    );
    return usage ? 2 : exitCodeOf(err);
  } finally {
    await store?.close();
  }
}

interface Values {
  readonly file?: string;
  readonly stage?: string;
  readonly by?: string;
  readonly message?: string;
  readonly output: 'table' | 'json';
}

async function dispatch(
  sub: Sub,
  id: string,
  v: Values,
  store: KupStore,
  io: CliIo,
  now: () => number,
): Promise<number> {
  const print = (state: RolloutState) =>
    io.stdout.write(v.output === 'json' ? `${JSON.stringify(state, null, 2)}\n` : describe(state, now()));
  switch (sub) {
    case 'create': {
      if (v.file === undefined) throw new UsageError('kup rollout create needs -f SPEC.json');
      let spec: unknown;
      try {
        spec = JSON.parse(readFileSync(v.file, 'utf8')) as unknown;
      } catch (err) {
        throw new UsageError(`-f: ${v.file} cannot be read as JSON: ${(err as Error).message}`);
      }
      const state = await createRollout(store, spec, now());
      print(state);
      io.stdout.write(`rollout ${state.id} created; 'kup serve' on this data directory drives it\n`);
      return 0;
    }
    case 'list': {
      const rows = await store.rollouts.list();
      if (v.output === 'json')
        io.stdout.write(
          `${JSON.stringify(
            rows.map((r) => r.state),
            null,
            2,
          )}\n`,
        );
      else {
        io.stdout.write(`${'ID'.padEnd(24)} ${'NAME'.padEnd(20)} ${'PHASE'.padEnd(10)} STAGE\n`);
        for (const r of rows) {
          const s = reviveRolloutState(r.state);
          io.stdout.write(
            `${s.id.padEnd(24)} ${s.name.padEnd(20)} ${s.status.phase.padEnd(10)} ${s.stages[s.cursor]?.name ?? '-'}\n`,
          );
        }
      }
      return 0;
    }
    case 'show': {
      const { state } = await loadRollout(store, id);
      print(state);
      if (v.output === 'table')
        for (const e of await store.rollouts.events(id))
          io.stdout.write(`  ${new Date(e.at).toISOString()}  ${e.message}\n`);
      return 0;
    }
    default: {
      const { state } = await loadRollout(store, id);
      let event: RolloutEvent;
      if (sub === 'approve') {
        if (v.stage === undefined) throw new UsageError('kup rollout approve needs --stage NAME');
        const stage = state.stages.findIndex((s) => s.name === v.stage);
        if (stage < 0)
          throw new RolloutError(
            RolloutErrorCode.invalidSpec,
            `--stage: ${v.stage} is not a stage of rollout ${id} (${state.stages.map((s) => s.name).join(', ')})`,
            { rollout: id, field: 'stage' },
          );
        event = { type: 'approved', stage, by: v.by ?? process.env['USER'] ?? 'operator' };
      } else if (sub === 'pause')
        event = { type: 'pause-requested', ...(v.message !== undefined ? { message: v.message } : {}) };
      else if (sub === 'resume') event = { type: 'resume-requested' };
      else event = { type: 'cancel-requested' };
      print((await applyRolloutEvent(store, id, event, now())).state);
      return 0;
    }
  }
}

/** A rollout for people: status, then each stage with its clusters. */
function describe(s: RolloutState, now: number): string {
  const lines = [
    `rollout ${s.id} (${s.name}): ${s.status.phase}${s.status.phase === 'paused' ? `: ${s.status.message}` : ''}`,
  ];
  lines.push(
    `  target: ${[s.target.to ? `Kubernetes ${s.target.to}` : '', s.target.image ? `image ${s.target.image}` : ''].filter(Boolean).join(', ')}`,
  );
  s.stages.forEach((stage, i) => {
    const soak =
      stage.phase === 'soaking' && stage.soakUntil !== undefined
        ? ` (soak ends in ${Math.max(0, Math.round((stage.soakUntil - now) / 60_000))} min)`
        : '';
    lines.push(
      `  ${i === s.cursor ? '>' : ' '} ${stage.name}: ${stage.phase}${soak}${stage.approval ? (stage.approved ? `, approved by ${stage.approved.by}` : ', needs approval') : ''}`,
    );
    for (const name of stage.clusters) {
      const c = s.clusters[name];
      lines.push(
        `      ${name}: ${c?.phase ?? '?'}${c?.runId ? ` (run ${c.runId})` : ''}${c?.message ? `: ${c.message}` : ''}`,
      );
    }
  });
  return `${lines.join('\n')}\n`;
}
