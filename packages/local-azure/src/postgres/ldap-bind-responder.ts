import { createServer, type Server, type Socket } from 'node:net';
import { listenOn } from '../http/listen-on.js';
import { loopbackHost } from '../processes/free-port.js';
import {
  BerError,
  decodeBerInteger,
  encodeBerElement,
  encodeBerInteger,
  readBerChildren,
  readBerElement,
} from './ldap-ber.js';

/** Decides a simple bind: the DN PostgreSQL built from the role name, and the password the client sent. */
export type BindCheck = (distinguishedName: string, password: string) => Promise<boolean>;

export interface LdapBindResponder {
  readonly port: number;
  close(): Promise<void>;
}

// LDAPv3 (RFC 4511) tags: universal, application and context-specific.
const tags = {
  sequence: 0x30,
  integer: 0x02,
  octetString: 0x04,
  enumerated: 0x0a,
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  abandonRequest: 0x50,
  simpleAuthentication: 0x80,
} as const;

const idleTimeoutMs = 10_000;

const resultCodes = {
  success: 0,
  protocolError: 2,
  authMethodNotSupported: 7,
  invalidCredentials: 49,
} as const;

function bindResponse(messageId: number, resultCode: number, diagnostic: string): Buffer {
  const operation = encodeBerElement(
    tags.bindResponse,
    Buffer.concat([
      encodeBerInteger(tags.enumerated, resultCode),
      encodeBerElement(tags.octetString, Buffer.alloc(0)),
      encodeBerElement(tags.octetString, Buffer.from(diagnostic, 'utf8')),
    ]),
  );
  return encodeBerElement(
    tags.sequence,
    Buffer.concat([encodeBerInteger(tags.integer, messageId), operation]),
  );
}

/**
 * The part of an LDAP server PostgreSQL's `ldap` authentication in simple-bind mode talks to: it
 * connects, sends one BindRequest with DN `<ldapprefix><role><ldapsuffix>` and the client's
 * password, reads the BindResponse and unbinds. Everything else closes the connection.
 */
export async function startLdapBindResponder(check: BindCheck, port = 0): Promise<LdapBindResponder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // PostgreSQL binds and unbinds at once; a connection idle this long is not PostgreSQL.
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    serveConnection(socket, check);
  });
  server.unref();
  return {
    port: await listenOn(server, loopbackHost, port),
    close: () =>
      new Promise<void>((closed) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => closed());
      }),
  };
}

function serveConnection(socket: Socket, check: BindCheck): void {
  let pending = Buffer.alloc(0);
  let queue = Promise.resolve();
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    try {
      for (;;) {
        // Checked before the length: a stray client (an HTTP probe) is dropped at once, not waited for.
        if (pending.length > 0 && pending[0] !== tags.sequence)
          throw new BerError('an LDAP message is a SEQUENCE');
        const message = readBerElement(pending);
        if (!message) break;
        pending = pending.subarray(message.end);
        // Answer in order even though checking a token is asynchronous.
        queue = queue.then(() => handleMessage(socket, message.value, check));
      }
    } catch {
      socket.destroy();
    }
  });
}

async function handleMessage(socket: Socket, message: Buffer, check: BindCheck): Promise<void> {
  if (socket.destroyed) return;
  try {
    const [messageIdElement, operation] = readBerChildren(message);
    if (!messageIdElement || !operation) throw new BerError('LDAP message without an operation');
    const messageId = decodeBerInteger(messageIdElement.value);
    if (operation.tag === tags.unbindRequest) {
      socket.end();
      return;
    }
    if (operation.tag === tags.abandonRequest) return;
    if (operation.tag !== tags.bindRequest) {
      socket.destroy();
      return;
    }
    const [, name, authentication] = readBerChildren(operation.value);
    if (!name || !authentication) {
      socket.write(bindResponse(messageId, resultCodes.protocolError, 'malformed BindRequest'));
      return;
    }
    if (authentication.tag !== tags.simpleAuthentication) {
      socket.write(bindResponse(messageId, resultCodes.authMethodNotSupported, 'only simple bind'));
      return;
    }
    let accepted = false;
    try {
      accepted = await check(name.value.toString('utf8'), authentication.value.toString('utf8'));
    } catch {
      accepted = false;
    }
    if (socket.destroyed) return;
    socket.write(
      accepted
        ? bindResponse(messageId, resultCodes.success, '')
        : bindResponse(messageId, resultCodes.invalidCredentials, 'invalid credentials'),
    );
  } catch {
    socket.destroy();
  }
}
