import type { EventEmitter } from 'node:events';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { Connection, ConnectionConfiguration } from 'tedious';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAzure } from '../src/index.js';
import {
  type AuthenticationKind,
  accessTokenAuthentication,
  authenticationFor,
  close,
  connect,
  type EncryptMode,
  fetchToken,
  query,
  refusedLogin,
  type SqlTestStack,
  startSqlTestStack,
  tediousConfiguration,
  tokenCredentialAuthentication,
} from './support/sql-test-stack.js';

// From inside Azure the default connection policy is Redirect: "Clients establish connections
// directly to the node hosting the database", on ports 11000–11999 after the gateway on 1433
// (https://learn.microsoft.com/azure/azure-sql/database/connectivity-architecture). The gateway
// accepts the login and answers with a routing ENVCHANGE (MS-TDS type 20); tedious closes and logs
// in again at the address it names, with a second TLS handshake and token login.

let stack: SqlTestStack;

beforeAll(async () => {
  stack = await startSqlTestStack({ connectionPolicy: 'redirect' });
});

afterAll(async () => {
  await stack.stop();
});

/**
 * tedious emits 'rerouting' when it follows a routing ENVCHANGE (lib/connection.js), and its typings
 * declare the `emit` but no `on` overload for it; a Connection is an EventEmitter, so listen through
 * that type instead of widening anything to `any`.
 */
function onRerouting(connection: Connection, listener: () => void): void {
  const events: EventEmitter = connection;
  events.on('rerouting', listener);
}

/** Counts how often tedious asks for a token: once per login. */
function countingCredential(inner: TokenCredential): TokenCredential & { calls: number } {
  const counting = {
    calls: 0,
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      counting.calls += 1;
      return inner.getToken(scopes, options);
    },
  };
  return counting;
}

describe("connectionPolicy: 'redirect'", () => {
  it('has a gateway on port and a second listener on redirectPort', () => {
    expect(stack.sql.connectionPolicy).toBe('redirect');
    expect(stack.sql.redirectPort).toEqual(expect.any(Number));
    expect(stack.sql.redirectPort).not.toBe(stack.sql.port);
  });

  describe.each<EncryptMode>(['strict', true])('encrypt: %s', (encrypt) => {
    describe.each<AuthenticationKind>(['access-token', 'token-credential'])('%s', (kind) => {
      it('tedious follows the redirect: a second TLS handshake and token login on the node', async () => {
        stack.sql.counters.reset();
        const credential = countingCredential(stack.credential);
        const authentication =
          kind === 'token-credential'
            ? tokenCredentialAuthentication(credential)
            : await authenticationFor(stack, kind);
        const configuration = tediousConfiguration(stack, encrypt, authentication);
        const { connection, infoMessages } = await connect(configuration);
        try {
          expect(stack.sql.counters.redirects).toBe(1);
          expect(stack.sql.counters.logins).toBe(1);
          expect(stack.sql.counters.failedLogins).toBe(0);
          // The session's answers come from the node's login: database context, then queries.
          expect(infoMessages).toContain("Changed database context to 'keyless'.");
          expect(await query(connection, 'SELECT SUSER_SNAME() AS login')).toEqual([
            { login: stack.appIdentity.name },
          ]);
          // One gateway connection (closed) and one node connection (open).
          expect(stack.sql.counters.openConnections).toBe(1);
          // token-credential asks for a token at each of the two logins.
          if (kind === 'token-credential') expect(credential.calls).toBe(2);
        } finally {
          await close(connection);
        }
      });
    });
  });

  it('emits tedious’s rerouting event', async () => {
    const configuration = tediousConfiguration(
      stack,
      'strict',
      await authenticationFor(stack, 'access-token'),
    );
    const { Connection } = await import('tedious');
    const connection = new Connection(configuration);
    let rerouting = 0;
    onRerouting(connection, () => {
      rerouting += 1;
    });
    await new Promise<void>((resolve, reject) =>
      connection.connect((error) => (error ? reject(error) : resolve())),
    );
    try {
      expect(rerouting).toBe(1);
    } finally {
      await close(connection);
    }
  });

  it('the gateway refuses what Azure refuses, before any redirect', async () => {
    stack.sql.counters.reset();
    const storageToken = await fetchToken(stack.identity, 'https://storage.azure.com');
    const refusal = await refusedLogin(
      tediousConfiguration(stack, 'strict', accessTokenAuthentication(storageToken)),
    );
    expect(refusal.serverErrors[0]).toMatchObject({ number: 18456 });
    expect(stack.sql.counters.redirects).toBe(0);
  });

  it('the node checks everything again: a direct login there with a wrong token is refused, a good one works', async () => {
    const direct = (authentication: ConnectionConfiguration['authentication']): ConnectionConfiguration => {
      const configuration = tediousConfiguration(stack, 'strict', authentication);
      return { ...configuration, options: { ...configuration.options, port: stack.sql.redirectPort } };
    };
    const storageToken = await fetchToken(stack.identity, 'https://storage.azure.com');
    const refusal = await refusedLogin(direct(accessTokenAuthentication(storageToken)));
    expect(refusal.serverErrors[0]).toMatchObject({
      number: 18456,
      message: expect.stringContaining('not currently configured to accept this token'),
    });
    stack.sql.counters.reset();
    const { connection } = await connect(direct(await authenticationFor(stack, 'access-token')));
    try {
      expect(stack.sql.counters.redirects).toBe(0);
      expect(await query(connection, 'SELECT 1')).toEqual([{ column0: 1 }]);
    } finally {
      await close(connection);
    }
  });

  it('a principal removed after the gateway let it through is refused by the node', async () => {
    // The gateway's check passes, the node's fails: removing the user between the two logins.
    stack.sql.counters.reset();
    const token = await fetchToken(
      stack.identity,
      'https://database.windows.net/',
      stack.appIdentity.clientId,
    );
    const configuration = tediousConfiguration(stack, 'strict', accessTokenAuthentication(token));
    const { Connection } = await import('tedious');
    const connection = new Connection(configuration);
    onRerouting(connection, () => stack.sql.removePrincipal(stack.appIdentity.objectId));
    const outcome = await new Promise<Error | undefined>((resolve) => connection.connect(resolve));
    stack.sql.addPrincipal({ name: stack.appIdentity.name, objectId: stack.appIdentity.objectId });
    connection.close();
    expect(outcome?.message).toMatch(/Login failed for user/);
    expect(stack.sql.counters.redirects).toBe(1);
    expect(stack.sql.counters.failedLogins).toBe(1);
  });

  it('reconfiguration faults apply at the gateway', async () => {
    stack.sql.faults.reconfigure({ durationMs: 60_000 });
    try {
      const configuration = tediousConfiguration(
        stack,
        'strict',
        await authenticationFor(stack, 'access-token'),
      );
      const refusal = await refusedLogin({
        ...configuration,
        options: { ...configuration.options, maxRetriesOnTransientErrors: 0 },
      });
      expect(refusal.serverErrors[0]?.number).toBe(40613);
    } finally {
      stack.sql.faults.clear();
    }
  });

  it('refuses an unknown connection policy', async () => {
    await expect(startSqlTestStack({ connectionPolicy: 'default' as 'proxy' })).rejects.toThrow(
      /connectionPolicy must be 'proxy' or 'redirect'/,
    );
  });
});

describe("startLocalAzure({ sql: { connectionPolicy: 'redirect' } })", () => {
  it('runs the stack’s SQL endpoint behind a redirecting gateway on KEYLESS_SQL_PORT', async () => {
    const local = await startLocalAzure({
      services: ['sql'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
      sql: { connectionPolicy: 'redirect' },
    });
    try {
      expect(local.sql?.connectionPolicy).toBe('redirect');
      expect(local.env.KEYLESS_SQL_PORT).toBe(String(local.sql?.port));
      expect(local.sql?.redirectPort).toEqual(expect.any(Number));
    } finally {
      await local.stop();
    }
  });
});
