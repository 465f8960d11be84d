// What the Redis connectors record through OpenTelemetry when an SDK is registered (issue 14),
// against the local stack with the SDK's in-memory exporters: a refused login counts as an
// authentication failure (db.system.name redis) even when renewing the secret then lets the client
// in; the token behind Entra mode is a span from core; nothing exported holds a password or token.
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { findLeaks } from '@keyless/testing';
import { captureOpenTelemetry, type OpenTelemetryCapture } from '@keyless/testing/open-telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnector } from '../src/index.js';
import { connection, startTestStack, type TestStack } from './support.js';

let test: TestStack;
let telemetry: OpenTelemetryCapture;
const connectors: RedisConnector[] = [];
const failures = () =>
  telemetry.total('keyless.connector.authentication.failures', { 'db.system.name': 'redis' });

beforeAll(async () => {
  telemetry = captureOpenTelemetry();
  test = await startTestStack();
});

afterAll(async () => {
  for (const connector of connectors) await connector.close();
  await test?.stop();
  telemetry?.stop();
});

describe('OpenTelemetry from @keyless/redis', () => {
  it('Entra mode: the token request is a span; a healthy login counts no failure', async () => {
    const before = await failures();
    const connector = createRedisConnector({
      ...connection(test.stack),
      password: entraToken(),
      user: test.stack.appIdentity.objectId,
      tokenProvider: test.tokenProvider,
    });
    connectors.push(connector);
    await connector.connect();
    expect(await connector.client.ping()).toBe('PONG');
    expect(
      telemetry
        .spans()
        .some((span) => span.attributes['keyless.token.scope'] === 'https://redis.azure.com/.default'),
    ).toBe(true);
    expect(await failures()).toBe(before);
  });

  it('a refused login (the secret holds a wrong password) counts as an authentication failure', async () => {
    const vault = test.stack.keyVault;
    if (!vault) throw new Error('the stack has no Key Vault');
    const before = await failures();
    // The secret holds a wrong password: every login is refused, and each refusal is counted.
    vault.setSecret('redis-otel-password', 'not-the-redis-password');
    const connector = createRedisConnector({
      ...connection(test.stack),
      password: fromKeyVaultSecret({
        vaultUrl: test.stack.env.KEYLESS_KEYVAULT_URL,
        secretName: 'redis-otel-password',
      }),
      user: 'keyless-app',
      tokenProvider: test.tokenProvider,
    });
    connectors.push(connector);
    await expect(connector.connect()).rejects.toMatchObject({ code: 'authentication-failed' });
    expect(await failures()).toBeGreaterThan(before);
  });

  it('exports no password and no token', async () => {
    const exported = await telemetry.exportedText();
    expect(exported).toContain('keyless.connector.authentication.failures');
    expect(findLeaks(exported, test.stack.keyVault?.secretValues() ?? [])).toHaveLength(0);
    expect(findLeaks(exported, test.stack.identity.issuedTokens())).toHaveLength(0);
    expect(exported).not.toContain('not-the-redis-password');
  });
});
