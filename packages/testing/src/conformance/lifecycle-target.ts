import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { CredentialUnavailableError, type TokenProvider } from '@keyless/core';
import type { TokenBackend } from '@keyless/core/testing';
import { createTokenProviderWithInternals } from '@keyless/core/testing';

/** Where the lifecycle group points a connector: a loopback port, and the provider to use. */
export interface LifecycleTarget {
  /** Always `127.0.0.1`. */
  host: string;
  port: number;
  /** `https://127.0.0.1:<port>`, for connectors configured by URL (add the path your service needs). */
  url: string;
  tokenProvider: TokenProvider;
}

/** A token provider whose requests the group counts. */
export interface CountedTokenProvider {
  provider: TokenProvider;
  /** getToken calls so far. */
  readonly requests: number;
}

/**
 * A real keyless TokenProvider over a fake backend (core's test seam): it hands out a made-up,
 * non-JWT token, or — `unreachable` — fails as a provider with no identity endpoint does. Each
 * provider has its own made-up client id, so core's process-wide cache never answers one
 * provider's request with another's token.
 */
export function countedTokenProvider(behaviour: 'answers' | 'unreachable'): CountedTokenProvider {
  const clientId = randomUUID();
  const backend: TokenBackend = {
    name: 'azure-identity',
    identity: { kind: 'user-assigned', by: 'client-id', value: clientId },
    fetchToken: async () => {
      if (behaviour === 'unreachable') {
        throw new CredentialUnavailableError(
          'the conformance suite gives this provider no reachable identity endpoint',
        );
      }
      return {
        token: `keyless-conformance-token-${randomBytes(12).toString('hex')}`,
        expiresOnTimestamp: Date.now() + 3_600_000,
      };
    },
  };
  const real = createTokenProviderWithInternals(
    { backend: 'azure-identity', identity: { clientId } },
    { backend },
  );
  let requests = 0;
  // A delegating object, not a Proxy: the provider's methods use private fields of the real one.
  const provider: TokenProvider = {
    backend: real.backend,
    identity: real.identity,
    identityDescription: real.identityDescription,
    getToken: (scopes, options) => {
      requests += 1;
      return real.getToken(scopes, options);
    },
    warmUp: (scopes) => real.warmUp(scopes),
    on: (name, listener) => real.on(name, listener),
    off: (name, listener) => real.off(name, listener),
    close: () => real.close(),
  };
  return {
    provider,
    get requests() {
      return requests;
    },
  };
}

/** A loopback port nothing listens on: a connection to it is refused at once. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port was assigned');
  return address.port;
}

/** A loopback listener that counts connections and never answers: what a lazy connector never reaches. */
export interface CountingListener {
  port: number;
  readonly connections: number;
  close(): Promise<void>;
}

export async function countingListener(): Promise<CountingListener> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port was assigned');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function lifecycleTarget(port: number, tokenProvider: TokenProvider): LifecycleTarget {
  return { host: '127.0.0.1', port, url: `https://127.0.0.1:${port}`, tokenProvider };
}
