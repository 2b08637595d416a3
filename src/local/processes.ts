/**
 * The processes of a local cluster, each in a process group of its own so that stopping one reaches whatever it
 * started, and stopped by its id, never by name: other clusters (and other users' programs) run the same binaries on
 * the same host.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { LocalClusterError } from './errors.ts';

/** What to start. */
export interface ProcessSpec {
  /** Name for messages and the log file, e.g. `kube-apiserver`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** File that gets the process's stdout and stderr (appended). */
  readonly logFile: string;
  /**
   * How long to wait after SIGTERM before SIGKILL. A kube-apiserver with watches open takes 15 s to a minute to
   * drain them on SIGTERM; its state is in etcd, so not waiting for that loses nothing. @default 10000
   */
  readonly stopGraceMs?: number;
}

/** A process that was started: its id, its exit, and a way to stop it. */
export class LocalProcess {
  /** Resolves with the exit code (or the signal's name) when the process has exited. */
  readonly exited: Promise<number | string>;
  #exit: number | string | undefined;

  private constructor(
    readonly spec: ProcessSpec,
    readonly pid: number,
    exited: Promise<number | string>,
  ) {
    this.exited = exited.then((code) => (this.#exit = code));
  }

  /** Starts a process in a new process group, its output appended to `spec.logFile`. */
  static start(spec: ProcessSpec): LocalProcess {
    const log = openSync(spec.logFile, 'a');
    try {
      const child = spawn(spec.command, spec.args, { detached: true, stdio: ['ignore', log, log] });
      if (child.pid === undefined) {
        throw new LocalClusterError('startFailed', `${spec.name}: cannot start ${spec.command}`);
      }
      const exited = new Promise<number | string>((resolve) => {
        child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
        child.once('error', () => resolve('spawn error'));
      });
      // The cluster outlives no parent: but its processes must not keep Node's event loop alive by themselves.
      child.unref();
      return new LocalProcess(spec, child.pid, exited);
    } finally {
      closeSync(log);
    }
  }

  /** The exit code or signal if the process has exited, else undefined. */
  get exitCode(): number | string | undefined {
    return this.#exit;
  }

  /**
   * Stops the process group: SIGTERM, then SIGKILL after the grace period. Resolves when the process has exited.
   * A process already gone resolves at once.
   */
  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    signalGroup(this.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        signalGroup(this.pid, 'SIGKILL');
        resolve();
      }, this.spec.stopGraceMs ?? 10_000);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is gone already.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
