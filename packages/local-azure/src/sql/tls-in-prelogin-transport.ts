import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { messageLimits } from './message-limits.js';
import {
  defaultPacketSize,
  encodeMessage,
  PacketType,
  TdsPacketParser,
  TdsProtocolError,
} from './packet-framing.js';

/**
 * The byte stream a server-side TLS socket runs over for TDS 7.x (`encrypt: true`): the TLS
 * handshake travels inside PRELOGIN messages, after which TLS records flow bare on the TCP socket.
 *
 * - Handshake: every PRELOGIN message from the client is one client flight; its payload goes to TLS.
 *   What TLS writes back is one server flight, sent as exactly one PRELOGIN message — tedious reads
 *   exactly one response message per message it sent, so a flight split over two messages would
 *   leave the second one to be misread as the LOGIN7 answer.
 * - After the handshake the client sends TLS records directly (first byte 0x14..0x17, never 0x12 =
 *   PRELOGIN), which is how the switch is detected: the client only does that once it has the
 *   server's last flight, so nothing of the handshake can be left to wrap.
 */
export class PreloginTlsCarrier extends Duplex {
  private readonly socket: Socket;
  private readonly parser = new TdsPacketParser({ maximumMessageBytes: messageLimits.tlsHandshakeFlight });
  private readonly onFailure: (error: Error) => void;
  private wrapping = true;
  private flightParts: Buffer[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private readonly onSocketData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onSocketEnd = (): void => {
    this.push(null);
  };

  /**
   * `wrapped: false` starts in pass-through: TDS 8 runs TLS directly on the socket, and this carrier
   * then only gives the TLS socket the bytes already read to tell the two protocols apart.
   */
  /** Bytes held for a handshake flight not yet complete. */
  get heldBytes(): number {
    return this.parser.heldBytes;
  }

  constructor(
    socket: Socket,
    bufferedBytes: Buffer,
    onFailure: (error: Error) => void,
    options: { wrapped: boolean },
  ) {
    super();
    this.socket = socket;
    this.onFailure = onFailure;
    this.wrapping = options.wrapped;
    socket.on('data', this.onSocketData);
    socket.on('end', this.onSocketEnd);
    if (bufferedBytes.length > 0) this.receive(bufferedBytes);
  }

  private receive(chunk: Buffer): void {
    try {
      if (!this.wrapping) {
        this.push(chunk);
        return;
      }
      if (this.parser.isIdle && chunk.length > 0 && chunk.readUInt8(0) !== PacketType.prelogin) {
        this.wrapping = false;
        this.push(chunk);
        return;
      }
      for (const message of this.parser.push(chunk)) {
        if (message.type !== PacketType.prelogin) {
          throw new TdsProtocolError(
            `expected a PRELOGIN message carrying TLS, got type 0x${message.type.toString(16)}`,
          );
        }
        this.push(message.payload);
      }
      const rest = this.parser.isIdle ? this.parser.takeBuffered() : Buffer.alloc(0);
      if (rest.length > 0) this.receive(rest);
    } catch (error) {
      this.onFailure(error instanceof Error ? error : new Error(String(error)));
    }
  }

  override _read(): void {
    // Push-based: data is pushed as it arrives from the socket.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.wrapping) {
      this.socket.write(chunk, callback);
      return;
    }
    this.flightParts.push(chunk);
    // TLS writes one flight as several chunks within the same turn of the event loop; wait for the
    // turn to end so the flight goes out as one message.
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = setImmediate(() => this.flushFlight());
    callback();
  }

  private flushFlight(): void {
    this.flushScheduled = undefined;
    if (this.flightParts.length === 0 || this.socket.destroyed) return;
    const flight = Buffer.concat(this.flightParts);
    this.flightParts = [];
    this.socket.write(encodeMessage(PacketType.prelogin, flight, defaultPacketSize));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flushFlight();
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.socket.off('data', this.onSocketData);
    this.socket.off('end', this.onSocketEnd);
    this.socket.destroy();
    callback(error);
  }
}
