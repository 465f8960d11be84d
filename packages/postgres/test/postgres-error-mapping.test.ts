import { ServiceUnavailableError } from '@keyless/core';
import { isUntrustedCertificateError, maxErrorTextLength } from '@keyless/core/internal';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectTimeoutError } from '../src/keyless-pool.js';
import { isTransientConnectFailure, mapPostgresError } from '../src/postgres-error-mapping.js';

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

const context = {
  mode: 'key-vault-secret' as const,
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

/** PostgreSQL quotes the offending value: `SELECT $1::int` with a 140 KB string. */
const hugeValue = 'x'.repeat(140_000);

describe('mapPostgresError', () => {
  afterEach(() => {
    redaction.inputLengths.length = 0;
  });

  it('maps shutdown and cannot-connect-now states to unavailable', () => {
    for (const state of ['57P01', '57P02', '57P03']) {
      expect(mapPostgresError(serverError('terminating connection', state), context)).toBeInstanceOf(
        ServiceUnavailableError,
      );
    }
  });

  it('maps refused and timed-out connections, broken pipes, and dropped sockets, to unavailable', () => {
    expect(mapPostgresError(withCode('connect ECONNREFUSED', 'ECONNREFUSED'), context)).toMatchObject({
      code: 'unavailable',
    });
    expect(mapPostgresError(withCode('connect ETIMEDOUT', 'ETIMEDOUT'), context)).toMatchObject({
      code: 'unavailable',
    });
    // Five capitals like a SQLSTATE, but Node's own: a system error carries errno and syscall.
    const brokenPipe = Object.assign(withCode('write EPIPE', 'EPIPE'), { errno: -32, syscall: 'write' });
    expect(mapPostgresError(brokenPipe, context)).toMatchObject({ code: 'unavailable' });
    expect(mapPostgresError(new Error('Connection terminated unexpectedly'), context)).toMatchObject({
      code: 'unavailable',
    });
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
