import {
  ConfigurationError,
  portSchema,
  requireSetting,
  resolveSetting,
  type TokenProvider,
} from '@keyless/core';
import { z } from 'zod';

/** Pool sizes and timeouts; every one has a default. */
export interface SqlPoolOptions {
  /** Connections kept open even when idle. Default 0. */
  min?: number;
  /** Connections at most; further queries wait for one. Default 10. */
  max?: number;
  /** How long a query waits for a free connection before failing with `unavailable`. Default 15 000. */
  acquireTimeoutMs?: number;
  /** An idle connection above `min` is closed after this long. Default 30 000. */
  idleTimeoutMs?: number;
  /**
   * A connection older than this is closed instead of reused, so that logins (and therefore
   * fresh tokens, failovers and new gateway routes) keep happening. Default 1 800 000 (30 min).
   */
  maxLifetimeMs?: number;
}

/** Options of `createSqlConnector()`; server, port and database may come from the environment instead. */
export interface SqlConnectorOptions {
  /** e.g. `myserver.database.windows.net` — else env KEYLESS_SQL_SERVER (what keyless-local prints). */
  server?: string;
  /** Else env KEYLESS_SQL_PORT; default 1433. */
  port?: number;
  /** The database the identity's user lives in — else env KEYLESS_SQL_DATABASE. */
  database?: string;
  /** The shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /** `true` (TLS inside PRELOGIN, TDS 7.4) or `'strict'` (TDS 8, TLS first). Default `true`; `false` is refused. */
  encrypt?: true | 'strict';
  /** Extra CA certificate(s) to trust, besides the system store and NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer;
  /** Pool sizes and timeouts. */
  pool?: SqlPoolOptions;
  /** Per login attempt. Default 15 000. */
  connectTimeoutMs?: number;
  /** Per query; a query that takes longer is cancelled and fails. Default 15 000. */
  requestTimeoutMs?: number;
}

export const serverVariable = 'KEYLESS_SQL_SERVER';
export const portVariable = 'KEYLESS_SQL_PORT';
export const databaseVariable = 'KEYLESS_SQL_DATABASE';

export interface ResolvedSqlOptions {
  server: string;
  port: number;
  database: string;
  encrypt: true | 'strict';
  ca: string | Buffer | undefined;
  pool: Required<SqlPoolOptions>;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

const serverSchema = z
  .string({ error: 'expected a host name such as myserver.database.windows.net' })
  .transform((value, context) => {
    const host = value.trim().replace(/^tcp:/i, '');
    if (/[;=]/.test(host) || /\s/.test(host)) {
      context.addIssue({
        code: 'custom',
        message:
          'expected a host name such as myserver.database.windows.net, not a connection string (keyless needs no password: the managed identity logs in)',
      });
      return z.NEVER;
    }
    if (host === '') {
      context.addIssue({ code: 'custom', message: 'the server name is empty' });
      return z.NEVER;
    }
    return host;
  });

const databaseSchema = z
  .string({ error: 'expected a database name' })
  .trim()
  .min(1, 'the database name is empty');

const durationSchema = (what: string) =>
  z
    .number({ error: `expected ${what} in milliseconds` })
    .int(`expected ${what} as a whole number of milliseconds`)
    .positive(`${what} must be positive`);

const poolSchema = z
  .object(
    {
      min: z.number().int('pool.min must be a whole number').min(0, 'pool.min cannot be negative').optional(),
      max: z.number().int('pool.max must be a whole number').min(1, 'pool.max must be at least 1').optional(),
      acquireTimeoutMs: durationSchema('pool.acquireTimeoutMs').optional(),
      idleTimeoutMs: durationSchema('pool.idleTimeoutMs').optional(),
      maxLifetimeMs: durationSchema('pool.maxLifetimeMs').optional(),
    },
    { error: 'expected an object such as { max: 10 }' },
  )
  .strict();

const poolDefaults: Required<SqlPoolOptions> = {
  min: 0,
  max: 10,
  acquireTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 30 * 60_000,
};

/** Options first, environment second; a bad or missing value fails here, not at the first query. */
export function resolveSqlOptions(
  options: SqlConnectorOptions,
  environment = process.env,
): ResolvedSqlOptions {
  const server = requireSetting(
    serverSchema,
    { option: 'server', value: options.server, variables: [serverVariable], environment },
    {
      what: 'Azure SQL server',
      detail:
        " to the server's host name, e.g. myserver.database.windows.net (`keyless-local up sql` prints it for the local stack)",
    },
  );
  const port =
    resolveSetting(portSchema, {
      option: 'port',
      value: options.port,
      variables: [portVariable],
      environment,
    }).value ?? 1433;
  // A user created FROM EXTERNAL PROVIDER is a contained database user: the login must name its database.
  const database = requireSetting(
    databaseSchema,
    { option: 'database', value: options.database, variables: [databaseVariable], environment },
    { what: 'Azure SQL database', detail: ' to the database in which the identity has a user' },
  );
  const encrypt = resolveEncrypt(options.encrypt);
  const ca = resolveCa(options.ca);
  const pool = resolvePool(options.pool);
  const connectTimeoutMs =
    resolveSetting(durationSchema('connectTimeoutMs'), {
      option: 'connectTimeoutMs',
      value: options.connectTimeoutMs,
    }).value ?? 15_000;
  const requestTimeoutMs =
    resolveSetting(durationSchema('requestTimeoutMs'), {
      option: 'requestTimeoutMs',
      value: options.requestTimeoutMs,
    }).value ?? 15_000;
  return { server, port, database, encrypt, ca, pool, connectTimeoutMs, requestTimeoutMs };
}

function resolveEncrypt(value: unknown): true | 'strict' {
  if (value === undefined || value === true || value === 'strict') return value ?? true;
  if (value === false) {
    throw new ConfigurationError('Invalid option `encrypt`: false is refused — TLS is always on', {
      hint: "leave `encrypt` unset (TLS inside PRELOGIN, as Azure SQL requires) or set it to 'strict' (TDS 8: TLS first)",
    });
  }
  throw new ConfigurationError("Invalid option `encrypt`: expected true or 'strict'", {
    hint: "leave `encrypt` unset or set it to 'strict'",
  });
}

function resolveCa(value: unknown): string | Buffer | undefined {
  if (value === undefined || typeof value === 'string' || Buffer.isBuffer(value)) return value;
  throw new ConfigurationError('Invalid option `ca`: expected a PEM string or Buffer', {
    hint: 'pass the PEM text of the CA certificate, or set NODE_EXTRA_CA_CERTS before Node starts',
  });
}

function resolvePool(value: unknown): Required<SqlPoolOptions> {
  const given = resolveSetting(poolSchema, { option: 'pool', value }).value ?? {};
  const pool: Required<SqlPoolOptions> = { ...poolDefaults };
  for (const [key, setting] of Object.entries(given) as [keyof SqlPoolOptions, number | undefined][]) {
    if (setting !== undefined) pool[key] = setting;
  }
  if (given.max === undefined && pool.min > pool.max) pool.max = pool.min;
  if (pool.min > pool.max) {
    throw new ConfigurationError(
      `Invalid option \`pool\`: min (${pool.min}) is larger than max (${pool.max})`,
      {
        hint: 'set pool.min at most pool.max',
      },
    );
  }
  return pool;
}
