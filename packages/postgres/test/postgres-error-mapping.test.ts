import {
  AuthenticationFailedError,
  ConfigurationError,
  CredentialUnavailableError,
  type KeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import { isUntrustedCertificateError, maxErrorTextLength } from '@keyless/core/internal';
import {
  type Canaries,
  describeErrorMappingConformance,
  type ErrorMappingRow,
  makeCanaries,
} from '@keyless/testing';
import pg from 'pg';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectTimeoutError } from '../src/keyless-pool.js';
import {
  isAuthenticationFailure,
  isTransientConnectFailure,
  mapPostgresError,
  type PostgresErrorContext,
  sqlStateOf,
} from '../src/postgres-error-mapping.js';

/** The length of every text handed to a redaction function of core, by the code under test. */
const redaction = vi.hoisted(() => ({ inputLengths: [] as number[] }));

vi.mock('@keyless/core/internal', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@keyless/core/internal')>();
  const counted =
    <Arguments extends unknown[]>(redact: (text: string, ...rest: Arguments) => string) =>
    (text: string, ...rest: Arguments) => {
      redaction.inputLengths.push(text.length);
      return redact(text, ...rest);
    };
  return {
    ...actual,
    boundedErrorText: counted(actual.boundedErrorText),
    redactKnownSecrets: counted(actual.redactKnownSecrets),
    redactText: counted(actual.redactText),
  };
});

/**
 * Every mapping @keyless/postgres does, without a server: the home of the table. The error-mapping
 * group of the connector conformance suite runs it (class, code, retryability, message and hint
 * words; no view of a mapped error shows the canary token planted in the native one); the tests
 * below check what the group does not (the cause kept, core's one certificate error, advice for
 * another case, which connects are retried, and the work on a huge message). The tests against
 * the local PostgreSQL prove that real logins produce these native errors.
 */

const context: PostgresErrorContext = {
  mode: 'key-vault-secret',
  host: 'db.example',
  port: 5432,
  database: 'app',
  user: 'app',
  secretName: 'postgres-password',
};

/** Where the server or the socket could echo what the client sent: in Entra mode, the token is the password. */
const echoing = (canaries: Canaries, text: string) => `${text} (the connection carried ${canaries.token})`;

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** What pg throws for an error the server sent. */
function serverError(message: string, code: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, message.length, 'error'), { code, severity: 'ERROR' });
}

interface PostgresRow extends ErrorMappingRow {
  context?: Partial<PostgresErrorContext>;
  /** Words the hint must not contain (advice for another case). */
  notInHint?: string[];
}

const brokenPipe = () => Object.assign(withCode('write EPIPE', 'EPIPE'), { errno: -32, syscall: 'write' });
const refusedLogin = (canaries: Canaries) =>
  serverError(echoing(canaries, 'password authentication failed for user "app"'), '28P01');
const certificateHint = ['NODE_EXTRA_CA_CERTS', '`ssl.ca`'];
/** Object ids and client ids are GUIDs: not the name Azure gives an identity's role. */
const guid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

const rows: PostgresRow[] = [
  {
    name: "28P01 in secret mode: the secret does not hold the server's password",
    native: refusedLogin,
    notInHint: ['pgaadauth'],
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['PostgreSQL at db.example:5432 refused the login of user "app" (SQLSTATE 28P01)'],
      hint: [
        "Key Vault secret 'postgres-password'",
        "store the server's current password as a new version of the secret",
        'KEYLESS_POSTGRES_USER',
      ],
    },
  },
  {
    name: '28P01 after the password was read afresh',
    native: refusedLogin,
    context: { retried: true },
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['also with the password read afresh'],
    },
  },
  {
    name: '28P01 in Entra mode: a token refused for the role',
    native: refusedLogin,
    context: { mode: 'entra-token', user: 'my-app' },
    notInHint: ['Key Vault secret'],
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      hint: ["pgaadauth_create_principal('my-app', false, false)", 'display name'],
    },
  },
  {
    name: '28000 in Entra mode: no role for the identity',
    native: (canaries) => serverError(echoing(canaries, 'no pg_hba.conf entry for host'), '28000'),
    context: { mode: 'entra-token', user: 'my-app' },
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['(SQLSTATE 28000)'],
      hint: [
        "pgaadauth_create_principal('my-app', false, false)",
        'https://ossrdbms-aad.database.windows.net',
      ],
    },
  },
  {
    // Azure names an identity's role after its display name, not after a GUID.
    name: 'a refused Entra login whose user is an object or client id',
    native: (canaries) =>
      serverError(echoing(canaries, `password authentication failed for user "${guid}"`), '28P01'),
    context: { mode: 'entra-token', user: guid },
    notInHint: [`pgaadauth_create_principal('${guid}'`],
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      hint: [
        "pgaadauth_create_principal('<display name of the identity>', false, false)",
        "pgaadauth_create_principal_with_oid('<role name>', '<object id>', 'service'",
        'not its client id',
        'https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users',
      ],
    },
  },
  {
    name: '3D000: a database that does not exist',
    native: (canaries) => serverError(echoing(canaries, 'database "shop" does not exist'), '3D000'),
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['database "shop" does not exist'],
      hint: ['az postgres flexible-server db create', 'KEYLESS_POSTGRES_DATABASE'],
    },
  },
  ...[
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
  ].map(
    ([state, message]): PostgresRow => ({
      name: `${state}: ${message}`,
      native: (canaries) => serverError(echoing(canaries, message as string), state as string),
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: [`(SQLSTATE ${state})`],
        hint: ['restarting, failing over or out of connections'],
      },
    }),
  ),
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].map(
    (code): PostgresRow => ({
      name: `${code}`,
      native: (canaries) => withCode(echoing(canaries, `connect ${code} 10.0.0.4:5432`), code),
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: ['could not be reached'],
        hint: ['keyless-local up postgres'],
      },
    }),
  ),
  {
    name: 'EPIPE: a broken pipe (five capitals, but not a SQLSTATE)',
    native: brokenPipe,
    expected: { class: ServiceUnavailableError, retryable: true, message: ['could not be reached'] },
  },
  {
    name: 'a refused connect inside an AggregateError (happy eyeballs)',
    native: (canaries) =>
      new AggregateError(
        [withCode(echoing(canaries, 'connect ECONNREFUSED ::1:5432'), 'ECONNREFUSED')],
        'connect failed',
      ),
    expected: { class: ServiceUnavailableError, retryable: true },
  },
  {
    name: 'a reset as the cause of another error',
    native: (canaries) =>
      new Error('Connection terminated', {
        cause: withCode(echoing(canaries, 'read ECONNRESET'), 'ECONNRESET'),
      }),
    expected: { class: ServiceUnavailableError, retryable: true },
  },
  ...[
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
  ].map(
    (message): PostgresRow => ({
      name: `pg's "${message}"`,
      native: (canaries) => new Error(echoing(canaries, message)),
      expected: { class: ServiceUnavailableError, retryable: true, message: [message] },
    }),
  ),
  {
    name: 'a login that outlived connectTimeoutMs',
    native: () => new ConnectTimeoutError(10_000),
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['did not complete the login within 10000 ms'],
      hint: ['`connectTimeoutMs`'],
    },
  },
  {
    name: 'a server without TLS',
    native: (canaries) => new Error(echoing(canaries, 'The server does not support SSL connections')),
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['does not offer TLS'],
      hint: ['`ssl: false` for a loopback test server only'],
    },
  },
  ...[
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'CERT_NOT_YET_VALID',
  ].map(
    (code): PostgresRow => ({
      name: `an untrusted certificate (${code})`,
      native: (canaries) => withCode(echoing(canaries, 'certificate problem'), code),
      // Never advice to switch verification off.
      notInHint: ['rejectUnauthorized'],
      expected: {
        class: ConfigurationError,
        retryable: false,
        message: [`not trusted (${code})`],
        hint: certificateHint,
      },
    }),
  ),
  {
    name: 'a certificate for another name',
    native: (canaries) =>
      withCode(
        echoing(canaries, "Hostname/IP does not match certificate's altnames"),
        'ERR_TLS_CERT_ALTNAME_INVALID',
      ),
    notInHint: ['rejectUnauthorized'],
    expected: { class: ConfigurationError, retryable: false, hint: ['not issued for this host name'] },
  },
  {
    name: "the application's syntax error (42601)",
    native: (canaries) => serverError(echoing(canaries, 'syntax error at or near "SELEC"'), '42601'),
    expected: 'unchanged',
  },
  {
    name: "the application's unique violation (23505)",
    native: () => serverError('duplicate key value', '23505'),
    expected: 'unchanged',
  },
  {
    name: "the application's own TypeError",
    native: () => new TypeError('not a function'),
    expected: 'unchanged',
  },
  {
    name: "a keyless error (the password source's)",
    native: () => new CredentialUnavailableError('no managed identity here'),
    expected: 'unchanged',
  },
];

/** Each native error's context, beside the error rather than in it. */
const contexts = new WeakMap<object, PostgresErrorContext>();

describeErrorMappingConformance({
  name: '@keyless/postgres',
  map: (native) => mapPostgresError(native, contexts.get(native as object) ?? context),
  rows: rows.map((row) => ({
    ...row,
    native: (canaries: Canaries) => {
      const native = row.native(canaries);
      if (row.context) contexts.set(native as object, { ...context, ...row.context });
      return native;
    },
  })),
});

const transientRows: { name: string; error: () => unknown; transient: boolean }[] = [
  { name: 'ECONNREFUSED', error: () => withCode('connect ECONNREFUSED', 'ECONNREFUSED'), transient: true },
  { name: 'ECONNRESET', error: () => withCode('read ECONNRESET', 'ECONNRESET'), transient: true },
  { name: 'EPIPE', error: brokenPipe, transient: true },
  { name: '57P03 (starting up)', error: () => serverError('starting up', '57P03'), transient: true },
  { name: '57P01 (shut down)', error: () => serverError('terminating', '57P01'), transient: true },
  { name: '53300 (out of slots)', error: () => serverError('too many clients', '53300'), transient: true },
  { name: 'connectTimeoutMs', error: () => new ConnectTimeoutError(300), transient: true },
  {
    name: 'a socket closed during startup',
    error: () => new Error('Connection terminated unexpectedly'),
    transient: true,
  },
  { name: '28P01 (a refused password)', error: () => refusedLogin(makeCanaries()), transient: false },
  { name: '3D000 (no such database)', error: () => serverError('no database', '3D000'), transient: false },
  {
    name: 'an untrusted certificate',
    error: () => withCode('self-signed', 'SELF_SIGNED_CERT_IN_CHAIN'),
    transient: false,
  },
  {
    name: "a keyless error (the password source's)",
    error: () => new CredentialUnavailableError('no identity'),
    transient: false,
  },
];

/** PostgreSQL quotes the offending value: `SELECT $1::int` with a 140 KB string. */
const hugeValue = 'x'.repeat(140_000);

describe('PostgreSQL error mapping, what the group does not check', () => {
  beforeEach(() => {
    redaction.inputLengths.length = 0;
  });

  const mappedRows = rows.filter((row) => row.expected !== 'unchanged');

  it.each(mappedRows)(
    '$name: the cause kept, certificate errors as core makes them, no advice for another case',
    (row) => {
      const native = row.native(makeCanaries()) as Error & { code?: unknown };
      const mapped = mapPostgresError(native, { ...context, ...row.context }) as KeylessError;
      // pg's error stays reachable as the cause (its text scrubbed and bounded by core).
      expect(Object.getPrototypeOf(mapped.cause)).toBe(Object.getPrototypeOf(native));
      expect((mapped.cause as { code?: unknown }).code).toBe(native.code);
      expect(isUntrustedCertificateError(mapped)).toBe(row.name.includes('certificate'));
      for (const word of row.notInHint ?? []) expect(mapped.hint ?? '').not.toContain(word);
    },
  );

  it.each(transientRows)('a connect failed with $name: waited out and tried again = $transient', (row) => {
    expect(isTransientConnectFailure(row.error())).toBe(row.transient);
  });

  it('tells a refused login from everything else, by SQLSTATE only', () => {
    expect(isAuthenticationFailure(serverError('password authentication failed', '28P01'))).toBe(true);
    expect(isAuthenticationFailure(serverError('no pg_hba.conf entry', '28000'))).toBe(true);
    expect(isAuthenticationFailure(serverError('syntax error', '42601'))).toBe(false);
    expect(isAuthenticationFailure(new Error('password authentication failed'))).toBe(false);
    // Five capitals like a SQLSTATE, but Node's own: a system error carries errno and syscall.
    expect(
      sqlStateOf(Object.assign(withCode('write EPIPE', 'EPIPE'), { errno: -32, syscall: 'write' })),
    ).toBe(undefined);
    expect(sqlStateOf(serverError('terminating connection', '57P01'))).toBe('57P01');
  });

  describe('work on a 140 KB message (counted, not timed)', () => {
    it('returns an error it does not map without redacting or copying its text', () => {
      const echoed = serverError(`invalid input syntax for type integer: "${hugeValue}"`, '22P02');
      expect(mapPostgresError(echoed, context)).toBe(echoed);
      const thrownByCode = new TypeError(`unexpected ${hugeValue}`);
      expect(mapPostgresError(thrownByCode, context)).toBe(thrownByCode);
      expect(redaction.inputLengths).toEqual([]);
    });

    it('builds a keyless error from at most maxErrorTextLength characters of it', () => {
      for (const error of [
        serverError(`terminating connection: ${hugeValue}`, '57P01'),
        serverError(`database "${hugeValue}" does not exist`, '3D000'),
        new Error(`Connection terminated unexpectedly ${hugeValue}`),
      ]) {
        const mapped = mapPostgresError(error, context) as Error & { cause: Error };
        expect(mapped).not.toBe(error);
        // The message and the kept cause are bounded (a short suffix counts what was cut).
        expect(mapped.message.length).toBeLessThanOrEqual(maxErrorTextLength + 64);
        expect(mapped.cause.message.length).toBeLessThanOrEqual(maxErrorTextLength + 64);
      }
      expect(Math.max(0, ...redaction.inputLengths)).toBeLessThanOrEqual(maxErrorTextLength);
    });
  });
});
