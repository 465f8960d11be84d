import {
  AuthenticationFailedError,
  ConfigurationError,
  CredentialUnavailableError,
  type KeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import { isUntrustedCertificateError, maxErrorTextLength } from '@keyless/core/internal';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

const context: PostgresErrorContext = {
  mode: 'key-vault-secret',
  host: 'db.example',
  port: 5432,
  database: 'app',
  user: 'app',
  secretName: 'postgres-password',
};

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** What pg throws for an error the server sent. */
function serverError(message: string, code: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, message.length, 'error'), { code, severity: 'ERROR' });
}

interface Row {
  name: string;
  error: () => unknown;
  context?: Partial<PostgresErrorContext>;
  /** Undefined: the error is the application's and comes back unchanged. */
  type?: abstract new (
    ...args: never[]
  ) => KeylessError;
  code?: KeylessError['code'];
  retryable?: boolean;
  /** Each must appear in the message (which ends with the hint). */
  words?: string[];
}

const brokenPipe = () => Object.assign(withCode('write EPIPE', 'EPIPE'), { errno: -32, syscall: 'write' });
const refusedLogin = () => serverError('password authentication failed for user "app"', '28P01');

/** Every mapping @keyless/postgres does: what pg throws, and what the caller gets. */
const rows: Row[] = [
  {
    name: "28P01 in secret mode: the secret does not hold the server's password",
    error: refusedLogin,
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    words: [
      'PostgreSQL at db.example:5432 refused the login of user "app" (SQLSTATE 28P01)',
      "Key Vault secret 'postgres-password'",
      "store the server's current password as a new version of the secret",
      'KEYLESS_POSTGRES_USER',
    ],
  },
  {
    name: '28P01 after the password was read afresh',
    error: refusedLogin,
    context: { retried: true },
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    words: ['also with the password read afresh'],
  },
  {
    name: '28000 in Entra mode: no role for the identity',
    error: () => serverError('no pg_hba.conf entry for host', '28000'),
    context: { mode: 'entra-token', user: 'my-app' },
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    words: [
      '(SQLSTATE 28000)',
      "pgaadauth_create_principal('my-app', false, false)",
      'https://ossrdbms-aad.database.windows.net',
    ],
  },
  {
    name: '3D000: a database that does not exist',
    error: () => serverError('database "shop" does not exist', '3D000'),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    words: [
      'database "shop" does not exist',
      'az postgres flexible-server db create',
      'KEYLESS_POSTGRES_DATABASE',
    ],
  },
  ...[
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
  ].map(
    ([state, message]): Row => ({
      name: `${state}: ${message}`,
      error: () => serverError(message as string, state as string),
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      words: [`(SQLSTATE ${state})`, 'restarting, failing over or out of connections'],
    }),
  ),
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].map(
    (code): Row => ({
      name: `${code}`,
      error: () => withCode(`connect ${code} 10.0.0.4:5432`, code),
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      words: ['could not be reached', 'keyless-local up postgres'],
    }),
  ),
  {
    name: 'EPIPE: a broken pipe (five capitals, but not a SQLSTATE)',
    error: brokenPipe,
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
    words: ['could not be reached'],
  },
  {
    name: 'a refused connect inside an AggregateError (happy eyeballs)',
    error: () =>
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'connect failed'),
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
  },
  {
    name: 'a reset as the cause of another error',
    error: () => new Error('Connection terminated', { cause: withCode('read ECONNRESET', 'ECONNRESET') }),
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
  },
  ...[
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
  ].map(
    (message): Row => ({
      name: `pg's "${message}"`,
      error: () => new Error(message),
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      words: [message],
    }),
  ),
  {
    name: 'a login that outlived connectTimeoutMs',
    error: () => new ConnectTimeoutError(10_000),
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
    words: ['did not complete the login within 10000 ms', '`connectTimeoutMs`'],
  },
  {
    name: 'a server without TLS',
    error: () => new Error('The server does not support SSL connections'),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    words: ['does not offer TLS', '`ssl: false` for a loopback test server only'],
  },
  ...[
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'CERT_NOT_YET_VALID',
  ].map(
    (code): Row => ({
      name: `an untrusted certificate (${code})`,
      error: () => withCode('certificate problem', code),
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      words: [`not trusted (${code})`, 'NODE_EXTRA_CA_CERTS', '`ssl.ca`'],
    }),
  ),
  {
    name: 'a certificate for another name',
    error: () =>
      withCode("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    words: ['not issued for this host name'],
  },
  {
    name: "the application's syntax error (42601)",
    error: () => serverError('syntax error at or near "SELEC"', '42601'),
  },
  {
    name: "the application's unique violation (23505)",
    error: () => serverError('duplicate key value', '23505'),
  },
  { name: "the application's own TypeError", error: () => new TypeError('not a function') },
];

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
  { name: '28P01 (a refused password)', error: refusedLogin, transient: false },
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

describe('mapPostgresError', () => {
  afterEach(() => {
    redaction.inputLengths.length = 0;
  });

  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const thrown = row.error();
    const mapped = mapPostgresError(thrown, { ...context, ...row.context }) as KeylessError;
    if (row.type === undefined) {
      expect(mapped).toBe(thrown);
      return;
    }
    expect(mapped).toBeInstanceOf(row.type);
    expect(mapped).toMatchObject({ code: row.code, retryable: row.retryable });
    expect(mapped.cause).toBe(thrown);
    for (const word of row.words ?? []) expect(mapped.message).toContain(word);
    expect(isUntrustedCertificateError(mapped)).toBe(row.name.includes('certificate'));
  });

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

  it('maps a login that outlived connectTimeoutMs to unavailable, naming the option, and retries it', () => {
    const timedOut = new ConnectTimeoutError(10_000);
    const mapped = mapPostgresError(timedOut, context);
    expect(mapped).toBeInstanceOf(ServiceUnavailableError);
    expect((mapped as Error).message).toContain('`connectTimeoutMs`');
    expect(isTransientConnectFailure(timedOut)).toBe(true);
  });

  it("gives core's certificate error, with the same code and hint as every connector, for any certificate failure", () => {
    for (const code of [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT',
      'CERT_NOT_YET_VALID',
    ]) {
      const mapped = mapPostgresError(withCode('certificate problem', code), context);
      expect(isUntrustedCertificateError(mapped)).toBe(true);
      expect(mapped).toMatchObject({ code: 'configuration', retryable: false });
      expect((mapped as { hint: string }).hint).toContain('NODE_EXTRA_CA_CERTS');
      expect((mapped as { hint: string }).hint).toContain('`ssl.ca`');
      expect((mapped as { hint: string }).hint).not.toMatch(/rejectUnauthorized/);
    }
    const wrongName = mapPostgresError(
      withCode("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
      context,
    );
    expect((wrongName as { hint: string }).hint).toContain('not issued for this host name');
  });

  it('gives the secret-mode and Entra-mode hints for a refused login', () => {
    const refused = serverError('password authentication failed for user "app"', '28P01');
    expect((mapPostgresError(refused, context) as Error).message).toContain(
      "Key Vault secret 'postgres-password'",
    );
    const entra = mapPostgresError(refused, { ...context, mode: 'entra-token', user: 'my-app' });
    expect((entra as Error).message).toContain("pgaadauth_create_principal('my-app', false, false)");
    expect((entra as Error).message).toContain('display name');
  });

  it('tells an Entra user given as an object or client id that the role is named after the display name', () => {
    const guid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    const refused = serverError(`password authentication failed for user "${guid}"`, '28P01');
    const { hint } = mapPostgresError(refused, { ...context, mode: 'entra-token', user: guid }) as {
      hint: string;
    };
    // Not a role named after the GUID: Azure names an identity's role after its display name.
    expect(hint).not.toContain(`pgaadauth_create_principal('${guid}'`);
    expect(hint).toContain("pgaadauth_create_principal('<display name of the identity>', false, false)");
    expect(hint).toContain("pgaadauth_create_principal_with_oid('<role name>', '<object id>', 'service'");
    expect(hint).toContain('not its client id');
    expect(hint).toContain(
      'https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users',
    );
  });

  it('passes a keyless error (from the password source) through unchanged', () => {
    const unavailable = new CredentialUnavailableError('no managed identity here');
    expect(mapPostgresError(unavailable, context)).toBe(unavailable);
  });

  it("leaves the application's own errors alone", () => {
    const syntax = serverError('syntax error at or near "SELEC"', '42601');
    expect(mapPostgresError(syntax, context)).toBe(syntax);
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
