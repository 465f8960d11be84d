import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAzure, startLocalAzure } from '../src/index.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

/**
 * The Redis Cluster as an application meets it through the stack: only the environment (a seed
 * list, TLS trusted through NODE_EXTRA_CA_CERTS), the password from Key Vault or an Entra token.
 */
describe('startLocalAzure({ redis: { cluster: true } })', () => {
  let stack: LocalAzure;
  let restoreEnvironment: () => void;
  let secrets: SecretClient;
  const credential = () => new DefaultAzureCredential();

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['redis'],
      redis: { cluster: true },
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    restoreEnvironment = useManagedIdentityEnvironment({ ...stack.env });
    secrets = new SecretClient(stack.env.KEYLESS_KEYVAULT_URL as string, credential(), {
      disableChallengeResourceVerification: true, // loopback vault
    });
  }, 120_000);

  afterAll(async () => {
    restoreEnvironment?.();
    await stack?.stop();
  });

  /** Only what the environment says: the seed list, TLS with whatever NODE_EXTRA_CA_CERTS trusts. */
  async function setAndGetAs(username: string, password: string): Promise<string[]> {
    const seeds = (stack.env.KEYLESS_REDIS_CLUSTER_NODES ?? '').split(',').map((seed) => {
      const [host = '', port = ''] = seed.split(':');
      return { host, port: Number(port) };
    });
    const client = new Cluster(seeds, {
      redisOptions: { tls: {}, username, password },
      clusterRetryStrategy: () => null,
    });
    const errors: Error[] = [];
    // A refused AUTH reaches the cluster as a 'node error'; the command fails with a generic one.
    client.on('error', (error: Error) => errors.push(error));
    client.on('node error', (error: Error) => errors.push(error));
    try {
      const keys = Array.from({ length: 30 }, (_, index) => `stack:${username}:${index}`);
      await Promise.all(keys.map((key) => client.set(key, key))).catch((error: Error) => {
        throw errors.find((each) => /WRONGPASS/.test(String(each.message))) ?? error;
      });
      return await Promise.all(keys.map(async (key) => String(await client.get(key))));
    } finally {
      client.disconnect();
    }
  }

  it('publishes the seed list and the users instead of a host and ports', () => {
    expect(stack.redis).toBeUndefined();
    expect(stack.redisCluster?.nodes).toHaveLength(6);
    expect(stack.env.KEYLESS_REDIS_CLUSTER_NODES).toMatch(/^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){5}$/);
    expect(stack.env.KEYLESS_REDIS_CLUSTER_NODES).toBe(stack.redisCluster?.seedList);
    expect(stack.env).not.toHaveProperty('KEYLESS_REDIS_HOST');
    expect(stack.env).not.toHaveProperty('KEYLESS_REDIS_TLS_PORT');
    expect(stack.env.KEYLESS_REDIS_ENTRA_USER).toBe(stack.appIdentity.objectId);
    expect(stack.env.KEYLESS_REDIS_USER).toBeTruthy();
  });

  it('the password from Key Vault works on the whole cluster, and rotation moves every node and the secret', async () => {
    const user = stack.env.KEYLESS_REDIS_USER as string;
    const secretName = stack.env.KEYLESS_REDIS_PASSWORD_SECRET as string;
    const before = (await secrets.getSecret(secretName)).value as string;
    expect((await setAndGetAs(user, before)).length).toBe(30);
    await stack.rotateRedisPassword();
    const after = (await secrets.getSecret(secretName)).value as string;
    expect(after).not.toBe(before);
    expect((await setAndGetAs(user, after)).length).toBe(30);
    await expect(setAndGetAs(user, before)).rejects.toThrow(/WRONGPASS/);
  });

  it('the app identity logs in with an Entra token on every node', async () => {
    const { token } = await credential().getToken('https://redis.azure.com/.default');
    const values = await setAndGetAs(stack.env.KEYLESS_REDIS_ENTRA_USER as string, token);
    expect(values).toEqual(
      Array.from({ length: 30 }, (_, index) => `stack:${stack.appIdentity.objectId}:${index}`),
    );
  });
});
