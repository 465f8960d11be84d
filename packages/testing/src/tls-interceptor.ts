import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { attackerCertificate } from './attacker-certificates.js';
import { leaksIn } from './leak-recorder.js';
import { remoteLookingHost } from './test-host-names.js';

/**
 * What the interceptor's certificate is:
 * - `untrusted-ca`: issued for the right name by a CA nobody trusts (an attacker's own CA);
 * - `wrong-name`: issued by the trusted local CA, but for another host name;
 * - `trusted`: the right name and the trusted CA — the control that proves a leak would be seen.
 */
export type InterceptorCertificate = 'untrusted-ca' | 'wrong-name' | 'trusted';

/** How a client starts TLS on this protocol. */
export type InterceptorPreamble =
  /** TLS from the first byte: HTTPS, Redis over TLS, TDS 8 (`encrypt: 'strict'`). */
  | 'tls'
  /** PostgreSQL: an 8-byte SSLRequest answered with `S`, then TLS. */
  | 'postgres';

export interface TlsInterceptorOptions {
  /** The real service the interceptor relays to (over verified TLS), on loopback. */
  upstreamPort: number;
  certificate: InterceptorCertificate;
  /** The state folder of the local stack whose CA the tests trust (for `wrong-name` and `trusted`). */
  stateFolder: string;
  preamble?: InterceptorPreamble;
  /** ALPN protocols to offer both ways, e.g. `['tds/8.0']`. */
  alpnProtocols?: string[];
  /**
   * PostgreSQL only: instead of relaying (where SCRAM would keep the password from a relaying
   * man in the middle), answer the startup with AuthenticationCleartextPassword — what an attacker
   * holding the server's place would do — record the reply, then refuse the login.
   */
  askForCleartextPassword?: boolean;
  /**
   * The name clients use and the certificate is about (default `keyless-target.test`); give it to
   * `resolveTestHostsToLoopback` too. Key Vault's SDK wants a name under the challenge's domain,
   * e.g. `keyless-target.vault.azure.net`.
   */
  host?: string;
}

/** A man in the middle on loopback: a TLS endpoint that records what clients send through it. */
export interface TlsInterceptor {
  /** The name clients must use (resolved to loopback by `resolveTestHostsToLoopback`). */
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted. */
  readonly connections: number;
  /** TLS handshakes that completed: a client that accepted the certificate. */
  readonly handshakes: number;
  /** Everything clients sent after the handshake, decrypted. */
  received(): string;
  /** Which of `secrets` (and whether any JWT) reached the interceptor. Names only, never values. */
  leaks(secrets: Record<string, string>): string[];
  stop(): Promise<void>;
}

const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
/** 'R', length 8, code 3: AuthenticationCleartextPassword. */
const cleartextPasswordRequest = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);
const passwordRefused = errorResponse('28P01', 'password authentication failed');

/** A PostgreSQL ErrorResponse with severity FATAL. */
function errorResponse(sqlState: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0C${sqlState}\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/** Starts an interceptor on 127.0.0.1 with the chosen certificate. */
export async function startTlsInterceptor(options: TlsInterceptorOptions): Promise<TlsInterceptor> {
  const localCaCertificate = readFileSync(join(options.stateFolder, 'ca', 'ca.pem'), 'utf8');
  const host = options.host ?? remoteLookingHost;
  const credentials = await attackerCertificate(options.certificate, host, options.stateFolder);
  const preamble = options.preamble ?? 'tls';
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let handshakes = 0;

  const relay = async (client: tls.TLSSocket) => {
    handshakes += 1;
    const pending: Buffer[] = [];
    let upstream: tls.TLSSocket | undefined;
    client.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (upstream) upstream.write(chunk);
      else pending.push(chunk);
    });
    client.on('error', () => client.destroy());
    try {
      upstream = await connectUpstream(options, localCaCertificate, preamble);
    } catch {
      client.destroy();
      return;
    }
    const connected = upstream;
    sockets.add(connected);
    for (const chunk of pending.splice(0)) connected.write(chunk);
    connected.on('data', (chunk: Buffer) => client.write(chunk));
    const closeBoth = () => {
      client.destroy();
      connected.destroy();
    };
    client.on('close', closeBoth);
    connected.on('close', closeBoth);
    connected.on('error', closeBoth);
  };

  const askForCleartextPassword = (client: tls.TLSSocket) => {
    handshakes += 1;
    let messages = 0;
    client.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      messages += 1;
      // 1st: the startup message → AuthenticationCleartextPassword; 2nd: the password → refused.
      client.write(messages === 1 ? cleartextPasswordRequest : passwordRefused, () => {
        if (messages > 1) client.end();
      });
    });
  };

  const secureOptions: tls.TlsOptions = {
    ...credentials,
    ...(options.alpnProtocols ? { ALPNProtocols: options.alpnProtocols } : {}),
  };
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    const startTls = () => {
      const secure = new tls.TLSSocket(socket, { isServer: true, ...secureOptions });
      secure.on('secure', () => {
        if (options.askForCleartextPassword) askForCleartextPassword(secure);
        else void relay(secure);
      });
      secure.on('error', () => socket.destroy());
    };
    if (preamble === 'tls') {
      startTls();
      return;
    }
    socket.once('data', (first: Buffer) => {
      if (!first.subarray(0, 8).equals(sslRequest)) {
        socket.destroy();
        return;
      }
      socket.write('S');
      startTls();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    host,
    port,
    get connections() {
      return connections;
    },
    get handshakes() {
      return handshakes;
    },
    received: () => Buffer.concat(chunks).toString('latin1'),
    leaks: (secrets) => leaksIn(Buffer.concat(chunks), secrets),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A verified TLS connection to the real service (the interceptor trusts the local CA). */
function connectUpstream(
  options: TlsInterceptorOptions,
  ca: string,
  preamble: InterceptorPreamble,
): Promise<tls.TLSSocket> {
  const tlsOptions: tls.ConnectionOptions = {
    ca,
    servername: 'localhost',
    ...(options.alpnProtocols ? { ALPNProtocols: options.alpnProtocols } : {}),
  };
  return new Promise((resolve, reject) => {
    const secureOver = (socket?: net.Socket) => {
      const secure = tls.connect(
        socket ? { socket, ...tlsOptions } : { host: '127.0.0.1', port: options.upstreamPort, ...tlsOptions },
      );
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    };
    if (preamble === 'tls') {
      secureOver();
      return;
    }
    // PostgreSQL: ask for TLS in clear, then wrap the same socket.
    const raw = net.connect({ host: '127.0.0.1', port: options.upstreamPort });
    raw.once('error', reject);
    raw.once('connect', () => raw.write(sslRequest));
    raw.once('data', (answer: Buffer) => {
      if (answer[0] !== 0x53) {
        raw.destroy();
        reject(new Error('the upstream PostgreSQL refused TLS'));
        return;
      }
      secureOver(raw);
    });
  });
}
