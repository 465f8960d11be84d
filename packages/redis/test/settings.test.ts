import { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { runOneOffScript } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnector, type RedisConnectorOptions } from '../src/index.ts';
import { setEnvironment, startTestStack, type TestStack } from './support.ts';

/** Every variable the connector reads, so a test sees only what it sets. */
const redisVariables = [
  'KEYLESS_REDIS_HOST',
  'KEYLESS_REDIS_PORT',
  'KEYLESS_REDIS_TLS_PORT',
  'KEYLESS_REDIS_USER',
  'KEYLESS_REDIS_PASSWORD_SECRET',
  'KEYLESS_REDIS_ENTRA_USER',
  'KEYLESS_KEYVAULT_URL',
];

describe('settings from the environment that `keyless-local up` exports', () => {
  let test: TestStack;
  let restore: () => void = () => {};
  const connectors: RedisConnector[] = [];

  beforeAll(async () => {
    test = await startTestStack();
  });

  afterAll(async () => {
    restore();
    for (const connector of connectors) await connector.close();
    await test?.stop();
  });

  function useStackEnvironment(overrides: Record<string, string | undefined> = {}) {
    restore();
    const cleared = Object.fromEntries(redisVariables.map((name) => [name, undefined]));
    restore = setEnvironment({
      ...cleared,
      ...Object.fromEntries(redisVariables.map((name) => [name, test.stack.env[name]])),
      ...overrides,
    });
  }

  async function connect(options: RedisConnectorOptions) {
    const connector = createRedisConnector({ tokenProvider: test.tokenProvider, ...options });
    connectors.push(connector);
    await connector.connect();
    return connector;
  }

  it('connects in password mode from the environment alone (secret name, user, vault, host, TLS port)', async () => {
    // Made before the environment is set: the settings are read when the connector is created.
    const password = fromKeyVaultSecret();
    useStackEnvironment();
    const connector = await connect({ password });
    expect(await connector.client.incr('settings:secret')).toBeGreaterThan(0);
    expect(inspect(connector)).toContain("user: 'keyless-app'");
  });

  it('connects in Entra mode from the environment alone (KEYLESS_REDIS_ENTRA_USER)', async () => {
    const password = entraToken();
    useStackEnvironment();
    const connector = await connect({ password });
    expect(await connector.client.incr('settings:entra')).toBeGreaterThan(0);
    expect(inspect(connector)).toContain(test.stack.appIdentity.objectId);
  });

  // A missing secret name or Entra user, named with its variable by the factory itself: the
  // configuration group in test/conformance.test.ts.
  it.each([
    ['TLS port, tls: true', () => ({ port: Number(test.stack.env.KEYLESS_REDIS_TLS_PORT), tls: true })],
    [
      'plain port on loopback, tls: false',
      () => ({ port: Number(test.stack.env.KEYLESS_REDIS_PORT), tls: false }),
    ],
    [
      'TLS port, tls: false with redisOptions.tls',
      () => ({
        port: Number(test.stack.env.KEYLESS_REDIS_TLS_PORT),
        tls: false,
        redisOptions: { tls: {} } as never,
      }),
    ],
  ] as const)('prints the TLS it really uses, or refuses the settings (%s)', async (_name, settings) => {
    useStackEnvironment();
    const outcome = await connect({
      host: test.stack.env.KEYLESS_REDIS_HOST,
      ...settings(),
      password: entraToken(),
    }).then(
      (connector) => connector,
      (error: unknown) => error,
    );
    if (outcome instanceof Error) {
      expect(outcome).toMatchObject({ name: 'ConfigurationError', code: 'configuration' });
      return;
    }
    const connector = outcome as RedisConnector;
    await connector.client.ping();
    const printedTls = /tls: true/.test(inspect(connector)) && /tls: true/.test(inspect(connector.client));
    expect(printedTls).toBe(connector.client.stream instanceof TLSSocket);
    expect(JSON.parse(JSON.stringify(connector)).tls).toBe(connector.client.stream instanceof TLSSocket);
  });

  it('warns once in production when DEBUG would make ioredis print the password', async () => {
    const result = await runOneOffScript(
      fileURLToPath(new URL('..', import.meta.url)),
      `import { entraToken } from '@keyless/core';
import { createRedisConnector } from '@keyless/redis';
async function main() {
  createRedisConnector({ host: 'cache.example.invalid', tls: false, password: entraToken(), user: 'x' });
}`,
      { env: { ...process.env, NODE_ENV: 'production', DEBUG: 'ioredis:*' } },
    );
    expect(result.settled).toBe('rejected ConfigurationError configuration');
    // A boolean, not the output: with DEBUG on, output is where libraries print credentials.
    expect(result.output.includes('KEYLESS_DEBUG_OUTPUT')).toBe(true);
  });
});
