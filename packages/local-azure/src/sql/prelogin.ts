import { TdsProtocolError } from './packet-framing.js';

/** PRELOGIN option tokens (MS-TDS 2.2.6.5). */
const PreloginOption = {
  version: 0x00,
  encryption: 0x01,
  instance: 0x02,
  threadId: 0x03,
  mars: 0x04,
  traceId: 0x05,
  fedAuthRequired: 0x06,
  terminator: 0xff,
} as const;

export const Encryption = {
  off: 0x00,
  on: 0x01,
  notSupported: 0x02,
  required: 0x03,
} as const;

export interface PreloginRequest {
  encryption: number | undefined;
  /** The client announced FEDAUTHREQUIRED, so the server answers it (and expects the echo in LOGIN7). */
  fedAuthRequiredOffered: boolean;
}

export function parsePreloginRequest(payload: Buffer): PreloginRequest {
  let offset = 0;
  let encryption: number | undefined;
  let fedAuthRequiredOffered = false;
  // Each option header is 5 bytes: token, big-endian offset, big-endian length.
  while (true) {
    if (offset >= payload.length) throw new TdsProtocolError('PRELOGIN has no terminator');
    const token = payload.readUInt8(offset);
    if (token === PreloginOption.terminator) break;
    if (offset + 5 > payload.length) throw new TdsProtocolError('PRELOGIN option header is truncated');
    const dataOffset = payload.readUInt16BE(offset + 1);
    const dataLength = payload.readUInt16BE(offset + 3);
    if (dataOffset + dataLength > payload.length)
      throw new TdsProtocolError('PRELOGIN option data is truncated');
    if (token === PreloginOption.encryption && dataLength >= 1) encryption = payload.readUInt8(dataOffset);
    if (token === PreloginOption.fedAuthRequired) fedAuthRequiredOffered = true;
    offset += 5;
  }
  return { encryption, fedAuthRequiredOffered };
}

export interface PreloginResponseOptions {
  encryption: number;
  fedAuthRequired: boolean;
  /** Major, minor, build: the SQL Server version this endpoint reports. */
  version: readonly [number, number, number];
}

export function buildPreloginResponse(options: PreloginResponseOptions): Buffer {
  const [major, minor, build] = options.version;
  const versionData = Buffer.alloc(6);
  versionData.writeUInt8(major, 0);
  versionData.writeUInt8(minor, 1);
  versionData.writeUInt16BE(build, 2);
  versionData.writeUInt16BE(0, 4);
  const entries: Array<{ token: number; data: Buffer }> = [
    { token: PreloginOption.version, data: versionData },
    { token: PreloginOption.encryption, data: Buffer.from([options.encryption]) },
    { token: PreloginOption.instance, data: Buffer.from([0x00]) },
    // Azure SQL answers an empty THREADID; tedious accepts a zero length.
    { token: PreloginOption.threadId, data: Buffer.alloc(0) },
    { token: PreloginOption.mars, data: Buffer.from([0x00]) },
  ];
  if (options.fedAuthRequired) {
    // 0x01: the client must echo the FedAuth request in LOGIN7 (what Azure SQL answers).
    entries.push({ token: PreloginOption.fedAuthRequired, data: Buffer.from([0x01]) });
  }
  const headerLength = entries.length * 5 + 1;
  const headers = Buffer.alloc(headerLength);
  let dataOffset = headerLength;
  entries.forEach((entry, index) => {
    headers.writeUInt8(entry.token, index * 5);
    headers.writeUInt16BE(dataOffset, index * 5 + 1);
    headers.writeUInt16BE(entry.data.length, index * 5 + 3);
    dataOffset += entry.data.length;
  });
  headers.writeUInt8(PreloginOption.terminator, headerLength - 1);
  return Buffer.concat([headers, ...entries.map((entry) => entry.data)]);
}
