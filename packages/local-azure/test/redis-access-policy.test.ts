import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdentityEndpoint,
  type RedisInstance,
  startIdentityEndpoint,
  startRedis,
} from '../src/index.js';
import { fetchToken } from './support/identity-tokens.js';
import { createTestCertificateAuthority } from './support/local-certificates.js';
import { connectAs, tryAuth, userOf } from './support/redis-clients.js';

// The application users get Azure's "Data Owner" policy minus the commands Azure disables for
// every user (cache-configure#redis-commands-not-supported-in-azure-cache-for-redis); checked with
// real ioredis over TLS, as an application connects.
const redisResource = 'https://redis.azure.com';
let authority: Awaited<ReturnType<typeof createTestCertificateAuthority>>;
let identity: IdentityEndpoint;
let instance: RedisInstance;
let objectId: string;
let clientId: string;

beforeAll(async () => {
  authority = await createTestCertificateAuthority();
  identity = await startIdentityEndpoint();
  const app = identity.userAssigned[0];
  if (!app) throw new Error('the endpoint has no user-assigned identity');
  ({ objectId, clientId } = app);
  instance = await startRedis({
    identity,
    tls: {
      certPath: authority.serverCertificatePath,
      keyPath: authority.serverKeyPath,
      caPath: authority.caCertificatePath,
    },
    users: [{ name: 'app', password: 'app-password' }],
    entraUsers: [{ objectId }],
  });
});

afterAll(async () => {
  await instance?.stop();
  await identity?.stop();
  authority?.remove();
});

type Login = 'password user' | 'Entra user';

async function freshToken(): Promise<string> {
  return (await fetchToken(identity, redisResource, { clientId })).token;
}

async function connect(login: Login): Promise<Redis> {
  const [user, password] =
    login === 'password user' ? ['app', 'app-password'] : [objectId, await freshToken()];
  return connectAs(instance.tlsPort ?? 0, user, password, {
    tls: { ca: authority.caCertificate },
    // SYNC or SHUTDOWN, if they ran, would never answer: fail instead of hanging.
    commandTimeout: 5_000,
  });
}

/** The error a command gets, or 'OK' when it succeeds. */
async function reply(client: Redis, command: string[]): Promise<string> {
  const [name, ...args] = command;
  try {
    await client.call(name as string, ...args);
    return 'OK';
  } catch (error) {
    return (error as Error).message;
  }
}

/** The first word of the error a command gets, or 'OK'. */
async function outcome(client: Redis, command: string[]): Promise<string> {
  return (await reply(client, command)).split(' ')[0] ?? '';
}

const administrativeCommands: string[][] = [
  ['ACL', 'GETUSER', 'keyless-admin'],
  ['ACL', 'LIST'],
  ['ACL', 'USERS'],
  ['ACL', 'WHOAMI'],
  ['ACL', 'SETUSER', 'intruder', 'on', '>intruder-password', '+@all', '~*'],
  ['ACL', 'SETUSER', 'keyless-admin', 'off'],
  ['ACL', 'SETUSER', 'keyless-admin', 'resetpass', '>taken-over'],
  ['ACL', 'DELUSER', 'keyless-admin'],
  ['ACL', 'SAVE'],
  ['ACL', 'LOAD'],
  ['CONFIG', 'GET', '*'],
  ['CONFIG', 'SET', 'protected-mode', 'no'],
  ['CONFIG', 'REWRITE'],
  ['SHUTDOWN', 'NOSAVE'],
  ['DEBUG', 'SLEEP', '0'],
  ['MODULE', 'LIST'],
  ['SAVE'],
  ['BGSAVE'],
  ['BGREWRITEAOF'],
  ['REPLICAOF', '127.0.0.1', '1'],
  ['SLAVEOF', 'NO', 'ONE'],
  ['MIGRATE', '127.0.0.1', '1', 'some-key', '0', '1000'],
  ['FAILOVER'],
  ['PSYNC', '?', '-1'],
  ['SYNC'],
  ['REPLCONF', 'listening-port', '1'],
  ['CLUSTER', 'RESET'],
  ['CLUSTER', 'MEET', '127.0.0.1', '1'],
];

describe.each<Login>(['password user', 'Entra user'])('Redis access policy for the %s', (login) => {
  it.each(administrativeCommands.map((command) => [command.join(' '), command] as const))(
    'refuses %s with NOPERM',
    async (_name, command) => {
      const client = await connect(login);
      try {
        // Redis 7 also refuses DEBUG by its own default (enable-debug-command no), before the ACL.
        expect(await reply(client, command)).toMatch(/^NOPERM |^ERR DEBUG command not allowed/);
        expect(await client.ping()).toBe('PONG'); // the server is still up, the connection too
      } finally {
        client.disconnect();
      }
    },
  );

  it('keeps ordinary data commands, read-only CLUSTER and CLIENT working', async () => {
    const client = await connect(login);
    const key = `policy:${login}`;
    try {
      expect(await client.set(key, 'value', 'EX', 60)).toBe('OK');
      expect(await client.get(key)).toBe('value');
      expect(await client.incr(`${key}:counter`)).toBe(1);
      expect(await client.hset(`${key}:hash`, 'field', 'x')).toBe(1);
      expect(await client.lpush(`${key}:list`, 'a', 'b')).toBe(2);
      expect(await client.eval("return redis.call('GET', KEYS[1])", 1, key)).toBe('value');
      expect(await client.del(key, `${key}:counter`, `${key}:hash`, `${key}:list`)).toBe(4);
      expect(await client.info('server')).toContain('redis_version');
      expect(await userOf(client)).toBe(login === 'password user' ? 'app' : objectId);
      // Permitted, answered by a server without cluster mode as such (not NOPERM).
      expect(await outcome(client, ['CLUSTER', 'INFO'])).toBe('ERR');
    } finally {
      client.disconnect();
    }
  });

  it('keeps pub/sub working', async () => {
    const [subscriber, publisher] = [await connect(login), await connect(login)];
    try {
      const channel = `policy-channel:${login}`;
      const received = new Promise<string>((resolve) =>
        subscriber.on('message', (_channel, message) => resolve(message)),
      );
      await subscriber.subscribe(channel);
      expect(await publisher.publish(channel, 'hello')).toBe(1);
      expect(await received).toBe('hello');
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });

  it('lets a live connection AUTH again (password rotation, a fresh token)', async () => {
    const client = await connect(login);
    try {
      const [user, password] =
        login === 'password user' ? ['app', 'app-password'] : [objectId, await freshToken()];
      expect(await client.auth(user, password)).toBe('OK');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});

describe("the stack's own admin user", () => {
  it('keeps working when an application user kills its connection: new tokens and rotations still take effect', async () => {
    const client = await connect('password user');
    try {
      const killed = await client.call('CLIENT', 'KILL', 'USER', 'keyless-admin');
      expect(Number(killed)).toBeGreaterThanOrEqual(1);
    } finally {
      client.disconnect();
    }
    expect(await tryAuth(instance.port, objectId, await freshToken())).toBe('OK');
    const rotated = await instance.rotatePassword('app', 'rotated-password');
    expect(await tryAuth(instance.port, 'app', rotated)).toBe('OK');
    await instance.rotatePassword('app', 'app-password');
  });

  it('cannot be disabled or taken over by an application user', async () => {
    const client = await connect('Entra user');
    try {
      expect(await outcome(client, ['ACL', 'SETUSER', 'keyless-admin', 'off'])).toBe('NOPERM');
    } finally {
      client.disconnect();
    }
    expect(await tryAuth(instance.port, objectId, await freshToken())).toBe('OK');
  });
});

describe('the built-in access policies (startRedis accessPolicy, per user)', () => {
  // https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure-role-based-access-control:
  // Data Owner "+@all allkeys", Data Contributor "+@all -@dangerous …", Data Reader "+@read +@connection …".
  let policies: RedisInstance;

  beforeAll(async () => {
    policies = await startRedis({
      accessPolicy: 'Data Reader',
      users: [
        { name: 'owner', password: 'owner-password', accessPolicy: 'Data Owner' },
        { name: 'contributor', password: 'contributor-password', accessPolicy: 'Data Contributor' },
        { name: 'reader', password: 'reader-password' },
      ],
    });
  });

  afterAll(async () => {
    await policies?.stop();
  });

  const as = (user: string) =>
    // ioredis's ready check runs INFO, which only Data Owner may.
    connectAs(policies.port, user, `${user}-password`, { enableReadyCheck: false, commandTimeout: 5_000 });

  const table: Array<[string[], Record<'owner' | 'contributor' | 'reader', string>]> = [
    [['SET', 'policy:key', 'v'], { owner: 'OK', contributor: 'OK', reader: 'NOPERM' }],
    [['GET', 'policy:key'], { owner: 'OK', contributor: 'OK', reader: 'OK' }],
    [['PING'], { owner: 'OK', contributor: 'OK', reader: 'OK' }],
    [['CLIENT', 'INFO'], { owner: 'OK', contributor: 'OK', reader: 'OK' }],
    [['PUBLISH', 'policy:channel', 'm'], { owner: 'OK', contributor: 'OK', reader: 'NOPERM' }],
    [['EVAL', 'return 1', '0'], { owner: 'OK', contributor: 'OK', reader: 'NOPERM' }],
    [['INFO'], { owner: 'OK', contributor: 'NOPERM', reader: 'NOPERM' }],
    // KEYS is @read and CLIENT LIST @connection as well as @dangerous: Data Reader has them.
    [['KEYS', '*'], { owner: 'OK', contributor: 'NOPERM', reader: 'OK' }],
    [['CLIENT', 'LIST'], { owner: 'OK', contributor: 'NOPERM', reader: 'OK' }],
    [['FLUSHDB'], { owner: 'OK', contributor: 'NOPERM', reader: 'NOPERM' }],
    [['CONFIG', 'GET', 'maxmemory'], { owner: 'NOPERM', contributor: 'NOPERM', reader: 'NOPERM' }],
  ];

  it.each(['owner', 'contributor', 'reader'] as const)('%s', async (user) => {
    const client = await as(user);
    try {
      const outcomes: string[] = [];
      for (const [command] of table) outcomes.push(await outcome(client, command));
      expect(outcomes).toEqual(table.map(([, expected]) => expected[user]));
      // Read-only CLUSTER stays permitted under all three (answered, not NOPERM).
      expect(await outcome(client, ['CLUSTER', 'INFO'])).toBe('ERR');
    } finally {
      client.disconnect();
    }
  });

  it('rotatePassword keeps the user’s own policy', async () => {
    const rotated = await policies.rotatePassword('contributor', 'contributor-password');
    expect(rotated).toBe('contributor-password');
    const client = await as('contributor');
    try {
      expect(await outcome(client, ['INFO'])).toBe('NOPERM');
      expect(await outcome(client, ['SET', 'policy:after-rotation', 'v'])).toBe('OK');
    } finally {
      client.disconnect();
    }
  });

  it('refuses a policy name Azure does not have', async () => {
    await expect(startRedis({ accessPolicy: 'Data Writer' as 'Data Owner' })).rejects.toThrow(
      /`accessPolicy` must be one of 'Data Owner', 'Data Contributor', 'Data Reader'/,
    );
    await expect(
      startRedis({ users: [{ name: 'x', password: 'y', accessPolicy: 'Owner' as 'Data Owner' }] }),
    ).rejects.toThrow(/users\[\]\.accessPolicy/);
  });
});
