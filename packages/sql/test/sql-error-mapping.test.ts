import { EventEmitter } from 'node:events';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  CredentialUnavailableError,
  type KeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import {
  type Canaries,
  describeErrorMappingConformance,
  type ErrorMappingRow,
  type ExpectedMappedError,
  makeCanaries,
} from '@keyless/testing';
import { type Connection, ConnectionError, RequestError } from 'tedious';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../src/connection-pool.js';
import {
  isTransientLoginFailure,
  type LoginContext,
  type LoginFailure,
  mapLoginFailure,
  type ServerLoginError,
} from '../src/login-error-mapping.js';
import { PooledConnection } from '../src/pooled-connection.js';
import { mapQueryError } from '../src/query-error-mapping.js';

/**
 * Every mapping @keyless/sql does, without a server: the home of the tables. The error-mapping
 * group of the connector conformance suite runs the login and query tables (class, code,
 * retryability, message and hint words; no view of a mapped error shows the canary token planted
 * in the native one); the tests beside it check what the group does not (status, whether a login
 * is retried, whether a connection is retired). The pool's own errors depend on the pool's state,
 * not on a native error, and have a table of their own. The tests against the local SQL endpoint
 * prove that real logins produce these native errors.
 */

const echoing = (canaries: Canaries, text: string) => `${text} (the driver echoed ${canaries.token})`;

const context: LoginContext = {
  server: 'myserver.database.windows.net',
  port: 1433,
  database: 'orders',
  identity: 'user-assigned client-id 5b0c0000-0000-0000-0000-000000000001',
  connectTimeoutMs: 15_000,
  loginRetryBudgetMs: 60_000,
};

/** An ERROR token of the login, as the connection factory records it (its text echoes the canary). */
function serverError(canaries: Canaries, number: number, message: string): ServerLoginError {
  return { number, message: echoing(canaries, message), state: 1, class: 14 };
}

/** What tedious's connect callback receives after the server sent ERROR tokens. */
function loginFailed(canaries: Canaries, ...serverErrors: [number, string][]): LoginFailure {
  return {
    error: new ConnectionError(echoing(canaries, 'Login failed.'), 'ELOGIN'),
    serverErrors: serverErrors.map(([number, message]) => serverError(canaries, number, message)),
  };
}

function clientFailure(
  canaries: Canaries,
  code: string | undefined,
  extra: Partial<LoginFailure> = {},
): LoginFailure {
  return {
    error: new ConnectionError(echoing(canaries, `Connection failed (${code})`), code),
    serverErrors: [],
    ...extra,
  };
}

/** A TLS failure as tedious reports it: a socket error whose cause is Node's certificate error. */
function certificateFailure(canaries: Canaries, code: string, message: string): LoginFailure {
  const tlsError = Object.assign(new Error(echoing(canaries, message)), { code });
  return {
    error: new ConnectionError(echoing(canaries, `Failed to connect: ${message}`), 'ESOCKET', {
      cause: tlsError,
    }),
    serverErrors: [],
  };
}

/** An Azure SQL host: the gateway on 1433, and the Redirect policy's 11000–11999 after it. */
const unreachableHint = [
  'myserver.database.windows.net:1433',
  'firewall',
  'outbound TCP 1433',
  '11000–11999',
  'Redirect',
];
const createUserHint = ['CREATE USER [<identity name>] FROM EXTERNAL PROVIDER', 'ALTER ROLE db_datareader'];
const reconfigurationHint = ['reconfigured', 'loginRetry.budgetMs (60000 ms)', 'within 60 s'];

/**
 * Azure SQL's transient login errors: Microsoft's list
 * (https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues#list-of-transient-fault-error-codes)
 * and the numbers SqlClient's retry providers add to it.
 */
const transientNumbers = [
  926, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 4221, 615, 10928, 10929, 10053, 10054, 10060, 40143,
];

interface LoginRow extends ErrorMappingRow {
  /** What tedious's connect callback received, and the ERROR tokens the login saw. */
  native(canaries: Canaries): LoginFailure;
  /** The mapped error's `status`: the server's error number, none for a client-side failure. */
  status?: number;
  /** Whether the login is retried (a fresh attempt can succeed). */
  transient: boolean;
  /** The login's context, where it differs from `context` (another server). */
  context?: Partial<LoginContext>;
}

/** The context each native login failure was made for, beside it rather than in it. */
const nativeContexts = new WeakMap<object, Partial<LoginContext>>();

const mapLogin = (native: LoginFailure) =>
  mapLoginFailure(native, { ...context, ...nativeContexts.get(native) });

/** The row's native failure, remembered with the row's context. */
const nativeOf = (row: LoginRow, canaries: Canaries): LoginFailure => {
  const native = row.native(canaries);
  if (row.context !== undefined) nativeContexts.set(native, row.context);
  return native;
};

const loginRefused = "Login failed for user '<token-identified principal>'.";

const loginRows: LoginRow[] = [
  {
    name: '18456 (the identity has no database user)',
    native: (canaries) => loginFailed(canaries, [18456, loginRefused]),
    status: 18456,
    transient: false,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['refused the login of user-assigned client-id 5b0c', 'error 18456'],
      hint: [...createUserHint, 'database orders', 'az sql server ad-admin create'],
    },
  },
  ...[
    'Token is expired.',
    'The server is not currently configured to accept this token.',
    'Incorrect or invalid token.',
  ].map(
    (text): LoginRow => ({
      name: `18456 "${text}" (the token itself was refused)`,
      native: (canaries) => loginFailed(canaries, [18456, `${loginRefused} ${text}`]),
      status: 18456,
      transient: false,
      expected: {
        class: AuthenticationFailedError,
        retryable: false,
        message: ['rejected the token', 'error 18456'],
        hint: ['https://database.windows.net/.default', 'tenant', 'TokenProvider itself'],
      },
    }),
  ),
  {
    // Transient on Microsoft's list (the database is briefly not there during a reconfiguration);
    // a wrong name gives the same number, so the advice after the retries names both.
    name: '4060 then 18456 (database not available now, or not there): the 4060 is the verdict, retried',
    native: (canaries) =>
      loginFailed(
        canaries,
        [4060, 'Cannot open database "ordrs" requested by the login. The login failed.'],
        [18456, loginRefused],
      ),
    status: 4060,
    transient: true,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['temporarily unavailable', 'error 4060'],
      hint: [
        ...reconfigurationHint,
        'KEYLESS_SQL_DATABASE',
        'CREATE USER [<identity name>] FROM EXTERNAL PROVIDER',
      ],
    },
  },
  ...transientNumbers.map(
    (number): LoginRow => ({
      name: `${number} (transient, retried)`,
      native: (canaries) =>
        loginFailed(canaries, [number, 'The service is currently busy. Retry the request later.']),
      status: number,
      transient: true,
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: ['temporarily unavailable', `error ${number}`],
        hint: reconfigurationHint,
      },
    }),
  ),
  {
    name: 'another server error (40532: cannot open the server)',
    native: (canaries) =>
      loginFailed(canaries, [40532, 'Cannot open server "other" requested by the login.']),
    status: 40532,
    transient: false,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['refused the login', 'error 40532'],
    },
  },
  {
    name: 'certificate from an untrusted CA (a socket error whose cause Node refused)',
    native: (canaries) =>
      certificateFailure(
        canaries,
        'SELF_SIGNED_CERT_IN_CHAIN',
        'self-signed certificate in certificate chain',
      ),
    transient: false,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: [
        "myserver.database.windows.net:1433: the server's TLS certificate is not trusted",
        'SELF_SIGNED_CERT_IN_CHAIN',
      ],
      hint: ['NODE_EXTRA_CA_CERTS', '`ca`', 'verification is never turned off'],
    },
  },
  {
    name: 'certificate for another name',
    native: (canaries) =>
      certificateFailure(
        canaries,
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames",
      ),
    transient: false,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['not trusted', 'ERR_TLS_CERT_ALTNAME_INVALID'],
      hint: ['the name it was issued for'],
    },
  },
  {
    name: 'ETIMEOUT while the login waited for the token provider',
    native: (canaries) => clientFailure(canaries, 'ETIMEOUT', { tokenPending: true }),
    // Another attempt would wait for the same token request.
    transient: false,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['No token for Azure SQL', 'connectTimeoutMs (15000 ms)', 'has not answered'],
      hint: ['managed-identity endpoint', 'IDENTITY_ENDPOINT', 'connectTimeoutMs'],
    },
  },
  {
    name: 'EFEDAUTH: the credential returned no token',
    native: () => ({
      error: new AggregateError([
        new ConnectionError('Security token could not be authenticated or authorized.', 'EFEDAUTH'),
      ]),
      serverErrors: [],
    }),
    transient: false,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['No token for Azure SQL', 'returned none'],
      hint: ['https://database.windows.net/.default'],
    },
  },
  {
    name: 'EFEDAUTH: a custom credential threw',
    native: (canaries) => ({
      error: new AggregateError([
        new ConnectionError('Security token could not be authenticated or authorized.', 'EFEDAUTH'),
        new Error(echoing(canaries, 'the custom credential failed')),
      ]),
      serverErrors: [],
    }),
    transient: false,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['No token for Azure SQL', 'the credential failed'],
      hint: ['https://database.windows.net/.default'],
    },
  },
  ...(['ESOCKET', 'ETIMEOUT'] as const).map(
    (code): LoginRow => ({
      name: `${code} (server unreachable or silent): an Azure SQL host's hint names 1433 and the Redirect ports`,
      native: (canaries) => clientFailure(canaries, code),
      transient: true,
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: [`could not be reached (${code})`],
        hint: unreachableHint,
      },
    }),
  ),
  ...(
    [
      [
        'ESOCKET',
        'Failed to connect to a1b2.tr5.westeurope1-a.worker.database.windows.net:11042 (redirected from myserver.database.windows.net:1433) - connect ECONNREFUSED',
      ],
      [
        'ETIMEOUT',
        'Failed to connect to a1b2.tr5.westeurope1-a.worker.database.windows.net:11042 (redirected from myserver.database.windows.net:1433) in 15000ms',
      ],
    ] as const
  ).map(
    ([code, message]): LoginRow => ({
      name: `${code} on the redirected leg (tedious's message names the node): the Redirect ports, or Proxy`,
      native: (canaries) => ({
        error: new ConnectionError(echoing(canaries, message), code),
        serverErrors: [],
      }),
      transient: true,
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: [
          `could not be reached (${code})`,
          'redirected the login to a1b2.tr5.westeurope1-a.worker.database.windows.net:11042',
        ],
        hint: [
          'redirected the login',
          '11000–11999',
          'Sql.<region>',
          'conn-policy update --connection-type Proxy',
        ],
      },
    }),
  ),
  {
    name: 'ESOCKET from a server that is not an Azure SQL host (the local stack): no Redirect ports',
    native: (canaries) => clientFailure(canaries, 'ESOCKET'),
    context: { server: 'localhost', port: 51433 },
    transient: true,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['could not be reached (ESOCKET)'],
      hint: ['localhost:51433', 'outbound port 51433', 'keyless-local up sql', /^(?!.*11000)/s],
    },
  },
  {
    name: 'a failure without a code',
    native: (canaries) => ({ error: new Error(echoing(canaries, 'socket hang up')), serverErrors: [] }),
    transient: false,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['could not be reached (no answer)'],
      hint: unreachableHint,
    },
  },
  {
    name: 'another client code (ELOGIN without a server error)',
    native: (canaries) => clientFailure(canaries, 'ELOGIN'),
    transient: false,
    expected: { class: AuthenticationFailedError, retryable: false, message: ['failed (ELOGIN)'] },
  },
];

describeErrorMappingConformance({
  name: '@keyless/sql login',
  map: (native) => mapLogin(native as LoginFailure),
  rows: loginRows.map((row) => ({ ...row, native: (canaries: Canaries) => nativeOf(row, canaries) })),
});

describe('login errors, what the group does not check', () => {
  it.each(loginRows)('$name: status, and whether the login is retried', (row) => {
    const failure = nativeOf(row, makeCanaries());
    expect((mapLogin(failure) as KeylessError).status).toBe(row.status);
    expect(isTransientLoginFailure(failure)).toBe(row.transient);
  });

  it('says how long a transient error was retried, when it was', () => {
    const failure = loginFailed(makeCanaries(), [40613, "Database 'orders' is not currently available."]);
    const mapped = mapLoginFailure(failure, context, { attempts: 6, elapsedMs: 60_400 });
    expect(mapped.message).toContain('after 6 login attempts over 60 s');
  });

  it.each([
    ['directly', (cause: Error) => cause],
    [
      'inside the AggregateError tedious wraps it in',
      (cause: Error) =>
        new AggregateError([
          new ConnectionError('Security token could not be authenticated or authorized.', 'EFEDAUTH'),
          cause,
        ]),
    ],
    ['as a cause', (cause: Error) => new ConnectionError('Connection lost', 'ESOCKET', { cause })],
  ])("the token provider's own error, %s, is handed over unchanged and not retried", (_where, wrap) => {
    const fromProvider = new CredentialUnavailableError('No managed identity endpoint found');
    const failure: LoginFailure = { error: wrap(fromProvider), serverErrors: [] };
    expect(mapLoginFailure(failure, context) === fromProvider).toBe(true);
    expect(isTransientLoginFailure(failure)).toBe(false);
  });
});

interface QueryRow extends ErrorMappingRow {
  native(canaries: Canaries): Error;
  /** tedious had reported the end of the connection before this error. */
  connectionEnded?: boolean;
  /** Whether the connection is retired rather than returned to the pool. */
  connectionBroken: boolean;
  /** Refused because the session's login token expired: a fresh login can run it. */
  sessionTokenExpired?: boolean;
}

function requestError(canaries: Canaries, message: string, code: string, number?: number): RequestError {
  return Object.assign(new RequestError(echoing(canaries, message), code), { number });
}

const describeServer = 'myserver.database.windows.net:1433/orders';

const lostConnection: ExpectedMappedError = {
  class: ServiceUnavailableError,
  retryable: true,
  message: [`The connection to Azure SQL at ${describeServer} was lost`],
  hint: ['failover', 'the next query opens a new one'],
};

const queryRows: QueryRow[] = [
  {
    name: 'a server error (208 invalid object name), which leaves the connection in the pool',
    native: (canaries) => requestError(canaries, "Invalid object name 'dbo.missing'.", 'EREQUEST', 208),
    connectionBroken: false,
    expected: 'unchanged',
  },
  ...(
    [
      [18456, "Login failed for user '<token-identified principal>'. Token is expired."],
      [
        37396,
        'Query cannot be executed, access token is expired. Please login with a new access token and execute query again.',
      ],
    ] as const
  ).map(
    ([number, message]): QueryRow => ({
      name: `${number} on a statement (the session's login token expired): retired, for a fresh login`,
      native: (canaries) => requestError(canaries, message, 'EREQUEST', number),
      connectionBroken: true,
      sessionTokenExpired: true,
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: [`refused the statement: the session's login token has expired (error ${number})`],
        hint: ['cannot take a new token', 'fresh login', 'transaction'],
      },
    }),
  ),
  {
    name: 'another 18456 on a statement is the server speaking about the statement: unchanged',
    native: (canaries) => requestError(canaries, "Login failed for user 'someone'.", 'EREQUEST', 18456),
    connectionBroken: false,
    expected: 'unchanged',
  },
  {
    name: 'a request that timed out (ETIMEOUT, no number), whose connection is retired',
    native: (canaries) =>
      requestError(canaries, 'Timeout: Request failed to complete in 15000ms', 'ETIMEOUT'),
    connectionBroken: true,
    expected: 'unchanged',
  },
  ...['ESOCKET', 'ECLOSE', 'EINVALIDSTATE', 'ECONNRESET'].map(
    (code): QueryRow => ({
      name: `${code} (the connection was lost)`,
      native: (canaries) => requestError(canaries, 'Connection lost', code),
      connectionBroken: true,
      expected: lostConnection,
    }),
  ),
  {
    name: 'any error after tedious reported the end of the connection',
    native: (canaries) => new Error(echoing(canaries, 'write after end')),
    connectionEnded: true,
    connectionBroken: true,
    expected: lostConnection,
  },
];

/** Whether tedious had reported the connection's end, beside each native error rather than in it. */
const endedConnections = new WeakSet<Error>();

const mapQuery = (native: Error) =>
  mapQueryError(native, { describeServer, connectionEnded: endedConnections.has(native) });

describeErrorMappingConformance({
  name: '@keyless/sql query',
  map: (native) => mapQuery(native as Error).error,
  rows: queryRows.map((row) => ({
    ...row,
    native: (canaries: Canaries) => {
      const native = row.native(canaries);
      if (row.connectionEnded) endedConnections.add(native);
      return native;
    },
  })),
});

describe('query errors, what the group does not check', () => {
  it.each(queryRows)('$name: whether the connection is retired, and a fresh login can run it', (row) => {
    const native = row.native(makeCanaries());
    if (row.connectionEnded) endedConnections.add(native);
    const failure = mapQuery(native);
    expect(failure.connectionBroken).toBe(row.connectionBroken);
    expect(failure.sessionTokenExpired).toBe(row.sessionTokenExpired ?? false);
  });
});

/** Enough of a tedious Connection for the pool: it is open until closed. */
function fakeConnection(): Connection {
  const connection = Object.assign(new EventEmitter(), {
    closed: false,
    close() {
      connection.closed = true;
      connection.emit('end');
    },
  });
  return connection as unknown as Connection;
}

type Login = 'hangs' | 'succeeds' | Error;

interface PoolRow {
  name: string;
  /** What each login does in turn: `hangs` until the test ends, `succeeds` at once, or rejects with this. */
  logins: Login[];
  max: number;
  /** Acquires made first, and kept. */
  held: number;
  pendingTokenRequests: number;
  expected: ExpectedMappedError | 'the login error';
}

const providerDown = new ServiceUnavailableError('The token request to the identity endpoint failed');

const poolRows: PoolRow[] = [
  {
    name: 'every connection is busy: "raise pool.max"',
    logins: ['succeeds'],
    max: 1,
    held: 1,
    pendingTokenRequests: 0,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: [
        'No Azure SQL connection to myserver.database.windows.net:1433/orders became free within 50 ms',
        'pool max 1',
      ],
      hint: ['pool.max', 'pool.acquireTimeoutMs', 'transactions'],
    },
  },
  {
    name: 'a connection is busy while another logs in: still "raise pool.max" (queries hold what there is)',
    logins: ['succeeds', 'hangs'],
    max: 2,
    held: 1,
    pendingTokenRequests: 1,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['became free within 50 ms', 'pool max 2'],
      hint: ['pool.max'],
    },
  },
  {
    name: 'nothing is busy, the login waits for a token: the identity endpoint, not pool.max',
    logins: ['hangs'],
    max: 1,
    held: 0,
    pendingTokenRequests: 1,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['within pool.acquireTimeoutMs (50 ms)', 'the login is waiting for a token'],
      hint: ['managed-identity endpoint', 'connectTimeoutMs and pool.acquireTimeoutMs'],
    },
  },
  {
    name: 'nothing is busy, the login is under way: the server, not pool.max',
    logins: ['hangs'],
    max: 1,
    held: 0,
    pendingTokenRequests: 0,
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['within pool.acquireTimeoutMs (50 ms)', 'the login was still under way'],
      hint: ['reachable', 'firewall', 'connectTimeoutMs'],
    },
  },
  {
    name: 'the login failed with a keyless error: the query gets it unchanged',
    logins: [providerDown],
    max: 1,
    held: 0,
    pendingTokenRequests: 0,
    expected: 'the login error',
  },
];

/**
 * The pool's own errors: what an acquire that timed out means depends on what the pool was doing,
 * so each row sets a pool up rather than mapping a native error, and no driver text (or token) is
 * involved.
 */
describe('pool errors, without a server', () => {
  const pools: ConnectionPool[] = [];
  const hanging: (() => void)[] = [];
  const held: { pool: ConnectionPool; connection: PooledConnection }[] = [];

  // drain() waits for connections in use, so a failed assertion must not leave one held.
  afterEach(async () => {
    for (const release of hanging.splice(0)) release();
    for (const { pool, connection } of held.splice(0)) pool.release(connection);
    for (const pool of pools.splice(0)) await pool.drain();
  });

  it.each(poolRows)('$name', async (row) => {
    const logins = [...row.logins];
    const pool = new ConnectionPool({
      settings: { min: 0, max: row.max, acquireTimeoutMs: 50, idleTimeoutMs: 1_000, maxLifetimeMs: 60_000 },
      describeServer,
      createTimeoutMs: 10_000,
      progress: { pendingTokenRequests: row.pendingTokenRequests, loginsRidingOut: 0 },
      open: () => {
        const login = logins.shift() ?? 'hangs';
        if (login === 'succeeds') {
          return Promise.resolve(new PooledConnection(fakeConnection(), 'myserver', Date.now()));
        }
        if (login === 'hangs') {
          return new Promise((_resolve, reject) => hanging.push(() => reject(new Error('test over'))));
        }
        return Promise.reject(login);
      },
    });
    pools.push(pool);
    for (let index = 0; index < row.held; index += 1) held.push({ pool, connection: await pool.acquire() });
    const error = await pool.acquire().then(
      () => 'acquired',
      (caught: unknown) => caught,
    );
    if (row.expected === 'the login error') {
      expect(error === row.logins[0]).toBe(true);
      return;
    }
    expect(error).toBeInstanceOf(row.expected.class);
    const mapped = error as KeylessError;
    expect(mapped.code).toBe('unavailable');
    expect(mapped.retryable).toBe(row.expected.retryable);
    for (const word of row.expected.message ?? []) expect(mapped.message).toContain(word);
    for (const word of row.expected.hint ?? []) expect(mapped.hint ?? '').toContain(word);
  });
});
