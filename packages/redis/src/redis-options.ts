import { isIP } from 'node:net';
import { ConfigurationError, type Environment, type PasswordSource, type TokenProvider } from '@keyless/core';
import {
  assertNoWeakenedTls,
  assertSecretDestination,
  invalid,
  portSchema,
  requireSetting,
  resolveSetting,
  settingSchema,
} from '@keyless/core/internal';
import type { RedisOptions } from 'ioredis';
import { assertNoRefusedRedisOptions, type RefusedRedisOption } from './redis-option-guard.js';

/** ioredis options keyless passes through: everything but where to connect, as whom, and how. */
export type PassedRedisOptions = Omit<RedisOptions, RefusedRedisOption>;

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
   * `{ ca }` trusts an extra CA; certificate verification is never turned off. Without TLS
   * (`false`, or a plaintext port such as 6379) only a Redis on this machine (loopback) is allowed.
   */
  tls?: boolean | { ca?: string | Buffer };
  /**
   * Where the password comes from: `fromKeyVaultSecret(…)` (a Key Vault secret; its name else from
   * KEYLESS_REDIS_PASSWORD_SECRET) or `entraToken()` (a token for Azure Cache for Redis), both from
   * `@keyless/core`.
   */
  password: PasswordSource;
  /**
   * The user to log in as. With a Key Vault secret: the ACL user, else KEYLESS_REDIS_USER, else
   * Redis's `default` user (Azure's access keys). With an Entra token: the object (principal) id of
   * the identity — the user the cache's data access policy assignment names — else
   * KEYLESS_REDIS_ENTRA_USER; required, and never read out of the token.
   */
  user?: string;
  /** The shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /**
   * Passed to ioredis. Where to connect, as whom and how (host, port, path, tls, username,
   * password, Connector, Sentinel options) are keyless's: giving one throws ConfigurationError.
   */
  redisOptions?: PassedRedisOptions;
}

export const hostVariable = 'KEYLESS_REDIS_HOST';
export const portVariable = 'KEYLESS_REDIS_PORT';
export const tlsPortVariable = 'KEYLESS_REDIS_TLS_PORT';

// An IPv6 address may come bare or in brackets; the socket wants it bare.
const hostSchema = settingSchema((raw) => {
  if (typeof raw !== 'string') return invalid('expected a host name such as <name>.redis.cache.windows.net');
  const trimmed = raw.trim();
  const value = /^\[.*\]$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
  if (isIP(value) === 6 || /^[^\s/:@]+$/.test(value)) return value;
  return invalid('expected a bare host name, without scheme, port or credentials');
});

export interface ResolvedConnection {
  host: string;
  port: number;
  tls: false | { ca?: string | Buffer };
  /** Without TLS: which setting made it plaintext, for the message that refuses a remote host. */
  plaintextBecause?: string;
}

// Azure Cache for Redis serves TLS on 6380, Azure Managed Redis on 10000.
const tlsPorts = new Set([6380, 10_000]);

/**
 * Options first, environment second; a bad or missing value fails here, not at the first command.
 * A credential never goes in clear to another machine: plaintext is refused here for a host that
 * is not loopback, whichever setting asked for it.
 */
export function resolveConnection(
  options: Pick<RedisConnectorOptions, 'host' | 'port' | 'tls'>,
  environment: Environment = process.env,
): ResolvedConnection {
  const connection = resolveHostPortAndTls(options, environment);
  assertConnectionDestination(connection, environment);
  return connection;
}

/**
 * The transport rule for one connection: called at construction and again by the socket connector
 * before every (re)connect, since NODE_TLS_REJECT_UNAUTHORIZED may change while the process runs.
 */
export function assertConnectionDestination(
  connection: ResolvedConnection,
  environment: Environment = process.env,
): void {
  assertSecretDestination(
    {
      service: 'Redis',
      host: connection.host,
      tls: connection.tls !== false,
      hostSetting: `option \`host\` / ${hostVariable}`,
      tlsHint: `${connection.plaintextBecause ?? 'the settings'} made the connection plaintext; use TLS instead: leave \`tls\` unset (or true) and connect to the cache's TLS port — 6380 for Azure Cache for Redis, 10000 for Azure Managed Redis (option \`port\`, or ${tlsPortVariable})`,
    },
    environment,
  );
}

function resolveHostPortAndTls(
  options: Pick<RedisConnectorOptions, 'host' | 'port' | 'tls'>,
  environment: Environment,
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
  const tlsOptions = resolveTlsOptions(options.tls);
  const explicitTls = options.tls === undefined ? undefined : options.tls !== false;

  const plain = (port: number, because: string): ResolvedConnection => ({
    host,
    port,
    tls: false,
    plaintextBecause: because,
  });
  const optionPort = resolveSetting(portSchema, { option: 'port', value: options.port, environment }).value;
  if (optionPort !== undefined) {
    if (explicitTls === false) return plain(optionPort, 'the option `tls: false`');
    if (explicitTls === true || tlsPorts.has(optionPort)) return { host, port: optionPort, tls: tlsOptions };
    return plain(optionPort, `the option \`port: ${optionPort}\` (not a TLS port, and \`tls\` is unset)`);
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
  if (explicitTls === false) return plain(plainPort ?? 6379, 'the option `tls: false`');
  if (explicitTls === true) return { host, port: tlsPort ?? plainPort ?? 6380, tls: tlsOptions };
  if (tlsPort !== undefined) return { host, port: tlsPort, tls: tlsOptions };
  if (plainPort !== undefined) {
    return tlsPorts.has(plainPort)
      ? { host, port: plainPort, tls: tlsOptions }
      : plain(plainPort, `the environment variable ${portVariable}=${plainPort} (not a TLS port)`);
  }
  return { host, port: 6380, tls: tlsOptions };
}

/**
 * `true`, `false` or `{ ca }`. Anything else in the object is refused: ioredis copies `tls` into
 * `tls.connect()` wholesale, so `host`, `port`, `socket`, `lookup`, `servername`,
 * `checkServerIdentity`, `rejectUnauthorized` there would decide where the password goes and what
 * is verified.
 */
function resolveTlsOptions(value: unknown): { ca?: string | Buffer } {
  if (value === undefined || typeof value === 'boolean') return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError('Invalid option `tls`', { hint: 'give true, false or { ca }' });
  }
  assertNoWeakenedTls(value, 'tls', { service: 'Redis' });
  const { ca, ...rest } = value as { ca?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ConfigurationError(`Invalid option \`tls.${unknown[0]}\` for Redis`, {
      hint: 'only `tls: { ca }` is supported: keyless connects to `host`:`port` and verifies the certificate against that name',
    });
  }
  if (ca === undefined) return {};
  if (typeof ca !== 'string' && !Buffer.isBuffer(ca)) {
    throw new ConfigurationError('Invalid option `tls.ca` for Redis: expected PEM text or a Buffer');
  }
  return { ca };
}

/** `redisOptions`, checked and copied: own enumerable keys only, as the spread into ioredis sees them. */
export function resolvePassedRedisOptions(value: unknown, path = 'redisOptions'): PassedRedisOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      `Invalid option \`${path}\` for Redis: expected an object of ioredis options`,
    );
  }
  const copy = { ...(value as Record<string, unknown>) };
  assertNoWeakenedTls(copy, path, { service: 'Redis' });
  assertNoRefusedRedisOptions(copy, path);
  return copy as PassedRedisOptions;
}
