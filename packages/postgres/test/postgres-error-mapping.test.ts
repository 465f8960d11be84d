import { ServiceUnavailableError } from '@keyless/core';
import { describe, expect, it } from 'vitest';
import { mapPostgresError } from '../src/postgres-error-mapping.js';

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

describe('mapPostgresError', () => {
  it('maps shutdown and cannot-connect-now states to unavailable', () => {
    for (const state of ['57P01', '57P02', '57P03']) {
      expect(mapPostgresError(withCode('terminating connection', state), context)).toBeInstanceOf(
        ServiceUnavailableError,
      );
    }
  });

  it('maps refused and timed-out connections, and dropped sockets, to unavailable', () => {
    expect(mapPostgresError(withCode('connect ECONNREFUSED', 'ECONNREFUSED'), context)).toMatchObject({
      code: 'unavailable',
    });
    expect(mapPostgresError(withCode('connect ETIMEDOUT', 'ETIMEDOUT'), context)).toMatchObject({
      code: 'unavailable',
    });
    expect(mapPostgresError(new Error('Connection terminated unexpectedly'), context)).toMatchObject({
      code: 'unavailable',
    });
  });

  it('explains an untrusted certificate without suggesting to turn verification off', () => {
    const mapped = mapPostgresError(
      withCode('self-signed certificate', 'SELF_SIGNED_CERT_IN_CHAIN'),
      context,
    );
    expect(mapped).toMatchObject({ code: 'configuration' });
    expect((mapped as Error).message).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('gives the secret-mode and Entra-mode hints for a refused login', () => {
    const refused = withCode('password authentication failed for user "app"', '28P01');
    expect((mapPostgresError(refused, context) as Error).message).toContain(
      "Key Vault secret 'postgres-password'",
    );
    const entra = mapPostgresError(refused, { ...context, mode: 'entra-token', user: 'my-app' });
    expect((entra as Error).message).toContain("pgaadauth_create_principal('my-app', false, false)");
  });

  it("leaves the application's own errors alone", () => {
    const syntax = withCode('syntax error at or near "SELEC"', '42601');
    expect(mapPostgresError(syntax, context)).toBe(syntax);
  });
});
