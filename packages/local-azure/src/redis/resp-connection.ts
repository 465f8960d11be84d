import { connect, type Socket } from 'node:net';

export type RespValue = string | number | null | RespValue[] | RespError;

/** An error reply (`-WRONGPASS …`); returned, not thrown, by the parser. */
export class RespError extends Error {
  override readonly name = 'RespError';
}

const commandTimeoutMs = 5_000;

interface PendingReply {
  resolve: (value: RespValue) => void;
  reject: (error: Error) => void;
}

/**
 * A minimal RESP2 client for the launcher's own admin connection (AUTH, ACL SETUSER, PING):
 * enough that @keyless/local-azure needs no Redis client library at run time.
 */
export class RespConnection {
  readonly #socket: Socket;
  readonly #pending: PendingReply[] = [];
  #buffer = Buffer.alloc(0);
  #closedError: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('the Redis admin connection closed')));
  }

  static open(host: string, port: number, timeoutMs = 2_000): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection to ${host}:${port}`)),
        timeoutMs,
      );
      const onError = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        // The admin connection must not keep the process alive; the exit hook ends the server.
        socket.unref();
        resolve(new RespConnection(socket));
      });
    });
  }

  /** Sends one command; an error reply rejects with a RespError. */
  async command(...args: readonly string[]): Promise<RespValue> {
    if (this.#closedError) throw this.#closedError;
    const parts = [`*${args.length}\r\n`];
    for (const argument of args) parts.push(`$${Buffer.byteLength(argument)}\r\n${argument}\r\n`);
    const reply = new Promise<RespValue>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#socket.write(parts.join(''));
    // Something that accepts but never answers (not Redis, or a hung server) must not hang the launcher.
    const timer = setTimeout(
      () => this.#socket.destroy(new Error(`no reply from Redis within ${commandTimeoutMs} ms`)),
      commandTimeoutMs,
    );
    timer.unref();
    const value = await reply.finally(() => clearTimeout(timer));
    if (value instanceof RespError) throw value;
    return value;
  }

  close(): void {
    this.#socket.destroy();
  }

  #fail(error: Error): void {
    this.#closedError ??= error;
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }

  #receive(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    try {
      for (;;) {
        const parsed = parseReply(this.#buffer, 0);
        if (!parsed) return;
        this.#buffer = this.#buffer.subarray(parsed.end);
        this.#pending.shift()?.resolve(parsed.value);
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
      this.#socket.destroy();
    }
  }
}

function parseReply(buffer: Buffer, offset: number): { value: RespValue; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] as number);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let position = next;
      for (let index = 0; index < count; index++) {
        const item = parseReply(buffer, position);
        if (!item) return undefined;
        items.push(item.value);
        position = item.end;
      }
      return { value: items, end: position };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}
