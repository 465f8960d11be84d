import { TdsProtocolError } from './packet-framing.js';

/**
 * Decoding of the request messages a logged-in client sends: SQL batch, RPC (tedious sends every
 * parameterised `Request` as `sp_executesql`), and transaction manager requests.
 */

/** Skips ALL_HEADERS (TDS 7.2+): a 4-byte total length that includes itself. */
function skipAllHeaders(payload: Buffer): number {
  if (payload.length < 4) throw new TdsProtocolError('request is shorter than ALL_HEADERS');
  const totalLength = payload.readUInt32LE(0);
  if (totalLength < 4 || totalLength > payload.length) {
    throw new TdsProtocolError('ALL_HEADERS length does not fit the message');
  }
  return totalLength;
}

export function parseSqlBatch(payload: Buffer): string {
  const start = skipAllHeaders(payload);
  if ((payload.length - start) % 2 !== 0) throw new TdsProtocolError('SQL batch text is not UCS-2');
  return payload.toString('utf16le', start);
}

export type ParameterValue = number | bigint | string | boolean | null;

export interface RpcParameter {
  /** As sent, with the leading `@`. */
  name: string;
  value: ParameterValue;
}

export interface RpcRequest {
  /** A well-known procedure id (10 = sp_executesql) or a procedure name. */
  procedure: number | string;
  parameters: RpcParameter[];
}

/** An RPC parameter whose type this endpoint does not decode: answered with a SQL error, not a hang. */
export class UnsupportedParameterTypeError extends Error {
  override readonly name = 'UnsupportedParameterTypeError';
}

const SqlType = {
  int1: 0x30,
  bit: 0x32,
  int2: 0x34,
  int4: 0x38,
  int8: 0x7f,
  intN: 0x26,
  bitN: 0x68,
  floatN: 0x6d,
  bigVarChar: 0xa7,
  bigChar: 0xaf,
  nVarChar: 0xe7,
  nChar: 0xef,
} as const;

class Reader {
  offset: number;
  constructor(
    readonly buffer: Buffer,
    offset: number,
  ) {
    this.offset = offset;
  }
  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new TdsProtocolError('RPC request is truncated');
  }
  get remaining(): number {
    return this.buffer.length - this.offset;
  }
  uint8(): number {
    this.need(1);
    const value = this.buffer.readUInt8(this.offset);
    this.offset += 1;
    return value;
  }
  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }
  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

function readInteger(bytes: Buffer): number | bigint {
  switch (bytes.length) {
    case 1:
      return bytes.readUInt8(0);
    case 2:
      return bytes.readInt16LE(0);
    case 4:
      return bytes.readInt32LE(0);
    case 8: {
      const value = bytes.readBigInt64LE(0);
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value;
    }
    default:
      throw new TdsProtocolError(`integer of ${bytes.length} bytes`);
  }
}

/** Partially length-prefixed bytes (varchar(max)/nvarchar(max)): chunks until a zero-length one. */
function readPlp(reader: Reader): Buffer | null {
  const lowWord = reader.uint32();
  const highWord = reader.uint32();
  if (lowWord === 0xffffffff && highWord === 0xffffffff) return null;
  const chunks: Buffer[] = [];
  while (true) {
    const chunkLength = reader.uint32();
    if (chunkLength === 0) break;
    chunks.push(reader.bytes(chunkLength));
  }
  return Buffer.concat(chunks);
}

function readValue(reader: Reader, parameterName: string): ParameterValue {
  const type = reader.uint8();
  switch (type) {
    case SqlType.int1:
      return reader.uint8();
    case SqlType.bit:
      return reader.uint8() !== 0;
    case SqlType.int2:
      return readInteger(reader.bytes(2));
    case SqlType.int4:
      return readInteger(reader.bytes(4));
    case SqlType.int8:
      return readInteger(reader.bytes(8));
    case SqlType.intN:
    case SqlType.bitN:
    case SqlType.floatN: {
      reader.uint8(); // declared maximum length
      const length = reader.uint8();
      if (length === 0) return null;
      const bytes = reader.bytes(length);
      if (type === SqlType.bitN) return bytes.readUInt8(0) !== 0;
      if (type === SqlType.floatN) return length === 4 ? bytes.readFloatLE(0) : bytes.readDoubleLE(0);
      return readInteger(bytes);
    }
    case SqlType.nVarChar:
    case SqlType.nChar:
    case SqlType.bigVarChar:
    case SqlType.bigChar: {
      const maximumLength = reader.uint16();
      reader.bytes(5); // collation
      const unicode = type === SqlType.nVarChar || type === SqlType.nChar;
      let bytes: Buffer | null;
      if (maximumLength === 0xffff) {
        bytes = readPlp(reader);
      } else {
        const length = reader.uint16();
        bytes = length === 0xffff ? null : reader.bytes(length);
      }
      if (bytes === null) return null;
      return unicode ? bytes.toString('utf16le') : bytes.toString('latin1');
    }
    default:
      throw new UnsupportedParameterTypeError(
        `parameter ${parameterName} has type 0x${type.toString(16)}, which the keyless local SQL endpoint does not decode (use Int, BigInt, Bit, Float, NVarChar or VarChar)`,
      );
  }
}

export function parseRpcRequest(payload: Buffer): RpcRequest {
  const reader = new Reader(payload, skipAllHeaders(payload));
  const nameLength = reader.uint16();
  const procedure =
    nameLength === 0xffff ? reader.uint16() : reader.bytes(nameLength * 2).toString('utf16le');
  reader.uint16(); // option flags
  const parameters: RpcParameter[] = [];
  while (reader.remaining > 0) {
    const nameCharacters = reader.uint8();
    // 0xFF / 0x80 separate several RPCs batched in one message; tedious never sends that.
    const name = reader.bytes(nameCharacters * 2).toString('utf16le');
    reader.uint8(); // status flags (output parameter, default value)
    parameters.push({ name, value: readValue(reader, name) });
  }
  return { procedure, parameters };
}

export const TransactionRequestType = {
  begin: 0x05,
  commit: 0x07,
  rollback: 0x08,
  save: 0x09,
} as const;

export interface TransactionManagerRequest {
  requestType: number;
  /** The descriptor the client sent in ALL_HEADERS (zero outside a transaction). */
  transactionName: string;
}

export function parseTransactionManagerRequest(payload: Buffer): TransactionManagerRequest {
  const reader = new Reader(payload, skipAllHeaders(payload));
  const requestType = reader.uint16();
  let transactionName = '';
  if (requestType === TransactionRequestType.begin) {
    reader.uint8(); // isolation level
    transactionName = reader.bytes(reader.uint8()).toString('utf16le');
  } else if (
    requestType === TransactionRequestType.commit ||
    requestType === TransactionRequestType.rollback ||
    requestType === TransactionRequestType.save
  ) {
    transactionName = reader.bytes(reader.uint8()).toString('utf16le');
  }
  return { requestType, transactionName };
}
