import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticationFor,
  close,
  connect,
  query,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

let stack: SqlTestStack;

beforeAll(async () => {
  stack = await startSqlTestStack();
});

afterAll(async () => {
  await stack.stop();
});

function packet(type: number, payload: Buffer, status = 0x01, declaredLength = payload.length + 8): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt8(status, 1);
  header.writeUInt16BE(declaredLength, 2);
  header.writeUInt8(1, 6);
  return Buffer.concat([header, payload]);
}

/** A minimal, valid PRELOGIN asking for encryption. */
function prelogin(): Buffer {
  const payload = Buffer.from([
    0x00, 0x00, 0x0b, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xff, 1, 0, 0, 0, 0, 0, 0x01,
  ]);
  return packet(0x12, payload);
}

interface Exchange {
  received: Buffer;
}

/** Writes the bytes, then collects the answer until the server closes the socket. */
function untilClosed(socket: Socket, ...writes: Buffer[]): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ received: Buffer.concat(chunks) }));
    for (const bytes of writes) socket.write(bytes);
  });
}

function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: stack.sql.host, port: stack.sql.port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function expectStillServing(): Promise<void> {
  const { connection } = await connect(
    tediousConfiguration(stack, true, await authenticationFor(stack, 'access-token')),
  );
  expect(await query(connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  await close(connection);
}

describe('garbage in', () => {
  it('closes a connection that speaks neither TDS nor TLS', async () => {
    const exchange = await untilClosed(await rawSocket(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(exchange.received.length).toBe(0);
    await expectStillServing();
  });

  it('closes on an oversized packet length', async () => {
    const oversized = packet(0x12, Buffer.alloc(16), 0x01, 0xffff);
    await untilClosed(await rawSocket(), oversized);
    await expectStillServing();
  });

  it('closes on a packet length shorter than its header', async () => {
    await untilClosed(await rawSocket(), packet(0x12, Buffer.alloc(0), 0x01, 4));
    await expectStillServing();
  });

  it('closes on LOGIN7 before PRELOGIN', async () => {
    await untilClosed(await rawSocket(), packet(0x10, Buffer.alloc(100)));
    await expectStillServing();
  });

  it('closes on a PRELOGIN without a terminator', async () => {
    await untilClosed(await rawSocket(), packet(0x12, Buffer.from([0x00, 0x00, 0x40, 0x00, 0x06])));
    await expectStillServing();
  });

  it('survives a truncated packet followed by a disconnect', async () => {
    const socket = await rawSocket();
    socket.write(prelogin().subarray(0, 5));
    socket.destroy();
    await expectStillServing();
  });

  it('answers PRELOGIN, then closes when the TLS handshake inside it is garbage', async () => {
    const socket = await rawSocket();
    const exchange = untilClosed(socket, prelogin());
    await new Promise((resolve) => socket.once('data', resolve));
    socket.write(packet(0x12, Buffer.from('this is not a TLS ClientHello at all')));
    const { received } = await exchange;
    expect(received.readUInt8(0)).toBe(0x04); // the PRELOGIN answer is a tabular result packet
    await expectStillServing();
  });

  it('survives a client that disconnects in the middle of the TLS handshake', async () => {
    const socket = await rawSocket();
    socket.write(prelogin());
    await new Promise((resolve) => socket.once('data', resolve));
    // The first bytes of a TLS record, wrapped in a PRELOGIN packet that never ends.
    socket.write(packet(0x12, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff]), 0x00));
    socket.destroy();
    await expectStillServing();
  });

  it('closes on a truncated LOGIN7 inside TDS 8 TLS, and on an unknown message type after it', async () => {
    for (const bytes of [packet(0x10, Buffer.alloc(20)), packet(0x55, Buffer.alloc(20))]) {
      const secure = tlsConnect({
        host: stack.sql.host,
        port: stack.sql.port,
        ca: stack.authority.caCertificate,
        ALPNProtocols: ['tds/8.0'],
      });
      await new Promise((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      expect(secure.alpnProtocol).toBe('tds/8.0');
      const prologue = untilClosed(secure as unknown as Socket, prelogin());
      await new Promise((resolve) => secure.once('data', resolve));
      secure.write(bytes);
      await prologue;
    }
    await expectStillServing();
  });

  it('closes a logged-in connection that sends a message type it does not accept', async () => {
    const { connection } = await connect(
      tediousConfiguration(stack, 'strict', await authenticationFor(stack, 'access-token')),
    );
    const lost = new Promise((resolve) => connection.once('error', resolve));
    const ended = new Promise((resolve) => connection.once('end', resolve));
    // A second PRELOGIN after login is not a request.
    (
      connection as unknown as { messageIo: { sendMessage(type: number, data: Buffer): void } }
    ).messageIo.sendMessage(0x12, Buffer.from([0xff]));
    expect(await lost).toMatchObject({ code: 'ESOCKET' });
    await ended;
    await expectStillServing();
  });

  it('has no connection left open afterwards', async () => {
    await expect.poll(() => stack.sql.counters.openConnections).toBe(0);
  });
});
