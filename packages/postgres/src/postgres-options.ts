import {
  ConfigurationError,
  type Environment,
  isLoopbackHost,
  type MissingSettingDescription,
  portSchema,
  requireSetting,
  resolveSetting,
  type TokenProvider,
} from '@keyless/core';
import type { PoolConfig } from 'pg';
import { z } from 'zod';
import type { PostgresPasswordSource } from './password-source.js';

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
  /** `fromKeyVaultSecret(…)` or `entraToken()`. */
  password: PostgresPasswordSource;
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
   * is starting up — a restart, failover or scaling operation — before the caller gets
   * `ServiceUnavailableError`. Default 10 000; 0 fails at the first refusal. Queries already running
   * on a connection the server ended are never retried (they may have run).
   */
  connectRetryMs?: number;
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
}

/** Azure restarts and failovers typically refuse connections for seconds; ride through that much. */
export const defaultConnectRetryMs = 10_000;

const connectRetrySchema = z
  .number({ error: 'expected a number of milliseconds' })
  .int('expected a whole number of milliseconds')
  .min(0, 'expected 0 (no retry) or more milliseconds')
  .max(600_000, 'expected at most 600000 (10 minutes)');

const hostSchema = z
  .string({ error: 'expected a host name such as <server>.postgres.database.azure.com' })
  .trim()
  .min(1, 'expected a host name such as <server>.postgres.database.azure.com')
  .refine((value) => !value.includes('://') && !value.includes('@'), {
    message: 'give the host name only, not a connection string or URL',
  });
const nameSchema = z.string({ error: 'expected a name' }).trim().min(1, 'expected a non-empty name');

const forbiddenPoolKeys = [
  'password',
  'host',
  'port',
  'user',
  'database',
  'ssl',
  'connectionString',
  'Client',
];

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
  for (const key of forbiddenPoolKeys) {
    if (key in pool) {
      throw new ConfigurationError(`Invalid option \`pool.${key}\``, {
        hint:
          key === 'password' || key === 'connectionString'
            ? 'keyless supplies the password (`password: fromKeyVaultSecret(…)` or `entraToken()`); never put one in the pool options'
            : `set the top-level option \`${key === 'Client' ? 'host' : key}\` instead`,
      });
    }
  }
  const connectRetryMs =
    resolveSetting(connectRetrySchema, {
      option: 'connectRetryMs',
      value: options.connectRetryMs,
      variables: [],
      environment,
    }).value ?? defaultConnectRetryMs;
  return { host, port, database, user, ssl: resolveSsl(options.ssl, host), pool, connectRetryMs };
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
