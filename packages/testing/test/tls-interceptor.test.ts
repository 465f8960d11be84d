import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InterceptorCertificate,
  resolveTestHostsToLoopback,
  startTlsInterceptor,
} from '../src/index.js';

const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;

/** A TLS echo server with the local stack's certificate: the "real service" behind the interceptor. */
function startEchoServer(): Promise<tls.Server> {
  const server = tls.createServer(
    {
      cert: readFileSync(process.env.KEYLESS_TEST_SERVER_CERT as string),
      key: readFileSync(process.env.KEYLESS_TEST_SERVER_KEY as string),
    },
    (socket) => socket.on('data', (chunk) => socket.write(chunk)),
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** What a careful client does: default verification, the host name as given. */
function send(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port }, () => socket.write(text));
    socket.once('data', (chunk) => {
      socket.end();
      resolve(chunk.toString());
    });
    socket.once('error', reject);
  });
}

describe('the TLS interceptor the attacker suites use', () => {
  let echo: tls.Server;
  let restoreLookup: () => void;

  beforeAll(async () => {
    restoreLookup = resolveTestHostsToLoopback();
    echo = await startEchoServer();
  });

  afterAll(async () => {
    restoreLookup();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('sees what a client sends when its certificate is trusted (the control: a leak would be caught)', async () => {
    const interceptor = await startTlsInterceptor({
      upstreamPort: (echo.address() as AddressInfo).port,
      certificate: 'trusted',
      stateFolder,
    });
    try {
      expect(await send(interceptor.host, interceptor.port, 'password=canary-123456')).toBe(
        'password=canary-123456',
      );
      expect(interceptor.handshakes).toBe(1);
      expect(interceptor.leaks({ canary: 'canary-123456', other: 'not-sent-000' })).toEqual(['canary']);
    } finally {
      await interceptor.stop();
    }
  });

  it.each([
    ['untrusted-ca', /self.signed|unable to verify|certificate/i],
    ['wrong-name', /does not match|altnames/i],
  ] as [InterceptorCertificate, RegExp][])(
    'is refused by a verifying client with a %s certificate, and sees nothing',
    async (certificate, message) => {
      const interceptor = await startTlsInterceptor({
        upstreamPort: (echo.address() as AddressInfo).port,
        certificate,
        stateFolder,
      });
      try {
        await expect(send(interceptor.host, interceptor.port, 'password=canary-123456')).rejects.toThrow(
          message,
        );
        expect(interceptor.connections).toBe(1);
        expect(interceptor.handshakes).toBe(0);
        expect(interceptor.leaks({ canary: 'canary-123456' })).toEqual([]);
      } finally {
        await interceptor.stop();
      }
    },
  );
});
