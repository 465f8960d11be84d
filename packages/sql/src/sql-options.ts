import tls from 'node:tls';
import { ConfigurationError, type TokenProvider } from '@keyless/core';
import {
  invalid,
  portSchema,
  requireSetting,
  resolveSetting,
  type SettingSchema,
  settingSchema,
} from '@keyless/core/internal';
import { assertSafeSqlOptions } from './option-guard.js';

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

/**
 * How a new connection rides out Azure SQL's transient login errors (40613, 40197, 4060, … during a
 * reconfiguration: patching, scaling, failover, serverless resume). Microsoft's guidance: wait about
 * 5 s before the first retry, then longer, and expect most reconfigurations to end within 60 s
 * (https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues#interval-increase-between-retries).
 */
export interface SqlLoginRetryOptions {
  /** The wait before the first retry after a transient server error. Default 5 000. */
  firstDelayMs?: number;
  /**
   * How long a new connection keeps retrying, from its first attempt, before the query fails with
   * `unavailable`. Default 60 000.
   */
  budgetMs?: number;
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
  /**
   * Per login attempt, for the server's part (TCP, TLS, the login) and, apart, for the wait for the
   * token: a slow first token does not time out a server that answered. Default 15 000.
   */
  connectTimeoutMs?: number;
  /** Per query; a query that takes longer is cancelled and fails. Default 15 000. */
  requestTimeoutMs?: number;
  /** Retries of a login that Azure SQL refused with a transient error. */
  loginRetry?: SqlLoginRetryOptions;
}

export const serverVariable = 'KEYLESS_SQL_SERVER';
export const portVariable = 'KEYLESS_SQL_PORT';
export const databaseVariable = 'KEYLESS_SQL_DATABASE';

export interface ResolvedSqlOptions {
  server: string;
  port: number;
  database: string;
  encrypt: true | 'strict';
  /** With an explicit `ca`: the default trust (system store, NODE_EXTRA_CA_CERTS) plus that CA. */
  ca: (string | Buffer)[] | undefined;
  pool: Required<SqlPoolOptions>;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  loginRetry: Required<SqlLoginRetryOptions>;
}

const serverSchema: SettingSchema<string> = settingSchema((raw) => {
  if (typeof raw !== 'string') return invalid('expected a host name such as myserver.database.windows.net');
  const host = raw.trim().replace(/^tcp:/i, '');
  if (/[;=]/.test(host) || /\s/.test(host)) {
    return invalid(
      'expected a host name such as myserver.database.windows.net, not a connection string (keyless needs no password: the managed identity logs in)',
    );
  }
  if (host === '') return invalid('the server name is empty');
  return host;
});

const databaseSchema: SettingSchema<string> = settingSchema((raw) => {
  if (typeof raw !== 'string') return invalid('expected a database name');
  const name = raw.trim();
  return name === '' ? invalid('the database name is empty') : name;
});

/** The problem with a duration option, or undefined when it is a positive whole number of milliseconds. */
function durationProblem(what: string, raw: unknown): string | undefined {
  if (typeof raw !== 'number' || Number.isNaN(raw)) return `expected ${what} in milliseconds`;
  if (!Number.isInteger(raw)) return `expected ${what} as a whole number of milliseconds`;
  if (raw <= 0) return `${what} must be positive`;
  return undefined;
}

const durationSchema = (what: string): SettingSchema<number> =>
  settingSchema((raw) => {
    const problem = durationProblem(what, raw);
    return problem === undefined ? (raw as number) : invalid(problem);
  });

/**
 * An object option whose every key is checked by `fields` (each answers a problem or undefined);
 * a key keyless does not read is refused, as a typo would otherwise be ignored silently.
 */
function objectOption<T extends object>(
  fields: Record<keyof T & string, (raw: unknown) => string | undefined>,
  example: string,
): SettingSchema<T> {
  return settingSchema((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return invalid(`expected an object such as ${example}`);
    }
    const problems: string[] = [];
    for (const [key, value] of Object.entries(raw)) {
      const check = (fields as Record<string, (raw: unknown) => string | undefined>)[key];
      if (check === undefined) problems.push(`unknown key \`${key}\``);
      else if (value !== undefined) {
        const problem = check(value);
        if (problem !== undefined) problems.push(problem);
      }
    }
    return problems.length > 0 ? invalid(problems.join('; ')) : (raw as T);
  });
}

function wholeAtLeast(what: string, minimum: number, tooSmall: string) {
  return (raw: unknown): string | undefined => {
    if (typeof raw !== 'number' || Number.isNaN(raw)) return `${what} must be a number`;
    if (!Number.isInteger(raw)) return `${what} must be a whole number`;
    return raw < minimum ? tooSmall : undefined;
  };
}

const poolSchema = objectOption<SqlPoolOptions>(
  {
    min: wholeAtLeast('pool.min', 0, 'pool.min cannot be negative'),
    max: wholeAtLeast('pool.max', 1, 'pool.max must be at least 1'),
    acquireTimeoutMs: (raw) => durationProblem('pool.acquireTimeoutMs', raw),
    idleTimeoutMs: (raw) => durationProblem('pool.idleTimeoutMs', raw),
    maxLifetimeMs: (raw) => durationProblem('pool.maxLifetimeMs', raw),
  },
  '{ max: 10 }',
);

const loginRetrySchema = objectOption<SqlLoginRetryOptions>(
  {
    firstDelayMs: (raw) => durationProblem('loginRetry.firstDelayMs', raw),
    budgetMs: (raw) => durationProblem('loginRetry.budgetMs', raw),
  },
  '{ budgetMs: 60000 }',
);

/** Microsoft's figures (see SqlLoginRetryOptions): 5 s before the first retry, 60 s in all. */
export const loginRetryDefaults: Required<SqlLoginRetryOptions> = {
  firstDelayMs: 5_000,
  budgetMs: 60_000,
};

const poolDefaults: Required<SqlPoolOptions> = {
  min: 0,
  max: 10,
  acquireTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 30 * 60_000,
};

/**
 * Options first, environment second; a bad or missing value fails here, not at the first query.
 * Options that would weaken TLS, and keys keyless does not read, are refused first.
 */
export function resolveSqlOptions(
  options: SqlConnectorOptions,
  environment = process.env,
  node: NodeTls = tls,
): ResolvedSqlOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('Invalid options for Azure SQL: expected an object', {
      hint: "pass an object such as { server: 'myserver.database.windows.net', database: 'mydb' }, or nothing to read the environment",
    });
  }
  assertSafeSqlOptions(options);
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
  const ca = resolveCa(options.ca, node.getCACertificates);
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
  const loginRetry = resolveLoginRetry(options.loginRetry);
  return { server, port, database, encrypt, ca, pool, connectTimeoutMs, requestTimeoutMs, loginRetry };
}

function resolveLoginRetry(value: unknown): Required<SqlLoginRetryOptions> {
  const given = resolveSetting(loginRetrySchema, { option: 'loginRetry', value }).value ?? {};
  return {
    firstDelayMs: given.firstDelayMs ?? loginRetryDefaults.firstDelayMs,
    budgetMs: given.budgetMs ?? loginRetryDefaults.budgetMs,
  };
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

/** `tls.getCACertificates`, Node ≥ 22.15 (absent before). */
type DefaultCertificates = (type: 'default') => string[];

/** What keyless uses of `node:tls` here; a parameter so that a test can be an older Node. */
export interface NodeTls {
  getCACertificates?: DefaultCertificates;
}

/**
 * An explicit `ca` adds to the default trust, it does not replace it: tedious hands the list to
 * `tls.createSecureContext`, where a `ca` replaces the defaults. Only `tls.getCACertificates('default')`
 * (Node ≥ 22.15) gives the defaults as Node uses them — bundled roots, NODE_EXTRA_CA_CERTS, and the
 * system store under --use-system-ca; `tls.rootCertificates` lacks the last two, so it is no fallback.
 * The module is imported whole (not `{ getCACertificates }`) so that an older Node loads keyless and
 * refuses only this option, with a message, instead of failing to link.
 */
function resolveCa(
  value: unknown,
  defaultCertificates: DefaultCertificates | undefined,
): (string | Buffer)[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    throw new ConfigurationError('Invalid option `ca`: expected a PEM string or Buffer', {
      hint: 'pass the PEM text of the CA certificate, or set NODE_EXTRA_CA_CERTS before Node starts',
    });
  }
  if (typeof defaultCertificates !== 'function') {
    throw new ConfigurationError(
      `Option \`ca\` needs Node.js 22.15 or later (tls.getCACertificates); this is Node.js ${process.versions.node}`,
      {
        hint: 'upgrade Node.js, or leave `ca` unset and start Node with NODE_EXTRA_CA_CERTS=<ca.pem>, which adds the CA to the default trust',
      },
    );
  }
  return [...defaultCertificates('default'), value];
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

export { resolveTokenProviderOption } from '@keyless/core/internal';
