/**
 * Writers for the server's token stream (MS-TDS 2.2.7). Each function returns one token's bytes; a
 * response message is their concatenation. Only TDS 7.2+ layouts (tedious negotiates 7.4).
 */

const TokenType = {
  returnStatus: 0x79,
  colMetadata: 0x81,
  error: 0xaa,
  info: 0xab,
  loginAck: 0xad,
  featureExtAck: 0xae,
  row: 0xd1,
  envChange: 0xe3,
  fedAuthInfo: 0xee,
  done: 0xfd,
  doneProc: 0xfe,
  doneInProc: 0xff,
} as const;

export const EnvChangeType = {
  database: 1,
  language: 2,
  packetSize: 4,
  sqlCollation: 7,
  beginTransaction: 8,
  commitTransaction: 9,
  rollbackTransaction: 10,
  resetConnection: 18,
  routing: 20,
} as const;

export const DoneStatus = {
  final: 0x00,
  more: 0x01,
  error: 0x02,
  inTransaction: 0x04,
  count: 0x10,
  attention: 0x20,
  serverError: 0x100,
} as const;

/** SQL_Latin1_General_CP1_CI_AS, Azure SQL's default: LCID 0x0409 with its flags, sort id 52. */
export const defaultCollation = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

function ucs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le');
}

/** B_VARCHAR: a 1-byte character count, then UCS-2. */
function bVarChar(text: string): Buffer {
  const characters = Math.min(text.length, 255);
  return Buffer.concat([Buffer.from([characters]), ucs2(text.slice(0, characters))]);
}

/** US_VARCHAR: a 2-byte character count, then UCS-2. */
function usVarChar(text: string): Buffer {
  const characters = Math.min(text.length, 65_535);
  const length = Buffer.alloc(2);
  length.writeUInt16LE(characters);
  return Buffer.concat([length, ucs2(text.slice(0, characters))]);
}

function bVarByte(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** A token whose body is preceded by a 2-byte length. */
function withUShortLength(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(3);
  header.writeUInt8(type, 0);
  header.writeUInt16LE(body.length, 1);
  return Buffer.concat([header, body]);
}

export function envChangeText(type: number, newValue: string, oldValue: string): Buffer {
  return withUShortLength(
    TokenType.envChange,
    Buffer.concat([Buffer.from([type]), bVarChar(newValue), bVarChar(oldValue)]),
  );
}

export function envChangeBytes(type: number, newValue: Buffer, oldValue: Buffer): Buffer {
  return withUShortLength(
    TokenType.envChange,
    Buffer.concat([Buffer.from([type]), bVarByte(newValue), bVarByte(oldValue)]),
  );
}

/**
 * ENVCHANGE type 20, Routing (MS-TDS 2.2.7.9): the new value is a US_VARBYTE holding protocol 0
 * (TCP), the port, and the server name as US_VARCHAR; the old value is an empty US_VARBYTE. Sent
 * after LOGINACK, it tells the client to close this connection and log in again at that address,
 * which is how Azure SQL's gateway hands a client to the node under the Redirect connection policy.
 */
export function routingEnvChangeToken(server: string, port: number): Buffer {
  const header = Buffer.alloc(3);
  header.writeUInt8(0, 0); // protocol: TCP
  header.writeUInt16LE(port, 1);
  const routingData = Buffer.concat([header, usVarChar(server)]);
  const newValueLength = Buffer.alloc(2);
  newValueLength.writeUInt16LE(routingData.length);
  return withUShortLength(
    TokenType.envChange,
    Buffer.concat([Buffer.from([EnvChangeType.routing]), newValueLength, routingData, Buffer.alloc(2)]),
  );
}

export interface ServerMessage {
  number: number;
  state: number;
  /** Severity: 0–10 informational, 11–16 user errors, 14 for login failures. */
  severity: number;
  message: string;
  serverName: string;
  procedureName?: string;
  lineNumber?: number;
}

function messageToken(type: number, message: ServerMessage): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeInt32LE(message.number, 0);
  fixed.writeUInt8(message.state, 4);
  fixed.writeUInt8(message.severity, 5);
  const line = Buffer.alloc(4);
  line.writeInt32LE(message.lineNumber ?? 0);
  return withUShortLength(
    type,
    Buffer.concat([
      fixed,
      usVarChar(message.message),
      bVarChar(message.serverName),
      bVarChar(message.procedureName ?? ''),
      line,
    ]),
  );
}

export function errorToken(message: ServerMessage): Buffer {
  return messageToken(TokenType.error, message);
}

export function infoToken(message: ServerMessage): Buffer {
  return messageToken(TokenType.info, message);
}

export interface LoginAckOptions {
  tdsVersion: number;
  programName: string;
  version: readonly [number, number, number, number];
}

export function loginAckToken(options: LoginAckOptions): Buffer {
  const interfaceAndVersion = Buffer.alloc(5);
  interfaceAndVersion.writeUInt8(0x01, 0); // SQL_TSQL
  // The TDS version is the one field of the token stream written big-endian.
  interfaceAndVersion.writeUInt32BE(options.tdsVersion, 1);
  return withUShortLength(
    TokenType.loginAck,
    Buffer.concat([interfaceAndVersion, bVarChar(options.programName), Buffer.from(options.version)]),
  );
}

export function featureExtAckToken(features: ReadonlyArray<{ featureId: number; data: Buffer }>): Buffer {
  const parts: Buffer[] = [Buffer.from([TokenType.featureExtAck])];
  for (const feature of features) {
    const header = Buffer.alloc(5);
    header.writeUInt8(feature.featureId, 0);
    header.writeUInt32LE(feature.data.length, 1);
    parts.push(header, feature.data);
  }
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

/** FEDAUTHINFO: where the client gets a token (STS URL) and for which resource (SPN). */
export function fedAuthInfoToken(stsUrl: string, spn: string): Buffer {
  const entries = [
    { id: 0x01, data: ucs2(stsUrl) },
    { id: 0x02, data: ucs2(spn) },
  ];
  // Data offsets count from the start of CountOfInfoIDs.
  const headerLength = 4 + entries.length * 9;
  const header = Buffer.alloc(headerLength);
  header.writeUInt32LE(entries.length, 0);
  let dataOffset = headerLength;
  entries.forEach((entry, index) => {
    const at = 4 + index * 9;
    header.writeUInt8(entry.id, at);
    header.writeUInt32LE(entry.data.length, at + 1);
    header.writeUInt32LE(dataOffset, at + 5);
    dataOffset += entry.data.length;
  });
  const body = Buffer.concat([header, ...entries.map((entry) => entry.data)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(TokenType.fedAuthInfo, 0);
  prefix.writeUInt32LE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function doneLike(type: number, status: number, currentCommand: number, rowCount: number): Buffer {
  const token = Buffer.alloc(13);
  token.writeUInt8(type, 0);
  token.writeUInt16LE(status, 1);
  token.writeUInt16LE(currentCommand, 3);
  token.writeBigUInt64LE(BigInt(rowCount), 5);
  return token;
}

/** Command codes for DONE's CurCmd, as SQL Server reports them. */
export const CurrentCommand = {
  none: 0x00,
  select: 0xc1,
  insert: 0xc3,
  delete: 0xc4,
  beginTransaction: 0xd4,
  commitTransaction: 0xd5,
  rollbackTransaction: 0xd2,
  set: 0xb9,
  execute: 0xe0,
} as const;

export function doneToken(status: number, currentCommand = 0, rowCount = 0): Buffer {
  return doneLike(TokenType.done, status, currentCommand, rowCount);
}

export function doneProcToken(status: number, currentCommand = 0, rowCount = 0): Buffer {
  return doneLike(TokenType.doneProc, status, currentCommand, rowCount);
}

export function doneInProcToken(status: number, currentCommand = 0, rowCount = 0): Buffer {
  return doneLike(TokenType.doneInProc, status, currentCommand, rowCount);
}

export function returnStatusToken(value: number): Buffer {
  const token = Buffer.alloc(5);
  token.writeUInt8(TokenType.returnStatus, 0);
  token.writeInt32LE(value, 1);
  return token;
}

/** The column types this endpoint returns: nullable ints of 2, 4 or 8 bytes, and nvarchar(n ≤ 4000). */
export type ColumnType = { kind: 'int'; bytes: 2 | 4 | 8 } | { kind: 'nvarchar'; characters: number };

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
}

export type CellValue = number | string | null;

const DataType = { intN: 0x26, nVarChar: 0xe7 } as const;
const columnFlagNullable = 0x0001;

export function colMetadataToken(columns: readonly ColumnDefinition[]): Buffer {
  const count = Buffer.alloc(3);
  count.writeUInt8(TokenType.colMetadata, 0);
  count.writeUInt16LE(columns.length, 1);
  const parts: Buffer[] = [count];
  for (const column of columns) {
    const userTypeAndFlags = Buffer.alloc(6);
    userTypeAndFlags.writeUInt32LE(0, 0);
    userTypeAndFlags.writeUInt16LE(columnFlagNullable, 4);
    parts.push(userTypeAndFlags);
    if (column.type.kind === 'int') {
      parts.push(Buffer.from([DataType.intN, column.type.bytes]));
    } else {
      const typeInfo = Buffer.alloc(3);
      typeInfo.writeUInt8(DataType.nVarChar, 0);
      typeInfo.writeUInt16LE(column.type.characters * 2, 1);
      parts.push(typeInfo, defaultCollation);
    }
    parts.push(bVarChar(column.name));
  }
  return Buffer.concat(parts);
}

export function rowToken(columns: readonly ColumnDefinition[], values: readonly CellValue[]): Buffer {
  const parts: Buffer[] = [Buffer.from([TokenType.row])];
  columns.forEach((column, index) => {
    const value = values[index] ?? null;
    if (column.type.kind === 'int') {
      if (value === null) {
        parts.push(Buffer.from([0]));
        return;
      }
      const cell = Buffer.alloc(1 + column.type.bytes);
      cell.writeUInt8(column.type.bytes, 0);
      const number = Number(value);
      if (column.type.bytes === 2) cell.writeInt16LE(number, 1);
      else if (column.type.bytes === 4) cell.writeInt32LE(number, 1);
      else cell.writeBigInt64LE(BigInt(number), 1);
      parts.push(cell);
      return;
    }
    if (value === null) {
      parts.push(Buffer.from([0xff, 0xff]));
      return;
    }
    const text = ucs2(String(value).slice(0, column.type.characters));
    const length = Buffer.alloc(2);
    length.writeUInt16LE(text.length);
    parts.push(length, text);
  });
  return Buffer.concat(parts);
}
