import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeBerElement,
  encodeBerInteger,
  readBerChildren,
  readBerElement,
} from '../src/postgres/ldap-ber.js';
import { type LdapBindResponder, startLdapBindResponder } from '../src/postgres/ldap-bind-responder.js';

function bindRequest(messageId: number, distinguishedName: string, password: string): Buffer {
  const operation = encodeBerElement(
    0x60,
    Buffer.concat([
      encodeBerInteger(0x02, 3),
      encodeBerElement(0x04, Buffer.from(distinguishedName)),
      encodeBerElement(0x80, Buffer.from(password)),
    ]),
  );
  return encodeBerElement(0x30, Buffer.concat([encodeBerInteger(0x02, messageId), operation]));
}

/** Sends bytes and collects what comes back until the server closes or goes quiet. */
function exchange(port: number, request: Buffer): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = Buffer.alloc(0);
    const finish = (closed: boolean) => {
      socket.destroy();
      resolve({ reply, closed });
    };
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (readBerElement(reply)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(request);
  });
}

function resultCode(reply: Buffer): { messageId: number; code: number } {
  const message = readBerElement(reply);
  if (!message) throw new Error('no complete LDAP message');
  const [messageId, operation] = readBerChildren(message.value);
  const [code] = readBerChildren(operation?.value ?? Buffer.alloc(0));
  expect(operation?.tag).toBe(0x61);
  return {
    messageId: messageId?.value.readIntBE(0, messageId.value.length) ?? -1,
    code: code?.value[0] ?? -1,
  };
}

describe('LDAP bind responder', () => {
  let responder: LdapBindResponder;
  const binds: { distinguishedName: string; password: string }[] = [];

  beforeAll(async () => {
    responder = await startLdapBindResponder(async (distinguishedName, password) => {
      binds.push({ distinguishedName, password });
      return password === 'right';
    });
  });

  afterAll(async () => {
    await responder?.close();
  });

  it('answers success (0) or invalidCredentials (49), echoing the message id', async () => {
    expect(
      resultCode((await exchange(responder.port, bindRequest(200, 'cn=role,dc=keyless', 'right'))).reply),
    ).toEqual({
      messageId: 200,
      code: 0,
    });
    expect(
      resultCode((await exchange(responder.port, bindRequest(1, 'cn=role,dc=keyless', 'wrong'))).reply),
    ).toEqual({
      messageId: 1,
      code: 49,
    });
  });

  it('reads long passwords (long-form BER lengths), as ~1.3 KB tokens need', async () => {
    const longPassword = 'x'.repeat(5_000);
    const outcome = await exchange(responder.port, bindRequest(7, 'cn=role,dc=keyless', longPassword));
    expect(resultCode(outcome.reply).code).toBe(49);
    expect(binds.at(-1)?.password.length).toBe(5_000);
  });

  it('closes the connection on garbage or oversized messages instead of failing', async () => {
    expect((await exchange(responder.port, Buffer.from('GET / HTTP/1.1\r\n\r\n'))).closed).toBe(true);
    expect((await exchange(responder.port, Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]))).closed).toBe(
      true,
    );
    // Still serving afterwards.
    expect(
      resultCode((await exchange(responder.port, bindRequest(2, 'cn=a,dc=keyless', 'right'))).reply).code,
    ).toBe(0);
  });

  it('encodes integers with the sign bit right', () => {
    expect(encodeBerInteger(0x02, 0)).toEqual(Buffer.from([0x02, 0x01, 0x00]));
    expect(encodeBerInteger(0x02, 128)).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x80]));
    expect(encodeBerInteger(0x02, 49)).toEqual(Buffer.from([0x02, 0x01, 0x31]));
  });
});
