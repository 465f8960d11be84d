import { inspect } from 'node:util';

/**
 * Records everything the process prints (stdout, stderr, console) while letting it through, so a
 * test can prove that no token or secret ever reached the output.
 */
export class OutputCapture {
  readonly #chunks: string[] = [];
  readonly #restore: (() => void)[] = [];

  /** `passThrough: false` keeps a deliberately noisy run out of the test report. */
  constructor(private readonly options: { passThrough?: boolean } = {}) {}

  start(): this {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        this.#chunks.push(
          typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'),
        );
        if (this.options.passThrough === false) return true;
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      this.#restore.push(() => {
        stream.write = original;
      });
    }
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        this.#chunks.push(
          args
            .map((argument) => (typeof argument === 'string' ? argument : inspect(argument, { depth: 8 })))
            .join(' '),
        );
        if (this.options.passThrough !== false) original(...args);
      };
      this.#restore.push(() => {
        console[method] = original;
      });
    }
    return this;
  }

  /** Adds text the test produced itself (error messages, inspected objects) to what is scanned. */
  add(...texts: string[]): void {
    this.#chunks.push(...texts);
  }

  get text(): string {
    return this.#chunks.join('\n');
  }

  stop(): void {
    for (const restore of this.#restore.splice(0).reverse()) restore();
  }
}

/** Every way a value might be printed by an application or a logger. */
export function renderEveryWay(value: unknown): string[] {
  const views = [inspect(value, { depth: 8 }), inspect(value, { depth: 8, showHidden: true }), String(value)];
  try {
    views.push(JSON.stringify(value) ?? '');
  } catch {
    // Circular values cannot be stringified; the inspect views cover them.
  }
  if (value instanceof Error)
    views.push(value.message, value.stack ?? '', inspect(value.cause, { depth: 8 }));
  return views;
}

/** The secrets among `secrets` that appear in `text` (empty when nothing leaked). */
export function findLeaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => secret.length > 0 && text.includes(secret));
}
