import { ConfigurationError } from '@keyless/core';
import { assertNoWeakenedTls } from '@keyless/core/internal';
import type { RedisClientOptions } from 'redis';
import type { RedisConnectorOptions } from './redis-options.js';

/**
 * The socket options keyless passes to node-redis: how long to wait and how to reconnect, never
 * where to connect or what TLS verifies. node-redis hands `socket` wholesale to `tls.connect()` /
 * `net.createConnection()`, so every other key (host, port, path, tls, ca, servername,
 * checkServerIdentity, rejectUnauthorized, secureContext, lookup, …) could redirect the password or
 * weaken verification: refused.
 */
const passedSocketOptions = [
  'connectTimeout',
  'socketTimeout',
  'reconnectStrategy',
  'noDelay',
  'keepAlive',
  'keepAliveInitialDelay',
  'family',
] as const;

type PassedSocketOptionName = (typeof passedSocketOptions)[number];

/** node-redis socket options keyless passes through (see `passedSocketOptions`). */
export interface PassedNodeRedisSocketOptions {
  connectTimeout?: number;
  socketTimeout?: number;
  /**
   * As node-redis's: a delay in ms, false, or an Error to stop. keyless decides first for a refused
   * login (it renews the password and retries) and for a refusal asking again cannot cure (an
   * untrusted certificate, a missing secret): the client stops with the typed error.
   */
  reconnectStrategy?: false | number | ((retries: number, cause: Error) => false | Error | number);
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  family?: number;
}

/** node-redis client options keyless decides itself (where, as whom, over what). */
export type RefusedNodeRedisOption = 'url' | 'socket' | 'username' | 'password' | 'credentialsProvider';

/** node-redis `createClient` options keyless passes through, and the socket options it allows. */
export type PassedNodeRedisOptions = Omit<RedisClientOptions, RefusedNodeRedisOption> & {
  socket?: PassedNodeRedisSocketOptions;
};

/** Options of `createNodeRedisConnector()`: those of `createRedisConnector()`, with node-redis's options. */
export interface NodeRedisConnectorOptions extends Omit<RedisConnectorOptions, 'redisOptions'> {
  /**
   * Passed to node-redis's `createClient`. Where to connect, as whom and how (`url`, `username`,
   * `password`, `credentialsProvider`, and `socket` but its timeouts, keep-alive and
   * `reconnectStrategy`) are keyless's: giving one throws ConfigurationError.
   */
  clientOptions?: PassedNodeRedisOptions;
}

const refusedOptions: Readonly<Record<Exclude<RefusedNodeRedisOption, 'socket'>, string>> = {
  url: 'set the top-level options `host`, `port` and `tls` (or KEYLESS_REDIS_HOST, KEYLESS_REDIS_TLS_PORT): keyless decides where the password goes; a URL can also carry a password',
  username:
    "keyless supplies the user: set the top-level option `user` (or KEYLESS_REDIS_USER; with entraToken(), the identity's object id, or KEYLESS_REDIS_ENTRA_USER)",
  password:
    'keyless supplies the password (a Key Vault secret or an Entra token) and renews it; never put one in the options',
  credentialsProvider:
    'keyless is the credentials provider (a streaming one, fed by the Key Vault secret or the token provider)',
};

/** `clientOptions`, checked and copied (own enumerable keys, as a spread sees them). */
export function resolvePassedNodeRedisOptions(
  value: unknown,
  path = 'clientOptions',
): PassedNodeRedisOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      `Invalid option \`${path}\` for Redis: expected an object of node-redis createClient options`,
    );
  }
  const copy = { ...(value as Record<string, unknown>) };
  assertNoWeakenedTls(copy, path, { service: 'Redis' });
  for (const [key, hint] of Object.entries(refusedOptions)) {
    const given = copy[key];
    if (Object.hasOwn(copy, key) && given !== undefined && given !== null) {
      throw new ConfigurationError(`Invalid option \`${path}.${key}\` for Redis`, { hint });
    }
  }
  const socket = copy.socket;
  if (socket !== undefined && socket !== null) {
    if (typeof socket !== 'object' || Array.isArray(socket)) {
      throw new ConfigurationError(`Invalid option \`${path}.socket\` for Redis: expected an object`);
    }
    const allowed = new Set<string>(passedSocketOptions);
    for (const key of Object.keys(socket)) {
      if (!allowed.has(key)) {
        throw new ConfigurationError(`Invalid option \`${path}.socket.${key}\` for Redis`, {
          hint: `keyless opens the socket to \`host\`:\`port\` with TLS verified against that name; of node-redis's socket options only ${passedSocketOptions.join(', ')} are passed (use the top-level \`host\`, \`port\`, \`tls: { ca }\`)`,
        });
      }
    }
    copy.socket = { ...(socket as Record<PassedSocketOptionName, unknown>) };
  }
  return copy as PassedNodeRedisOptions;
}
