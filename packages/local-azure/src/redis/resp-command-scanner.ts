import { parseRespInteger } from './resp-integer.js';

/** A command a client sent, as far as the token-expiry gateway needs it. */
export interface ScannedCommand {
  /** Lower-case command name; '' when it is too long to be one the gateway follows. */
  name: string;
  /** Arguments after the name. */
  argumentCount: number;
  /** The arguments, captured only for the commands `wantsArguments` named (and short enough). */
  arguments: string[] | undefined;
}

/** The client broke the protocol: Redis will answer with an error and close; the gateway stops tracking. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

// Redis's own limits: an inline request or a multibulk header longer than 64 KiB is refused.
const longestLine = 64 * 1024;
// Tokens are a few KiB; a longer argument of a tracked command is not captured (the command fails in Redis anyway).
const longestCapturedArgument = 64 * 1024;
// Longer names are no command the gateway follows ("punsubscribe" is the longest), so they are not read.
const longestFollowedName = 16;

const Phase = { Start: 0, Inline: 1, ArrayHeader: 2, BulkHeader: 3, BulkData: 4 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/**
 * Reads the client→server byte stream (RESP arrays of bulk strings, or inline commands) as it is
 * forwarded, chunk by chunk, without holding more than a header line or a captured argument:
 * bulk payloads are skipped by length, so a large SET costs nothing but the forwarding. The state
 * is a few numbers rather than objects: the gateway runs this on every byte a client sends.
 */
export class RespCommandScanner {
  #phase: Phase = Phase.Start;
  /** Argument index (0: the name) and count of the array being read. */
  #index = 0;
  #count = 0;
  /** Bytes of the current bulk string still to come, with its CRLF. */
  #remaining = 0;
  #capture: Buffer[] | undefined;
  #line: Buffer[] = [];
  #lineLength = 0;
  #name = '';
  #arguments: string[] | undefined;
  readonly #wantsArguments: (name: string) => boolean;
  readonly #onCommand: (command: ScannedCommand) => void;

  constructor(wantsArguments: (name: string) => boolean, onCommand: (command: ScannedCommand) => void) {
    this.#wantsArguments = wantsArguments;
    this.#onCommand = onCommand;
  }

  /** Throws RespProtocolError on bytes Redis would refuse too. */
  push(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.#phase === Phase.Start) {
        if (chunk[offset] === 0x2a /* '*' */) {
          this.#phase = Phase.ArrayHeader;
          offset += 1;
        } else this.#phase = Phase.Inline;
        continue;
      }
      if (this.#phase === Phase.BulkData) {
        const take = Math.min(this.#remaining, length - offset);
        this.#capture?.push(chunk.subarray(offset, offset + take));
        this.#remaining -= take;
        offset += take;
        if (this.#remaining === 0) this.#argumentDone();
        continue;
      }
      const lineEnd = chunk.indexOf(0x0a /* '\n' */, offset);
      if (lineEnd === -1) {
        this.#lineLength += length - offset;
        if (this.#lineLength > longestLine) throw new RespProtocolError('request line too long');
        this.#line.push(chunk.subarray(offset));
        return;
      }
      let line = chunk;
      let start = offset;
      let end = lineEnd;
      if (this.#line.length > 0) {
        this.#line.push(chunk.subarray(offset, lineEnd));
        line = Buffer.concat(this.#line);
        this.#line = [];
        this.#lineLength = 0;
        start = 0;
        end = line.length;
      }
      offset = lineEnd + 1;
      if (end > start && line[end - 1] === 0x0d /* '\r' */) end -= 1;
      if (this.#phase === Phase.Inline) this.#inline(line.toString('latin1', start, end));
      else if (this.#phase === Phase.ArrayHeader) this.#arrayHeader(parseRespInteger(line, start, end));
      else {
        if (line[start] !== 0x24 /* '$' */) throw new RespProtocolError("expected '$'");
        this.#bulkHeader(parseRespInteger(line, start + 1, end));
      }
    }
  }

  #inline(line: string): void {
    this.#phase = Phase.Start;
    // Redis splits inline commands on spaces (with quoting, which tokens and names never need).
    const words = line.split(/[ \t]+/).filter((word) => word !== '');
    if (words.length === 0) return;
    const name = (words[0] as string).toLowerCase();
    const rest = words.slice(1);
    this.#onCommand({
      name,
      argumentCount: rest.length,
      arguments: this.#wantsArguments(name) ? rest : undefined,
    });
  }

  #arrayHeader(count: number): void {
    if (Number.isNaN(count)) throw new RespProtocolError('invalid multibulk length');
    if (count <= 0) {
      this.#phase = Phase.Start;
      return;
    }
    this.#name = '';
    this.#arguments = undefined;
    this.#index = 0;
    this.#count = count;
    this.#phase = Phase.BulkHeader;
  }

  #bulkHeader(size: number): void {
    if (Number.isNaN(size) || size < 0) throw new RespProtocolError('invalid bulk length');
    const captured =
      this.#index === 0
        ? size <= longestFollowedName
        : this.#arguments !== undefined && size <= longestCapturedArgument;
    this.#capture = captured ? [] : undefined;
    this.#remaining = size + 2;
    this.#phase = Phase.BulkData;
  }

  #argumentDone(): void {
    const capture = this.#capture;
    this.#capture = undefined;
    let value: string | undefined;
    if (capture !== undefined) {
      const bytes = capture.length === 1 ? (capture[0] as Buffer) : Buffer.concat(capture);
      value = bytes.toString(this.#index === 0 ? 'latin1' : 'utf8', 0, bytes.length - 2);
    }
    if (this.#index === 0) {
      this.#name = value === undefined ? '' : value.toLowerCase();
      if (this.#wantsArguments(this.#name)) this.#arguments = [];
    } else if (this.#arguments !== undefined) {
      // An argument too long to capture still counts, as an empty placeholder.
      this.#arguments.push(value ?? '');
    }
    this.#index += 1;
    if (this.#index < this.#count) {
      this.#phase = Phase.BulkHeader;
      return;
    }
    this.#phase = Phase.Start;
    this.#onCommand({ name: this.#name, argumentCount: this.#count - 1, arguments: this.#arguments });
  }
}
