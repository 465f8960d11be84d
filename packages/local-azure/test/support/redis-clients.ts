import { Redis, type RedisOptions } from 'ioredis';

/**
 * A connection that has not authenticated: RESP2, so ioredis sends no HELLO of its own and the
 * test decides when to AUTH. No reconnects, no queue: a refusal is reported, not retried.
 */
export async function openUnauthenticated(port: number, extra: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    ...extra,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** `AUTH user password` on a fresh connection: 'OK', or the error's first word (WRONGPASS). */
export async function tryAuth(port: number, user: string, password: string): Promise<string> {
  const client = await openUnauthenticated(port);
  try {
    return await authenticate(client, user, password);
  } finally {
    client.disconnect();
  }
}

export async function authenticate(client: Redis, user: string, password: string): Promise<string> {
  try {
    return await client.auth(user, password);
  } catch (error) {
    return (error as Error).message.split(' ')[0] ?? '';
  }
}

/** How an application connects: ioredis with username and password (HELLO 3 AUTH …). */
export async function connectAs(port: number, username: string, password: string, extra: RedisOptions = {}) {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    username,
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    ...extra,
  });
  const errors: Error[] = [];
  client.on('error', (error: Error) => errors.push(error));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw errors[0] ?? error;
  }
  return client;
}

/**
 * The ACL user a connection is authenticated as. Not `ACL WHOAMI`: Azure disables ACL for every
 * user, and so does the local stack. `CLIENT INFO` (Redis 6.2+) is allowed under every built-in
 * access policy; on Redis 6.0, `CLIENT LIST` names each connection's user (Data Owner only).
 */
export async function userOf(client: Redis): Promise<string> {
  const info = await client.call('CLIENT', 'INFO').then(
    (answer) => String(answer),
    (error: Error) => {
      if (/unknown subcommand/i.test(error.message)) return undefined;
      throw error;
    },
  );
  let line = info;
  if (line === undefined) {
    const id = await client.client('ID');
    const list = String(await client.client('LIST'));
    line = list.split('\n').find((entry) => entry.startsWith(`id=${id} `)) ?? '';
  }
  return /(?:^| )user=(\S+)/.exec(line)?.[1] ?? '';
}
