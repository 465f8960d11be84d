import { EventEmitter } from 'node:events';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  CredentialUnavailableError,
  type KeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import { renderEveryWay } from '@keyless/testing';
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
 * Every mapping @keyless/sql does, without a server: what tedious (and tarn) hand over becomes the
 * typed error with the right class, code, retryability and hint. A JWT-shaped string is planted in
 * every native message; no view of a mapped error may show it. The tests against the local SQL
 * endpoint prove that real logins produce these native errors.
 */

/** JWT-shaped, so that redaction and the leak scan both recognise it; never printed. */
const token = [
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9',
  'eyJhdWQiOiJodHRwczovL2RhdGFiYXNlLndpbmRvd3MubmV0In0',
  'c2lnbmF0dXJlLW9mLWEtdGVzdC10b2tlbg',
].join('.');
const echoing = (text: string) => `${text} (the driver echoed ${token})`;

const context: LoginContext = {
  server: 'myserver.database.windows.net',
  port: 1433,
  database: 'orders',
  identity: 'user-assigned client-id 5b0c0000-0000-0000-0000-000000000001',
  connectTimeoutMs: 15_000,
};

type ErrorClass = abstract new (...parameters: never[]) => KeylessError;

interface Expected {
  type: ErrorClass;
  code: KeylessError['code'];
  retryable: boolean;
  status?: number;
  /** Words the message must contain. */
  message: string[];
  /** Words the hint must contain. */
  hint: string[];
}

/** Any JWT, not only the planted one. */
const jwtShaped = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;

/**
 * A boolean, so a failing assertion cannot print the token. (Not @keyless/testing's leaksIn: its
 * UTF-16 view of an unaligned, odd-length slice hits a Node 24.21 heap overflow, nodejs/node#64697.)
 */
function expectNoTokenInAnyView(error: unknown) {
  const printed = renderEveryWay(error).join('\n');
  expect(printed.includes(token) || jwtShaped.test(printed)).toBe(false);
}

function expectMapped(mapped: unknown, expected: Expected) {
  expect(mapped).toBeInstanceOf(expected.type);
  const error = mapped as KeylessError;
  expect(error.code).toBe(expected.code);
  expect(error.retryable).toBe(expected.retryable);
  expect(error.status).toBe(expected.status);
  for (const word of expected.message) expect(error.message).toContain(word);
  for (const word of expected.hint) expect(error.hint ?? '').toContain(word);
  expectNoTokenInAnyView(error);
}

function serverError(number: number, message: string): ServerLoginError {
  return { number, message: echoing(message), state: 1, class: 14 };
}

/** What tedious's connect callback receives after the server sent ERROR tokens. */
function loginFailed(...serverErrors: ServerLoginError[]): LoginFailure {
  return { error: new ConnectionError(echoing('Login failed.'), 'ELOGIN'), serverErrors };
}

function clientFailure(code: string | undefined, extra: Partial<LoginFailure> = {}): LoginFailure {
  return {
    error: new ConnectionError(echoing(`Connection failed (${code})`), code),
    serverErrors: [],
    ...extra,
  };
}

/** A TLS failure as tedious reports it: a socket error whose cause is Node's certificate error. */
function certificateFailure(code: string, message: string): LoginFailure {
  const tlsError = Object.assign(new Error(echoing(message)), { code });
  return {
    error: new ConnectionError(echoing(`Failed to connect: ${message}`), 'ESOCKET', { cause: tlsError }),
    serverErrors: [],
  };
}

const unreachableHint = ['myserver.database.windows.net:1433', 'firewall', 'keyless-local up sql'];
const createUserHint = ['CREATE USER [<identity name>] FROM EXTERNAL PROVIDER', 'ALTER ROLE db_datareader'];

/** Azure SQL's transient login errors (Microsoft's retry guidance). */
const transientNumbers = [
  40197, 40501, 40613, 49918, 49919, 49920, 4221, 10928, 10929, 10053, 10054, 10060, 40143,
];

interface LoginRow {
  name: string;
  failure: LoginFailure;
  expected: Expected;
  /** Whether the login is retried (a fresh attempt can succeed). */
  transient: boolean;
}

const loginRows: LoginRow[] = [
  {
    name: '18456 (the identity has no database user)',
    failure: loginFailed(serverError(18456, "Login failed for user '<token-identified principal>'.")),
    expected: {
      type: AuthorizationError,
      code: 'authorization',
      retryable: false,
      status: 18456,
      message: ['refused the login of user-assigned client-id 5b0c', 'error 18456'],
      hint: [...createUserHint, 'database orders', 'az sql server ad-admin create'],
    },
    transient: false,
  },
  ...[
    'Token is expired.',
    'The server is not currently configured to accept this token.',
    'Incorrect or invalid token.',
  ].map(
    (text): LoginRow => ({
      name: `18456 "${text}" (the token itself was refused)`,
      failure: loginFailed(
        serverError(18456, `Login failed for user '<token-identified principal>'. ${text}`),
      ),
      expected: {
        type: AuthenticationFailedError,
        code: 'authentication-failed',
        retryable: false,
        status: 18456,
        message: ['rejected the token', 'error 18456'],
        hint: ['https://database.windows.net/.default', 'tenant', 'TokenProvider itself'],
      },
      transient: false,
    }),
  ),
  {
    name: '4060 then 18456 (no such database, or no user in it): the 4060 is the verdict',
    failure: loginFailed(
      serverError(4060, 'Cannot open database "ordrs" requested by the login. The login failed.'),
      serverError(18456, "Login failed for user '<token-identified principal>'."),
    ),
    expected: {
      type: AuthorizationError,
      code: 'authorization',
      retryable: false,
      status: 4060,
      message: ['refused the database', 'error 4060'],
      hint: ['KEYLESS_SQL_DATABASE', 'CREATE USER [<identity name>] FROM EXTERNAL PROVIDER'],
    },
    transient: false,
  },
  ...transientNumbers.map(
    (number): LoginRow => ({
      name: `${number} (transient, retried)`,
      failure: loginFailed(serverError(number, 'The service is currently busy. Retry the request later.')),
      expected: {
        type: ServiceUnavailableError,
        code: 'unavailable',
        retryable: true,
        message: ['temporarily unavailable', `error ${number}`],
        hint: unreachableHint,
      },
      transient: true,
    }),
  ),
  {
    name: 'another server error (40532: cannot open the server)',
    failure: loginFailed(serverError(40532, 'Cannot open server "other" requested by the login.')),
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      status: 40532,
      message: ['refused the login', 'error 40532'],
      hint: [],
    },
    transient: false,
  },
  {
    name: 'certificate from an untrusted CA (a socket error whose cause Node refused)',
    failure: certificateFailure('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
    expected: {
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      message: [
        "myserver.database.windows.net:1433: the server's TLS certificate is not trusted",
        'SELF_SIGNED_CERT_IN_CHAIN',
      ],
      hint: ['NODE_EXTRA_CA_CERTS', '`ca`', 'verification is never turned off'],
    },
    transient: false,
  },
  {
    name: 'certificate for another name',
    failure: certificateFailure(
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Hostname/IP does not match certificate's altnames",
    ),
    expected: {
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      message: ['not trusted', 'ERR_TLS_CERT_ALTNAME_INVALID'],
      hint: ['the name it was issued for'],
    },
    transient: false,
  },
  {
    name: 'ETIMEOUT while the login waited for the token provider',
    failure: clientFailure('ETIMEOUT', { tokenPending: true }),
    expected: {
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      message: ['No token for Azure SQL', 'connectTimeoutMs (15000 ms)', 'has not answered'],
      hint: ['managed-identity endpoint', 'IDENTITY_ENDPOINT', 'connectTimeoutMs'],
    },
    // Another attempt would wait for the same token request.
    transient: false,
  },
  {
    name: 'EFEDAUTH: the credential returned no token',
    failure: {
      error: new AggregateError([
        new ConnectionError('Security token could not be authenticated or authorized.', 'EFEDAUTH'),
      ]),
      serverErrors: [],
    },
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      message: ['No token for Azure SQL', 'returned none'],
      hint: ['https://database.windows.net/.default'],
    },
    transient: false,
  },
  {
    name: 'EFEDAUTH: a custom credential threw',
    failure: {
      error: new AggregateError([
        new ConnectionError('Security token could not be authenticated or authorized.', 'EFEDAUTH'),
        new Error(echoing('the custom credential failed')),
      ]),
      serverErrors: [],
    },
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      message: ['No token for Azure SQL', 'the credential failed'],
      hint: ['https://database.windows.net/.default'],
    },
    transient: false,
  },
  ...(['ESOCKET', 'ETIMEOUT'] as const).map(
    (code): LoginRow => ({
      name: `${code} (server unreachable or silent)`,
      failure: clientFailure(code),
      expected: {
        type: ServiceUnavailableError,
        code: 'unavailable',
        retryable: true,
        message: [`could not be reached (${code})`],
        hint: unreachableHint,
      },
      transient: true,
    }),
  ),
  {
    name: 'a failure without a code',
    failure: { error: new Error(echoing('socket hang up')), serverErrors: [] },
    expected: {
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      message: ['could not be reached (no answer)'],
      hint: unreachableHint,
    },
    transient: false,
  },
  {
    name: 'another client code (ELOGIN without a server error)',
    failure: clientFailure('ELOGIN'),
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      message: ['failed (ELOGIN)'],
      hint: [],
    },
    transient: false,
  },
];

describe('login errors, without a server', () => {
  it.each(loginRows)('$name', ({ failure, expected, transient }) => {
    expectMapped(mapLoginFailure(failure, context), expected);
    expect(isTransientLoginFailure(failure)).toBe(transient);
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

interface QueryRow {
  name: string;
  error: () => Error;
  connectionEnded?: boolean;
  /** `unchanged`: tedious's own error is the application's business and is returned as it is. */
  expected: Expected | 'unchanged';
  connectionBroken: boolean;
}

function requestError(message: string, code: string, number?: number): RequestError {
  return Object.assign(new RequestError(echoing(message), code), { number });
}

const lostConnection: Expected = {
  type: ServiceUnavailableError,
  code: 'unavailable',
  retryable: true,
  message: ['The connection to Azure SQL at myserver.database.windows.net:1433/orders was lost'],
  hint: ['failover', 'the next query opens a new one'],
};

const queryRows: QueryRow[] = [
  {
    name: 'a server error (208 invalid object name): returned unchanged, the connection stays in the pool',
    error: () => requestError("Invalid object name 'dbo.missing'.", 'EREQUEST', 208),
    expected: 'unchanged',
    connectionBroken: false,
  },
  {
    name: 'the request timed out (ETIMEOUT, no number): returned unchanged, the connection is retired',
    error: () => requestError('Timeout: Request failed to complete in 15000ms', 'ETIMEOUT'),
    expected: 'unchanged',
    connectionBroken: true,
  },
  ...['ESOCKET', 'ECLOSE', 'EINVALIDSTATE', 'ECONNRESET'].map(
    (code): QueryRow => ({
      name: `${code}: the connection was lost`,
      error: () => requestError('Connection lost', code),
      expected: lostConnection,
      connectionBroken: true,
    }),
  ),
  {
    name: 'any error after tedious reported the end of the connection',
    error: () => new Error(echoing('write after end')),
    connectionEnded: true,
    expected: lostConnection,
    connectionBroken: true,
  },
];

describe('query errors, without a server', () => {
  it.each(queryRows)('$name', (row) => {
    const native = row.error();
    const failure = mapQueryError(native, {
      describeServer: 'myserver.database.windows.net:1433/orders',
      connectionEnded: row.connectionEnded ?? false,
    });
    expect(failure.connectionBroken).toBe(row.connectionBroken);
    if (row.expected === 'unchanged') expect(failure.error === native).toBe(true);
    else expectMapped(failure.error, row.expected);
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
  expected: Expected | 'the login error';
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
      type: ServiceUnavailableError,
      code: 'unavailable',
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
      type: ServiceUnavailableError,
      code: 'unavailable',
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
      type: ServiceUnavailableError,
      code: 'unavailable',
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
      type: ServiceUnavailableError,
      code: 'unavailable',
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
      describeServer: 'myserver.database.windows.net:1433/orders',
      createTimeoutMs: 10_000,
      progress: { pendingTokenRequests: row.pendingTokenRequests },
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
    if (row.expected === 'the login error') expect(error === row.logins[0]).toBe(true);
    else expectMapped(error, row.expected);
  });
});
