import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { SystemUser } from './system-user.js';

export interface ServerProcessOptions {
  /** For messages: `postgres`, `redis-server`. */
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  runAs?: SystemUser;
  /** The graceful stop: SIGINT for postgres (fast shutdown), SIGTERM for redis. */
  stopSignal: NodeJS.Signals;
  /** The exit hook's signal: the quickest shutdown that still lets the server tidy up (SIGQUIT for postgres). */
  emergencySignal: NodeJS.Signals;
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const keptLogLines = 200;

/**
 * A server child process: its own process group (so the exit hook can kill its workers too),
 * a minimal environment (never ours: it may hold IDENTITY_HEADER and other secrets), and the last
 * lines of its output for error messages. It never keeps Node alive on its own: a forgotten
 * stop() ends with the process, through the exit hook.
 */
export class ManagedServerProcess {
  readonly #options: ServerProcessOptions;
  readonly #child: ChildProcess;
  readonly #logLines: string[] = [];
  readonly #exited: Promise<ServerExit>;
  #exit: ServerExit | undefined;

  private constructor(options: ServerProcessOptions) {
    this.#options = options;
    this.#child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
      this.#child.once('error', (error) => {
        this.#logLines.push(`spawn failed: ${error.message}`);
        this.#exit = { code: -1, signal: null };
        resolve(this.#exit);
      });
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.#keepLog(chunk));
      // The pipes are sockets; unref'd, a forgotten stop() does not keep Node alive.
      (stream as Socket | null)?.unref();
    }
    this.#child.unref();
  }

  static start(options: ServerProcessOptions): ManagedServerProcess {
    return new ManagedServerProcess(options);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Why the process is gone, or undefined while it runs. */
  get exitDescription(): string | undefined {
    if (!this.#exit) return undefined;
    return `${this.#options.name} exited (${this.#exit.signal ?? `code ${this.#exit.code}`})`;
  }

  /** Resolves with the exit description when the process ends, however it ends. */
  whenExited(): Promise<string> {
    return this.#exited.then(() => this.exitDescription ?? `${this.#options.name} exited`);
  }

  logTail(lineCount = 30): string {
    return this.#logLines.slice(-lineCount).join('\n');
  }

  #keepLog(chunk: string): void {
    for (const line of chunk.split('\n')) if (line.trim() !== '') this.#logLines.push(line);
    if (this.#logLines.length > keptLogLines) this.#logLines.splice(0, this.#logLines.length - keptLogLines);
  }

  /** Graceful stop; after `timeoutMs` the whole process group is killed. */
  async stop(timeoutMs = 10_000): Promise<ServerExit> {
    if (this.#exit) return this.#exit;
    // Unref'd children do not keep the loop alive; while we wait for this one, it must.
    this.#child.ref();
    this.#signalGroup(this.#options.stopSignal);
    const timer = setTimeout(() => this.#signalGroup('SIGKILL'), timeoutMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * For the exit hook, which cannot await: the emergency signal, a short synchronous wait for the
   * process to end, then SIGKILL for the whole group.
   */
  killSynchronously(graceMs = 3_000): void {
    const pid = this.#child.pid;
    if (this.#exit || pid === undefined) return;
    this.#signalGroup(this.#options.emergencySignal);
    const deadline = Date.now() + graceMs;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < deadline && processIsRunning(pid)) Atomics.wait(pause, 0, 0, 20);
    this.#signalGroup('SIGKILL');
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** True while the process exists and is not a zombie: in an exit hook nobody reaps it, so kill(pid, 0) alone would say it runs. */
function processIsRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
