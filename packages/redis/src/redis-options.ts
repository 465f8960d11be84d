import {
  ConfigurationError,
  type Environment,
  portSchema,
  requireSetting,
  resolveSetting,
  type TokenProvider,
} from '@keyless/core';
import type { RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { RedisAuth } from './redis-auth.js';

/** Options of `createRedisConnector()`; host, port and TLS may come from the environment instead. */
export interface RedisConnectorOptions {
  /** Host name of the cache, e.g. `<name>.redis.cache.windows.net` — else env KEYLESS_REDIS_HOST. */
  host?: string;
  /**
   * Else KEYLESS_REDIS_TLS_PORT (with TLS) or KEYLESS_REDIS_PORT; default 6380 with TLS, 6379
   * without.
   */
  port?: number;
  /**
   * TLS. Default: on when the port is 6380 (Azure Cache for Redis) or 10000 (Azure Managed Redis),
   * when the port came from KEYLESS_REDIS_TLS_PORT, or when no port is configured at all.
   * `{ ca }` trusts an extra CA; certificate verification is never turned off.
   */
  tls?: boolean | { ca?: string | Buffer };
  /** `fromKeyVaultSecret(…)` or `entraToken(…)`. */
  auth: RedisAuth;
  /** The shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /** Passed to ioredis; the connection and credential settings above are keyless's. */
  redisOptions?: Omit<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'tls'>;
}

export const hostVariable = 'KEYLESS_REDIS_HOST';
export const portVariable = 'KEYLESS_REDIS_PORT';
export const tlsPortVariable = 'KEYLESS_REDIS_TLS_PORT';

const hostSchema = z
  .string({ error: 'expected a host name such as <name>.redis.cache.windows.net' })
  .trim()
  .regex(/^[^\s/:@]+$|^\[[0-9a-fA-F:]+\]$/, 'expected a bare host name, without scheme, port or credentials');

export interface ResolvedConnection {
  host: string;
  port: number;
  tls: false | { ca?: string | Buffer };
}

// Azure Cache for Redis serves TLS on 6380, Azure Managed Redis on 10000.
const tlsPorts = new Set([6380, 10_000]);

/** Options first, environment second; a bad or missing value fails here, not at the first command. */
export function resolveConnection(
  options: Pick<RedisConnectorOptions, 'host' | 'port' | 'tls'>,
  environment: Environment = process.env,
): ResolvedConnection {
  const host = requireSetting(
    hostSchema,
    { option: 'host', value: options.host, variables: [hostVariable], environment },
    {
      what: 'Redis host',
      detail:
        ', e.g. <name>.redis.cache.windows.net (`keyless-local up redis` prints it for the local stack)',
    },
  );
  if (options.tls !== undefined && typeof options.tls !== 'boolean' && typeof options.tls !== 'object') {
    throw new ConfigurationError('Invalid option `tls`', { hint: 'give true, false or { ca }' });
  }
  const explicitTls = options.tls === undefined ? undefined : options.tls !== false;
  const tlsOptions = typeof options.tls === 'object' && options.tls !== null ? { ...options.tls } : {};

  const optionPort = resolveSetting(portSchema, { option: 'port', value: options.port, environment }).value;
  if (optionPort !== undefined) {
    const tls = explicitTls ?? tlsPorts.has(optionPort);
    return { host, port: optionPort, tls: tls ? tlsOptions : false };
  }
  const tlsPort = resolveSetting(portSchema, {
    option: 'port',
    value: undefined,
    variables: [tlsPortVariable],
    environment,
  }).value;
  const plainPort = resolveSetting(portSchema, {
    option: 'port',
    value: undefined,
    variables: [portVariable],
    environment,
  }).value;
  if (explicitTls === false) return { host, port: plainPort ?? 6379, tls: false };
  if (explicitTls === true) return { host, port: tlsPort ?? plainPort ?? 6380, tls: tlsOptions };
  if (tlsPort !== undefined) return { host, port: tlsPort, tls: tlsOptions };
  if (plainPort !== undefined) {
    return { host, port: plainPort, tls: tlsPorts.has(plainPort) ? tlsOptions : false };
  }
  return { host, port: 6380, tls: tlsOptions };
}
