import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { ConfigurationError, createTokenProvider, type TokenProvider } from '@keyless/core';
import { type KeyVaultEmulator, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import {
  type InterceptorCertificate,
  resolveTestHostsToLoopback,
  type SdkAttackRow,
  sdkClientAttackRows,
  startTlsInterceptor,
  type TlsInterceptor,
  useManagedIdentityEnvironment,
} from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyVaultConnector,
  type KeyVaultConnector,
  type SecretRefreshFailedEvent,
} from '../src/index.js';

/**
 * The rule: the bearer token and the secrets leave the process only over TLS verified against a
 * trusted CA and the vault's name, or to loopback. For every path that could break it, a man in the
 * middle stands at `keyless-target.vault.azure.net` (resolved to 127.0.0.1 in this process only, so
 * keyless must treat it as another machine; under the challenge's domain, because the SDK checks
 * the challenge's resource against the vault's host), relays to the Key Vault emulator over verified
 * TLS, and records what the client sent.
 *
 * Each row says what the typed error, thrown by the first get(), names; then no token and no
 * secret may have reached the interceptor. The `trusted` test is the control: it proves that this
 * suite sees a token when one does arrive.
 */

const attackerHost = 'keyless-target.vault.azure.net';

/**
 * The rows refused at construction (TLS-weakening options, a custom transport, plain http, turning
 * off the challenge check, NODE_TLS_REJECT_UNAUTHORIZED=0 when the connector is made) never reach a
 * socket: they are the configuration group's `tlsWeakening` rows in test/conformance.test.ts. Here:
 * what is refused once a request is under way.
 */
const rows: SdkAttackRow[] = sdkClientAttackRows('vaultUrl').filter((row) => row.where !== 'construction');

/**
 * A TCP relay whose destination can be switched, so one vault URL meets a trusted server first and
 * an untrusted one later (a certificate replaced under a running app). Switching cuts the relayed
 * connections, so the client's next request opens a new one.
 */
async function startSwitchableRelay(initialPort: number) {
  let targetPort = initialPort;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    switchTo(port: number) {
      targetPort = port;
      for (const socket of sockets) socket.destroy();
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('Key Vault with a man in the middle', () => {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;
  const canaryName = 'attacker-canary';
  const canarySecret = `keyless-canary-secret: ${randomUUID()}`;
  let stack: LocalAzure;
  let vault: KeyVaultEmulator;
  let tokens: TokenProvider;
  let restoreEnvironment: () => void;
  let restoreDns: () => void;
  const interceptors: TlsInterceptor[] = [];
  let connector: KeyVaultConnector | undefined;

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['keyvault'], stateFolder });
    vault = stack.keyVault as KeyVaultEmulator;
    vault.setSecret(canaryName, canarySecret);
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    restoreDns = resolveTestHostsToLoopback([attackerHost]);
    tokens = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  });

  afterEach(async () => {
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    await connector?.close();
    connector = undefined;
    for (const interceptor of interceptors.splice(0)) await interceptor.stop();
  });

  afterAll(async () => {
    await tokens?.close();
    restoreDns?.();
    restoreEnvironment?.();
    await stack?.stop();
  });

  const startInterceptor = async (certificate: InterceptorCertificate) => {
    const interceptor = await startTlsInterceptor({
      upstreamPort: Number(new URL(vault.url).port),
      certificate,
      stateFolder,
      host: attackerHost,
    });
    interceptors.push(interceptor);
    return interceptor;
  };

  /** Whether `value` is the canary, without ever putting a value into an assertion message. */
  const isCanary = (value: unknown) => value === canarySecret;

  it.each(rows)('$name: refused at the first get()', async (row) => {
    const target = await startInterceptor(row.certificate);
    connector = createKeyVaultConnector({
      vaultUrl: `https://${target.host}:${target.port}`,
      tokenProvider: tokens,
    });
    if (row.tlsVerificationOff === 'first use') process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const error = await connector
      .secret(canaryName)
      .get()
      .then(
        (value) => ({ unexpectedlyRead: isCanary(value) }),
        (caught: unknown) => caught,
      );

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: 'configuration', retryable: false });
    const message = (error as Error).message;
    if (typeof row.names === 'string') expect(message).toContain(row.names);
    else expect(message).toMatch(row.names);
    // Names only, never values: a failing assertion must not print a token.
    expect(target.leaks({ canarySecret })).toEqual([]);
    expect(target.handshakes).toBe(0);
    // A refused certificate costs one connection, and no retry loop follows it.
    expect(target.connections).toBe(row.mayConnect ? 1 : 0);
  });

  it("NODE_TLS_REJECT_UNAUTHORIZED=0 set later also stops the application's own calls on connector.client (the pipeline policy)", async () => {
    const target = await startInterceptor('untrusted-ca');
    connector = createKeyVaultConnector({
      vaultUrl: `https://${target.host}:${target.port}`,
      tokenProvider: tokens,
    });
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const error = await connector.client.getSecret(canaryName).then(
      (secret) => ({ unexpectedlyRead: isCanary(secret.value) }),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('NODE_TLS_REJECT_UNAUTHORIZED=0');
    expect(target.connections).toBe(0);
    expect(target.leaks({ canarySecret })).toEqual([]);
  });

  it('the certificate errors say how to trust the CA or which name to use, and name the vault', async () => {
    const untrusted = await startInterceptor('untrusted-ca');
    connector = createKeyVaultConnector({
      vaultUrl: `https://${untrusted.host}:${untrusted.port}`,
      tokenProvider: tokens,
    });
    const error = await connector
      .secret(canaryName)
      .get()
      .catch((caught: unknown) => caught);
    expect((error as ConfigurationError).hint).toContain('NODE_EXTRA_CA_CERTS');
    expect((error as ConfigurationError).hint).toContain('clientOptions.tlsOptions.ca');
    expect((error as Error).message).toContain(`${attackerHost}:${untrusted.port}`);
  });

  it('control: a trusted interceptor does receive the token (and relays the secret), so the rows above could see a leak', async () => {
    const trusted = await startInterceptor('trusted');
    connector = createKeyVaultConnector({
      vaultUrl: `https://${trusted.host}:${trusted.port}`,
      tokenProvider: tokens,
    });
    const value = await connector.secret(canaryName).get();
    expect(isCanary(value)).toBe(true);
    expect(trusted.handshakes).toBeGreaterThan(0);
    expect(trusted.leaks({ canarySecret })).toEqual(['a token (JWT)']);
  });

  it('a background refresh that meets an untrusted certificate reports it and keeps serving the last good value', async () => {
    const trusted = await startInterceptor('trusted');
    const untrusted = await startInterceptor('untrusted-ca');
    const relay = await startSwitchableRelay(trusted.port);
    try {
      connector = createKeyVaultConnector({
        vaultUrl: `https://${attackerHost}:${relay.port}`,
        tokenProvider: tokens,
      });
      const source = connector.secret(canaryName, { refreshIntervalMs: 300 });
      expect(isCanary(await source.get())).toBe(true);
      expect(trusted.leaks({})).toEqual(['a token (JWT)']);

      relay.switchTo(untrusted.port);
      const failed = new Promise<SecretRefreshFailedEvent>((resolve) => source.on('refresh-failed', resolve));
      await new Promise((resolve) => setTimeout(resolve, 320));
      expect(isCanary(await source.get())).toBe(true); // this get() starts the due refresh
      const event = await failed;

      expect(event.error).toBeInstanceOf(ConfigurationError);
      expect(event.error).toMatchObject({ code: 'configuration', retryable: false });
      expect(event.error.message).toContain('TLS certificate is not trusted');
      expect(event.servingLastGood).toBe(true);
      expect(isCanary(await source.get())).toBe(true);
      // Not retryable, so no early retry: the next attempt is the next regular refresh.
      expect(untrusted.connections).toBe(1);
      expect(untrusted.handshakes).toBe(0);
      expect(untrusted.leaks({ canarySecret })).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  it('loopback stays allowed as the rule says: the emulator on 127.0.0.1, even while NODE_TLS_REJECT_UNAUTHORIZED=0', () => {
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    // Construction only: no connection is made while verification is off.
    expect(() => {
      connector = createKeyVaultConnector({
        vaultUrl: stack.env.KEYLESS_KEYVAULT_URL,
        tokenProvider: tokens,
      });
    }).not.toThrow();
  });
});
