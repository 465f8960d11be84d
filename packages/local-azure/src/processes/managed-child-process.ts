import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface ManagedChildProcessOptions extends SpawnOptions {
  /** Shown in errors: "azurite", "postgres", … */
  name: string;
  /** Resolves once the process says it is ready (a line of its output matches). */
  readyWhen: RegExp;
  readyTimeoutMs?: number;
}

/** Every child we started, so none outlives the parent, even on an uncaught error. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/**
 * A server process we own: started, awaited until ready (with its output tail in the error if it
 * is not), and stopped for sure. Output is kept in memory, never printed: it may contain secrets.
 */
export class ManagedChildProcess {
  readonly #child: ChildProcess;
  readonly #name: string;
  #output = '';
  #exited: Promise<number | null>;

  private constructor(child: ChildProcess, name: string) {
    this.#child = child;
    this.#name = name;
    liveChildren.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        liveChildren.delete(child);
        resolve(code);
      });
      child.once('error', () => {
        liveChildren.delete(child);
        resolve(null);
      });
    });
  }

  static async start(
    command: string,
    args: readonly string[],
    options: ManagedChildProcessOptions,
  ): Promise<ManagedChildProcess> {
    installExitHook();
    // Below the test hook timeout (30 s), so a stuck start fails here and kills its child.
    const { name, readyWhen, readyTimeoutMs = 20_000, ...spawnOptions } = options;
    const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    const managed = new ManagedChildProcess(child, name);
    await managed.#waitUntilReady(readyWhen, readyTimeoutMs);
    return managed;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The last part of what the process printed, for error messages. */
  outputTail(characters = 2000): string {
    return this.#output.slice(-characters);
  }

  async stop(gracePeriodMs = 5000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const forced = setTimeout(() => this.#child.kill('SIGKILL'), gracePeriodMs);
    await this.#exited;
    clearTimeout(forced);
  }

  #waitUntilReady(readyWhen: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          this.#child.kill('SIGKILL');
          reject(error);
        } else resolve();
      };
      const onData = (chunk: Buffer) => {
        this.#output = (this.#output + chunk.toString('utf8')).slice(-20_000);
        if (readyWhen.test(this.#output)) finish();
      };
      this.#child.stdout?.on('data', onData);
      this.#child.stderr?.on('data', onData);
      this.#child.once('error', (error) =>
        finish(new Error(`${this.#name} could not start: ${error.message}`)),
      );
      this.#child.once('exit', (code) =>
        finish(new Error(`${this.#name} exited (code ${code}) before it was ready:\n${this.outputTail()}`)),
      );
      const timer = setTimeout(
        () => finish(new Error(`${this.#name} was not ready within ${timeoutMs} ms:\n${this.outputTail()}`)),
        timeoutMs,
      );
    });
  }
}
