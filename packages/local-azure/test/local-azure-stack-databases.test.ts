import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAzure, startLocalAzure } from '../src/index.js';
import { userOf } from './support/redis-clients.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

/**
 * PostgreSQL and Redis as an application meets them through the stack: passwords are Key Vault
 * secrets read with a token, Entra mode takes a token as the password, and rotation changes both
 * the server and the secret.
 */
describe('startLocalAzure: PostgreSQL and Redis', () => {
  let stack: LocalAzure;
  let restoreEnvironment: () => void;
  let secrets: SecretClient;
  const credential = () => new DefaultAzureCredential();

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['postgres', 'redis'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    restoreEnvironment = useManagedIdentityEnvironment({ ...stack.env });
    secrets = new SecretClient(stack.env.KEYLESS_KEYVAULT_URL as string, credential(), {
      disableChallengeResourceVerification: true, // loopback vault
    });
  });

  afterAll(async () => {
    restoreEnvironment?.();
    await stack?.stop();
  });

  const postgresClient = (user: string, password: string) =>
    new pg.Client({
      host: stack.env.KEYLESS_POSTGRES_HOST,
      port: Number(stack.env.KEYLESS_POSTGRES_PORT),
      database: stack.env.KEYLESS_POSTGRES_DATABASE,
      user,
      password,
      ssl: true, // verified against the local CA through NODE_EXTRA_CA_CERTS
    });

  async function currentPostgresUser(user: string, password: string): Promise<string> {
    const client = postgresClient(user, password);
    await client.connect();
    try {
      const result = await client.query<{ current_user: string }>('SELECT current_user');
      return result.rows[0]?.current_user ?? '';
    } finally {
      await client.end();
    }
  }

  async function redisWhoAmI(
    username: string,
    password: string,
    alsoRun: (client: Redis) => Promise<void> = async () => {},
  ): Promise<string> {
    const client = new Redis({
      host: stack.env.KEYLESS_REDIS_HOST,
      port: Number(stack.env.KEYLESS_REDIS_PORT),
      username,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      // Its ready check runs INFO, which Data Contributor (the Entra user's policy) may not.
      enableReadyCheck: false,
    });
    // ioredis reports a refused AUTH on its 'error' event and rejects connect() with a generic error.
    let refusal: Error | undefined;
    client.on('error', (error: Error) => {
      refusal = error;
    });
    try {
      await client.connect().catch((error: unknown) => {
        throw refusal ?? error;
      });
      await alsoRun(client);
      return await userOf(client);
    } finally {
      client.disconnect();
    }
  }

  const secretValue = async (name: string) => (await secrets.getSecret(name)).value as string;

  it('publishes PostgreSQL and Redis settings, never a password', () => {
    expect(stack.services).toEqual(expect.arrayContaining(['keyvault', 'postgres', 'redis']));
    expect(Object.keys(stack.env)).toEqual(
      expect.arrayContaining([
        'KEYLESS_POSTGRES_HOST',
        'KEYLESS_POSTGRES_USER',
        'KEYLESS_POSTGRES_PASSWORD_SECRET',
        'KEYLESS_POSTGRES_ENTRA_USER',
        'KEYLESS_REDIS_PORT',
        'KEYLESS_REDIS_USER',
        'KEYLESS_REDIS_PASSWORD_SECRET',
        'KEYLESS_REDIS_ENTRA_USER',
      ]),
    );
    expect(JSON.stringify(stack.env)).not.toMatch(/password=/i);
  });

  it('PostgreSQL: the password from Key Vault works, and rotation moves both server and secret', async () => {
    const user = stack.env.KEYLESS_POSTGRES_USER as string;
    const secretName = stack.env.KEYLESS_POSTGRES_PASSWORD_SECRET as string;
    const before = await secretValue(secretName);
    expect(await currentPostgresUser(user, before)).toBe(user);
    await stack.rotatePostgresPassword();
    const after = await secretValue(secretName);
    expect(after).not.toBe(before);
    await expect(currentPostgresUser(user, before)).rejects.toMatchObject({ code: '28P01' });
    expect(await currentPostgresUser(user, after)).toBe(user);
  });

  it('PostgreSQL: an Entra token for the app identity is its password', async () => {
    const token = await credential().getToken('https://ossrdbms-aad.database.windows.net/.default');
    const role = stack.env.KEYLESS_POSTGRES_ENTRA_USER as string;
    expect(await currentPostgresUser(role, token.token)).toBe(role);
  });

  it('Redis: the password from Key Vault works, and rotation moves both server and secret', async () => {
    const user = stack.env.KEYLESS_REDIS_USER as string;
    const secretName = stack.env.KEYLESS_REDIS_PASSWORD_SECRET as string;
    const before = await secretValue(secretName);
    expect(await redisWhoAmI(user, before)).toBe(user);
    await stack.rotateRedisPassword();
    const after = await secretValue(secretName);
    expect(after).not.toBe(before);
    await expect(redisWhoAmI(user, before)).rejects.toThrow(/WRONGPASS/);
    expect(await redisWhoAmI(user, after)).toBe(user);
  });

  it('Redis: the object id with an Entra token logs in', async () => {
    const token = await credential().getToken('https://redis.azure.com/.default');
    const objectId = stack.env.KEYLESS_REDIS_ENTRA_USER as string;
    expect(await redisWhoAmI(objectId, token.token)).toBe(objectId);
  });

  it("Redis: the Entra user has Data Contributor, docs/azure-setup.md's policy; the password user (an access key) everything", async () => {
    const token = await credential().getToken('https://redis.azure.com/.default');
    const objectId = stack.env.KEYLESS_REDIS_ENTRA_USER as string;
    const refusalOf = (client: Redis, ...command: [string, ...string[]]) =>
      client.call(...command).then(
        () => 'OK',
        (error: Error) => error.message.split(' ')[0],
      );
    await redisWhoAmI(objectId, token.token, async (client) => {
      expect(await client.set('stack:contributor', 'x')).toBe('OK');
      expect(await refusalOf(client, 'INFO')).toBe('NOPERM');
      expect(await refusalOf(client, 'FLUSHALL')).toBe('NOPERM');
    });
    const user = stack.env.KEYLESS_REDIS_USER as string;
    await redisWhoAmI(
      user,
      await secretValue(stack.env.KEYLESS_REDIS_PASSWORD_SECRET as string),
      async (client) => {
        expect(await refusalOf(client, 'INFO')).toBe('OK');
      },
    );
  });
});
