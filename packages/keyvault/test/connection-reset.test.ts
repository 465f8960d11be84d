import { connect, createServer, type Server, type Socket } from 'node:net';
import { ServiceUnavailableError, type TokenProvider } from '@keyless/core';
import type { LocalAzure } from '@keyless/local-azure';
import { type AppIdentityStack, startAppIdentityStack } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyVaultConnector } from '../src/index.js';

/**
 * A loopback TCP relay in front of the Key Vault emulator (TLS passes through it untouched) that
 * answers the next `count` chunks the client sends, on a new or a kept-alive connection, with a TCP
 * reset, as a socket the vault or a proxy already dropped does: the real SecretClient sees
 * ECONNRESET before any answer.
 */
async function startResettingRelay(upstreamPort: number) {
  let resetsLeft = 0;
  let resetsDone = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => {
      if (resetsLeft > 0) {
        resetsLeft -= 1;
        resetsDone += 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the relay has no port');
  return {
    port: address.port,
    resetNext(count: number) {
      resetsLeft = count;
    },
    get resetsDone() {
      return resetsDone;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a read whose connection is reset before any answer (real SecretClient, real sockets)', () => {
  let test: AppIdentityStack;
  let stack: LocalAzure;
  let tokenProvider: TokenProvider;
  let relay: Awaited<ReturnType<typeof startResettingRelay>>;
  let vaultUrl: string;

  beforeAll(async () => {
    test = await startAppIdentityStack(['keyvault']);
    ({ stack, tokenProvider } = test);
    const emulator = new URL(stack.env.KEYLESS_KEYVAULT_URL as string);
    relay = await startResettingRelay(Number(emulator.port));
    vaultUrl = `https://${emulator.hostname}:${relay.port}/`;
  });

  afterAll(async () => {
    await relay?.close();
    await test?.stop();
  });

  it('goes again at once on a new connection: a cold connect() succeeds through one reset', async () => {
    const connector = createKeyVaultConnector({ vaultUrl, tokenProvider });
    try {
      relay.resetNext(1);
      const before = relay.resetsDone;
      await connector.connect({ secrets: ['demo-message'] });
      expect(relay.resetsDone - before).toBe(1);
      const value = await connector.secret('demo-message').get();
      // Booleans only: a failing assertion must not print a value.
      expect(stack.keyVault?.secretValues().includes(value)).toBe(true);
    } finally {
      await connector.close();
    }
  });

  it('goes again only once: a second reset is a typed ServiceUnavailableError, not a hang', async () => {
    const connector = createKeyVaultConnector({ vaultUrl, tokenProvider });
    try {
      relay.resetNext(3);
      const before = relay.resetsDone;
      const error = await connector.connect({ secrets: ['demo-message'] }).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect((error as Error).message).toContain("secret 'demo-message'");
      expect((error as Error).message).toContain('ECONNRESET');
      // The first try and the one immediate second try; the third reset was never asked for.
      expect(relay.resetsDone - before).toBe(2);
    } finally {
      relay.resetNext(0);
      await connector.close();
    }
  });
});
