/**
 * TDS packet framing (MS-TDS 2.2.3): every message travels as packets with an 8-byte header
 * (type, status, big-endian length, SPID, packet id, window). A message ends with the packet whose
 * status has the end-of-message bit.
 */

export const PacketType = {
  sqlBatch: 0x01,
  rpcRequest: 0x03,
  tabularResult: 0x04,
  attention: 0x06,
  bulkLoad: 0x07,
  fedAuthToken: 0x08,
  transactionManager: 0x0e,
  login7: 0x10,
  sspi: 0x11,
  prelogin: 0x12,
} as const;

const knownPacketTypes: ReadonlySet<number> = new Set(Object.values(PacketType));

export const PacketStatus = {
  endOfMessage: 0x01,
  ignore: 0x02,
  resetConnection: 0x08,
  resetConnectionSkipTransaction: 0x10,
} as const;

export const packetHeaderLength = 8;
/** The largest packet size a client may negotiate (MS-TDS 2.2.6.4, LOGIN7 PacketSize). */
export const maximumPacketSize = 32_767;
/** The packet size before LOGIN7 negotiates one, and what tedious asks for by default. */
export const defaultPacketSize = 4_096;

/** Something the peer sent that is not TDS as this endpoint accepts it: the connection is closed. */
export class TdsProtocolError extends Error {
  override readonly name = 'TdsProtocolError';
}

export interface TdsMessage {
  readonly type: number;
  /** Status bits of the first packet: RESETCONNECTION is only meaningful there. */
  readonly firstStatus: number;
  /** Status bits of the last packet: IGNORE is set there. */
  readonly lastStatus: number;
  readonly payload: Buffer;
  /** Larger than `maximumMessageBytes` (only with `discardOversized`): its payload was dropped as it arrived. */
  readonly oversized: boolean;
}

export interface TdsPacketParserOptions {
  /**
   * A message larger than this is refused. Before login nothing legitimate is large (a LOGIN7 with a
   * token is a few kilobytes); after login a batch can be bigger.
   */
  maximumMessageBytes: number;
  /**
   * Instead of refusing an oversized message, drop its bytes as they arrive and hand it over empty,
   * marked `oversized`, so the request can be answered with an error.
   */
  discardOversized?: boolean;
}

/**
 * Reassembles messages from a byte stream. Bytes arrive in arbitrary chunks (TCP, TLS records), so
 * it buffers until a whole packet, and then a whole message, is there.
 */
export class TdsPacketParser {
  private pending: Buffer = Buffer.alloc(0);
  private messageParts: Buffer[] = [];
  /** Bytes of the message so far, dropped ones included. */
  private messageBytes = 0;
  /** Bytes of the message so far that are kept in `messageParts`. */
  private keptBytes = 0;
  private oversized = false;
  private messageType: number | undefined;
  private messageFirstStatus = 0;
  maximumMessageBytes: number;
  discardOversized: boolean;

  constructor(options: TdsPacketParserOptions) {
    this.maximumMessageBytes = options.maximumMessageBytes;
    this.discardOversized = options.discardOversized ?? false;
  }

  /** Bytes received but not yet part of a complete packet. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /** Every byte this parser holds: a partial packet and the kept parts of a partial message. */
  get heldBytes(): number {
    return this.pending.length + this.keptBytes;
  }

  /** At a message boundary: no partial packet and no partial message buffered. */
  get isIdle(): boolean {
    return this.messageType === undefined && this.pending.length === 0;
  }

  /** Hands over what is buffered (used when the byte stream changes hands, e.g. to TLS). */
  takeBuffered(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** Returns every message completed by `chunk`; throws TdsProtocolError on malformed framing. */
  push(chunk: Buffer): TdsMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: TdsMessage[] = [];
    if (this.pending.length > 0 && !knownPacketTypes.has(this.pending.readUInt8(0))) {
      throw new TdsProtocolError(`unknown packet type 0x${this.pending.readUInt8(0).toString(16)}`);
    }
    while (this.pending.length >= packetHeaderLength) {
      const type = this.pending.readUInt8(0);
      // Checked before waiting for the rest, so non-TDS bytes are refused at once, not buffered.
      if (!knownPacketTypes.has(type))
        throw new TdsProtocolError(`unknown packet type 0x${type.toString(16)}`);
      const status = this.pending.readUInt8(1);
      const length = this.pending.readUInt16BE(2);
      if (length < packetHeaderLength || length > maximumPacketSize) {
        throw new TdsProtocolError(
          `packet length ${length} is outside ${packetHeaderLength}..${maximumPacketSize}`,
        );
      }
      if (this.messageType !== undefined && type !== this.messageType) {
        throw new TdsProtocolError(
          `packet type 0x${type.toString(16)} inside a message of type 0x${this.messageType.toString(16)}`,
        );
      }
      if (this.pending.length < length) break;
      const body = this.pending.subarray(packetHeaderLength, length);
      this.pending = this.pending.subarray(length);
      if (this.messageType === undefined) {
        this.messageType = type;
        this.messageFirstStatus = status;
      }
      this.messageBytes += body.length;
      if (this.messageBytes > this.maximumMessageBytes) {
        if (!this.discardOversized) {
          throw new TdsProtocolError(`message larger than ${this.maximumMessageBytes} bytes`);
        }
        this.oversized = true;
        this.messageParts = [];
        this.keptBytes = 0;
      } else {
        // A copy: a view would keep the whole chunk it came in alive, more than is counted.
        this.messageParts.push(Buffer.from(body));
        this.keptBytes += body.length;
      }
      if ((status & PacketStatus.endOfMessage) !== 0) {
        messages.push({
          type,
          firstStatus: this.messageFirstStatus,
          lastStatus: status,
          payload: this.oversized ? Buffer.alloc(0) : Buffer.concat(this.messageParts),
          oversized: this.oversized,
        });
        this.messageParts = [];
        this.messageBytes = 0;
        this.keptBytes = 0;
        this.oversized = false;
        this.messageType = undefined;
        this.messageFirstStatus = 0;
      }
    }
    // What is left is less than a packet; as a view it would keep the whole chunk alive.
    if (this.pending.length > 0 && this.pending.buffer.byteLength > 2 * this.pending.length) {
      this.pending = Buffer.from(this.pending);
    }
    return messages;
  }
}

/** Splits a message payload into packets of at most `packetSize` bytes, headers included. */
export function encodeMessage(type: number, payload: Buffer, packetSize: number, spid = 0): Buffer {
  const bodyPerPacket = packetSize - packetHeaderLength;
  const packets: Buffer[] = [];
  let offset = 0;
  let packetId = 1;
  do {
    const body = payload.subarray(offset, offset + bodyPerPacket);
    offset += body.length;
    const header = Buffer.alloc(packetHeaderLength);
    header.writeUInt8(type, 0);
    header.writeUInt8(offset >= payload.length ? PacketStatus.endOfMessage : 0, 1);
    header.writeUInt16BE(packetHeaderLength + body.length, 2);
    header.writeUInt16BE(spid, 4);
    header.writeUInt8(packetId % 256, 6);
    header.writeUInt8(0, 7);
    packets.push(header, body);
    packetId += 1;
  } while (offset < payload.length);
  return Buffer.concat(packets);
}
