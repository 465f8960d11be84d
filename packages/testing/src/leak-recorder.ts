import net from 'node:net';

/** What a man in the middle saw: the names of the secrets that reached it, never their values. */
export interface LeakRecorder {
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted. */
  readonly connections: number;
  /** Which of `secrets` (and whether any JWT) reached it. Names only, never values. */
  leaks(secrets: Record<string, string>): string[];
  stop(): Promise<void>;
}

const jwtPattern = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;

/**
 * The names of `secrets` found in what a client sent, plus `a token (JWT)` when one is there. TDS
 * sends LOGIN7 strings and the FedAuth token as UTF-16LE, so both byte alignments are read too.
 */
export function leaksIn(bytes: Buffer, secrets: Record<string, string>): string[] {
  const texts = [bytes.toString('latin1'), utf16Text(bytes), utf16Text(bytes.subarray(1))];
  const found = Object.entries(secrets)
    .filter(([, value]) => value.length > 0 && texts.some((text) => text.includes(value)))
    .map(([name]) => name);
  if (texts.some((text) => jwtPattern.test(text))) found.push('a token (JWT)');
  return found;
}

/**
 * The UTF-16LE reading of whole code units only. Node 24.21 writes a byte past its allocation when
 * it decodes an odd-length slice that starts at an odd address (the read at offset 1 above), which
 * corrupts the heap and crashes the process: https://github.com/nodejs/node/pull/64697. A trailing
 * odd byte is no code unit anyway.
 */
function utf16Text(bytes: Buffer): string {
  return bytes.subarray(0, bytes.length - (bytes.length % 2)).toString('utf16le');
}

/**
 * A plaintext listener on loopback that records every byte a client sends: the target for the
 * "credential in clear" rows, which a TLS interceptor could not read (it would see a failed
 * handshake, not the credential). It never answers.
 */
export async function startPlaintextRecorder(host: string): Promise<LeakRecorder> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
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
    leaks: (secrets) => leaksIn(Buffer.concat(chunks), secrets),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
