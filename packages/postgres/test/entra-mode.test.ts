import {
  AuthenticationFailedError,
  createTokenProvider,
  entraToken,
  type TokenProvider,
} from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { findLeaks, renderEveryWay, useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresConnector,
  type PasswordRefusedEvent,
  type PostgresConnector,
  type PostgresConnectorOptions,
} from '../src/index.js';

const resource = 'https://ossrdbms-aad.database.windows.net';

describe('@keyless/postgres in Entra mode', () => {
  let stack: LocalAzure;
  let restoreEnvironment: () => void;
  const connectors: PostgresConnector[] = [];
  const providers: TokenProvider[] = [];
  /** Everything a test produced that could carry a token: errors and printed objects. */
  const printed: string[] = [];

  const provider = (identity: 'app' | 'system-assigned' = 'app') => {
    const created = createTokenProvider({
      identity: identity === 'app' ? { clientId: stack.appIdentity.clientId } : 'system-assigned',
    });
    providers.push(created);
    return created;
  };

  const connect = (options: Partial<PostgresConnectorOptions> = {}) => {
    const connector = createPostgresConnector({
      host: stack.env.KEYLESS_POSTGRES_HOST,
      port: Number(stack.env.KEYLESS_POSTGRES_PORT),
      database: stack.env.KEYLESS_POSTGRES_DATABASE,
      user: stack.env.KEYLESS_POSTGRES_ENTRA_USER,
      password: entraToken(),
      tokenProvider: provider(),
      ...options,
    });
    connectors.push(connector);
    return connector;
  };

  /** A query on a session of its own: logs in with the provider's current token. */
  const freshSessionQuery = async (connector: PostgresConnector) => {
    const client = await connector.pool.connect();
    try {
      return (await client.query<{ user: string }>('SELECT current_user AS user')).rows[0]?.user;
    } finally {
      client.release(true);
    }
  };

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['postgres'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
    });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  });

  afterEach(async () => {
    stack.identity.setTokenLifetime(86_400);
    for (const connector of connectors.splice(0)) {
      printed.push(...renderEveryWay(connector), ...renderEveryWay(connector.mode));
      await connector.close();
    }
    for (const created of providers.splice(0)) await created.close();
  });

  afterAll(async () => {
    restoreEnvironment?.();
    await stack?.stop();
  });

  // First: @azure/identity keeps MSAL's process-wide token cache, so once a 24-hour token for this
  // resource is cached, a new provider is handed it and has nothing to refresh.
  it('keeps opening sessions while tokens expire mid-run', async () => {
    stack.identity.setTokenLifetime(4);
    const tokenProvider = provider();
    const connector = connect({ tokenProvider, pool: { max: 2, maxLifetimeSeconds: 1 } });
    let refreshed = 0;
    tokenProvider.on('refreshed', () => {
      refreshed += 1;
    });
    const before = stack.identity.counters.byResource(resource);
    let sessions = 0;
    // Until the provider has replaced its 4 s token three times (about 6 s): each session logs in with
    // whatever token is current, and the first token has expired well before the end.
    while (refreshed < 3) {
      expect(await freshSessionQuery(connector)).toBe(stack.appIdentity.name);
      await connector.query('SELECT 1');
      sessions += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await freshSessionQuery(connector)).toBe(stack.appIdentity.name);
    expect(sessions).toBeGreaterThan(2);
    expect(stack.identity.counters.byResource(resource) - before).toBeGreaterThanOrEqual(4);
  });

  it("logs in as the identity's role with a token, and recycles sessions within the token policy", async () => {
    const connector = connect();
    const result = await connector.query<{ user: string }>('SELECT current_user AS user');
    expect(result.rows[0]?.user).toBe(stack.appIdentity.name);
    expect(connector.mode).toBe('entra-token');
    expect(
      (connector.pool as unknown as { options: { maxLifetimeSeconds: number } }).options.maxLifetimeSeconds,
    ).toBe(3600);
    printed.push(...renderEveryWay(connector.pool));
  });

  it('takes the Entra user from KEYLESS_POSTGRES_ENTRA_USER before KEYLESS_POSTGRES_USER', async () => {
    process.env.KEYLESS_POSTGRES_USER = 'keyless_app';
    process.env.KEYLESS_POSTGRES_ENTRA_USER = stack.appIdentity.name;
    try {
      const connector = connect({ user: undefined });
      expect(await freshSessionQuery(connector)).toBe(stack.appIdentity.name);
    } finally {
      delete process.env.KEYLESS_POSTGRES_USER;
      delete process.env.KEYLESS_POSTGRES_ENTRA_USER;
    }
  });

  it('explains a refused token (no role for this identity) with the pgaadauth hint, without retrying', async () => {
    const connector = connect({ tokenProvider: provider('system-assigned') });
    const refused: PasswordRefusedEvent[] = [];
    connector.on('password-refused', (event) => refused.push(event));
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    expect(error).toMatchObject({ code: 'authentication-failed' });
    expect((error as AuthenticationFailedError).hint).toContain(
      "SELECT * FROM pgaadauth_create_principal('keyless-app', false, false);",
    );
    expect((error as AuthenticationFailedError).hint).toContain("user = the identity's name");
    expect(refused).toEqual([
      { mode: 'entra-token', user: 'keyless-app', sqlState: '28000', willRetry: false },
    ]);
    printed.push(...renderEveryWay(error));
  });

  it('explains a user given as a client id: Azure names the role after the display name', async () => {
    const clientId = stack.appIdentity.clientId;
    const connector = connect({ user: clientId });
    const error = await connector.query('SELECT 1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    const { hint } = error as AuthenticationFailedError;
    expect(hint).not.toContain(`pgaadauth_create_principal('${clientId}'`);
    expect(hint).toContain("the identity's display name");
    expect(hint).toContain('pgaadauth_create_principal_with_oid');
    printed.push(...renderEveryWay(error));
  });

  // close() twice, and a query after it: the lifecycle group in test/conformance.test.ts.
  it('after close(), the pool taken before refuses too, and `pool` throws', async () => {
    const connector = connect();
    await connector.query('SELECT 1');
    const pool = connector.pool;
    await connector.close();
    await expect(pool.connect()).rejects.toMatchObject({ code: 'closed' });
    expect(() => connector.pool).toThrow(/after close/);
  });

  it('canary: no token or secret in any error or printed object', async () => {
    const connector = connect();
    const client = await connector.pool.connect();
    printed.push(...renderEveryWay(client), ...renderEveryWay(connector.pool));
    client.release();
    const secrets = [...stack.identity.issuedTokens(), ...(stack.keyVault?.secretValues() ?? [])];
    expect(stack.identity.issuedTokens().length).toBeGreaterThan(0);
    expect(findLeaks(printed.join('\n'), secrets)).toEqual([]);
  });
});
