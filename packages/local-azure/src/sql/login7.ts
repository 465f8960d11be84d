import { TdsProtocolError } from './packet-framing.js';

/** LOGIN7 (MS-TDS 2.2.6.4): only what this endpoint acts on. */
export interface Login7Request {
  tdsVersion: number;
  packetSize: number;
  hostName: string;
  userName: string;
  /** True when a password was sent: SQL authentication, which Entra-only servers refuse. */
  hasPassword: boolean;
  appName: string;
  serverName: string;
  libraryName: string;
  language: string;
  database: string;
  /** Feature id → feature data, from the FeatureExt block (TDS 7.4). */
  features: Map<number, Buffer>;
}

export const FeatureId = {
  sessionRecovery: 0x01,
  fedAuth: 0x02,
  columnEncryption: 0x04,
  globalTransactions: 0x05,
  azureSqlSupport: 0x08,
  utf8Support: 0x0a,
  terminator: 0xff,
} as const;

const fixedLength = 94;
const optionFlags3ExtensionUsed = 0x10;

export function parseLogin7(payload: Buffer): Login7Request {
  if (payload.length < fixedLength) throw new TdsProtocolError('LOGIN7 is shorter than its fixed part');
  const declaredLength = payload.readUInt32LE(0);
  if (declaredLength > payload.length) throw new TdsProtocolError('LOGIN7 length exceeds the message');

  // Offsets are from the start of LOGIN7; lengths count UCS-2 characters.
  const readString = (offsetField: number): string => {
    const start = payload.readUInt16LE(offsetField);
    const characters = payload.readUInt16LE(offsetField + 2);
    if (characters === 0) return '';
    const end = start + characters * 2;
    if (end > payload.length) throw new TdsProtocolError('LOGIN7 string points past the message');
    return payload.toString('utf16le', start, end);
  };

  const features = new Map<number, Buffer>();
  const optionFlags3 = payload.readUInt8(27);
  if ((optionFlags3 & optionFlags3ExtensionUsed) !== 0) {
    // ibExtension points at a 4-byte offset of the FeatureExt block (usually at the very end).
    const pointerOffset = payload.readUInt16LE(56);
    const pointerLength = payload.readUInt16LE(58);
    if (pointerLength >= 4) {
      if (pointerOffset + 4 > payload.length)
        throw new TdsProtocolError('LOGIN7 extension pointer is truncated');
      let offset = payload.readUInt32LE(pointerOffset);
      while (true) {
        if (offset >= payload.length) throw new TdsProtocolError('LOGIN7 FeatureExt has no terminator');
        const featureId = payload.readUInt8(offset);
        if (featureId === FeatureId.terminator) break;
        if (offset + 5 > payload.length) throw new TdsProtocolError('LOGIN7 feature header is truncated');
        const length = payload.readUInt32LE(offset + 1);
        const start = offset + 5;
        if (start + length > payload.length) throw new TdsProtocolError('LOGIN7 feature data is truncated');
        features.set(featureId, payload.subarray(start, start + length));
        offset = start + length;
      }
    }
  }

  return {
    tdsVersion: payload.readUInt32LE(4),
    packetSize: payload.readUInt32LE(8),
    hostName: readString(36),
    userName: readString(40),
    hasPassword: payload.readUInt16LE(46) > 0,
    appName: readString(48),
    serverName: readString(52),
    libraryName: readString(60),
    language: readString(64),
    database: readString(68),
    features,
  };
}
