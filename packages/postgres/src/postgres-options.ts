import { isIP } from 'node:net';
import { ConfigurationError, type Environment, type PasswordSource, type TokenProvider } from '@keyless/core';
import {
  invalid,
  isLoopbackHost,
  type MissingSettingDescription,
  portSchema,
  requireSetting,
  resolveSetting,
  type SettingSchema,
  settingSchema,
} from '@keyless/core/internal';
import type { PoolConfig } from 'pg';

/** Pool settings keyless decides itself: where to connect, as whom, and how TLS is verified. */
export type PostgresPoolOptions = Omit<
  PoolConfig,
  'password' | 'host' | 'port' | 'user' | 'database' | 'ssl' | 'connectionString' | 'Client'
>;

/** Options of `createPostgresConnector()`; host, port, database and user may come from the environment instead. */
export interface PostgresConnectorOptions {
  /** Server name, e.g. `<server>.postgres.database.azure.com` — else env KEYLESS_POSTGRES_HOST. */
  host?: string;
  /** Else env KEYLESS_POSTGRES_PORT; default 5432. */
  port?: number;
  /** Else env KEYLESS_POSTGRES_DATABASE; default (as in pg) the user's name. */
  database?: string;
  /**
   * The role to log in as. Secret mode: else env KEYLESS_POSTGRES_USER. Entra mode: the identity's
   * display name (the role `pgaadauth_create_principal` made), else env KEYLESS_POSTGRES_ENTRA_USER,
   * then KEYLESS_POSTGRES_USER.
   */
  user?: string;
  /**
   * Where the password comes from: `fromKeyVaultSecret(…)` (a Key Vault secret; its name else from
   * KEYLESS_POSTGRES_PASSWORD_SECRET) or `entraToken()` (a token for Azure Database for
   * PostgreSQL), both from `@keyless/core`.
   */
  password: PasswordSource;
  /** The shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /**
   * Default `true`: TLS with full verification (chain and host name) against the system store, which
   * includes NODE_EXTRA_CA_CERTS. `{ ca }` trusts that CA instead. Verification cannot be turned off.
   */
  ssl?: boolean | { ca?: string | Buffer };
  /** Passed to pg.Pool: max, idleTimeoutMillis, maxLifetimeSeconds, connectionTimeoutMillis, … */
  pool?: PostgresPoolOptions;
  /**
   * How long (ms) a new connection keeps retrying, with backoff, a server that refuses connections or
   * is starting up — a restart, failover, scaling or maintenance operation — before the caller gets
   * `ServiceUnavailableError`, counted from the start of the first attempt. Default 120 000: Azure
   * documents an HA failover as 60–120 s ("RTO < 120 s"), a restart as "typically a minute or less",
   * a compute scale as 40–60 s from the application's view, and says most transient faults are
   * mitigated "in less than 60 seconds" (links at `defaultConnectRetryMs`). Longer events (a scale
   * without near-zero downtime, 2–10 minutes; a slow recovery) end in `ServiceUnavailableError` after
   * this budget, for the application to decide. 0 fails at the first refusal. A query already running
   * on a connection the server ended is never retried (it may have run).
   */
  connectRetryMs?: number;
  /**
   * How long (ms) one connection attempt may take on the network — TCP, TLS and the login exchange,
   * not counting the wait for the password or token — before it fails with
   * `ServiceUnavailableError`. Default 10 000. Bounds a login to a server that accepts the connection
   * but never answers; pg itself has no such limit unless `pool.connectionTimeoutMillis` is set.
   */
  connectTimeoutMs?: number;
}

export const hostVariable = 'KEYLESS_POSTGRES_HOST';
export const portVariable = 'KEYLESS_POSTGRES_PORT';
export const databaseVariable = 'KEYLESS_POSTGRES_DATABASE';
export const userVariable = 'KEYLESS_POSTGRES_USER';
export const entraUserVariable = 'KEYLESS_POSTGRES_ENTRA_USER';

export interface ResolvedPostgresOptions {
  host: string;
  port: number;
  database: string | undefined;
  user: string;
  ssl: true | { ca: string | Buffer } | false;
  pool: PostgresPoolOptions;
  connectRetryMs: number;
  connectTimeoutMs: number;
}

/**
 * How long a new connection waits out a server that is away, from Microsoft's figures for Azure
 * Database for PostgreSQL flexible server:
 * - HA failover: "automatically fails over to the standby server within 60-120 seconds", and "might
 *   take longer than 120 seconds" under heavy write load
 *   (https://learn.microsoft.com/azure/postgresql/high-availability/concepts-high-availability);
 *   business continuity: HA "RTO < 120 secs", server failure with HA "RTO is expected to be 60-120s",
 *   planned maintenance "typically incur up to few minutes of downtime"
 *   (https://learn.microsoft.com/azure/postgresql/backup-restore/concepts-business-continuity);
 * - restart on compute scaling: "typically takes a minute or less, but it can be several minutes";
 *   near-zero-downtime scaling 10–30 s plus a ~30 s DNS TTL, "40 to 60 seconds" for the application;
 *   regular scaling "2 to 10 minutes"
 *   (https://learn.microsoft.com/azure/postgresql/scale/concepts-scaling-resources);
 * - transient faults: "The system automatically mitigates most of these events in less than 60
 *   seconds" (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-connectivity).
 *
 * 120 s covers every typical figure above — the top of the failover range included — with the
 * budget counted from the first attempt, so a caller that arrives at the start of an absence still
 * rides it out. The events documented as longer (minutes) are not something a caller should sit
 * through: they end in ServiceUnavailableError, and the application decides.
 */
export const defaultConnectRetryMs = 120_000;

/** Long enough for a login across a region, short enough that a silent server is reported. */
export const defaultConnectTimeoutMs = 10_000;

const connectRetrySchema = millisecondsSchema(0, 'expected 0 (no retry) or more milliseconds');
const connectTimeoutSchema = millisecondsSchema(100, 'expected at least 100 milliseconds');

/** Whole milliseconds from `minimum` to 10 minutes (zod's messages, without zod on the import path). */
function millisecondsSchema(minimum: number, tooSmall: string): SettingSchema<number> {
  return settingSchema((raw) => {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return invalid('expected a number of milliseconds');
    if (!Number.isInteger(raw)) return invalid('expected a whole number of milliseconds');
    if (raw < minimum) return invalid(tooSmall);
    if (raw > 600_000) return invalid('expected at most 600000 (10 minutes)');
    return raw;
  });
}

/**
 * DNS labels (letters, digits, `-`, `_`) joined by dots. Each label's class excludes the dot, so
 * matching is linear. Anything else — a URL, a connection string (`host=… sslmode=disable`), a
 * socket path — is refused: pg would read some of them as settings of their own.
 */
const hostNamePattern = /^[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?$/;

const hostSchema = settingSchema((raw) => {
  const expected = 'expected a host name such as <server>.postgres.database.azure.com';
  if (typeof raw !== 'string' || raw.trim() === '') return invalid(expected);
  const value = raw.trim();
  if (value.length > 253) return invalid('expected a host name of at most 253 characters');
  if (isIP(value) === 0 && !hostNamePattern.test(value)) {
    return invalid(
      'give the host name or IP address only (e.g. <server>.postgres.database.azure.com), not a connection string, URL or socket path',
    );
  }
  return value;
});

const nameSchema = settingSchema((raw) => {
  if (typeof raw !== 'string') return invalid('expected a name');
  const value = raw.trim();
  return value === '' ? invalid('expected a non-empty name') : value;
});

/**
 * pg reads these from the pool options at run time whatever the types say (pg-pool hands its
 * options to every Client it makes): each would decide where the password goes or how TLS is
 * checked, which keyless decides.
 */
const forbiddenPoolKeys: Readonly<Record<string, string>> = {
  password:
    'keyless supplies the password (`password: fromKeyVaultSecret(…)` or `entraToken()`); never put one in the pool options',
  connectionString:
    'keyless supplies the password (`password: fromKeyVaultSecret(…)` or `entraToken()`); never put one in the pool options',
  host: 'set the top-level option `host` instead',
  port: 'set the top-level option `port` instead',
  user: 'set the top-level option `user` instead',
  database: 'set the top-level option `database` instead',
  ssl: 'set the top-level option `ssl` instead (`{ ca }` to trust a private CA)',
  sslmode:
    'keyless always verifies TLS (chain and host name); to trust a private CA, set the top-level option `ssl: { ca }`',
  Client:
    'keyless makes the pg clients itself (they hand the password over and forget it); a custom Client class would receive the password',
  stream:
    "a custom stream decides where the bytes go, out of keyless's sight; keyless opens the connection itself",
  connection:
    "a custom pg Connection decides where the bytes go, out of keyless's sight; keyless opens the connection itself",
};

export function resolvePostgresOptions(
  options: PostgresConnectorOptions,
  mode: 'key-vault-secret' | 'entra-token',
  environment: Environment = process.env,
): ResolvedPostgresOptions {
  const host = requireSetting(
    hostSchema,
    { option: 'host', value: options.host, variables: [hostVariable], environment },
    postgresMissing('host', 'the server name, e.g. <server>.postgres.database.azure.com'),
  );
  const port =
    resolveSetting(portSchema, {
      option: 'port',
      value: options.port,
      variables: [portVariable],
      environment,
    }).value ?? 5432;
  const database = resolveSetting(nameSchema, {
    option: 'database',
    value: options.database,
    variables: [databaseVariable],
    environment,
  }).value;
  const userVariables = mode === 'entra-token' ? [entraUserVariable, userVariable] : [userVariable];
  const user = requireSetting(
    nameSchema,
    { option: 'user', value: options.user, variables: userVariables, environment },
    postgresMissing(
      'user',
      mode === 'entra-token'
        ? "the identity's display name, the role pgaadauth_create_principal created for it"
        : 'the PostgreSQL role whose password is the Key Vault secret',
    ),
  );
  const pool = { ...(options.pool ?? {}) };
  for (const [key, hint] of Object.entries(forbiddenPoolKeys)) {
    if (key in pool) throw new ConfigurationError(`Invalid option \`pool.${key}\``, { hint });
  }
  const connectRetryMs =
    resolveSetting(connectRetrySchema, {
      option: 'connectRetryMs',
      value: options.connectRetryMs,
      variables: [],
      environment,
    }).value ?? defaultConnectRetryMs;
  const connectTimeoutMs =
    resolveSetting(connectTimeoutSchema, {
      option: 'connectTimeoutMs',
      value: options.connectTimeoutMs,
      variables: [],
      environment,
    }).value ?? defaultConnectTimeoutMs;
  return {
    host,
    port,
    database,
    user,
    ssl: resolveSsl(options.ssl, host),
    pool,
    connectRetryMs,
    connectTimeoutMs,
  };
}

function resolveSsl(value: PostgresConnectorOptions['ssl'], host: string): ResolvedPostgresOptions['ssl'] {
  if (value === undefined || value === true) return true;
  if (value === false) {
    if (isLoopbackHost(host)) return false;
    throw new ConfigurationError('Invalid option `ssl`: false is allowed only for a loopback server', {
      hint: 'Azure Database for PostgreSQL requires TLS; leave `ssl` out (verified TLS) or pass `{ ca }` for a private CA',
    });
  }
  if (typeof value !== 'object' || value === null) {
    throw new ConfigurationError('Invalid option `ssl`: expected true, false (loopback only) or { ca }');
  }
  const { ca, ...rest } = value as { ca?: unknown; rejectUnauthorized?: unknown };
  if ('rejectUnauthorized' in rest) {
    throw new ConfigurationError(
      'Invalid option `ssl.rejectUnauthorized`: keyless never turns off TLS verification',
      {
        hint: "trust the server's CA instead: NODE_EXTRA_CA_CERTS=<ca.pem> when starting Node, or `ssl: { ca }` (Azure's certificates chain to public roots: no option is needed there)",
      },
    );
  }
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ConfigurationError(`Invalid option \`ssl.${unknown[0]}\``, {
      hint: 'only `ssl: { ca }` is supported',
    });
  }
  if (ca === undefined) return true;
  if (typeof ca !== 'string' && !Buffer.isBuffer(ca)) {
    throw new ConfigurationError('Invalid option `ssl.ca`: expected PEM text or a Buffer');
  }
  return { ca };
}

function postgresMissing(option: string, what: string): MissingSettingDescription {
  return {
    what: `PostgreSQL \`${option}\``,
    detail: ` to ${what} (\`keyless-local up postgres\` prints it for the local stack)`,
  };
}
