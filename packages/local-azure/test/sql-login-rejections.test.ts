import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureLocalCertificateAuthority,
  type IdentityEndpoint,
  startIdentityEndpoint,
  startSqlEndpoint,
} from '../src/index.js';
import {
  accessTokenAuthentication,
  close,
  connect,
  fetchToken,
  refusedLogin,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
} from './support/sql-test-stack.js';

const tokenIdentified = "Login failed for user '<token-identified principal>'.";
// Both endpoints sign with this key, so a token from the one with the clock two days back is
// correctly signed but expired.
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const twoDays = 2 * 86_400_000;

let stack: SqlTestStack;
let pastIdentity: IdentityEndpoint;
let foreignIdentity: IdentityEndpoint;

beforeAll(async () => {
  stack = await startSqlTestStack({}, { signingKey });
  pastIdentity = await startIdentityEndpoint({
    signingKey,
    now: () => Date.now() - twoDays,
    tokenLifetimeSeconds: 3600,
  });
  foreignIdentity = await startIdentityEndpoint();
});

afterAll(async () => {
  await pastIdentity.stop();
  await foreignIdentity.stop();
  await stack.stop();
});

async function expectTokenRefused(token: string, expectedMessage: string): Promise<void> {
  stack.sql.counters.reset();
  for (const encrypt of ['strict', true] as const) {
    const refusal = await refusedLogin(
      tediousConfiguration(stack, encrypt, accessTokenAuthentication(token)),
    );
    // tedious reports ELOGIN only when no LOGINACK arrived: a LOGINACK would have logged it in.
    expect(refusal.clientError.code).toBe('ELOGIN');
    expect(refusal.message).toBe(expectedMessage);
    expect(refusal.serverErrors).toEqual([{ number: 18456, state: 1, class: 14, message: expectedMessage }]);
  }
  expect(stack.sql.counters.logins).toBe(0);
  expect(stack.sql.counters.failedLogins).toBe(2);
}

describe('token checks', () => {
  it('accepts the SQL audience with and without the trailing slash', async () => {
    for (const resource of ['https://database.windows.net/', 'https://database.windows.net']) {
      const token = await fetchToken(stack.identity, resource, stack.appIdentity.clientId);
      const { connection } = await connect(
        tediousConfiguration(stack, true, accessTokenAuthentication(token)),
      );
      await close(connection);
    }
  });

  it('refuses a token for another resource (storage) with 18456 and no LOGINACK', async () => {
    const token = await fetchToken(stack.identity, 'https://storage.azure.com/', stack.appIdentity.clientId);
    await expectTokenRefused(
      token,
      `${tokenIdentified} The server is not currently configured to accept this token.`,
    );
  });

  it('refuses an expired token', async () => {
    const token = await fetchToken(pastIdentity, 'https://database.windows.net/', stack.appIdentity.clientId);
    await expectTokenRefused(token, `${tokenIdentified} Token is expired.`);
  });

  it('refuses a token signed by another key', async () => {
    const token = await fetchToken(
      foreignIdentity,
      'https://database.windows.net/',
      stack.appIdentity.clientId,
    );
    await expectTokenRefused(token, `${tokenIdentified} Incorrect or invalid token.`);
  });

  it('refuses something that is not a JWT', async () => {
    await expectTokenRefused('not-a-token', `${tokenIdentified} Incorrect or invalid token.`);
  });
});

describe('principal table', () => {
  it('refuses a valid token whose oid has no database user, until one is added', async () => {
    // The system-assigned identity exists, but no user was created for it.
    const token = await fetchToken(stack.identity, 'https://database.windows.net/');
    await expectTokenRefused(token, tokenIdentified);

    const system = stack.identity.systemAssigned;
    if (system === undefined) throw new Error('no system-assigned identity');
    stack.sql.addPrincipal({ name: system.name, objectId: system.objectId });
    const { connection } = await connect(
      tediousConfiguration(stack, 'strict', accessTokenAuthentication(token)),
    );
    await close(connection);

    stack.sql.removePrincipal(system.objectId);
    await expectTokenRefused(token, tokenIdentified);
  });
});

describe('connection rules', () => {
  it('refuses a database other than its own with 4060 then 18456', async () => {
    const token = await fetchToken(
      stack.identity,
      'https://database.windows.net/',
      stack.appIdentity.clientId,
    );
    const configuration = tediousConfiguration(stack, true, accessTokenAuthentication(token));
    configuration.options = { ...configuration.options, database: 'elsewhere' };
    const refusal = await refusedLogin(configuration);
    expect(refusal.serverErrors.map((error) => error.number)).toEqual([4060, 18456]);
  });

  it('tells an unencrypted client that encryption is required', async () => {
    const token = await fetchToken(
      stack.identity,
      'https://database.windows.net/',
      stack.appIdentity.clientId,
    );
    const configuration = tediousConfiguration(stack, true, accessTokenAuthentication(token));
    configuration.options = { ...configuration.options, encrypt: false };
    const refusal = await refusedLogin(configuration);
    expect(refusal.clientError.code).toBe('EENCRYPT');
  });

  it.each(['strict', true] as const)('is trusted only through its CA (encrypt: %s)', async (encrypt) => {
    // This worker trusts the test run's CA through NODE_EXTRA_CA_CERTS; a server whose certificate
    // comes from another CA must be refused when the client is not given that CA.
    const strangerFolder = mkdtempSync(join(tmpdir(), 'keyless-sql-stranger-ca-'));
    const stranger = await ensureLocalCertificateAuthority(strangerFolder);
    const untrusted = await startSqlEndpoint({
      tokenVerifier: stack.identity,
      tls: { cert: stranger.serverCertificate, key: stranger.serverKey },
      principals: [{ name: stack.appIdentity.name, objectId: stack.appIdentity.objectId }],
    });
    try {
      const token = await fetchToken(
        stack.identity,
        'https://database.windows.net/',
        stack.appIdentity.clientId,
      );
      const configuration = tediousConfiguration(
        { ...stack, sql: untrusted },
        encrypt,
        accessTokenAuthentication(token),
      );
      configuration.options = { ...configuration.options, cryptoCredentialsDetails: {} };
      const refusal = await refusedLogin(configuration);
      expect(refusal.clientError.code).toBe('ESOCKET');
      expect(String((refusal.clientError.cause as Error | undefined)?.message ?? refusal.message)).toMatch(
        /certificate|signature/i,
      );
    } finally {
      await untrusted.stop();
      rmSync(strangerFolder, { recursive: true, force: true });
    }
  });
});
