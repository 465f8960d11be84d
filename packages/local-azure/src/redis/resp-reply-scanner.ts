import { RespProtocolError } from './resp-command-scanner.js';
import { parseRespInteger } from './resp-integer.js';

/**
 * One complete top-level value the server sent, as far as the token-expiry gateway needs it. The
 * scanner hands the same object out for every value (it reads every reply it forwards): read it
 * in the callback, do not keep it.
 */
export interface ScannedReply {
  /** The RESP type byte: 0x2b '+', 0x2d '-', 0x2a '*', 0x3e '>' (RESP3 push), … */
  type: number;
  /** A simple error ('-') or a blob error ('!'). */
  isError: boolean;
  /** A null reply (`$-1`, `*-1`, RESP3 `_`): EXEC answers a WATCH-aborted transaction so. */
  isNull: boolean;
  /** For an array or push: its first element when it is a short string (pub/sub kinds), lower-case. */
  first: string | undefined;
  /** For an array or push: its third element when it is an integer (the subscription count). */
  third: number | undefined;
  /** For an array, when capture was asked for: whether each element is an error (EXEC's results). */
  elementErrors: boolean[] | undefined;
}

export const ReplyType = {
  simpleString: 0x2b,
  simpleError: 0x2d,
  integer: 0x3a,
  bulkString: 0x24,
  array: 0x2a,
  null: 0x5f,
  double: 0x2c,
  boolean: 0x23,
  bigNumber: 0x28,
  blobError: 0x21,
  verbatimString: 0x3d,
  map: 0x25,
  set: 0x7e,
  attribute: 0x7c,
  push: 0x3e,
} as const;

// Pub/sub kinds are short; longer first elements are never compared.
const longestCapturedString = 16;

/**
 * Reads the server→client byte stream (RESP2 and RESP3) as it is forwarded. Only the shape of each
 * top-level value is kept; payloads are skipped by length, aggregates by a stack of element counts.
 * `captureElements()` is asked at the start of each top-level array whether to note its elements'
 * error flags (the gateway asks for EXEC's).
 */
export class RespReplyScanner {
  /** Bytes of a bulk payload still to come (with its CRLF); 0 while reading header lines. */
  #bulkRemaining = 0;
  #bulkCapture: Buffer[] | undefined;
  #line: Buffer[] = [];
  /** Per open aggregate: elements still to come, elements in all, whether it is an attribute. */
  readonly #remaining: number[] = [];
  readonly #total: number[] = [];
  readonly #isAttribute: boolean[] = [];
  /** A top-level value is being read (its fields in #reply are live). */
  #inValue = false;
  readonly #reply: ScannedReply = {
    type: 0,
    isError: false,
    isNull: false,
    first: undefined,
    third: undefined,
    elementErrors: undefined,
  };
  readonly #captureElements: () => boolean;
  readonly #onReply: (reply: ScannedReply) => void;

  constructor(captureElements: () => boolean, onReply: (reply: ScannedReply) => void) {
    this.#captureElements = captureElements;
    this.#onReply = onReply;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.#bulkRemaining > 0) {
        const take = Math.min(this.#bulkRemaining, length - offset);
        this.#bulkCapture?.push(chunk.subarray(offset, offset + take));
        this.#bulkRemaining -= take;
        offset += take;
        if (this.#bulkRemaining === 0) {
          const capture = this.#bulkCapture;
          this.#bulkCapture = undefined;
          if (capture !== undefined) {
            const bytes = capture.length === 1 ? (capture[0] as Buffer) : Buffer.concat(capture);
            this.#captureFirst(bytes, 0, bytes.length - 2);
          }
          this.#valueDone();
        }
        continue;
      }
      const lineEnd = chunk.indexOf(0x0a /* '\n' */, offset);
      if (lineEnd === -1) {
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
        start = 0;
        end = line.length;
      }
      offset = lineEnd + 1;
      if (end > start && line[end - 1] === 0x0d /* '\r' */) end -= 1;
      this.#header(line, start, end);
    }
  }

  #header(line: Buffer, start: number, end: number): void {
    if (end <= start) throw new RespProtocolError('empty reply line');
    const type = line[start] as number;
    const depth = this.#remaining.length;
    const reply = this.#reply;
    // A top-level attribute only annotates the value after it: that value is the reply.
    if (depth === 0 && (!this.#inValue || reply.type === ReplyType.attribute)) {
      this.#inValue = true;
      reply.type = type;
      reply.isError = type === ReplyType.simpleError || type === ReplyType.blobError;
      reply.isNull = type === ReplyType.null;
      reply.first = undefined;
      reply.third = undefined;
      reply.elementErrors = type === ReplyType.array && this.#captureElements() ? [] : undefined;
    }
    const element =
      depth === 1 && !this.#isAttribute[0] ? (this.#total[0] as number) - (this.#remaining[0] as number) : -1;
    if (element >= 0 && reply.elementErrors !== undefined && type !== ReplyType.attribute) {
      reply.elementErrors[element] = type === ReplyType.simpleError || type === ReplyType.blobError;
    }
    switch (type) {
      case ReplyType.simpleString:
      case ReplyType.simpleError:
      case ReplyType.integer:
      case ReplyType.null:
      case ReplyType.double:
      case ReplyType.boolean:
      case ReplyType.bigNumber:
        if (element === 0 && type === ReplyType.simpleString) this.#captureFirst(line, start + 1, end);
        if (element === 2 && type === ReplyType.integer) reply.third = parseRespInteger(line, start + 1, end);
        this.#valueDone();
        return;
      case ReplyType.bulkString:
      case ReplyType.blobError:
      case ReplyType.verbatimString: {
        const size = parseRespInteger(line, start + 1, end);
        if (Number.isNaN(size)) throw new RespProtocolError('invalid bulk length');
        if (size < 0) {
          if (depth === 0) reply.isNull = true;
          this.#valueDone();
          return;
        }
        this.#bulkCapture = element === 0 && size <= longestCapturedString ? [] : undefined;
        this.#bulkRemaining = size + 2;
        return;
      }
      case ReplyType.array:
      case ReplyType.set:
      case ReplyType.push:
      case ReplyType.map:
      case ReplyType.attribute: {
        const count = parseRespInteger(line, start + 1, end);
        if (Number.isNaN(count)) throw new RespProtocolError('invalid aggregate length');
        if (count < 0) {
          if (depth === 0) reply.isNull = true;
          this.#valueDone();
          return;
        }
        const total = type === ReplyType.map || type === ReplyType.attribute ? count * 2 : count;
        if (total === 0) {
          if (type !== ReplyType.attribute) this.#valueDone();
          return;
        }
        this.#remaining.push(total);
        this.#total.push(total);
        this.#isAttribute.push(type === ReplyType.attribute);
        return;
      }
      default:
        throw new RespProtocolError(`unexpected reply type 0x${type.toString(16)}`);
    }
  }

  #captureFirst(bytes: Buffer, start: number, end: number): void {
    const depth = this.#remaining.length;
    if (depth !== 1 || this.#isAttribute[0] || this.#total[0] !== this.#remaining[0]) return;
    if (end - start <= longestCapturedString && this.#reply.first === undefined) {
      this.#reply.first = bytes.toString('latin1', start, end).toLowerCase();
    }
  }

  /** A value ended: count it against its parent, closing every aggregate it completes. */
  #valueDone(): void {
    for (;;) {
      const depth = this.#remaining.length;
      if (depth === 0) {
        this.#inValue = false;
        this.#onReply(this.#reply);
        return;
      }
      const left = (this.#remaining[depth - 1] as number) - 1;
      if (left > 0) {
        this.#remaining[depth - 1] = left;
        return;
      }
      this.#remaining.pop();
      this.#total.pop();
      // A finished attribute is not a value: the one after it is.
      if (this.#isAttribute.pop()) return;
    }
  }
}
