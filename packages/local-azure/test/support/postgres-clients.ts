import pg from 'pg';
import type { PostgresInstance } from '../../src/index.js';

export function connectionConfig(
  instance: PostgresInstance,
  user: string,
  password: string,
  extra: pg.ClientConfig = {},
): pg.ClientConfig {
  return {
    host: instance.host,
    port: instance.port,
    database: instance.database,
    user,
    password,
    connectionTimeoutMillis: 10_000,
    ...extra,
  };
}

/** Opens a session; the caller ends it. */
export async function openSession(
  instance: PostgresInstance,
  user: string,
  password: string,
  extra: pg.ClientConfig = {},
): Promise<pg.Client> {
  const client = new pg.Client(connectionConfig(instance, user, password, extra));
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Logs in, asks who it is, logs out: the user name, or the SQLSTATE (or message) of the refusal. */
export async function tryLogin(
  instance: PostgresInstance,
  user: string,
  password: string,
  extra: pg.ClientConfig = {},
): Promise<string> {
  let client: pg.Client | undefined;
  try {
    client = await openSession(instance, user, password, extra);
    const result = await client.query<{ current_user: string }>('SELECT current_user');
    return result.rows[0]?.current_user ?? '';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : (error as Error).message;
  } finally {
    await client?.end().catch(() => {});
  }
}
